/*
 * test_imagesync_boot.c — the boot methods' files in a new snapshot
 * (src/boot/imagesync_boot.c; maas-rack-boot.md §1.5, §2.6):
 * ipxe.cfg and grub/grub.cfg byte for byte as MAAS 3.4.0 writes them
 * (their lengths and sha256 taken from boot/ipxe.py and boot/grub.py at
 * tag 3.4.0), grub.cfg kept when present; stream bootloaders symlinked;
 * without them the previous snapshot's files (hard links), then the
 * package paths (symlinks), Debian's unsigned GRUB for bootx64/grubx64;
 * nothing anywhere gives MAAS's RACK_IMPORT_ERROR texts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../src/boot/imagesync_private.h"
#include "log.h"
#include "xmalloc.h"

/* MAAS 3.4.0 boot/ipxe.py and boot/grub.py CONFIG_FILE (dedent'ed). */
static const char maas_ipxe_cfg[] =
    "#!ipxe\n"
    "# MAAS iPXE pre-loader configuration file\n"
    "\n"
    "# Load based on MAC address first.\n"
    "chain http://${next-server}:5248/ipxe.cfg-${net0/mac} ||\n"
    "\n"
    "# Failed to load based on MAC address.\n"
    "chain http://${next-server}:5248/ipxe.cfg-default-amd64\n";
#define MAAS_IPXE_LEN	238
#define MAAS_IPXE_SHA	\
    "5acf3faaf8216ba1af2c278b7c3f931ede6189eae7f1030bf16a516cbde11ea9"
static const char maas_grub_cfg[] =
    "\n"
    "# MAAS GRUB2 pre-loader configuration file\n"
    "\n"
    "# Load based on MAC address first.\n"
    "configfile /grub/grub.cfg-${net_default_mac}\n"
    "\n"
    "# Failed to load based on MAC address. Load based on the CPU\n"
    "# architecture.\n"
    "configfile /grub/grub.cfg-default-${grub_cpu}\n";
#define MAAS_GRUB_LEN	249
#define MAAS_GRUB_SHA	\
    "18f8e300e15ff28f07565e0198e82c8e47d84ec0aaa9fc10665d33e8d19bd121"

struct fx {
	char		 dir[64];	/* storage */
	char		*snap;
	char		*pkg;		/* fake package tree */
	struct is_boot_sys sys;
	char		*reports[16];
	int		 nreports;
};

static void
report(void *arg, const char *msg)
{
	struct fx *f = arg;

	if (f->nreports < 16)
		f->reports[f->nreports++] = xstrdup(msg);
}

static char *
pathf(const char *fmt, ...)
{
	char *p;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&p, fmt, ap);
	va_end(ap);
	return p;
}

static void
put(const char *path, const char *text)
{
	char *dir = xstrdup(path), *cause = NULL;

	*strrchr(dir, '/') = '\0';
	assert_int_equal(is_mkdirs(dir), 0);
	free(dir);
	assert_int_equal(is_write_file(path, text, &cause), 0);
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf = xmalloc(65536);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, 65535);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void
sha_hex(const char *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	log_init("test_imagesync_boot", getenv("TEST_DEBUG") != NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_isboot.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->snap = pathf("%s/snapshot-20240101-000000", f->dir);
	assert_int_equal(mkdir(f->snap, 0755), 0);
	f->pkg = pathf("%s-pkg", f->dir);
	f->sys.pxelinux = pathf("%s/PXELINUX", f->pkg);
	f->sys.syslinux_bios = pathf("%s/syslinux/bios", f->pkg);
	f->sys.shim_signed = pathf("%s/shim/shim.efi.signed", f->pkg);
	f->sys.grub_signed = pathf("%s/grub-signed/grubnetx64.efi.signed",
	    f->pkg);
	f->sys.grub_unsigned = pathf("%s/grub/grubnetx64.efi", f->pkg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int i;

	is_rmtree(f->dir);
	is_rmtree(f->pkg);
	free(f->snap);
	free(f->pkg);
	free((char *)f->sys.pxelinux);
	free((char *)f->sys.syslinux_bios);
	free((char *)f->sys.shim_signed);
	free((char *)f->sys.grub_signed);
	free((char *)f->sys.grub_unsigned);
	for (i = 0; i < f->nreports; i++)
		free(f->reports[i]);
	free(f);
	return 0;
}

static void
link_all(struct fx *f)
{
	char *cause = NULL;

	assert_int_equal(is_boot_link(f->dir, f->snap, &f->sys, report, f,
	    &cause), 0);
}

static void
assert_link_to(struct fx *f, const char *name, const char *target)
{
	char *p = pathf("%s/%s", f->snap, name), buf[PATH_MAX];
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);

	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, target);
	free(p);
}

static int
has_report(struct fx *f, const char *text)
{
	int i;

	for (i = 0; i < f->nreports; i++)
		if (strcmp(f->reports[i], text) == 0)
			return 1;
	return 0;
}

/* The static files: MAAS's bytes exactly; grub.cfg kept if present. */
static void
test_static_files(void **state)
{
	struct fx *f = *state;
	char *p, *buf, hex[2 * EVP_MAX_MD_SIZE + 1], *cause = NULL;
	size_t len;

	assert_int_equal(strlen(maas_ipxe_cfg), MAAS_IPXE_LEN);
	assert_int_equal(strlen(maas_grub_cfg), MAAS_GRUB_LEN);
	assert_int_equal(is_boot_static_files(f->snap, &cause), 0);
	p = pathf("%s/ipxe.cfg", f->snap);
	buf = slurp(p, &len);
	assert_int_equal(len, MAAS_IPXE_LEN);
	assert_memory_equal(buf, maas_ipxe_cfg, len);
	sha_hex(buf, len, hex);
	assert_string_equal(hex, MAAS_IPXE_SHA);
	free(buf);
	free(p);
	p = pathf("%s/grub/grub.cfg", f->snap);
	buf = slurp(p, &len);
	assert_int_equal(len, MAAS_GRUB_LEN);
	assert_memory_equal(buf, maas_grub_cfg, len);
	sha_hex(buf, len, hex);
	assert_string_equal(hex, MAAS_GRUB_SHA);
	free(buf);
	/* An operator's grub.cfg stays; ipxe.cfg is always rewritten. */
	put(p, "custom\n");
	free(p);
	p = pathf("%s/ipxe.cfg", f->snap);
	put(p, "old\n");
	assert_int_equal(is_boot_static_files(f->snap, &cause), 0);
	buf = slurp(p, &len);
	assert_string_equal(buf, maas_ipxe_cfg);
	free(buf);
	free(p);
	p = pathf("%s/grub/grub.cfg", f->snap);
	buf = slurp(p, &len);
	assert_string_equal(buf, "custom\n");
	free(buf);
	free(p);
}

/* Stream bootloaders: symlinks into bootloader/<type>/<arch>; a file the
 * stream lacks is MAAS's "SimpleStream is missing" error. */
static void
test_stream_bootloaders(void **state)
{
	struct fx *f = *state;
	static const char *const pxe[] = { "lpxelinux.0", "chain.c32",
	    "ifcpu64.c32", "ldlinux.c32", "libcom32.c32", "libutil.c32" };
	char *p, *dir;
	size_t i;

	for (i = 0; i < 6; i++) {
		p = pathf("%s/bootloader/pxe/i386/%s", f->snap, pxe[i]);
		put(p, pxe[i]);
		free(p);
	}
	p = pathf("%s/bootloader/uefi/amd64/bootx64.efi", f->snap);
	put(p, "shim");
	free(p);
	link_all(f);
	dir = pathf("%s/bootloader/pxe/i386", f->snap);
	for (i = 0; i < 6; i++) {
		p = pathf("%s/%s", dir, pxe[i]);
		assert_link_to(f, pxe[i], p);
		free(p);
	}
	assert_link_to(f, "syslinux", dir);
	assert_link_to(f, "pxelinux.0", "lpxelinux.0");
	free(dir);
	p = pathf("%s/bootloader/uefi/amd64/bootx64.efi", f->snap);
	assert_link_to(f, "bootx64.efi", p);
	free(p);
	assert_true(has_report(f, "SimpleStream is missing required "
	    "bootloader file 'grubx64.efi' from bootloader uefi_amd64_tftp."));
	/* arm64 and ppc64el have nothing anywhere (no signed packages). */
	assert_true(has_report(f, "Unable to find a copy of bootx64.efi, "
	    "grubx64.efi in the SimpleStream and the packages shim-signed, "
	    "and grub-efi-amd64-signed are not installed. The "
	    "uefi_arm64_tftp bootloader type may not work."));
	assert_int_equal(f->nreports, 3);
}

/* No stream bootloader, a previous snapshot has them: hard links (the
 * old snapshot is removed after the switch), not links into it. */
static void
test_previous_snapshot(void **state)
{
	struct fx *f = *state;
	char *old, *p, *cur;
	struct stat a, b;

	old = pathf("%s/snapshot-20230101-000000", f->dir);
	p = pathf("%s/bootloader/uefi/amd64/grubx64.efi", old);
	put(p, "grub");
	free(p);
	p = pathf("%s/bootloader/uefi/amd64/bootx64.efi", old);
	put(p, "shim");
	free(p);
	p = pathf("%s/bootx64.efi", old);
	assert_int_equal(symlink("bootloader/uefi/amd64/bootx64.efi", p), 0);
	free(p);
	p = pathf("%s/grubx64.efi", old);
	assert_int_equal(symlink("bootloader/uefi/amd64/grubx64.efi", p), 0);
	free(p);
	cur = pathf("%s/current", f->dir);
	assert_int_equal(symlink(old, cur), 0);
	link_all(f);
	p = pathf("%s/grubx64.efi", f->snap);
	assert_int_equal(lstat(p, &a), 0);
	assert_true(S_ISREG(a.st_mode));
	free(p);
	p = pathf("%s/bootloader/uefi/amd64/grubx64.efi", old);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	free(p);
	assert_false(has_report(f, "Unable to find a copy of bootx64.efi, "
	    "grubx64.efi in the SimpleStream and the packages shim-signed, "
	    "and grub-efi-amd64-signed are not installed. The "
	    "uefi_amd64_tftp bootloader type may not work."));
	free(cur);
	free(old);
}

/* No stream, no previous snapshot: the package paths.  Signed shim
 * absent, unsigned GRUB present: it serves as both (Debian). */
static void
test_packages(void **state)
{
	struct fx *f = *state;
	char *p;

	p = pathf("%s/lpxelinux.0", f->sys.pxelinux);
	put(p, "lpx");
	free(p);
	p = pathf("%s/ldlinux.c32", f->sys.syslinux_bios);
	put(p, "ld");
	free(p);
	put(f->sys.grub_signed, "signed grub");
	put(f->sys.grub_unsigned, "grub");
	link_all(f);
	p = pathf("%s/lpxelinux.0", f->sys.pxelinux);
	assert_link_to(f, "lpxelinux.0", p);
	free(p);
	p = pathf("%s/ldlinux.c32", f->sys.syslinux_bios);
	assert_link_to(f, "ldlinux.c32", p);
	free(p);
	assert_link_to(f, "syslinux", f->sys.syslinux_bios);
	assert_link_to(f, "pxelinux.0", "lpxelinux.0");
	assert_link_to(f, "bootx64.efi", f->sys.grub_unsigned);
	assert_link_to(f, "grubx64.efi", f->sys.grub_signed);
	p = pathf("Unable to find a copy of chain.c32, ifcpu64.c32, "
	    "libcom32.c32, libutil.c32 in the SimpleStream or in the system "
	    "search paths %s/current, %s/current/syslinux, %s, %s. The pxe "
	    "bootloader type may not work.", f->dir, f->dir, f->sys.pxelinux,
	    f->sys.syslinux_bios);
	assert_true(has_report(f, p));
	free(p);
	/* amd64 found its files: no error for it. */
	assert_int_equal(f->nreports, 3);	/* pxe, arm64, ppc64el */
}

/* Nothing anywhere: MAAS's errors, and the static files still there. */
static void
test_nothing(void **state)
{
	struct fx *f = *state;
	char *p;
	struct stat st;

	link_all(f);
	assert_true(has_report(f, "Unable to find a copy of bootx64.efi, "
	    "grubx64.efi in the SimpleStream and the packages shim-signed, "
	    "and grub-efi-amd64-signed are not installed. The "
	    "uefi_amd64_tftp bootloader type may not work."));
	assert_true(has_report(f, "Unable to find a copy of bootx64.efi, "
	    "grubx64.efi in the SimpleStream and the packages shim-signed, "
	    "and grub-efi-amd64-signed are not installed. The "
	    "open-firmware_ppc64el bootloader type may not work."));
	assert_int_equal(f->nreports, 4);
	p = pathf("%s/pxelinux.0", f->snap);
	assert_int_equal(lstat(p, &st), -1);	/* nothing to point at */
	free(p);
	p = pathf("%s/ipxe.cfg", f->snap);
	assert_int_equal(stat(p, &st), 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_static_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stream_bootloaders,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_previous_snapshot, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_packages, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
