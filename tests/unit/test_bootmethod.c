/*
 * test_bootmethod.c — bootmethod.c against every file-name example of
 * spec maas-rack-boot.md §2.2 (verified there with MAAS 3.4.0's own
 * match_path) and §2.8, plus the edges of MAAS's regexes (Python `$`
 * before a final newline, \w, mixed GRUB separators, upper-case MACs).
 * The expectations of the edge rows were checked against MAAS's
 * re_config_file patterns run by Python's re.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bootmethod.h"
#include "rackd.h"

#define NONE	((const char *)0)

struct mcase {
	const char	*path;
	const char	*method;	/* NULL: no match (plain file) */
	const char	*mac, *uuid, *arch, *subarch;
};

static const struct mcase cases[] = {
	/* PXE (boot/pxe.py re_config_file) */
	{ "pxelinux.cfg/01-52-54-00-12-34-56", "pxe", "52-54-00-12-34-56", "", "", "" },
	{ "/pxelinux.cfg/01-52-54-00-12-34-56", "pxe", "52-54-00-12-34-56", "", "", "" },
	{ "///pxelinux.cfg/01-52-54-00-12-34-56", "pxe", "52-54-00-12-34-56", "", "", "" },
	{ "pxelinux.cfg/01-52-54-00-12-34-5A", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/52-54-00-12-34-56", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/01-52:54:00:12:34:56", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/01-52-54-00-12-34-56-", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/8d9e1e4a-0b7e-4a79-b6ad-6b3bd6b1a1e7", "pxe", "",
	  "8d9e1e4a-0b7e-4a79-b6ad-6b3bd6b1a1e7", "", "" },
	{ "pxelinux.cfg/8D9E1E4A-0B7E-4A79-B6AD-6B3BD6B1A1E7", "pxe", "",
	  "8D9E1E4A-0B7E-4A79-B6AD-6B3BD6B1A1E7", "", "" },
	{ "pxelinux.cfg/8d9e1e4a-0b7e-4a79-b6ad-6b3bd6b1a1e", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/default", "pxe", "", "", "", "" },
	{ "pxelinux.cfg/default-amd64-generic", "pxe", "", "", "amd64", "generic" },
	{ "pxelinux.cfg/default.amd64", "pxe", "", "", "amd64", "" },
	{ "pxelinux.cfg/default.i386-generic", "pxe", "", "", "i386", "generic" },
	{ "pxelinux.cfg/default-arm-generic", "pxe", "", "", "arm64", "generic" },
	{ "pxelinux.cfg/default-amd64-ga-22.04", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/default-amd64-generic-x", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/default-", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/default_amd64", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/defaults", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/C0A80A05", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/C0A80A", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/C", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg/default\n", "pxe", "", "", "", "" },	/* `$` */
	{ "pxelinux.cfg/default\n\n", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.cfg\\default", "pxe", "", "", "", "" },	/* '\' */
	{ "pxelinuxXcfg/default", NONE, NULL, NULL, NULL, NULL },
	{ "pxelinux.0", NONE, NULL, NULL, NULL, NULL },
	{ "lpxelinux.0", NONE, NULL, NULL, NULL, NULL },
	{ "ldlinux.c32", NONE, NULL, NULL, NULL, NULL },
	{ "syslinux/ldlinux.c32", NONE, NULL, NULL, NULL, NULL },
	/* UEFI / GRUB (boot/grub.py) */
	{ "grub/grub.cfg-52:54:00:12:34:56", "uefi_amd64_tftp", "52-54-00-12-34-56", "", "", "" },
	{ "/grub/grub.cfg-52-54-00-12-34-56", "uefi_amd64_tftp", "52-54-00-12-34-56", "", "", "" },
	{ "grub/grub.cfg-52:54-00:12-34:56", "uefi_amd64_tftp", "52-54-00-12-34-56", "", "", "" },
	{ "grub/grub.cfg-52:54:00:12:34:5A", NONE, NULL, NULL, NULL, NULL },
	{ "grub/grub.cfg-01-52-54-00-12-34-56", NONE, NULL, NULL, NULL, NULL },
	{ "grub/grub.cfg", NONE, NULL, NULL, NULL, NULL },
	{ "grub/grub.cfg-default", "uefi_amd64_tftp", "", "", "", "" },
	{ "grub/grub.cfg-default-x86_64", "uefi_amd64_tftp", "", "", "amd64", "" },
	{ "/grub/grub.cfg-default-x86_64", "uefi_amd64_tftp", "", "", "amd64", "" },
	{ "grub/grub.cfg-default-arm64", "uefi_amd64_tftp", "", "", "arm64", "" },
	{ "grub/grub.cfg-default-powerpc", "uefi_amd64_tftp", "", "", "ppc64el", "" },
	{ "grub/grub.cfg-default-ppc64le-generic", "uefi_amd64_tftp", "", "", "ppc64el", "generic" },
	{ "grub/grub.cfg-default-arm", "uefi_amd64_tftp", "", "", "arm64", "" },
	{ "grub/grub.cfg-default.x86_64", NONE, NULL, NULL, NULL, NULL },
	{ "grub/grub.cfg-C0A80A05", NONE, NULL, NULL, NULL, NULL },
	{ "grub.cfg-default-x86_64", NONE, NULL, NULL, NULL, NULL },
	{ "grub/x86_64-efi/command.lst", NONE, NULL, NULL, NULL, NULL },
	{ "bootx64.efi", NONE, NULL, NULL, NULL, NULL },
	{ "grubx64.efi", NONE, NULL, NULL, NULL, NULL },
	/* iPXE (boot/ipxe.py) */
	{ "ipxe.cfg-52:54:00:12:34:56", "ipxe", "52-54-00-12-34-56", "", "", "" },
	{ "/ipxe.cfg-52:54:00:12:34:56", "ipxe", "52-54-00-12-34-56", "", "", "" },
	{ "ipxe.cfg-52-54-00-12-34-56", NONE, NULL, NULL, NULL, NULL },
	{ "ipxe.cfg-52:54:00:12:34:5a", "ipxe", "52-54-00-12-34-5a", "", "", "" },
	{ "ipxe.cfg-52:54:00:12:34:5A", NONE, NULL, NULL, NULL, NULL },
	{ "ipxe.cfg-default-amd64", "ipxe", "", "", "amd64", "" },
	{ "ipxe.cfg-default-amd64-hwe_22", "ipxe", "", "", "amd64", "hwe_22" },
	{ "ipxe.cfg-default", "ipxe", "", "", "", "" },
	{ "ipxe.cfg-default.amd64", NONE, NULL, NULL, NULL, NULL },
	{ "ipxe.cfg", NONE, NULL, NULL, NULL, NULL },
	/* Not handled by rackd (spec: a C rack may omit them). */
	{ "ppc64el/pxelinux.cfg/01-52-54-00-12-34-56", NONE, NULL, NULL, NULL, NULL },
	{ "s390x/01-52-54-00-12-34-56", NONE, NULL, NULL, NULL, NULL },
	{ "s390x_partition/maas", NONE, NULL, NULL, NULL, NULL },
	/* Noise. */
	{ "", NONE, NULL, NULL, NULL, NULL },
	{ "/", NONE, NULL, NULL, NULL, NULL },
	{ "../../etc/passwd", NONE, NULL, NULL, NULL, NULL },
};

static void
test_table(void **state)
{
	struct bootmethod_match m;
	size_t i;

	for (i = 0; i < RACKD_NELEM(cases); i++) {
		const struct mcase *c = &cases[i];
		int r = bootmethod_match(c->path, strlen(c->path), &m);

		if (c->method == NONE) {
			if (r != 0)
				fail_msg("%s: matched %s, expected no match",
				    c->path, m.method->name);
			assert_null(m.method);
			continue;
		}
		if (r != 1)
			fail_msg("%s: no match, expected %s", c->path, c->method);
		assert_string_equal(m.method->name, c->method);
		if (strcmp(m.mac, c->mac) != 0 ||
		    strcmp(m.hardware_uuid, c->uuid) != 0 ||
		    strcmp(m.arch, c->arch) != 0 ||
		    strcmp(m.subarch, c->subarch) != 0)
			fail_msg("%s: got mac=%s uuid=%s arch=%s subarch=%s",
			    c->path, m.mac, m.hardware_uuid, m.arch, m.subarch);
	}
}

/* The bios_boot_method each method sends in GetBootConfig. */
static void
test_methods(void **state)
{
	struct bootmethod_match m;

	assert_int_equal(bootmethod_count, 3);
	assert_int_equal(bootmethod_match("ipxe.cfg-default", 16, &m), 1);
	assert_string_equal(m.method->bios_boot_method, "ipxe");
	assert_string_equal(m.method->template_subdir, "ipxe");
	assert_int_equal(bootmethod_match("pxelinux.cfg/default", 20, &m), 1);
	assert_string_equal(m.method->bios_boot_method, "pxe");
	assert_int_equal(bootmethod_match("grub/grub.cfg-default", 21, &m), 1);
	assert_string_equal(m.method->bios_boot_method, "uefi");
	assert_string_equal(m.method->template_subdir, "uefi");
}

/* Lengths, not C strings: a NUL ends nothing, and is no match. */
static void
test_binary(void **state)
{
	struct bootmethod_match m;
	char big[2048];

	assert_int_equal(bootmethod_match("pxelinux.cfg/default\0x", 22, &m), 0);
	assert_int_equal(bootmethod_match("pxelinux.cfg/default-\0", 22, &m), 0);
	assert_int_equal(bootmethod_match("grub/grub.cfg-52\0""54:00:12:34:56",
	    31, &m), 0);
	/* Only the given length is read. */
	assert_int_equal(bootmethod_match("pxelinux.cfg/defaultXYZ", 20, &m), 1);
	/* An over-long word is no match rather than truncated. */
	memset(big, 'a', sizeof big);
	memcpy(big, "ipxe.cfg-default-", 17);
	assert_int_equal(bootmethod_match(big, 17 + BOOTMETHOD_WORD_MAX, &m), 1);
	assert_int_equal(strlen(m.arch), BOOTMETHOD_WORD_MAX);
	assert_int_equal(bootmethod_match(big, 18 + BOOTMETHOD_WORD_MAX, &m), 0);
	/* Too long for any method: no match, and *m cleared all the same. */
	memset(&m, 0xaa, sizeof m);
	assert_int_equal(bootmethod_match(big, sizeof big, &m), 0);
	assert_null(m.method);
	assert_string_equal(m.arch, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
