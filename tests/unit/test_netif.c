/*
 * test_netif.c — interface classification against a fake sysfs tree,
 * netif_build() with fake addresses and gateways, and netif_collect() on
 * the real host.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "netif.h"
#include "rackd.h"
#include "xmalloc.h"

static char root[64];

static void
put(const char *ifname, const char *file, const char *text)
{
	char path[256], dir[256], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, ifname, file);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	mkdir(dir, 0755);	/* one level below the interface is enough */
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", text);
	fclose(f);
}

static void
mkif(const char *ifname, const char *type, const char *mac, const char *flags)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, ifname);
	assert_int_equal(mkdir(path, 0755), 0);
	put(ifname, "type", type);
	put(ifname, "address", mac);
	put(ifname, "flags", flags);
	put(ifname, "uevent", "INTERFACE=x");
}

static void
sub(const char *ifname, const char *d)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", root, ifname, d);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void
lnk(const char *ifname, const char *name, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", root, ifname, name);
	assert_int_equal(symlink(target, path), 0);
}

static int
setup_tree(void **state)
{
	snprintf(root, sizeof(root), "/tmp/test_netif.XXXXXX");
	assert_non_null(mkdtemp(root));

	mkif("fk0", "1", "52:54:00:00:00:01", "0x1003");
	lnk("fk0", "device", "../../devices/pci0");
	mkif("fk1", "1", "52:54:00:00:00:02", "0x1003");
	lnk("fk1", "device", "../../devices/pci1");
	lnk("fk1", "upper_bond0", "../bond0");
	mkif("fk2", "1", "52:54:00:00:00:03", "0x1003");
	lnk("fk2", "device", "../../devices/pci2");

	/* bond0 over fk1 (lower_ link) and fk2 (bonding/slaves only). */
	mkif("bond0", "1", "52:54:00:00:00:02", "0x1003");
	sub("bond0", "bonding");
	put("bond0", "bonding/slaves", "fk1 fk2");
	lnk("bond0", "lower_fk1", "../fk1");

	/* br0 over bond0 (brif/), br1 stand-alone. */
	mkif("br0", "1", "52:54:00:00:00:10", "0x1003");
	sub("br0", "bridge");
	sub("br0", "brif");
	lnk("br0", "brif/bond0", "../../bond0");
	mkif("br1", "1", "52:54:00:00:00:11", "0x1003");
	sub("br1", "bridge");

	/* VLANs: id from the name, parent from lower_. */
	mkif("fk0.100", "1", "52:54:00:00:00:01", "0x1003");
	put("fk0.100", "uevent", "DEVTYPE=vlan\nINTERFACE=fk0.100");
	lnk("fk0.100", "lower_fk0", "../fk0");
	mkif("vlan200", "1", "52:54:00:00:00:02", "0x1003");
	put("vlan200", "uevent", "DEVTYPE=vlan");
	lnk("vlan200", "lower_bond0", "../bond0");

	/* Left out: tap, loopback, gre, no MAC.  Down: kept, unmonitored. */
	mkif("tap0", "1", "52:54:00:00:00:20", "0x1003");
	put("tap0", "tun_flags", "0x1002");
	mkif("lo", "772", "00:00:00:00:00:00", "0x9");
	mkif("gre0", "778", "00:00:00:00", "0x80");
	mkif("nomac", "1", "", "0x1003");
	lnk("nomac", "device", "../../devices/pci9");
	mkif("down0", "1", "52:54:00:00:00:30", "0x1002");
	lnk("down0", "device", "../../devices/pci3");
	return 0;
}

static int
teardown_tree(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static json_t *
get_if(json_t *all, const char *name)
{
	json_t *o = json_object_get(all, name);

	if (o == NULL)
		fail_msg("interface %s missing", name);
	return o;
}

static const char *
sval(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void
assert_parents(json_t *o, const char *want)
{
	json_t *p = json_object_get(o, "parents"), *v;
	char buf[256] = "";
	size_t i;

	assert_true(json_is_array(p));
	json_array_foreach(p, i, v) {
		if (i > 0)
			strcat(buf, ",");
		strcat(buf, json_string_value(v));
	}
	assert_string_equal(buf, want);
}

static int
bval(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_boolean(v));
	return json_is_true(v);
}

static void
test_fake_tree(void **state)
{
	json_t *all = netif_collect(root), *o;

	assert_true(json_is_object(all));
	/* Never: loopback, tunnels, gre, interfaces without a MAC. */
	assert_null(json_object_get(all, "lo"));
	assert_null(json_object_get(all, "tap0"));
	assert_null(json_object_get(all, "gre0"));
	assert_null(json_object_get(all, "nomac"));

	o = get_if(all, "fk0");
	assert_string_equal(sval(o, "type"), "physical");
	assert_string_equal(sval(o, "mac_address"), "52:54:00:00:00:01");
	assert_string_equal(sval(o, "source"), "machine-resources");
	assert_true(bval(o, "enabled"));
	assert_true(bval(o, "monitored"));
	assert_true(json_is_array(json_object_get(o, "links")));
	assert_null(json_object_get(o, "vid"));
	assert_parents(o, "");

	/* Bond members are not monitored; the bond is. */
	assert_false(bval(get_if(all, "fk1"), "monitored"));
	assert_false(bval(get_if(all, "fk2"), "monitored"));
	o = get_if(all, "bond0");
	assert_string_equal(sval(o, "type"), "bond");
	assert_parents(o, "fk1,fk2");
	assert_true(bval(o, "monitored"));

	o = get_if(all, "br0");
	assert_string_equal(sval(o, "type"), "bridge");
	assert_parents(o, "bond0");
	assert_false(bval(o, "monitored"));
	o = get_if(all, "br1");
	assert_string_equal(sval(o, "type"), "bridge");
	assert_parents(o, "");
	assert_true(bval(o, "monitored"));

	o = get_if(all, "fk0.100");
	assert_string_equal(sval(o, "type"), "vlan");
	assert_int_equal(json_integer_value(json_object_get(o, "vid")), 100);
	assert_parents(o, "fk0");
	assert_false(bval(o, "monitored"));
	o = get_if(all, "vlan200");
	assert_string_equal(sval(o, "type"), "vlan");
	assert_int_equal(json_integer_value(json_object_get(o, "vid")), 200);
	assert_parents(o, "bond0");

	o = get_if(all, "down0");
	assert_false(bval(o, "enabled"));
	assert_false(bval(o, "monitored"));
	json_decref(all);
}

static struct netif_addr
mkaddr(const char *text, int prefixlen)
{
	struct netif_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a.family, text, a.addr), 1);
	a.prefixlen = prefixlen;
	return a;
}

static struct netif_gw
mkgw(const char *text)
{
	struct netif_gw g;

	memset(&g, 0, sizeof(g));
	g.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(g.family, text, g.addr), 1);
	return g;
}

static void
test_build_links(void **state)
{
	struct netif_addr addrs[] = {
		mkaddr("10.0.0.5", 24),
		mkaddr("169.254.3.4", 16),
		mkaddr("fe80::1", 64),
		mkaddr("2001:db8::5", 64),
		mkaddr("192.168.7.9", 32),
	};
	struct netif_gw gws[] = { mkgw("10.0.0.1"), mkgw("2001:db8::1"),
	    mkgw("172.16.0.1") };
	struct netif_raw r[2];
	json_t *all, *links, *l;

	memset(r, 0, sizeof(r));
	snprintf(r[0].name, sizeof(r[0].name), "eth0");
	snprintf(r[0].mac, sizeof(r[0].mac), "52:54:00:12:34:56");
	r[0].kind = NETIF_PHYSICAL;
	r[0].enabled = 1;
	r[0].vid = -1;
	r[0].addrs = addrs;
	r[0].naddrs = RACKD_NELEM(addrs);
	/* An unclassified ethernet (veth): kept only in a container. */
	snprintf(r[1].name, sizeof(r[1].name), "veth1");
	snprintf(r[1].mac, sizeof(r[1].mac), "52:54:00:12:34:57");
	r[1].kind = NETIF_ETHERNET;
	r[1].enabled = 1;
	r[1].vid = -1;

	all = netif_build(r, 2, gws, RACKD_NELEM(gws), 0);
	assert_null(json_object_get(all, "veth1"));
	links = json_object_get(get_if(all, "eth0"), "links");
	assert_int_equal(json_array_size(links), 3);
	l = json_array_get(links, 0);
	assert_string_equal(sval(l, "mode"), "static");
	assert_string_equal(sval(l, "address"), "10.0.0.5/24");
	assert_string_equal(sval(l, "gateway"), "10.0.0.1");
	l = json_array_get(links, 1);
	assert_string_equal(sval(l, "address"), "2001:db8::5/64");
	assert_string_equal(sval(l, "gateway"), "2001:db8::1");
	l = json_array_get(links, 2);
	assert_string_equal(sval(l, "address"), "192.168.7.9/32");
	assert_null(json_object_get(l, "gateway"));
	json_decref(all);

	all = netif_build(r, 2, NULL, 0, 1);
	assert_string_equal(sval(get_if(all, "veth1"), "type"), "physical");
	assert_null(json_object_get(json_array_get(json_object_get(
	    get_if(all, "eth0"), "links"), 0), "gateway"));
	json_decref(all);

	all = netif_build(NULL, 0, NULL, 0, 0);
	assert_int_equal(json_object_size(all), 0);
	json_decref(all);
}

static void
test_real_host(void **state)
{
	json_t *all = netif_collect("/sys/class/net"), *o, *l;
	const char *name;
	size_t i;

	assert_true(json_is_object(all));
	assert_null(json_object_get(all, "lo"));
	json_object_foreach(all, name, o) {
		assert_non_null(json_object_get(o, "type"));
		assert_true(strlen(sval(o, "mac_address")) > 0);
		assert_true(json_is_array(json_object_get(o, "links")));
		assert_true(json_is_array(json_object_get(o, "parents")));
		(void)bval(o, "enabled");
		(void)bval(o, "monitored");
		json_array_foreach(json_object_get(o, "links"), i, l) {
			assert_non_null(strchr(sval(l, "address"), '/'));
			assert_null(strstr(sval(l, "address"), "fe80:"));
		}
	}
	json_decref(all);
	/* A missing tree is an empty object, not a failure. */
	all = netif_collect("/nonexistent/sys/class/net");
	assert_int_equal(json_object_size(all), 0);
	json_decref(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fake_tree, setup_tree,
		    teardown_tree),
		cmocka_unit_test(test_build_links),
		cmocka_unit_test(test_real_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
