/*
 * test_ipmi.c — ipmi.c: MAAS parameters to ipmitool argv, ARP lookup,
 * and classification of real ipmitool 1.8.19 runs against ipmi_sim
 * (tests/unit/data/ipmi, see its README).  Needs neither root nor
 * ipmi_sim: it only reads the corpus.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipmi.h"
#include "rackd.h"
#include "xmalloc.h"

#define CORPUS_DIR	"tests/unit/data/ipmi"
#define PW		"S3cr3t!pw"
#define KG		"K3yK3y"

/* --- helpers ----------------------------------------------------------- */

static json_t *
ctx(const char *js)
{
	json_error_t	 e;
	json_t		*j = json_loads(js, 0, &e);

	if (j == NULL)
		fail_msg("bad test JSON %s: %s", js, e.text);
	return j;
}

static int
params(const char *js, struct ipmi_params *p, char **cause)
{
	json_t	*j = ctx(js);
	int	 r;

	*cause = NULL;
	r = ipmi_params_from_json(j, p, cause);
	json_decref(j);
	return r;
}

/* argv joined by spaces, argv[0] included. */
static char *
joined(char **v)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; v[i] != NULL; i++) {
		xasprintf(&t, "%s%s%s", s, i ? " " : "", v[i]);
		free(s);
		s = t;
	}
	return s;
}

static char *
argv_for(const char *js, enum ipmi_op op, const struct ipmi_timing *t)
{
	struct ipmi_params	 p;
	char			*cause, **v, *s;

	if (params(js, &p, &cause) == -1)
		fail_msg("%s: %s", js, cause);
	v = ipmi_argv("ipmitool", &p, op, 3, t);
	s = joined(v);
	ipmi_argv_free(v);
	ipmi_params_clear(&p);
	return s;
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: cannot open (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc(n + 1);
	if (n > 0 && fread(buf, 1, n, f) != (size_t)n)
		fail_msg("%s: short read", path);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* --- parameters -------------------------------------------------------- */

/* Queries share a run only when they would open the same session. */
static void
test_same_session(void **state)
{
	static const char *base = "{\"power_address\": \"10.0.0.1\", "
	    "\"power_user\": \"admin\", \"power_pass\": \"pw\", \"k_g\": "
	    "\"0x4b47\", \"cipher_suite_id\": \"3\"";
	static const struct {
		const char	*extra;
		bool		 same;
	} cases[] = {
		{ "", true },
		/* node-side keys do not change the session */
		{ ", \"power_boot_type\": \"efi\"", true },
		{ ", \"power_off_mode\": \"soft\"", true },
		{ ", \"mac_address\": \"00:11:22:33:44:55\"", true },
		{ ", \"system_id\": \"other\"", true },
		/* session keys do (later keys override the base's) */
		{ ", \"power_pass\": \"other\"", false },
		{ ", \"power_user\": \"root\"", false },
		{ ", \"k_g\": \"0x4b48\"", false },
		{ ", \"k_g\": null", false },
		{ ", \"power_address\": \"10.0.0.1:624\"", false },
		{ ", \"power_driver\": \"LAN\"", false },
		{ ", \"cipher_suite_id\": \"17\"", false },
		{ ", \"privilege_level\": \"ADMIN\"", false },
		{ ", \"workaround_flags\": [\"intel20\"]", false },
	};
	struct ipmi_params a, b;
	char *cause, *js;
	size_t i;

	xasprintf(&js, "%s}", base);
	assert_int_equal(params(js, &a, &cause), 0);
	free(js);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xasprintf(&js, "%s%s}", base, cases[i].extra);
		assert_int_equal(params(js, &b, &cause), 0);
		if (ipmi_params_same_session(&a, &b) != cases[i].same)
			fail_msg("case '%s': same_session should be %d",
			    cases[i].extra, cases[i].same);
		assert_true(ipmi_params_same_session(&b, &a) == cases[i].same);
		ipmi_params_clear(&b);
		free(js);
	}
	ipmi_params_clear(&a);
}

static void
test_params_defaults(void **state)
{
	struct ipmi_params	 p;
	char			*cause;

	assert_int_equal(params("{\"power_address\": \"10.0.0.5\"}", &p,
	    &cause), 0);
	assert_string_equal(p.address, "10.0.0.5");
	assert_int_equal(p.port, 623);
	assert_null(p.user);
	assert_string_equal(p.pass, "");
	assert_null(p.k_g);
	assert_int_equal(p.iface, IPMI_LANPLUS);
	assert_int_equal(p.cipher, 3);
	assert_string_equal(p.privilege, "OPERATOR");
	assert_int_equal(p.boot_type, IPMI_BOOT_AUTO);
	assert_false(p.soft_off);
	assert_null(p.mac_address);
	assert_null(p.oem);
	ipmi_params_clear(&p);
	assert_null(p.address);

	/* What the region really sends: defaults as "" and unknown keys. */
	assert_int_equal(params("{\"system_id\": \"abc\", \"power_address\": "
	    "\"10.0.0.5\", \"power_user\": \"  \", \"power_pass\": \"\", "
	    "\"power_driver\": \"\", \"power_off_mode\": \"\", \"k_g\": \" \", "
	    "\"cipher_suite_id\": \"\", \"privilege_level\": null, "
	    "\"power_boot_type\": \"\", \"workaround_flags\": [\"\"], "
	    "\"boot_mode\": \"pxe\", \"power_id\": \"abc\", \"username\": \"\", "
	    "\"mac_address\": \"52:54:00:AA:bb:01\"}", &p, &cause), 0);
	assert_null(p.user);
	assert_null(p.k_g);
	assert_int_equal(p.iface, IPMI_LANPLUS);
	assert_int_equal(p.cipher, 3);
	assert_string_equal(p.privilege, "OPERATOR");
	assert_string_equal(p.mac_address, "52:54:00:AA:bb:01");
	assert_string_equal(p.address, "10.0.0.5");
	ipmi_params_clear(&p);
}

static void
test_params_values(void **state)
{
	struct ipmi_params	 p;
	char			*cause;

	assert_int_equal(params("{\"power_address\": \" bmc.example:6230 \", "
	    "\"power_user\": \" root \", \"power_pass\": \"  \", "
	    "\"k_g\": \"" KG "\", \"power_driver\": \"LAN\", "
	    "\"cipher_suite_id\": 17, \"privilege_level\": \"ADMIN\", "
	    "\"power_boot_type\": \"efi\", \"power_off_mode\": \"soft\", "
	    "\"workaround_flags\": \"opensesspriv,supermicro20\"}", &p,
	    &cause), 0);
	assert_string_equal(p.address, "bmc.example");
	assert_int_equal(p.port, 6230);
	assert_string_equal(p.user, " root ");	/* verbatim, like MAAS */
	assert_string_equal(p.pass, "  ");	/* MAAS always sends -p */
	assert_string_equal(p.k_g, KG);
	assert_int_equal(p.iface, IPMI_LAN);
	assert_int_equal(p.cipher, 17);
	assert_string_equal(p.privilege, "ADMINISTRATOR");
	assert_int_equal(p.boot_type, IPMI_BOOT_EFI);
	assert_true(p.soft_off);
	assert_string_equal(p.oem, "supermicro");
	ipmi_params_clear(&p);

	assert_int_equal(params("{\"power_address\": \"10.0.0.5\", "
	    "\"privilege_level\": \"administrator\", \"power_driver\": "
	    "\"LAN_2_0\", \"cipher_suite_id\": \" 8 \", \"power_boot_type\": "
	    "\"legacy\", \"power_off_mode\": \"hard\"}", &p, &cause), 0);
	assert_string_equal(p.privilege, "ADMINISTRATOR");
	assert_int_equal(p.iface, IPMI_LANPLUS);
	assert_int_equal(p.cipher, 8);
	assert_int_equal(p.boot_type, IPMI_BOOT_LEGACY);
	assert_false(p.soft_off);
	ipmi_params_clear(&p);

	/* Only a MAC: the caller resolves the address. */
	assert_int_equal(params("{\"power_address\": \"\", \"mac_address\": "
	    "\"52:54:00:aa:bb:01\", \"privilege_level\": \"USER\"}", &p,
	    &cause), 0);
	assert_null(p.address);
	assert_string_equal(p.mac_address, "52:54:00:aa:bb:01");
	assert_string_equal(p.privilege, "USER");
	ipmi_params_clear(&p);
}

static void
test_params_address(void **state)
{
	static const struct {
		const char	*in, *host;
		int		 port;
	} t[] = {
		{ "10.0.0.5", "10.0.0.5", 623 },
		{ "10.0.0.5:623", "10.0.0.5", 623 },
		{ "10.0.0.5:16230", "10.0.0.5", 16230 },
		{ "bmc-1.example.com", "bmc-1.example.com", 623 },
		{ "fe80::1", "fe80::1", 623 },
		{ "2001:db8::1:623", "2001:db8::1:623", 623 },	/* no port */
		{ "[2001:db8::1]", "2001:db8::1", 623 },
		{ "[2001:db8::1]:6230", "2001:db8::1", 6230 },
	};
	struct ipmi_params	 p;
	char			*js, *cause;
	size_t			 i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		xasprintf(&js, "{\"power_address\": \"%s\"}", t[i].in);
		if (params(js, &p, &cause) == -1)
			fail_msg("%s: %s", t[i].in, cause);
		assert_string_equal(p.address, t[i].host);
		assert_int_equal(p.port, t[i].port);
		ipmi_params_clear(&p);
		free(js);
	}
}

static void
test_params_workarounds(void **state)
{
	static const struct {
		const char	*flags, *oem;
	} t[] = {
		{ "[\"opensesspriv\"]", NULL },
		{ "[\"opensesspriv\", \"intel20\"]", "intelplus" },
		{ "[\"supermicro20\", \"intel20\"]", "supermicro" },
		{ "[\"sun20\"]", NULL },	/* no ipmitool OEM type */
		{ "[\"nochecksumcheck\", \"\"]", NULL },
		{ "[]", NULL },
		{ "\"intel20\"", "intelplus" },
		{ "\"opensesspriv, supermicro20\"", "supermicro" },
		{ "\"\"", NULL },
		{ "null", NULL },
	};
	struct ipmi_params	 p;
	char			*js, *cause;
	size_t			 i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		xasprintf(&js, "{\"power_address\": \"h\", "
		    "\"workaround_flags\": %s}", t[i].flags);
		if (params(js, &p, &cause) == -1)
			fail_msg("%s: %s", t[i].flags, cause);
		if (t[i].oem == NULL)
			assert_null(p.oem);
		else
			assert_string_equal(p.oem, t[i].oem);
		ipmi_params_clear(&p);
		free(js);
	}
}

static void
test_params_bad(void **state)
{
	static const struct {
		const char	*js, *want;
	} t[] = {
		{ "{}", "power_address" },
		{ "{\"power_address\": \" \", \"mac_address\": null}",
		    "power_address" },
		{ "{\"power_address\": 5}", "power_address" },
		{ "{\"power_address\": \"10.0.0.5:0\"}", "bad port" },
		{ "{\"power_address\": \"10.0.0.5:65536\"}", "bad port" },
		{ "{\"power_address\": \"10.0.0.5:x\"}", "bad port" },
		{ "{\"power_address\": \"10.0.0.5:\"}", "bad port" },
		{ "{\"power_address\": \"10.0.0.5:+1\"}", "bad port" },
		{ "{\"power_address\": \":623\"}", "no host" },
		{ "{\"power_address\": \"[fe80::1\"}", "unterminated" },
		{ "{\"power_address\": \"[zz]:623\"}", "IPv6" },
		{ "{\"power_address\": \"[::1]x\"}", "junk" },
		{ "{\"power_address\": \"a b\"}", "whitespace" },
		{ "{\"power_address\": \"-oProxy\"}", "not a host" },
		{ "{\"power_address\": \"h\", \"power_user\": 1}", "power_user" },
		{ "{\"power_address\": \"h\", \"power_pass\": 12345}",
		    "power_pass" },
		{ "{\"power_address\": \"h\", \"power_pass\": \"" PW "\\n\"}",
		    "power_pass" },
		{ "{\"power_address\": \"h\", \"k_g\": [\"" KG "\"]}", "k_g" },
		{ "{\"power_address\": \"h\", \"power_driver\": \"IPMI\"}",
		    "power_driver" },
		{ "{\"power_address\": \"h\", \"power_driver\": 2}",
		    "power_driver" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": \"0\"}",
		    "0 would skip authentication" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": 0}",
		    "0 would skip authentication" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": \"18\"}",
		    "cipher_suite_id" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": -3}",
		    "cipher_suite_id" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": \"3x\"}",
		    "cipher_suite_id" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": \"abc\"}",
		    "cipher_suite_id" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": \"-1\"}",
		    "cipher_suite_id" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": 3.0}",
		    "cipher_suite_id" },
		{ "{\"power_address\": \"h\", \"cipher_suite_id\": true}",
		    "cipher_suite_id" },
		{ "{\"power_address\": \"h\", \"privilege_level\": \"ROOT\"}",
		    "privilege_level" },
		{ "{\"power_address\": \"h\", \"power_boot_type\": \"uefi\"}",
		    "power_boot_type" },
		{ "{\"power_address\": \"h\", \"power_off_mode\": 1}",
		    "power_off_mode" },
		{ "{\"power_address\": \"h\", \"mac_address\": 1}",
		    "mac_address" },
		{ "{\"power_address\": \"h\", \"workaround_flags\": 5}",
		    "workaround_flags" },
		{ "{\"power_address\": \"h\", \"workaround_flags\": [1]}",
		    "workaround_flags" },
	};
	struct ipmi_params	 p, zero;
	char			*cause, *js;
	size_t			 i;

	memset(&zero, 0, sizeof(zero));
	for (i = 0; i < RACKD_NELEM(t); i++) {
		/* Every case also carries secrets that must not leak. */
		js = xstrdup(t[i].js);
		if (strstr(js, "power_pass") == NULL &&
		    strstr(js, "k_g") == NULL) {
			free(js);
			xasprintf(&js, "{\"power_pass\": \"" PW "\", "
			    "\"k_g\": \"" KG "\", %s", t[i].js + 1);
			if (strcmp(t[i].js, "{}") == 0) {
				free(js);
				js = xstrdup("{\"power_pass\": \"" PW "\", "
				    "\"k_g\": \"" KG "\"}");
			}
		}
		memset(&p, 0xa5, sizeof(p));
		if (params(js, &p, &cause) != -1)
			fail_msg("accepted %s", js);
		assert_non_null(cause);
		if (strstr(cause, t[i].want) == NULL)
			fail_msg("%s: cause '%s' lacks '%s'", js, cause,
			    t[i].want);
		assert_null(strstr(cause, PW));
		assert_null(strstr(cause, "S3cr3t"));
		assert_null(strstr(cause, KG));
		assert_null(strstr(cause, "12345"));
		assert_memory_equal(&p, &zero, sizeof(p));
		free(cause);
		free(js);
	}

	/* Not an object at all. */
	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(params("[1]", &p, &cause), -1);
	assert_non_null(strstr(cause, "context"));
	assert_memory_equal(&p, &zero, sizeof(p));
	free(cause);
}

/* --- ARP --------------------------------------------------------------- */

static void
test_arp(void **state)
{
	static const char arp[] =
	    "IP address       HW type     Flags       HW address            "
	    "Mask     Device\n"
	    "10.0.0.9         0x1         0x0         52:54:00:aa:bb:01     "
	    "*        br0\n"
	    "10.0.0.7         0x1         0x2         52:54:00:aa:bb:01     "
	    "*        br0\n"
	    "10.0.0.8         0x1         0x2         52:54:00:AA:BB:02     "
	    "*        br0\n"
	    "10.0.0.10        0x1         0x6         00:00:00:00:00:03     "
	    "*        br1";	/* no final newline */
	char *ip;

	ip = ipmi_arp_lookup(arp, "52:54:00:AA:BB:01");
	assert_non_null(ip);
	assert_string_equal(ip, "10.0.0.7");	/* 10.0.0.9 is incomplete */
	free(ip);
	ip = ipmi_arp_lookup(arp, "52:54:00:aa:bb:02");
	assert_string_equal(ip, "10.0.0.8");
	free(ip);
	ip = ipmi_arp_lookup(arp, "52-54-00-aa-bb-02");
	assert_string_equal(ip, "10.0.0.8");
	free(ip);
	ip = ipmi_arp_lookup(arp, "00:00:00:00:00:03");
	assert_string_equal(ip, "10.0.0.10");
	free(ip);
	assert_null(ipmi_arp_lookup(arp, "52:54:00:aa:bb:09"));
	assert_null(ipmi_arp_lookup(arp, "not a mac"));
	assert_null(ipmi_arp_lookup(arp, "52:54:00:aa:bb"));
	/* The header is never data, even if it looked like a row. */
	assert_null(ipmi_arp_lookup("IP address HW type Flags HW address\n",
	    "52:54:00:aa:bb:01"));
	assert_null(ipmi_arp_lookup("", "52:54:00:aa:bb:01"));
	assert_null(ipmi_arp_lookup(NULL, "52:54:00:aa:bb:01"));
}

/* --- argv -------------------------------------------------------------- */

static void
test_argv_shapes(void **state)
{
	static const struct ipmi_timing tm = { 2, 3 };
	static const struct {
		const char	*js;
		enum ipmi_op	 op;
		int		 timing;
		const char	*want;
	} t[] = {
		{ "{\"power_address\": \"10.0.0.5\"}", IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -N 2 -R 3 -v chassis power status" },
		{ "{\"power_address\": \"10.0.0.5\"}", IPMI_OP_STATUS, 0,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -v chassis power status" },
		{ "{\"power_address\": \"10.0.0.5\", \"power_user\": \"root\", "
		    "\"power_pass\": \"" PW "\", \"privilege_level\": "
		    "\"ADMIN\"}", IPMI_OP_ON, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -U root -f /dev/fd/3 "
		    "-L ADMINISTRATOR -C 3 -N 2 -R 3 -v chassis power on" },
		{ "{\"power_address\": \"10.0.0.5\", \"privilege_level\": "
		    "\"ADMINISTRATOR\", \"power_driver\": \"LAN_2_0\"}",
		    IPMI_OP_OFF, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 "
		    "-L ADMINISTRATOR -C 3 -N 2 -R 3 -v chassis power off" },
		{ "{\"power_address\": \"10.0.0.5\", \"privilege_level\": "
		    "\"USER\"}", IPMI_OP_SOFT, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L USER -C 3 "
		    "-N 2 -R 3 -v chassis power soft" },
		/* lan: no -C, and K_g (IPMI 2.0 only) stays off argv. */
		{ "{\"power_address\": \"10.0.0.5\", \"power_driver\": \"LAN\", "
		    "\"power_user\": \"u\", \"k_g\": \"" KG "\", "
		    "\"cipher_suite_id\": \"17\"}", IPMI_OP_CYCLE, 1,
		    "ipmitool -I lan -H 10.0.0.5 -U u -f /dev/fd/3 -L OPERATOR "
		    "-N 2 -R 3 -v chassis power cycle" },
		{ "{\"power_address\": \"10.0.0.5:6230\", \"cipher_suite_id\": "
		    "\"17\", \"k_g\": \"" KG "\"}", IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -p 6230 -f /dev/fd/3 "
		    "-L OPERATOR -C 17 -Y -N 2 -R 3 -v chassis power "
		    "status" },
		{ "{\"power_address\": \"10.0.0.5:623\", \"cipher_suite_id\": "
		    "12, \"k_g\": \"0xDEADbeef01\"}", IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 12 -Y -N 2 -R 3 -v chassis power status" },
		/* Not hex after 0x: an ASCII key. */
		{ "{\"power_address\": \"10.0.0.5\", \"k_g\": \"0xZZ\"}",
		    IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -Y -N 2 -R 3 -v chassis power status" },
		{ "{\"power_address\": \"10.0.0.5\", \"k_g\": \"0x\"}",
		    IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -Y -N 2 -R 3 -v chassis power status" },
		{ "{\"power_address\": \"10.0.0.5\", \"workaround_flags\": "
		    "[\"opensesspriv\", \"intel20\"]}", IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -o intelplus -N 2 -R 3 -v chassis power status" },
		{ "{\"power_address\": \"[2001:db8::1]:16230\"}",
		    IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H 2001:db8::1 -p 16230 -f /dev/fd/3 "
		    "-L OPERATOR -C 3 -N 2 -R 3 -v chassis power status" },
		{ "{\"power_address\": \"fe80::1\"}", IPMI_OP_STATUS, 1,
		    "ipmitool -I lanplus -H fe80::1 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -N 2 -R 3 -v chassis power status" },
		{ "{\"power_address\": \"10.0.0.5\"}", IPMI_OP_BOOTDEV_PXE, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -N 2 -R 3 -v chassis bootdev pxe" },
		{ "{\"power_address\": \"10.0.0.5\", \"power_boot_type\": "
		    "\"legacy\"}", IPMI_OP_BOOTDEV_PXE, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -N 2 -R 3 -v chassis bootdev pxe" },
		{ "{\"power_address\": \"10.0.0.5\"}", IPMI_OP_BOOTPARAM_GET, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -N 2 -R 3 -v chassis bootparam get 5" },
		{ "{\"power_address\": \"10.0.0.5\", \"power_boot_type\": "
		    "\"efi\"}", IPMI_OP_BOOTDEV_PXE, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -N 2 -R 3 -v chassis bootdev pxe options=efiboot" },
		/* boot type only matters for bootdev. */
		{ "{\"power_address\": \"10.0.0.5\", \"power_boot_type\": "
		    "\"efi\"}", IPMI_OP_ON, 1,
		    "ipmitool -I lanplus -H 10.0.0.5 -f /dev/fd/3 -L OPERATOR "
		    "-C 3 -N 2 -R 3 -v chassis power on" },
	};
	char	*s;
	size_t	 i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		s = argv_for(t[i].js, t[i].op, t[i].timing ? &tm : NULL);
		if (strcmp(s, t[i].want) != 0)
			fail_msg("%s op %s:\n got %s\nwant %s", t[i].js,
			    ipmi_op_name(t[i].op), s, t[i].want);
		free(s);
	}
}

static void
test_argv_fd_and_timing(void **state)
{
	struct ipmi_timing	 tm = { 0, 1 };
	char			*s;
	struct ipmi_params	 p;
	char			*cause, **v;

	s = argv_for("{\"power_address\": \"h\"}", IPMI_OP_STATUS, &tm);
	assert_string_equal(s, "ipmitool -I lanplus -H h -f /dev/fd/3 "
	    "-L OPERATOR -C 3 -R 1 -v chassis power status");
	free(s);

	assert_int_equal(params("{\"power_address\": \"h\"}", &p, &cause), 0);
	v = ipmi_argv("/usr/bin/ipmitool", &p, IPMI_OP_STATUS, 17, NULL);
	assert_string_equal(v[0], "/usr/bin/ipmitool");
	s = joined(v);
	assert_non_null(strstr(s, " -f /dev/fd/17 "));
	free(s);
	ipmi_argv_free(v);
	ipmi_params_clear(&p);
	ipmi_argv_free(NULL);
}

/* The password never reaches argv, whatever the combination. */
static void
test_argv_no_password(void **state)
{
	static const char *const js[] = {
		"{\"power_address\": \"10.0.0.5\", \"power_pass\": \"" PW "\"}",
		"{\"power_address\": \"10.0.0.5\", \"power_pass\": \"" PW "\", "
		    "\"power_user\": \"admin\", \"power_driver\": \"LAN\"}",
		"{\"power_address\": \"10.0.0.5:99\", \"power_pass\": \"" PW "\", "
		    "\"k_g\": \"0xabcdef\", \"cipher_suite_id\": \"17\", "
		    "\"privilege_level\": \"ADMIN\", \"workaround_flags\": "
		    "[\"intel20\"], \"power_boot_type\": \"efi\"}",
		"{\"power_address\": \"10.0.0.5\", \"power_pass\": \"" PW "\", "
		    "\"k_g\": \"" KG "\", \"power_driver\": \"LAN\"}",
	};
	static const struct ipmi_timing tm = { 1, 1 };
	struct ipmi_params	 p;
	char			*cause, **v, *in;
	size_t			 i, j, len;
	int			 op;

	for (i = 0; i < RACKD_NELEM(js); i++) {
		if (params(js[i], &p, &cause) == -1)
			fail_msg("%s: %s", js[i], cause);
		for (op = IPMI_OP_STATUS; op <= IPMI_OP_BOOTDEV_PXE; op++) {
			v = ipmi_argv("ipmitool", &p, op, 3, &tm);
			for (j = 0; v[j] != NULL; j++) {
				assert_null(strstr(v[j], PW));
				/* No K_g on a lan argv. */
				if (p.iface == IPMI_LAN)
					assert_null(strstr(v[j], KG));
			}
			ipmi_argv_free(v);
		}
		in = ipmi_password_input(&p, &len);
		assert_int_equal(len, strlen(PW) + 1);
		assert_memory_equal(in, PW "\n", len);
		xfree_secret(in);
		ipmi_params_clear(&p);
	}

	assert_int_equal(params("{\"power_address\": \"h\"}", &p, &cause), 0);
	in = ipmi_password_input(&p, &len);
	assert_int_equal(len, 1);
	assert_string_equal(in, "\n");
	xfree_secret(in);
	in = ipmi_password_input(&p, NULL);
	assert_string_equal(in, "\n");
	xfree_secret(in);
	ipmi_params_clear(&p);
}

/* --- names ------------------------------------------------------------- */

static void
test_names(void **state)
{
	assert_string_equal(ipmi_op_name(IPMI_OP_STATUS), "status");
	assert_string_equal(ipmi_op_name(IPMI_OP_ON), "on");
	assert_string_equal(ipmi_op_name(IPMI_OP_OFF), "off");
	assert_string_equal(ipmi_op_name(IPMI_OP_SOFT), "soft");
	assert_string_equal(ipmi_op_name(IPMI_OP_CYCLE), "cycle");
	assert_string_equal(ipmi_op_name(IPMI_OP_BOOTDEV_PXE), "bootdev pxe");
	assert_string_equal(power_state_name(POWER_ON), "on");
	assert_string_equal(power_state_name(POWER_OFF), "off");
	assert_string_equal(power_state_name(POWER_UNKNOWN), "unknown");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_NONE), "none");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_AUTH), "auth");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_PRIVILEGE), "privilege");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_CIPHER), "cipher");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_UNREACHABLE),
	    "unreachable");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_BUSY), "busy");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_TIMEOUT), "timeout");
	assert_string_equal(ipmi_fail_name(IPMI_FAIL_OTHER), "other");
	assert_false(ipmi_fail_fatal(IPMI_FAIL_NONE));
	assert_true(ipmi_fail_fatal(IPMI_FAIL_AUTH));
	assert_true(ipmi_fail_fatal(IPMI_FAIL_PRIVILEGE));
	assert_true(ipmi_fail_fatal(IPMI_FAIL_CIPHER));
	assert_false(ipmi_fail_fatal(IPMI_FAIL_UNREACHABLE));
	assert_false(ipmi_fail_fatal(IPMI_FAIL_BUSY));
	assert_false(ipmi_fail_fatal(IPMI_FAIL_TIMEOUT));
	assert_false(ipmi_fail_fatal(IPMI_FAIL_OTHER));
}

/* --- classification: the corpus ---------------------------------------- */

#define AUTHP	"Could not authenticate to node's BMC: "
#define CONNP	"Could not contact node's BMC: "
#define SETP	"Missing or invalid power setting: "
#define OTHP	"Failed talking to node's BMC: "

static const struct corpus_case {
	const char	*name;
	enum ipmi_op	 op;
	enum ipmi_fail	 fail;
	enum power_state state;
	const char	*msg;	/* the message starts with this... */
	const char	*line;	/* ...and contains this ipmitool line */
} corpus[] = {
	{ "status_on", IPMI_OP_STATUS, IPMI_FAIL_NONE, POWER_ON, NULL, NULL },
	{ "status_off", IPMI_OP_STATUS, IPMI_FAIL_NONE, POWER_OFF, NULL, NULL },
	{ "power_on", IPMI_OP_ON, IPMI_FAIL_NONE, 0, NULL, NULL },
	{ "power_off", IPMI_OP_OFF, IPMI_FAIL_NONE, 0, NULL, NULL },
	{ "power_soft", IPMI_OP_SOFT, IPMI_FAIL_NONE, 0, NULL, NULL },
	{ "power_cycle", IPMI_OP_CYCLE, IPMI_FAIL_NONE, 0, NULL, NULL },
	{ "bootdev_pxe", IPMI_OP_BOOTDEV_PXE, IPMI_FAIL_NONE, 0, NULL, NULL },
	{ "bootdev_pxe_efiboot", IPMI_OP_BOOTDEV_PXE, IPMI_FAIL_NONE, 0,
	    NULL, NULL },
	/* Below admin level: HPM.x/VSO noise, incl. "Insufficient
	 * privilege level" on the probe, yet success. */
	{ "operator_power_off", IPMI_OP_OFF, IPMI_FAIL_NONE, 0, NULL, NULL },
	{ "operator_bootdev_pxe", IPMI_OP_BOOTDEV_PXE, IPMI_FAIL_NONE, 0,
	    NULL, NULL },
	{ "operator_status", IPMI_OP_STATUS, IPMI_FAIL_NONE, POWER_OFF,
	    NULL, NULL },
	{ "operator_account_admin_level", IPMI_OP_STATUS, IPMI_FAIL_NONE,
	    POWER_OFF, NULL, NULL },
	{ "user_priv_status", IPMI_OP_STATUS, IPMI_FAIL_NONE, POWER_OFF,
	    NULL, NULL },
	{ "user_account_operator_level", IPMI_OP_STATUS, IPMI_FAIL_NONE,
	    POWER_OFF, NULL, NULL },
	{ "lan_status_on", IPMI_OP_STATUS, IPMI_FAIL_NONE, POWER_ON,
	    NULL, NULL },
	{ "lan_power_off", IPMI_OP_OFF, IPMI_FAIL_NONE, 0, NULL, NULL },
	{ "lan_bootdev_pxe", IPMI_OP_BOOTDEV_PXE, IPMI_FAIL_NONE, 0,
	    NULL, NULL },
	/* Boot flags (power_boot_type auto reads them first). */
	{ "bootparam_get5", IPMI_OP_BOOTPARAM_GET, IPMI_FAIL_NONE, 0,
	    NULL, NULL },
	{ "bootparam_get5_pxe", IPMI_OP_BOOTPARAM_GET, IPMI_FAIL_NONE, 0,
	    NULL, NULL },
	{ "operator_bootparam_get5", IPMI_OP_BOOTPARAM_GET, IPMI_FAIL_NONE,
	    0, NULL, NULL },
	{ "wrong_password_bootparam_get5", IPMI_OP_BOOTPARAM_GET,
	    IPMI_FAIL_AUTH, 0, AUTHP "Incorrect password", "RAKP 2 HMAC" },
	/* -Y's "Key: " prompt glued to the first stderr line. */
	{ "kg_prompt_wrong", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect K_g key", "RAKP 4 message" },

	{ "wrong_password", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect password.  Check BMC configuration and try "
	    "again.", "(RAKP 2 HMAC is invalid)" },
	{ "empty_password", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect password.", "RAKP 2 HMAC is invalid" },
	{ "unknown_user", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect username.  Check BMC configuration and try "
	    "again.", "unauthorized name" },
	{ "no_user", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect username.", "unauthorized name" },
	{ "wrong_kg_ascii", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect K_g key.  Check BMC configuration and try "
	    "again.", "RAKP 4 message has invalid integrity check value" },
	/* ipmitool exits 0 here, with no session at all. */
	{ "wrong_kg_hex", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect K_g key.", "RAKP 4" },
	{ "oem_intelplus", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "RAKP 4 message indicates an error : invalid integrity "
	    "check value", NULL },
	{ "lan_wrong_password", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Authentication timeout.", "Activate Session command failed" },
	{ "lan_unknown_user", IPMI_OP_STATUS, IPMI_FAIL_AUTH, 0,
	    AUTHP "Incorrect username.", "Invalid user name" },

	{ "user_priv_power_on", IPMI_OP_ON, IPMI_FAIL_PRIVILEGE, 0,
	    AUTHP "Access denied while performing power action.  Check BMC "
	    "configuration and try again.",
	    "(Set Chassis Power Control to Up/On failed: Insufficient "
	    "privilege level)" },
	{ "lan_user_priv_power_on", IPMI_OP_ON, IPMI_FAIL_PRIVILEGE, 0,
	    AUTHP "Access denied", "Set Chassis Power Control to Up/On failed" },

	{ "cipher17", IPMI_OP_STATUS, IPMI_FAIL_CIPHER, 0,
	    SETP "Access denied while performing power action: cipher suite "
	    "unavailable.  Check BMC configuration and try again.",
	    "invalid authentication algorithm" },
	{ "lan_oem_supermicro", IPMI_OP_STATUS, IPMI_FAIL_CIPHER, 0,
	    SETP "Access denied", "Authentication type OEM not supported" },

	{ "unreachable", IPMI_OP_STATUS, IPMI_FAIL_UNREACHABLE, 0,
	    CONNP "Connection timed out while performing power action.  "
	    "Check BMC configuration and connectivity and try again.",
	    "Get Auth Capabilities error" },
	{ "lan_unreachable", IPMI_OP_STATUS, IPMI_FAIL_UNREACHABLE, 0,
	    CONNP "Connection timed out", "Get Auth Capabilities command failed" },
	{ "hung", IPMI_OP_STATUS, IPMI_FAIL_UNREACHABLE, 0,
	    CONNP "Connection timed out", "Get Auth Capabilities error" },
	/* The session opened, then the BMC stopped answering. */
	{ "slow_in_session", IPMI_OP_STATUS, IPMI_FAIL_UNREACHABLE, 0,
	    CONNP "Device communication timeout while performing power "
	    "action.", "Unable to get Chassis Power Status" },
	{ "cipher8", IPMI_OP_STATUS, IPMI_FAIL_UNREACHABLE, 0,
	    CONNP "Device communication timeout",
	    "Set Session Privilege Level to ADMINISTRATOR failed" },
};

static void
load_case(const char *name, char **out, char **err, int *rc)
{
	char *path, *s;

	xasprintf(&path, "%s/%s.out", CORPUS_DIR, name);
	*out = slurp(path);
	free(path);
	xasprintf(&path, "%s/%s.err", CORPUS_DIR, name);
	*err = slurp(path);
	free(path);
	xasprintf(&path, "%s/%s.rc", CORPUS_DIR, name);
	s = slurp(path);
	*rc = atoi(s);
	free(s);
	free(path);
}

static void
test_corpus(void **state)
{
	const struct corpus_case	*c;
	struct ipmi_outcome		 o;
	char				*out, *err;
	size_t				 i;
	int				 rc;

	for (i = 0; i < RACKD_NELEM(corpus); i++) {
		c = &corpus[i];
		load_case(c->name, &out, &err, &rc);
		ipmi_classify(c->op, rc, false, out, err, &o);
		if (o.fail != c->fail)
			fail_msg("%s: class %s, want %s (%s)", c->name,
			    ipmi_fail_name(o.fail), ipmi_fail_name(c->fail),
			    o.message ? o.message : "");
		assert_int_equal(o.state, c->state);
		assert_non_null(o.raw);
		assert_true(strlen(o.raw) <= 1024);
		assert_null(strstr(o.raw, "IANA PEN"));
		if (c->fail == IPMI_FAIL_NONE)
			assert_null(o.message);
		else {
			assert_non_null(o.message);
			if (strncmp(o.message, c->msg, strlen(c->msg)) != 0)
				fail_msg("%s: message '%s' does not start "
				    "with '%s'", c->name, o.message, c->msg);
			if (c->line != NULL &&
			    strstr(o.message, c->line) == NULL)
				fail_msg("%s: message '%s' lacks '%s'",
				    c->name, o.message, c->line);
			assert_null(strstr(o.message, "adminpw"));
		}
		ipmi_outcome_clear(&o);
		assert_null(o.raw);
		free(out);
		free(err);
	}
}

/* The BIOS boot type of the boot flags: real captures (ipmi_sim keeps
 * no EFI bit: legacy) and the EFI form ipmitool prints for bit 0x20 of
 * the first data byte (lib/ipmi_chassis.c). */
static void
test_boot_flags(void **state)
{
	static const char *legacy[] = { "bootparam_get5", "bootparam_get5_pxe",
	    "operator_bootparam_get5" };
	struct ipmi_outcome o;
	char *out, *err;
	size_t i;
	int rc;

	for (i = 0; i < RACKD_NELEM(legacy); i++) {
		load_case(legacy[i], &out, &err, &rc);
		assert_int_equal(ipmi_boot_flags_efi(out), 0);
		ipmi_classify(IPMI_OP_BOOTPARAM_GET, rc, false, out, err, &o);
		assert_int_equal(o.fail, IPMI_FAIL_NONE);
		assert_false(o.boot_efi);
		ipmi_outcome_clear(&o);
		free(out);
		free(err);
	}
	out = "Boot parameter version: 1\n"
	    "Boot parameter 5 is valid/unlocked\n"
	    "Boot parameter data: a004000000\n"
	    " Boot Flags :\n"
	    "   - Boot Flag Valid\n"
	    "   - Options apply to only next boot\n"
	    "   - BIOS EFI boot \n"
	    "   - Boot Device Selector : Force PXE\n";
	assert_int_equal(ipmi_boot_flags_efi(out), 1);
	ipmi_classify(IPMI_OP_BOOTPARAM_GET, 0, false, out, "", &o);
	assert_int_equal(o.fail, IPMI_FAIL_NONE);
	assert_true(o.boot_efi);
	ipmi_outcome_clear(&o);
	/* EFI bit without the valid bit: still the machine's type. */
	assert_int_equal(ipmi_boot_flags_efi("Boot parameter data: 2000000000"),
	    1);
	assert_int_equal(ipmi_boot_flags_efi("Boot parameter data: 8000000000"),
	    0);
	assert_int_equal(ipmi_boot_flags_efi("Boot parameter data: zz"), -1);
	assert_int_equal(ipmi_boot_flags_efi("x Boot parameter data: 20"), -1);
	assert_int_equal(ipmi_boot_flags_efi(""), -1);
	/* exit 0 without the data line is not a success */
	ipmi_classify(IPMI_OP_BOOTPARAM_GET, 0, false, "something else\n", "",
	    &o);
	assert_int_equal(o.fail, IPMI_FAIL_OTHER);
	ipmi_outcome_clear(&o);
}

/* Every captured case is asserted: nothing in the corpus goes unread. */
static void
test_corpus_complete(void **state)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 i, n, files = 0;
	int		 found;

	if ((d = opendir(CORPUS_DIR)) == NULL)
		fail_msg("%s: cannot open (run from the repository root)",
		    CORPUS_DIR);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 3, ".rc") != 0)
			continue;
		files++;
		found = 0;
		for (i = 0; i < RACKD_NELEM(corpus); i++)
			if (strlen(corpus[i].name) == n - 3 &&
			    strncmp(corpus[i].name, de->d_name, n - 3) == 0)
				found = 1;
		if (!found)
			fail_msg("corpus case %s has no expectation",
			    de->d_name);
	}
	closedir(d);
	assert_int_equal(files, RACKD_NELEM(corpus));
}

/* A success output read as the wrong operation does not count. */
static void
test_corpus_wrong_op(void **state)
{
	static const struct {
		const char	*name;
		enum ipmi_op	 op;
	} t[] = {
		{ "status_on", IPMI_OP_ON },
		{ "power_on", IPMI_OP_STATUS },
		{ "power_on", IPMI_OP_OFF },
		{ "power_off", IPMI_OP_SOFT },
		{ "power_soft", IPMI_OP_CYCLE },
		{ "bootdev_pxe", IPMI_OP_ON },
		{ "power_cycle", IPMI_OP_BOOTDEV_PXE },
	};
	struct ipmi_outcome	 o;
	char			*out, *err;
	size_t			 i;
	int			 rc;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		load_case(t[i].name, &out, &err, &rc);
		ipmi_classify(t[i].op, rc, false, out, err, &o);
		assert_int_equal(o.fail, IPMI_FAIL_OTHER);
		assert_int_equal(o.state, POWER_UNKNOWN);
		assert_non_null(strstr(o.message, OTHP "unexpected ipmitool "
		    "output"));
		ipmi_outcome_clear(&o);
		free(out);
		free(err);
	}

	/* A success line with a non-zero exit is not success either. */
	load_case("status_on", &out, &err, &rc);
	ipmi_classify(IPMI_OP_STATUS, 1, false, out, err, &o);
	assert_int_equal(o.fail, IPMI_FAIL_OTHER);
	assert_int_equal(o.state, POWER_UNKNOWN);
	assert_non_null(strstr(o.message, "exit status 1"));
	ipmi_outcome_clear(&o);
	free(out);
	free(err);
}

/* --- classification: synthetic lines from the ipmitool binary ---------- */

static void
test_classify_synthetic(void **state)
{
	static const struct {
		enum ipmi_op	 op;
		int		 rc;
		bool		 timed_out;
		const char	*out, *err;
		enum ipmi_fail	 fail;
		const char	*msg;
	} t[] = {
		{ IPMI_OP_STATUS, 1, false, "",
		    "Error in open session response message : insufficient "
		    "resources for session\nError: Unable to establish IPMI v2 "
		    "/ RMCP+ session\n", IPMI_FAIL_BUSY,
		    CONNP "Device busy while performing power action." },
		{ IPMI_OP_STATUS, 1, false, "",
		    "Activate Session error:\n\tNo session slot available\n",
		    IPMI_FAIL_BUSY, CONNP "Device busy" },
		{ IPMI_OP_STATUS, 1, false, "",
		    "Error in open session response message : no matching "
		    "cipher suite\n\nError: Unable to establish IPMI v2 / RMCP+ "
		    "session\n", IPMI_FAIL_CIPHER, SETP "Access denied while "
		    "performing power action: cipher suite unavailable." },
		{ IPMI_OP_STATUS, 1, false, "",
		    "Error in open session response message : no matching "
		    "integrity payload\n", IPMI_FAIL_CIPHER, SETP },
		{ IPMI_OP_STATUS, 1, false, "",
		    "This BMC does not support IPMI v2 / RMCP+\n",
		    IPMI_FAIL_CIPHER, SETP "IPMI 2.0 was not discovered on the "
		    "BMC.  Please try to use IPMI 1.5 instead." },
		{ IPMI_OP_ON, 1, false, "",
		    "RAKP 2 message indicates an error : unauthorized role "
		    "requested\nError: Unable to establish IPMI v2 / RMCP+ "
		    "session\n", IPMI_FAIL_PRIVILEGE, AUTHP "Access denied" },
		{ IPMI_OP_ON, 1, false, "",
		    "Error in open session response message : invalid role\n",
		    IPMI_FAIL_PRIVILEGE, AUTHP "Access denied" },
		{ IPMI_OP_ON, 1, false, "",
		    "Activate Session error:\n\tRequested privilege level "
		    "exceeds limit\n", IPMI_FAIL_PRIVILEGE, AUTHP },
		{ IPMI_OP_STATUS, 1, false, "",
		    "  No response from remote controller\n",
		    IPMI_FAIL_UNREACHABLE, CONNP "Connection timed out" },
		{ IPMI_OP_STATUS, 1, false, "",
		    "> Error: no response from RAKP 1 message\nError: Unable to "
		    "establish IPMI v2 / RMCP+ session\n",
		    IPMI_FAIL_UNREACHABLE, CONNP "Connection timed out" },
		{ IPMI_OP_STATUS, 1, false, "",
		    "Address lookup for bmc.invalid failed\n",
		    IPMI_FAIL_UNREACHABLE, CONNP },
		/* Only the generic line: unreachable. */
		{ IPMI_OP_STATUS, 1, false, "",
		    "Error: Unable to establish IPMI v2 / RMCP+ session\n",
		    IPMI_FAIL_UNREACHABLE, CONNP "Connection timed out" },
		{ IPMI_OP_ON, 1, false, "",
		    "Unable to set Chassis Power Control to Up/On\n",
		    IPMI_FAIL_UNREACHABLE, CONNP "Device communication timeout" },
		{ IPMI_OP_BOOTDEV_PXE, 1, false, "",
		    "Error setting Chassis Boot Parameter 5\n",
		    IPMI_FAIL_UNREACHABLE, CONNP "Device communication timeout" },
		/* A failure with a reason we have no rule for. */
		{ IPMI_OP_ON, 1, false, "",
		    "Loading IANA PEN Registry...\n"
		    "Set Chassis Power Control to Up/On failed: Node busy\n",
		    IPMI_FAIL_OTHER, OTHP "Set Chassis Power Control to Up/On "
		    "failed: Node busy (ipmitool exit status 1)" },
		{ IPMI_OP_ON, 2, false, "", "", IPMI_FAIL_OTHER,
		    OTHP "ipmitool exit status 2, no output" },
		{ IPMI_OP_STATUS, 0, false, "Chassis Power is unknown\n", "",
		    IPMI_FAIL_OTHER, OTHP "unexpected ipmitool output for "
		    "status: Chassis Power is unknown" },
		{ IPMI_OP_STATUS, 0, false, "", "", IPMI_FAIL_OTHER,
		    OTHP "unexpected ipmitool output for status: (none)" },
		/* Noise alone never fails a run, nor names a failure. */
		{ IPMI_OP_ON, 1, false, "",
		    "Invalid completion code received: Insufficient privilege "
		    "level\nGet HPM.x Capabilities request failed, compcode = "
		    "d4\n", IPMI_FAIL_OTHER, OTHP "ipmitool exit status 1, no "
		    "output" },
		/* The deadline wins over anything printed. */
		{ IPMI_OP_STATUS, -1, true, "", "", IPMI_FAIL_TIMEOUT,
		    CONNP "Connection timed out while performing power action."
		    "  Check BMC configuration and connectivity and try again. "
		    "(ipmitool killed at rackd's deadline)" },
		{ IPMI_OP_STATUS, 0, true, "Chassis Power is on\n", "",
		    IPMI_FAIL_TIMEOUT, CONNP },
		{ IPMI_OP_STATUS, 143, true, "",
		    "Get Auth Capabilities error\n", IPMI_FAIL_TIMEOUT,
		    CONNP "Connection timed out while performing power action."
		    "  Check BMC configuration and connectivity and try again. "
		    "(ipmitool killed at rackd's deadline: Get Auth "
		    "Capabilities error)" },
		/* Success with CRLF and surrounding blanks. */
		{ IPMI_OP_STATUS, 0, false, "\r\n  Chassis Power is on \r\n",
		    "Get HPM.x Capabilities request failed, compcode = d4\n",
		    IPMI_FAIL_NONE, NULL },
		{ IPMI_OP_CYCLE, 0, false, "Chassis Power Control: Cycle", NULL,
		    IPMI_FAIL_NONE, NULL },
	};
	struct ipmi_outcome	 o;
	size_t			 i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		ipmi_classify(t[i].op, t[i].rc, t[i].timed_out, t[i].out,
		    t[i].err, &o);
		if (o.fail != t[i].fail)
			fail_msg("case %zu: class %s, want %s (%s)", i,
			    ipmi_fail_name(o.fail), ipmi_fail_name(t[i].fail),
			    o.message ? o.message : "");
		assert_non_null(o.raw);
		if (t[i].msg == NULL)
			assert_null(o.message);
		else if (strncmp(o.message, t[i].msg, strlen(t[i].msg)) != 0)
			fail_msg("case %zu: message '%s' does not start with "
			    "'%s'", i, o.message, t[i].msg);
		ipmi_outcome_clear(&o);
	}
}

static void
test_classify_state_and_raw(void **state)
{
	struct ipmi_outcome	 o;
	char			*big;
	size_t			 i;

	ipmi_classify(IPMI_OP_STATUS, 0, false, "  Chassis Power is on\n",
	    "Loading IANA PEN Registry...\nRunning Get VSO Capabilities my_addr "
	    "0x20, transit 0, target 0x20\n", &o);
	assert_int_equal(o.fail, IPMI_FAIL_NONE);
	assert_int_equal(o.state, POWER_ON);
	assert_string_equal(o.raw, "Chassis Power is on\nRunning Get VSO "
	    "Capabilities my_addr 0x20, transit 0, target 0x20");
	ipmi_outcome_clear(&o);

	/* NULL output is fine; raw is then "". */
	ipmi_classify(IPMI_OP_STATUS, 1, false, NULL, NULL, &o);
	assert_string_equal(o.raw, "");
	assert_int_equal(o.fail, IPMI_FAIL_OTHER);
	ipmi_outcome_clear(&o);

	/* Capped at 1 KiB, never cutting a UTF-8 sequence. */
	big = xmalloc(5001);
	for (i = 0; i < 5000; i++)
		big[i] = i % 81 == 80 ? '\n' : 'x';
	big[5000] = '\0';
	ipmi_classify(IPMI_OP_STATUS, 1, false, big, big, &o);
	assert_int_equal(strlen(o.raw), 1024);
	ipmi_outcome_clear(&o);
	memset(big, 'y', 5000);
	memcpy(big + 1022, "\xe2\x82\xac", 3);	/* straddles the cap */
	ipmi_classify(IPMI_OP_STATUS, 1, false, big, NULL, &o);
	assert_int_equal(strlen(o.raw), 1022);
	assert_int_equal(o.raw[1021], 'y');
	ipmi_outcome_clear(&o);
	free(big);
}

/* A K_g, hex or ASCII, travels on stdin for -Y: never on argv. */
static void
test_kg_input(void **st)
{
	static const struct {
		const char *js, *in;
		size_t inlen;
	} t[] = {
		{ "{\"power_address\": \"h\", \"k_g\": \"" KG "\"}",
		  KG "\n", sizeof KG },
		/* hex decoded to its bytes; trailing zero bytes are padding */
		{ "{\"power_address\": \"h\", \"k_g\": \"0x3132614200\"}",
		  "12aB\n", 5 },
		{ "{\"power_address\": \"h\", \"k_g\": \"0xDEADbeef01\"}",
		  "\xde\xad\xbe\xef\x01\n", 6 },
		{ "{\"power_address\": \"h\", \"k_g\": \"0xZZ\"}", "0xZZ\n", 5 },
		/* 20 bytes exactly */
		{ "{\"power_address\": \"h\", \"k_g\": "
		  "\"0x4142434445464748494a4b4c4d4e4f5051525354\"}", NULL, 0 },
		{ "{\"power_address\": \"h\"}", NULL, 0 },
		/* lan (IPMI 1.5) has no K_g */
		{ "{\"power_address\": \"h\", \"power_driver\": \"LAN\", "
		  "\"k_g\": \"" KG "\"}", NULL, 0 },
	};
	static const struct {
		const char *js, *cause;
	} bad[] = {
		{ "{\"power_address\": \"h\", \"k_g\": \"0x123\"}", "odd" },
		{ "{\"power_address\": \"h\", \"k_g\": "
		  "\"0x0102030405060708090a0b0c0d0e0f101112131415\"}", "20" },
		{ "{\"power_address\": \"h\", \"k_g\": "
		  "\"abcdefghijklmnopqrstu\"}", "20" },
		{ "{\"power_address\": \"h\", \"k_g\": \"0x410a42\"}",
		  "line break" },
		{ "{\"power_address\": \"h\", \"k_g\": \"0x41004200\"}",
		  "zero byte" },
	};
	struct ipmi_params p;
	json_error_t je;
	json_t *j;
	char **argv, *in, *cause = NULL;
	size_t i, k, len;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		j = json_loads(t[i].js, 0, &je);
		assert_non_null(j);
		if (ipmi_params_from_json(j, &p, &cause) != 0)
			fail_msg("%s: %s", t[i].js, cause);
		in = ipmi_kg_input(&p, &len);
		if (i == 4) {
			assert_non_null(in);
			assert_int_equal(len, 21);
			assert_int_equal(in[0], 'A');
			assert_int_equal(in[19], 'T');
		} else if (t[i].in == NULL)
			assert_null(in);
		else {
			assert_int_equal(len, t[i].inlen);
			assert_memory_equal(in, t[i].in, len);
		}
		argv = ipmi_argv("/usr/bin/ipmitool", &p, IPMI_OP_STATUS, 3, NULL);
		for (k = 0; argv[k] != NULL; k++) {
			assert_null(strstr(argv[k], KG));
			assert_null(strstr(argv[k], "DEAD"));
			assert_null(strstr(argv[k], "3132"));
			assert_string_not_equal(argv[k], "-y");
			assert_string_not_equal(argv[k], "-K");
			assert_string_not_equal(argv[k], "-k");
		}
		ipmi_argv_free(argv);
		free(in);
		ipmi_params_clear(&p);
		json_decref(j);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		j = json_loads(bad[i].js, 0, &je);
		assert_non_null(j);
		cause = NULL;
		assert_int_equal(ipmi_params_from_json(j, &p, &cause), -1);
		if (strstr(cause, bad[i].cause) == NULL)
			fail_msg("%s: cause '%s' lacks '%s'", bad[i].js, cause,
			    bad[i].cause);
		/* never the key itself */
		assert_null(strstr(cause, "0x"));
		assert_null(strstr(cause, "abcdef"));
		free(cause);
		json_decref(j);
	}
}

/* -Y's "Key: " prompt (stderr, no newline) is not ipmitool's verdict. */
static void
test_classify_kg_prompt(void **st)
{
	struct ipmi_outcome o;

	ipmi_classify(IPMI_OP_STATUS, 0, false, "Chassis Power is off\n",
	    "Key: ", &o);
	assert_int_equal(o.fail, IPMI_FAIL_NONE);
	assert_int_equal(o.state, POWER_OFF);
	ipmi_outcome_clear(&o);
	ipmi_classify(IPMI_OP_STATUS, 1, false, "",
	    "Key: Activate Session command failed\n", &o);
	assert_int_equal(o.fail, IPMI_FAIL_AUTH);
	assert_null(strstr(o.message, "Key:"));
	ipmi_outcome_clear(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kg_input),
		cmocka_unit_test(test_boot_flags),
		cmocka_unit_test(test_classify_kg_prompt),
		cmocka_unit_test(test_params_defaults),
		cmocka_unit_test(test_same_session),
		cmocka_unit_test(test_params_values),
		cmocka_unit_test(test_params_address),
		cmocka_unit_test(test_params_workarounds),
		cmocka_unit_test(test_params_bad),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_argv_shapes),
		cmocka_unit_test(test_argv_fd_and_timing),
		cmocka_unit_test(test_argv_no_password),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_complete),
		cmocka_unit_test(test_corpus_wrong_op),
		cmocka_unit_test(test_classify_synthetic),
		cmocka_unit_test(test_classify_state_and_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
