/*
 * ifsnap.c — the pure rtnetlink decoder: RTM_{NEW,DEL}{LINK,ADDR,ROUTE}
 * messages applied to a snapshot of the host's interfaces, the address
 * classification (what the region is told, and why not), and the diff the
 * refresh uses to decide whether the region must hear about a change.
 *
 * Every length in a message is checked before it is read: the netlink
 * header, the family header (ifinfomsg, ifaddrmsg, rtmsg), every
 * attribute, nested attributes against their container and each
 * attribute's payload against the size its type needs.  A malformed
 * message stops the decoding with a cause naming the message type, its
 * offset in the buffer and the attribute.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifsnap.h"
#include "xmalloc.h"

/* Older uapi headers (the build machine has 6.1's) lack nothing we use,
 * but keep the two newest numbers explicit so the meaning is visible. */
#ifndef IFLA_PERM_ADDRESS
#define IFLA_PERM_ADDRESS	54
#endif
#ifndef IFLA_PARENT_DEV_NAME
#define IFLA_PARENT_DEV_NAME	56
#endif

#define ATTR_MAX	64	/* highest attribute type we index */

/* One decoded attribute: its payload and where it sits in the buffer. */
struct attr {
	const uint8_t	*data;
	size_t		 len;
	size_t		 off;		/* of the attribute header */
	int		 present;
};

/* Where we are, for the causes. */
struct ctx {
	const uint8_t	*buf;
	size_t		 msgoff;
	const char	*msgname;
	const char *const *anames;	/* top-level attribute names */
	size_t		 nanames;
	char		**cause;
};

static const char *const link_anames[] = { "IFLA_UNSPEC", "IFLA_ADDRESS",
    "IFLA_BROADCAST", "IFLA_IFNAME", "IFLA_MTU", "IFLA_LINK", "IFLA_QDISC",
    "IFLA_STATS", "IFLA_COST", "IFLA_PRIORITY", "IFLA_MASTER",
    "IFLA_WIRELESS", "IFLA_PROTINFO", "IFLA_TXQLEN", "IFLA_MAP",
    "IFLA_WEIGHT", "IFLA_OPERSTATE", "IFLA_LINKMODE", "IFLA_LINKINFO" };
static const char *const addr_anames[] = { "IFA_UNSPEC", "IFA_ADDRESS",
    "IFA_LOCAL", "IFA_LABEL", "IFA_BROADCAST", "IFA_ANYCAST",
    "IFA_CACHEINFO", "IFA_MULTICAST", "IFA_FLAGS" };
static const char *const route_anames[] = { "RTA_UNSPEC", "RTA_DST",
    "RTA_SRC", "RTA_IIF", "RTA_OIF", "RTA_GATEWAY", "RTA_PRIORITY",
    "RTA_PREFSRC", "RTA_METRICS", "RTA_MULTIPATH", "RTA_PROTOINFO",
    "RTA_FLOW", "RTA_CACHEINFO", "RTA_SESSION", "RTA_MP_ALGO",
    "RTA_TABLE" };

/* " (IFLA_IFNAME)" for a known top-level attribute, "" otherwise. */
static const char *
aname(const struct ctx *c, const char *where, unsigned type, char *buf,
    size_t len)
{
	buf[0] = '\0';
	if (where == NULL && type < c->nanames)
		snprintf(buf, len, " (%s)", c->anames[type]);
	return buf;
}

const char *
ifsnap_kind_name(enum ifsnap_kind k)
{
	switch (k) {
	case IFSNAP_LOOPBACK:
		return "loopback";
	case IFSNAP_ETHER:
		return "ether";
	case IFSNAP_VLAN:
		return "vlan";
	case IFSNAP_BOND:
		return "bond";
	case IFSNAP_BRIDGE:
		return "bridge";
	case IFSNAP_TUNNEL:
		return "tunnel";
	default:
		return "other";
	}
}

const char *
ifsnap_bond_mode_name(int mode)
{
	static const char *const names[] = { "balance-rr", "active-backup",
	    "balance-xor", "broadcast", "802.3ad", "balance-tlb",
	    "balance-alb" };

	if (mode < 0 || (size_t)mode >= RACKD_NELEM(names))
		return NULL;
	return names[mode];
}

char *
ifsnap_addr_text(const struct ifsnap_addr *a, char *buf, size_t len)
{
	/* inet_ntop gives RFC 5952 text: lower case, longest zero run
	 * compressed, which is what Python's str(IPAddress) prints. */
	if (inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->addr,
	    buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

static const char *
msg_name(uint16_t type)
{
	switch (type) {
	case RTM_NEWLINK:
		return "RTM_NEWLINK";
	case RTM_DELLINK:
		return "RTM_DELLINK";
	case RTM_NEWADDR:
		return "RTM_NEWADDR";
	case RTM_DELADDR:
		return "RTM_DELADDR";
	case RTM_NEWROUTE:
		return "RTM_NEWROUTE";
	case RTM_DELROUTE:
		return "RTM_DELROUTE";
	case NLMSG_ERROR:
		return "NLMSG_ERROR";
	case NLMSG_DONE:
		return "NLMSG_DONE";
	default:
		return "message";
	}
}

static int
fail(struct ctx *c, const char *fmt, ...) RACKD_PRINTF(2, 3);

static int
fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	xvasprintf(&what, fmt, ap);
	va_end(ap);
	if (c->cause != NULL)
		xasprintf(c->cause, "%s at offset %zu: %s", c->msgname,
		    c->msgoff, what);
	free(what);
	return -1;
}

/*
 * Index the attributes in [p, p + len) into tb[0..max] (later ones of the
 * same type win, as in the kernel's nla_parse).  where names the
 * container for nested attributes ("IFLA_LINKINFO"), NULL at top level.
 */
static int
parse_attrs(struct ctx *c, const uint8_t *p, size_t len, const char *where,
    struct attr *tb, size_t max)
{
	size_t pos = 0, alen, step;
	uint16_t l, type;

	char in[48] = "", an[32];

	if (where != NULL)
		snprintf(in, sizeof(in), "in %s: ", where);
	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (pos < len) {
		if (len - pos < 4)
			return fail(c, "%s%zu stray bytes after the last "
			    "attribute", in, len - pos);
		memcpy(&l, p + pos, 2);
		memcpy(&type, p + pos + 2, 2);
		type &= NLA_TYPE_MASK;
		if (l < 4)
			return fail(c, "%sattribute %u%s at offset %zu has "
			    "length %u, shorter than its header", in, type,
			    aname(c, where, type, an, sizeof(an)),
			    (size_t)(p + pos - c->buf), l);
		if (l > len - pos)
			return fail(c, "%sattribute %u%s at offset %zu runs "
			    "past the %s (length %u, %zu bytes left)", in,
			    type, aname(c, where, type, an, sizeof(an)),
			    (size_t)(p + pos - c->buf),
			    where ? "container" : "message", l, len - pos);
		alen = l;
		if (type <= max) {
			tb[type].data = p + pos + 4;
			tb[type].len = alen - 4;
			tb[type].off = (size_t)(p + pos - c->buf);
			tb[type].present = 1;
		}
		step = NLA_ALIGN(alen);
		if (step > len - pos)
			step = len - pos;	/* last attribute, unpadded */
		pos += step;
	}
	return 0;
}

static int
attr_u32(struct ctx *c, const struct attr *a, const char *name, uint32_t *v)
{
	if (a->len < 4)
		return fail(c, "attribute %s at offset %zu has %zu bytes, "
		    "needs 4", name, a->off, a->len);
	memcpy(v, a->data, 4);
	return 0;
}

/* A NUL-terminated string of at most size - 1 characters into out. */
static int
attr_str(struct ctx *c, const struct attr *a, const char *name, char *out,
    size_t size)
{
	const uint8_t *nul = memchr(a->data, '\0', a->len);
	size_t n = nul != NULL ? (size_t)(nul - a->data) : a->len;

	if (nul == NULL)
		return fail(c, "attribute %s at offset %zu is not "
		    "NUL-terminated", name, a->off);
	if (n >= size)
		return fail(c, "attribute %s at offset %zu is %zu characters "
		    "long, more than %zu", name, a->off, n, size - 1);
	memcpy(out, a->data, n);
	out[n] = '\0';
	return 0;
}

/* The kernel's dev_valid_name(), plus no control characters: a name
 * that passes can go into JSON keys and log lines unchanged. */
static int
valid_ifname(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == '/' || *p == ':' || *p < 0x21 || *p == 0x7f)
			return 0;
	return 1;
}

static int
attr_mac(struct ctx *c, const struct attr *a, const char *name, char *out)
{
	const uint8_t *m = a->data;

	if (a->len > 32)	/* MAX_ADDR_LEN */
		return fail(c, "attribute %s at offset %zu has %zu bytes, "
		    "more than a link address can", name, a->off, a->len);
	/* Only 6-byte (Ethernet) addresses are modelled; others (IPoIB,
	 * tunnels' IPv4 endpoints) are left empty. */
	if (a->len == 6)
		snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
		    m[2], m[3], m[4], m[5]);
	else
		out[0] = '\0';
	return 0;
}

/* --- the snapshot ------------------------------------------------------ */

void
ifsnap_init(struct ifsnap *s)
{
	memset(s, 0, sizeof(*s));
}

void
ifsnap_clear(struct ifsnap *s)
{
	size_t i;

	for (i = 0; i < s->nifs; i++)
		free(s->ifs[i].addrs);
	free(s->ifs);
	free(s->gws);
	ifsnap_init(s);
}

void
ifsnap_copy(struct ifsnap *dst, const struct ifsnap *src)
{
	size_t i;

	ifsnap_init(dst);
	if (src->nifs > 0) {
		dst->ifs = xmemdup(src->ifs, src->nifs * sizeof(*src->ifs));
		dst->nifs = src->nifs;
		for (i = 0; i < src->nifs; i++)
			if (src->ifs[i].naddrs > 0)
				dst->ifs[i].addrs = xmemdup(src->ifs[i].addrs,
				    src->ifs[i].naddrs *
				    sizeof(*src->ifs[i].addrs));
			else
				dst->ifs[i].addrs = NULL;
	}
	if (src->ngws > 0) {
		dst->gws = xmemdup(src->gws, src->ngws * sizeof(*src->gws));
		dst->ngws = src->ngws;
	}
}

const struct ifsnap_if *
ifsnap_by_index(const struct ifsnap *s, int index)
{
	size_t i;

	for (i = 0; i < s->nifs; i++)
		if (s->ifs[i].index == index)
			return &s->ifs[i];
	return NULL;
}

const struct ifsnap_if *
ifsnap_by_name(const struct ifsnap *s, const char *name)
{
	size_t lo = 0, hi = s->nifs, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = strcmp(name, s->ifs[mid].name);
		if (r == 0)
			return &s->ifs[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static struct ifsnap_if *
find_index(struct ifsnap *s, int index)
{
	return (struct ifsnap_if *)ifsnap_by_index(s, index);
}

static void
remove_at(struct ifsnap *s, size_t i)
{
	free(s->ifs[i].addrs);
	memmove(&s->ifs[i], &s->ifs[i + 1], (s->nifs - i - 1) *
	    sizeof(*s->ifs));
	s->nifs--;
}

static void
remove_gws_of(struct ifsnap *s, int ifindex)
{
	size_t i = 0;

	while (i < s->ngws) {
		if (s->gws[i].ifindex == ifindex) {
			memmove(&s->gws[i], &s->gws[i + 1], (s->ngws - i - 1) *
			    sizeof(*s->gws));
			s->ngws--;
		} else
			i++;
	}
}

/* Put one (copied) record in name order.  It replaces the record of the
 * same index (an update, perhaps a rename) and any other record of the
 * same name (its DELLINK was never seen). */
static void
insert_if(struct ifsnap *s, const struct ifsnap_if *in)
{
	const struct ifsnap_if *same;
	size_t i, lo, hi, mid;

	for (i = 0; i < s->nifs; i++) {
		if (s->ifs[i].index != in->index)
			continue;
		if (strcmp(s->ifs[i].name, in->name) == 0) {
			free(s->ifs[i].addrs);
			s->ifs[i] = *in;	/* same place in the order */
			return;
		}
		remove_at(s, i);
		break;		/* indexes are unique */
	}
	if ((same = ifsnap_by_name(s, in->name)) != NULL)
		remove_at(s, (size_t)(same - s->ifs));
	lo = 0;
	hi = s->nifs;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(s->ifs[mid].name, in->name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	s->ifs = xreallocarray(s->ifs, s->nifs + 1, sizeof(*s->ifs));
	memmove(&s->ifs[lo + 1], &s->ifs[lo], (s->nifs - lo) *
	    sizeof(*s->ifs));
	s->ifs[lo] = *in;
	s->nifs++;
}

static enum ifsnap_kind
kind_of(const char *kind, uint16_t arptype)
{
	static const char *const tunnels[] = { "tun", "ipip", "gre",
	    "gretap", "ip6gre", "ip6gretap", "sit", "ip6tnl", "vti", "vti6",
	    "wireguard", "erspan", "ip6erspan", "vxlan", "geneve", "bareudp",
	    "xfrm", "gtp" };
	size_t i;

	if (arptype == ARPHRD_LOOPBACK)
		return IFSNAP_LOOPBACK;
	if (strcmp(kind, "vlan") == 0)
		return IFSNAP_VLAN;
	if (strcmp(kind, "bond") == 0)
		return IFSNAP_BOND;
	if (strcmp(kind, "bridge") == 0)
		return IFSNAP_BRIDGE;
	for (i = 0; i < RACKD_NELEM(tunnels); i++)
		if (strcmp(kind, tunnels[i]) == 0)
			return IFSNAP_TUNNEL;
	switch (arptype) {
	case ARPHRD_ETHER:
		return IFSNAP_ETHER;
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_IPGRE:
	case ARPHRD_SIT:
	case ARPHRD_NONE:	/* tun in L3 mode, wireguard */
		return IFSNAP_TUNNEL;
	default:
		return IFSNAP_OTHER;
	}
}

/* IFLA_LINKINFO: kind, VLAN id, bond mode, bond slave permanent MAC. */
static int
parse_linkinfo(struct ctx *c, const struct attr *li, struct ifsnap_if *f)
{
	struct attr info[IFLA_INFO_MAX + 1], data[ATTR_MAX + 1];
	char skind[32] = "";

	if (parse_attrs(c, li->data, li->len, "IFLA_LINKINFO", info,
	    IFLA_INFO_MAX) == -1)
		return -1;
	if (info[IFLA_INFO_KIND].present && attr_str(c, &info[IFLA_INFO_KIND],
	    "IFLA_INFO_KIND", f->kind_name, sizeof(f->kind_name)) == -1)
		return -1;
	if (info[IFLA_INFO_DATA].present) {
		if (parse_attrs(c, info[IFLA_INFO_DATA].data,
		    info[IFLA_INFO_DATA].len, "IFLA_INFO_DATA", data,
		    ATTR_MAX) == -1)
			return -1;
		if (strcmp(f->kind_name, "vlan") == 0 &&
		    data[IFLA_VLAN_ID].present) {
			uint16_t vid;

			if (data[IFLA_VLAN_ID].len < 2)
				return fail(c, "attribute IFLA_VLAN_ID at "
				    "offset %zu has %zu bytes, needs 2",
				    data[IFLA_VLAN_ID].off,
				    data[IFLA_VLAN_ID].len);
			memcpy(&vid, data[IFLA_VLAN_ID].data, 2);
			if (vid > 4095)
				return fail(c, "attribute IFLA_VLAN_ID at "
				    "offset %zu: VLAN id %u is out of range",
				    data[IFLA_VLAN_ID].off, vid);
			f->vid = vid;
		}
		if (strcmp(f->kind_name, "bond") == 0 &&
		    data[IFLA_BOND_MODE].present) {
			if (data[IFLA_BOND_MODE].len < 1)
				return fail(c, "attribute IFLA_BOND_MODE at "
				    "offset %zu is empty",
				    data[IFLA_BOND_MODE].off);
			f->bond_mode = data[IFLA_BOND_MODE].data[0];
		}
	}
	if (info[IFLA_INFO_SLAVE_KIND].present && attr_str(c,
	    &info[IFLA_INFO_SLAVE_KIND], "IFLA_INFO_SLAVE_KIND", skind,
	    sizeof(skind)) == -1)
		return -1;
	if (info[IFLA_INFO_SLAVE_DATA].present) {
		if (parse_attrs(c, info[IFLA_INFO_SLAVE_DATA].data,
		    info[IFLA_INFO_SLAVE_DATA].len, "IFLA_INFO_SLAVE_DATA",
		    data, ATTR_MAX) == -1)
			return -1;
		/* Older kernels have no IFLA_PERM_ADDRESS; the bond tells
		 * each slave's own MAC here. */
		if (strcmp(skind, "bond") == 0 && f->perm_mac[0] == '\0' &&
		    data[IFLA_BOND_SLAVE_PERM_HWADDR].present &&
		    attr_mac(c, &data[IFLA_BOND_SLAVE_PERM_HWADDR],
		    "IFLA_BOND_SLAVE_PERM_HWADDR", f->perm_mac) == -1)
			return -1;
	}
	return 0;
}

static int
apply_link(struct ctx *c, uint16_t type, const uint8_t *p, size_t len,
    struct ifsnap *s)
{
	struct attr tb[ATTR_MAX + 1];
	struct ifinfomsg ifi;
	struct ifsnap_if f, *old;
	uint32_t v = 0;

	if (len < sizeof(ifi))
		return fail(c, "%zu bytes, shorter than struct ifinfomsg "
		    "(%zu)", len, sizeof(ifi));
	memcpy(&ifi, p, sizeof(ifi));
	if (parse_attrs(c, p + sizeof(ifi), len - sizeof(ifi), NULL, tb,
	    ATTR_MAX) == -1)
		return -1;
	/* AF_BRIDGE link messages are bridge-port events (a port joined or
	 * left), not the interface itself: a DELLINK of that family does
	 * not mean the interface is gone. */
	if (ifi.ifi_family != AF_UNSPEC)
		return 0;
	if (ifi.ifi_index <= 0)
		return fail(c, "interface index %d", ifi.ifi_index);
	if (type == RTM_DELLINK) {
		size_t i;

		for (i = 0; i < s->nifs; i++)
			if (s->ifs[i].index == ifi.ifi_index) {
				remove_at(s, i);
				break;
			}
		remove_gws_of(s, ifi.ifi_index);
		return 0;
	}

	memset(&f, 0, sizeof(f));
	f.index = ifi.ifi_index;
	f.flags = ifi.ifi_flags;
	f.arptype = ifi.ifi_type;
	f.vid = -1;
	f.bond_mode = -1;
	if (!tb[IFLA_IFNAME].present)
		return fail(c, "no IFLA_IFNAME for interface %d",
		    ifi.ifi_index);
	if (attr_str(c, &tb[IFLA_IFNAME], "IFLA_IFNAME", f.name,
	    sizeof(f.name)) == -1)
		return -1;
	if (!valid_ifname(f.name))
		return fail(c, "attribute IFLA_IFNAME at offset %zu is not a "
		    "valid interface name", tb[IFLA_IFNAME].off);
	if (tb[IFLA_MTU].present) {
		if (attr_u32(c, &tb[IFLA_MTU], "IFLA_MTU", &f.mtu) == -1)
			return -1;
	}
	if (tb[IFLA_ADDRESS].present && attr_mac(c, &tb[IFLA_ADDRESS],
	    "IFLA_ADDRESS", f.mac) == -1)
		return -1;
	if (tb[IFLA_PERM_ADDRESS].present && attr_mac(c,
	    &tb[IFLA_PERM_ADDRESS], "IFLA_PERM_ADDRESS", f.perm_mac) == -1)
		return -1;
	if (tb[IFLA_MASTER].present) {
		if (attr_u32(c, &tb[IFLA_MASTER], "IFLA_MASTER", &v) == -1)
			return -1;
		f.master_index = (int)v > 0 ? (int)v : 0;
	}
	if (tb[IFLA_LINK].present) {
		if (attr_u32(c, &tb[IFLA_LINK], "IFLA_LINK", &v) == -1)
			return -1;
		/* With IFLA_LINK_NETNSID the index is another namespace's
		 * (a veth peer, a VLAN over a NIC moved elsewhere). */
		if (!tb[IFLA_LINK_NETNSID].present && (int)v > 0 &&
		    (int)v != f.index)
			f.link_index = (int)v;
	}
	if (tb[IFLA_PARENT_DEV_NAME].present) {
		char dev[64];

		if (attr_str(c, &tb[IFLA_PARENT_DEV_NAME],
		    "IFLA_PARENT_DEV_NAME", dev, sizeof(dev)) == -1)
			return -1;
		f.has_device = 1;
	}
	if (tb[IFLA_LINKINFO].present && parse_linkinfo(c, &tb[IFLA_LINKINFO],
	    &f) == -1)
		return -1;
	f.kind = kind_of(f.kind_name, f.arptype);
	if (f.kind != IFSNAP_VLAN) {
		/* IFLA_LINK of a veth names its peer, of a macvlan its
		 * lower device: only a VLAN's is a parent in MAAS's sense. */
		f.link_index = 0;
		f.vid = -1;
	}
	if (f.kind != IFSNAP_BOND)
		f.bond_mode = -1;

	/* Addresses stay with the interface across link updates. */
	if ((old = find_index(s, f.index)) != NULL) {
		f.addrs = old->addrs;
		f.naddrs = old->naddrs;
		old->addrs = NULL;
		old->naddrs = 0;
	}
	insert_if(s, &f);
	return 0;
}

static int
is_link_local(int family, const uint8_t *a)
{
	if (family == AF_INET)
		return a[0] == 169 && a[1] == 254;
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static int
is_loopback_addr(int family, const uint8_t *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	if (family == AF_INET)
		return a[0] == 127;
	return memcmp(a, one, 16) == 0;
}

/*
 * What the region is told.  Left out: host-scope and loopback addresses,
 * link-local ones (MAAS ignores them), addresses still in or failed by
 * duplicate address detection, IPv6 privacy addresses (they rotate daily
 * and would make the region churn), and floating addresses (spec pitfall
 * 4): keepalived-style VIPs are either a host prefix added by hand
 * (permanent /32 or /128) or a second address in the interface's subnet,
 * which the kernel marks IFA_F_SECONDARY.  A host prefix that a DHCP
 * client installed (not permanent: DHCPv6 IA_NA addresses are /128, some
 * clouds hand out /32 leases) is the machine's own and is reported as
 * "dhcp".
 */
static void
classify_addr(struct ifsnap_addr *a)
{
	int hostbits = a->family == AF_INET ? 32 : 128;

	a->dynamic = (a->flags & IFA_F_PERMANENT) == 0;
	a->report = 0;
	if (a->scope == RT_SCOPE_HOST || a->scope == RT_SCOPE_NOWHERE ||
	    is_loopback_addr(a->family, a->addr))
		a->skip_reason = "host scope";
	else if (a->scope == RT_SCOPE_LINK || is_link_local(a->family,
	    a->addr))
		a->skip_reason = "link-local";
	else if (a->flags & IFA_F_DADFAILED)
		a->skip_reason = "duplicate address (DAD failed)";
	else if (a->flags & IFA_F_TENTATIVE)
		a->skip_reason = "tentative";
	else if (a->family == AF_INET6 && (a->flags & IFA_F_TEMPORARY))
		a->skip_reason = "temporary (privacy) address";
	else if (a->family == AF_INET && (a->flags & IFA_F_SECONDARY))
		a->skip_reason = "secondary (floating address)";
	else if (a->prefixlen == hostbits && !a->dynamic)
		a->skip_reason = a->family == AF_INET ?
		    "host prefix /32 (floating address)" :
		    "host prefix /128 (floating address)";
	else {
		a->skip_reason = NULL;
		a->report = 1;
	}
}

static int
same_addr(const struct ifsnap_addr *a, const struct ifsnap_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static int
apply_addr(struct ctx *c, uint16_t type, const uint8_t *p, size_t len,
    struct ifsnap *s)
{
	struct attr tb[ATTR_MAX + 1];
	const struct attr *ad;
	struct ifaddrmsg ifa;
	struct ifsnap_addr a;
	struct ifsnap_if *f;
	size_t alen, i;

	if (len < sizeof(ifa))
		return fail(c, "%zu bytes, shorter than struct ifaddrmsg "
		    "(%zu)", len, sizeof(ifa));
	memcpy(&ifa, p, sizeof(ifa));
	if (parse_attrs(c, p + sizeof(ifa), len - sizeof(ifa), NULL, tb,
	    ATTR_MAX) == -1)
		return -1;
	if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
		return 0;
	alen = ifa.ifa_family == AF_INET ? 4 : 16;
	if (ifa.ifa_prefixlen > alen * 8)
		return fail(c, "prefix length %u for an %s address",
		    ifa.ifa_prefixlen, ifa.ifa_family == AF_INET ? "IPv4" :
		    "IPv6");
	memset(&a, 0, sizeof(a));
	a.family = ifa.ifa_family;
	a.prefixlen = ifa.ifa_prefixlen;
	a.flags = ifa.ifa_flags;
	a.scope = ifa.ifa_scope;
	/* IPv4: IFA_LOCAL is the interface's address, IFA_ADDRESS the peer
	 * on point-to-point links.  IPv6 sends IFA_LOCAL only with a peer. */
	ad = tb[IFA_LOCAL].present ? &tb[IFA_LOCAL] : &tb[IFA_ADDRESS];
	if (!ad->present)
		return fail(c, "no IFA_ADDRESS or IFA_LOCAL");
	if (ad->len != alen)
		return fail(c, "attribute %s at offset %zu has %zu bytes, "
		    "an %s address needs %zu", ad == &tb[IFA_LOCAL] ?
		    "IFA_LOCAL" : "IFA_ADDRESS", ad->off, ad->len,
		    a.family == AF_INET ? "IPv4" : "IPv6", alen);
	memcpy(a.addr, ad->data, alen);
	if (tb[IFA_FLAGS].present && attr_u32(c, &tb[IFA_FLAGS], "IFA_FLAGS",
	    &a.flags) == -1)
		return -1;
	if (tb[IFA_LABEL].present && attr_str(c, &tb[IFA_LABEL], "IFA_LABEL",
	    a.label, sizeof(a.label)) == -1)
		return -1;
	classify_addr(&a);

	if ((f = find_index(s, (int)ifa.ifa_index)) == NULL)
		return 0;	/* an interface we have not seen (yet) */
	for (i = 0; i < f->naddrs; i++)
		if (same_addr(&f->addrs[i], &a))
			break;
	if (type == RTM_DELADDR) {
		if (i < f->naddrs) {
			memmove(&f->addrs[i], &f->addrs[i + 1],
			    (f->naddrs - i - 1) * sizeof(*f->addrs));
			f->naddrs--;
		}
		return 0;
	}
	if (i == f->naddrs) {
		f->addrs = xreallocarray(f->addrs, f->naddrs + 1,
		    sizeof(*f->addrs));
		f->naddrs++;
	}
	f->addrs[i] = a;
	return 0;
}

static void
gw_update(struct ifsnap *s, uint16_t type, int family, const uint8_t *addr,
    int ifindex)
{
	size_t alen = family == AF_INET ? 4 : 16, i;
	struct ifsnap_gw g;

	memset(&g, 0, sizeof(g));
	g.family = family;
	memcpy(g.addr, addr, alen);
	g.ifindex = ifindex;
	for (i = 0; i < s->ngws; i++)
		if (s->gws[i].family == family && s->gws[i].ifindex ==
		    ifindex && memcmp(s->gws[i].addr, addr, alen) == 0)
			break;
	if (type == RTM_DELROUTE) {
		if (i < s->ngws) {
			memmove(&s->gws[i], &s->gws[i + 1], (s->ngws - i - 1) *
			    sizeof(*s->gws));
			s->ngws--;
		}
		return;
	}
	if (i < s->ngws)
		return;
	s->gws = xreallocarray(s->gws, s->ngws + 1, sizeof(*s->gws));
	s->gws[s->ngws++] = g;
}

/* RTA_MULTIPATH: a run of struct rtnexthop, each followed by attributes. */
static int
apply_multipath(struct ctx *c, uint16_t type, int family,
    const struct attr *mp, struct ifsnap *s)
{
	struct attr tb[RTA_MAX + 1];
	struct rtnexthop nh;
	size_t pos = 0, alen = family == AF_INET ? 4 : 16, step;

	while (pos < mp->len) {
		if (mp->len - pos < sizeof(nh))
			return fail(c, "in RTA_MULTIPATH: %zu stray bytes at "
			    "offset %zu", mp->len - pos, mp->off + 4 + pos);
		memcpy(&nh, mp->data + pos, sizeof(nh));
		if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > mp->len - pos)
			return fail(c, "in RTA_MULTIPATH: next hop at offset "
			    "%zu has length %u (%zu bytes left)",
			    mp->off + 4 + pos, nh.rtnh_len, mp->len - pos);
		if (parse_attrs(c, mp->data + pos + sizeof(nh),
		    nh.rtnh_len - sizeof(nh), "RTA_MULTIPATH", tb,
		    RTA_MAX) == -1)
			return -1;
		if (tb[RTA_GATEWAY].present) {
			if (tb[RTA_GATEWAY].len != alen)
				return fail(c, "attribute RTA_GATEWAY at "
				    "offset %zu has %zu bytes, needs %zu",
				    tb[RTA_GATEWAY].off, tb[RTA_GATEWAY].len,
				    alen);
			gw_update(s, type, family, tb[RTA_GATEWAY].data,
			    nh.rtnh_ifindex);
		}
		step = RTNH_ALIGN(nh.rtnh_len);
		pos += step < mp->len - pos ? step : mp->len - pos;
	}
	return 0;
}

static int
apply_route(struct ctx *c, uint16_t type, const uint8_t *p, size_t len,
    struct ifsnap *s)
{
	struct attr tb[ATTR_MAX + 1];
	struct rtmsg rtm;
	uint32_t table, oif = 0;
	size_t alen;

	if (len < sizeof(rtm))
		return fail(c, "%zu bytes, shorter than struct rtmsg (%zu)",
		    len, sizeof(rtm));
	memcpy(&rtm, p, sizeof(rtm));
	if (parse_attrs(c, p + sizeof(rtm), len - sizeof(rtm), NULL, tb,
	    ATTR_MAX) == -1)
		return -1;
	if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6)
		return 0;
	alen = rtm.rtm_family == AF_INET ? 4 : 16;
	table = rtm.rtm_table;
	if (tb[RTA_TABLE].present && attr_u32(c, &tb[RTA_TABLE], "RTA_TABLE",
	    &table) == -1)
		return -1;
	if (tb[RTA_OIF].present && attr_u32(c, &tb[RTA_OIF], "RTA_OIF",
	    &oif) == -1)
		return -1;
	/* Only the main table's default unicast routes: what MAAS's
	 * get_all_interfaces_definition() turns into link gateways. */
	if (rtm.rtm_dst_len != 0 || rtm.rtm_type != RTN_UNICAST ||
	    table != RT_TABLE_MAIN)
		return 0;
	if (tb[RTA_GATEWAY].present) {
		if (tb[RTA_GATEWAY].len != alen)
			return fail(c, "attribute RTA_GATEWAY at offset %zu "
			    "has %zu bytes, needs %zu", tb[RTA_GATEWAY].off,
			    tb[RTA_GATEWAY].len, alen);
		gw_update(s, type, rtm.rtm_family, tb[RTA_GATEWAY].data,
		    (int)oif);
	}
	if (tb[RTA_MULTIPATH].present)
		return apply_multipath(c, type, rtm.rtm_family,
		    &tb[RTA_MULTIPATH], s);
	return 0;
}

int
ifsnap_apply(struct ifsnap *s, const void *buf, size_t len, char **cause)
{
	const uint8_t *b = buf;
	struct nlmsghdr h;
	struct ctx c;
	size_t off = 0, step, plen;
	int32_t err;
	int rc;

	memset(&c, 0, sizeof(c));
	c.buf = b;
	c.cause = cause;
	while (off < len) {
		c.msgoff = off;
		c.msgname = "message";
		if (len - off < sizeof(h))
			return fail(&c, "truncated netlink header (%zu bytes, "
			    "needs %zu)", len - off, sizeof(h));
		memcpy(&h, b + off, sizeof(h));
		c.msgname = msg_name(h.nlmsg_type);
		c.anames = NULL;
		c.nanames = 0;
		if (h.nlmsg_type == RTM_NEWLINK || h.nlmsg_type == RTM_DELLINK) {
			c.anames = link_anames;
			c.nanames = RACKD_NELEM(link_anames);
		} else if (h.nlmsg_type == RTM_NEWADDR ||
		    h.nlmsg_type == RTM_DELADDR) {
			c.anames = addr_anames;
			c.nanames = RACKD_NELEM(addr_anames);
		} else if (h.nlmsg_type == RTM_NEWROUTE ||
		    h.nlmsg_type == RTM_DELROUTE) {
			c.anames = route_anames;
			c.nanames = RACKD_NELEM(route_anames);
		}
		if (h.nlmsg_len < sizeof(h))
			return fail(&c, "length %u is shorter than the "
			    "netlink header", h.nlmsg_len);
		if (h.nlmsg_len > len - off)
			return fail(&c, "length %u runs past the buffer "
			    "(%zu bytes left)", h.nlmsg_len, len - off);
		plen = h.nlmsg_len - sizeof(h);
		rc = 0;
		switch (h.nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			rc = apply_link(&c, h.nlmsg_type, b + off + sizeof(h),
			    plen, s);
			break;
		case RTM_NEWADDR:
		case RTM_DELADDR:
			rc = apply_addr(&c, h.nlmsg_type, b + off + sizeof(h),
			    plen, s);
			break;
		case RTM_NEWROUTE:
		case RTM_DELROUTE:
			rc = apply_route(&c, h.nlmsg_type, b + off + sizeof(h),
			    plen, s);
			break;
		case NLMSG_ERROR:
			if (plen < sizeof(err))
				return fail(&c, "%zu bytes, too short for an "
				    "error code", plen);
			memcpy(&err, b + off + sizeof(h), sizeof(err));
			if (err != 0)
				return fail(&c, "kernel error: %s",
				    strerror(err < 0 ? -err : err));
			break;
		default:
			break;	/* NLMSG_DONE, NLMSG_NOOP, other families */
		}
		if (rc == -1)
			return -1;
		step = NLMSG_ALIGN(h.nlmsg_len);
		off += step < len - off ? step : len - off;
	}
	return 0;
}

/* --- what the region would see differently ---------------------------- */

/* A bounded text of "; "-separated items, with a count of what did not
 * fit, so a change of thousands of interfaces stays one log line. */
struct difftext {
	char	*s;
	size_t	 len;
	size_t	 more;
};

#define DIFF_MAX	480

static void
diff_add(struct difftext *d, const char *fmt, ...) RACKD_PRINTF(2, 3);

static void
diff_add(struct difftext *d, const char *fmt, ...)
{
	va_list ap;
	char *item;
	size_t n;

	va_start(ap, fmt);
	xvasprintf(&item, fmt, ap);
	va_end(ap);
	n = strlen(item);
	if (d->len + n + 2 > DIFF_MAX && d->len > 0) {
		d->more++;
		free(item);
		return;
	}
	d->s = xrealloc(d->s, d->len + n + 3);
	if (d->len > 0) {
		memcpy(d->s + d->len, "; ", 2);
		d->len += 2;
	}
	memcpy(d->s + d->len, item, n + 1);
	d->len += n;
	free(item);
}

static const char *
name_of(const struct ifsnap *s, int index)
{
	const struct ifsnap_if *f;

	if (index == 0 || (f = ifsnap_by_index(s, index)) == NULL)
		return "";
	return f->name;
}

const char *
ifsnap_reported_mac(const struct ifsnap *s, const struct ifsnap_if *f)
{
	const struct ifsnap_if *m;

	if (f->perm_mac[0] != '\0' && f->master_index != 0 &&
	    (m = ifsnap_by_index(s, f->master_index)) != NULL &&
	    m->kind == IFSNAP_BOND)
		return f->perm_mac;
	return f->mac;
}

static const struct ifsnap_addr *
find_reported(const struct ifsnap_if *f, const struct ifsnap_addr *a)
{
	size_t i;

	for (i = 0; i < f->naddrs; i++)
		if (f->addrs[i].report && same_addr(&f->addrs[i], a))
			return &f->addrs[i];
	return NULL;
}

static void
diff_addrs(struct difftext *d, const struct ifsnap_if *o,
    const struct ifsnap_if *n)
{
	const struct ifsnap_addr *x;
	char t[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < n->naddrs; i++) {
		if (!n->addrs[i].report)
			continue;
		ifsnap_addr_text(&n->addrs[i], t, sizeof(t));
		if ((x = find_reported(o, &n->addrs[i])) == NULL)
			diff_add(d, "%s/%d added on %s", t,
			    n->addrs[i].prefixlen, n->name);
		else if (x->dynamic != n->addrs[i].dynamic)
			diff_add(d, "%s/%d on %s now %s", t,
			    n->addrs[i].prefixlen, n->name,
			    n->addrs[i].dynamic ? "dhcp" : "static");
	}
	for (i = 0; i < o->naddrs; i++) {
		if (!o->addrs[i].report || find_reported(n, &o->addrs[i]))
			continue;
		ifsnap_addr_text(&o->addrs[i], t, sizeof(t));
		diff_add(d, "%s/%d removed from %s", t, o->addrs[i].prefixlen,
		    o->name);
	}
}

static void
diff_if(struct difftext *d, const struct ifsnap *os, const struct ifsnap_if *o,
    const struct ifsnap *ns, const struct ifsnap_if *n)
{
	const char *om, *nm;

	if (o->kind != n->kind)
		diff_add(d, "%s is now %s (was %s)", n->name,
		    ifsnap_kind_name(n->kind), ifsnap_kind_name(o->kind));
	if ((o->flags & IFF_UP) != (n->flags & IFF_UP))
		diff_add(d, "%s %s", n->name, n->flags & IFF_UP ? "up" :
		    "down");
	if ((o->flags & IFF_BROADCAST) != (n->flags & IFF_BROADCAST))
		diff_add(d, "%s type changed", n->name);
	om = ifsnap_reported_mac(os, o);
	nm = ifsnap_reported_mac(ns, n);
	if (strcmp(om, nm) != 0)
		diff_add(d, "%s MAC %s -> %s", n->name, *om ? om : "none",
		    *nm ? nm : "none");
	om = name_of(os, o->master_index);
	nm = name_of(ns, n->master_index);
	if (strcmp(om, nm) != 0) {
		if (*nm != '\0')
			diff_add(d, "%s joined %s", n->name, nm);
		else
			diff_add(d, "%s left %s", n->name, om);
	}
	if (n->kind == IFSNAP_VLAN && (o->vid != n->vid ||
	    strcmp(name_of(os, o->link_index), name_of(ns, n->link_index))
	    != 0))
		diff_add(d, "%s is now VLAN %d on %s", n->name, n->vid,
		    *name_of(ns, n->link_index) ? name_of(ns, n->link_index) :
		    "an unknown parent");
	if (n->kind == IFSNAP_BOND && o->bond_mode != n->bond_mode)
		diff_add(d, "%s bond mode %s", n->name,
		    ifsnap_bond_mode_name(n->bond_mode) ?
		    ifsnap_bond_mode_name(n->bond_mode) : "unknown");
	diff_addrs(d, o, n);
}

static int
has_gw(const struct ifsnap *s, const struct ifsnap_gw *g)
{
	size_t i;

	for (i = 0; i < s->ngws; i++)
		if (s->gws[i].family == g->family && memcmp(s->gws[i].addr,
		    g->addr, g->family == AF_INET ? 4 : 16) == 0)
			return 1;
	return 0;
}

static void
diff_gws(struct difftext *d, const struct ifsnap *o, const struct ifsnap *n)
{
	char t[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < n->ngws; i++)
		if (!has_gw(o, &n->gws[i]))
			diff_add(d, "default gateway %s added",
			    inet_ntop(n->gws[i].family, n->gws[i].addr, t,
			    sizeof(t)) ? t : "?");
	for (i = 0; i < o->ngws; i++)
		if (!has_gw(n, &o->gws[i]))
			diff_add(d, "default gateway %s removed",
			    inet_ntop(o->gws[i].family, o->gws[i].addr, t,
			    sizeof(t)) ? t : "?");
}

char *
ifsnap_diff(const struct ifsnap *o, const struct ifsnap *n)
{
	struct difftext d = { NULL, 0, 0 };
	const struct ifsnap_if *x;
	char *out;
	size_t i;

	for (i = 0; i < n->nifs; i++) {
		if ((x = ifsnap_by_name(o, n->ifs[i].name)) == NULL)
			diff_add(&d, "%s added", n->ifs[i].name);
		else
			diff_if(&d, o, x, n, &n->ifs[i]);
	}
	for (i = 0; i < o->nifs; i++)
		if (ifsnap_by_name(n, o->ifs[i].name) == NULL)
			diff_add(&d, "%s removed", o->ifs[i].name);
	diff_gws(&d, o, n);
	if (d.len == 0)
		return NULL;
	if (d.more == 0)
		return d.s;
	xasprintf(&out, "%s; and %zu more", d.s, d.more);
	free(d.s);
	return out;
}
