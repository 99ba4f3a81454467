/*
 * test_simplestreams.c — the pure half of the image sync: index.json and
 * products documents in the shapes of maas-rack-boot.md §1.2 (and bad
 * ones, each named), newest version per product, the region's selections,
 * maas.meta as Python's json.dumps(sort_keys=True) writes MAAS's mapping
 * (§1.3 step 4), the snapshot plan (§1.3 step 6) and fix_sources_for_cluster.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "simplestreams.h"
#include "xmalloc.h"

#define SHA_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define SHA_D	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

#define ITEM(name, ftype, path, sha, size)				\
	"\"" name "\": {\"ftype\": \"" ftype "\", \"path\": \"" path	\
	"\", \"sha256\": \"" sha "\", \"size\": " #size "}"

static const char products_doc[] =
    "{\"datatype\": \"image-downloads\", \"content_id\": \"maas:v2:download\","
    " \"format\": \"products:1.0\", \"products\": {"
    "\"maas:boot:ubuntu:amd64:ga-22.04:jammy\": {\"os\": \"ubuntu\","
    " \"arch\": \"amd64\", \"subarch\": \"ga-22.04\", \"release\": \"jammy\","
    " \"version\": \"22.04\", \"label\": \"stable\", \"kflavor\": \"generic\","
    " \"subarches\": \"generic,hwe-p,ga-22.04\", \"release_title\": \"22.04 LTS\","
    " \"versions\": {"
    "  \"20230101\": {\"items\": {" ITEM("boot-kernel", "boot-kernel",
    "old/boot-kernel", SHA_D, 1) "}},"
    "  \"20240101\": {\"items\": {"
    ITEM("boot-kernel", "boot-kernel",
    "ubuntu/amd64/ga-22.04/jammy/20240101/boot-kernel", SHA_A, 10) ", "
    ITEM("squashfs", "squashfs",
    "ubuntu/amd64/ga-22.04/jammy/20240101/squashfs", SHA_B, 20) "}}}},"
    "\"maas:boot:ubuntu:amd64:hwe-22.04:jammy\": {\"os\": \"ubuntu\","
    " \"arch\": \"amd64\", \"subarch\": \"hwe-22.04\", \"release\": \"jammy\","
    " \"label\": \"stable\", \"kflavor\": \"generic\","
    " \"versions\": {\"20240101\": {\"items\": {"
    ITEM("squashfs", "squashfs",
    "ubuntu/amd64/hwe-22.04/jammy/20240101/squashfs", SHA_B, 20) "}}}},"
    "\"maas:boot:pxelinux:i386:generic:pxe\": {\"os\": \"pxelinux\","
    " \"arch\": \"i386\", \"subarch\": \"generic\", \"release\": \"pxe\","
    " \"bootloader-type\": \"pxe\", \"label\": \"stable\","
    " \"versions\": {\"20240101\": {\"items\": {"
    ITEM("syslinux.tar.xz", "archive.tar.xz",
    "pxelinux/i386/generic/pxe/20240101/syslinux.tar.xz", SHA_C, 30)
    "}}}}}}";

static struct ss_catalog *
parse_ok(const char *doc)
{
	char *cause = NULL;
	struct ss_catalog *c = simplestreams_parse_products(doc, strlen(doc),
	    &cause);

	if (c == NULL)
		fail_msg("parse: %s", cause);
	return c;
}

static void
test_index(void **state)
{
	const char *good = "{\"index\": {\"other\": {\"datatype\": \"x\", "
	    "\"path\": \"a.json\"}, \"maas:v2:download\": {\"datatype\": "
	    "\"image-downloads\", \"path\": \"streams/v1/maas:v2:download.json\","
	    " \"products\": []}}, \"format\": \"index:1.0\"}";
	const char *bad;
	char *cause = NULL, *p;

	p = simplestreams_index_products_path(good, strlen(good), &cause);
	assert_string_equal(p, "streams/v1/maas:v2:download.json");
	free(p);

	p = simplestreams_index_products_path("{\"index\": {}}", 13, &cause);
	assert_null(p);
	assert_non_null(strstr(cause, "no entry with datatype image-downloads"));
	free(cause);
	cause = NULL;
	p = simplestreams_index_products_path("[1]", 3, &cause);
	assert_null(p);
	assert_non_null(strstr(cause, "index.json: not a JSON object"));
	free(cause);
	cause = NULL;
	p = simplestreams_index_products_path("{\"index\": ", 10, &cause);
	assert_null(p);
	assert_non_null(strstr(cause, "index.json: not JSON"));
	free(cause);
	cause = NULL;
	/* A path escaping the mirror is refused. */
	bad = "{\"index\": {\"x\": {\"datatype\": \"image-downloads\", "
	    "\"path\": \"../../etc/passwd\"}}}";
	p = simplestreams_index_products_path(bad, strlen(bad), &cause);
	assert_null(p);
	assert_non_null(strstr(cause, "entry \"x\": path missing or not a safe"));
	free(cause);
}

static void
test_products_newest_version(void **state)
{
	struct ss_catalog *c = parse_ok(products_doc);
	const struct ss_product *p;

	assert_int_equal(c->nproducts, 3);
	p = &c->products[0];
	assert_string_equal(p->name, "maas:boot:ubuntu:amd64:ga-22.04:jammy");
	assert_string_equal(p->version, "20240101");
	assert_int_equal(p->nitems, 2);
	assert_string_equal(p->items[0].name, "boot-kernel");
	assert_string_equal(p->items[0].sha256, SHA_A);
	assert_int_equal(p->items[0].size, 10);
	assert_string_equal(p->kflavor, "generic");
	p = &c->products[2];
	assert_string_equal(p->bootloader_type, "pxe");
	assert_string_equal(p->kflavor, "bootloader");
	assert_string_equal(p->items[0].ftype, "archive.tar.xz");
	simplestreams_catalog_free(c);
}

/* Each bad input is refused with a cause naming product, item and field. */
static void
test_products_bad(void **state)
{
	static const struct {
		const char *doc, *want;
	} cases[] = {
		{ "{\"products\": []}", "no \"products\" object" },
		{ "{\"products\": {\"p\": {\"os\": \"ubuntu\"}}}",
		  "product p: no \"versions\" object" },
		{ "{\"products\": {\"p\": {\"os\": \"u\", \"arch\": \"a\", "
		  "\"release\": \"r\", \"label\": \"l\", \"versions\": {}}}}",
		  "product p: no version" },
		{ "{\"products\": {\"p\": {\"arch\": \"a\", \"release\": \"r\", "
		  "\"label\": \"l\", \"versions\": {\"1\": {\"items\": {}}}}}}",
		  "product p: missing os" },
		{ "{\"products\": {\"p\": {\"os\": \"u\", \"arch\": \"a\", "
		  "\"release\": \"r\", \"label\": \"l\", \"versions\": {\"1\": "
		  "{\"items\": {\"k\": {\"path\": \"a/k\", \"sha256\": \"zz\", "
		  "\"size\": 1}}}}}}}",
		  "product p item k: sha256 missing or not 64" },
		{ "{\"products\": {\"p\": {\"os\": \"u\", \"arch\": \"a\", "
		  "\"release\": \"r\", \"label\": \"l\", \"versions\": {\"1\": "
		  "{\"items\": {\"k\": {\"path\": \"a/../../k\", \"sha256\": \""
		  SHA_A "\", \"size\": 1}}}}}}}",
		  "product p item k: path missing or not a safe relative path" },
		{ "{\"products\": {\"p\": {\"os\": \"u\", \"arch\": \"a\", "
		  "\"release\": \"r\", \"label\": \"l\", \"versions\": {\"1\": "
		  "{\"items\": {\"k\": {\"path\": \"a/k\", \"sha256\": \""
		  SHA_A "\", \"size\": -4}}}}}}}",
		  "product p item k: size missing or not a non-negative" },
		{ "{\"products\": {\"p\": {\"os\": \"..\", \"arch\": \"a\", "
		  "\"release\": \"r\", \"label\": \"l\", \"versions\": {\"1\": "
		  "{\"items\": {}}}}}}",
		  "product p: os/arch/subarch/release/label not usable" },
		{ "{\"products\": {\"p\": 3}}", "product p: not an object" },
	};
	struct ss_catalog *c;
	char *cause;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cause = NULL;
		c = simplestreams_parse_products(cases[i].doc,
		    strlen(cases[i].doc), &cause);
		if (c != NULL)
			fail_msg("case %zu parsed", i);
		if (strstr(cause, cases[i].want) == NULL)
			fail_msg("case %zu: cause '%s', want '%s'", i, cause,
			    cases[i].want);
		free(cause);
	}
}

static void
test_select(void **state)
{
	struct ss_catalog *c = parse_ok(products_doc);
	const char *arches[] = { "amd64", NULL };
	const char *subs[] = { "hwe-22.04", NULL };
	struct ss_selection sel = { "ubuntu", "jammy", arches, subs, NULL };

	simplestreams_select(c, &sel, 1);
	/* The hwe product and the bootloader (never filtered). */
	assert_int_equal(c->nproducts, 2);
	assert_string_equal(c->products[0].subarch, "hwe-22.04");
	assert_non_null(c->products[1].bootloader_type);
	simplestreams_catalog_free(c);

	c = parse_ok(products_doc);
	simplestreams_select(c, NULL, 0);	/* the region's [] */
	assert_int_equal(c->nproducts, 3);
	simplestreams_catalog_free(c);
}

static int
plan_has(const struct ss_link *v, size_t n, const char *rel,
    const char *sha)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].relpath, rel) == 0 &&
		    strcmp(v[i].item->sha256, sha) == 0)
			return 1;
	return 0;
}

static void
test_plan(void **state)
{
	struct ss_catalog *c = parse_ok(products_doc);
	struct ss_link *v;
	size_t n;

	v = simplestreams_plan(c, &n);
	/* ga: 2 items x (ga + generic); hwe-22.04 is not hwe-j: 1; pxe: 1. */
	assert_int_equal(n, 6);
	assert_true(plan_has(v, n, "ubuntu/amd64/ga-22.04/jammy/stable/boot-kernel", SHA_A));
	assert_true(plan_has(v, n, "ubuntu/amd64/generic/jammy/stable/boot-kernel", SHA_A));
	assert_true(plan_has(v, n, "ubuntu/amd64/generic/jammy/stable/squashfs", SHA_B));
	assert_true(plan_has(v, n, "ubuntu/amd64/hwe-22.04/jammy/stable/squashfs", SHA_B));
	assert_true(plan_has(v, n, "bootloader/pxe/i386", SHA_C));
	assert_int_equal(v[5].archive, 1);
	assert_false(plan_has(v, n, "ubuntu/amd64/ga-22.04/jammy/stable/old", SHA_D));
	simplestreams_plan_free(v, n);
	simplestreams_catalog_free(c);
}

static void
test_meta(void **state)
{
	struct ss_catalog *c = parse_ok(products_doc);
	char *m = simplestreams_meta_json(c);

	/* Sorted keys, ", " and ": " separators, the six levels. */
	assert_non_null(strstr(m, "{\"pxelinux\": {\"i386\": {\"generic\": "
	    "{\"bootloader\": {\"pxe\": {\"stable\": {\"bootloader-type\": "
	    "\"pxe\", \"content_id\": \"maas:v2:download\", \"path\": "
	    "\"pxelinux/i386/generic/pxe/20240101/syslinux.tar.xz\", "
	    "\"product_name\": \"maas:boot:pxelinux:i386:generic:pxe\", "
	    "\"version_name\": \"20240101\"}}}}}}, \"ubuntu\": {\"amd64\": {"));
	/* generic: set by the ga product (ga-<version>, generic in
	 * subarches), not left to the hwe product's setdefault. */
	assert_non_null(strstr(m, "\"generic\": {\"generic\": {\"jammy\": "
	    "{\"stable\": {\"content_id\": \"maas:v2:download\", \"kflavor\": "
	    "\"generic\", \"path\": \"ubuntu/amd64/ga-22.04/jammy/20240101/"
	    "squashfs\", \"product_name\": \"maas:boot:ubuntu:amd64:ga-22.04:"
	    "jammy\", \"release_title\": \"22.04 LTS\", \"subarches\": "
	    "\"generic,hwe-p,ga-22.04\", \"version_name\": \"20240101\"}}}}"));
	assert_non_null(strstr(m, "\"hwe-p\": {"));
	assert_non_null(strstr(m, "\"hwe-22.04\": {"));
	free(m);
	simplestreams_catalog_free(c);
}

static void
test_fix_url(void **state)
{
	char *u;

	u = simplestreams_fix_url("http://10.0.0.2:5240/MAAS/images-stream/"
	    "streams/v1/index.json", "http://192.168.1.5:5240/MAAS");
	assert_string_equal(u, "http://192.168.1.5:5240/MAAS/images-stream/"
	    "streams/v1/index.json");
	free(u);
	u = simplestreams_fix_url("http://region/MAAS/images-stream/streams/"
	    "v1/index.json", "http://[fd00::1]:5240/MAAS/");
	assert_string_equal(u, "http://[fd00::1]:5240/MAAS/images-stream/"
	    "streams/v1/index.json");
	free(u);
	/* A rack URL without the MAAS/ prefix keeps the source's path. */
	u = simplestreams_fix_url("http://r:5240/MAAS/images-stream/x.json",
	    "http://h:80");
	assert_string_equal(u, "http://h:80/MAAS/images-stream/x.json");
	free(u);
	u = simplestreams_mirror_base("http://h/MAAS/images-stream/streams/v1/"
	    "index.json");
	assert_string_equal(u, "http://h/MAAS/images-stream/");
	free(u);
}

static void
test_safe_paths(void **state)
{
	assert_true(simplestreams_safe_relpath("a/b/c"));
	assert_false(simplestreams_safe_relpath("/a"));
	assert_false(simplestreams_safe_relpath("a//b"));
	assert_false(simplestreams_safe_relpath("a/../b"));
	assert_false(simplestreams_safe_relpath("a/./b"));
	assert_false(simplestreams_safe_relpath(""));
	assert_false(simplestreams_safe_name("a/b"));
	assert_false(simplestreams_safe_name("a\nb"));
	assert_true(simplestreams_safe_name("boot-kernel"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_products_newest_version),
		cmocka_unit_test(test_products_bad),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_fix_url),
		cmocka_unit_test(test_safe_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
