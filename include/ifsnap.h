/*
 * ifsnap.h — the host's network interfaces and addresses as the kernel
 * reports them over rtnetlink, and a watcher that keeps them current on
 * the event loop.  Used by the refresh service (refresh.h) to tell the
 * region what the rack is, and usable by anything else that needs the
 * interfaces (registration, boot).
 *
 * Layering: the decoder (ifsnap_apply) is pure — bytes in, snapshot out —
 * so it is unit-tested on recorded netlink messages and fuzzed.  Only
 * ifsnap_read() and the ifwatch_* functions touch a socket.
 *
 * CONTRACT (shared between the host and refresh modules): extend freely,
 * do not rename or change the meaning of what is here.
 */
#ifndef IFSNAP_H
#define IFSNAP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* What an interface is, from IFLA_LINKINFO/IFLA_INFO_KIND and the ARP type. */
enum ifsnap_kind {
	IFSNAP_OTHER,		/* anything not below (reported, not modelled) */
	IFSNAP_LOOPBACK,	/* ARPHRD_LOOPBACK */
	IFSNAP_ETHER,		/* ARPHRD_ETHER with no (or an unknown) kind:
				 * a NIC, a veth, a macvlan... */
	IFSNAP_VLAN,		/* kind "vlan" (IFLA_VLAN_ID, IFLA_LINK) */
	IFSNAP_BOND,		/* kind "bond" */
	IFSNAP_BRIDGE,		/* kind "bridge" */
	IFSNAP_TUNNEL,		/* tun/tap, ipip, gre, sit, wireguard... */
};

const char *ifsnap_kind_name(enum ifsnap_kind);
/* "balance-rr", "active-backup", ... "802.3ad"; NULL when unknown. */
const char *ifsnap_bond_mode_name(int mode);

struct ifsnap_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];
	int		 prefixlen;
	uint32_t	 flags;		/* IFA_F_* (IFA_FLAGS when present) */
	uint8_t		 scope;		/* RT_SCOPE_* from the kernel */
	char		 label[16];	/* IFA_LABEL ("eth0:vip"), "" if none */
	/* Whether the rack should tell the region about this address, and
	 * why not (e.g. "host-prefix /32 (floating address)", "secondary",
	 * "link-local", "tentative").  Set by the decoder's classification. */
	int		 report;
	const char	*skip_reason;	/* static string, NULL when reported */
	int		 dynamic;	/* not IFA_F_PERMANENT: DHCP/SLAAC-obtained */
};

struct ifsnap_if {
	int		 index;		/* ifindex */
	char		 name[16];	/* IFNAMSIZ */
	enum ifsnap_kind kind;
	char		 kind_name[32];	/* IFLA_INFO_KIND, "" when none */
	uint32_t	 flags;		/* IFF_* (IFF_UP, IFF_BROADCAST, IFF_LOWER_UP...) */
	uint16_t	 arptype;	/* ARPHRD_* */
	uint32_t	 mtu;
	char		 mac[18];	/* "52:54:00:12:34:56", "" when none */
	char		 perm_mac[18];	/* IFLA_PERM_ADDRESS (bond slaves), "" */
	int		 link_index;	/* IFLA_LINK (VLAN parent), 0 if none */
	int		 master_index;	/* IFLA_MASTER (bond/bridge), 0 if none */
	int		 vid;		/* VLAN id, -1 when not a VLAN */
	int		 has_device;	/* backed by a device (physical NIC) */
	int		 bond_mode;	/* IFLA_BOND_MODE (0 balance-rr ..
				 * 6 balance-alb), -1 when not known */
	struct ifsnap_addr *addrs;	/* in kernel order */
	size_t		 naddrs;
};

/* A default route's gateway. */
struct ifsnap_gw {
	int		 family;
	uint8_t		 addr[16];
	int		 ifindex;
};

struct ifsnap {
	struct ifsnap_if *ifs;		/* sorted by name */
	size_t		 nifs;
	struct ifsnap_gw *gws;
	size_t		 ngws;
};

/* --- pure ------------------------------------------------------------- */

/* An empty snapshot. */
void	ifsnap_init(struct ifsnap *);
/* Free everything the snapshot holds (not the struct itself). */
void	ifsnap_clear(struct ifsnap *);
/* Deep copy of src into dst (dst is overwritten, not freed first). */
void	ifsnap_copy(struct ifsnap *dst, const struct ifsnap *src);

/*
 * Apply a buffer of netlink messages (RTM_NEWLINK, RTM_DELLINK,
 * RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE/DELROUTE for default routes;
 * NLMSG_DONE/NOOP ignored) to snap.  Returns 0, or -1 with *cause naming
 * what was malformed ("RTM_NEWLINK at offset 96: attribute 3 runs past
 * the message"); messages before the bad one stay applied.
 */
int	ifsnap_apply(struct ifsnap *, const void *buf, size_t len, char **cause);

/* "10.0.0.5" / "2001:db8::1" (canonical lower-case compressed) into buf
 * (INET6_ADDRSTRLEN bytes); returns buf. */
char	*ifsnap_addr_text(const struct ifsnap_addr *, char *buf, size_t len);

/* The MAC the region is told: a bond slave's own permanent MAC (the
 * slave otherwise shows the bond's, spec pitfall 13), else IFLA_ADDRESS. */
const char *ifsnap_reported_mac(const struct ifsnap *,
	    const struct ifsnap_if *);

/* Find an interface by index or name; NULL when absent. */
const struct ifsnap_if *ifsnap_by_index(const struct ifsnap *, int index);
const struct ifsnap_if *ifsnap_by_name(const struct ifsnap *, const char *name);

/*
 * What differs between two snapshots in what MAAS compares (names, kind,
 * IFF_UP, MACs, reported addresses and their mode, VLAN/bond/bridge
 * membership; not carrier, counters or MTU).  Returns NULL when they are
 * the same for the region, else a short malloc'd text for the log
 * ("eth1 added; 10.0.0.5/24 added on eth0; eth2 removed").
 */
char	*ifsnap_diff(const struct ifsnap *old, const struct ifsnap *new_);

/* --- I/O -------------------------------------------------------------- */

/* Dump links, addresses and routes of the current network namespace into
 * snap (cleared first).  Synchronous (the kernel answers in well under a
 * millisecond).  Returns 0, or -1 with *cause. */
int	ifsnap_read(struct ifsnap *, char **cause);

/*
 * The watcher: an RTNLGRP_LINK/IPV4_IFADDR/IPV6_IFADDR/IPV4_ROUTE/
 * IPV6_ROUTE socket on the loop.  After a burst of change messages has
 * been quiet for debounce_ms it re-reads the whole snapshot and calls cb
 * if ifsnap_diff() against the last one it delivered says something
 * changed.  Every check_ms it re-reads regardless (a safety net for lost
 * messages, ENOBUFS).  The first snapshot is delivered on the first
 * loop turn after ifwatch_new.  snap is valid during the callback only;
 * changes is the ifsnap_diff text (NULL on the first delivery).
 */
struct ifwatch;
typedef void (*ifwatch_cb)(const struct ifsnap *snap, const char *changes,
	    void *arg);
struct ifwatch *ifwatch_new(struct event_base *, int debounce_ms,
	    int check_ms, ifwatch_cb, void *arg, char **cause);
/* The last snapshot delivered (empty before the first). */
const struct ifsnap *ifwatch_snapshot(const struct ifwatch *);
void	ifwatch_free(struct ifwatch *);

#endif
