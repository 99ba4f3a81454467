/*
 * test_resources.c — the machine-resources document (resources_build)
 * against the spec's §3.2 mandatory keys and §3.6 example: built from
 * synthetic snapshots (physical, VLAN, bond: nlbuild.h) and from
 * netlink messages recorded on this kernel (bridge, IPv6, floating and
 * dynamic addresses), serialised and parsed back before checking.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ifsnap.h"
#include "nlbuild.h"
#include "resources.h"
#include "xmalloc.h"

#define DATA	"tests/unit/data/netlink/"

static const struct resources_host host = {
	.kernel_architecture = "x86_64",
	.kernel = "Linux",
	.kernel_version = "6.1.0-13-amd64",
	.os_name = "ubuntu",
	.os_version = "22.04",
	.server_name = "rack1",
};

static void
apply_file(struct ifsnap *s, const char *name)
{
	char path[256], *cause = NULL;
	static uint8_t buf[1 << 16];
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), DATA "%s", name);
	assert_non_null(f = fopen(path, "rb"));
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (ifsnap_apply(s, buf, len, &cause) != 0)
		fail_msg("%s: %s", name, cause);
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

static void
from_nlb(struct ifsnap *s, void (*fill)(struct nlb *))
{
	struct nlb *b = xcalloc(1, sizeof(*b));
	char *cause = NULL;

	fill(b);
	ifsnap_init(s);
	if (ifsnap_apply(s, b->buf, b->len, &cause) != 0)
		fail_msg("%s", cause);
	free(b);
}

/* Build, dump, parse back: what the region would json.loads(). */
static json_t *
build(const struct ifsnap *s, const struct resources_host *h)
{
	json_t *doc, *back;
	json_error_t err;
	char *text, *cause = NULL;

	doc = resources_build(s, h, &cause);
	if (doc == NULL)
		fail_msg("resources_build: %s", cause);
	text = json_dumps(doc, JSON_INDENT(4));
	assert_non_null(text);
	json_decref(doc);
	back = json_loads(text, 0, &err);
	if (back == NULL)
		fail_msg("does not parse back: %s", err.text);
	free(text);
	return back;
}

static json_t *
path(json_t *o, const char *p)
{
	char *copy = xstrdup(p), *k, *sp;

	for (k = strtok_r(copy, "/", &sp); k != NULL && o != NULL;
	    k = strtok_r(NULL, "/", &sp))
		o = json_is_array(o) ? json_array_get(o, strtoul(k, NULL,
		    10)) : json_object_get(o, k);
	free(copy);
	if (o == NULL)
		fail_msg("no %s", p);
	return o;
}

static const char *
str(json_t *o, const char *p)
{
	json_t *v = path(o, p);

	if (!json_is_string(v))
		fail_msg("%s is not a string", p);
	return json_string_value(v);
}

/* The region's hard requirements, for every document (§3.2). */
static void
check_mandatory(json_t *d)
{
	static const char *const need[] = { "resources", "resources_v2",
	    "api_os", "resources_system", "resources_usb_pci" };
	json_t *ext = path(d, "api_extensions"), *v, *nets, *a;
	const char *name;
	size_t i, j;
	int found;

	assert_string_equal(str(d, "api_version"), "1.0");
	for (i = 0; i < RACKD_NELEM(need); i++) {
		found = 0;
		json_array_foreach(ext, j, v)
			found |= strcmp(json_string_value(v), need[i]) == 0;
		if (!found)
			fail_msg("extension %s missing", need[i]);
	}
	assert_non_null(str(d, "environment/kernel_architecture"));
	assert_true(json_is_array(path(d, "resources/network/cards")));
	assert_int_equal(json_array_size(path(d, "resources/network/cards")),
	    0);
	/* left out on purpose: see resources.c */
	assert_null(json_object_get(path(d, "resources"), "cpu"));
	nets = path(d, "networks");
	assert_true(json_is_object(nets));
	assert_null(json_object_get(nets, "lo"));
	json_object_foreach(nets, name, v) {
		assert_true(json_is_string(json_object_get(v, "type")));
		assert_true(json_is_string(json_object_get(v, "hwaddr")));
		assert_true(json_is_string(json_object_get(v, "state")));
		assert_true(json_is_array(json_object_get(v, "addresses")));
		/* all three keys on every entry, null or an object */
		assert_non_null(json_object_get(v, "bond"));
		assert_non_null(json_object_get(v, "bridge"));
		assert_non_null(json_object_get(v, "vlan"));
		json_array_foreach(json_object_get(v, "addresses"), j, a) {
			assert_true(json_is_string(json_object_get(a,
			    "netmask")));
			assert_string_equal(str(a, "scope"), "global");
		}
	}
	/* network-extra: all three subkeys */
	assert_true(json_is_object(path(d, "network-extra/interfaces")));
	assert_true(json_is_array(path(d,
	    "network-extra/monitored-interfaces")));
	assert_true(json_is_null(path(d, "network-extra/hints")));
}

/* Position of a key in the object's order (the order of the text). */
static int
key_pos(json_t *o, const char *key)
{
	const char *k;
	json_t *v;
	int i = 0;

	json_object_foreach(o, k, v) {
		if (strcmp(k, key) == 0)
			return i;
		i++;
	}
	return -1;
}

static void
test_spec_example(void **state)
{
	struct ifsnap s;
	json_t *d, *n, *links;
	size_t nifs, naddrs;

	from_nlb(&s, nlb_fixture_synthetic);
	d = build(&s, &host);
	check_mandatory(d);
	assert_string_equal(str(d, "environment/kernel_architecture"),
	    "x86_64");
	assert_string_equal(str(d, "environment/os_name"), "ubuntu");
	assert_string_equal(str(d, "environment/os_version"), "22.04");
	assert_string_equal(str(d, "environment/server_name"), "rack1");
	assert_string_equal(str(d, "environment/kernel"), "Linux");

	/* §3.6: eth0, eth1, eth1.100 */
	n = path(d, "networks/eth0");
	assert_string_equal(str(n, "type"), "broadcast");
	assert_string_equal(str(n, "state"), "up");
	assert_string_equal(str(n, "hwaddr"), "52:54:00:00:00:01");
	assert_int_equal(json_array_size(path(n, "addresses")), 1);
	assert_string_equal(str(n, "addresses/0/address"), "10.0.0.2");
	assert_string_equal(str(n, "addresses/0/netmask"), "24");
	assert_string_equal(str(n, "addresses/0/family"), "inet");
	assert_true(json_is_null(path(n, "vlan")));
	assert_true(json_is_null(path(n, "bond")));
	assert_true(json_is_null(path(n, "bridge")));
	n = path(d, "networks/eth1.100");
	assert_string_equal(str(n, "vlan/lower_device"), "eth1");
	assert_int_equal(json_integer_value(path(n, "vlan/vid")), 100);
	assert_string_equal(str(n, "hwaddr"), "52:54:00:00:00:02");
	assert_string_equal(str(n, "addresses/0/address"), "10.100.0.2");
	/* parents before children */
	n = path(d, "networks");
	assert_true(key_pos(n, "eth1") < key_pos(n, "eth1.100"));
	assert_true(key_pos(n, "eth2") < key_pos(n, "bond0"));
	assert_true(key_pos(n, "eth3") < key_pos(n, "bond0"));
	assert_true(key_pos(n, "bond0") < key_pos(n, "bond0.200"));

	/* bond: mode, lower devices, slaves with their own MAC */
	n = path(d, "networks/bond0");
	assert_string_equal(str(n, "bond/mode"), "active-backup");
	assert_int_equal(json_array_size(path(n, "bond/lower_devices")), 2);
	assert_string_equal(str(n, "bond/lower_devices/0"), "eth2");
	assert_string_equal(str(n, "bond/lower_devices/1"), "eth3");
	assert_string_equal(str(n, "hwaddr"), "52:54:00:00:00:aa");
	assert_int_equal(json_array_size(path(n, "addresses")), 2);
	assert_string_equal(str(n, "addresses/1/address"), "2001:db8:5::2");
	assert_string_equal(str(n, "addresses/1/family"), "inet6");
	assert_string_equal(str(n, "addresses/1/netmask"), "64");
	assert_string_equal(str(d, "networks/eth2/hwaddr"),
	    "52:54:00:00:00:05");
	assert_string_equal(str(d, "networks/eth3/hwaddr"),
	    "52:54:00:00:00:06");
	assert_string_equal(str(d, "networks/bond0.200/vlan/lower_device"),
	    "bond0");

	/* network-extra: the registration dict, gateway, modes */
	links = path(d, "network-extra/interfaces/eth0/links");
	assert_int_equal(json_array_size(links), 1);
	assert_string_equal(str(links, "0/mode"), "static");
	assert_string_equal(str(links, "0/address"), "10.0.0.2/24");
	assert_string_equal(str(links, "0/gateway"), "10.0.0.1");
	assert_string_equal(str(d, "network-extra/interfaces/eth0/type"),
	    "physical");
	assert_string_equal(str(d,
	    "network-extra/interfaces/eth1.100/type"), "vlan");
	assert_string_equal(str(d,
	    "network-extra/interfaces/bond0.200/links/0/mode"), "dhcp");
	assert_string_equal(str(d,
	    "network-extra/interfaces/eth2/mac_address"), "52:54:00:00:00:05");
	assert_string_equal(str(d,
	    "network-extra/interfaces/bond0/parents/0"), "eth2");
	n = path(d, "network-extra/monitored-interfaces");
	/* enabled physical not in a bond, and bonds (MAAS's rule) */
	assert_int_equal(json_array_size(n), 3);
	assert_string_equal(str(n, "0"), "bond0");
	assert_string_equal(str(n, "1"), "eth0");
	assert_string_equal(str(n, "2"), "eth1");

	resources_count(d, &nifs, &naddrs);
	assert_int_equal(nifs, 7);
	assert_int_equal(naddrs, 6);
	json_decref(d);
	ifsnap_clear(&s);
}

static void
test_recorded(void **state)
{
	struct resources_host h = host;
	struct ifsnap s;
	json_t *d, *n, *links;
	size_t nifs, naddrs;

	recorded(&s);
	d = build(&s, &h);
	check_mandatory(d);
	/* 11 (all but lo): veths and their peers, br0 */
	assert_int_equal(json_object_size(path(d, "networks")), 11);
	n = path(d, "networks/eth0");
	/* floating (/32, /128, secondary), tentative, link-local: out */
	assert_int_equal(json_array_size(path(n, "addresses")), 2);
	assert_string_equal(str(n, "addresses/0/address"), "10.0.0.2");
	assert_string_equal(str(n, "addresses/1/address"), "2001:db8:0:1::2");
	n = path(d, "networks/br0");
	assert_string_equal(str(n, "bridge/upper_devices/0"), "eth1");
	assert_string_equal(str(n, "bridge/upper_devices/1"), "eth2");
	assert_true(json_is_null(path(n, "bond")));
	assert_true(key_pos(path(d, "networks"), "eth1") <
	    key_pos(path(d, "networks"), "br0"));
	n = path(d, "networks/eth4");
	assert_string_equal(str(n, "state"), "down");
	assert_int_equal(json_array_size(path(n, "addresses")), 0);
	assert_int_equal(json_integer_value(path(n, "mtu")), 1500);
	/* outside a container MAAS leaves veths out of its dict; the
	 * bridge stays, with its dynamic IPv6 address as "dhcp" */
	n = path(d, "network-extra/interfaces");
	assert_null(json_object_get(n, "eth0"));
	links = path(n, "br0/links");
	assert_string_equal(str(links, "0/address"), "10.1.0.2/24");
	assert_string_equal(str(links, "0/mode"), "static");
	assert_string_equal(str(links, "1/address"), "2001:db8:0:2::5/64");
	assert_string_equal(str(links, "1/mode"), "dhcp");
	resources_count(d, &nifs, &naddrs);
	assert_int_equal(nifs, 11);
	assert_int_equal(naddrs, 6);	/* 2 eth0, 2 br0, 2 eth3 */
	json_decref(d);

	/* in a container veths count as physical */
	h.in_container = 1;
	d = build(&s, &h);
	links = path(d, "network-extra/interfaces/eth3/links");
	assert_string_equal(str(links, "0/address"), "10.2.0.5/24");
	assert_string_equal(str(links, "0/mode"), "dhcp");
	assert_string_equal(str(links, "1/address"), "10.2.0.9/32");
	links = path(d, "network-extra/interfaces/eth0/links");
	assert_int_equal(json_array_size(links), 2);
	assert_string_equal(str(links, "0/gateway"), "10.0.0.1");
	assert_string_equal(str(links, "1/gateway"), "2001:db8:0:1::1");
	json_decref(d);
	ifsnap_clear(&s);
}

static void
vlan_on_down_parent(struct nlb *b)
{
	nlb_link(b, RTM_NEWLINK, 2, "eth0", IFF_BROADCAST,
	    "52:54:00:00:00:01");
	nlb_end(b);
	nlb_link(b, RTM_NEWLINK, 3, "eth0.7", IFF_UP | IFF_BROADCAST,
	    "52:54:00:00:00:01");
	nlb_u32(b, IFLA_LINK, 2);
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "vlan");
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u16(b, IFLA_VLAN_ID, 7);
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);
	/* a VLAN whose parent is in another namespace */
	nlb_link(b, RTM_NEWLINK, 4, "orphan.8", IFF_UP | IFF_BROADCAST,
	    "52:54:00:00:00:04");
	nlb_u32(b, IFLA_LINK, 2);
	nlb_u32(b, IFLA_LINK_NETNSID, 0);
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "vlan");
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u16(b, IFLA_VLAN_ID, 8);
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);
	/* a VLAN over that one: out with it */
	nlb_link(b, RTM_NEWLINK, 5, "orphan.8.9", IFF_UP | IFF_BROADCAST,
	    "52:54:00:00:00:04");
	nlb_u32(b, IFLA_LINK, 4);
	nlb_nest(b, IFLA_LINKINFO);
	nlb_str(b, IFLA_INFO_KIND, "vlan");
	nlb_nest(b, IFLA_INFO_DATA);
	nlb_u16(b, IFLA_VLAN_ID, 9);
	nlb_nest_end(b);
	nlb_nest_end(b);
	nlb_end(b);
	/* a point-to-point tunnel, IPv6 spelled canonically */
	{
		struct ifinfomsg ifi;

		memset(&ifi, 0, sizeof(ifi));
		ifi.ifi_type = ARPHRD_NONE;
		ifi.ifi_index = 6;
		ifi.ifi_flags = IFF_UP | IFF_POINTOPOINT;
		nlb_msg(b, RTM_NEWLINK, &ifi, sizeof(ifi));
		nlb_str(b, IFLA_IFNAME, "wg0");
		nlb_nest(b, IFLA_LINKINFO);
		nlb_str(b, IFLA_INFO_KIND, "wireguard");
		nlb_nest_end(b);
		nlb_end(b);
	}
	/* IPoIB: broadcast, a 20-byte hardware address */
	{
		struct ifinfomsg ifi;
		uint8_t hw[20] = { 0x80, 0, 0x2 };

		memset(&ifi, 0, sizeof(ifi));
		ifi.ifi_type = ARPHRD_INFINIBAND;
		ifi.ifi_index = 9;
		ifi.ifi_flags = IFF_UP | IFF_BROADCAST;
		nlb_msg(b, RTM_NEWLINK, &ifi, sizeof(ifi));
		nlb_str(b, IFLA_IFNAME, "ib0");
		nlb_attr(b, IFLA_ADDRESS, hw, sizeof(hw));
		nlb_end(b);
	}
	nlb_addr(b, RTM_NEWADDR, 6, "2001:DB8:0:0:1:0:0:1", 64,
	    IFA_F_PERMANENT);
	nlb_addr(b, RTM_NEWADDR, 2, "10.0.0.2", 24, IFA_F_PERMANENT);
}

static void
test_vlan_parents(void **state)
{
	struct resources_host h = host;
	struct ifsnap s;
	json_t *d;

	from_nlb(&s, vlan_on_down_parent);
	assert_int_equal(ifsnap_by_name(&s, "wg0")->kind, IFSNAP_TUNNEL);
	assert_int_equal(ifsnap_by_name(&s, "ib0")->kind, IFSNAP_OTHER);
	assert_string_equal(ifsnap_by_name(&s, "ib0")->mac, "");
	assert_int_equal(ifsnap_by_name(&s, "orphan.8")->link_index, 0);
	h.in_container = 1;	/* eth0 has no device: a veth */
	d = build(&s, &h);
	check_mandatory(d);
	/* pitfall 2: the parent of a VLAN is reported up */
	assert_string_equal(str(d, "networks/eth0/state"), "up");
	assert_string_equal(str(d, "networks/eth0.7/vlan/lower_device"),
	    "eth0");
	/* a VLAN whose parent the region cannot know would roll back the
	 * whole report: left out, with what hangs from it */
	assert_null(json_object_get(path(d, "networks"), "orphan.8"));
	assert_null(json_object_get(path(d, "networks"), "orphan.8.9"));
	assert_null(json_object_get(path(d, "network-extra/interfaces"),
	    "orphan.8"));
	assert_null(json_object_get(path(d, "networks"), "ib0"));
	assert_string_equal(str(d, "networks/wg0/type"), "point-to-point");
	assert_string_equal(str(d, "networks/wg0/hwaddr"), "");
	assert_string_equal(str(d, "networks/wg0/addresses/0/address"),
	    "2001:db8::1:0:0:1");
	/* the disabled parent is kept but not monitored */
	assert_false(json_is_true(path(d,
	    "network-extra/interfaces/eth0/enabled")));
	json_decref(d);
	ifsnap_clear(&s);
}

static void
test_bad_arch(void **state)
{
	struct resources_host h = host;
	struct ifsnap s;
	char *cause = NULL;
	const char *const good[] = { "i686", "x86_64", "aarch64", "ppc64le",
	    "s390x", "mips", "mips64" };
	json_t *d;
	size_t i;

	ifsnap_init(&s);
	h.kernel_architecture = "armv7l";
	assert_null(resources_build(&s, &h, &cause));
	assert_string_equal(cause, "kernel architecture 'armv7l' is not one "
	    "MAAS knows (i686 x86_64 aarch64 ppc64le s390x mips mips64)");
	free(cause);
	h.kernel_architecture = "amd64";
	cause = NULL;
	assert_null(resources_build(&s, &h, &cause));
	free(cause);
	h.kernel_architecture = NULL;
	cause = NULL;
	assert_null(resources_build(&s, &h, &cause));
	assert_non_null(cause);
	free(cause);
	for (i = 0; i < RACKD_NELEM(good); i++) {
		h.kernel_architecture = good[i];
		assert_non_null(d = resources_build(&s, &h, &cause));
		/* an empty host is still a valid document */
		assert_int_equal(json_object_size(json_object_get(d,
		    "networks")), 0);
		json_decref(d);
	}
	/* only kernel_architecture is needed */
	memset(&h, 0, sizeof(h));
	h.kernel_architecture = "aarch64";
	d = build(&s, &h);
	check_mandatory(d);
	assert_null(json_object_get(path(d, "environment"), "os_name"));
	json_decref(d);
}

/* Pitfall 14: the region stores at most 1 MiB per part. */
static void
test_too_big(void **state)
{
	struct nlb *b = xcalloc(1, sizeof(*b));
	struct ifsnap s, part;
	char name[16], a[32], *cause = NULL;
	json_t *d;
	int i, j;

	ifsnap_init(&s);
	for (i = 0; i < 1500; i++) {
		b->len = 0;
		snprintf(name, sizeof(name), "veth%d", i);
		nlb_link(b, RTM_NEWLINK, i + 1, name, IFF_UP | IFF_BROADCAST,
		    "52:54:00:00:01:00");
		nlb_end(b);
		for (j = 0; j < 8; j++) {
			snprintf(a, sizeof(a), "10.%d.%d.%d", i / 250,
			    i % 250, j + 1);
			nlb_addr(b, RTM_NEWADDR, i + 1, a, 16,
			    IFA_F_PERMANENT);
		}
		assert_int_equal(ifsnap_apply(&s, b->buf, b->len, &cause), 0);
	}
	d = resources_build(&s, &host, &cause);
	assert_null(d);
	assert_non_null(strstr(cause, "more than the 921600 the region "
	    "stores"));
	free(cause);
	/* a third of it fits */
	ifsnap_init(&part);
	part.ifs = s.ifs;
	part.nifs = 500;
	assert_non_null(d = resources_build(&part, &host, &cause));
	json_decref(d);
	ifsnap_clear(&s);
	free(b);
}

static void
test_host_read(void **state)
{
	struct resources_host h;
	json_t *d;
	struct ifsnap s;
	char *cause = NULL;

	resources_host_read(&h);
	assert_non_null(h.kernel_architecture);
	assert_string_equal(h.kernel, "Linux");
	assert_non_null(h.kernel_version);
	ifsnap_init(&s);
	/* this machine is x86_64 or another MAAS architecture */
	d = resources_build(&s, &h, &cause);
	if (d == NULL)
		assert_non_null(strstr(cause, h.kernel_architecture));
	json_decref(d);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_recorded),
		cmocka_unit_test(test_vlan_parents),
		cmocka_unit_test(test_bad_arch),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_host_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
