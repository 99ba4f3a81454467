/*
 * bootconfig.c — boot configs as MAAS 3.4 renders them.
 *
 * Sources (MAAS 3.4.0): kernel_opts.py compose_kernel_command_line;
 * boot/__init__.py compose_template_namespace, gen_template_filenames;
 * boot/pxe.py, boot/ipxe.py get_reader (two tempita passes), boot/grub.py
 * UEFIAMD64BootMethod.get_reader (one pass, fs_efihost, escaped cc:{}
 * and strip); rackdservices/tftp.py get_boot_image (resolution).
 *
 * The templates (bootconfig_templates.c) are MAAS's text; they are
 * evaluated by the subset of tempita they use: {{expr}} where expr is
 * `kernel_params`, `kernel_params(field="literal", ...)` or
 * `kernel_params.field`, piped through the namespace's filters
 * (fs_host, kernel_path, initrd_path, kernel_name, dtb_path,
 * kernel_command), plus the names fs_efihost and debug, {{if name}} ...
 * {{endif}} and {{# comments}}.  None renders as "", as in tempita.
 * Anything else is an error where Python would evaluate it (it would
 * mostly fail with NameError too).  tempita's trimming of a directive
 * alone on its line is not needed: no MAAS template has one.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootconfig.h"
#include "bootmethod.h"
#include "bootres.h"
#include "bytes.h"
#include "rackd.h"
#include "xmalloc.h"

#define BOOTCONFIG_MAX_OUT	(1024 * 1024)	/* configs are ~1 KiB */
#define BOOTCONFIG_MAX_DEPTH	8		/* {{if}} nesting */

const char bootconfig_ipxe_cfg[] =
    "#!ipxe\n"
    "# MAAS iPXE pre-loader configuration file\n"
    "\n"
    "# Load based on MAC address first.\n"
    "chain http://${next-server}:5248/ipxe.cfg-${net0/mac} ||\n"
    "\n"
    "# Failed to load based on MAC address.\n"
    "chain http://${next-server}:5248/ipxe.cfg-default-amd64\n";

const char bootconfig_grub_cfg[] =
    "\n"
    "# MAAS GRUB2 pre-loader configuration file\n"
    "\n"
    "# Load based on MAC address first.\n"
    "configfile /grub/grub.cfg-${net_default_mac}\n"
    "\n"
    "# Failed to load based on MAC address. Load based on the CPU\n"
    "# architecture.\n"
    "configfile /grub/grub.cfg-default-${grub_cpu}\n";

/* Ubuntu codenames before jammy (distro-info's order): MAAS adds
 * apparmor=0 for these (compose_apparmor_opts, LP: #1677336). */
static const char *const ubuntu_before_jammy[] = {
	"warty", "hoary", "breezy", "dapper", "edgy", "feisty", "gutsy",
	"hardy", "intrepid", "jaunty", "karmic", "lucid", "maverick", "natty",
	"oneiric", "precise", "quantal", "raring", "saucy", "trusty", "utopic",
	"vivid", "wily", "xenial", "yakkety", "zesty", "artful", "bionic",
	"cosmic", "disco", "eoan", "focal", "groovy", "hirsute", "impish",
};

/* ArchitectureRegistry kernel_options (drivers/__init__.py). */
static const struct {
	const char *arch_subarch, *opts;
} arch_opts[] = {
	{ "armhf/highbank", "console=ttyAMA0" },
	{ "armhf/generic", "console=ttyAMA0" },
	{ "ppc64el/generic", "rootdelay=60" },
};

static const char *
nz(const char *s)
{
	return s == NULL ? "" : s;
}

/*
 * netaddr.IPAddress(host).version: 4, 6, or 0 when it raises.  netaddr
 * 0.8 parses IPv4 with inet_aton (so "10.1" is an IPv4 address).
 */
static int
ip_version(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_aton(host, &a4) != 0)
		return 4;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return 6;
	return 0;
}

/* convert_host_to_uri_str: IPv4 (also IPv4-mapped) as dotted quad,
 * IPv6 bracketed, anything else as given. */
static char *
uri_host(const char *host)
{
	char buf[INET6_ADDRSTRLEN], *s;
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_aton(host, &a4) != 0) {
		inet_ntop(AF_INET, &a4, buf, sizeof buf);
		return xstrdup(buf);
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof buf);
			return xstrdup(buf);
		}
		inet_ntop(AF_INET6, &a6, buf, sizeof buf);
		xasprintf(&s, "[%s]", buf);
		return s;
	}
	return xstrdup(host);
}

static int
log_port(const struct bootconfig_params *p)
{
	return p->log_port == 0 ? 5247 : p->log_port;
}

char *
bootconfig_kernel_command(const struct bootconfig_params *p, char **cause)
{
	struct bytes b;
	char *s, *as;
	size_t i;
	int v = ip_version(nz(p->fs_host));

	if (v == 0) {
		xasprintf(cause, "fs_host '%s' is not an IP address",
		    nz(p->fs_host));
		return NULL;
	}
	bytes_init(&b);
	bytes_add_str(&b, "nomodeset ro root=squash:http://");
	if (v == 6)
		xasprintf(&s, "[%s]", p->fs_host);
	else
		s = xstrdup(p->fs_host);
	bytes_add_str(&b, s);
	free(s);
	xasprintf(&s, ":5248/images/%s/%s/%s/%s/%s/squashfs", nz(p->osystem),
	    nz(p->arch), nz(p->subarch), nz(p->release), nz(p->label));
	bytes_add_str(&b, s);
	free(s);
	if (v == 4)
		xasprintf(&s, " ip=::::%s:BOOTIF ip6=off", nz(p->hostname));
	else
		s = xstrdup(" ip=off ip6=dhcp");
	bytes_add_str(&b, s);
	free(s);
	bytes_add_str(&b, " overlayroot=tmpfs overlayroot_cfgdisk=disabled"
	    " cc:{'datasource_list': ['MAAS']}end_cc cloud-config-url=");
	bytes_add_str(&b, nz(p->preseed_url));
	if (strcmp(nz(p->osystem), "ubuntu") == 0)
		for (i = 0; i < RACKD_NELEM(ubuntu_before_jammy); i++)
			if (strcmp(nz(p->release), ubuntu_before_jammy[i]) == 0)
				bytes_add_str(&b, " apparmor=0");
	xasprintf(&s, " log_host=%s log_port=%d", nz(p->log_host), log_port(p));
	bytes_add_str(&b, s);
	free(s);
	xasprintf(&as, "%s/%s", nz(p->arch), nz(p->subarch));
	for (i = 0; i < RACKD_NELEM(arch_opts); i++) {
		if (strcmp(as, arch_opts[i].arch_subarch) == 0) {
			bytes_add_str(&b, " ");
			bytes_add_str(&b, arch_opts[i].opts);
		}
	}
	free(as);
	if (p->ephemeral_opts != NULL && p->ephemeral_opts[0] != '\0') {
		bytes_add_str(&b, " ");
		bytes_add_str(&b, p->ephemeral_opts);
	}
	/* curtin's KERNEL_CMDLINE_COPY_TO_INSTALL_SEP: the options after it
	 * stick in the deployed system's grub config (LP: #1402042). */
	if (p->extra_opts != NULL && p->extra_opts[0] != '\0') {
		bytes_add_str(&b, " --- ");
		bytes_add_str(&b, p->extra_opts);
	}
	bytes_add_u8(&b, 0);
	return (char *)bytes_steal(&b, NULL);
}

/* GRUB chokes on the braces of cc:{...}end_cc: re.sub(
 * r"cc:{(?P<inner>[^}]*)}end_cc", r"cc:\{\g<inner>\}end_cc", cmd). */
static char *
uefi_escape(const char *cmd)
{
	struct bytes b;
	const char *p = cmd, *close;

	bytes_init(&b);
	while (*p != '\0') {
		if (strncmp(p, "cc:{", 4) == 0 &&
		    (close = strchr(p + 4, '}')) != NULL &&
		    strncmp(close + 1, "end_cc", 6) == 0) {
			bytes_add_str(&b, "cc:\\{");
			bytes_add(&b, p + 4, (size_t)(close - (p + 4)));
			bytes_add_str(&b, "\\}end_cc");
			p = close + 7;
			continue;
		}
		bytes_add_u8(&b, (uint8_t)*p++);
	}
	bytes_add_u8(&b, 0);
	return (char *)bytes_steal(&b, NULL);
}

/* --- resolution (tftp.py get_boot_image) ------------------------------- */

void
bootconfig_resolve(const struct bootres_list *images, const char *osystem,
    const char *arch, const char *subarch, const char *release,
    const char *purpose, bool known_machine, const char *remote_ip,
    struct bootconfig_resolution *out)
{
	const struct bootres_image *im;
	bool ephemeral = bootres_os_has_purpose(osystem, "ephemeral");

	memset(out, 0, sizeof *out);
	if (strcmp(purpose, "local-device") == 0)
		purpose = "local";
	if (strcmp(purpose, "local") == 0 && !ephemeral) {
		out->purpose = xstrdup("local");
		out->label = xstrdup("local");
		return;
	}
	if (strcmp(purpose, "local") == 0)
		purpose = "ephemeral";
	out->purpose = xstrdup(purpose);
	im = bootres_find(images, osystem, arch, subarch, release, purpose);
	if (im != NULL) {
		out->label = xstrdup(im->label);
		return;
	}
	out->label = xstrdup("no-such-image");
	if (known_machine)
		xasprintf(&out->mark_failed, "Missing boot image %s/%s/%s/%s.",
		    osystem, arch, subarch, release);
	else
		xasprintf(&out->missing, "Enlistment failed to boot %s; "
		    "missing required boot image %s/%s/%s/%s.", nz(remote_ip),
		    osystem, arch, subarch, release);
}

void
bootconfig_resolution_free(struct bootconfig_resolution *r)
{
	free(r->purpose);
	free(r->label);
	free(r->mark_failed);
	free(r->missing);
	memset(r, 0, sizeof *r);
}

/* --- templates ------------------------------------------------------- */

static const char *
template_text(const char *subdir, const char *name)
{
	size_t i;
	int hops;

	for (hops = 0; hops < 4; hops++) {
		for (i = 0; i < bootconfig_ntemplates; i++) {
			if (strcmp(bootconfig_templates[i].subdir, subdir) == 0 &&
			    strcmp(bootconfig_templates[i].name, name) == 0)
				break;
		}
		if (i == bootconfig_ntemplates)
			return NULL;
		if (bootconfig_templates[i].alias == NULL)
			return bootconfig_templates[i].text;
		name = bootconfig_templates[i].alias;
	}
	return NULL;
}

/* gen_template_filenames: purpose.arch.subarch, purpose.arch, purpose,
 * then the bare config.template (absent from MAAS 3.4.0). */
static const char *
template_find(const char *subdir, const char *purpose, const char *arch,
    const char *subarch)
{
	const char *t;
	char *name;

	xasprintf(&name, "%s.%s.%s", purpose, arch, subarch);
	t = template_text(subdir, name);
	free(name);
	if (t != NULL)
		return t;
	xasprintf(&name, "%s.%s", purpose, arch);
	t = template_text(subdir, name);
	free(name);
	if (t != NULL)
		return t;
	return template_text(subdir, purpose);
}

/* --- the tempita subset ------------------------------------------------ */

struct ns {
	const struct bootconfig_params	*params;
	const char			*fs_efihost;	/* UEFI only */
	bool				 uefi;		/* escaped kernel_command */
	bool				 debug;
};

enum val_type { V_NONE, V_STR, V_BOOL, V_PARAMS };

struct val {
	enum val_type			 type;
	char				*str;		/* V_STR, owned */
	bool				 b;
	struct bootconfig_params	 params;	/* V_PARAMS */
	char				*owned[4];	/* overridden fields */
};

static void
val_free(struct val *v)
{
	size_t i;

	free(v->str);
	for (i = 0; i < RACKD_NELEM(v->owned); i++)
		free(v->owned[i]);
	memset(v, 0, sizeof *v);
}

/* A copy of s[0..n) without leading/trailing blanks. */
static char *
trimmed(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n'))
		n--;
	return xstrndup(s, n);
}

/* The KernelParameters string field called name, or NULL if none
 * (log_port, the one integer, is handled by the caller). */
static const char **
param_field(struct bootconfig_params *p, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
#define F(x)	{ #x, offsetof(struct bootconfig_params, x) }
		F(osystem), F(arch), F(subarch), F(release), F(kernel),
		F(initrd), F(boot_dtb), F(label), F(purpose), F(hostname),
		F(domain), F(preseed_url), F(log_host), F(fs_host),
		F(extra_opts), F(ephemeral_opts),
#undef F
	};
	size_t i;

	for (i = 0; i < RACKD_NELEM(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return (const char **)((char *)p + fields[i].off);
	return NULL;
}

/*
 * kernel_params(field="literal", ...): namedtuple._replace.  args is
 * the text between the parentheses.
 */
static int
eval_replace(struct val *v, const char *args, char **cause)
{
	const char *p = args, **field;
	char name[32], quote;
	size_t n, k = 0;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		for (n = 0; (p[n] >= 'a' && p[n] <= 'z') || p[n] == '_'; n++)
			;
		if (n == 0 || n >= sizeof name)
			goto bad;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		while (*p == ' ')
			p++;
		if (*p++ != '=')
			goto bad;
		while (*p == ' ')
			p++;
		if ((quote = *p) != '"' && quote != '\'')
			goto bad;
		for (n = 1; p[n] != '\0' && p[n] != quote && p[n] != '\\'; n++)
			;
		if (p[n] != quote || k >= RACKD_NELEM(v->owned) ||
		    (field = param_field(&v->params, name)) == NULL)
			goto bad;
		v->owned[k] = xstrndup(p + 1, n - 1);
		*field = v->owned[k++];
		p += n + 1;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			goto bad;
	}
bad:
	xasprintf(cause, "unsupported kernel_params(%s)", args);
	return -1;
}

/* The base of an expression (before any '|'). */
static int
eval_base(const struct ns *ns, const char *e, struct val *v, char **cause)
{
	const char **field;
	size_t n;

	memset(v, 0, sizeof *v);
	if (strncmp(e, "kernel_params", 13) == 0) {
		v->type = V_PARAMS;
		v->params = *ns->params;
		e += 13;
		if (*e == '\0')
			return 0;
		if (*e == '(' && (n = strlen(e)) >= 2 && e[n - 1] == ')') {
			char *args = xstrndup(e + 1, n - 2);
			int r = eval_replace(v, args, cause);

			free(args);
			return r;
		}
		if (*e == '.') {
			if (strcmp(e + 1, "log_port") == 0) {
				v->type = V_STR;
				xasprintf(&v->str, "%d", log_port(ns->params));
				return 0;
			}
			if ((field = param_field(&v->params, e + 1)) != NULL) {
				v->type = *field == NULL ? V_NONE : V_STR;
				v->str = *field == NULL ? NULL : xstrdup(*field);
				return 0;
			}
		}
	} else if (strcmp(e, "fs_efihost") == 0 && ns->fs_efihost != NULL) {
		v->type = V_STR;
		v->str = xstrdup(ns->fs_efihost);
		return 0;
	} else if (strcmp(e, "debug") == 0) {
		v->type = V_BOOL;
		v->b = ns->debug;
		return 0;
	}
	xasprintf(cause, "name '%s' is not defined (or not supported)", e);
	return -1;
}

/* image_dir/<name or dflt> (compose_template_namespace). */
static char *
image_file(const struct bootconfig_params *p, const char *name,
    const char *dflt)
{
	char *s;

	xasprintf(&s, "%s/%s/%s/%s/%s/%s", nz(p->osystem), nz(p->arch),
	    nz(p->subarch), nz(p->release), nz(p->label),
	    name != NULL ? name : dflt);
	return s;
}

static int
apply_filter(const struct ns *ns, const char *f, struct val *v, char **cause)
{
	const struct bootconfig_params *p = &v->params;
	char *s = NULL, *h;

	if (v->type != V_PARAMS) {
		xasprintf(cause, "filter %s applied to a non-kernel_params "
		    "value", f);
		return -1;
	}
	if (strcmp(f, "fs_host") == 0) {
		h = uri_host(nz(p->fs_host));
		xasprintf(&s, "http://%s:5248/images/", h);
		free(h);
	} else if (strcmp(f, "kernel_path") == 0)
		s = image_file(p, p->kernel, "boot-kernel");
	else if (strcmp(f, "initrd_path") == 0)
		s = image_file(p, p->initrd, "boot-initrd");
	else if (strcmp(f, "kernel_name") == 0)
		s = xstrdup(p->kernel != NULL ? p->kernel : "boot-kernel");
	else if (strcmp(f, "dtb_path") == 0) {
		if (strcmp(nz(p->subarch), "xgene-uboot-mustang") == 0)
			s = image_file(p, p->boot_dtb, "boot-dtb");
	} else if (strcmp(f, "kernel_command") == 0) {
		if ((s = bootconfig_kernel_command(p, cause)) == NULL)
			return -1;
		if (ns->uefi) {
			h = uefi_escape(s);
			free(s);
			s = h;
		}
	} else {
		xasprintf(cause, "name '%s' is not defined", f);
		return -1;
	}
	val_free(v);
	v->type = s == NULL ? V_NONE : V_STR;
	v->str = s;
	return 0;
}

/* {{expr}}: base | filter | filter ... (tempita splits on '|'). */
static int
eval_expr(const struct ns *ns, const char *expr, struct val *v, char **cause)
{
	const char *p = expr, *bar;
	char *part;
	int r;

	bar = strchr(p, '|');
	part = trimmed(p, bar == NULL ? strlen(p) : (size_t)(bar - p));
	r = eval_base(ns, part, v, cause);
	free(part);
	while (r == 0 && bar != NULL) {
		p = bar + 1;
		bar = strchr(p, '|');
		part = trimmed(p, bar == NULL ? strlen(p) : (size_t)(bar - p));
		r = apply_filter(ns, part, v, cause);
		free(part);
	}
	if (r == -1)
		val_free(v);
	return r;
}

/*
 * One tempita pass over text into out.  Lexing as tempita: "{{" opens,
 * "}}" closes, scanned left to right; a "{{" inside an expression, a
 * "}}" outside one, or an unclosed "{{" is an error.
 */
static int
render_pass(const struct ns *ns, const char *text, struct bytes *out,
    char **cause)
{
	bool emit[BOOTCONFIG_MAX_DEPTH + 1];
	const char *p = text, *open, *close, *stray;
	int depth = 0;
	char *expr;
	struct val v;

	emit[0] = true;
	for (;;) {
		open = strstr(p, "{{");
		stray = strstr(p, "}}");
		if (stray != NULL && (open == NULL || stray < open)) {
			xasprintf(cause, "}} outside expression");
			return -1;
		}
		if (open == NULL) {
			if (emit[depth])
				bytes_add_str(out, p);
			break;
		}
		if (emit[depth])
			bytes_add(out, p, (size_t)(open - p));
		close = strstr(open + 2, "}}");
		if (close == NULL) {
			xasprintf(cause, "No }} to finish last expression");
			return -1;
		}
		if ((stray = strstr(open + 2, "{{")) != NULL && stray < close) {
			xasprintf(cause, "{{ inside expression");
			return -1;
		}
		expr = trimmed(open + 2, (size_t)(close - open - 2));
		p = close + 2;
		if (expr[0] == '#') {
			free(expr);
			continue;
		}
		if (strncmp(expr, "if ", 3) == 0) {
			if (depth == BOOTCONFIG_MAX_DEPTH ||
			    eval_expr(ns, expr + 3, &v, cause) == -1) {
				if (depth == BOOTCONFIG_MAX_DEPTH)
					xasprintf(cause, "{{if}} too deep");
				free(expr);
				return -1;
			}
			depth++;
			emit[depth] = emit[depth - 1] &&
			    ((v.type == V_BOOL && v.b) ||
			    (v.type == V_STR && v.str[0] != '\0') ||
			    v.type == V_PARAMS);
			val_free(&v);
		} else if (strcmp(expr, "endif") == 0) {
			if (depth == 0) {
				xasprintf(cause, "{{endif}} without {{if}}");
				free(expr);
				return -1;
			}
			depth--;
		} else if (emit[depth]) {
			if (eval_expr(ns, expr, &v, cause) == -1) {
				free(expr);
				return -1;
			}
			if (v.type == V_STR)
				bytes_add_str(out, v.str);
			else if (v.type == V_BOOL)
				bytes_add_str(out, v.b ? "True" : "False");
			else if (v.type == V_PARAMS) {
				xasprintf(cause, "cannot render '%s'", expr);
				val_free(&v);
				free(expr);
				return -1;
			}
			val_free(&v);
		}
		free(expr);
		if (out->len > BOOTCONFIG_MAX_OUT) {
			xasprintf(cause, "config longer than %d bytes",
			    BOOTCONFIG_MAX_OUT);
			return -1;
		}
	}
	if (depth != 0) {
		xasprintf(cause, "{{if}} without {{endif}}");
		return -1;
	}
	return 0;
}

static bool
is_py_space(uint8_t c)
{
	/* str.strip(): ASCII whitespace and the separators \x1c-\x1f. */
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

int
bootconfig_render(const struct bootmethod *method,
    const struct bootconfig_params *p, enum bootconfig_protocol proto,
    bool debug, char **out, size_t *outlen, char **cause)
{
	struct bytes b1, b2;
	const char *tmpl;
	struct ns ns;
	char *efihost = NULL, *h;
	size_t start, end;

	*out = NULL;
	*outlen = 0;
	tmpl = template_find(method->template_subdir, nz(p->purpose),
	    nz(p->arch), nz(p->subarch));
	if (tmpl == NULL) {
		xasprintf(cause, "No PXE template found in '%s' for:\n"
		    "  Purpose: '%s', Arch: '%s', Subarch: '%s'\n"
		    "This can happen if you manually power up a node when its "
		    "state is not one that allows it. Is the node in the "
		    "'New' or 'Ready' states? It needs to be Enlisting, "
		    "Commissioning or Allocated.", method->template_subdir,
		    nz(p->purpose), nz(p->arch), nz(p->subarch));
		return -1;
	}
	memset(&ns, 0, sizeof ns);
	ns.params = p;
	ns.debug = debug;
	if (method->id == BOOTMETHOD_UEFI) {
		ns.uefi = true;
		if (proto == BOOTCONFIG_TFTP) {
			h = uri_host(nz(p->fs_host));
			xasprintf(&efihost, "(http,%s:5248)/images/", h);
			free(h);
		} else
			efihost = xstrdup("/images/");
		ns.fs_efihost = efihost;
	}
	bytes_init(&b1);
	bytes_init(&b2);
	if (render_pass(&ns, tmpl, &b1, cause) == -1)
		goto fail;
	bytes_add_u8(&b1, 0);
	if (method->id == BOOTMETHOD_UEFI) {
		/* .strip() */
		start = 0;
		end = b1.len - 1;
		while (start < end && is_py_space(b1.data[start]))
			start++;
		while (end > start && is_py_space(b1.data[end - 1]))
			end--;
		bytes_add(&b2, b1.data + start, end - start);
	} else if (render_pass(&ns, (const char *)b1.data, &b2, cause) == -1)
		goto fail;
	*outlen = b2.len;
	bytes_add_u8(&b2, 0);
	*out = (char *)bytes_steal(&b2, NULL);
	bytes_free(&b1);
	free(efihost);
	return 0;
fail:
	bytes_free(&b1);
	bytes_free(&b2);
	free(efihost);
	return -1;
}
