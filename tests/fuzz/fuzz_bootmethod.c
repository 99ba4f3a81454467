// FUZZ_SRCS: src/boot/bootmethod.c src/boot/bootconfig.c src/boot/bootconfig_rpc.c src/boot/bootconfig_templates.c src/boot/bootres.c src/region/amp.c src/core/bytes.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_bootmethod.c — libFuzzer target for the boot file-name matcher
 * (bootmethod.h) and the config renderer (bootconfig.h).
 *
 * The whole input is a requested file name: bootmethod_match must not
 * crash, must give the same answer twice, and a match must be
 * well-formed: a method from the table, mac empty or "xx-xx-xx-xx-xx-xx"
 * in lower-case hex, hardware_uuid empty or 36 characters, arch and
 * subarch only [A-Za-z0-9_] and a subarch only with an arch.
 *
 * The input is also a set of GetBootConfig answer fields: byte 0 picks
 * the method (mod 3), the protocol (bit 2) and debug (bit 3); the rest
 * is split on NUL bytes into osystem, arch, subarch, release, kernel,
 * initrd, boot_dtb, label, purpose, hostname, domain, preseed_url,
 * log_host, log_port, fs_host, extra_opts, ephemeral_opts (fields past
 * the input's end are NULL).  bootconfig_render must return 0 with a
 * NUL-terminated output of the stated length, at most 1 MiB plus one
 * expansion, UEFI output stripped; or -1 with a cause.
 *
 * The input is also an AMP box on the wire: a GetBootConfig answer that
 * decodes must render or fail with a cause, like any other answer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amp.h"
#include "bootconfig.h"
#include "bootmethod.h"
#include "bootres.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NFIELDS		17
#define OUT_BOUND	(2u * 1024 * 1024)

static bool
word_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static void
check_match(const uint8_t *data, size_t size)
{
	struct bootmethod_match m, m2;
	int r = bootmethod_match((const char *)data, size, &m), i;

	if (r != bootmethod_match((const char *)data, size, &m2) ||
	    memcmp(&m, &m2, sizeof m) != 0)
		abort();
	if (r == 0) {
		if (m.method != NULL)
			abort();
		return;
	}
	if (r != 1 || m.method == NULL || m.method < bootmethods ||
	    m.method >= bootmethods + bootmethod_count)
		abort();
	if (m.mac[0] != '\0') {
		if (strlen(m.mac) != BOOTMETHOD_MAC_LEN)
			abort();
		for (i = 0; i < BOOTMETHOD_MAC_LEN; i++) {
			char ch = m.mac[i];

			if (i % 3 == 2 ? ch != '-' :
			    !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
				abort();
		}
	}
	if (m.hardware_uuid[0] != '\0' &&
	    strlen(m.hardware_uuid) != BOOTMETHOD_UUID_LEN)
		abort();
	if (!word_ok(m.arch) || !word_ok(m.subarch))
		abort();
	if (m.subarch[0] != '\0' && m.arch[0] == '\0')
		abort();
	/* At most one of mac, uuid, arch. */
	if ((m.mac[0] != '\0') + (m.hardware_uuid[0] != '\0') +
	    (m.arch[0] != '\0') > 1)
		abort();
}

static void
check_render(const uint8_t *data, size_t size)
{
	const char *f[NFIELDS] = { 0 };
	struct bootconfig_params p;
	char *buf, *out = NULL, *cause = NULL;
	size_t n = 0, i, len = 0;
	enum bootmethod_id ids[] = { BOOTMETHOD_PXE, BOOTMETHOD_IPXE,
	    BOOTMETHOD_UEFI };
	const struct bootmethod *m;
	int r;

	if (size < 1)
		return;
	m = bootmethod_get(ids[data[0] % 3]);
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	f[n++] = buf;
	for (i = 0; i + 1 < size && n < NFIELDS; i++)
		if (buf[i] == '\0')
			f[n++] = buf + i + 1;
	memset(&p, 0, sizeof p);
	p.osystem = f[0];
	p.arch = f[1];
	p.subarch = f[2];
	p.release = f[3];
	p.kernel = f[4];
	p.initrd = f[5];
	p.boot_dtb = f[6];
	p.label = f[7];
	p.purpose = f[8];
	p.hostname = f[9];
	p.domain = f[10];
	p.preseed_url = f[11];
	p.log_host = f[12];
	p.log_port = f[13] == NULL ? 0 : atoi(f[13]);
	p.fs_host = f[14];
	p.extra_opts = f[15];
	p.ephemeral_opts = f[16];

	r = bootconfig_render(m, &p, (data[0] & 4) ? BOOTCONFIG_HTTP :
	    BOOTCONFIG_TFTP, (data[0] & 8) != 0, &out, &len, &cause);
	if (r == 0) {
		if (out == NULL || cause != NULL || strlen(out) != len ||
		    len > OUT_BOUND)
			abort();
		if (m->id == BOOTMETHOD_UEFI && len > 0 &&
		    (out[0] == ' ' || out[0] == '\n' || out[len - 1] == ' ' ||
		    out[len - 1] == '\n'))
			abort();
		free(out);
	} else {
		if (r != -1 || cause == NULL || out != NULL)
			abort();
		free(cause);
	}
	free(buf);
}

static void
check_answer(const uint8_t *data, size_t size)
{
	struct amp_limits lim = { 0 };
	struct bootconfig_resolution r;
	struct bootconfig_answer ans;
	struct bootconfig_params p;
	struct bootres_list none = { NULL, 0 };
	struct amp_box *box = NULL;
	char *cause = NULL, *out = NULL;
	size_t used, len;

	if (amp_box_decode(data, size, &lim, &box, &used, &cause) != AMP_OK) {
		free(cause);
		return;
	}
	if (bootconfig_answer_decode(box, &ans, &cause) == -1) {
		if (cause == NULL || ans.arch != NULL)
			abort();
		free(cause);
		amp_box_free(box);
		return;
	}
	bootconfig_resolve(&none, ans.osystem, ans.arch, ans.subarch,
	    ans.release, ans.purpose, ans.system_id != NULL, "10.0.0.9", &r);
	if (r.label == NULL || r.purpose == NULL)
		abort();
	bootconfig_params_from(&p, &ans, &r);
	if (bootconfig_render(bootmethod_get(BOOTMETHOD_UEFI), &p,
	    BOOTCONFIG_HTTP, false, &out, &len, &cause) == 0) {
		if (strlen(out) != len)
			abort();
		free(out);
	} else
		free(cause);
	bootconfig_resolution_free(&r);
	bootconfig_answer_free(&ans);
	amp_box_free(box);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_match(data, size);
	check_render(data, size);
	check_answer(data, size);
	return 0;
}
