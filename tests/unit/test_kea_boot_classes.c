/*
 * test_kea_boot_classes.c — MAAS's bootloader classes added to a Dhcp4
 * object (kea_boot_classes.c): registry order, if/elsif tests, fixed
 * file names, and per subnet with a next-server the required classes
 * with the rack's URLs; a subnet without one gets none.  A real Kea
 * answers with them in tests/integration/074-dhcp-bootloader; the whole
 * generated config passes kea-dhcp4 -t in test_kea_config.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "kea_config.h"

static json_t *
find_class(json_t *d, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(d, "client-classes"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")),
		    name) == 0)
			return c;
	return NULL;
}

static const char *
field(json_t *c, const char *k)
{
	return json_string_value(json_object_get(c, k));
}

static void
test_classes(void **state)
{
	json_t *d = json_pack("{s:[{s:s}], s:[{s:s, s:[{s:i, s:s, s:s}, "
	    "{s:i, s:s}]}]}", "client-classes", "name", "PXE",
	    "shared-networks", "name", "vlan-1", "subnet4", "id", 7, "subnet",
	    "10.0.0.0/24", "next-server", "10.0.0.2", "id", 8, "subnet",
	    "10.9.0.0/24");
	static const int sub_codes[] = { 19, 24, 36 };	/* http bzimage efi */
	json_t *c, *sub, *req, *opt, *defs;
	size_t i;

	kea_boot_classes_add(d);
	/* The existing class stays first. */
	assert_string_equal(field(json_array_get(json_object_get(d,
	    "client-classes"), 0), "name"), "PXE");
	c = find_class(d, "maas-ipxe");
	assert_non_null(c);
	/* User class iPXE, or option 175 with http and bzimage or efi. */
	assert_string_equal(field(c, "test"),
	    "substring(option[77].hex,0,4) == 'iPXE' or "
	    "(option[175].option[19].exists and "
	    "(option[175].option[24].exists or "
	    "option[175].option[36].exists))");
	/* ...which Kea sees only with 175 encapsulating the ipxe space. */
	defs = json_object_get(d, "option-def");
	assert_int_equal(json_array_size(defs), 4);
	opt = json_array_get(defs, 0);
	assert_int_equal(json_integer_value(json_object_get(opt, "code")),
	    175);
	assert_string_equal(field(opt, "space"), "dhcp4");
	assert_string_equal(field(opt, "type"), "empty");
	assert_string_equal(field(opt, "encapsulate"), "ipxe");
	for (i = 1; i < 4; i++) {
		opt = json_array_get(defs, i);
		assert_int_equal(json_integer_value(json_object_get(opt,
		    "code")), sub_codes[i - 1]);
		assert_string_equal(field(opt, "space"), "ipxe");
		assert_string_equal(field(opt, "type"), "uint8");
	}
	c = find_class(d, "maas-pxe");
	assert_string_equal(field(c, "boot-file-name"), "lpxelinux.0");
	assert_string_equal(field(c, "test"),
	    "not member('maas-ipxe') and option[93].hex == 0x0000");
	assert_string_equal(field(find_class(d, "maas-uefi-amd64-tftp"),
	    "boot-file-name"), "bootx64.efi");
	assert_string_equal(field(find_class(d, "maas-uefi-arm64-tftp"),
	    "boot-file-name"), "bootaa64.efi");
	c = find_class(d, "maas-powernv");
	opt = json_array_get(json_object_get(c, "option-data"), 0);
	assert_string_equal(field(opt, "name"), "path-prefix");
	assert_string_equal(field(opt, "data"), "ppc64el/");
	/* MAAS's else: none of the above. */
	c = find_class(d, "maas-boot-other");
	assert_non_null(strstr(field(c, "test"),
	    "not member('maas-ipxe') and not member('maas-pxe')"));
	assert_non_null(strstr(field(c, "test"),
	    "not member('maas-s390x-partition')"));

	/* Subnet 7 (rack 10.0.0.2): its URLs in required classes. */
	sub = json_array_get(json_object_get(json_array_get(json_object_get(d,
	    "shared-networks"), 0), "subnet4"), 0);
	req = json_object_get(sub, "require-client-classes");
	assert_int_equal(json_array_size(req), 5);
	c = find_class(d, "maas-ipxe-7");
	assert_true(json_is_true(json_object_get(c, "only-if-required")));
	assert_string_equal(field(c, "test"), "member('maas-ipxe')");
	assert_string_equal(field(c, "boot-file-name"),
	    "http://10.0.0.2:5248/ipxe.cfg");
	assert_string_equal(field(find_class(d, "maas-uefi-amd64-http-7"),
	    "boot-file-name"), "http://10.0.0.2:5248/images/bootx64.efi");
	opt = json_array_get(json_object_get(find_class(d, "maas-pxe-7"),
	    "option-data"), 0);
	assert_string_equal(field(opt, "data"), "http://10.0.0.2:5248/");
	assert_true(json_is_true(json_object_get(opt, "always-send")));
	/* Subnet 8 has no rack address: no URL classes. */
	sub = json_array_get(json_object_get(json_array_get(json_object_get(d,
	    "shared-networks"), 0), "subnet4"), 1);
	assert_null(json_object_get(sub, "require-client-classes"));
	assert_null(find_class(d, "maas-ipxe-8"));
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
