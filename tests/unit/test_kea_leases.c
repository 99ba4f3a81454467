/*
 * test_kea_leases.c — Kea memfile parsing and the lease-carry plan
 * (kea_leases.c), and the file side (kea_carry.c) in a temp dir.  The
 * sample rows are what kea-dhcp4/kea-dhcp6 2.2.0 wrote for lease4-add,
 * lease4-del (a row with valid_lifetime 0) and their v6 equivalents.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kea_carry.h"
#include "kea_leases.h"
#include "kea_resync.h"
#include "xmalloc.h"

#define NOW	1796285600LL
#define H4	"address,hwaddr,client_id,valid_lifetime,expire,subnet_id," \
		"fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
#define H6	"address,duid,valid_lifetime,expire,subnet_id,pref_lifetime," \
		"lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr," \
		"state,user_context,hwtype,hwaddr_source\n"

static void
parse_ok(struct kea_lease_file *f, int family, const char *text)
{
	char *cause = NULL;

	assert_int_equal(kea_leases_parse(f, family, text, strlen(text),
	    "t.leases", &cause), 0);
	assert_null(cause);
}

static void
test_parse_v4(void **state)
{
	struct kea_lease_file f;
	char a[INET_ADDRSTRLEN];

	(void)state;
	memset(&f, 0, sizeof f);
	parse_ok(&f, 4, H4
	    "10.9.1.5,1a:1b:1c:1d:1e:1f,01:02,7200,1796292779,5,0,0,h&#x2cx,0,\n"
	    "10.9.1.6,1a:1b:1c:1d:1e:20,,100,1796285679,5,0,0,,0,\n"
	    "10.9.1.6,1a:1b:1c:1d:1e:20,,0,1796285579,5,0,0,,0,\n");
	assert_int_equal(f.ncols, 11);
	assert_int_equal(f.nrows, 3);
	assert_int_equal(f.nwarnings, 0);
	inet_ntop(AF_INET, f.rows[0].addr, a, sizeof a);
	assert_string_equal(a, "10.9.1.5");
	assert_int_equal(f.rows[0].valid_lft, 7200);
	assert_int_equal(f.rows[0].expire, 1796292779LL);
	assert_int_equal(f.rows[0].subnet_id, 5);
	assert_string_equal(f.rows[0].fields[8], "h&#x2cx");	/* kept escaped */
	assert_int_equal(f.rows[2].valid_lft, 0);
	kea_leases_free(&f);
	assert_int_equal(f.nrows, 0);
}

static void
test_parse_corrupt_rows_skipped(void **state)
{
	struct kea_lease_file f;

	(void)state;
	memset(&f, 0, sizeof f);
	parse_ok(&f, 4, H4
	    "10.9.1.5,aa,,7200,1796292779,5,0,0,,0,\n"		/* line 2 ok */
	    "10.9.1.300,aa,,7200,1796292779,5,0,0,,0,\n"	/* 3 */
	    "10.9.1.7,aa,,7200,17962x,5,0,0,,0,\n"		/* 4 */
	    "10.9.1.8,aa,,7200,1796292779,5\n"			/* 5 */
	    "\n"						/* 6 blank */
	    "10.9.1.9,aa,,-1,1796292779,5,0,0,,0,\n"		/* 7 */
	    "10.9.1.10,aa,,7200,1796292779,5,0,0,,zz,\n"	/* 8 */
	    "10.9.1.11,aa,,7200,1796292779,5,0,0,,0,\n"		/* 9 ok */
	    "10.9.1.12,aa,,7200,17962");			/* 10 cut */
	assert_int_equal(f.nrows, 2);
	assert_int_equal(f.nwarnings, 6);
	assert_string_equal(f.warnings[0], "t.leases line 3: address: not an "
	    "IPv4 address '10.9.1.300'");
	assert_string_equal(f.warnings[1], "t.leases line 4: expire: not a "
	    "number '17962x'");
	assert_string_equal(f.warnings[2], "t.leases line 5: wrong number of "
	    "fields, expected the header's '6'");
	assert_string_equal(f.warnings[3], "t.leases line 7: valid_lifetime: "
	    "not a number '-1'");
	assert_string_equal(f.warnings[4], "t.leases line 8: state: not a "
	    "number 'zz'");
	assert_string_equal(f.warnings[5], "t.leases line 10: incomplete last "
	    "line");
	kea_leases_free(&f);
}

static void
test_parse_bad_header(void **state)
{
	struct kea_lease_file f;
	char *cause = NULL;
	const char *t = "hello,world\n1,2\n";

	(void)state;
	memset(&f, 0, sizeof f);
	assert_int_equal(kea_leases_parse(&f, 4, t, strlen(t), "x.leases",
	    &cause), -1);
	assert_non_null(strstr(cause, "x.leases: not a Kea DHCPv4 lease file"));
	free(cause);
	/* A v6 file given as v4 is refused too (no hwaddr column). */
	assert_int_equal(kea_leases_parse(&f, 4, H6, strlen(H6), "y.leases",
	    &cause), -1);
	free(cause);
	/* Empty text: an empty file. */
	assert_int_equal(kea_leases_parse(&f, 4, "", 0, "z", &cause), 0);
	assert_int_equal(f.nrows, 0);
	kea_leases_free(&f);
}

static void
test_parse_v6(void **state)
{
	struct kea_lease_file f;

	(void)state;
	memset(&f, 0, sizeof f);
	parse_ok(&f, 6, H6
	    "fd00:1::105,01:02:03:04,7200,1796292786,7,7200,0,1234,128,0,0,a,"
	    "1a:1b:1c:1d:1e:1f,0,,1,0\n"
	    "fd00:1:0:100::,01:02,7200,1796292786,7,7200,2,1,56,0,0,,,0,,,\n");
	assert_int_equal(f.nrows, 2);
	assert_int_equal(f.rows[0].type, 0);
	assert_int_equal(f.rows[1].type, 2);
	assert_int_equal(f.rows[0].subnet_id, 7);
	kea_leases_free(&f);
}

static const char CONFIG4[] = "{\"Dhcp4\": {"
    "\"subnet4\": [{\"id\": 9, \"subnet\": \"192.168.5.0/24\"}],"
    "\"shared-networks\": [{\"name\": \"vlan-5001\", \"subnet4\": ["
    "{\"id\": 173539328, \"subnet\": \"10.88.0.0/16\"}]}]}}";

static void
test_config_subnets(void **state)
{
	struct kea_subnet *s = NULL;
	json_t *doc = json_loads(CONFIG4, 0, NULL), *bad;
	uint8_t a[16] = { 0 };
	char *cause = NULL;
	size_t n;

	(void)state;
	assert_int_equal(kea_config_subnets(doc, 4, &s, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].cidr, "192.168.5.0/24");
	assert_int_equal(s[1].id, 173539328);
	inet_pton(AF_INET, "10.88.255.255", a);
	assert_true(kea_subnet_contains(&s[1], 4, a));
	assert_false(kea_subnet_contains(&s[0], 4, a));
	inet_pton(AF_INET, "10.89.0.1", a);
	assert_false(kea_subnet_contains(&s[1], 4, a));
	free(s);
	/* No Dhcp6 key: no subnets. */
	assert_int_equal(kea_config_subnets(doc, 6, &s, &n, &cause), 0);
	assert_int_equal(n, 0);
	free(s);
	json_decref(doc);
	bad = json_loads("{\"Dhcp4\": {\"subnet4\": [{\"id\": 0, \"subnet\": "
	    "\"10.0.0.0/8\"}]}}", 0, NULL);
	assert_int_equal(kea_config_subnets(bad, 4, &s, &n, &cause), -1);
	assert_non_null(strstr(cause, "'10.0.0.0/8' (id 0)"));
	free(cause);
	json_decref(bad);
}

static struct kea_subnet
subnet(const char *cidr, uint32_t id, int family)
{
	struct kea_subnet s;
	json_t *doc;
	struct kea_subnet *v;
	size_t n;
	char *cause = NULL;

	doc = json_pack(family == 4 ? "{s:{s:[{s:s, s:i}]}}" :
	    "{s:{s:[{s:s, s:i}]}}", family == 4 ? "Dhcp4" : "Dhcp6",
	    family == 4 ? "subnet4" : "subnet6", "subnet", cidr, "id", id);
	assert_int_equal(kea_config_subnets(doc, family, &v, &n, &cause), 0);
	assert_int_equal(n, 1);
	s = v[0];
	free(v);
	json_decref(doc);
	return s;
}

static void
test_carry_plan(void **state)
{
	struct kea_lease_file src, tgt;
	const struct kea_lease_file *sp[1] = { &src };
	const char *names[1] = { "standalone" };
	struct kea_subnet sub = subnet("10.88.0.0/16", 42, 4);
	struct kea_carry c;

	(void)state;
	memset(&src, 0, sizeof src);
	memset(&tgt, 0, sizeof tgt);
	parse_ok(&src, 4, H4
	    /* valid, carried, subnet id rewritten */
	    "10.88.1.1,aa:01,,600,1796286000,173539328,0,0,m1,0,\n"
	    /* expired at NOW: not carried */
	    "10.88.1.2,aa:02,,600,1796285600,173539328,0,0,,0,\n"
	    /* released later (valid 0 row): not carried */
	    "10.88.1.3,aa:03,,600,1796286000,173539328,0,0,,0,\n"
	    "10.88.1.3,aa:03,,0,1796285500,173539328,0,0,,0,\n"
	    /* reclaimed: not carried */
	    "10.88.1.4,aa:04,,600,1796286000,173539328,0,0,,2,\n"
	    /* declined: carried (the address is in probation) */
	    "10.88.1.5,,,86400,1796370000,173539328,0,0,,1,\n"
	    /* another subnet: not carried */
	    "10.99.1.1,aa:06,,600,1796286000,174,0,0,,0,\n"
	    /* renewed: the later row is carried, once */
	    "10.88.1.7,aa:07,,600,1796285900,173539328,0,0,,0,\n"
	    "10.88.1.7,aa:07,,600,1796286100,173539328,0,0,,0,\n");
	kea_carry_plan(NULL, sp, names, 1, &sub, 1, NOW, &c);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.text,
	    "10.88.1.1,aa:01,,600,1796286000,42,0,0,m1,0,\n"
	    "10.88.1.5,,,86400,1796370000,42,0,0,,1,\n"
	    "10.88.1.7,aa:07,,600,1796286100,42,0,0,,0,\n");
	assert_int_equal(c.ncounts, 1);
	assert_string_equal(c.counts[0].source, "standalone");
	assert_string_equal(c.counts[0].cidr, "10.88.0.0/16");
	assert_int_equal(c.counts[0].n, 3);
	kea_carry_free(&c);

	/* The target already holds .1 (same row: carried before) and a
	 * newer .5 of its own (renewed there): only .7 goes; carrying again
	 * after that adds nothing. */
	parse_ok(&tgt, 4, H4
	    "10.88.1.1,aa:01,,600,1796286000,42,0,0,m1,0,\n"
	    "10.88.1.5,aa:55,,600,1796370001,42,0,0,,0,\n");
	kea_carry_plan(&tgt, sp, names, 1, &sub, 1, NOW, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.text, "10.88.1.7,aa:07,,600,1796286100,42,0,0,,0,\n");
	kea_carry_free(&c);
	kea_leases_free(&tgt);
	kea_leases_free(&src);
}

static void
test_carry_two_sources_and_columns(void **state)
{
	struct kea_lease_file a, b, tgt;
	const struct kea_lease_file *sp[2] = { &a, &b };
	const char *names[2] = { "failover-vlan-1", "standalone" };
	struct kea_subnet sub = subnet("10.88.0.0/16", 7, 4);
	struct kea_carry c;

	(void)state;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&tgt, 0, sizeof tgt);
	/* a: newer for .1; b: newer for .2, and a release of .3 newer than
	 * a's lease of it. */
	parse_ok(&a, 4, H4
	    "10.88.1.1,aa:01,,600,1796286500,1,0,0,new,0,\n"
	    "10.88.1.2,aa:02,,600,1796286000,1,0,0,old,0,\n"
	    "10.88.1.3,aa:03,,600,1796286000,1,0,0,,0,\n");
	parse_ok(&b, 4, H4
	    "10.88.1.1,aa:01,,600,1796286400,2,0,0,old,0,\n"
	    "10.88.1.2,aa:02,,600,1796286100,2,0,0,new,0,\n"
	    "10.88.1.3,aa:03,,0,1796285800,2,0,0,,0,\n");
	/* The target's header has another column order and lacks
	 * user_context: rows follow it, by name. */
	parse_ok(&tgt, 4, "address,expire,valid_lifetime,subnet_id,hwaddr,"
	    "client_id,fqdn_fwd,fqdn_rev,hostname,state\n");
	kea_carry_plan(&tgt, sp, names, 2, &sub, 1, NOW, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.text,
	    "10.88.1.1,1796286500,600,7,aa:01,,0,0,new,0\n"
	    "10.88.1.2,1796286100,600,7,aa:02,,0,0,new,0\n");
	assert_int_equal(c.ncounts, 2);
	kea_carry_free(&c);
	kea_leases_free(&a);
	kea_leases_free(&b);
	kea_leases_free(&tgt);
}

static void
test_carry_v6(void **state)
{
	struct kea_lease_file src;
	const struct kea_lease_file *sp[1] = { &src };
	const char *names[1] = { "standalone" };
	struct kea_subnet sub = subnet("fd00:1::/64", 3141, 6);
	struct kea_carry c;

	(void)state;
	memset(&src, 0, sizeof src);
	parse_ok(&src, 6, H6
	    "fd00:1::105,01:02:03:04,7200,1796292786,7,7200,0,1234,128,0,0,a,"
	    "1a:1b:1c:1d:1e:1f,0,,1,0\n"
	    "fd00:1::,01:02,7200,1796292786,7,7200,2,1,56,0,0,,,0,,,\n"
	    "fd00:2::1,01:05,7200,1796292786,8,7200,0,1,128,0,0,,,0,,,\n");
	kea_carry_plan(NULL, sp, names, 1, &sub, 1, NOW, &c);
	assert_int_equal(c.n, 1);	/* the PD and the other subnet stay */
	assert_string_equal(c.text, "fd00:1::105,01:02:03:04,7200,1796292786,"
	    "3141,7200,0,1234,128,0,0,a,1a:1b:1c:1d:1e:1f,0,,1,0\n");
	kea_carry_free(&c);
	kea_leases_free(&src);
}

/* --- the file side ------------------------------------------------------ */

static char dir[64];

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static char *
get(const char *name)
{
	char path[256], *buf = xcalloc(1, 65536);
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) == NULL) {
		free(buf);
		return NULL;
	}
	if (fread(buf, 1, 65535, fp) == 0)
		buf[0] = '\0';
	fclose(fp);
	return buf;
}

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_kea_leases.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	(void)state;
	return nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void
test_seed_and_retire(void **state)
{
	json_t *cfg = json_loads("{\"Dhcp4\": {\"shared-networks\": [{"
	    "\"subnet4\": [{\"id\": 173539328, \"subnet\": \"10.88.0.0/16\"}]}]}}",
	    0, NULL);
	struct kea_seed sd;
	char path[256], *cause = NULL, *text, **names = NULL;
	const char *keep[1] = { "failover-vlan-5001" };
	size_t n, i;

	(void)state;
	/* The old instance: an LFC leftover (.2) and its current file
	 * (the later row of .1 wins), one corrupt row, one cut-short one. */
	put("kea4-standalone.leases.2", H4
	    "10.88.1.1,aa:01,,600,1796286000,173539328,0,0,,0,\n");
	put("kea4-standalone.leases", H4
	    "10.88.1.1,aa:01,,600,1796286200,173539328,0,0,,0,\n"
	    "10.88.1.2,aa:02,,600,BAD,173539328,0,0,,0,\n"
	    "10.88.1.3,aa:03,,600,1796286000,173539328,0,0,,0,\n");
	put("kea4-standalone.leases.retired", H4
	    "10.88.1.9,aa:09,,600,1796286000,173539328,0,0,,0,\n");
	put("kea6-standalone.leases", H6);
	snprintf(path, sizeof path, "%s/kea4-failover-vlan-5001.leases", dir);

	/* A dry run writes nothing. */
	assert_int_equal(kea_carry_seed(dir, 4, "failover-vlan-5001", path,
	    NULL, cfg, NOW, KEA_SEED_DRY_RUN, &sd, &cause), 0);
	assert_int_equal(sd.n, 2);
	assert_null(get("kea4-failover-vlan-5001.leases"));
	kea_seed_free(&sd);

	assert_int_equal(kea_carry_seed(dir, 4, "failover-vlan-5001", path,
	    NULL, cfg, NOW, 0, &sd, &cause), 0);
	assert_int_equal(sd.n, 2);
	assert_int_equal(sd.nsubnet_ids, 1);
	assert_int_equal(sd.nlines, 1);
	assert_string_equal(sd.lines[0], "carried 2 leases of 10.88.0.0/16 "
	    "from 'standalone' into 'failover-vlan-5001'");
	assert_int_equal(sd.nwarnings, 1);
	assert_string_equal(sd.warnings[0], "kea4-standalone.leases line 3: "
	    "expire: not a number 'BAD'");
	kea_seed_free(&sd);
	text = get("kea4-failover-vlan-5001.leases");
	assert_string_equal(text, H4
	    "10.88.1.1,aa:01,,600,1796286200,173539328,0,0,,0,\n"
	    "10.88.1.3,aa:03,,600,1796286000,173539328,0,0,,0,\n");
	free(text);

	/* Again: nothing new.  And a subnet the target served before
	 * (old_config has it) is never carried. */
	assert_int_equal(kea_carry_seed(dir, 4, "failover-vlan-5001", path,
	    NULL, cfg, NOW, 0, &sd, &cause), 0);
	assert_int_equal(sd.n, 0);
	kea_seed_free(&sd);
	put("kea4-failover-vlan-5001.leases", H4 "10.88.1.7,aa,,600,179628");
	assert_int_equal(kea_carry_seed(dir, 4, "failover-vlan-5001", path,
	    cfg, cfg, NOW, 0, &sd, &cause), 0);
	assert_int_equal(sd.n, 0);
	assert_int_equal(sd.nsubnet_ids, 0);
	kea_seed_free(&sd);
	/* A cut-short last line of the target is dropped before appending. */
	assert_int_equal(kea_carry_seed(dir, 4, "failover-vlan-5001", path,
	    NULL, cfg, NOW, 0, &sd, &cause), 0);
	assert_int_equal(sd.n, 2);
	kea_seed_free(&sd);
	text = get("kea4-failover-vlan-5001.leases");
	assert_string_equal(text, H4
	    "10.88.1.1,aa:01,,600,1796286200,173539328,0,0,,0,\n"
	    "10.88.1.3,aa:03,,600,1796286000,173539328,0,0,,0,\n");
	free(text);

	/* Retire: the standalone v4 files go to .retired (replacing the old
	 * one); the kept instance and the v6 file stay. */
	n = kea_carry_retire(dir, 4, keep, 1, &names);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_null(get("kea4-standalone.leases"));
	assert_null(get("kea4-standalone.leases.2"));
	text = get("kea4-standalone.leases.retired");
	assert_non_null(strstr(text, "10.88.1.3"));
	free(text);
	assert_non_null(text = get("kea4-standalone.leases.2.retired"));
	free(text);
	assert_non_null(text = get("kea4-failover-vlan-5001.leases"));
	free(text);
	assert_non_null(text = get("kea6-standalone.leases"));
	free(text);
	/* A retired file is never read again. */
	assert_int_equal(kea_carry_seed(dir, 4, "other", path, NULL, cfg, NOW,
	    KEA_SEED_DRY_RUN, &sd, &cause), 0);
	assert_int_equal(sd.n, 0);	/* failover's rows are the target's */
	kea_seed_free(&sd);
	json_decref(cfg);
}

static void
test_seed_unreadable_source_kept(void **state)
{
	json_t *cfg = json_loads("{\"Dhcp4\": {\"subnet4\": [{\"id\": 5, "
	    "\"subnet\": \"10.88.0.0/16\"}]}}", 0, NULL);
	struct kea_seed sd;
	char path[256], *cause = NULL, **names = NULL, *text;
	const char *keep[1] = { "b" };

	(void)state;
	put("kea4-a.leases", "garbage,header\n10.88.1.1,x\n");
	snprintf(path, sizeof path, "%s/kea4-b.leases", dir);
	assert_int_equal(kea_carry_seed(dir, 4, "b", path, NULL, cfg, NOW, 0,
	    &sd, &cause), 0);
	assert_int_equal(sd.n, 0);
	assert_int_equal(sd.nwarnings, 1);
	assert_non_null(strstr(sd.warnings[0], "kea4-a.leases: not a Kea "
	    "DHCPv4 lease file"));
	kea_seed_free(&sd);
	/* Not carried, so not retired. */
	assert_int_equal(kea_carry_retire(dir, 4, keep, 1, &names), 0);
	free(names);
	assert_non_null(text = get("kea4-a.leases"));
	free(text);
	json_decref(cfg);
}

static void
test_loses_subnets(void **state)
{
	json_t *two = json_loads("{\"Dhcp4\": {\"subnet4\": [{\"id\": 1, "
	    "\"subnet\": \"10.88.0.0/16\"}, {\"id\": 2, \"subnet\": "
	    "\"10.99.0.0/16\"}]}}", 0, NULL);
	json_t *one = json_loads("{\"Dhcp4\": {\"subnet4\": [{\"id\": 9, "
	    "\"subnet\": \"10.99.0.0/16\"}]}}", 0, NULL);

	(void)state;
	assert_true(kea_config_loses_subnets(two, one, 4));
	assert_false(kea_config_loses_subnets(one, two, 4));	/* gains */
	assert_false(kea_config_loses_subnets(two, two, 4));
	assert_false(kea_config_loses_subnets(NULL, one, 4));	/* none before */
	assert_true(kea_config_loses_subnets(one, NULL, 4));	/* all go */
	json_decref(two);
	json_decref(one);
}

static void
test_ha_partner(void **state)
{
	json_t *ha = json_loads("{\"Dhcp4\": {\"hooks-libraries\": ["
	    "{\"library\": \"/x/libdhcp_lease_cmds.so\"},"
	    "{\"library\": \"/x/libdhcp_ha.so\", \"parameters\": {"
	    "\"high-availability\": [{\"this-server-name\": \"rack-10.88.0.3\","
	    "\"peers\": [{\"name\": \"rack-10.88.0.2\"}, {\"name\": "
	    "\"rack-10.88.0.3\"}]}]}}]}}", 0, NULL);
	json_t *plain = json_loads("{\"Dhcp4\": {\"hooks-libraries\": ["
	    "{\"library\": \"/x/libdhcp_lease_cmds.so\"}]}}", 0, NULL);

	(void)state;
	assert_string_equal(kea_ha_partner(ha, 4), "rack-10.88.0.2");
	assert_null(kea_ha_partner(ha, 6));
	assert_null(kea_ha_partner(plain, 4));
	/* Without HA there is nothing to resync. */
	assert_null(kea_resync_start(NULL, "x", 4, "/nonexistent", plain,
	    1000, true));
	json_decref(ha);
	json_decref(plain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_corrupt_rows_skipped),
		cmocka_unit_test(test_parse_bad_header),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_config_subnets),
		cmocka_unit_test(test_carry_plan),
		cmocka_unit_test(test_carry_two_sources_and_columns),
		cmocka_unit_test(test_carry_v6),
		cmocka_unit_test(test_loses_subnets),
		cmocka_unit_test(test_ha_partner),
		cmocka_unit_test_setup_teardown(test_seed_and_retire,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_seed_unreadable_source_kept,
		    setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
