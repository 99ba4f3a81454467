/*
 * kea_boot_classes.c — the bootloader classes of a Kea DHCPv4 config, as
 * MAAS 3.4's compose_conditional_bootloader writes them for isc-dhcpd
 * (spec maas-rack-boot.md §3.4): per boot method, in MAAS's registry
 * order with first-match-wins, the file name and option 210
 * (path-prefix).  Pure JSON in, JSON out.
 *
 * Kea evaluates client classes before it picks a subnet, so a class
 * cannot name the rack's address on the client's subnet.  The methods
 * whose answer does not depend on it carry their boot-file-name in a
 * global class; those with a URL (iPXE, UEFI HTTP, option 210
 * http://R:5248/) get one "only-if-required" class per subnet, required
 * by that subnet and evaluated after it was chosen, carrying R.
 * next-server stays the subnet's (kea_config.c: the rack's address).
 *
 * iPXE is matched as MAAS's dhcpd.conf does: user class "iPXE", or
 * iPXE's encapsulated option 175 (space "ipxe") carrying http (19) and
 * bzimage (24) or efi (36) -- builds that send no user class (some NIC
 * ROMs, chainloaded builds) still get ipxe.cfg.  Kea only sees the
 * sub-options when 175 is defined to encapsulate that space, so the
 * option-defs are added here with the class that needs them.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "kea_config.h"

struct boot_class {
	const char	*name;
	const char	*arch;		/* option 93 value, NULL: no test */
	const char	*file;		/* fixed file name, or NULL */
	const char	*url;		/* file http://R:5248/<url>, or NULL */
	const char	*prefix;	/* path-prefix, fixed */
	const char	*prefix_url;	/* path-prefix http://R:5248/<this> */
	int		 http_client;	/* vendor-class-identifier HTTPClient */
};

/* src/provisioningserver/boot/__init__.py@3.4.0 registry order. */
static const struct boot_class boot_classes[] = {
	{ "maas-ipxe", NULL, NULL, "ipxe.cfg", NULL, NULL, 0 },
	{ "maas-pxe", "0x0000", "lpxelinux.0", NULL, NULL,
	    "", 0 },
	{ "maas-uefi-amd64-tftp", "0x0007", "bootx64.efi", NULL, NULL, NULL,
	    0 },
	{ "maas-uefi-amd64-http", "0x0010", NULL,
	    "images/bootx64.efi", NULL, NULL, 1 },
	{ "maas-uefi-ebc-tftp", "0x0009", "bootx64.efi", NULL, NULL, NULL, 0 },
	{ "maas-uefi-arm64-tftp", "0x000b", "bootaa64.efi", NULL, NULL, NULL,
	    0 },
	{ "maas-uefi-arm64-http", "0x0013", NULL,
	    "images/bootaa64.efi", NULL, NULL, 1 },
	{ "maas-open-firmware-ppc64el", "0x000c", "bootppc64.bin", NULL, NULL,
	    NULL, 0 },
	{ "maas-powernv", "0x000e", "pxelinux.0", NULL, "ppc64el/", NULL, 0 },
	{ "maas-s390x", "0x001f", "boots390x.bin", NULL, "s390x/", NULL, 0 },
	{ "maas-s390x-partition", "0x0020", "s390x_partition/maas", NULL,
	    NULL, NULL, 0 },
	/* MAAS's "else": lpxelinux.0 with the HTTP path prefix. */
	{ "maas-boot-other", NULL, "lpxelinux.0", NULL, NULL,
	    "", 0 },
};
#define NCLASSES	(sizeof boot_classes / sizeof boot_classes[0])

/* MAAS's "if" for iPXE (boot/ipxe.py@3.4.0 with dhcpd.conf.template's
 * ipxe space). */
#define IPXE_TEST	"substring(option[77].hex,0,4) == 'iPXE' or " \
	"(option[175].option[19].exists and " \
	"(option[175].option[24].exists or option[175].option[36].exists))"

/* dhcpd.conf.template: option space ipxe; 175 encapsulates it; the
 * feature flags MAAS tests, each uint8. */
static void
ipxe_option_defs_add(json_t *dhcp4)
{
	static const struct { const char *name; int code; } subs[] = {
		{ "http", 19 }, { "bzimage", 24 }, { "efi", 36 },
	};
	json_t *defs = json_object_get(dhcp4, "option-def");
	size_t i;

	if (!json_is_array(defs)) {
		defs = json_array();
		json_object_set_new(dhcp4, "option-def", defs);
	}
	json_array_append_new(defs, json_pack("{s:s, s:i, s:s, s:s, s:s}",
	    "name", "ipxe-encap-opts", "code", 175, "type", "empty",
	    "space", "dhcp4", "encapsulate", "ipxe"));
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++)
		json_array_append_new(defs, json_pack("{s:s, s:i, s:s, s:s}",
		    "name", subs[i].name, "code", subs[i].code, "type",
		    "uint8", "space", "ipxe"));
}

static json_t *
path_prefix(const char *value)
{
	/* MAAS forces 210 into the parameter request list: always send. */
	return json_pack("{s:s, s:s, s:b}", "name", "path-prefix", "data",
	    value, "always-send", 1);
}

/* The test of class i: its own match, and none of the earlier ones
 * (isc-dhcpd's if/elsif). */
static json_t *
class_test(size_t i)
{
	char buf[1024];
	size_t k, n = 0;

	buf[0] = '\0';
	if (i == 0)
		return json_string(IPXE_TEST);
	if (boot_classes[i].arch != NULL) {
		snprintf(buf, sizeof buf, "not member('maas-ipxe') and "
		    "option[93].hex == %s", boot_classes[i].arch);
		return json_string(buf);
	}
	for (k = 0; k < i; k++)
		n += snprintf(buf + n, sizeof buf - n, "%snot member('%s')",
		    k == 0 ? "" : " and ", boot_classes[k].name);
	return json_string(buf);
}

void
kea_boot_classes_add(json_t *dhcp4)
{
	json_t *classes = json_object_get(dhcp4, "client-classes");
	json_t *c, *opts, *sns, *sn, *subs, *sub, *req;
	const char *rack;
	char url[256], name[128];
	size_t i, j, k;

	if (!json_is_array(classes)) {
		classes = json_array();
		json_object_set_new(dhcp4, "client-classes", classes);
	}
	ipxe_option_defs_add(dhcp4);
	for (i = 0; i < NCLASSES; i++) {
		c = json_pack("{s:s, s:o}", "name", boot_classes[i].name,
		    "test", class_test(i));
		if (boot_classes[i].file != NULL)
			json_object_set_new(c, "boot-file-name",
			    json_string(boot_classes[i].file));
		opts = json_array();
		if (boot_classes[i].prefix != NULL)
			json_array_append_new(opts,
			    path_prefix(boot_classes[i].prefix));
		if (boot_classes[i].http_client)
			/* UEFI HTTP boot takes an offer only with it;
			 * firmware need not ask for it. */
			json_array_append_new(opts, json_pack("{s:s, s:s, s:b}",
			    "name", "vendor-class-identifier", "data",
			    "HTTPClient", "always-send", 1));
		if (json_array_size(opts) > 0)
			json_object_set_new(c, "option-data", opts);
		else
			json_decref(opts);
		json_array_append_new(classes, c);
	}

	/* Per subnet: what needs the rack's address R (next-server). */
	sns = json_object_get(dhcp4, "shared-networks");
	json_array_foreach(sns, j, sn) {
		subs = json_object_get(sn, "subnet4");
		json_array_foreach(subs, k, sub) {
			rack = json_string_value(json_object_get(sub,
			    "next-server"));
			if (rack == NULL)
				continue;	/* no address: TFTP names only */
			req = json_array();
			for (i = 0; i < NCLASSES; i++) {
				if (boot_classes[i].url == NULL &&
				    boot_classes[i].prefix_url == NULL)
					continue;
				snprintf(name, sizeof name, "%s-%lld",
				    boot_classes[i].name, (long long)
				    json_integer_value(json_object_get(sub,
				    "id")));
				c = json_pack("{s:s, s:s++, s:b}", "name", name,
				    "test", "member('", boot_classes[i].name,
				    "')", "only-if-required", 1);
				if (boot_classes[i].url != NULL) {
					snprintf(url, sizeof url,
					    "http://%s:5248/%s", rack,
					    boot_classes[i].url);
					json_object_set_new(c, "boot-file-name",
					    json_string(url));
				} else {
					snprintf(url, sizeof url,
					    "http://%s:5248/%s", rack,
					    boot_classes[i].prefix_url);
					json_object_set_new(c, "option-data",
					    json_pack("[o]", path_prefix(url)));
				}
				json_array_append_new(classes, c);
				json_array_append_new(req, json_string(name));
			}
			json_object_set_new(sub, "require-client-classes", req);
		}
	}
}
