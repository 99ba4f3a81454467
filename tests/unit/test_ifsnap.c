/*
 * test_ifsnap.c — the rtnetlink decoder on messages recorded from this
 * kernel (tests/unit/data/netlink/, tools/nlrecord.sh: veths, a bridge
 * with ports, IPv4+IPv6, a /32 and a /128 VIP, a secondary address,
 * dynamic addresses, events), on synthetic VLAN and bond messages
 * (nlbuild.h: this kernel has neither), on malformed messages, the diff
 * texts, and live: ifsnap_read and ifwatch in a network namespace of
 * their own (a forked child that unshares CLONE_NEWNET).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ifsnap.h"
#include "log.h"
#include "nlbuild.h"
#include "xmalloc.h"

#define DATA	"tests/unit/data/netlink/"

static uint8_t *
load(const char *name, size_t *len)
{
	char path[256];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), DATA "%s", name);
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
apply_file(struct ifsnap *s, const char *name)
{
	char *cause = NULL;
	uint8_t *buf;
	size_t len;

	buf = load(name, &len);
	if (ifsnap_apply(s, buf, len, &cause) != 0)
		fail_msg("%s: %s", name, cause);
	free(buf);
}

static void
recorded(struct ifsnap *s)
{
	ifsnap_init(s);
	apply_file(s, "link.bin");
	apply_file(s, "addr.bin");
	apply_file(s, "route4.bin");
	apply_file(s, "route6.bin");
}

static const struct ifsnap_addr *
addr_of(const struct ifsnap_if *f, const char *text)
{
	char t[64];
	size_t i;

	for (i = 0; i < f->naddrs; i++)
		if (strcmp(ifsnap_addr_text(&f->addrs[i], t, sizeof(t)),
		    text) == 0)
			return &f->addrs[i];
	return NULL;
}

static const struct ifsnap_if *
must(const struct ifsnap *s, const char *name)
{
	const struct ifsnap_if *f = ifsnap_by_name(s, name);

	if (f == NULL)
		fail_msg("no interface %s", name);
	return f;
}

static void
test_recorded_dump(void **state)
{
	const struct ifsnap_if *f, *br;
	const struct ifsnap_addr *a;
	struct ifsnap s;
	char t[64];
	size_t i;

	recorded(&s);
	/* 12 interfaces: lo, 5 veth pairs, br0; sorted by name. */
	assert_int_equal(s.nifs, 12);
	for (i = 1; i < s.nifs; i++)
		assert_true(strcmp(s.ifs[i - 1].name, s.ifs[i].name) < 0);

	f = must(&s, "lo");
	assert_int_equal(f->kind, IFSNAP_LOOPBACK);
	assert_non_null(a = addr_of(f, "127.0.0.1"));
	assert_false(a->report);
	assert_string_equal(a->skip_reason, "host scope");

	f = must(&s, "eth0");
	assert_int_equal(f->kind, IFSNAP_ETHER);
	assert_string_equal(f->kind_name, "veth");
	assert_string_equal(f->mac, "52:54:00:00:00:01");
	assert_true(f->flags & IFF_UP);
	assert_int_equal(f->mtu, 1500);
	assert_int_equal(f->link_index, 0);	/* the veth peer is no parent */
	assert_int_equal(f->vid, -1);
	assert_int_equal(f->has_device, 0);
	assert_int_equal(ifsnap_by_index(&s, f->index), f);
	/* the primary: reported, static */
	assert_non_null(a = addr_of(f, "10.0.0.2"));
	assert_true(a->report);
	assert_null(a->skip_reason);
	assert_false(a->dynamic);
	assert_int_equal(a->prefixlen, 24);
	assert_string_equal(a->label, "eth0");
	/* a second address in the same subnet: secondary, a floating VIP */
	assert_non_null(a = addr_of(f, "10.0.0.3"));
	assert_false(a->report);
	assert_true(a->flags & IFA_F_SECONDARY);
	assert_string_equal(a->skip_reason, "secondary (floating address)");
	/* /32 and /128 VIPs */
	assert_non_null(a = addr_of(f, "10.0.0.100"));
	assert_false(a->report);
	assert_string_equal(a->skip_reason,
	    "host prefix /32 (floating address)");
	assert_non_null(a = addr_of(f, "2001:db8:0:1::100"));
	assert_false(a->report);
	assert_string_equal(a->skip_reason,
	    "host prefix /128 (floating address)");
	/* IPv6 global, and one still in DAD */
	assert_non_null(a = addr_of(f, "2001:db8:0:1::2"));
	assert_true(a->report);
	assert_int_equal(a->family, AF_INET6);
	assert_int_equal(a->prefixlen, 64);
	assert_non_null(a = addr_of(f, "2001:db8:0:1::7"));
	assert_false(a->report);
	assert_string_equal(a->skip_reason, "tentative");
	assert_non_null(a = addr_of(f, "fe80::5054:ff:fe00:1"));
	assert_false(a->report);
	assert_string_equal(a->skip_reason, "link-local");

	/* bridge and its ports */
	br = must(&s, "br0");
	assert_int_equal(br->kind, IFSNAP_BRIDGE);
	assert_int_equal(must(&s, "eth1")->master_index, br->index);
	assert_int_equal(must(&s, "eth2")->master_index, br->index);
	assert_int_equal(must(&s, "eth0")->master_index, 0);
	assert_non_null(a = addr_of(br, "10.1.0.2"));
	assert_true(a->report);
	assert_false(a->dynamic);
	/* dynamic: lifetimes given, so not IFA_F_PERMANENT */
	assert_non_null(a = addr_of(br, "2001:db8:0:2::5"));
	assert_true(a->report);
	assert_true(a->dynamic);
	f = must(&s, "eth3");
	assert_non_null(a = addr_of(f, "10.2.0.5"));
	assert_true(a->report);
	assert_true(a->dynamic);
	/* a DHCP /32 lease is the machine's own, not a VIP */
	assert_non_null(a = addr_of(f, "10.2.0.9"));
	assert_true(a->report);
	assert_true(a->dynamic);

	/* down, no address */
	f = must(&s, "eth4");
	assert_false(f->flags & IFF_UP);
	assert_int_equal(f->naddrs, 0);

	/* default routes, kept with their interface */
	assert_int_equal(s.ngws, 2);
	for (i = 0; i < s.ngws; i++) {
		assert_int_equal(s.gws[i].ifindex, must(&s, "eth0")->index);
		inet_ntop(s.gws[i].family, s.gws[i].addr, t, sizeof(t));
		assert_true(strcmp(t, "10.0.0.1") == 0 ||
		    strcmp(t, "2001:db8:0:1::1") == 0);
	}
	ifsnap_clear(&s);
	assert_int_equal(s.nifs, 0);
	assert_null(s.ifs);
}

/* events.bin, one message at a time: eth9 appears, gets 10.9.0.1/24,
 * loses it (RTM_DELADDR), disappears (RTM_DELLINK). */
static void
test_recorded_events(void **state)
{
	struct ifsnap s;
	const struct ifsnap_if *f;
	struct nlmsghdr h;
	uint8_t *buf;
	size_t len, off = 0;
	int seen_if = 0, seen_addr = 0, seen_deladdr = 0, seen_dellink = 0;
	char *cause = NULL;

	recorded(&s);
	buf = load("events.bin", &len);
	while (off < len) {
		memcpy(&h, buf + off, sizeof(h));
		assert_int_equal(ifsnap_apply(&s, buf + off, h.nlmsg_len,
		    &cause), 0);
		f = ifsnap_by_name(&s, "eth9");
		if (f != NULL) {
			seen_if = 1;
			if (addr_of(f, "10.9.0.1") != NULL)
				seen_addr = 1;
			else if (seen_addr && h.nlmsg_type == RTM_DELADDR)
				seen_deladdr = 1;
		} else if (seen_if && h.nlmsg_type == RTM_DELLINK)
			seen_dellink = 1;
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	free(buf);
	assert_true(seen_if);
	assert_true(seen_addr);
	assert_true(seen_deladdr);
	assert_true(seen_dellink);
	assert_null(ifsnap_by_name(&s, "eth9"));
	assert_null(ifsnap_by_name(&s, "peer9"));
	assert_int_equal(s.nifs, 12);
	ifsnap_clear(&s);
}

static void
synthetic(struct ifsnap *s)
{
	struct nlb *b = xcalloc(1, sizeof(*b));
	char *cause = NULL;

	nlb_fixture_synthetic(b);
	ifsnap_init(s);
	if (ifsnap_apply(s, b->buf, b->len, &cause) != 0)
		fail_msg("synthetic: %s", cause);
	free(b);
}

static void
test_synthetic_vlan_bond(void **state)
{
	const struct ifsnap_if *f;
	struct ifsnap s;

	synthetic(&s);
	assert_int_equal(s.nifs, 8);
	f = must(&s, "eth0");
	assert_int_equal(f->kind, IFSNAP_ETHER);
	assert_true(f->has_device);
	assert_string_equal(f->perm_mac, "52:54:00:00:00:01");

	f = must(&s, "eth1.100");
	assert_int_equal(f->kind, IFSNAP_VLAN);
	assert_int_equal(f->vid, 100);
	assert_int_equal(f->link_index, 3);
	assert_false(f->has_device);
	assert_string_equal(ifsnap_kind_name(f->kind), "vlan");

	f = must(&s, "bond0");
	assert_int_equal(f->kind, IFSNAP_BOND);
	assert_int_equal(f->bond_mode, 1);
	assert_string_equal(ifsnap_bond_mode_name(f->bond_mode),
	    "active-backup");
	f = must(&s, "eth2");
	assert_int_equal(f->master_index, 7);
	assert_string_equal(f->mac, "52:54:00:00:00:aa");
	assert_string_equal(ifsnap_reported_mac(&s, f), "52:54:00:00:00:05");
	f = must(&s, "eth3");
	assert_string_equal(f->perm_mac, "52:54:00:00:00:06");
	assert_string_equal(ifsnap_reported_mac(&s, f), "52:54:00:00:00:06");
	f = must(&s, "bond0.200");
	assert_int_equal(f->vid, 200);
	assert_int_equal(f->link_index, 7);
	assert_true(addr_of(f, "10.200.0.2")->dynamic);
	assert_string_equal(ifsnap_reported_mac(&s, f), "52:54:00:00:00:aa");
	assert_null(ifsnap_bond_mode_name(7));
	ifsnap_clear(&s);
}

static void
test_delete(void **state)
{
	struct ifsnap s;
	struct nlb *b = xcalloc(1, sizeof(*b));
	struct ifinfomsg ifi;
	char *cause = NULL;

	synthetic(&s);
	/* A bridge-port DELLINK (AF_BRIDGE) is not the interface going. */
	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_family = AF_BRIDGE;
	ifi.ifi_index = 3;
	nlb_msg(b, RTM_DELLINK, &ifi, sizeof(ifi));
	nlb_str(b, IFLA_IFNAME, "eth1");
	nlb_end(b);
	nlb_addr(b, RTM_DELADDR, 7, "2001:db8:5::2", 64, IFA_F_PERMANENT);
	nlb_addr(b, RTM_DELADDR, 7, "10.77.0.1", 24, 0);	/* unknown */
	nlb_link(b, RTM_DELLINK, 2, "eth0", 0, NULL);
	nlb_end(b);
	assert_int_equal(ifsnap_apply(&s, b->buf, b->len, &cause), 0);
	assert_non_null(ifsnap_by_name(&s, "eth1"));
	assert_null(ifsnap_by_name(&s, "eth0"));
	assert_null(ifsnap_by_index(&s, 2));
	assert_int_equal(s.ngws, 0);	/* the route went with eth0 */
	assert_int_equal(must(&s, "bond0")->naddrs, 1);
	assert_non_null(addr_of(must(&s, "bond0"), "10.5.0.2"));

	/* RTM_NEWLINK of a renamed interface keeps its addresses. */
	b->len = 0;
	nlb_link(b, RTM_NEWLINK, 7, "uplink", IFF_UP | IFF_BROADCAST,
	    "52:54:00:00:00:aa");
	nlb_end(b);
	nlb_default(b, RTM_NEWROUTE, "10.5.0.1", 7);
	nlb_default(b, RTM_NEWROUTE, "10.5.0.1", 7);	/* once only */
	assert_int_equal(ifsnap_apply(&s, b->buf, b->len, &cause), 0);
	assert_null(ifsnap_by_name(&s, "bond0"));
	assert_int_equal(must(&s, "uplink")->naddrs, 1);
	assert_int_equal(must(&s, "uplink")->kind, IFSNAP_ETHER);
	assert_int_equal(s.ngws, 1);
	b->len = 0;
	nlb_default(b, RTM_DELROUTE, "10.5.0.1", 7);
	assert_int_equal(ifsnap_apply(&s, b->buf, b->len, &cause), 0);
	assert_int_equal(s.ngws, 0);
	ifsnap_clear(&s);
	free(b);
}

/* Apply buf and expect failure with a cause containing want. */
static void
expect_bad(struct ifsnap *s, const void *buf, size_t len, const char *want)
{
	char *cause = NULL;

	assert_int_equal(ifsnap_apply(s, buf, len, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, want);
	free(cause);
}

static void
test_malformed(void **state)
{
	struct nlb *b = xcalloc(1, sizeof(*b));
	struct ifsnap s;
	uint16_t l;
	uint32_t l32;
	size_t good, data_at;
	char want[256];

	ifsnap_init(&s);
	/* truncated netlink header, after one good message */
	nlb_link(b, RTM_NEWLINK, 2, "eth0", IFF_UP, "52:54:00:00:00:01");
	nlb_end(b);
	good = b->len;
	memset(b->buf + good, 0, 10);
	snprintf(want, sizeof(want), "message at offset %zu: truncated "
	    "netlink header (10 bytes, needs 16)", good);
	expect_bad(&s, b->buf, good + 10, want);
	assert_non_null(ifsnap_by_name(&s, "eth0"));	/* kept */
	ifsnap_clear(&s);

	/* nlmsg_len past the buffer */
	snprintf(want, sizeof(want), "RTM_NEWLINK at offset 0: length %zu "
	    "runs past the buffer (%zu bytes left)", good, good - 4);
	expect_bad(&s, b->buf, good - 4, want);
	/* nlmsg_len shorter than a header */
	l32 = 8;
	memcpy(b->buf, &l32, 4);
	expect_bad(&s, b->buf, good, "RTM_NEWLINK at offset 0: length 8 is "
	    "shorter than the netlink header");
	/* shorter than struct ifinfomsg */
	l32 = 20;
	memcpy(b->buf, &l32, 4);
	expect_bad(&s, b->buf, 20, "RTM_NEWLINK at offset 0: 4 bytes, "
	    "shorter than struct ifinfomsg (16)");

	/* attribute past the end of its message: IFLA_IFNAME (at 32) */
	b->len = 0;
	nlb_link(b, RTM_NEWLINK, 2, "eth0", IFF_UP, "52:54:00:00:00:01");
	nlb_end(b);
	l = 200;
	memcpy(b->buf + 32, &l, 2);
	snprintf(want, sizeof(want), "RTM_NEWLINK at offset 0: attribute 3 "
	    "(IFLA_IFNAME) at offset 32 runs past the message (length 200, "
	    "%zu bytes left)", b->len - 32);
	expect_bad(&s, b->buf, b->len, want);
	/* attribute shorter than its header */
	l = 2;
	memcpy(b->buf + 32, &l, 2);
	expect_bad(&s, b->buf, b->len, "attribute 3 (IFLA_IFNAME) at offset "
	    "32 has length 2, shorter than its header");

	/* nested overflow: IFLA_INFO_DATA claims more than IFLA_LINKINFO */
	b->len = 0;
	nlb_link(b, RTM_NEWLINK, 4, "eth1.100", IFF_UP, "52:54:00:00:00:02");
	nlb_u32(b, IFLA_LINK, 3);
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "vlan");
	data_at = b->len;
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u16(b, IFLA_VLAN_ID, 100);
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);
	assert_int_equal(ifsnap_apply(&s, b->buf, b->len, NULL), 0);
	l = 40;		/* IFLA_INFO_DATA is 12 bytes in a 28-byte nest */
	memcpy(b->buf + data_at, &l, 2);
	snprintf(want, sizeof(want), "RTM_NEWLINK at offset 0: in "
	    "IFLA_LINKINFO: attribute 2 at offset %zu runs past the container "
	    "(length 40, 12 bytes left)", data_at);
	expect_bad(&s, b->buf, b->len, want);
	/* nested: a VLAN id attribute past IFLA_INFO_DATA */
	l = 12;
	memcpy(b->buf + data_at, &l, 2);
	memcpy(b->buf + data_at + 4, (uint16_t[]){ 16 }, 2);
	snprintf(want, sizeof(want), "in IFLA_INFO_DATA: attribute 1 at "
	    "offset %zu runs past the container", data_at + 4);
	expect_bad(&s, b->buf, b->len, want);
	/* VLAN id out of range */
	l = 5000;
	memcpy(b->buf + data_at, (uint16_t[]){ 12 }, 2);
	memcpy(b->buf + data_at + 4, (uint16_t[]){ 6 }, 2);
	memcpy(b->buf + data_at + 8, &l, 2);
	expect_bad(&s, b->buf, b->len, "VLAN id 5000 is out of range");
	ifsnap_clear(&s);

	/* payload sizes: IFLA_MTU of 2 bytes, name without NUL, bad name */
	b->len = 0;
	nlb_link(b, RTM_NEWLINK, 2, "eth0", IFF_UP, NULL);
	nlb_u16(b, IFLA_MTU, 9000);
	nlb_end(b);
	expect_bad(&s, b->buf, b->len, "attribute IFLA_MTU at offset 52 has 2 "
	    "bytes, needs 4");
	b->len = 0;
	nlb_link(b, RTM_NEWLINK, 2, "eth0", IFF_UP, NULL);
	nlb_end(b);
	b->buf[36 + 3] = 'x';	/* "eth0\0" -> "ethx" + padding... */
	b->buf[36 + 4] = 'y';
	memcpy(b->buf + 32, (uint16_t[]){ 9 }, 2);	/* no NUL inside */
	expect_bad(&s, b->buf, b->len, "IFLA_IFNAME at offset 32 is not "
	    "NUL-terminated");
	b->len = 0;
	nlb_link(b, RTM_NEWLINK, 2, "a/b", IFF_UP, NULL);
	nlb_end(b);
	expect_bad(&s, b->buf, b->len, "IFLA_IFNAME at offset 32 is not a "
	    "valid interface name");
	b->len = 0;
	nlb_link(b, RTM_NEWLINK, 2, "averyveryverylongname", IFF_UP, NULL);
	nlb_end(b);
	expect_bad(&s, b->buf, b->len, "is 21 characters long, more than 15");

	/* addresses: wrong size for the family, prefix too long */
	b->len = 0;
	nlb_addr(b, RTM_NEWADDR, 2, "2001:db8::1", 24, 0);
	b->buf[16] = AF_INET;	/* now an IPv4 message with a 16-byte addr */
	expect_bad(&s, b->buf, b->len, "RTM_NEWADDR at offset 0: attribute "
	    "IFA_ADDRESS at offset 24 has 16 bytes, an IPv4 address needs 4");
	b->len = 0;
	nlb_addr(b, RTM_NEWADDR, 2, "10.0.0.1", 33, 0);
	expect_bad(&s, b->buf, b->len, "prefix length 33 for an IPv4 address");
	/* route: a gateway of the wrong size */
	b->len = 0;
	nlb_default(b, RTM_NEWROUTE, "10.0.0.1", 2);
	b->buf[16] = AF_INET6;
	expect_bad(&s, b->buf, b->len, "RTM_NEWROUTE at offset 0: attribute "
	    "RTA_GATEWAY at offset 36 has 4 bytes, needs 16");
	/* a kernel error message */
	b->len = 0;
	{
		struct nlmsgerr e;

		memset(&e, 0, sizeof(e));
		e.error = -EPERM;
		nlb_msg(b, NLMSG_ERROR, &e, sizeof(e));
		nlb_end(b);
	}
	expect_bad(&s, b->buf, b->len, "NLMSG_ERROR at offset 0: kernel "
	    "error: Operation not permitted");
	/* NLMSG_DONE and unknown types are skipped */
	b->len = 0;
	nlb_msg(b, NLMSG_DONE, (int32_t[]){ 0 }, 4);
	nlb_end(b);
	nlb_msg(b, RTM_NEWNEIGH, (uint8_t[12]){ 0 }, 12);
	nlb_end(b);
	assert_int_equal(ifsnap_apply(&s, b->buf, b->len, NULL), 0);
	assert_int_equal(s.nifs, 0);
	ifsnap_clear(&s);
	free(b);
}

static void
test_copy(void **state)
{
	struct ifsnap s, c;

	recorded(&s);
	ifsnap_copy(&c, &s);
	assert_null(ifsnap_diff(&s, &c));
	assert_ptr_not_equal(c.ifs, s.ifs);
	assert_ptr_not_equal(must(&c, "eth0")->addrs, must(&s, "eth0")->addrs);
	ifsnap_clear(&s);	/* c stands alone */
	assert_int_equal(must(&c, "eth0")->naddrs, 7);
	ifsnap_clear(&c);
	ifsnap_init(&s);
	ifsnap_copy(&c, &s);
	assert_int_equal(c.nifs, 0);
	assert_null(ifsnap_diff(&s, &c));
}

static char *
diff_after(const struct ifsnap *base, void (*edit)(struct nlb *))
{
	struct nlb *b = xcalloc(1, sizeof(*b));
	struct ifsnap n;
	char *d, *cause = NULL;

	ifsnap_copy(&n, base);
	edit(b);
	if (ifsnap_apply(&n, b->buf, b->len, &cause) != 0)
		fail_msg("%s", cause);
	d = ifsnap_diff(base, &n);
	ifsnap_clear(&n);
	free(b);
	return d;
}

static void
edit_mtu_carrier(struct nlb *b)
{
	struct ifinfomsg ifi;

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_type = ARPHRD_ETHER;
	ifi.ifi_index = 2;
	ifi.ifi_flags = IFF_UP | IFF_BROADCAST | IFF_MULTICAST; /* no carrier */
	nlb_msg(b, RTM_NEWLINK, &ifi, sizeof(ifi));
	nlb_str(b, IFLA_IFNAME, "eth0");
	nlb_u32(b, IFLA_MTU, 9000);
	nlb_mac(b, IFLA_ADDRESS, "52:54:00:00:00:01");
	nlb_str(b, IFLA_PARENT_DEV_NAME, "0000:00:03.0");
	nlb_end(b);
	/* not reported: floating, link-local */
	nlb_addr(b, RTM_NEWADDR, 2, "10.0.0.100", 32, IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 2, "fe80::1", 64, IFA_F_PERMANENT);
}

static void
edit_many(struct nlb *b)
{
	nlb_addr(b, RTM_NEWADDR, 2, "10.0.0.5", 16, IFA_F_PERMANENT);
	nlb_addr(b, RTM_DELADDR, 3, "10.99.0.2", 24, IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 8, "10.200.0.2", 24, IFA_F_PERMANENT);
	nlb_link(b, RTM_DELLINK, 6, "eth3", 0, NULL);
	nlb_end(b);
	nlb_link(b, RTM_NEWLINK, 9, "eth9", IFF_BROADCAST, "52:54:00:00:00:09");
	nlb_u32(b, IFLA_MASTER, 7);
	nlb_end(b);
	nlb_link(b, RTM_NEWLINK, 4, "eth1.100", IFF_BROADCAST,
	    "52:54:00:00:00:22");
	nlb_u32(b, IFLA_LINK, 3);
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "vlan");
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u16(b, IFLA_VLAN_ID, 101);
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);
	nlb_default(b, RTM_DELROUTE, "10.0.0.1", 2);
	nlb_default(b, RTM_NEWROUTE, "2001:db8:5::1", 7);
}

static void
edit_lots(struct nlb *b)
{
	char name[16];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "veth%03d", i);
		nlb_link(b, RTM_NEWLINK, 100 + i, name, IFF_UP | IFF_BROADCAST,
		    "52:54:00:00:01:00");
		nlb_end(b);
	}
}

static void
test_diff(void **state)
{
	struct ifsnap s, empty;
	char *d;

	synthetic(&s);
	/* what MAAS does not compare: MTU, carrier, unreported addresses */
	assert_null(diff_after(&s, edit_mtu_carrier));

	d = diff_after(&s, edit_many);
	assert_non_null(d);
	assert_string_equal(d,
	    "10.200.0.2/24 on bond0.200 now static; "
	    "10.0.0.5/16 added on eth0; 10.99.0.2/24 removed from eth1; "
	    "eth1.100 down; eth1.100 MAC 52:54:00:00:00:02 -> "
	    "52:54:00:00:00:22; eth1.100 is now VLAN 101 on eth1; "
	    "eth9 added; eth3 removed; "
	    "default gateway 2001:db8:5::1 added; "
	    "default gateway 10.0.0.1 removed");
	free(d);

	d = diff_after(&s, edit_lots);
	assert_non_null(d);
	assert_true(strlen(d) < 540);
	assert_non_null(strstr(d, "veth000 added; veth001 added"));
	assert_non_null(strstr(d, "more"));
	free(d);

	/* from nothing, and to nothing */
	ifsnap_init(&empty);
	d = ifsnap_diff(&empty, &s);
	assert_non_null(strstr(d, "bond0 added"));
	free(d);
	d = ifsnap_diff(&s, &empty);
	assert_non_null(strstr(d, "eth0 removed"));
	free(d);
	ifsnap_clear(&s);
}

/* Membership: a port joining a bridge, a slave leaving its bond. */
static void
edit_membership(struct nlb *b)
{
	nlb_link(b, RTM_NEWLINK, 2, "eth0", IFF_UP | IFF_BROADCAST,
	    "52:54:00:00:00:01");
	nlb_u32(b, IFLA_MASTER, 7);
	nlb_mac(b, IFLA_PERM_ADDRESS, "52:54:00:00:00:01");
	nlb_end(b);
	nlb_link(b, RTM_NEWLINK, 5, "eth2", IFF_UP | IFF_BROADCAST,
	    "52:54:00:00:00:05");
	nlb_mac(b, IFLA_PERM_ADDRESS, "52:54:00:00:00:05");
	nlb_end(b);
}

static void
test_diff_membership(void **state)
{
	struct ifsnap s;
	char *d;

	synthetic(&s);
	d = diff_after(&s, edit_membership);
	assert_string_equal(d, "eth0 joined bond0; eth2 left bond0");
	free(d);
	ifsnap_clear(&s);
}

/* --- live, in a namespace of our own ---------------------------------- */

static int
sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

/* Run fn in a forked child inside a fresh network namespace; the child's
 * exit code is the verdict (0 ok, 77 cannot unshare).  Killed after
 * deadline_s. */
static void
in_netns(int (*fn)(void), int deadline_s)
{
	pid_t pid, w = 0;
	int status = 0, i;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) == -1)
			_exit(77);
		_exit(fn());
	}
	for (i = 0; i < deadline_s * 20; i++) {
		if ((w = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		usleep(50000);
	}
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("child still running after %d s", deadline_s);
	}
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	if (WEXITSTATUS(status) != 0)
		fail_msg("child check %d failed", WEXITSTATUS(status));
}

static int
live_read(void)
{
	struct ifsnap s;
	const struct ifsnap_if *f;
	char *cause = NULL;

	if (sh("ip link add lv0 address 52:54:00:00:07:01 type veth peer "
	    "name lv1 && ip link set lv0 up && ip link set lv1 up && "
	    "ip addr add 10.7.0.2/24 dev lv0 && "
	    "ip route add default via 10.7.0.1") != 0)
		return 77;	/* no ip(8) or no veth here */
	ifsnap_init(&s);
	if (ifsnap_read(&s, &cause) != 0) {
		fprintf(stderr, "ifsnap_read: %s\n", cause);
		return 1;
	}
	if (s.nifs != 3 || ifsnap_by_name(&s, "lo") == NULL)
		return 2;
	if ((f = ifsnap_by_name(&s, "lv0")) == NULL ||
	    strcmp(f->mac, "52:54:00:00:07:01") != 0 || f->kind !=
	    IFSNAP_ETHER || strcmp(f->kind_name, "veth") != 0)
		return 3;
	if (addr_of(f, "10.7.0.2") == NULL || !addr_of(f, "10.7.0.2")->report)
		return 4;
	if (s.ngws != 1 || s.gws[0].ifindex != f->index)
		return 5;
	/* again into the same snapshot: cleared first, same result */
	if (ifsnap_read(&s, &cause) != 0 || s.nifs != 3)
		return 6;
	ifsnap_clear(&s);
	return 0;
}

static void
test_live_read(void **state)
{
	in_netns(live_read, 20);
}

struct live_watch {
	struct event_base *base;
	int		 calls;
	int		 first_null;
	int		 saw_added;
	int		 saw_addr;
	int		 phase;
};

static void
live_cb(const struct ifsnap *snap, const char *changes, void *arg)
{
	struct live_watch *lw = arg;

	lw->calls++;
	if (lw->calls == 1) {
		lw->first_null = changes == NULL && snap->nifs == 1;
		/* a change made now must be seen */
		if (sh("ip link add wv0 type veth peer name wv1") != 0)
			event_base_loopbreak(lw->base);
		return;
	}
	if (changes != NULL && strstr(changes, "wv0 added") &&
	    strstr(changes, "wv1 added")) {
		lw->saw_added = 1;
		if (sh("ip link set wv0 up && "
		    "ip addr add 10.8.0.2/24 dev wv0") != 0)
			event_base_loopbreak(lw->base);
		return;
	}
	if (changes != NULL && strstr(changes, "10.8.0.2/24 added on wv0")) {
		lw->saw_addr = 1;
		event_base_loopbreak(lw->base);
	}
}

static int
live_watch(void)
{
	struct live_watch lw;
	struct ifwatch *w;
	struct timeval deadline = { 10, 0 };
	char *cause = NULL;

	memset(&lw, 0, sizeof(lw));
	if (sh("ip link add probe0 type veth peer name probe1 && "
	    "ip link del probe0") != 0)
		return 77;
	lw.base = event_base_new();
	if ((w = ifwatch_new(lw.base, 50, 60000, live_cb, &lw, &cause)) ==
	    NULL) {
		fprintf(stderr, "ifwatch_new: %s\n", cause);
		return 1;
	}
	if (ifwatch_snapshot(w)->nifs != 0)	/* nothing before the loop */
		return 2;
	/* within 10 s, so through the events: the 60 s check never ran */
	event_base_loopexit(lw.base, &deadline);
	event_base_dispatch(lw.base);
	if (!lw.first_null)
		return 3;
	if (!lw.saw_added)
		return 4;
	if (!lw.saw_addr)
		return 5;
	if (ifsnap_by_name(ifwatch_snapshot(w), "wv0") == NULL)
		return 7;
	ifwatch_free(w);
	event_base_free(lw.base);
	return 0;
}

static void
test_live_watch(void **state)
{
	in_netns(live_watch, 20);
}

struct free_in_cb {
	struct event_base *base;
	struct ifwatch	*w;
	int		 calls;
};

static void
free_cb(const struct ifsnap *snap, const char *changes, void *arg)
{
	struct free_in_cb *f = arg;

	f->calls++;
	assert_null(changes);		/* the first delivery */
	assert_true(snap->nifs > 0);	/* at least lo */
	ifwatch_free(f->w);		/* from its own callback */
	event_base_loopexit(f->base, NULL);
}

/* The first snapshot comes on the first loop turn, and the watcher may
 * be freed from its callback (ASan/valgrind check the rest). */
static void
test_watch_free_in_cb(void **state)
{
	struct free_in_cb f;
	struct timeval deadline = { 5, 0 };
	char *cause = NULL;

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	f.w = ifwatch_new(f.base, 10, 1000, free_cb, &f, &cause);
	assert_non_null(f.w);
	assert_int_equal(f.calls, 0);	/* not before the loop runs */
	event_base_loopexit(f.base, &deadline);
	event_base_loop(f.base, EVLOOP_ONCE);
	assert_int_equal(f.calls, 1);
	event_base_free(f.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_dump),
		cmocka_unit_test(test_recorded_events),
		cmocka_unit_test(test_synthetic_vlan_bond),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_membership),
		cmocka_unit_test(test_live_read),
		cmocka_unit_test(test_live_watch),
		cmocka_unit_test(test_watch_free_in_cb),
	};

	log_init("test_ifsnap", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
