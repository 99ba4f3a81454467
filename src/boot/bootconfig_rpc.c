/*
 * bootconfig_rpc.c — the GetBootConfig call as MAAS's rack makes it
 * (rackdservices/tftp.py TFTPBackend.get_kernel_params: only the
 * command's argument names are sent) and its answer decoded against
 * MAAS 3.4.0's response schema (provisioningserver/rpc/region.py
 * GetBootConfig).  Pure: boxes in, structs out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amp.h"
#include "bootconfig.h"
#include "bootmethod.h"
#include "rackd.h"
#include "xmalloc.h"

struct amp_box *
bootconfig_request(const struct bootmethod_match *m,
    const char *rack_system_id, const char *local_ip, const char *remote_ip)
{
	struct amp_box *b = amp_box_new();

	amp_box_put_str(b, "system_id", rack_system_id);
	amp_box_put_str(b, "local_ip", local_ip);
	amp_box_put_str(b, "remote_ip", remote_ip);
	if (m->arch[0] != '\0')
		amp_box_put_str(b, "arch", m->arch);
	if (m->subarch[0] != '\0')
		amp_box_put_str(b, "subarch", m->subarch);
	if (m->mac[0] != '\0')
		amp_box_put_str(b, "mac", m->mac);
	if (m->hardware_uuid[0] != '\0')
		amp_box_put_str(b, "hardware_uuid", m->hardware_uuid);
	if (m->method != NULL)
		amp_box_put_str(b, "bios_boot_method",
		    m->method->bios_boot_method);
	return b;
}

static const struct {
	const char	*name;
	size_t		 off;
	bool		 optional;
} str_fields[] = {
#define R(x)	{ #x, offsetof(struct bootconfig_answer, x), false }
#define O(x)	{ #x, offsetof(struct bootconfig_answer, x), true }
	R(arch), R(subarch), R(osystem), R(release), O(kernel), O(initrd),
	O(boot_dtb), R(purpose), R(hostname), R(domain), R(preseed_url),
	R(fs_host), R(log_host), R(extra_opts), O(system_id),
	O(ephemeral_opts),
#undef R
#undef O
};

int
bootconfig_answer_decode(const struct amp_box *box,
    struct bootconfig_answer *out, char **cause)
{
	long long port;
	char *why = NULL;
	size_t i;
	int r;

	memset(out, 0, sizeof *out);
	for (i = 0; i < RACKD_NELEM(str_fields); i++) {
		char **dst = (char **)((char *)out + str_fields[i].off);

		r = amp_box_get_str(box, str_fields[i].name, dst, &why);
		if (r == 1 && !str_fields[i].optional) {
			xasprintf(cause, "GetBootConfig answer: %s missing",
			    str_fields[i].name);
			goto fail;
		}
		if (r == -1)
			goto bad;
	}
	if ((r = amp_box_get_int(box, "log_port", &port, &why)) == -1) {
		i = SIZE_MAX;
		goto bad;
	}
	if (r == 0) {
		if (port < 0 || port > 65535) {
			xasprintf(cause, "GetBootConfig answer: log_port %lld "
			    "out of range", port);
			goto fail;
		}
		out->log_port = (int)port;
	}
	if (amp_box_get_bool(box, "http_boot", &out->http_boot, &why) == -1) {
		xasprintf(cause, "GetBootConfig answer: http_boot: %s", why);
		free(why);
		goto fail;
	}
	return 0;
bad:
	xasprintf(cause, "GetBootConfig answer: %s: %s",
	    i == SIZE_MAX ? "log_port" : str_fields[i].name, why);
	free(why);
fail:
	bootconfig_answer_free(out);
	return -1;
}

void
bootconfig_answer_free(struct bootconfig_answer *a)
{
	size_t i;

	for (i = 0; i < RACKD_NELEM(str_fields); i++)
		free(*(char **)((char *)a + str_fields[i].off));
	memset(a, 0, sizeof *a);
}

void
bootconfig_params_from(struct bootconfig_params *p,
    const struct bootconfig_answer *a, const struct bootconfig_resolution *r)
{
	memset(p, 0, sizeof *p);
	p->osystem = a->osystem;
	p->arch = a->arch;
	p->subarch = a->subarch;
	p->release = a->release;
	p->kernel = a->kernel;
	p->initrd = a->initrd;
	p->boot_dtb = a->boot_dtb;
	p->label = r->label;
	p->purpose = r->purpose;
	p->hostname = a->hostname;
	p->domain = a->domain;
	p->preseed_url = a->preseed_url;
	p->log_host = a->log_host;
	p->log_port = a->log_port;
	p->fs_host = a->fs_host;
	p->extra_opts = a->extra_opts;
	p->ephemeral_opts = a->ephemeral_opts;
}
