/*
 * netif.h — the host's network interfaces in the form MAAS's
 * RegisterRackController expects (get_all_interfaces_definition):
 *
 *   {"eth0": {"type": "physical", "mac_address": "..", "links": [{"mode":
 *    "static", "address": "10.0.0.5/24", "gateway": ".."}], "enabled": true,
 *    "parents": [], "source": "machine-resources", "monitored": true}}
 *
 * plus "vid" for VLANs.  Loopback, tunnels and unclassifiable interfaces
 * are left out.  Read from getifaddrs(), /sys/class/net and /proc/net/route.
 */
#ifndef NETIF_H
#define NETIF_H

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>

/* Build the interfaces object of the running host (new reference).
 * sysfs_root is "/sys/class/net" normally (tests point elsewhere).
 * Never fails: unreadable details are left out. */
json_t	*netif_collect(const char *sysfs_root);

/* --- the pure half, exposed so tests can feed it fake inputs --------- */

/* What sysfs says an interface is (MAAS ipaddr.py get_interface_type). */
enum netif_kind {
	NETIF_UNKNOWN,		/* ARPHRD type other than ether: excluded */
	NETIF_LOOPBACK,		/* excluded */
	NETIF_IPIP,		/* excluded */
	NETIF_TUNNEL,		/* tun/tap (tun_flags): excluded */
	NETIF_ETHERNET,		/* ether, unclassified (veth, dummy...): kept
				 * as physical only inside a container */
	NETIF_PHYSICAL,		/* has a device link, or wireless */
	NETIF_BOND,
	NETIF_BRIDGE,
	NETIF_VLAN,
};

struct netif_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];
	int		 prefixlen;
	int		 dynamic;	/* DHCP/SLAAC-obtained: link mode "dhcp"
					 * (0, static, for netif_collect) */
};

/* One interface as read from sysfs and getifaddrs. */
struct netif_raw {
	char		 name[64];
	char		 mac[32];	/* "" when the interface has none */
	enum netif_kind	 kind;
	int		 enabled;	/* IFF_UP */
	int		 vid;		/* VLAN id, -1 when unknown */
	char		**parents;	/* lower devices, any of them */
	size_t		 nparents;
	struct netif_addr *addrs;
	size_t		 naddrs;
};

/* A default gateway (IPv4 from /proc/net/route, IPv6 from ipv6_route). */
struct netif_gw {
	int		 family;
	uint8_t		 addr[16];
};

/*
 * Assemble the RegisterRackController "interfaces" object from raw
 * records (new reference; the inputs are not kept).  Applies MAAS's
 * rules: exclusions, parents limited to kept interfaces, link-local
 * addresses dropped, gateway set on the link whose subnet contains it,
 * "monitored" as get_default_monitored_interfaces().
 */
json_t	*netif_build(const struct netif_raw *, size_t n,
	    const struct netif_gw *, size_t ngw, int in_container);

/* Whether rackd runs in a container (MAAS asks systemd-detect-virt -c;
 * these are the files it looks at). */
int	netif_in_container(void);

#endif
