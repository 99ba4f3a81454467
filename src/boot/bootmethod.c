/*
 * bootmethod.c — MAAS 3.4's boot-method file-name matchers, as tables.
 *
 * Each method's re_config_file (boot/pxe.py, boot/grub.py, boot/ipxe.py
 * @3.4.0) is a prefix, then one of: a MAC (with the method's separators
 * and, for PXE, the "01-" ARP type), a hardware UUID (PXE only), or
 * "default" optionally followed by <sep>arch[-subarch].  The regexes are
 * anchored with Python's `$`, which also matches before one final "\n";
 * \w is ASCII [A-Za-z0-9_] (bytes patterns).  The parser below walks
 * those shapes directly; each row of the table is one regex.
 */
#include <string.h>

#include "bootmethod.h"
#include "rackd.h"

const struct bootmethod bootmethods[] = {
	{ BOOTMETHOD_IPXE, "ipxe", "ipxe", "ipxe" },
	{ BOOTMETHOD_PXE, "pxe", "pxe", "pxe" },
	{ BOOTMETHOD_UEFI, "uefi_amd64_tftp", "uefi", "uefi" },
};
const size_t bootmethod_count = RACKD_NELEM(bootmethods);

const struct bootmethod *
bootmethod_get(enum bootmethod_id id)
{
	size_t i;

	for (i = 0; i < bootmethod_count; i++)
		if (bootmethods[i].id == id)
			return &bootmethods[i];
	return NULL;
}

/* One re_config_file. */
struct matcher {
	enum bootmethod_id	 id;
	const char		*prefix;	/* after the leading slashes */
	const char		*mac_prefix;	/* "01-" for PXE */
	const char		*mac_seps;	/* allowed between octets */
	bool			 uuid;		/* 8-4-4-4-12 hex alternative */
	const char		*default_seps;	/* before the arch */
	bool			 grub_arches;	/* x86_64 -> amd64 ... */
};

/* Registry order: first match wins (tftp.py get_boot_method). */
static const struct matcher matchers[] = {
	{ BOOTMETHOD_IPXE, "ipxe.cfg-", "", ":", false, "-", false },
	{ BOOTMETHOD_PXE, "pxelinux.cfg/", "01-", "-", true, ".-", false },
	{ BOOTMETHOD_UEFI, "grub/grub.cfg-", "", ":-", false, "-", true },
};

struct cur {
	const char	*p, *end;
};

static bool
at_end(const struct cur *c)
{
	/* Python's `$`: the end, or just before a final newline. */
	return c->p == c->end || (c->p + 1 == c->end && *c->p == '\n');
}

static bool
take_str(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool
is_lhex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static bool
is_hex(char ch)
{
	return is_lhex(ch) || (ch >= 'A' && ch <= 'F');
}

static bool
is_word(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_';
}

/* Six lower-case hex octets with a separator from seps between each;
 * stored with '-' separators. */
static bool
take_mac(struct cur *c, const char *seps, char *mac)
{
	const char *p = c->p;
	int i;

	for (i = 0; i < 6; i++) {
		if (i > 0) {
			if (p >= c->end || *p == '\0' || strchr(seps, *p) == NULL)
				return false;
			mac[i * 3 - 1] = '-';
			p++;
		}
		if (c->end - p < 2 || !is_lhex(p[0]) || !is_lhex(p[1]))
			return false;
		mac[i * 3] = p[0];
		mac[i * 3 + 1] = p[1];
		p += 2;
	}
	mac[BOOTMETHOD_MAC_LEN] = '\0';
	c->p = p;
	return true;
}

static bool
take_uuid(struct cur *c, char *uuid)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	const char *p = c->p;
	size_t i;
	int j;

	for (i = 0; i < RACKD_NELEM(groups); i++) {
		if (i > 0) {
			if (p >= c->end || *p != '-')
				return false;
			p++;
		}
		for (j = 0; j < groups[i]; j++, p++)
			if (p >= c->end || !is_hex(*p))
				return false;
	}
	memcpy(uuid, c->p, BOOTMETHOD_UUID_LEN);
	uuid[BOOTMETHOD_UUID_LEN] = '\0';
	c->p = p;
	return true;
}

/* \w+ into out; false if empty or too long for out. */
static bool
take_word(struct cur *c, char *out)
{
	size_t n = 0;

	while (c->p + n < c->end && is_word(c->p[n]))
		n++;
	if (n == 0 || n > BOOTMETHOD_WORD_MAX)
		return false;
	memcpy(out, c->p, n);
	out[n] = '\0';
	c->p += n;
	return true;
}

/* "default", then optionally <sep>arch and optionally -subarch. */
static bool
take_default(struct cur *c, const char *seps, struct bootmethod_match *m)
{
	if (!take_str(c, "default"))
		return false;
	if (at_end(c))
		return true;
	if (c->p >= c->end || *c->p == '\0' || strchr(seps, *c->p) == NULL)
		return false;
	c->p++;
	if (!take_word(c, m->arch))
		return false;
	if (at_end(c))
		return true;
	if (!take_str(c, "-") || !take_word(c, m->subarch))
		return false;
	return at_end(c);
}

static bool
match_one(const struct matcher *mt, const char *path, size_t len,
    struct bootmethod_match *m)
{
	struct cur c = { path, path + len }, save;

	memset(m, 0, sizeof *m);
	while (c.p < c.end && *c.p == '/')
		c.p++;
	if (!take_str(&c, mt->prefix))
		return false;
	save = c;
	if (take_str(&c, mt->mac_prefix) && take_mac(&c, mt->mac_seps, m->mac) &&
	    at_end(&c))
		return true;
	memset(m->mac, 0, sizeof m->mac);
	c = save;
	if (mt->uuid && take_uuid(&c, m->hardware_uuid) && at_end(&c))
		return true;
	memset(m->hardware_uuid, 0, sizeof m->hardware_uuid);
	c = save;
	if (take_default(&c, mt->default_seps, m))
		return true;
	memset(m, 0, sizeof *m);
	return false;
}

/* GRUB names CPUs as Linux does; MAAS uses Debian's names
 * (UEFIAMD64BootMethod.match_path). */
static void
grub_arch(char *arch)
{
	if (strcmp(arch, "x86_64") == 0)
		strcpy(arch, "amd64");
	else if (strcmp(arch, "powerpc") == 0 || strcmp(arch, "ppc64") == 0 ||
	    strcmp(arch, "ppc64le") == 0)
		strcpy(arch, "ppc64el");
}

int
bootmethod_match(const char *path, size_t len, struct bootmethod_match *m)
{
	char buf[1024];
	size_t i;

	/* tftp.py: file_name.replace(b"\\", b"/").  Longer names match no
	 * method (the longest match is ~300 bytes). */
	memset(m, 0, sizeof *m);
	if (len > sizeof buf)
		return 0;
	for (i = 0; i < len; i++)
		buf[i] = path[i] == '\\' ? '/' : path[i];
	for (i = 0; i < RACKD_NELEM(matchers); i++) {
		if (!match_one(&matchers[i], buf, len, m))
			continue;
		m->method = bootmethod_get(matchers[i].id);
		if (matchers[i].grub_arches)
			grub_arch(m->arch);
		/* tftp.py get_reader: ArchitectureRegistry.get_by_pxealias. */
		if (strcmp(m->arch, "arm") == 0)
			strcpy(m->arch, "arm64");
		return 1;
	}
	memset(m, 0, sizeof *m);
	return 0;
}
