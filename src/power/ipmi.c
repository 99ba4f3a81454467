/*
 * ipmi.c — the pure ipmitool codec (include/ipmi.h): MAAS ipmi power
 * parameters to an ipmitool argv, and ipmitool's exit status and output
 * to a power state or a classified, MAAS-worded failure.
 *
 * No I/O, no logging: power.c runs the commands and reports.  The output
 * rules were taken from real ipmitool 1.8.19 runs against OpenIPMI's
 * ipmi_sim (tests/unit/data/ipmi/) and from the strings in the binary.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ipmi.h"
#include "bytes.h"
#include "xmalloc.h"

#define IPMI_DEFAULT_PORT	623
#define IPMI_DEFAULT_CIPHER	3
#define IPMI_RAW_MAX		1024
#define IPMI_KG_MAX		20	/* K_g bytes (IPMI 2.0) */
#define IPMI_KG_PROMPT		"Key: "	/* getpass() prompt of -Y */

/* --- parameters -------------------------------------------------------- */

/* MAAS's is_power_parameter_set: None, "" and whitespace are unset. */
static int
is_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

/* s without leading and trailing whitespace, malloc'd. */
static char *
trimdup(const char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/*
 * Look up a string key.  Returns 1 with *out pointing into the JSON (not
 * copied) when set, 0 when unset, -1 for a wrong JSON type.  The cause
 * names the key only, so it is safe for secrets.
 */
static int
get_str(const json_t *ctx, const char *key, const char **out, char **cause)
{
	json_t *v = json_object_get(ctx, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		xasprintf(cause, "%s: not a string", key);
		return -1;
	}
	if (is_blank(json_string_value(v)))
		return 0;
	*out = json_string_value(v);
	return 1;
}

/*
 * Split power_address into host and port.  Accepted: a hostname or IPv4
 * address with an optional ":port", a bare IPv6 literal (two or more
 * colons, so no port), or "[v6]" with an optional ":port".
 */
static int
parse_address(const char *in, struct ipmi_params *p, char **cause)
{
	char *s, *host, *port = NULL, *end, *q;
	struct in6_addr a6;
	long n;
	int rv = -1;

	s = trimdup(in);
	host = s;
	for (q = s; *q != '\0'; q++) {
		/* ipmitool would take these literally; MAAS never sends them. */
		if (isspace((unsigned char)*q) || iscntrl((unsigned char)*q)) {
			xasprintf(cause, "power_address: contains whitespace");
			goto out;
		}
	}
	if (*s == '[') {
		if ((q = strchr(s, ']')) == NULL) {
			xasprintf(cause, "power_address: unterminated '['");
			goto out;
		}
		*q++ = '\0';
		host = s + 1;
		if (*q == ':')
			port = q + 1;
		else if (*q != '\0') {
			xasprintf(cause, "power_address: junk after ']'");
			goto out;
		}
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			xasprintf(cause, "power_address: '%.64s' is not an IPv6 "
			    "address", host);
			goto out;
		}
	} else if ((q = strchr(s, ':')) != NULL && strchr(q + 1, ':') == NULL) {
		/* Exactly one colon: host:port.  Two or more: IPv6. */
		*q = '\0';
		port = q + 1;
	}
	if (*host == '\0') {
		xasprintf(cause, "power_address: no host");
		goto out;
	}
	if (*host == '-') {
		xasprintf(cause, "power_address: '%.64s' is not a host", host);
		goto out;
	}
	p->port = IPMI_DEFAULT_PORT;
	if (port != NULL) {
		if (!isdigit((unsigned char)*port)) {
			xasprintf(cause, "power_address: bad port '%.16s'", port);
			goto out;
		}
		n = strtol(port, &end, 10);
		if (*end != '\0' || n < 1 || n > 65535) {
			xasprintf(cause, "power_address: bad port '%.16s'", port);
			goto out;
		}
		p->port = (int)n;
	}
	p->address = xstrdup(host);
	rv = 0;
out:
	free(s);
	return rv;
}

/*
 * cipher_suite_id: a string (MAAS's choice values "17", "3", "8", "12",
 * "") or a JSON integer.  The API can skip the region's validation, so
 * any suite 1..17 is taken; 0 is refused because it authenticates anyone
 * with any password (recipes §3).
 */
static int
parse_cipher(const json_t *ctx, int *cipher, char **cause)
{
	json_t *v = json_object_get(ctx, "cipher_suite_id");
	const char *s;
	char *t, *end;
	long n;

	*cipher = IPMI_DEFAULT_CIPHER;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		n = (long)json_integer_value(v);
		if (json_integer_value(v) < 1 || json_integer_value(v) > 17)
			goto bad_num;
		*cipher = (int)n;
		return 0;
	}
	if (!json_is_string(v)) {
		xasprintf(cause, "cipher_suite_id: not a string or integer");
		return -1;
	}
	s = json_string_value(v);
	if (is_blank(s))
		return 0;
	t = trimdup(s);
	end = t;
	n = -1;
	if (isdigit((unsigned char)*t))
		n = strtol(t, &end, 10);
	if (n < 1 || n > 17 || *end != '\0') {
		xasprintf(cause, "cipher_suite_id: '%.16s' is not a cipher "
		    "suite 1..17%s", t, n == 0 && *end == '\0' ?
		    " (0 would skip authentication)" : "");
		free(t);
		return -1;
	}
	free(t);
	*cipher = (int)n;
	return 0;

bad_num:
	xasprintf(cause, "cipher_suite_id: %lld is not a cipher suite 1..17%s",
	    (long long)json_integer_value(v), json_integer_value(v) == 0 ?
	    " (0 would skip authentication)" : "");
	return -1;
}

/* One case-insensitive choice of a trimmed string key; 0 unset, 1 set. */
static int
get_choice(const json_t *ctx, const char *key, char **out, char **cause)
{
	const char *s;
	int r;

	*out = NULL;
	if ((r = get_str(ctx, key, &s, cause)) <= 0)
		return r;
	*out = trimdup(s);
	return 1;
}

/*
 * The FreeIPMI workaround flags that have an ipmitool -o equivalent in
 * `ipmitool -o list` (1.8.19).  sun20 has none (there is no "sun" OEM
 * type) and the others are FreeIPMI protocol quirks ipmitool does not
 * offer, so they are ignored.  ipmitool takes a single -o: first wins.
 */
static const struct {
	const char	*flag;
	const char	*oem;
} oem_map[] = {
	{ "intel20",		"intelplus" },
	{ "supermicro20",	"supermicro" },
};

static const char *
oem_for_flag(const char *flag, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(oem_map) / sizeof(oem_map[0]); i++)
		if (strlen(oem_map[i].flag) == len &&
		    strncasecmp(oem_map[i].flag, flag, len) == 0)
			return oem_map[i].oem;
	return NULL;
}

/* A bare string may hold several flags: "intel20,opensesspriv". */
static const char *
oem_for_string(const char *s)
{
	const char *oem;
	size_t n;

	for (;;) {
		s += strspn(s, ", \t\r\n");
		if (*s == '\0')
			return NULL;
		n = strcspn(s, ", \t\r\n");
		if ((oem = oem_for_flag(s, n)) != NULL)
			return oem;
		s += n;
	}
}

static int
parse_workarounds(const json_t *ctx, char **oem, char **cause)
{
	json_t *v = json_object_get(ctx, "workaround_flags"), *e;
	const char *o = NULL;
	size_t i;

	*oem = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v))
		o = oem_for_string(json_string_value(v));
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				xasprintf(cause, "workaround_flags: element %zu "
				    "is not a string", i);
				return -1;
			}
			if (o == NULL)
				o = oem_for_string(json_string_value(e));
		}
	} else {
		xasprintf(cause, "workaround_flags: not a list or string");
		return -1;
	}
	if (o != NULL)
		*oem = xstrdup(o);
	return 0;
}

/* "0x" followed by hex digits only (MAAS/FreeIPMI's hex form), or NULL. */
static const char *
kg_hex(const char *k)
{
	const char *h;

	if (k[0] != '0' || (k[1] != 'x' && k[1] != 'X') || k[2] == '\0')
		return NULL;
	for (h = k + 2; *h != '\0'; h++)
		if (!isxdigit((unsigned char)*h))
			return NULL;
	return k + 2;
}

/*
 * The raw key bytes of k_g into key[IPMI_KG_MAX]: a hex key decoded, an
 * ASCII key as is.  -1 when too long or odd-length hex (nothing said:
 * kg_check words it).
 */
static int
kg_decode(const char *k, uint8_t *key, size_t *n)
{
	const char *h = kg_hex(k);
	size_t len, i;

	memset(key, 0, IPMI_KG_MAX);
	if (h == NULL) {
		len = strlen(k);
		if (len > IPMI_KG_MAX)
			return -1;
		memcpy(key, k, len);
		*n = len;
		return 0;
	}
	len = strlen(h);
	if (len % 2 != 0 || len / 2 > IPMI_KG_MAX)
		return -1;
	for (i = 0; i < len / 2; i++)
		key[i] = (uint8_t)(bytes_hexval(h[2 * i]) << 4 | bytes_hexval(h[2 * i + 1]));
	*n = len / 2;
	return 0;
}

/*
 * Can ipmitool take this K_g off its command line?  It reads the key
 * with -Y (getpass() on stdin: one line) and keeps it with strncpy(), so
 * a key holding a newline byte, or a zero byte before a non-zero one,
 * cannot be passed; neither can more than 20 bytes (IPMI's K_g size).
 * The cause never quotes the key.
 */
static int
kg_check(const char *k, char **cause)
{
	uint8_t key[IPMI_KG_MAX];
	size_t n, i;
	bool zero = false;
	int rv = 0;

	if (kg_decode(k, key, &n) == -1) {
		if (kg_hex(k) != NULL && strlen(k + 2) % 2 != 0)
			xasprintf(cause, "k_g: hex key has an odd number of "
			    "digits");
		else
			xasprintf(cause, "k_g: longer than %d bytes",
			    IPMI_KG_MAX);
		return -1;
	}
	for (i = 0; i < n && rv == 0; i++) {
		if (key[i] == '\n' || key[i] == '\r') {
			xasprintf(cause, "k_g: byte %zu is a line break, which "
			    "ipmitool cannot read off its command line", i + 1);
			rv = -1;
		} else if (key[i] == 0)
			zero = true;
		else if (zero) {
			xasprintf(cause, "k_g: a zero byte before byte %zu, "
			    "which ipmitool cannot read off its command line",
			    i + 1);
			rv = -1;
		}
	}
	xwipe(key, sizeof key);
	return rv;
}

/*
 * Fill p from a PowerOn/Off/Cycle/Query context.  On failure p is zeroed
 * (nothing to free) and *cause, malloc'd, names the key; secret values
 * never appear in it.
 */
int
ipmi_params_from_json(const json_t *context, struct ipmi_params *p,
    char **cause)
{
	struct ipmi_params	 n;
	json_t			*v;
	const char		*s;
	char			*c = NULL;
	int			 r;

	memset(&n, 0, sizeof(n));
	memset(p, 0, sizeof(*p));
	n.port = IPMI_DEFAULT_PORT;
	if (!json_is_object(context)) {
		xasprintf(cause, "context: not an object");
		return -1;
	}

	if ((r = get_str(context, "mac_address", &s, cause)) < 0)
		goto fail;
	if (r > 0)
		n.mac_address = trimdup(s);
	if ((r = get_str(context, "power_address", &s, cause)) < 0)
		goto fail;
	if (r > 0) {
		if (parse_address(s, &n, cause) == -1)
			goto fail;
	} else if (n.mac_address == NULL) {
		xasprintf(cause, "power_address: not set (and no mac_address)");
		goto fail;
	}

	/* User and secrets are taken verbatim: spaces may be meaningful. */
	if ((r = get_str(context, "power_user", &s, cause)) < 0)
		goto fail;
	if (r > 0)
		n.user = xstrdup(s);
	/* MAAS always sends -p <power_pass> as is, blank or not. */
	if ((r = get_str(context, "power_pass", &s, cause)) < 0)
		goto fail;
	v = json_object_get(context, "power_pass");
	n.pass = xstrdup(json_is_string(v) ? json_string_value(v) : "");
	/* ipmitool -f reads one line: a newline would cut the password. */
	if (strchr(n.pass, '\n') != NULL || strchr(n.pass, '\r') != NULL) {
		xasprintf(cause, "power_pass: contains a line break");
		goto fail;
	}
	if ((r = get_str(context, "k_g", &s, cause)) < 0)
		goto fail;
	if (r > 0) {
		n.k_g = xstrdup(s);
		if (kg_check(n.k_g, cause) == -1)
			goto fail;
	}

	if ((r = get_choice(context, "power_driver", &c, cause)) < 0)
		goto fail;
	if (r == 0 || strcasecmp(c, "LAN_2_0") == 0)
		n.iface = IPMI_LANPLUS;		/* MAAS's UI default */
	else if (strcasecmp(c, "LAN") == 0)
		n.iface = IPMI_LAN;
	else {
		xasprintf(cause, "power_driver: '%.32s' is not LAN or LAN_2_0",
		    c);
		goto fail;
	}
	free(c);
	c = NULL;

	if (parse_cipher(context, &n.cipher, cause) == -1)
		goto fail;

	/* LP:1889788: unset means OPERATOR, not ipmitool's ADMINISTRATOR. */
	if ((r = get_choice(context, "privilege_level", &c, cause)) < 0)
		goto fail;
	if (r == 0 || strcasecmp(c, "OPERATOR") == 0)
		n.privilege = "OPERATOR";
	else if (strcasecmp(c, "USER") == 0)
		n.privilege = "USER";
	else if (strcasecmp(c, "ADMIN") == 0 ||
	    strcasecmp(c, "ADMINISTRATOR") == 0)
		n.privilege = "ADMINISTRATOR";
	else {
		xasprintf(cause, "privilege_level: '%.32s' is not USER, "
		    "OPERATOR or ADMIN", c);
		goto fail;
	}
	free(c);
	c = NULL;

	if ((r = get_choice(context, "power_boot_type", &c, cause)) < 0)
		goto fail;
	if (r == 0 || strcasecmp(c, "auto") == 0)
		n.boot_type = IPMI_BOOT_AUTO;
	else if (strcasecmp(c, "legacy") == 0)
		n.boot_type = IPMI_BOOT_LEGACY;
	else if (strcasecmp(c, "efi") == 0)
		n.boot_type = IPMI_BOOT_EFI;
	else {
		xasprintf(cause, "power_boot_type: '%.32s' is not auto, legacy "
		    "or efi", c);
		goto fail;
	}
	free(c);
	c = NULL;

	/* MAAS: anything but "soft" is a hard off. */
	if ((r = get_choice(context, "power_off_mode", &c, cause)) < 0)
		goto fail;
	n.soft_off = r > 0 && strcasecmp(c, "soft") == 0;
	free(c);
	c = NULL;

	if (parse_workarounds(context, &n.oem, cause) == -1)
		goto fail;

	*p = n;
	return 0;

fail:
	free(c);
	ipmi_params_clear(&n);
	return -1;
}

/* Wipe the secrets, free everything, zero p.  Safe on a zeroed p. */
void
ipmi_params_clear(struct ipmi_params *p)
{
	free(p->address);
	free(p->user);
	xfree_secret(p->pass);
	xfree_secret(p->k_g);
	free(p->mac_address);
	free(p->oem);
	memset(p, 0, sizeof(*p));
}

static bool
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
ipmi_params_same_session(const struct ipmi_params *a,
    const struct ipmi_params *b)
{
	return same_str(a->address, b->address) && a->port == b->port &&
	    same_str(a->user, b->user) && same_str(a->pass, b->pass) &&
	    same_str(a->k_g, b->k_g) && a->iface == b->iface &&
	    a->cipher == b->cipher && same_str(a->privilege, b->privilege) &&
	    same_str(a->oem, b->oem);
}

/* --- ARP --------------------------------------------------------------- */

/* mac as 12 lower-case hex digits, or -1 if it is not a MAC. */
static int
mac_norm(const char *s, size_t len, char out[13])
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ':' || s[i] == '-' || s[i] == '.')
			continue;
		if (!isxdigit((unsigned char)s[i]) || n == 12)
			return -1;
		out[n++] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
	return n == 12 ? 0 : -1;
}

/*
 * The IP of mac in /proc/net/arp text, malloc'd, or NULL.  Rows with
 * flags 0x0 are incomplete (the kernel is still asking) and skipped.
 */
char *
ipmi_arp_lookup(const char *text, const char *mac)
{
	const char	*line, *next, *f[6];
	size_t		 flen[6];
	char		 want[13], got[13];
	int		 nf;

	if (text == NULL || mac == NULL ||
	    mac_norm(mac, strlen(mac), want) == -1)
		return NULL;
	/* The first line is the header. */
	if ((line = strchr(text, '\n')) == NULL)
		return NULL;
	for (line++; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		next = next == NULL ? line + strlen(line) : next + 1;
		for (nf = 0; nf < 6; nf++) {
			while (line < next && isspace((unsigned char)*line))
				line++;
			if (line >= next)
				break;
			f[nf] = line;
			while (line < next && !isspace((unsigned char)*line))
				line++;
			flen[nf] = line - f[nf];
		}
		if (nf < 4)
			continue;
		if (flen[2] == 3 && strncmp(f[2], "0x0", 3) == 0)
			continue;
		if (mac_norm(f[3], flen[3], got) == 0 &&
		    strcmp(got, want) == 0)
			return xstrndup(f[0], flen[0]);
	}
	return NULL;
}

/* --- argv -------------------------------------------------------------- */

const char *
ipmi_op_name(enum ipmi_op op)
{
	switch (op) {
	case IPMI_OP_STATUS:
		return "status";
	case IPMI_OP_ON:
		return "on";
	case IPMI_OP_OFF:
		return "off";
	case IPMI_OP_SOFT:
		return "soft";
	case IPMI_OP_CYCLE:
		return "cycle";
	case IPMI_OP_BOOTDEV_PXE:
		return "bootdev pxe";
	case IPMI_OP_BOOTPARAM_GET:
		return "bootparam get 5";
	}
	return "unknown";
}

struct argv_buf {
	char	**v;
	size_t	  n;
};

static void
add(struct argv_buf *a, const char *s)
{
	a->v = xreallocarray(a->v, a->n + 2, sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void
addint(struct argv_buf *a, const char *prefix, int i)
{
	char *s;

	xasprintf(&s, "%s%d", prefix, i);
	add(a, s);
	free(s);
}

/*
 * The bytes for ipmitool -Y on stdin: the key and a newline.  ipmitool
 * reads it with getpass() (a line) and copies it with strncpy() into its
 * 20-byte K_g buffer, zero-padded; kg_check() refused what that cannot
 * carry.  NULL when there is no K_g or the interface is lan (IPMI 1.5
 * has none).
 */
char *
ipmi_kg_input(const struct ipmi_params *p, size_t *len)
{
	uint8_t key[IPMI_KG_MAX];
	size_t n;
	char *s;

	if (p->k_g == NULL || p->iface != IPMI_LANPLUS)
		return NULL;
	if (kg_decode(p->k_g, key, &n) == -1)
		return NULL;	/* kg_check() refused it already */
	/* Trailing zero bytes are the padding ipmitool adds anyway. */
	while (n > 0 && key[n - 1] == 0)
		n--;
	s = xmalloc(n + 2);
	memcpy(s, key, n);
	s[n] = '\n';
	s[n + 1] = '\0';
	xwipe(key, sizeof key);
	if (len != NULL)
		*len = n + 1;
	return s;
}

/*
 * The argv for one run, NULL-terminated, every element malloc'd; free it
 * with ipmi_argv_free().  Shape (each bracket only when it applies):
 *   tool -I lanplus|lan -H addr [-p port] [-U user] -f /dev/fd/N -L priv
 *       [-C cipher] [-Y] [-o oem] [-N s] [-R n] -v
 *       chassis power status|on|off|soft|cycle
 *       | chassis bootdev pxe [options=efiboot]
 * The password is never here.  -C and the K_g are lanplus only: IPMI 1.5
 * has no cipher suites or K_g, and leaving K_g off keeps a secret off
 * argv where it would change nothing.
 */
char **
ipmi_argv(const char *tool, const struct ipmi_params *p, enum ipmi_op op,
    int pass_fd, const struct ipmi_timing *t)
{
	struct argv_buf	 a = { NULL, 0 };
	add(&a, tool);
	add(&a, "-I");
	add(&a, p->iface == IPMI_LAN ? "lan" : "lanplus");
	add(&a, "-H");
	add(&a, p->address);
	if (p->port != 0 && p->port != IPMI_DEFAULT_PORT) {
		add(&a, "-p");
		addint(&a, "", p->port);
	}
	if (p->user != NULL) {
		add(&a, "-U");
		add(&a, p->user);
	}
	/* Always -f, even for an empty password: without a password
	 * option ipmitool would prompt on the terminal. */
	add(&a, "-f");
	addint(&a, "/dev/fd/", pass_fd);
	/* Always -L: ipmitool's own default is ADMINISTRATOR. */
	add(&a, "-L");
	add(&a, p->privilege != NULL ? p->privilege : "OPERATOR");
	if (p->iface == IPMI_LANPLUS) {
		/* Always -C: without it ipmitool first asks the BMC for its
		 * suites (Get Channel Cipher Suites), which some BMCs and
		 * ipmi_sim never answer, costing ~10 s per call. */
		add(&a, "-C");
		addint(&a, "", p->cipher >= 1 && p->cipher <= 17 ?
		    p->cipher : IPMI_DEFAULT_CIPHER);
		/* The key itself is fed on stdin (ipmi_kg_input): -Y
		 * prompts for it, and never on argv or in the environment,
		 * which /proc shows. */
		if (p->k_g != NULL)
			add(&a, "-Y");
	}
	if (p->oem != NULL) {
		add(&a, "-o");
		add(&a, p->oem);
	}
	if (t != NULL && t->retransmit_s > 0) {
		add(&a, "-N");
		addint(&a, "", t->retransmit_s);
	}
	if (t != NULL && t->retries > 0) {
		add(&a, "-R");
		addint(&a, "", t->retries);
	}
	/* -v makes ipmitool name the failing step (RAKP 2 HMAC, ...), the
	 * only way to tell a bad password from a dead BMC. */
	add(&a, "-v");
	add(&a, "chassis");
	switch (op) {
	case IPMI_OP_STATUS:
		add(&a, "power");
		add(&a, "status");
		break;
	case IPMI_OP_ON:
		add(&a, "power");
		add(&a, "on");
		break;
	case IPMI_OP_OFF:
		add(&a, "power");
		add(&a, "off");
		break;
	case IPMI_OP_SOFT:
		add(&a, "power");
		add(&a, "soft");
		break;
	case IPMI_OP_CYCLE:
		add(&a, "power");
		add(&a, "cycle");
		break;
	case IPMI_OP_BOOTDEV_PXE:
		/*
		 * Non-persistent by default, like MAAS's Boot_Flags_Persistent
		 * No.  MAAS maps efi to BIOS_Boot_Type EFI and legacy to
		 * PC-COMPATIBLE, and auto writes no boot type at all (FreeIPMI
		 * keeps the current one).  A plain `bootdev pxe` writes boot
		 * flags with the EFI bit cleared, so legacy gets exactly that;
		 * for auto, action.c reads the flags first (BOOTPARAM_GET)
		 * and sets boot_type to what the machine has (spec A.9 trap 2).
		 */
		add(&a, "bootdev");
		add(&a, "pxe");
		if (p->boot_type == IPMI_BOOT_EFI)
			add(&a, "options=efiboot");
		break;
	case IPMI_OP_BOOTPARAM_GET:
		add(&a, "bootparam");
		add(&a, "get");
		add(&a, "5");
		break;
	}
	return a.v;
}

/* Free an argv from ipmi_argv().  NULL is fine. */
void
ipmi_argv_free(char **argv)
{
	xstrv_free(argv);
}

/*
 * The bytes for pass_fd: password and newline (ipmitool -f reads one
 * line and strips it).  Malloc'd; the caller wipes and frees it with
 * xfree_secret.  *len (when len is not NULL) excludes the NUL.
 */
char *
ipmi_password_input(const struct ipmi_params *p, size_t *len)
{
	const char	*pw = p->pass != NULL ? p->pass : "";
	size_t		 n = strlen(pw);
	char		*s;

	s = xmalloc(n + 2);
	memcpy(s, pw, n);
	s[n] = '\n';
	s[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return s;
}

/* --- classification ---------------------------------------------------- */

const char *
power_state_name(enum power_state s)
{
	switch (s) {
	case POWER_ON:
		return "on";
	case POWER_OFF:
		return "off";
	case POWER_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *
ipmi_fail_name(enum ipmi_fail f)
{
	switch (f) {
	case IPMI_FAIL_NONE:
		return "none";
	case IPMI_FAIL_AUTH:
		return "auth";
	case IPMI_FAIL_PRIVILEGE:
		return "privilege";
	case IPMI_FAIL_CIPHER:
		return "cipher";
	case IPMI_FAIL_UNREACHABLE:
		return "unreachable";
	case IPMI_FAIL_BUSY:
		return "busy";
	case IPMI_FAIL_TIMEOUT:
		return "timeout";
	case IPMI_FAIL_OTHER:
		break;
	}
	return "other";
}

/* MAAS's PowerAuthError and PowerSettingError are PowerFatalErrors. */
bool
ipmi_fail_fatal(enum ipmi_fail f)
{
	return f == IPMI_FAIL_AUTH || f == IPMI_FAIL_PRIVILEGE ||
	    f == IPMI_FAIL_CIPHER;
}

/* get_error_message prefixes (drivers/power/__init__.py). */
#define PFX_AUTH	"Could not authenticate to node's BMC: "
#define PFX_CONN	"Could not contact node's BMC: "
#define PFX_SETTING	"Missing or invalid power setting: "
#define PFX_OTHER	"Failed talking to node's BMC: "

/* The human messages of IPMI_ERRORS (drivers/power/ipmi.py, 3.4). */
#define H_USER		"Incorrect username.  Check BMC configuration and " \
			"try again."
#define H_PASS		"Incorrect password.  Check BMC configuration and " \
			"try again."
#define H_AUTHTIMEOUT	"Authentication timeout.  Check BMC configuration " \
			"and try again."
#define H_KG		"Incorrect K_g key.  Check BMC configuration and " \
			"try again."
#define H_ACCESS	"Access denied while performing power action.  " \
			"Check BMC configuration and try again."
#define H_CIPHER	"Access denied while performing power action: " \
			"cipher suite unavailable.  Check BMC configuration " \
			"and try again."
#define H_V2		"IPMI 2.0 was not discovered on the BMC.  Please " \
			"try to use IPMI 1.5 instead."
#define H_CONN		"Connection timed out while performing power " \
			"action.  Check BMC configuration and connectivity " \
			"and try again."
#define H_MSG		"Device communication timeout while performing " \
			"power action.  MAAS performed several retries.  " \
			"Check BMC configuration and connectivity and try " \
			"again."
#define H_BUSY		"Device busy while performing power action.  MAAS " \
			"performed several retries.  Please wait and try " \
			"again."

#define M_WHOLE		0x1	/* needle is the whole line */
#define M_END		0x2	/* needle2 ends the line */

/*
 * Failure lines, most specific first; the first entry found on any
 * (non-noise) line wins.  ipmitool -v prints the specific step before
 * the generic "Unable to establish ..." line, which comes last.  A
 * failing command without ": <reason>" means the BMC did not answer.
 */
static const struct rule {
	const char	*needle;
	const char	*needle2;	/* also required, after needle */
	int		 flags;
	enum ipmi_fail	 fail;
	const char	*human;		/* NULL: the ipmitool line alone */
} rules[] = {
	/* lanplus: RAKP 2 HMAC is keyed with the password. */
	{ "RAKP 2 HMAC is invalid", NULL, 0, IPMI_FAIL_AUTH, H_PASS },
	{ "unauthorized name", NULL, 0, IPMI_FAIL_AUTH, H_USER },
	/* lan: Get Session Challenge completion code 0x81. */
	{ "Invalid user name", NULL, 0, IPMI_FAIL_AUTH, H_USER },
	/* The session integrity key derives from K_g. */
	{ "RAKP 4 message has invalid integrity check value", NULL, 0,
	    IPMI_FAIL_AUTH, H_KG },
	/* The BMC refused our RAKP 3 (seen with a wrong -o intelplus). */
	{ "invalid integrity check value", NULL, 0, IPMI_FAIL_AUTH, NULL },
	{ "unauthorized GUID", NULL, 0, IPMI_FAIL_AUTH, NULL },
	/* lan: an IPMI 1.5 BMC silently drops an Activate Session with a
	 * bad auth code; FreeIPMI calls this "password verification
	 * timeout". */
	{ "Activate Session command failed", NULL, M_WHOLE, IPMI_FAIL_AUTH,
	    H_AUTHTIMEOUT },

	{ "Insufficient privilege level", NULL, 0, IPMI_FAIL_PRIVILEGE,
	    H_ACCESS },
	{ "invalid role", NULL, 0, IPMI_FAIL_PRIVILEGE, H_ACCESS },
	{ "unauthorized role", NULL, 0, IPMI_FAIL_PRIVILEGE, H_ACCESS },
	{ "Requested privilege level exceeds limit", NULL, 0,
	    IPMI_FAIL_PRIVILEGE, H_ACCESS },

	{ "no matching cipher suite", NULL, 0, IPMI_FAIL_CIPHER, H_CIPHER },
	{ "no matching authentication algorithm", NULL, 0, IPMI_FAIL_CIPHER,
	    H_CIPHER },
	{ "no matching integrity payload", NULL, 0, IPMI_FAIL_CIPHER,
	    H_CIPHER },
	{ "invalid authentication algorithm", NULL, 0, IPMI_FAIL_CIPHER,
	    H_CIPHER },
	{ "invalid integrity algorithm", NULL, 0, IPMI_FAIL_CIPHER,
	    H_CIPHER },
	{ "invalid confidentiality algorithm", NULL, 0, IPMI_FAIL_CIPHER,
	    H_CIPHER },
	{ "This BMC does not support IPMI v2", NULL, 0, IPMI_FAIL_CIPHER,
	    H_V2 },
	{ "Authentication type ", " not supported", 0, IPMI_FAIL_CIPHER,
	    H_ACCESS },

	{ "insufficient resources for session", NULL, 0, IPMI_FAIL_BUSY,
	    H_BUSY },
	{ "insufficient resources for role", NULL, 0, IPMI_FAIL_BUSY,
	    H_BUSY },
	{ "No session slot available", NULL, 0, IPMI_FAIL_BUSY, H_BUSY },
	{ "No slot available", NULL, 0, IPMI_FAIL_BUSY, H_BUSY },

	{ "Get Auth Capabilities", NULL, 0, IPMI_FAIL_UNREACHABLE, H_CONN },
	{ "No response from remote controller", NULL, 0,
	    IPMI_FAIL_UNREACHABLE, H_CONN },
	{ "no response from RAKP", NULL, 0, IPMI_FAIL_UNREACHABLE, H_CONN },
	{ "Get Session Challenge command failed", NULL, M_WHOLE,
	    IPMI_FAIL_UNREACHABLE, H_CONN },
	{ "Address lookup for ", " failed", 0, IPMI_FAIL_UNREACHABLE,
	    H_CONN },
	/* Inside an established session, no answer to the command. */
	{ "Set Session Privilege Level to ", " failed", M_END,
	    IPMI_FAIL_UNREACHABLE, H_MSG },
	{ "Unable to get Chassis Power Status", NULL, M_WHOLE,
	    IPMI_FAIL_UNREACHABLE, H_MSG },
	{ "Unable to set Chassis Power Control", NULL, 0,
	    IPMI_FAIL_UNREACHABLE, H_MSG },
	{ "Error setting Chassis Boot Parameter", NULL, 0,
	    IPMI_FAIL_UNREACHABLE, H_MSG },
	{ "Unable to establish", NULL, 0, IPMI_FAIL_UNREACHABLE, H_CONN },
};

/*
 * Lines that ipmitool prints on successful runs too (recipes §3 and the
 * corpus): they never name a failure.  "Invalid completion code
 * received: Insufficient privilege level" is the HPM/VSO probe an
 * operator session cannot make, not the power command failing.
 */
static const char *const noise[] = {
	"Loading IANA PEN Registry",
	"Get HPM.x Capabilities request failed",
	"Running Get VSO Capabilities",
	"Invalid completion code received:",
	"Discovered IPMB address",
	"Close Session command failed",
	"Using best available cipher suite",
	"Local RqAddr",
	">>",
	"<<",
};

struct lines {
	char	**l;
	size_t	  n;
};

/* Split text into trimmed, non-empty lines (copies), appending to ls. */
static void
split_lines(const char *text, struct lines *ls)
{
	const char *p, *e, *end;

	if (text == NULL)
		return;
	for (p = text; *p != '\0'; p = *e == '\0' ? e : e + 1) {
		e = p + strcspn(p, "\n");
		end = e;
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if (end == p)
			continue;
		ls->l = xreallocarray(ls->l, ls->n + 1, sizeof(*ls->l));
		ls->l[ls->n++] = xstrndup(p, end - p);
	}
}

static void
free_lines(struct lines *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->l[i]);
	free(ls->l);
	ls->l = NULL;
	ls->n = 0;
}

static int
is_noise(const char *l)
{
	size_t i;

	for (i = 0; i < sizeof(noise) / sizeof(noise[0]); i++)
		if (strncmp(l, noise[i], strlen(noise[i])) == 0)
			return 1;
	return 0;
}

/* The line as shown in a message: without -v's "> " marker. */
static const char *
shown(const char *l)
{
	while (*l == '>' || *l == ' ')
		l++;
	return l;
}

static int
rule_matches(const struct rule *r, const char *line)
{
	const char	*l = shown(line), *at, *at2;
	size_t		 n2;

	if (r->flags & M_WHOLE)
		at = strcmp(l, r->needle) == 0 ? l : NULL;
	else
		at = strstr(l, r->needle);
	if (at == NULL)
		return 0;
	if (r->needle2 == NULL)
		return 1;
	at2 = strstr(at + strlen(r->needle), r->needle2);
	if (at2 == NULL)
		return 0;
	if (r->flags & M_END) {
		n2 = strlen(r->needle2);
		return strcmp(l + strlen(l) - n2, r->needle2) == 0;
	}
	return 1;
}

/* The line that says the command worked, exact, on stdout. */
static const char *
success_line(enum ipmi_op op)
{
	switch (op) {
	case IPMI_OP_STATUS:
		return NULL;		/* two possible lines */
	case IPMI_OP_ON:
		return "Chassis Power Control: Up/On";
	case IPMI_OP_OFF:
		return "Chassis Power Control: Down/Off";
	case IPMI_OP_SOFT:
		return "Chassis Power Control: Soft";
	case IPMI_OP_CYCLE:
		return "Chassis Power Control: Cycle";
	case IPMI_OP_BOOTDEV_PXE:
		return "Set Boot Device to pxe";
	case IPMI_OP_BOOTPARAM_GET:
		return NULL;		/* the data line, parsed */
	}
	return NULL;
}

/* stdout then stderr, trimmed, without the PEN-registry line, <= 1 KiB. */
static char *
make_raw(const struct lines *out, const struct lines *err)
{
	const struct lines	*src[2] = { out, err };
	char			*raw;
	size_t			 len = 0, n, i, k;

	raw = xmalloc(IPMI_RAW_MAX + 1);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < src[k]->n; i++) {
			if (strncmp(src[k]->l[i], "Loading IANA PEN Registry",
			    25) == 0)
				continue;
			n = strlen(src[k]->l[i]);
			if (len > 0 && len < IPMI_RAW_MAX)
				raw[len++] = '\n';
			if (n > IPMI_RAW_MAX - len)
				n = IPMI_RAW_MAX - len;
			memcpy(raw + len, src[k]->l[i], n);
			len += n;
		}
	}
	/* Do not leave half a UTF-8 sequence at a cut. */
	if (len == IPMI_RAW_MAX) {
		while (len > 0 && ((unsigned char)raw[len - 1] & 0xc0) == 0x80)
			len--;
		if (len > 0 && ((unsigned char)raw[len - 1] & 0x80))
			len--;
	}
	raw[len] = '\0';
	return raw;
}

static const char *
class_prefix(enum ipmi_fail f)
{
	switch (f) {
	case IPMI_FAIL_AUTH:
	case IPMI_FAIL_PRIVILEGE:
		return PFX_AUTH;
	case IPMI_FAIL_CIPHER:
		return PFX_SETTING;
	case IPMI_FAIL_UNREACHABLE:
	case IPMI_FAIL_BUSY:
	case IPMI_FAIL_TIMEOUT:
		return PFX_CONN;
	default:
		return PFX_OTHER;
	}
}

/* The first line that is not noise, stderr before stdout, or NULL. */
static const char *
first_meaningful(const struct lines *err, const struct lines *out)
{
	size_t i;

	for (i = 0; i < err->n; i++)
		if (!is_noise(err->l[i]))
			return shown(err->l[i]);
	for (i = 0; i < out->n; i++)
		if (!is_noise(out->l[i]))
			return shown(out->l[i]);
	return NULL;
}

/*
 * Classify one finished run into o (cleared first).  o->raw is always
 * set; o->message is set exactly when o->fail != IPMI_FAIL_NONE.  Both
 * are malloc'd and released by ipmi_outcome_clear().
 */
void
ipmi_classify(enum ipmi_op op, int exit_status, bool timed_out,
    const char *out, const char *err, struct ipmi_outcome *o)
{
	struct lines		 lo = { NULL, 0 }, le = { NULL, 0 };
	struct lines		*both[2] = { &le, &lo };
	const struct rule	*r;
	const char		*want, *line;
	size_t			 i, j, k;

	memset(o, 0, sizeof(*o));
	o->state = POWER_UNKNOWN;
	split_lines(out, &lo);
	/* ipmitool -Y prompts "Key: " on stderr (no newline) before it
	 * reads the K_g from stdin: not part of what ipmitool said. */
	if (err != NULL && strncmp(err, IPMI_KG_PROMPT,
	    strlen(IPMI_KG_PROMPT)) == 0)
		err += strlen(IPMI_KG_PROMPT);
	split_lines(err, &le);
	o->raw = make_raw(&lo, &le);

	if (timed_out) {
		o->fail = IPMI_FAIL_TIMEOUT;
		line = first_meaningful(&le, &lo);
		xasprintf(&o->message, "%s%s (ipmitool killed at rackd's "
		    "deadline%s%s)", PFX_CONN, H_CONN, line != NULL ? ": " : "",
		    line != NULL ? line : "");
		goto done;
	}

	/* Success needs both exit 0 and the line: with -y, ipmitool 1.8.19
	 * exits 0 after failing to establish the session. */
	if (exit_status == 0) {
		want = success_line(op);
		for (i = 0; i < lo.n; i++) {
			if (op == IPMI_OP_BOOTPARAM_GET) {
				if (ipmi_boot_flags_efi(lo.l[i]) >= 0) {
					o->boot_efi =
					    ipmi_boot_flags_efi(lo.l[i]) == 1;
					goto done;
				}
			} else if (op == IPMI_OP_STATUS) {
				if (strcmp(lo.l[i], "Chassis Power is on") == 0)
					o->state = POWER_ON;
				else if (strcmp(lo.l[i],
				    "Chassis Power is off") == 0)
					o->state = POWER_OFF;
				if (o->state != POWER_UNKNOWN)
					goto done;
			} else if (strcmp(lo.l[i], want) == 0)
				goto done;
		}
	}

	for (k = 0; k < sizeof(rules) / sizeof(rules[0]); k++) {
		r = &rules[k];
		for (j = 0; j < 2; j++) {
			for (i = 0; i < both[j]->n; i++) {
				line = both[j]->l[i];
				if (is_noise(line) || !rule_matches(r, line))
					continue;
				o->fail = r->fail;
				if (r->human != NULL)
					xasprintf(&o->message, "%s%s (%s)",
					    class_prefix(r->fail), r->human,
					    shown(line));
				else
					xasprintf(&o->message, "%s%s",
					    class_prefix(r->fail), shown(line));
				goto done;
			}
		}
	}

	o->fail = IPMI_FAIL_OTHER;
	line = first_meaningful(&le, &lo);
	if (exit_status == 0)
		xasprintf(&o->message, "%sunexpected ipmitool output for %s: "
		    "%s", PFX_OTHER, ipmi_op_name(op),
		    line != NULL ? line : "(none)");
	else if (line != NULL)
		xasprintf(&o->message, "%s%s (ipmitool exit status %d)",
		    PFX_OTHER, line, exit_status);
	else
		xasprintf(&o->message, "%sipmitool exit status %d, no output",
		    PFX_OTHER, exit_status);
done:
	free_lines(&lo);
	free_lines(&le);
}

int
ipmi_boot_flags_efi(const char *out)
{
	static const char tag[] = "Boot parameter data:";
	const char *p;
	int hi, lo;

	if (out == NULL)
		return -1;
	for (p = out; (p = strstr(p, tag)) != NULL; p += sizeof tag - 1) {
		/* At the start of a line only. */
		if (p != out && p[-1] != '\n')
			continue;
		p += sizeof tag - 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return -1;
		hi = bytes_hexval(p[0]);
		lo = bytes_hexval(p[1]);
		return ((hi << 4 | lo) & 0x20) != 0 ? 1 : 0;
	}
	return -1;
}

/* Free message and raw; o is zeroed. */
void
ipmi_outcome_clear(struct ipmi_outcome *o)
{
	free(o->message);
	free(o->raw);
	memset(o, 0, sizeof(*o));
}
