/*
 * test_bootconfig.c — bootconfig.c: every case of
 * tests/unit/data/boot-golden/cases rendered and compared byte for byte
 * with its file (MAAS 3.4.0's own output, or real tempita over MAAS's
 * templates; see the README there); a case with NAME.error must fail.
 * Plus the kernel command line pieces, the static pre-loader configs,
 * and the rack-side resolution of a GetBootConfig answer (image label,
 * MarkNodeFailed decision).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amp.h"
#include "bootconfig.h"
#include "bootmethod.h"
#include "bootres.h"
#include "xmalloc.h"

#define GOLDEN_DIR	"tests/unit/data/boot-golden"

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		fail_msg("read %s", path);
	buf[n] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = (size_t)n;
	return buf;
}

/* One paragraph of the cases file. */
struct gcase {
	char	*keys[32];
	char	*vals[32];
	int	 n;
};

static const char *
get(const struct gcase *c, const char *key)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->keys[i], key) == 0)
			return c->vals[i];
	return NULL;
}

static const struct bootmethod *
method_named(const char *name)
{
	if (strcmp(name, "pxe") == 0)
		return bootmethod_get(BOOTMETHOD_PXE);
	if (strcmp(name, "ipxe") == 0)
		return bootmethod_get(BOOTMETHOD_IPXE);
	if (strcmp(name, "uefi") == 0)
		return bootmethod_get(BOOTMETHOD_UEFI);
	fail_msg("unknown method %s", name);
	return NULL;
}

static int
render_case(const struct gcase *c, char **out, size_t *len, char **cause)
{
	struct bootconfig_params p;
	const char *lp = get(c, "log_port");

	memset(&p, 0, sizeof p);
	p.osystem = get(c, "osystem");
	p.arch = get(c, "arch");
	p.subarch = get(c, "subarch");
	p.release = get(c, "release");
	p.kernel = get(c, "kernel");
	p.initrd = get(c, "initrd");
	p.boot_dtb = get(c, "boot_dtb");
	p.label = get(c, "label");
	p.purpose = get(c, "purpose");
	p.hostname = get(c, "hostname");
	p.domain = get(c, "domain");
	p.preseed_url = get(c, "preseed_url");
	p.log_host = get(c, "log_host");
	p.log_port = lp == NULL || *lp == '\0' ? 0 : atoi(lp);
	p.fs_host = get(c, "fs_host");
	p.extra_opts = get(c, "extra_opts");
	p.ephemeral_opts = get(c, "ephemeral_opts");
	return bootconfig_render(method_named(get(c, "method")), &p,
	    strcmp(get(c, "protocol"), "tftp") == 0 ? BOOTCONFIG_TFTP :
	    BOOTCONFIG_HTTP, get(c, "debug") != NULL &&
	    strcmp(get(c, "debug"), "true") == 0, out, len, cause);
}

static void
check_case(const struct gcase *c, int *nfiles, int *nerrors)
{
	const char *name = get(c, "name");
	char *path, *expect, *got = NULL, *cause = NULL;
	size_t elen, glen;
	int r;

	assert_non_null(name);
	r = render_case(c, &got, &glen, &cause);
	xasprintf(&path, "%s/%s.error", GOLDEN_DIR, name);
	if (access(path, F_OK) == 0) {
		if (r != -1)
			fail_msg("%s: rendered, but MAAS raises (%s):\n%s", name,
			    path, got);
		assert_non_null(cause);
		free(cause);
		free(path);
		(*nerrors)++;
		return;
	}
	free(path);
	if (r == -1)
		fail_msg("%s: %s", name, cause);
	xasprintf(&path, "%s/%s", GOLDEN_DIR, name);
	if ((expect = slurp(path, &elen)) == NULL)
		fail_msg("%s missing", path);
	if (elen != glen || memcmp(expect, got, elen) != 0)
		fail_msg("%s: expected (%zu bytes):\n%s\n--- got (%zu bytes):\n"
		    "%s", name, elen, expect, glen, got);
	assert_int_equal(strlen(got), glen);
	free(expect);
	free(got);
	free(path);
	(*nfiles)++;
}

static void
test_golden(void **state)
{
	char *text = slurp(GOLDEN_DIR "/cases", NULL), *line, *save = NULL;
	struct gcase c;
	int nfiles = 0, nerrors = 0, i;

	assert_non_null(text);
	memset(&c, 0, sizeof c);
	for (line = text;; line = NULL) {
		char *l = strtok_r(line, "\n", &save), *colon;

		/* strtok_r skips empty lines: a new "name:" starts a case. */
		if (l == NULL || strncmp(l, "name:", 5) == 0) {
			if (c.n > 0)
				check_case(&c, &nfiles, &nerrors);
			for (i = 0; i < c.n; i++) {
				free(c.keys[i]);
				free(c.vals[i]);
			}
			memset(&c, 0, sizeof c);
			if (l == NULL)
				break;
		}
		if (l[0] == '#' || (colon = strchr(l, ':')) == NULL)
			continue;
		assert_true(c.n < 32);
		c.keys[c.n] = xstrndup(l, (size_t)(colon - l));
		c.vals[c.n++] = xstrdup(colon[1] == ' ' ? colon + 2 : colon + 1);
	}
	free(text);
	/* 8 from MAAS itself, the rest from real tempita. */
	assert_true(nfiles >= 22);
	assert_int_equal(nerrors, 4);
}

/* --- kernel command line ------------------------------------------------ */

static struct bootconfig_params
base_params(void)
{
	struct bootconfig_params p;

	memset(&p, 0, sizeof p);
	p.osystem = "ubuntu";
	p.arch = "amd64";
	p.subarch = "ga-20.04";
	p.release = "focal";
	p.label = "stable";
	p.purpose = "commissioning";
	p.hostname = "vm1";
	p.preseed_url = "http://r/seed";
	p.log_host = "10.0.0.1";
	p.fs_host = "10.0.0.1";
	return p;
}

static void
test_kernel_command(void **state)
{
	struct bootconfig_params p = base_params();
	char *s, *cause = NULL;

	s = bootconfig_kernel_command(&p, &cause);
	assert_string_equal(s, "nomodeset ro root=squash:http://10.0.0.1:5248/"
	    "images/ubuntu/amd64/ga-20.04/focal/stable/squashfs "
	    "ip=::::vm1:BOOTIF ip6=off overlayroot=tmpfs "
	    "overlayroot_cfgdisk=disabled "
	    "cc:{'datasource_list': ['MAAS']}end_cc "
	    "cloud-config-url=http://r/seed apparmor=0 log_host=10.0.0.1 "
	    "log_port=5247");
	free(s);

	/* jammy and later, other OSes, unknown releases: no apparmor=0. */
	p.release = "noble";
	s = bootconfig_kernel_command(&p, &cause);
	assert_null(strstr(s, "apparmor"));
	free(s);
	p.release = "impish";
	s = bootconfig_kernel_command(&p, &cause);
	assert_non_null(strstr(s, " apparmor=0 "));
	free(s);
	p.osystem = "centos";
	s = bootconfig_kernel_command(&p, &cause);
	assert_null(strstr(s, "apparmor"));
	free(s);

	/* log_port, arch options, ephemeral then extra options. */
	p = base_params();
	p.release = "jammy";
	p.log_port = 514;
	p.arch = "ppc64el";
	p.subarch = "generic";
	p.ephemeral_opts = "nvme-core.multipath=0";
	p.extra_opts = "quiet";
	s = bootconfig_kernel_command(&p, &cause);
	assert_non_null(strstr(s, " log_host=10.0.0.1 log_port=514 "
	    "rootdelay=60 nvme-core.multipath=0 --- quiet"));
	free(s);

	/* IPv6: brackets in the URL, ip=off ip6=dhcp. */
	p = base_params();
	p.fs_host = "fd00::2";
	s = bootconfig_kernel_command(&p, &cause);
	assert_non_null(strstr(s, "root=squash:http://[fd00::2]:5248/"));
	assert_non_null(strstr(s, " ip=off ip6=dhcp "));
	free(s);

	/* A host name is refused, as netaddr.IPAddress refuses it. */
	p.fs_host = "rack.example";
	assert_null(bootconfig_kernel_command(&p, &cause));
	assert_non_null(strstr(cause, "rack.example"));
	free(cause);
}

static void
test_static_files(void **state)
{
	/* Spec §2.6, exact bytes. */
	assert_string_equal(bootconfig_ipxe_cfg, "#!ipxe\n# MAAS iPXE pre-loader "
	    "configuration file\n\n# Load based on MAC address first.\nchain "
	    "http://${next-server}:5248/ipxe.cfg-${net0/mac} ||\n\n# Failed to "
	    "load based on MAC address.\nchain http://${next-server}:5248/"
	    "ipxe.cfg-default-amd64\n");
	assert_string_equal(bootconfig_grub_cfg, "\n# MAAS GRUB2 pre-loader "
	    "configuration file\n\n# Load based on MAC address first.\n"
	    "configfile /grub/grub.cfg-${net_default_mac}\n\n# Failed to load "
	    "based on MAC address. Load based on the CPU\n# architecture.\n"
	    "configfile /grub/grub.cfg-default-${grub_cpu}\n");
}

/* Every template alias resolves and every template renders for a
 * plausible answer (no expression outside the subset, but the PXE
 * poweroff template's undefined {{poweroff}}). */
static void
test_all_templates(void **state)
{
	struct bootconfig_params p = base_params();
	struct bootmethod m;
	size_t i, len;
	char *out, *cause, purpose[64], *dot;

	for (i = 0; i < bootconfig_ntemplates; i++) {
		const struct bootconfig_template *t = &bootconfig_templates[i];

		memset(&m, 0, sizeof m);
		m.id = strcmp(t->subdir, "uefi") == 0 ? BOOTMETHOD_UEFI :
		    strcmp(t->subdir, "ipxe") == 0 ? BOOTMETHOD_IPXE :
		    BOOTMETHOD_PXE;
		m.template_subdir = t->subdir;
		snprintf(purpose, sizeof purpose, "%s", t->name);
		p.arch = "amd64";
		p.subarch = "generic";
		if ((dot = strchr(purpose, '.')) != NULL) {
			*dot = '\0';
			p.arch = dot + 1;
			if ((dot = strchr(dot + 1, '.')) != NULL) {
				*dot = '\0';
				p.subarch = dot + 1;
			}
		}
		p.purpose = purpose;
		cause = NULL;
		if (bootconfig_render(&m, &p, BOOTCONFIG_TFTP, true, &out, &len,
		    &cause) == -1) {
			if (strcmp(t->subdir, "pxe") == 0 &&
			    strcmp(t->name, "poweroff") == 0) {
				assert_non_null(strstr(cause, "poweroff"));
				free(cause);
				continue;
			}
			fail_msg("%s/%s: %s", t->subdir, t->name, cause);
		}
		assert_true(len > 0);
		assert_null(strstr(out, "{{"));
		free(out);
	}
}

/* --- resolution (spec §2.4) -------------------------------------------- */

static struct bootres_image
row(const char *os, const char *sub, const char *rel, const char *purpose,
    const char *label, const char *supported)
{
	struct bootres_image im;

	memset(&im, 0, sizeof im);
	im.osystem = (char *)os;
	im.architecture = (char *)"amd64";
	im.subarchitecture = (char *)sub;
	im.release = (char *)rel;
	im.label = (char *)label;
	im.purpose = (char *)purpose;
	im.xinstall_type = (char *)"";
	im.xinstall_path = (char *)"";
	im.supported_subarches = (char *)supported;
	return im;
}

static void
test_resolve(void **state)
{
	struct bootres_image v[] = {
		row("ubuntu", "ga-20.04", "focal", "commissioning", "stable",
		    "generic,hwe-20.04,ga-20.04"),
		row("ubuntu", "ga-20.04", "focal", "xinstall", "candidate", NULL),
		row("caringo", "generic", "9", "ephemeral", "uploaded", NULL),
	};
	struct bootres_list l = { v, 3 };
	struct bootconfig_resolution r;

	bootconfig_resolve(&l, "ubuntu", "amd64", "ga-20.04", "focal",
	    "commissioning", true, "10.0.0.9", &r);
	assert_string_equal(r.purpose, "commissioning");
	assert_string_equal(r.label, "stable");
	assert_null(r.mark_failed);
	assert_null(r.missing);
	bootconfig_resolution_free(&r);

	/* enlist uses the commissioning image; supported subarch match. */
	bootconfig_resolve(&l, "ubuntu", "amd64", "hwe-20.04", "focal",
	    "enlist", false, "10.0.0.9", &r);
	assert_string_equal(r.purpose, "enlist");
	assert_string_equal(r.label, "stable");
	bootconfig_resolution_free(&r);

	bootconfig_resolve(&l, "ubuntu", "amd64", "ga-20.04", "focal",
	    "xinstall", true, "10.0.0.9", &r);
	assert_string_equal(r.label, "candidate");
	bootconfig_resolution_free(&r);

	/* local / local-device: no image needed. */
	bootconfig_resolve(&l, "ubuntu", "amd64", "ga-22.04", "jammy",
	    "local-device", true, "10.0.0.9", &r);
	assert_string_equal(r.purpose, "local");
	assert_string_equal(r.label, "local");
	assert_null(r.mark_failed);
	bootconfig_resolution_free(&r);

	/* local on an ephemeral OS boots the ephemeral image. */
	bootconfig_resolve(&l, "caringo", "amd64", "generic", "9", "local",
	    true, "10.0.0.9", &r);
	assert_string_equal(r.purpose, "ephemeral");
	assert_string_equal(r.label, "uploaded");
	bootconfig_resolution_free(&r);

	/* Missing image, known machine: MarkNodeFailed, MAAS's words. */
	bootconfig_resolve(&l, "ubuntu", "amd64", "ga-22.04", "jammy",
	    "commissioning", true, "10.0.0.9", &r);
	assert_string_equal(r.label, "no-such-image");
	assert_string_equal(r.mark_failed,
	    "Missing boot image ubuntu/amd64/ga-22.04/jammy.");
	assert_null(r.missing);
	bootconfig_resolution_free(&r);

	/* Missing image, unknown machine: logged only. */
	bootconfig_resolve(&l, "ubuntu", "amd64", "ga-22.04", "jammy",
	    "commissioning", false, "10.0.0.9", &r);
	assert_null(r.mark_failed);
	assert_string_equal(r.missing, "Enlistment failed to boot 10.0.0.9; "
	    "missing required boot image ubuntu/amd64/ga-22.04/jammy.");
	bootconfig_resolution_free(&r);
}

/* The path the config points at for a missing image (rendered anyway,
 * as MAAS does): label no-such-image. */
static void
test_missing_image_render(void **state)
{
	struct bootconfig_params p = base_params();
	char *out, *cause = NULL;
	size_t len;

	p.label = "no-such-image";
	assert_int_equal(bootconfig_render(bootmethod_get(BOOTMETHOD_IPXE), &p,
	    BOOTCONFIG_HTTP, false, &out, &len, &cause), 0);
	assert_non_null(strstr(out, "kernel http://10.0.0.1:5248/images/ubuntu/"
	    "amd64/ga-20.04/focal/no-such-image/boot-kernel\n"));
	free(out);
}

/* --- the backend's whole path, pure parts -------------------------------- */

static char *
box_str(const struct amp_box *b, const char *key)
{
	char *s = NULL, *cause = NULL;

	if (amp_box_get_str(b, key, &s, &cause) != 0)
		return NULL;
	return s;
}

/* The answer MAAS's region gives for the golden machine (spec §2.3). */
static struct amp_box *
golden_answer(void)
{
	struct amp_box *a = amp_box_new();

	amp_box_put_str(a, "arch", "amd64");
	amp_box_put_str(a, "subarch", "ga-20.04");
	amp_box_put_str(a, "osystem", "ubuntu");
	amp_box_put_str(a, "release", "focal");
	amp_box_put_str(a, "kernel", "boot-kernel");
	amp_box_put_str(a, "initrd", "boot-initrd");
	amp_box_put_str(a, "purpose", "commissioning");
	amp_box_put_str(a, "hostname", "vm1");
	amp_box_put_str(a, "domain", "maas");
	amp_box_put_str(a, "preseed_url", "http://10-77-0-0--24.maas-internal:"
	    "5248/MAAS/metadata/latest/by-id/abc123/?op=get_preseed");
	amp_box_put_str(a, "fs_host", "10.77.0.2");
	amp_box_put_str(a, "log_host", "10.77.0.2");
	amp_box_put_int(a, "log_port", 5247);
	amp_box_put_str(a, "extra_opts", "");
	amp_box_put_str(a, "system_id", "abc123");
	amp_box_put_bool(a, "http_boot", true);
	amp_box_put_str(a, "ephemeral_opts", "");
	return a;
}

/* match -> GetBootConfig arguments -> answer -> resolve -> render, for
 * the golden PXE machine: the bytes MAAS serves. */
static void
test_pipeline(void **state)
{
	const char *name = "/pxelinux.cfg/01-52-54-00-12-34-56";
	struct bootres_image v[] = {
		row("ubuntu", "ga-20.04", "focal", "commissioning", "stable", NULL),
	};
	struct bootres_list l = { v, 1 };
	struct bootconfig_answer ans;
	struct bootconfig_resolution r;
	struct bootconfig_params p;
	struct bootmethod_match m;
	struct amp_box *req, *box;
	char *s, *out, *expect, *cause = NULL;
	size_t len, elen;

	assert_int_equal(bootmethod_match(name, strlen(name), &m), 1);
	req = bootconfig_request(&m, "rack01", "10.77.0.2", "10.77.0.50");
	assert_string_equal((s = box_str(req, "system_id")), "rack01");
	free(s);
	assert_string_equal((s = box_str(req, "local_ip")), "10.77.0.2");
	free(s);
	assert_string_equal((s = box_str(req, "remote_ip")), "10.77.0.50");
	free(s);
	assert_string_equal((s = box_str(req, "mac")), "52-54-00-12-34-56");
	free(s);
	assert_string_equal((s = box_str(req, "bios_boot_method")), "pxe");
	free(s);
	assert_false(amp_box_has(req, "arch"));
	assert_false(amp_box_has(req, "subarch"));
	assert_false(amp_box_has(req, "hardware_uuid"));
	amp_box_free(req);

	box = golden_answer();
	assert_int_equal(bootconfig_answer_decode(box, &ans, &cause), 0);
	amp_box_free(box);
	assert_string_equal(ans.system_id, "abc123");
	assert_int_equal(ans.log_port, 5247);
	assert_true(ans.http_boot);
	bootconfig_resolve(&l, ans.osystem, ans.arch, ans.subarch, ans.release,
	    ans.purpose, ans.system_id != NULL, "10.77.0.50", &r);
	assert_null(r.mark_failed);
	bootconfig_params_from(&p, &ans, &r);
	assert_int_equal(bootconfig_render(bootmethod_get(BOOTMETHOD_PXE), &p,
	    BOOTCONFIG_TFTP, false, &out, &len, &cause), 0);
	expect = slurp(GOLDEN_DIR "/pxe-commissioning", &elen);
	assert_int_equal(len, elen);
	assert_memory_equal(out, expect, len);
	free(out);
	free(expect);
	bootconfig_resolution_free(&r);
	bootconfig_answer_free(&ans);

	/* A default-arch name sends arch/subarch, not mac. */
	name = "grub/grub.cfg-default-x86_64";
	assert_int_equal(bootmethod_match(name, strlen(name), &m), 1);
	req = bootconfig_request(&m, "rack01", "10.77.0.2", "10.77.0.50");
	assert_string_equal((s = box_str(req, "arch")), "amd64");
	free(s);
	assert_string_equal((s = box_str(req, "bios_boot_method")), "uefi");
	free(s);
	assert_false(amp_box_has(req, "mac"));
	amp_box_free(req);
}

static void
test_answer_decode(void **state)
{
	struct bootconfig_answer ans;
	struct amp_box *box;
	char *cause = NULL;

	/* Optional fields absent: NULL / 0 / false (an older region). */
	box = golden_answer();
	amp_box_del(box, "kernel");
	amp_box_del(box, "initrd");
	amp_box_del(box, "log_port");
	amp_box_del(box, "system_id");
	amp_box_del(box, "http_boot");
	amp_box_del(box, "ephemeral_opts");
	assert_int_equal(bootconfig_answer_decode(box, &ans, &cause), 0);
	assert_null(ans.kernel);
	assert_null(ans.system_id);
	assert_null(ans.boot_dtb);
	assert_int_equal(ans.log_port, 0);
	assert_false(ans.http_boot);
	bootconfig_answer_free(&ans);
	amp_box_free(box);

	/* A required field missing, a bad integer, bad UTF-8. */
	box = golden_answer();
	amp_box_del(box, "preseed_url");
	assert_int_equal(bootconfig_answer_decode(box, &ans, &cause), -1);
	assert_non_null(strstr(cause, "preseed_url missing"));
	free(cause);
	amp_box_free(box);
	box = golden_answer();
	amp_box_put_str(box, "log_port", "five");
	assert_int_equal(bootconfig_answer_decode(box, &ans, &cause), -1);
	assert_non_null(strstr(cause, "log_port"));
	free(cause);
	amp_box_free(box);
	box = golden_answer();
	amp_box_put(box, "hostname", "\xff\xfe", 2);
	assert_int_equal(bootconfig_answer_decode(box, &ans, &cause), -1);
	assert_non_null(strstr(cause, "hostname"));
	free(cause);
	amp_box_free(box);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_kernel_command),
		cmocka_unit_test(test_static_files),
		cmocka_unit_test(test_all_templates),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_missing_image_render),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_answer_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
