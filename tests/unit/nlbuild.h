/*
 * nlbuild.h — build rtnetlink messages by hand in tests, with the exact
 * layout the kernel uses (struct nlmsghdr, the family header, 4-byte
 * aligned attributes, nested attributes whose length covers their
 * children).  Used for what this machine's kernel cannot create (VLAN,
 * bond: no 8021q or bonding module) and for malformed messages.
 */
#ifndef NLBUILD_H
#define NLBUILD_H

#include <sys/socket.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct nlb {
	uint8_t	 buf[16384];
	size_t	 len;
	size_t	 msg;		/* start of the current message */
	size_t	 nest[8];
	int	 depth;
};

static inline void
nlb_put(struct nlb *b, const void *p, size_t n)
{
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	while (b->len % 4)
		b->buf[b->len++] = 0;
}

/* Start a message with its family header (copied). */
static inline void
nlb_msg(struct nlb *b, uint16_t type, const void *hdr, size_t hlen)
{
	struct nlmsghdr h;

	memset(&h, 0, sizeof(h));
	h.nlmsg_type = type;
	h.nlmsg_seq = 1;
	b->msg = b->len;
	nlb_put(b, &h, sizeof(h));
	nlb_put(b, hdr, hlen);
}

/* Close the current message: its nlmsg_len covers what was added. */
static inline void
nlb_end(struct nlb *b)
{
	uint32_t len = (uint32_t)(b->len - b->msg);

	memcpy(b->buf + b->msg, &len, 4);
}

static inline void
nlb_attr(struct nlb *b, uint16_t type, const void *p, size_t n)
{
	uint16_t hdr[2] = { (uint16_t)(4 + n), type };

	memcpy(b->buf + b->len, hdr, 4);
	b->len += 4;
	nlb_put(b, p, n);
}

static inline void
nlb_str(struct nlb *b, uint16_t type, const char *s)
{
	nlb_attr(b, type, s, strlen(s) + 1);
}

static inline void
nlb_u32(struct nlb *b, uint16_t type, uint32_t v)
{
	nlb_attr(b, type, &v, 4);
}

static inline void
nlb_u16(struct nlb *b, uint16_t type, uint16_t v)
{
	nlb_attr(b, type, &v, 2);
}

static inline void
nlb_u8(struct nlb *b, uint16_t type, uint8_t v)
{
	nlb_attr(b, type, &v, 1);
}

static inline void
nlb_mac(struct nlb *b, uint16_t type, const char *text)
{
	unsigned int m[6];
	uint8_t a[6];
	int i;

	sscanf(text, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
	    &m[5]);
	for (i = 0; i < 6; i++)
		a[i] = (uint8_t)m[i];
	nlb_attr(b, type, a, 6);
}

static inline void
nlb_nest(struct nlb *b, uint16_t type)
{
	uint16_t hdr[2] = { 0, (uint16_t)(type | NLA_F_NESTED) };

	b->nest[b->depth++] = b->len;
	memcpy(b->buf + b->len, hdr, 4);
	b->len += 4;
}

static inline void
nlb_nest_end(struct nlb *b)
{
	size_t at = b->nest[--b->depth];
	uint16_t len = (uint16_t)(b->len - at);

	memcpy(b->buf + at, &len, 2);
}

/* An RTM_NEWLINK/DELLINK for an Ethernet-type interface; the caller adds
 * more attributes, then nlb_end(). */
static inline void
nlb_link(struct nlb *b, uint16_t type, int index, const char *name,
    unsigned flags, const char *mac)
{
	struct ifinfomsg ifi;

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_type = ARPHRD_ETHER;
	ifi.ifi_index = index;
	ifi.ifi_flags = flags;
	nlb_msg(b, type, &ifi, sizeof(ifi));
	nlb_str(b, IFLA_IFNAME, name);
	nlb_u32(b, IFLA_MTU, 1500);
	if (mac != NULL)
		nlb_mac(b, IFLA_ADDRESS, mac);
}

/* A complete RTM_NEWADDR/DELADDR; text is "10.0.0.2" or "2001:db8::2". */
static inline void
nlb_addr(struct nlb *b, uint16_t type, int index, const char *text,
    int prefixlen, uint32_t flags)
{
	struct ifaddrmsg ifa;
	uint8_t a[16];
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;

	memset(&ifa, 0, sizeof(ifa));
	ifa.ifa_family = (uint8_t)family;
	ifa.ifa_prefixlen = (uint8_t)prefixlen;
	ifa.ifa_flags = (uint8_t)flags;
	ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	ifa.ifa_index = (uint32_t)index;
	inet_pton(family, text, a);
	nlb_msg(b, type, &ifa, sizeof(ifa));
	nlb_attr(b, IFA_ADDRESS, a, family == AF_INET ? 4 : 16);
	if (family == AF_INET)
		nlb_attr(b, IFA_LOCAL, a, 4);
	nlb_u32(b, IFA_FLAGS, flags);
	nlb_end(b);
}

/* A complete default route via gw on ifindex, main table. */
static inline void
nlb_default(struct nlb *b, uint16_t type, const char *gw, int ifindex)
{
	struct rtmsg rtm;
	uint8_t a[16];
	int family = strchr(gw, ':') ? AF_INET6 : AF_INET;

	memset(&rtm, 0, sizeof(rtm));
	rtm.rtm_family = (uint8_t)family;
	rtm.rtm_table = RT_TABLE_MAIN;
	rtm.rtm_type = RTN_UNICAST;
	rtm.rtm_protocol = RTPROT_BOOT;
	inet_pton(family, gw, a);
	nlb_msg(b, type, &rtm, sizeof(rtm));
	nlb_u32(b, RTA_TABLE, RT_TABLE_MAIN);
	nlb_attr(b, RTA_GATEWAY, a, family == AF_INET ? 4 : 16);
	nlb_u32(b, RTA_OIF, (uint32_t)ifindex);
	nlb_end(b);
}

/*
 * SYNTHETIC (this kernel has no VLAN or bonding support): the spec §3.6
 * example plus a bond, in the kernel's attribute layout.
 *   1 lo; 2 eth0 (PCI NIC) 10.0.0.2/24, default via 10.0.0.1;
 *   3 eth1 (PCI) 10.99.0.2/24; 4 eth1.100 (VLAN 100 on eth1) 10.100.0.2/24;
 *   5 eth2, 6 eth3: slaves of 7 bond0 (active-backup), showing the bond's
 *   MAC, their own in IFLA_PERM_ADDRESS (eth2) or, as older kernels say
 *   it, IFLA_INFO_SLAVE_DATA/IFLA_BOND_SLAVE_PERM_HWADDR (eth3);
 *   bond0 10.5.0.2/24 and 2001:db8:5::2/64; 8 bond0.200 (VLAN 200 on
 *   bond0) with a DHCP-obtained 10.200.0.2/24.
 */
static inline void
nlb_fixture_synthetic(struct nlb *b)
{
	const unsigned up = IFF_UP | IFF_BROADCAST | IFF_MULTICAST |
	    IFF_LOWER_UP | IFF_RUNNING;
	struct ifinfomsg ifi;

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_type = ARPHRD_LOOPBACK;
	ifi.ifi_index = 1;
	ifi.ifi_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	nlb_msg(b, RTM_NEWLINK, &ifi, sizeof(ifi));
	nlb_str(b, IFLA_IFNAME, "lo");
	nlb_u32(b, IFLA_MTU, 65536);
	nlb_mac(b, IFLA_ADDRESS, "00:00:00:00:00:00");
	nlb_end(b);

	nlb_link(b, RTM_NEWLINK, 2, "eth0", up, "52:54:00:00:00:01");
	nlb_mac(b, IFLA_PERM_ADDRESS, "52:54:00:00:00:01");
	nlb_str(b, IFLA_PARENT_DEV_NAME, "0000:00:03.0");
	nlb_str(b, IFLA_PARENT_DEV_BUS_NAME, "pci");
	nlb_end(b);
	nlb_link(b, RTM_NEWLINK, 3, "eth1", up, "52:54:00:00:00:02");
	nlb_str(b, IFLA_PARENT_DEV_NAME, "0000:00:04.0");
	nlb_end(b);

	nlb_link(b, RTM_NEWLINK, 4, "eth1.100", up, "52:54:00:00:00:02");
	nlb_u32(b, IFLA_LINK, 3);
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "vlan");
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u16(b, IFLA_VLAN_ID, 100);
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);

	nlb_link(b, RTM_NEWLINK, 5, "eth2", up | IFF_SLAVE,
	    "52:54:00:00:00:aa");
	nlb_mac(b, IFLA_PERM_ADDRESS, "52:54:00:00:00:05");
	nlb_u32(b, IFLA_MASTER, 7);
	nlb_str(b, IFLA_PARENT_DEV_NAME, "0000:00:05.0");
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_SLAVE_KIND, "bond");
	nlb_nest_end(b);
	nlb_end(b);
	nlb_link(b, RTM_NEWLINK, 6, "eth3", up | IFF_SLAVE,
	    "52:54:00:00:00:aa");
	nlb_u32(b, IFLA_MASTER, 7);
	nlb_str(b, IFLA_PARENT_DEV_NAME, "0000:00:06.0");
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_SLAVE_KIND, "bond");
	nlb_nest(b, IFLA_INFO_SLAVE_DATA);
	nlb_mac(b, IFLA_BOND_SLAVE_PERM_HWADDR, "52:54:00:00:00:06");
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);

	nlb_link(b, RTM_NEWLINK, 7, "bond0", up | IFF_MASTER,
	    "52:54:00:00:00:aa");
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "bond");
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u8(b, IFLA_BOND_MODE, 1);
	nlb_u32(b, IFLA_BOND_MIIMON, 100);
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);

	nlb_link(b, RTM_NEWLINK, 8, "bond0.200", up, "52:54:00:00:00:aa");
	nlb_u32(b, IFLA_LINK, 7);
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "vlan");
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u16(b, IFLA_VLAN_ID, 200);
	nlb_u16(b, IFLA_VLAN_PROTOCOL, htons(0x8100));
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);

	nlb_addr(b, RTM_NEWADDR, 2, "10.0.0.2", 24, IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 3, "10.99.0.2", 24, IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 4, "10.100.0.2", 24, IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 7, "10.5.0.2", 24, IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 7, "2001:db8:5::2", 64, IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 8, "10.200.0.2", 24, 0);
	nlb_default(b, RTM_NEWROUTE, "10.0.0.1", 2);
}

#endif
