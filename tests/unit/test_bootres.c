/*
 * test_bootres.c — bootres.c / bootres_store.c: ListBootImages rows from
 * synthetic boot-resources trees built in a temp dir (MAAS layout, spec
 * maas-rack-boot.md §1.4/§1.6), the rack-side image lookup (§2.4), the
 * cache, and the AMP encoding of the answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "amp.h"
#include "bootres.h"
#include "bytes.h"
#include "xmalloc.h"

/* --- tree helpers ------------------------------------------------------ */

static void
mkdirs(const char *path)
{
	char *p = xstrdup(path), *s;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	free(p);
}

static void
put(const char *root, const char *rel, const char *content)
{
	char *p, *dir, *slash;
	FILE *f;

	xasprintf(&p, "%s/%s", root, rel);
	dir = xstrdup(p);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		mkdirs(dir);
	}
	if ((f = fopen(p, "w")) == NULL)
		fail_msg("create %s: %s", p, strerror(errno));
	fputs(content, f);
	fclose(f);
	free(dir);
	free(p);
}

static void
dir(const char *root, const char *rel)
{
	char *p;

	xasprintf(&p, "%s/%s", root, rel);
	mkdirs(p);
	free(p);
}

static void
sym(const char *root, const char *target, const char *rel)
{
	char *p;

	xasprintf(&p, "%s/%s", root, rel);
	if (symlink(target, p) == -1)
		fail_msg("symlink %s: %s", p, strerror(errno));
	free(p);
}

static void
hardlink(const char *root, const char *from, const char *to)
{
	char *a, *b;

	xasprintf(&a, "%s/%s", root, from);
	xasprintf(&b, "%s/%s", root, to);
	if (link(a, b) == -1)
		fail_msg("link %s: %s", b, strerror(errno));
	free(a);
	free(b);
}

static char *
tmpdir(void)
{
	char *t = xstrdup("/tmp/test_bootres.XXXXXX");

	if (mkdtemp(t) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	return t;
}

static void
rmtree(const char *path)
{
	char *cmd;

	xasprintf(&cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	free(cmd);
}

/* All rows, one "os arch sub rel label purpose type path [sup]" a line. */
static char *
dump(const struct bootres_list *l)
{
	struct bytes b;
	size_t i;
	char *line;

	bytes_init(&b);
	for (i = 0; i < l->n; i++) {
		const struct bootres_image *im = &l->v[i];

		xasprintf(&line, "%s %s %s %s %s %s '%s' '%s'%s%s\n",
		    im->osystem, im->architecture, im->subarchitecture,
		    im->release, im->label, im->purpose, im->xinstall_type,
		    im->xinstall_path, im->supported_subarches ? " sup=" : "",
		    im->supported_subarches ? im->supported_subarches : "");
		bytes_add_str(&b, line);
		free(line);
	}
	bytes_add_u8(&b, 0);
	return (char *)bytes_steal(&b, NULL);
}

static char *
scan_dump(const char *root)
{
	struct bootres_list l;
	char *cause = NULL, *s;

	if (bootres_scan(root, &l, &cause) != 0)
		fail_msg("scan %s: %s", root, cause);
	s = dump(&l);
	bootres_list_free(&l);
	return s;
}

/* A MAAS snapshot: jammy ga-22.04 + generic (hard links, as link_resources
 * makes them) + hwe-22.04 (a symlinked directory), bootloaders, the
 * bootloader symlinks and static files MAAS puts in the root. */
static void
snapshot(const char *root)
{
	put(root, "ubuntu/amd64/ga-22.04/jammy/stable/boot-kernel", "k");
	put(root, "ubuntu/amd64/ga-22.04/jammy/stable/boot-initrd", "i");
	put(root, "ubuntu/amd64/ga-22.04/jammy/stable/squashfs", "s");
	dir(root, "ubuntu/amd64/generic/jammy/stable");
	hardlink(root, "ubuntu/amd64/ga-22.04/jammy/stable/boot-kernel",
	    "ubuntu/amd64/generic/jammy/stable/boot-kernel");
	hardlink(root, "ubuntu/amd64/ga-22.04/jammy/stable/boot-initrd",
	    "ubuntu/amd64/generic/jammy/stable/boot-initrd");
	hardlink(root, "ubuntu/amd64/ga-22.04/jammy/stable/squashfs",
	    "ubuntu/amd64/generic/jammy/stable/squashfs");
	sym(root, "ga-22.04", "ubuntu/amd64/hwe-22.04");
	put(root, "bootloader/pxe/i386/lpxelinux.0", "l");
	put(root, "bootloader/pxe/i386/ldlinux.c32", "l");
	put(root, "bootloader/uefi/amd64/bootx64.efi", "b");
	put(root, "bootloader/uefi/amd64/grubx64.efi", "g");
	sym(root, "bootloader/pxe/i386/lpxelinux.0", "lpxelinux.0");
	sym(root, "lpxelinux.0", "pxelinux.0");
	sym(root, "bootloader/pxe/i386", "syslinux");
	put(root, "grub/grub.cfg", "\n# MAAS GRUB2 pre-loader configuration file\n");
	put(root, "ipxe.cfg", "#!ipxe\n");
	/* Never rows: hidden, unknown os, too shallow, a dangling link. */
	dir(root, ".hidden/amd64/generic/jammy/stable");
	dir(root, "foo/amd64/generic/jammy/stable");
	dir(root, "ubuntu/arm64/generic/jammy");
	sym(root, "nowhere", "ubuntu/amd64/dangling");
}

#define JAMMY(sub) \
	"ubuntu amd64 " sub " jammy stable commissioning '' ''\n" \
	"ubuntu amd64 " sub " jammy stable install '' ''\n" \
	"ubuntu amd64 " sub " jammy stable xinstall 'squashfs' 'squashfs'\n" \
	"ubuntu amd64 " sub " jammy stable diskless '' ''\n"

static void
test_snapshot_rows(void **state)
{
	char *root = tmpdir(), *got;

	snapshot(root);
	got = scan_dump(root);
	assert_string_equal(got,
	    JAMMY("ga-22.04") JAMMY("generic") JAMMY("hwe-22.04")
	    "bootloader i386 generic pxe * bootloader '' ''\n"
	    "bootloader amd64 generic uefi * bootloader '' ''\n");
	free(got);
	rmtree(root);
	free(root);
}

/* The spec's verified case: MAAS 3.4.0's own list_boot_images gave
 * exactly these 10 rows for this tree (§1.6). */
static void
test_spec_verified_tree(void **state)
{
	char *root = tmpdir(), *got;
	struct bootres_list l;
	char *cause = NULL;

	put(root, "ubuntu/amd64/ga-20.04/focal/stable/boot-kernel", "");
	put(root, "ubuntu/amd64/ga-20.04/focal/stable/boot-initrd", "");
	put(root, "ubuntu/amd64/ga-20.04/focal/stable/squashfs", "");
	put(root, "ubuntu/amd64/generic/focal/stable/boot-kernel", "");
	put(root, "ubuntu/amd64/generic/focal/stable/boot-initrd", "");
	put(root, "ubuntu/amd64/generic/focal/stable/squashfs", "");
	dir(root, "bootloader/pxe/i386");
	dir(root, "bootloader/uefi/amd64");
	sym(root, "bootloader/pxe/i386", "syslinux");
	dir(root, "grub");
	assert_int_equal(bootres_scan(root, &l, &cause), 0);
	assert_int_equal(l.n, 10);
	assert_int_equal(bootres_count_purpose(&l, "xinstall"), 2);
	got = dump(&l);
	assert_non_null(strstr(got,
	    "ubuntu amd64 ga-20.04 focal stable xinstall 'squashfs' 'squashfs'\n"));
	assert_null(strstr(got, "sup="));	/* no maas.meta */
	free(got);
	bootres_list_free(&l);
	rmtree(root);
	free(root);
}

/* MAAS checks no file: a partial image still lists, and xinstall falls
 * back to ("squashfs", "squashfs") when no root image is there. */
static void
test_partial_image(void **state)
{
	char *root = tmpdir(), *got;

	put(root, "ubuntu/amd64/ga-20.04/focal/stable/boot-kernel", "");
	got = scan_dump(root);
	assert_string_equal(got,
	    "ubuntu amd64 ga-20.04 focal stable commissioning '' ''\n"
	    "ubuntu amd64 ga-20.04 focal stable install '' ''\n"
	    "ubuntu amd64 ga-20.04 focal stable xinstall 'squashfs' 'squashfs'\n"
	    "ubuntu amd64 ga-20.04 focal stable diskless '' ''\n");
	free(got);
	rmtree(root);
	free(root);
}

/* xinstall_type/_path per OS driver (each drivers/osystem driver, _find_image). */
static void
test_xinstall_types(void **state)
{
	char *root = tmpdir(), *got;

	put(root, "ubuntu/amd64/ga-18.04/bionic/stable/root-tgz", "");
	put(root, "custom/amd64/generic/myimage/uploaded/root-dd.gz", "");
	put(root, "centos/amd64/generic/8/stable/root-tgz", "");
	put(root, "ubuntu-core/amd64/generic/16/stable/boot-kernel", "");
	dir(root, "windows/amd64/generic/win2016/uploaded");
	put(root, "esxi/amd64/generic/6.7/uploaded/root-dd", "");
	put(root, "caringo/amd64/generic/9/uploaded/root-txz", "");
	put(root, "rhel/amd64/generic/8/uploaded/root-tbz", "");
	put(root, "suse/amd64/generic/sles15/uploaded/notes", "");
	got = scan_dump(root);
	assert_string_equal(got,
	    "caringo amd64 generic 9 uploaded ephemeral 'txz' 'root-txz'\n"
	    "centos amd64 generic 8 stable xinstall 'tgz' 'root-tgz'\n"
	    "custom amd64 generic myimage uploaded xinstall 'dd-gz' 'root-dd.gz'\n"
	    "esxi amd64 generic 6.7 uploaded xinstall 'dd-tgz' 'root-dd'\n"
	    "rhel amd64 generic 8 uploaded xinstall 'tbz' 'root-tbz'\n"
	    "suse amd64 generic sles15 uploaded xinstall 'tgz' 'root-tgz'\n"
	    "ubuntu amd64 ga-18.04 bionic stable commissioning '' ''\n"
	    "ubuntu amd64 ga-18.04 bionic stable install '' ''\n"
	    "ubuntu amd64 ga-18.04 bionic stable xinstall 'tgz' 'root-tgz'\n"
	    "ubuntu amd64 ga-18.04 bionic stable diskless '' ''\n"
	    "ubuntu-core amd64 generic 16 stable xinstall 'dd-xz' 'root-dd.xz'\n"
	    "windows amd64 generic win2016 uploaded xinstall 'dd-tgz' 'root-dd'\n");
	free(got);
	rmtree(root);
	free(root);
}

static const char META[] =
    "{\"ubuntu\": {\"amd64\": {"
    "\"ga-22.04\": {\"generic\": {\"jammy\": {\"stable\": "
    "{\"subarches\": \"generic,hwe-p,ga-22.04\"}}}},"
    "\"hwe-22.04-lowlatency\": {\"lowlatency\": {\"jammy\": {\"stable\": "
    "{\"subarches\": \"generic,hwe-22.04-lowlatency\"}}}}}}}";

static void
test_meta_and_find(void **state)
{
	char *root = tmpdir(), *cause = NULL;
	const struct bootres_image *im;
	struct bootres_list l;

	put(root, "ubuntu/amd64/ga-22.04/jammy/stable/squashfs", "");
	put(root, "ubuntu/amd64/hwe-22.04-lowlatency/jammy/stable/squashfs", "");
	put(root, "maas.meta", META);
	assert_int_equal(bootres_scan(root, &l, &cause), 0);
	assert_int_equal(l.n, 8);
	assert_string_equal(l.v[0].supported_subarches,
	    "generic,hwe-p,ga-22.04");
	assert_string_equal(l.v[4].supported_subarches,
	    "generic,hwe-22.04-lowlatency");	/* kflavor lowlatency */

	/* Exact subarch first. */
	im = bootres_find(&l, "ubuntu", "amd64", "hwe-22.04-lowlatency",
	    "jammy", "xinstall");
	assert_non_null(im);
	assert_string_equal(im->subarchitecture, "hwe-22.04-lowlatency");
	/* "enlist" is looked up as "commissioning". */
	im = bootres_find(&l, "ubuntu", "amd64", "ga-22.04", "jammy", "enlist");
	assert_non_null(im);
	assert_string_equal(im->purpose, "commissioning");
	/* Supported-subarch match: the first row listing it. */
	im = bootres_find(&l, "ubuntu", "amd64", "hwe-p", "jammy",
	    "commissioning");
	assert_non_null(im);
	assert_string_equal(im->subarchitecture, "ga-22.04");
	im = bootres_find(&l, "ubuntu", "amd64", "generic", "jammy",
	    "commissioning");
	assert_string_equal(im->subarchitecture, "ga-22.04");
	/* No match: other release, arch, purpose, or a partial name. */
	assert_null(bootres_find(&l, "ubuntu", "amd64", "ga-22.04", "focal",
	    "commissioning"));
	assert_null(bootres_find(&l, "ubuntu", "arm64", "ga-22.04", "jammy",
	    "commissioning"));
	assert_null(bootres_find(&l, "ubuntu", "amd64", "ga-22.04", "jammy",
	    "local"));
	assert_null(bootres_find(&l, "ubuntu", "amd64", "hwe", "jammy",
	    "commissioning"));
	bootres_list_free(&l);

	/* The pre-2.1 layout without kflavor (BootImageMapping.load_json,
	 * depth 6): generic kflavor only. */
	put(root, "maas.meta", "{\"ubuntu\": {\"amd64\": {"
	    "\"ga-22.04\": {\"jammy\": {\"stable\": {\"subarches\": \"old\"}}},"
	    "\"hwe-22.04-lowlatency\": {\"jammy\": {\"stable\": "
	    "{\"subarches\": \"x\"}}}}}}");
	assert_int_equal(bootres_scan(root, &l, &cause), 0);
	assert_string_equal(l.v[0].supported_subarches, "old");
	assert_null(l.v[4].supported_subarches);
	bootres_list_free(&l);

	/* A broken maas.meta costs the metadata, not the rows. */
	put(root, "maas.meta", "{not json");
	assert_int_equal(bootres_scan(root, &l, &cause), 0);
	assert_int_equal(l.n, 8);
	assert_null(l.v[0].supported_subarches);
	bootres_list_free(&l);
	rmtree(root);
	free(root);
}

static void
test_missing_root(void **state)
{
	struct bootres_list l;
	char *cause = NULL;

	assert_int_equal(bootres_scan("/nonexistent/boot-resources/current",
	    &l, &cause), 0);
	assert_int_equal(l.n, 0);
	assert_null(cause);
}

/* --- the cache ---------------------------------------------------------- */

static void
switch_current(const char *base, const char *snap)
{
	char *tmp, *cur;

	xasprintf(&tmp, "%s/current.tmp", base);
	xasprintf(&cur, "%s/current", base);
	unlink(tmp);
	if (symlink(snap, tmp) == -1 || rename(tmp, cur) == -1)
		fail_msg("switch current: %s", strerror(errno));
	free(tmp);
	free(cur);
}

static void
test_store_cache(void **state)
{
	char *base = tmpdir(), *s1, *s2, *cur;
	struct bootres_store *st;
	const struct bootres_list *l;
	unsigned long scans;

	xasprintf(&s1, "%s/snapshot-20231005-120000", base);
	xasprintf(&s2, "%s/snapshot-20231006-120000", base);
	xasprintf(&cur, "%s/current", base);
	put(s1, "ubuntu/amd64/ga-20.04/focal/stable/squashfs", "");
	put(s2, "ubuntu/amd64/ga-22.04/jammy/stable/squashfs", "");
	put(s2, "ubuntu/amd64/ga-20.04/focal/stable/squashfs", "");
	switch_current(base, "snapshot-20231005-120000");

	st = bootres_store_new(cur, 0);
	l = bootres_store_images(st);
	assert_int_equal(l->n, 4);
	scans = bootres_store_scans(st);
	/* Unchanged tree: served from memory. */
	l = bootres_store_images(st);
	l = bootres_store_images(st);
	assert_int_equal(bootres_store_scans(st), scans);

	/* The importer's atomic switch of `current`. */
	switch_current(base, "snapshot-20231006-120000");
	l = bootres_store_images(st);
	assert_int_equal(l->n, 8);
	assert_int_equal(bootres_store_scans(st), scans + 1);

	/* A change deep in the tree is seen after invalidate. */
	put(s2, "ubuntu/amd64/ga-24.04/noble/stable/squashfs", "");
	l = bootres_store_images(st);
	assert_int_equal(l->n, 8);
	bootres_store_invalidate(st);
	l = bootres_store_images(st);
	assert_int_equal(l->n, 12);

	/* maas.meta rewritten (import): re-scanned with its metadata. */
	put(s2, "maas.meta", "{\"ubuntu\": {\"amd64\": {\"ga-22.04\": "
	    "{\"generic\": {\"jammy\": {\"stable\": {\"subarches\": "
	    "\"generic\"}}}}}}}");
	l = bootres_store_images(st);
	assert_int_equal(bootres_store_scans(st), scans + 3);
	assert_non_null(bootres_find(l, "ubuntu", "amd64", "generic", "jammy",
	    "xinstall"));

	/* The root vanishing empties the list (MAAS: no images). */
	unlink(cur);
	l = bootres_store_images(st);
	assert_int_equal(l->n, 0);

	/* A new root from a reload. */
	bootres_store_set_root(st, s1);
	assert_string_equal(bootres_store_root(st), s1);
	assert_int_equal(bootres_store_images(st)->n, 4);
	bootres_store_free(st);

	/* max_age re-scans an unchanged tree once it is old. */
	st = bootres_store_new(s1, 1);
	bootres_store_images(st);
	scans = bootres_store_scans(st);
	usleep(3000);		/* not a synchronisation: ages the cache */
	bootres_store_images(st);
	assert_int_equal(bootres_store_scans(st), scans + 1);
	bootres_store_free(st);

	rmtree(base);
	free(base);
	free(s1);
	free(s2);
	free(cur);
}

/* --- the AMP answer ----------------------------------------------------- */

static void
test_encode_answer(void **state)
{
	static const uint8_t empty[] = { 0x78, 0x9c, 0x03, 0, 0, 0, 0, 0x01 };
	char *root = tmpdir(), *cause = NULL, *s;
	const struct amp_value *v;
	struct amp_box *ans, **rows;
	struct bootres_list l;
	size_t n;

	/* Empty list: MAAS's 8-byte zlib of nothing (maas-rpc.md §3.7 h). */
	memset(&l, 0, sizeof l);
	ans = amp_box_new();
	assert_int_equal(bootres_encode_answer(&l, ans, &cause), 0);
	v = amp_box_get(ans, "images");
	assert_non_null(v);
	assert_int_equal(v->len, sizeof empty);
	assert_memory_equal(v->data, empty, sizeof empty);
	amp_box_free(ans);

	snapshot(root);
	assert_int_equal(bootres_scan(root, &l, &cause), 0);
	put(root, "maas.meta", META);	/* never on the wire */
	ans = amp_box_new();
	assert_int_equal(bootres_encode_answer(&l, ans, &cause), 0);
	v = amp_box_get(ans, "images");
	assert_int_equal(v->data[0], 0x78);
	assert_int_equal(amp_clist_decode(v->data, v->len, &rows, &n, &cause),
	    0);
	assert_int_equal(n, l.n);
	assert_int_equal(n, 14);
	/* Row 2 is ga-22.04 xinstall: the eight fields, nothing else. */
	assert_int_equal(amp_box_get_str(rows[2], "osystem", &s, &cause), 0);
	assert_string_equal(s, "ubuntu");
	free(s);
	assert_int_equal(amp_box_get_str(rows[2], "subarchitecture", &s,
	    &cause), 0);
	assert_string_equal(s, "ga-22.04");
	free(s);
	assert_int_equal(amp_box_get_str(rows[2], "purpose", &s, &cause), 0);
	assert_string_equal(s, "xinstall");
	free(s);
	assert_int_equal(amp_box_get_str(rows[2], "xinstall_type", &s,
	    &cause), 0);
	assert_string_equal(s, "squashfs");
	free(s);
	assert_int_equal(amp_box_get_str(rows[2], "xinstall_path", &s,
	    &cause), 0);
	assert_string_equal(s, "squashfs");
	free(s);
	assert_int_equal(amp_box_get_str(rows[13], "label", &s, &cause), 0);
	assert_string_equal(s, "*");
	free(s);
	assert_int_equal(amp_box_get_str(rows[0], "xinstall_type", &s,
	    &cause), 0);
	assert_string_equal(s, "");
	free(s);
	assert_false(amp_box_has(rows[2], "supported_subarches"));
	amp_list_free(rows, n);
	amp_box_free(ans);
	bootres_list_free(&l);
	rmtree(root);
	free(root);
}

/* What rpc.c sends: rows when there is an xinstall image, else an error
 * (an empty list would veto every commissioning). */
static void
test_store_answer(void **state)
{
	char *root = tmpdir(), *cause = NULL;
	struct bootres_store *st = bootres_store_new(root, 0);
	struct amp_box *ans = amp_box_new();

	dir(root, "bootloader/pxe/i386");
	assert_int_equal(bootres_store_answer_list(st, ans, &cause), -1);
	assert_non_null(strstr(cause, "no boot images"));
	assert_false(amp_box_has(ans, "images"));
	free(cause);
	cause = NULL;

	put(root, "ubuntu/amd64/ga-22.04/jammy/stable/squashfs", "");
	bootres_store_invalidate(st);
	assert_int_equal(bootres_store_answer_list(st, ans, &cause), 0);
	assert_true(amp_box_has(ans, "images"));

	assert_false(bootres_store_answer_importing(st));
	bootres_store_set_importing(st, true);
	assert_true(bootres_store_answer_importing(st));
	amp_box_free(ans);
	bootres_store_free(st);
	rmtree(root);
	free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_rows),
		cmocka_unit_test(test_spec_verified_tree),
		cmocka_unit_test(test_partial_image),
		cmocka_unit_test(test_xinstall_types),
		cmocka_unit_test(test_meta_and_find),
		cmocka_unit_test(test_missing_root),
		cmocka_unit_test(test_store_cache),
		cmocka_unit_test(test_encode_answer),
		cmocka_unit_test(test_store_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
