/*
 * test_kea_config.c — dhcp_args.c and kea_config.c: AMP arguments to JSON
 * and back, the Kea plan for two racks of one VLAN (fixtures in
 * tests/unit/data/kea), the HA checks, canonical text, validation errors,
 * and, when Kea is installed, kea-dhcp4 -t / kea-dhcp6 -t on every
 * generated config.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "amp.h"
#include "bytes.h"
#include "kea_config.h"
#include "xmalloc.h"

#define DATA_DIR	"tests/unit/data/kea"

static json_t *
load(const char *name)
{
	char path[256];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	if ((j = json_load_file(path, 0, &err)) == NULL)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	return j;
}

static struct kea_paths
test_paths(const char *dir)
{
	struct kea_paths p;

	memset(&p, 0, sizeof(p));
	p.run_dir = dir;
	p.data_dir = dir;
	p.lease_hook = "/bin/true";
	p.hooks_dir = NULL;
	p.max_unacked = -1;	/* the default */
	return p;
}

static struct amp_box *
encode_or_fail(const json_t *j, int family)
{
	struct amp_box *box = amp_box_new();
	char *cause = NULL;

	if (dhcp_args_encode(j, family, box, &cause) == -1)
		fail_msg("encode: %s", cause);
	return box;
}

static void
plan_or_fail(const char *fixture, int family, struct kea_plan *plan)
{
	struct kea_paths p = test_paths("/run/maas");
	json_t *j = load(fixture);
	char *cause = NULL;

	if (kea_plan_build(j, family, &p, plan, &cause) == -1)
		fail_msg("%s: %s", fixture, cause);
	json_decref(j);
}

static const struct kea_instance *
inst(const struct kea_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (strcmp(plan->inst[i].name, name) == 0)
			return &plan->inst[i];
	fail_msg("no instance %s", name);
	return NULL;
}

static json_t *
dhcp(const struct kea_instance *ki)
{
	return json_object_get(ki->config, ki->family == 4 ? "Dhcp4" :
	    "Dhcp6");
}

/* shared-networks[n].subnet4[s] */
static json_t *
subnet(const struct kea_instance *ki, size_t n, size_t s)
{
	json_t *sn = json_array_get(json_object_get(dhcp(ki),
	    "shared-networks"), n);

	return json_array_get(json_object_get(sn, ki->family == 4 ?
	    "subnet4" : "subnet6"), s);
}

static const char *
option(const json_t *sub, const char *name)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(sub, "option-data"), i, o)
		if (strcmp(json_string_value(json_object_get(o, "name")),
		    name) == 0)
			return json_string_value(json_object_get(o, "data"));
	return NULL;
}

static const char *
pool(const json_t *sub, size_t i)
{
	return json_string_value(json_object_get(json_array_get(
	    json_object_get(sub, "pools"), i), "pool"));
}

static json_t *
ha_entry(const json_t *config)
{
	json_t *top = json_object_get(config, "Dhcp4"), *h;
	size_t i;

	json_array_foreach(json_object_get(top, "hooks-libraries"), i, h)
		if (strstr(json_string_value(json_object_get(h, "library")),
		    "libdhcp_ha.so") != NULL)
			return json_array_get(json_object_get(json_object_get(h,
			    "parameters"), "high-availability"), 0);
	return NULL;
}

static int
has_text(char **v, size_t n, const char *needle)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strstr(v[i], needle) != NULL)
			return 1;
	return 0;
}

/* --- arguments ------------------------------------------------------- */

static void
test_roundtrip(void **state)
{
	static const char *const fx[] = { "rack-a-v4.json", "rack-b-v4.json",
	    "rack-a-v6.json", "rack-b-v6.json" };
	struct amp_box *box, **nets, **subs;
	struct amp_value *ips;
	const struct amp_value *v;
	json_t *in, *out;
	char *cause = NULL, *a, *b;
	size_t i, nn, ns, ni;

	for (i = 0; i < RACKD_NELEM(fx); i++) {
		in = load(fx[i]);
		box = encode_or_fail(in, i < 2 ? 4 : 6);
		if (dhcp_args_decode(box, i < 2 ? 4 : 6, &out, &cause) == -1)
			fail_msg("%s: decode: %s", fx[i], cause);
		a = kea_config_canonical(in);
		b = kea_config_canonical(out);
		assert_string_equal(a, b);
		free(a);
		free(b);
		json_decref(out);
		json_decref(in);
		if (i != 0) {
			amp_box_free(box);
			continue;
		}
		/* dns_servers travel as raw 4- and 16-byte addresses. */
		v = amp_box_get(box, "shared_networks");
		assert_int_equal(amp_clist_decode(v->data, v->len, &nets, &nn,
		    NULL), 0);
		v = amp_box_get(nets[0], "subnets");
		assert_int_equal(amp_list_decode(v->data, v->len, &subs, &ns,
		    NULL), 0);
		v = amp_box_get(subs[0], "dns_servers");
		assert_int_equal(amp_listof_decode(v->data, v->len, &ips, &ni,
		    NULL), 0);
		assert_int_equal(ni, 3);
		assert_int_equal(ips[0].len, 4);
		assert_memory_equal(ips[0].data, "\x0a\x00\x05\x02", 4);
		assert_int_equal(ips[2].len, 16);
		free(ips);
		amp_list_free(subs, ns);
		amp_list_free(nets, nn);
		amp_box_free(box);
	}
}

static void
test_optional_absent(void **state)
{
	json_t *in = load("rack-a-v4.json"), *out;
	struct amp_box *box;
	char *cause = NULL;

	/* Optional arguments absent stay absent; required ones may not. */
	json_object_del(in, "global_dhcp_snippets");
	json_object_del(json_array_get(json_object_get(in, "shared_networks"),
	    0), "mtu");
	box = encode_or_fail(in, 4);
	assert_false(amp_box_has(box, "global_dhcp_snippets"));
	assert_int_equal(dhcp_args_decode(box, 4, &out, &cause), 0);
	assert_null(json_object_get(out, "global_dhcp_snippets"));
	assert_true(json_equal(in, out));
	json_decref(out);
	amp_box_free(box);
	json_decref(in);
}

/*
 * Replace (val != NULL) or delete key in the box reached by path, a list
 * of (list key, index) pairs ending in NULL, re-encoding the lists above.
 */
static void
box_mutate(struct amp_box *box, const char *const *path, const char *key,
    const void *val, size_t len)
{
	struct amp_box **items;
	const struct amp_value *v;
	struct bytes b;
	size_t n;
	int compressed;

	if (path[0] == NULL) {
		if (val == NULL)
			amp_box_del(box, key);
		else
			amp_box_put(box, key, val, len);
		return;
	}
	compressed = strcmp(path[0], "shared_networks") == 0 ||
	    strcmp(path[0], "hosts") == 0 ||
	    strcmp(path[0], "global_dhcp_snippets") == 0;
	v = amp_box_get(box, path[0]);
	assert_non_null(v);
	if (compressed)
		assert_int_equal(amp_clist_decode(v->data, v->len, &items, &n,
		    NULL), 0);
	else
		assert_int_equal(amp_list_decode(v->data, v->len, &items, &n,
		    NULL), 0);
	assert_true((size_t)atoi(path[1]) < n);
	box_mutate(items[atoi(path[1])], path + 2, key, val, len);
	bytes_init(&b);
	if (compressed)
		assert_int_equal(amp_clist_encode(items, n, &b, NULL), 0);
	else
		assert_int_equal(amp_list_encode(items, n, &b, NULL), 0);
	amp_box_put(box, path[0], b.data, b.len);
	bytes_free(&b);
	amp_list_free(items, n);
}

static void
test_decode_bad(void **state)
{
#define P(...)	{ __VA_ARGS__, NULL }
	static const struct {
		const char	*path[10];
		const char	*key;
		const char	*val;	/* NULL: delete the key */
		size_t		 len;
		const char	*want;
	} t[] = {
		{ P(NULL), "omapi_key", NULL, 0, "omapi_key: missing" },
		{ P(NULL), "omapi_key", "\xff", 1,
		    "omapi_key: not valid UTF-8 text" },
		{ P(NULL), "failover_peers", "\x00\x05" "ab", 4,
		    "failover_peers: AmpList item 1: truncated" },
		{ P(NULL), "shared_networks", "not zlib", 8,
		    "shared_networks: " },
		{ P(NULL), "hosts", NULL, 0, "hosts: missing" },
		{ P(NULL), "interfaces", NULL, 0, "interfaces: missing" },
		{ P("failover_peers", "0"), "mode", "tertiary", 8,
		    "failover_peers[0]: mode: not 'primary' or 'secondary'" },
		{ P("failover_peers", "1"), "peer_address", "10.0.6", 6,
		    "failover_peers[1]: peer_address: not an IP address" },
		{ P("shared_networks", "0"), "mtu", "abc", 3,
		    "shared_networks[0]: mtu: not an integer" },
		{ P("shared_networks", "0"), "mtu", "10", 2,
		    "shared_networks[0]: mtu: not an MTU" },
		{ P("shared_networks", "2"), "name", NULL, 0,
		    "shared_networks[2]: name: missing" },
		{ P("shared_networks", "0", "subnets", "1", "pools", "0"),
		    "ip_range_low", "10.0.50", 7,
		    "shared_networks[0].subnets[1].pools[0]: ip_range_low: "
		    "not an IPv4 address" },
		{ P("shared_networks", "0", "subnets", "0", "pools", "0"),
		    "ip_range_high", NULL, 0,
		    "shared_networks[0].subnets[0].pools[0]: ip_range_high: "
		    "missing" },
		{ P("shared_networks", "0", "subnets", "0", "pools", "0",
		    "dhcp_snippets", "0"), "value", "\xc3(", 2,
		    "shared_networks[0].subnets[0].pools[0].dhcp_snippets[0]: "
		    "value: not valid UTF-8 text" },
		{ P("shared_networks", "0", "subnets", "0"), "dns_servers",
		    "\x00\x05" "\x01\x02\x03\x04\x05", 7,
		    "shared_networks[0].subnets[0]: dns_servers[0]: IPAddress "
		    "of 5 bytes" },
		{ P("shared_networks", "0", "subnets", "0"), "ntp_servers",
		    "\x00\x09" "abc", 5,
		    "shared_networks[0].subnets[0]: ntp_servers: " },
		{ P("shared_networks", "0", "subnets", "0"), "subnet_cidr",
		    "10.0.5.0/33", 11,
		    "shared_networks[0].subnets[0]: subnet_cidr: bad prefix "
		    "length" },
		{ P("shared_networks", "0", "subnets", "0"), "subnet_cidr",
		    "2001:db8::/64", 13,
		    "shared_networks[0].subnets[0]: subnet_cidr: not an IPv4 "
		    "CIDR" },
		{ P("shared_networks", "0", "subnets", "1"), "subnet_mask",
		    "255.0.255.0", 11,
		    "shared_networks[0].subnets[1]: subnet_mask: not a "
		    "contiguous IPv4 netmask" },
		{ P("shared_networks", "0", "subnets", "0"), "router_ip",
		    "gateway", 7,
		    "shared_networks[0].subnets[0]: router_ip: not an IPv4 "
		    "address" },
		{ P("shared_networks", "0", "subnets", "0"), "domain_name",
		    NULL, 0,
		    "shared_networks[0].subnets[0]: domain_name: missing" },
		{ P("hosts", "1"), "mac", "aa:bb", 5,
		    "hosts[1]: mac: not a MAC address" },
		{ P("hosts", "2"), "ip", "10.0.5.256", 10,
		    "hosts[2]: ip: not an IPv4 address" },
		{ P("hosts", "0", "dhcp_snippets", "0"), "name", NULL, 0,
		    "hosts[0].dhcp_snippets[0]: name: missing" },
		{ P("interfaces", "0"), "name", "", 0,
		    "interfaces[0]: name: empty" },
		{ P("global_dhcp_snippets", "0"), "value", NULL, 0,
		    "global_dhcp_snippets[0]: value: missing" },
	};
#undef P
	json_t *in = load("rack-a-v4.json"), *out;
	struct amp_box *good, *box;
	char *cause;
	size_t i;

	good = encode_or_fail(in, 4);
	for (i = 0; i < RACKD_NELEM(t); i++) {
		box = amp_box_new();
		amp_box_merge(box, good);
		box_mutate(box, t[i].path, t[i].key, t[i].val, t[i].len);
		cause = NULL;
		out = NULL;
		if (dhcp_args_decode(box, 4, &out, &cause) != -1)
			fail_msg("case %zu (%s): decoded", i, t[i].want);
		assert_null(out);
		if (cause == NULL || strncmp(cause, t[i].want,
		    strlen(t[i].want)) != 0)
			fail_msg("case %zu: want '%s', got '%s'", i, t[i].want,
			    cause);
		free(cause);
		amp_box_free(box);
	}

	/* The v4 arguments read as v6 fail at the first v4 address. */
	cause = NULL;
	assert_int_equal(dhcp_args_decode(good, 6, &out, &cause), -1);
	assert_non_null(strstr(cause, "not an IPv6"));
	free(cause);
	amp_box_free(good);
	json_decref(in);
}

static void
test_encode_bad(void **state)
{
	json_t *in = load("rack-a-v4.json"), *p;
	struct amp_box *box = amp_box_new();
	char *cause = NULL;

	p = json_array_get(json_object_get(json_array_get(json_object_get(
	    json_array_get(json_object_get(in, "shared_networks"), 0),
	    "subnets"), 0), "pools"), 0);
	json_object_set_new(p, "ip_range_low", json_integer(5));
	assert_int_equal(dhcp_args_encode(in, 4, box, &cause), -1);
	assert_string_equal(cause, "shared_networks[0].subnets[0].pools[0]: "
	    "ip_range_low: not a string");
	assert_int_equal(box->n, 0);		/* untouched */
	free(cause);
	json_object_set_new(p, "ip_range_low", json_stringn("10.0.5.1\0x",
	    10));
	assert_int_equal(dhcp_args_check(in, 4, &cause), -1);
	free(cause);
	assert_int_equal(dhcp_args_check(in, 5, &cause), -1);
	free(cause);
	amp_box_free(box);
	json_decref(in);
}

/* --- plans ----------------------------------------------------------- */

static void
test_plan_rack_a(void **state)
{
	struct kea_plan plan;
	const struct kea_instance *k5, *k6, *ks;
	json_t *d, *s, *ha, *hooks, *r;
	char want[64];

	plan_or_fail("rack-a-v4.json", 4, &plan);
	assert_int_equal(plan.n, 3);
	/* HA instances in failover_peers order, the standalone last. */
	assert_string_equal(plan.inst[0].name, "failover-vlan-5");
	assert_string_equal(plan.inst[1].name, "failover-vlan-6");
	assert_string_equal(plan.inst[2].name, "standalone");
	k5 = inst(&plan, "failover-vlan-5");
	k6 = inst(&plan, "failover-vlan-6");
	ks = inst(&plan, "standalone");

	assert_true(k5->ha);
	assert_string_equal(k5->role, "primary");
	assert_string_equal(k5->this_address, "10.0.5.2");
	assert_string_equal(k5->peer_address, "10.0.5.3");
	assert_int_equal(k5->n_interfaces, 1);
	assert_string_equal(k5->interfaces[0], "eth0");
	assert_string_equal(k5->socket_path,
	    "/run/maas/kea4-failover-vlan-5.sock");
	assert_string_equal(k5->lease_path,
	    "/run/maas/dhcp/kea4-failover-vlan-5.leases");
	assert_string_equal(k6->role, "standby");
	assert_string_equal(k6->interfaces[0], "eth2");
	assert_false(ks->ha);
	assert_null(ks->role);
	/* vlan-7 on eth1 and relayed vlan-9 with no interface. */
	assert_int_equal(ks->n_interfaces, 1);
	assert_string_equal(ks->interfaces[0], "eth1");

	d = dhcp(k5);
	assert_true(json_is_true(json_object_get(json_object_get(d,
	    "multi-threading"), "enable-multi-threading")));
	assert_int_equal(json_integer_value(json_object_get(d,
	    "valid-lifetime")), 600);
	assert_true(json_is_false(json_object_get(d, "match-client-id")));
	assert_true(json_is_false(json_object_get(d,
	    "ip-reservations-unique")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    d, "control-socket"), "socket-name")), k5->socket_path);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(d, "client-classes"), 0), "name")), "PXE");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(d, "client-classes"), 0), "valid-lifetime")), 30);
	assert_non_null(json_object_get(d, "loggers"));

	/* lease_cmds, ha, run_script in that order. */
	hooks = json_object_get(d, "hooks-libraries");
	assert_int_equal(json_array_size(hooks), 3);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(hooks, 0), "library")), "/libdhcp_lease_cmds.so"));
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(hooks, 1), "library")), "/libdhcp_ha.so"));
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(hooks, 2), "library")), "/libdhcp_run_script.so"));
	assert_true(json_is_false(json_object_get(json_object_get(
	    json_array_get(hooks, 2), "parameters"), "sync")));
	assert_int_equal(json_array_size(json_object_get(dhcp(ks),
	    "hooks-libraries")), 2);

	ha = ha_entry(k5->config);
	assert_string_equal(json_string_value(json_object_get(ha,
	    "this-server-name")), "rack-10.0.5.2");
	assert_string_equal(json_string_value(json_object_get(ha, "mode")),
	    "hot-standby");
	assert_true(json_is_true(json_object_get(ha, "restrict-commands")));
	assert_true(json_is_true(json_object_get(json_object_get(ha,
	    "multi-threading"), "http-dedicated-listener")));
	snprintf(want, sizeof(want), "http://10.0.5.3:%d/",
	    KEA_HA_PORT_DEFAULT);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 1), "url")), want);
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 1), "auto-failover")));
	/* Secondary for vlan-6: this server is the standby, peer first. */
	ha = ha_entry(k6->config);
	assert_string_equal(json_string_value(json_object_get(ha,
	    "this-server-name")), "rack-10.0.6.3");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 0), "name")), "rack-10.0.6.2");

	/* The 10.0.5.0/24 subnet. */
	s = subnet(k5, 0, 0);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(d, "shared-networks"), 0),
	    "interface")), "eth0");
	assert_int_equal(json_integer_value(json_object_get(s, "id")),
	    (10 << 24) | (5 << 8));
	assert_string_equal(json_string_value(json_object_get(s, "subnet")),
	    "10.0.5.0/24");
	assert_string_equal(json_string_value(json_object_get(s,
	    "next-server")), "10.0.5.2");
	assert_string_equal(option(s, "routers"), "10.0.5.1");
	assert_string_equal(option(s, "domain-name-servers"),
	    "10.0.5.2, 10.0.5.3");
	assert_string_equal(option(s, "domain-name"), "maas");
	assert_string_equal(option(s, "domain-search"), "maas, example.com");
	assert_string_equal(option(s, "ntp-servers"), "10.0.5.2");
	assert_string_equal(option(s, "interface-mtu"), "9000");
	assert_string_equal(option(s, "broadcast-address"), "10.0.5.255");
	assert_string_equal(pool(s, 0), "10.0.5.100 - 10.0.5.199");
	/* node1 twice (last wins), the bond's two MACs on one IP. */
	r = json_object_get(s, "reservations");
	assert_int_equal(json_array_size(r), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    r, 0), "hw-address")), "aa:bb:cc:00:00:01");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    r, 0), "ip-address")), "10.0.5.11");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    r, 1), "ip-address")), "10.0.5.20");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    r, 2), "ip-address")), "10.0.5.20");

	/* 10.0.50.0/23: no gateway, no NTP, a pool across the /23. */
	s = subnet(k5, 0, 1);
	assert_null(option(s, "routers"));
	assert_null(option(s, "ntp-servers"));
	assert_null(option(s, "domain-search"));
	assert_null(json_object_get(s, "reservations"));
	assert_string_equal(pool(s, 0), "10.0.50.10 - 10.0.51.200");

	/* Standalone: vlan-7 (mtu 1500: no option) and relayed vlan-9. */
	s = subnet(ks, 0, 0);
	assert_null(option(s, "interface-mtu"));
	assert_string_equal(pool(s, 1), "10.0.7.200 - 10.0.7.210");
	assert_int_equal(json_array_size(json_object_get(s, "reservations")),
	    1);
	assert_null(json_object_get(json_array_get(json_object_get(dhcp(ks),
	    "shared-networks"), 1), "interface"));
	s = subnet(ks, 1, 0);
	assert_string_equal(json_string_value(json_object_get(s, "subnet")),
	    "10.0.9.0/24");
	assert_null(json_object_get(s, "next-server"));	/* no rack_ip() */
	assert_int_equal(json_array_size(json_object_get(s, "reservations")),
	    1);

	/* Every snippet level, and the notes. */
	assert_int_equal(plan.n_skipped, 4);
	assert_string_equal(plan.skipped_snippets[0],
	    "global snippet 'global-opt'");
	assert_true(has_text(plan.skipped_snippets, plan.n_skipped,
	    "subnet 10.0.5.0/24 snippet 'subnet-opt'"));
	assert_true(has_text(plan.skipped_snippets, plan.n_skipped,
	    "subnet 10.0.5.0/24 pool 10.0.5.100 - 10.0.5.199 snippet "
	    "'pool-tweak'"));
	assert_true(has_text(plan.skipped_snippets, plan.n_skipped,
	    "host 'node1-eth0' (aa:bb:cc:00:00:01) snippet 'node1-pxe'"));
	assert_true(has_text(plan.notes, plan.n_notes, "ntp.example.com"));
	assert_true(has_text(plan.notes, plan.n_notes, "2001:db8::53"));
	assert_true(has_text(plan.notes, plan.n_notes, "192.168.99.5"));
	kea_plan_free(&plan);
	kea_plan_free(&plan);			/* idempotent */
}

static void
test_plan_mirror(void **state)
{
	struct kea_plan a, b;
	const struct kea_instance *ka, *kb;
	json_t *ha_a, *ha_b, *sa, *sb;
	size_t i;

	plan_or_fail("rack-a-v4.json", 4, &a);
	plan_or_fail("rack-b-v4.json", 4, &b);
	assert_int_equal(b.n, 1);
	ka = inst(&a, "failover-vlan-5");
	kb = inst(&b, "failover-vlan-5");
	assert_string_equal(kb->role, "standby");
	assert_string_equal(kb->interfaces[0], "ens3");

	/* Same peers, same order; each names itself. */
	ha_a = json_deep_copy(ha_entry(ka->config));
	ha_b = json_deep_copy(ha_entry(kb->config));
	assert_string_equal(json_string_value(json_object_get(ha_b,
	    "this-server-name")), "rack-10.0.5.3");
	json_object_del(ha_a, "this-server-name");
	json_object_del(ha_b, "this-server-name");
	assert_true(json_equal(ha_a, ha_b));
	json_decref(ha_a);
	json_decref(ha_b);

	/* Same subnet ids, pools and reservations on both racks. */
	for (i = 0; i < 2; i++) {
		sa = json_deep_copy(subnet(ka, 0, i));
		sb = json_deep_copy(subnet(kb, 0, i));
		assert_int_equal(json_integer_value(json_object_get(sa, "id")),
		    json_integer_value(json_object_get(sb, "id")));
		json_object_del(sa, "next-server");
		json_object_del(sb, "next-server");
		assert_true(json_equal(sa, sb));
		json_decref(sa);
		json_decref(sb);
	}
	assert_string_equal(json_string_value(json_object_get(subnet(kb, 0, 0),
	    "next-server")), "10.0.5.3");
	kea_plan_free(&a);
	kea_plan_free(&b);
}

/* dhcp.ha_tls: https peers, client certificates required, this rack's
 * certificate in both peer entries (Kea 2.2 takes the listener's from its
 * own entry and the client's from the partner's). */
static void
test_plan_ha_tls(void **state)
{
	struct kea_paths p = test_paths("/var/lib/rackd");
	struct kea_plan plan;
	const struct kea_instance *k5;
	json_t *j = load("rack-a-v4.json"), *ha, *pe;
	char *cause = NULL;
	size_t i;

	p.ha_tls_id = "0123abcd";
	if (kea_plan_build(j, 4, &p, &plan, &cause) == -1)
		fail_msg("%s", cause);
	k5 = inst(&plan, "failover-vlan-5");
	ha = ha_entry(k5->config);
	assert_true(json_is_true(json_object_get(ha, "require-client-certs")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 0), "url")), "https://10.0.5.2:8647/");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 1), "url")), "https://10.0.5.3:8647/");
	json_array_foreach(json_object_get(ha, "peers"), i, pe) {
		assert_string_equal(json_string_value(json_object_get(pe,
		    "trust-anchor")), "/var/lib/rackd/dhcp/tls/0123abcd/ca.pem");
		assert_string_equal(json_string_value(json_object_get(pe,
		    "cert-file")),
		    "/var/lib/rackd/dhcp/tls/0123abcd/rack-10.0.5.2.crt");
		assert_string_equal(json_string_value(json_object_get(pe,
		    "key-file")),
		    "/var/lib/rackd/dhcp/tls/0123abcd/rack-10.0.5.2.key");
		assert_null(json_object_get(pe, "basic-auth-user"));
	}
	assert_int_equal(kea_check_ha(k5->config, &cause), 0);
	/* the standalone instance has no HA and so no TLS */
	assert_null(ha_entry(inst(&plan, "standalone")->config));
	kea_plan_free(&plan);
	/* off: plain http, no TLS keys */
	p.ha_tls_id = NULL;
	if (kea_plan_build(j, 4, &p, &plan, &cause) == -1)
		fail_msg("%s", cause);
	ha = ha_entry(inst(&plan, "failover-vlan-5")->config);
	assert_null(json_object_get(ha, "require-client-certs"));
	assert_null(json_object_get(json_array_get(json_object_get(ha,
	    "peers"), 0), "cert-file"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 0), "url")), "http://10.0.5.2:8647/");
	kea_plan_free(&plan);
	json_decref(j);
}

static json_t *
ha_entry6(const json_t *config)
{
	json_t *top = json_object_get(config, "Dhcp6"), *h;
	size_t i;

	json_array_foreach(json_object_get(top, "hooks-libraries"), i, h)
		if (strstr(json_string_value(json_object_get(h, "library")),
		    "libdhcp_ha.so") != NULL)
			return json_array_get(json_object_get(json_object_get(h,
			    "parameters"), "high-availability"), 0);
	return NULL;
}

/* v6 with a failover peer: Kea HA hot-standby, as v4 (the default). */
static void
test_plan_v6(void **state)
{
	struct kea_plan a, b;
	const struct kea_instance *ka, *kb, *ks;
	json_t *sa, *sb, *r, *ha_a, *ha_b, *hooks;

	plan_or_fail("rack-a-v6.json", 6, &a);
	plan_or_fail("rack-b-v6.json", 6, &b);
	/* vlan-5 (with the peer) in its HA instance, vlan-7 standalone. */
	assert_int_equal(a.n, 2);
	assert_int_equal(b.n, 1);
	ka = inst(&a, "failover-vlan-5");
	ks = inst(&a, "standalone");
	kb = inst(&b, "failover-vlan-5");
	assert_true(ka->ha);
	assert_true(kb->ha);
	assert_false(ks->ha);
	assert_string_equal(ka->role, "primary");
	assert_string_equal(kb->role, "standby");
	assert_string_equal(ka->this_address, "2001:db8:5::2");
	assert_string_equal(ka->peer_address, "2001:db8:5::3");
	assert_int_equal(ka->n_interfaces, 1);
	assert_string_equal(ka->interfaces[0], "eth0");
	assert_string_equal(ks->interfaces[0], "eth1");
	assert_string_equal(ka->socket_path,
	    "/run/maas/kea6-failover-vlan-5.sock");
	assert_string_equal(ka->lease_path,
	    "/run/maas/dhcp/kea6-failover-vlan-5.leases");
	assert_non_null(strstr(ka->mode, "hot-standby, this rack primary"));
	assert_non_null(strstr(ka->mode, "[2001:db8:5::2]:8648"));
	assert_non_null(strstr(kb->mode, "this rack standby"));
	assert_non_null(strstr(ks->mode, "standalone"));
	assert_null(json_object_get(ka->config, "Dhcp4"));
	assert_int_equal(json_integer_value(json_object_get(dhcp(ka),
	    "valid-lifetime")), 1800);
	/* lease_cmds before ha, then the lease hook; core MT on. */
	hooks = json_object_get(dhcp(ka), "hooks-libraries");
	assert_int_equal(json_array_size(hooks), 3);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(hooks, 0), "library")), "/libdhcp_lease_cmds.so"));
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(hooks, 1), "library")), "/libdhcp_ha.so"));
	assert_true(json_is_true(json_object_get(json_object_get(dhcp(ka),
	    "multi-threading"), "enable-multi-threading")));
	assert_int_equal(json_array_size(json_object_get(dhcp(ks),
	    "hooks-libraries")), 2);
	assert_int_equal(kea_check_ha(ka->config, NULL), 0);
	assert_int_equal(kea_check_ha(kb->config, NULL), 0);

	/* The HA entry: v4's timers and roles, v6's own port, brackets. */
	ha_a = ha_entry6(ka->config);
	assert_non_null(ha_a);
	assert_null(ha_entry6(ks->config));
	assert_string_equal(json_string_value(json_object_get(ha_a,
	    "this-server-name")), "rack-2001:db8:5::2");
	assert_string_equal(json_string_value(json_object_get(ha_a, "mode")),
	    "hot-standby");
	assert_int_equal(json_integer_value(json_object_get(ha_a,
	    "heartbeat-delay")), KEA_HEARTBEAT_MS_DEFAULT);
	assert_int_equal(json_integer_value(json_object_get(ha_a,
	    "max-response-delay")), KEA_MAX_RESPONSE_MS_DEFAULT);
	assert_true(json_is_true(json_object_get(ha_a, "restrict-commands")));
	assert_true(json_is_true(json_object_get(json_object_get(ha_a,
	    "multi-threading"), "http-dedicated-listener")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha_a, "peers"), 0), "url")),
	    "http://[2001:db8:5::2]:8648/");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha_a, "peers"), 1), "role")), "standby");
	/* Both racks: the same relationship, each naming itself. */
	ha_a = json_deep_copy(ha_a);
	ha_b = json_deep_copy(ha_entry6(kb->config));
	assert_string_equal(json_string_value(json_object_get(ha_b,
	    "this-server-name")), "rack-2001:db8:5::3");
	json_object_del(ha_a, "this-server-name");
	json_object_del(ha_b, "this-server-name");
	assert_true(json_equal(ha_a, ha_b));
	json_decref(ha_a);
	json_decref(ha_b);

	/* The primary serves every pool whole: no MAAS halving under HA,
	 * and both racks have the same subnet (ids, pools, reservations). */
	sa = subnet(ka, 0, 0);
	sb = subnet(kb, 0, 0);
	assert_true(json_equal(sa, sb));
	assert_true(json_integer_value(json_object_get(sa, "id")) != 0);
	assert_true(json_integer_value(json_object_get(sa, "id")) !=
	    json_integer_value(json_object_get(subnet(ks, 0, 0), "id")));
	assert_string_equal(pool(sa, 0), "2001:db8:5::100 - 2001:db8:5::1ff");
	assert_string_equal(pool(sa, 1), "2001:db8:5::1:1 - 2001:db8:5::1:5");
	assert_string_equal(pool(sa, 2), "2001:db8:5::2:0 - 2001:db8:5::2:ff");
	assert_string_equal(option(sa, "dns-servers"), "2001:db8:5::2");
	assert_string_equal(option(sa, "sntp-servers"), "2001:db8:5::2");
	assert_string_equal(option(sa, "domain-search"), "maas");
	assert_null(option(sa, "routers"));
	r = json_object_get(sa, "reservations");
	assert_int_equal(json_array_size(r), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_array_get(r, 2), "ip-addresses"), 0)), "2001:db8:5::20");
	assert_true(has_text(a.notes, a.n_notes, "10.0.5.2 is IPv4"));
	kea_plan_free(&a);
	kea_plan_free(&b);
}

/* v6 over TLS: the CA and this rack's certificate for its IPv6 address,
 * on the v6 port; ha_port_v6 moves only the v6 listener. */
static void
test_plan_v6_tls_port(void **state)
{
	struct kea_paths p = test_paths("/var/lib/rackd");
	struct kea_plan plan;
	json_t *j = load("rack-b-v6.json"), *ha, *pe;
	char *cause = NULL;
	size_t i;

	p.ha_tls_id = "0123abcd";
	p.ha_port = 9000;
	p.ha_port_v6 = 9006;
	if (kea_plan_build(j, 6, &p, &plan, &cause) == -1)
		fail_msg("%s", cause);
	ha = ha_entry6(inst(&plan, "failover-vlan-5")->config);
	assert_true(json_is_true(json_object_get(ha, "require-client-certs")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 0), "url")),
	    "https://[2001:db8:5::2]:9006/");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(ha, "peers"), 1), "url")),
	    "https://[2001:db8:5::3]:9006/");
	json_array_foreach(json_object_get(ha, "peers"), i, pe) {
		assert_string_equal(json_string_value(json_object_get(pe,
		    "trust-anchor")), "/var/lib/rackd/dhcp/tls/0123abcd/ca.pem");
		assert_string_equal(json_string_value(json_object_get(pe,
		    "cert-file")), "/var/lib/rackd/dhcp/tls/0123abcd/"
		    "rack-2001:db8:5::3.crt");
	}
	assert_int_equal(kea_check_ha(inst(&plan, "failover-vlan-5")->config,
	    &cause), 0);
	kea_plan_free(&plan);
	json_decref(j);
}

/* dhcp.v6_failover: split — MAAS's v6 (spec C.4): no HA, each rack its
 * half of every pool with a peer, one standalone instance. */
static void
test_plan_v6_split(void **state)
{
	struct kea_paths p = test_paths("/run/maas");
	struct kea_plan a, b;
	const struct kea_instance *ka, *kb;
	json_t *ja = load("rack-a-v6.json"), *jb = load("rack-b-v6.json");
	json_t *sa, *sb;
	char *cause = NULL;

	p.v6_split = true;
	if (kea_plan_build(ja, 6, &p, &a, &cause) == -1 ||
	    kea_plan_build(jb, 6, &p, &b, &cause) == -1)
		fail_msg("%s", cause);
	assert_int_equal(a.n, 1);
	ka = &a.inst[0];
	kb = &b.inst[0];
	assert_string_equal(ka->name, "standalone");
	assert_false(ka->ha);
	assert_non_null(strstr(ka->mode, "halved"));
	assert_int_equal(ka->n_interfaces, 2);
	assert_string_equal(ka->socket_path, "/run/maas/kea6-standalone.sock");
	assert_int_equal(json_array_size(json_object_get(dhcp(ka),
	    "hooks-libraries")), 2);
	assert_int_equal(kea_check_ha(ka->config, NULL), 0);
	sa = subnet(ka, 0, 0);
	sb = subnet(kb, 0, 0);
	assert_int_equal(json_integer_value(json_object_get(sa, "id")),
	    json_integer_value(json_object_get(sb, "id")));
	/* C.4 halving: primary low half, secondary high half. */
	assert_string_equal(pool(sa, 0), "2001:db8:5::100 - 2001:db8:5::17f");
	assert_string_equal(pool(sb, 0), "2001:db8:5::180 - 2001:db8:5::1ff");
	assert_string_equal(pool(sa, 1), "2001:db8:5::1:1 - 2001:db8:5::1:2");
	assert_string_equal(pool(sb, 1), "2001:db8:5::1:3 - 2001:db8:5::1:5");
	assert_string_equal(pool(sa, 2), "2001:db8:5::2:0 - 2001:db8:5::2:ff");
	assert_string_equal(pool(sb, 2), "2001:db8:5::2:0 - 2001:db8:5::2:ff");
	kea_plan_free(&a);
	kea_plan_free(&b);
	json_decref(ja);
	json_decref(jb);
}

static void
test_plan_empty(void **state)
{
	json_t *j = load("rack-a-v4.json");
	struct kea_paths p = test_paths("/run/maas");
	struct kea_plan plan;
	json_t *errs;
	char *cause = NULL;

	json_object_set_new(j, "shared_networks", json_array());
	assert_int_equal(kea_plan_build(j, 4, &p, &plan, &cause), 0);
	assert_int_equal(plan.n, 0);
	assert_int_equal(plan.n_skipped, 1);	/* the global snippet */
	assert_int_equal(dhcp_validate_errors(&plan, &errs), 1);
	json_decref(errs);
	kea_plan_free(&plan);
	json_decref(j);
}

/* dhcp.lease_hook: library — rackd's hook library with its two paths
 * replaces run_script, after lease_cmds and ha (v4 and v6 alike). */
static void
test_plan_lease_hook_library(void **state)
{
	json_t *j = load("rack-a-v4.json"), *hooks, *h, *par;
	struct kea_paths p = test_paths("/run/maas");
	struct kea_plan plan;
	char *cause = NULL, *dump;
	size_t i, k;

	p.lease_hook_lib = "/usr/lib/rackd/rackd-lease-hook.so";
	p.lease_spool = "/var/lib/maas/dhcp/lease-hook.spool";
	p.lease_socket = "/run/maas/lease.sock";
	assert_int_equal(kea_plan_build(j, 4, &p, &plan, &cause), 0);
	assert_int_equal(plan.n, 3);
	for (i = 0; i < plan.n; i++) {
		hooks = json_object_get(dhcp(&plan.inst[i]), "hooks-libraries");
		k = json_array_size(hooks);
		assert_int_equal(k, plan.inst[i].ha ? 3 : 2);
		h = json_array_get(hooks, k - 1);
		assert_string_equal(json_string_value(json_object_get(h,
		    "library")), "/usr/lib/rackd/rackd-lease-hook.so");
		par = json_object_get(h, "parameters");
		assert_string_equal(json_string_value(json_object_get(par,
		    "spool")), "/var/lib/maas/dhcp/lease-hook.spool");
		assert_string_equal(json_string_value(json_object_get(par,
		    "socket")), "/run/maas/lease.sock");
		dump = json_dumps(hooks, 0);
		assert_null(strstr(dump, "run_script"));
		free(dump);
		assert_int_equal(kea_check_ha(plan.inst[i].config, &cause), 0);
	}
	kea_plan_free(&plan);
	json_decref(j);
}

/* Apply fn to a fresh copy of rack A's args and expect want. */
static void
plan_fails(void (*fn)(json_t *), const struct kea_paths *pp,
    const char *want)
{
	json_t *j = load("rack-a-v4.json");
	struct kea_paths p = pp ? *pp : test_paths("/run/maas");
	struct kea_plan plan;
	char *cause = NULL;

	if (fn != NULL)
		fn(j);
	if (kea_plan_build(j, 4, &p, &plan, &cause) != -1)
		fail_msg("built; wanted '%s'", want);
	assert_int_equal(plan.n, 0);
	assert_null(plan.inst);
	if (strstr(cause, want) == NULL)
		fail_msg("want '%s', got '%s'", want, cause);
	free(cause);
	json_decref(j);
}

static json_t *
jpath(json_t *j, size_t net, size_t sub, size_t pl)
{
	json_t *s = json_array_get(json_object_get(json_array_get(
	    json_object_get(j, "shared_networks"), net), "subnets"), sub);

	return pl == (size_t)-1 ? s : json_array_get(json_object_get(s,
	    "pools"), pl);
}

static void
m_unknown_peer(json_t *j)
{
	json_object_set_new(jpath(j, 2, 0, 0), "failover_peer",
	    json_string("failover-vlan-77"));
}

static void
m_two_peers(json_t *j)
{
	json_object_set_new(jpath(j, 0, 1, 0), "failover_peer",
	    json_string("failover-vlan-6"));
}

static void
m_iface_clash(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j,
	    "shared_networks"), 1), "interface", json_string("eth0"));
}

static void
m_outside(json_t *j)
{
	json_object_set_new(jpath(j, 0, 0, 0), "ip_range_high",
	    json_string("10.0.6.10"));
}

static void
m_reversed(json_t *j)
{
	json_object_set_new(jpath(j, 2, 0, 1), "ip_range_low",
	    json_string("10.0.7.250"));
}

static void
m_dup_cidr(json_t *j)
{
	json_object_set_new(jpath(j, 3, 0, -1), "subnet_cidr",
	    json_string("10.0.7.0/24"));
	json_object_set_new(jpath(j, 3, 0, 0), "ip_range_low",
	    json_string("10.0.7.160"));
	json_object_set_new(jpath(j, 3, 0, 0), "ip_range_high",
	    json_string("10.0.7.170"));
}

static void
m_bad_name(json_t *j)
{
	json_t *p = json_array_get(json_object_get(j, "failover_peers"), 0);

	json_object_set_new(p, "name", json_string("../etc"));
	json_object_set_new(jpath(j, 0, 0, 0), "failover_peer",
	    json_string("../etc"));
	json_object_set_new(jpath(j, 0, 1, 0), "failover_peer",
	    json_string("../etc"));
}

static void
m_self_peer(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j,
	    "failover_peers"), 1), "peer_address", json_string("10.0.6.3"));
}

static void
m_dup_peer(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j,
	    "failover_peers"), 1), "name", json_string("failover-vlan-5"));
}

static void
m_zero_net(json_t *j)
{
	json_object_set_new(jpath(j, 3, 0, -1), "subnet_cidr",
	    json_string("0.0.0.0/0"));
}

static void
test_plan_errors(void **state)
{
	struct kea_paths p = test_paths("/run/maas/a-very-long-directory-"
	    "name-that-goes-on/and-on-and-on/until-the-socket-path-is-too-"
	    "long");

	plan_fails(m_unknown_peer, NULL, "shared_networks[2].subnets[0]."
	    "pools[0]: failover_peer: 'failover-vlan-77' is not in "
	    "failover_peers");
	plan_fails(m_two_peers, NULL, "shared_networks[0]: pools name two "
	    "failover peers");
	plan_fails(m_iface_clash, NULL, "shared_networks[1]: interface 'eth0'"
	    " is already served by failover-vlan-5");
	plan_fails(m_outside, NULL, "shared_networks[0].subnets[0].pools[0]: "
	    "10.0.5.100 - 10.0.6.10 is outside 10.0.5.0/24");
	plan_fails(m_reversed, NULL, "shared_networks[2].subnets[0].pools[1]: "
	    "ip_range_low is above ip_range_high");
	plan_fails(m_dup_cidr, NULL, "subnet_cidr: 10.0.7.0/24 is also");
	plan_fails(m_bad_name, NULL, "failover_peers[0]: name: '../etc'");
	plan_fails(m_self_peer, NULL, "failover_peers[1]: address and "
	    "peer_address are both 10.0.6.3");
	plan_fails(m_dup_peer, NULL, "failover_peers[1]: name: "
	    "'failover-vlan-5' appears twice");
	plan_fails(m_zero_net, NULL, "gives no usable subnet id");
	plan_fails(NULL, &p, "over the 107 a UNIX socket allows");
	p.run_dir = NULL;
	plan_fails(NULL, &p, "run_dir");
}

/* A peer-less network on an HA instance's interface joins it (D.3). */
static void
m_relay_on_eth0(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j,
	    "shared_networks"), 3), "interface", json_string("eth0"));
}

static void
test_plan_relay_joins_ha(void **state)
{
	json_t *j = load("rack-a-v4.json");
	struct kea_paths p = test_paths("/run/maas");
	struct kea_plan plan;
	const struct kea_instance *k5, *ks;
	char *cause = NULL;

	m_relay_on_eth0(j);
	assert_int_equal(kea_plan_build(j, 4, &p, &plan, &cause), 0);
	k5 = inst(&plan, "failover-vlan-5");
	ks = inst(&plan, "standalone");
	assert_int_equal(json_array_size(json_object_get(dhcp(k5),
	    "shared-networks")), 2);
	assert_int_equal(json_array_size(json_object_get(dhcp(ks),
	    "shared-networks")), 1);
	assert_int_equal(k5->n_interfaces, 1);
	assert_true(has_text(plan.notes, plan.n_notes, "vlan-9"));
	kea_plan_free(&plan);
	json_decref(j);
}

static int
fake_rack_ip(void *arg, int family, const char *cidr, const char *ifname,
    char *buf, size_t len)
{
	if (strcmp(cidr, "10.0.9.0/24") == 0) {
		snprintf(buf, len, "10.0.7.2");	/* relayed: eth1's address */
		return 0;
	}
	return -1;
}

static void
test_plan_rack_ip(void **state)
{
	json_t *j = load("rack-a-v4.json");
	struct kea_paths p = test_paths("/run/maas");
	struct kea_plan plan;
	const struct kea_instance *ks;
	char *cause = NULL;

	p.rack_ip = fake_rack_ip;
	assert_int_equal(kea_plan_build(j, 4, &p, &plan, &cause), 0);
	ks = inst(&plan, "standalone");
	assert_string_equal(json_string_value(json_object_get(subnet(ks, 1, 0),
	    "next-server")), "10.0.7.2");
	assert_null(json_object_get(subnet(ks, 0, 0), "next-server"));
	kea_plan_free(&plan);

	p.rack_ip = NULL;
	p.next_server = "10.0.7.2";
	p.ha_port = 9647;
	assert_int_equal(kea_plan_build(j, 4, &p, &plan, &cause), 0);
	ks = inst(&plan, "standalone");
	assert_string_equal(json_string_value(json_object_get(subnet(ks, 0, 0),
	    "next-server")), "10.0.7.2");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(json_object_get(ha_entry(plan.inst[0].config),
	    "peers"), 0), "url")), ":9647/"));
	kea_plan_free(&plan);
	json_decref(j);
}


/* --- goldens ---------------------------------------------------------- */

/*
 * Every config a plan produces, compared byte for byte with
 * tests/unit/data/kea/golden/<case>-<instance>.json (sorted keys, indent
 * 1).  RACKD_GOLDEN_UPDATE=1 rewrites the files instead; review the diff.
 * The v4 files were written before DHCPv6 HA existed and must not change.
 */
struct golden_case {
	const char	*name;
	const char	*fixture;
	int		 family;
	const char	*tls_id;	/* NULL: ha_tls off */
	int		 v6_split;	/* dhcp.v6_failover: split */
};

static void
golden_check(const struct golden_case *gc)
{
	struct kea_paths p = test_paths("/var/lib/rackd");
	struct kea_plan plan;
	json_t *j = load(gc->fixture);
	char *cause = NULL, *text, *want, path[512];
	size_t i;
	int bad = 0;
	FILE *f;
	long len;

	p.run_dir = "/run/rackd";
	p.lease_hook_lib = "/usr/lib/rackd/rackd-lease-hook.so";
	p.lease_spool = "/var/lib/rackd/dhcp/lease-hook.spool";
	p.lease_socket = "/run/rackd/lease.sock";
	p.ha_tls_id = gc->tls_id;
	p.v6_split = gc->v6_split != 0;
	if (kea_plan_build(j, gc->family, &p, &plan, &cause) == -1)
		fail_msg("%s: %s", gc->name, cause);
	for (i = 0; i < plan.n; i++) {
		snprintf(path, sizeof(path), "%s/golden/%s-%s.json", DATA_DIR,
		    gc->name, plan.inst[i].name);
		text = json_dumps(plan.inst[i].config, JSON_INDENT(1) |
		    JSON_SORT_KEYS);
		if (getenv("RACKD_GOLDEN_UPDATE") != NULL) {
			if ((f = fopen(path, "w")) == NULL)
				fail_msg("%s: cannot write", path);
			fprintf(f, "%s\n", text);
			fclose(f);
			free(text);
			continue;
		}
		if ((f = fopen(path, "r")) == NULL)
			fail_msg("%s: missing (RACKD_GOLDEN_UPDATE=1 writes it)",
			    path);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		want = xcalloc((size_t)len + 1, 1);
		if (fread(want, 1, (size_t)len, f) != (size_t)len)
			fail_msg("%s: short read", path);
		fclose(f);
		if (len < 1 || want[len - 1] != '\n' ||
		    strlen(text) != (size_t)len - 1 ||
		    memcmp(text, want, (size_t)len - 1) != 0) {
			print_message("%s differs from the generated config:\n"
			    "%s\n", path, text);
			bad = 1;
		}
		free(want);
		free(text);
	}
	kea_plan_free(&plan);
	json_decref(j);
	if (bad)
		fail_msg("%s: generated config differs from its golden file",
		    gc->name);
}

static void
test_goldens(void **state)
{
	static const struct golden_case cases[] = {
		{ "rack-a-v4", "rack-a-v4.json", 4, NULL, 0 },
		{ "rack-b-v4", "rack-b-v4.json", 4, NULL, 0 },
		{ "rack-a-v4-tls", "rack-a-v4.json", 4, "0123abcd", 0 },
		{ "rack-b-v4-tls", "rack-b-v4.json", 4, "0123abcd", 0 },
		/* MAAS's v6 (dhcp.v6_failover: split), as before v6 HA. */
		{ "rack-a-v6-split", "rack-a-v6.json", 6, "0123abcd", 1 },
		{ "rack-b-v6-split", "rack-b-v6.json", 6, "0123abcd", 1 },
		/* v6 hot-standby, plain and over TLS. */
		{ "rack-a-v6", "rack-a-v6.json", 6, NULL, 0 },
		{ "rack-b-v6", "rack-b-v6.json", 6, NULL, 0 },
		{ "rack-a-v6-tls", "rack-a-v6.json", 6, "0123abcd", 0 },
		{ "rack-b-v6-tls", "rack-b-v6.json", 6, "0123abcd", 0 },
	};
	size_t i;

	for (i = 0; i < RACKD_NELEM(cases); i++)
		golden_check(&cases[i]);
}

/* --- HA checks ------------------------------------------------------- */

static json_t *
hooks_of(json_t *c)
{
	return json_object_get(json_object_get(c, "Dhcp4"), "hooks-libraries");
}

static void
b_two_entries(json_t *c)
{
	json_t *hal = json_object_get(json_object_get(json_array_get(
	    hooks_of(c), 1), "parameters"), "high-availability");

	json_array_append_new(hal, json_deep_copy(json_array_get(hal, 0)));
}

static void
b_zero_entries(json_t *c)
{
	json_array_clear(json_object_get(json_object_get(json_array_get(
	    hooks_of(c), 1), "parameters"), "high-availability"));
}

static void
b_name(json_t *c)
{
	json_object_set_new(ha_entry(c), "this-server-name",
	    json_string("rack-10.0.5.99"));
}

static void
b_roles(json_t *c)
{
	json_object_set_new(json_array_get(json_object_get(ha_entry(c),
	    "peers"), 1), "role", json_string("primary"));
}

static void
b_role_lb(json_t *c)
{
	json_object_set_new(ha_entry(c), "mode", json_string("load-balancing"));
}

static void
b_mode(json_t *c)
{
	json_object_set_new(ha_entry(c), "mode", json_string("hot-standbye"));
}

static void
b_url_host(json_t *c)
{
	json_object_set_new(json_array_get(json_object_get(ha_entry(c),
	    "peers"), 1), "url", json_string("http://rack2.maas:8647/"));
}

static void
b_url_port(json_t *c)
{
	json_object_set_new(json_array_get(json_object_get(ha_entry(c),
	    "peers"), 1), "url", json_string("http://10.0.5.3/"));
}

static void
b_url_v6(json_t *c)
{
	json_object_set_new(json_array_get(json_object_get(ha_entry(c),
	    "peers"), 1), "url", json_string("http://2001:db8::3:8647/"));
}

static void
b_core_mt(json_t *c)
{
	json_object_set_new(json_object_get(json_object_get(c, "Dhcp4"),
	    "multi-threading"), "enable-multi-threading", json_false());
}

static void
b_ha_mt(json_t *c)
{
	json_object_set_new(json_object_get(ha_entry(c), "multi-threading"),
	    "enable-multi-threading", json_false());
}

static void
b_order(json_t *c)
{
	json_t *h = hooks_of(c), *lc = json_incref(json_array_get(h, 0));

	json_array_remove(h, 0);
	json_array_append_new(h, lc);
}

static void
b_no_lease_cmds(json_t *c)
{
	json_array_remove(hooks_of(c), 0);
}

static void
b_twice(json_t *c)
{
	json_array_append_new(hooks_of(c), json_deep_copy(json_array_get(
	    hooks_of(c), 1)));
}

static void
b_dup_peer(json_t *c)
{
	json_object_set_new(json_array_get(json_object_get(ha_entry(c),
	    "peers"), 1), "url", json_string("http://10.0.5.2:8647/"));
}

static void
test_check_ha(void **state)
{
	static const struct {
		void		(*fn)(json_t *);
		const char	*want;
	} t[] = {
		{ b_two_entries, "2 entries" },
		{ b_zero_entries, "0 entries" },
		{ b_name, "'rack-10.0.5.99' is not among the peers" },
		{ b_roles, "roles (2 primary, 0 standby" },
		{ b_role_lb, "do not fit mode load-balancing" },
		{ b_mode, "mode 'hot-standbye'" },
		{ b_url_host, "url 'http://rack2.maas:8647/'" },
		{ b_url_port, "url 'http://10.0.5.3/'" },
		{ b_url_v6, "is not http://<IP literal>:<port>/" },
		{ b_core_mt, "needs core multi-threading" },
		{ b_ha_mt, "needs the HA enable-multi-threading" },
		{ b_order, "must be loaded before" },
		{ b_no_lease_cmds, "must be loaded before" },
		{ b_twice, "loaded 2 times" },
		{ b_dup_peer, "same name or url" },
	};
	struct kea_plan plan;
	json_t *c, *v6;
	char *cause;
	size_t i;

	plan_or_fail("rack-a-v4.json", 4, &plan);
	assert_int_equal(kea_check_ha(plan.inst[0].config, NULL), 0);
	assert_int_equal(kea_check_ha(plan.inst[2].config, NULL), 0);
	for (i = 0; i < RACKD_NELEM(t); i++) {
		c = json_deep_copy(plan.inst[0].config);
		t[i].fn(c);
		cause = NULL;
		if (kea_check_ha(c, &cause) != -1)
			fail_msg("case %zu (%s): passed", i, t[i].want);
		if (strstr(cause, t[i].want) == NULL)
			fail_msg("case %zu: want '%s', got '%s'", i, t[i].want,
			    cause);
		free(cause);
		json_decref(c);
	}
	/* Bracketed IPv6 peers are fine. */
	c = json_deep_copy(plan.inst[0].config);
	json_object_set_new(json_array_get(json_object_get(ha_entry(c),
	    "peers"), 1), "url", json_string("http://[2001:db8::3]:8647/"));
	assert_int_equal(kea_check_ha(c, NULL), 0);
	json_decref(c);
	v6 = json_pack("{s:{}}", "Dhcp5");
	cause = NULL;
	assert_int_equal(kea_check_ha(v6, &cause), -1);
	free(cause);
	json_decref(v6);
	kea_plan_free(&plan);
}

/* --- canonical text and validation ----------------------------------- */

static void
test_canonical(void **state)
{
	json_t *a, *b, *c;
	char *ta, *tb, *tc;
	struct kea_plan p1, p2;

	a = json_loads("{\"Dhcp4\":{\"b\":[1,{\"y\":2,\"x\":1}],\"a\":\"s\"}}",
	    0, NULL);
	b = json_loads("{ \"Dhcp4\" : { \"a\" : \"s\",\n \"b\" : [1, {\"x\":1, "
	    "\"y\":2}] } }", 0, NULL);
	c = json_loads("{\"Dhcp4\":{\"a\":\"s\",\"b\":[{\"x\":1,\"y\":2},1]}}",
	    0, NULL);
	ta = kea_config_canonical(a);
	tb = kea_config_canonical(b);
	tc = kea_config_canonical(c);
	assert_string_equal(ta, "{\"Dhcp4\":{\"a\":\"s\",\"b\":[1,{\"x\":1,"
	    "\"y\":2}]}}");
	assert_string_equal(ta, tb);
	assert_string_not_equal(ta, tc);	/* list order matters */
	free(ta);
	free(tb);
	free(tc);
	json_decref(a);
	json_decref(b);
	json_decref(c);

	/* Two builds of the same arguments are byte-identical. */
	plan_or_fail("rack-a-v4.json", 4, &p1);
	plan_or_fail("rack-a-v4.json", 4, &p2);
	ta = kea_config_canonical(p1.inst[0].config);
	tb = kea_config_canonical(p2.inst[0].config);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	kea_plan_free(&p1);
	kea_plan_free(&p2);
}

static void
test_validate_errors(void **state)
{
	struct kea_plan plan;
	struct amp_box *box, **items;
	const struct amp_value *v;
	json_t *errs, *e;
	long long ln;
	char *s;
	size_t n;

	plan_or_fail("rack-a-v4.json", 4, &plan);
	assert_int_equal(dhcp_validate_errors(&plan, &errs), 4);
	e = json_array_get(errs, 0);
	assert_non_null(strstr(json_string_value(json_object_get(e, "error")),
	    "global snippet 'global-opt'"));
	assert_string_equal(json_string_value(json_object_get(e, "line")),
	    "option domain-search \"example.org\";");
	assert_int_equal(json_integer_value(json_object_get(e, "line_num")),
	    1);
	/* The pool snippet's first line is its first non-blank one. */
	assert_true(has_text(plan.skipped_lines, plan.n_skipped,
	    "allow unknown-clients;"));

	box = amp_box_new();
	assert_int_equal(dhcp_validate_errors_encode(errs, box, NULL), 0);
	v = amp_box_get(box, "errors");
	assert_non_null(v);
	assert_int_equal(amp_clist_decode(v->data, v->len, &items, &n, NULL),
	    0);
	assert_int_equal(n, 4);
	assert_int_equal(amp_box_get_int(items[3], "line_num", &ln, NULL), 0);
	assert_int_equal(ln, 4);
	assert_int_equal(amp_box_get_str(items[0], "position", &s, NULL), 0);
	assert_string_equal(s, "^");
	free(s);
	amp_list_free(items, n);
	amp_box_free(box);
	json_decref(errs);

	/* Nothing skipped: no "errors" argument at all. */
	errs = json_array();
	box = amp_box_new();
	assert_int_equal(dhcp_validate_errors_encode(errs, box, NULL), 0);
	assert_false(amp_box_has(box, "errors"));
	amp_box_free(box);
	json_decref(errs);
	kea_plan_free(&plan);
}

/* --- kea -t ---------------------------------------------------------- */

static int
run_kea_test(const char *bin, const char *dir, const char *file)
{
	char log[512];
	pid_t pid;
	int status, fd;

	snprintf(log, sizeof(log), "%s/kea-t.log", dir);
	if ((pid = fork()) == -1)
		fail_msg("fork");
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("KEA_PIDFILE_DIR", dir, 1);
		setenv("KEA_LOCKFILE_DIR", dir, 1);
		execl(bin, bin, "-t", file, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		fail_msg("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		FILE *f = fopen(log, "r");
		char line[512];

		print_message("%s -t %s failed:\n", bin, file);
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			print_message("  %s", line);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	return 0;
}

/*
 * kea -t insists that every interface exists, and the fixtures' eth1, ens3
 * do not here: point them all at one real non-loopback interface.
 */
static void
retarget_ifaces(json_t *config, const char *ifn)
{
	json_t *d = json_object_get(config, "Dhcp4"), *sn;
	size_t i;

	if (d == NULL)
		d = json_object_get(config, "Dhcp6");
	json_object_set_new(json_object_get(d, "interfaces-config"),
	    "interfaces", json_pack("[s]", ifn));
	json_array_foreach(json_object_get(d, "shared-networks"), i, sn)
		if (json_object_get(sn, "interface") != NULL)
			json_object_set_new(sn, "interface", json_string(ifn));
}

static int
real_iface(char *buf, size_t len)
{
	struct if_nameindex *ifs, *p;
	int found = 0;

	if ((ifs = if_nameindex()) == NULL)
		return 0;
	for (p = ifs; p->if_index != 0; p++)
		if (strcmp(p->if_name, "lo") != 0) {
			snprintf(buf, len, "%s", p->if_name);
			found = 1;
			break;
		}
	if_freenameindex(ifs);
	return found;
}

static void
kea_t_fixture_with(const char *fixture, int family, const char *dir,
    const char *ifn, const char *tls_id, bool v6_split)
{
	const char *bin = family == 4 ? "/usr/sbin/kea-dhcp4" :
	    "/usr/sbin/kea-dhcp6";
	json_t *j = load(fixture);
	struct kea_paths p = test_paths(dir);
	struct kea_plan plan;
	char *cause = NULL, file[512], ddir[512];
	size_t i;
	int bad = 0;

	p.ha_tls_id = tls_id;
	p.v6_split = v6_split;
	snprintf(ddir, sizeof(ddir), "%s/dhcp", dir);
	mkdir(ddir, 0700);
	if (kea_plan_build(j, family, &p, &plan, &cause) == -1)
		fail_msg("%s: %s", fixture, cause);
	for (i = 0; i < plan.n; i++) {
		snprintf(file, sizeof(file), "%s/%s-%s%s%s.json", dir, fixture,
		    plan.inst[i].name, tls_id != NULL ? "-tls" : "",
		    v6_split ? "-split" : "");
		retarget_ifaces(plan.inst[i].config, ifn);
		assert_int_equal(json_dump_file(plan.inst[i].config, file,
		    JSON_INDENT(1) | JSON_SORT_KEYS), 0);
		if (run_kea_test(bin, dir, file) == -1)
			bad = 1;
	}
	kea_plan_free(&plan);
	json_decref(j);
	if (bad)
		fail_msg("%s: kea -t rejected a generated config", fixture);
}

static void
kea_t_fixture(const char *fixture, int family, const char *dir,
    const char *ifn)
{
	kea_t_fixture_with(fixture, family, dir, ifn, NULL, false);
}

static void
rm_tree(const char *dir)
{
	char cmd[600];

	/* Our own mkdtemp directory, nothing else. */
	if (strncmp(dir, "/tmp/kea-h3-", 12) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			print_message("could not remove %s\n", dir);
	}
}

static void
test_kea_dash_t(void **state)
{
	char dir[] = "/tmp/kea-h3-XXXXXX";
	int have4 = access("/usr/sbin/kea-dhcp4", X_OK) == 0;
	int have6 = access("/usr/sbin/kea-dhcp6", X_OK) == 0;
	char ifn[IF_NAMESIZE + 1];

	if (!have4 && !have6) {
		print_message("kea-dhcp4/6 not installed: skipping -t\n");
		skip();
	}
	if (!real_iface(ifn, sizeof(ifn))) {
		print_message("no non-loopback interface: skipping -t\n");
		skip();
	}
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp");
	if (have4) {
		kea_t_fixture("rack-a-v4.json", 4, dir, ifn);
		kea_t_fixture("rack-b-v4.json", 4, dir, ifn);
	} else
		print_message("kea-dhcp4 not installed: skipping v4 -t\n");
	if (have6) {
		/* hot-standby (plain, TLS) and MAAS's split */
		kea_t_fixture("rack-a-v6.json", 6, dir, ifn);
		kea_t_fixture("rack-b-v6.json", 6, dir, ifn);
		kea_t_fixture_with("rack-a-v6.json", 6, dir, ifn, "0123abcd",
		    false);
		kea_t_fixture_with("rack-b-v6.json", 6, dir, ifn, "0123abcd",
		    false);
		kea_t_fixture_with("rack-a-v6.json", 6, dir, ifn, NULL, true);
	} else
		print_message("kea-dhcp6 not installed: skipping v6 -t\n");
	rm_tree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_optional_absent),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test(test_encode_bad),
		cmocka_unit_test(test_plan_rack_a),
		cmocka_unit_test(test_plan_mirror),
		cmocka_unit_test(test_plan_ha_tls),
		cmocka_unit_test(test_plan_v6),
		cmocka_unit_test(test_plan_v6_tls_port),
		cmocka_unit_test(test_plan_v6_split),
		cmocka_unit_test(test_plan_empty),
		cmocka_unit_test(test_plan_lease_hook_library),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_plan_relay_joins_ha),
		cmocka_unit_test(test_plan_rack_ip),
		cmocka_unit_test(test_check_ha),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_validate_errors),
		cmocka_unit_test(test_goldens),
		cmocka_unit_test(test_kea_dash_t),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
