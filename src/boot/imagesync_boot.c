/*
 * imagesync_boot.c — what each boot method puts in a new snapshot's root
 * before `current` moves to it (maas-rack-boot.md §1.5, §2.6; MAAS 3.4.0
 * boot/__init__.py BootMethod.link_bootloader, boot/pxe.py, boot/grub.py,
 * boot/ipxe.py), in MAAS's method order:
 *
 *   ipxe          ipxe.cfg, always written
 *   pxe           lpxelinux.0 and the .c32 modules, pxelinux.0, syslinux
 *   uefi_amd64    bootx64.efi, grubx64.efi; grub/grub.cfg if absent
 *   uefi_arm64    bootaa64.efi, grubaa64.efi
 *   open-firmware bootppc64.bin
 *
 * A method whose bootloader/<type>/<arch> the stream brought gets symlinks
 * into it (a missing file is MAAS's "SimpleStream is missing required
 * bootloader file" error).  Otherwise the file comes from the previous
 * snapshot (`current`), then from the distribution's packages:
 *   pxe:  /usr/lib/PXELINUX, /usr/lib/syslinux/modules/bios (symlinks);
 *   uefi: shim-signed's shim.efi.signed as bootx64.efi and
 *         grub-efi-amd64-signed's grubnetx64.efi.signed as grubx64.efi,
 *         as MAAS; Debian has neither, so then grub-efi-amd64-bin's
 *         unsigned monolithic grubnetx64.efi serves as both (no Secure
 *         Boot; the log says which file is used).
 * Where nothing is found the RACK_IMPORT_ERROR text is MAAS's; the sync
 * goes on (images still boot by the methods that have their files).
 *
 * Two departures from MAAS, both to keep a served file from vanishing:
 * a file found in the previous snapshot is hard-linked (MAAS copies it:
 * same bytes, and the cache keeps one inode), and `syslinux` never
 * points into the previous snapshot (MAAS's would dangle once the old
 * snapshot is cleaned up).  Not modelled: uefi_ebc_tftp and the *_http
 * variants (the same files as uefi_amd64; MAAS's EBC method only
 * re-copies bootx64.efi/grubx64.efi or repeats the amd64 error).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootconfig.h"
#include "imagesync_private.h"
#include "log.h"
#include "xmalloc.h"

const struct is_boot_sys is_boot_sys_default = {
	.pxelinux = "/usr/lib/PXELINUX",
	.syslinux_bios = "/usr/lib/syslinux/modules/bios",
	.shim_signed = "/usr/lib/shim/shim.efi.signed",
	.grub_signed = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
	.grub_unsigned = "/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi",
};

enum boot_fallback { FALLBACK_NONE, FALLBACK_PXE, FALLBACK_UEFI };

static const struct boot_method {
	const char		*name;		/* MAAS's BootMethod.name */
	const char		*bios;		/* bootloader/<bios>/<arch> */
	const char		*arches[3];
	const char		*files[7];
	enum boot_fallback	 fallback;
} boot_methods[] = {
	{ "pxe", "pxe", { "i386", "amd64", NULL },
	    { "lpxelinux.0", "chain.c32", "ifcpu64.c32", "ldlinux.c32",
	    "libcom32.c32", "libutil.c32", NULL }, FALLBACK_PXE },
	{ "uefi_amd64_tftp", "uefi", { "amd64", NULL },
	    { "bootx64.efi", "grubx64.efi", NULL }, FALLBACK_UEFI },
	{ "uefi_arm64_tftp", "uefi", { "arm64", NULL },
	    { "bootaa64.efi", "grubaa64.efi", NULL }, FALLBACK_UEFI },
	{ "open-firmware_ppc64el", "open-firmware", { "ppc64el", "ppc64", NULL },
	    { "bootppc64.bin", NULL }, FALLBACK_UEFI },
};

struct boot_ctx {
	const char		*storage;	/* realpath'd */
	const char		*snap;
	const struct is_boot_sys *sys;
	is_boot_report_fn	 report;
	void			*arg;
};

static void
boot_error(struct boot_ctx *c, const char *fmt, ...) RACKD_PRINTF(2, 3);

/* MAAS's try_send_rack_event(RACK_IMPORT_ERROR) + maaslog.error. */
static void
boot_error(struct boot_ctx *c, const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_warnx("images: %s", msg);
	if (c->report != NULL)
		c->report(c->arg, msg);
	free(msg);
}

static int
boot_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* dst -> target, replacing what is there (MAAS's atomic_symlink). */
static void
boot_symlink(const char *target, const char *dst)
{
	char *tmp;

	xasprintf(&tmp, "%s.tmp-link", dst);
	unlink(tmp);
	if (symlink(target, tmp) == -1 || rename(tmp, dst) == -1) {
		log_warn("images: symlink %s -> %s", dst, target);
		unlink(tmp);
	}
	free(tmp);
}

/* A file of the previous snapshot into the new one: a hard link (the
 * old snapshot goes; the inode stays), a copy where links fail. */
static int
boot_take(const char *src, const char *dst)
{
	char buf[65536], *tmp;
	ssize_t n;
	int in, out, rc = 0;

	unlink(dst);
	if (link(src, dst) == 0)
		return 0;
	xasprintf(&tmp, "%s.tmp-copy", dst);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		if (in != -1)
			close(in);
		free(tmp);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out) == -1 || rc == -1 || rename(tmp, dst) == -1) {
		unlink(tmp);
		rc = -1;
	}
	free(tmp);
	return rc;
}

/* Is path (resolved) inside the storage tree? */
static int
boot_in_storage(struct boot_ctx *c, const char *resolved)
{
	size_t l = strlen(c->storage);

	return strncmp(resolved, c->storage, l) == 0 && resolved[l] == '/';
}

/*
 * Look for file in dir (resolved): into the snapshot root as a hard link
 * when it is in the storage tree, a symlink otherwise.  1 found, 0 not.
 */
static int
boot_find(struct boot_ctx *c, const char *dir, const char *file)
{
	char *p, *dst, real[PATH_MAX];
	int found = 0;

	xasprintf(&p, "%s/%s", dir, file);
	xasprintf(&dst, "%s/%s", c->snap, file);
	if (realpath(p, real) != NULL && boot_exists(real)) {
		if (boot_in_storage(c, real))
			found = boot_take(real, dst) == 0;
		else {
			boot_symlink(real, dst);
			found = 1;
		}
		if (found)
			log_debug("images: %s from %s", file, real);
	}
	free(p);
	free(dst);
	return found;
}

static void
boot_join(const char *const *names, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
		    i > 0 ? ", " : "", names[i]);
}

/* PXEBootMethod._find_and_copy_bootloaders (pxe.py@3.4.0). */
static void
boot_pxe_fallback(struct boot_ctx *c, const struct boot_method *m)
{
	char *cur, *cursys, *paths[4], *dst, joined[512], plist[1024];
	char real[PATH_MAX];
	const char *missing[8];
	size_t i, j, nmissing = 0;

	xasprintf(&cur, "%s/current", c->storage);
	xasprintf(&cursys, "%s/current/syslinux", c->storage);
	paths[0] = cur;
	paths[1] = cursys;
	paths[2] = (char *)c->sys->pxelinux;
	paths[3] = (char *)c->sys->syslinux_bios;
	for (j = 0; m->files[j] != NULL; j++) {
		xasprintf(&dst, "%s/%s", c->snap, m->files[j]);
		for (i = 0; i < 4 && !boot_exists(dst); i++)
			boot_find(c, paths[i], m->files[j]);
		if (!boot_exists(dst))
			missing[nmissing++] = m->files[j];
		free(dst);
	}
	if (nmissing > 0) {
		boot_join(missing, nmissing, joined, sizeof(joined));
		boot_join((const char *const *)paths, 4, plist, sizeof(plist));
		boot_error(c, "Unable to find a copy of %s in the SimpleStream "
		    "or in the system search paths %s. The %s bootloader type "
		    "may not work.", joined, plist, m->name);
	}
	/* syslinux: the old snapshot's stream directory would dangle once
	 * that snapshot is removed; the package directory does not. */
	xasprintf(&dst, "%s/syslinux", c->snap);
	if (realpath(cursys, real) != NULL && !boot_in_storage(c, real))
		boot_symlink(real, dst);
	else if (realpath(c->sys->syslinux_bios, real) != NULL)
		boot_symlink(real, dst);
	free(dst);
	free(cur);
	free(cursys);
}

/* UEFIAMD64BootMethod._find_and_copy_bootloaders (grub.py@3.4.0), with
 * Debian's unsigned grubnetx64.efi when the signed packages are absent. */
static void
boot_uefi_fallback(struct boot_ctx *c, const struct boot_method *m)
{
	static const char *const names[2] = { "bootx64.efi", "grubx64.efi" };
	const char *missing[2], *signed_[2];
	char *cur, *dst, joined[256];
	size_t j, nmissing = 0, found = 0;

	xasprintf(&cur, "%s/current", c->storage);
	for (j = 0; m->files[j] != NULL; j++)
		found += (size_t)boot_find(c, cur, m->files[j]);
	free(cur);
	if (found == j)
		return;
	signed_[0] = c->sys->shim_signed;
	signed_[1] = c->sys->grub_signed;
	if (strcmp(m->name, "uefi_amd64_tftp") != 0) {
		/* MAAS's arm64 and ppc64el methods inherit this fallback: they
		 * look for the amd64 signed packages and name the amd64 files
		 * as missing (their own files have no package). */
		for (j = 0; j < 2; j++)
			if (!boot_exists(signed_[j]))
				missing[nmissing++] = names[j];
	} else {
		for (j = 0; j < 2; j++) {
			xasprintf(&dst, "%s/%s", c->snap, names[j]);
			if (boot_exists(dst))
				;	/* from the previous snapshot */
			else if (boot_exists(signed_[j])) {
				boot_symlink(signed_[j], dst);
				log_info("images: %s from %s", names[j],
				    signed_[j]);
			} else if (boot_exists(c->sys->grub_unsigned)) {
				/* Debian: GRUB started by the firmware
				 * itself (no shim, so no Secure Boot). */
				boot_symlink(c->sys->grub_unsigned, dst);
				log_warnx("images: %s from %s (unsigned: "
				    "machines with Secure Boot on will not "
				    "boot it)", names[j],
				    c->sys->grub_unsigned);
			} else
				missing[nmissing++] = names[j];
			free(dst);
		}
	}
	if (nmissing > 0) {
		boot_join(missing, nmissing, joined, sizeof(joined));
		boot_error(c, "Unable to find a copy of %s in the SimpleStream "
		    "and the packages shim-signed, and grub-efi-amd64-signed are "
		    "not installed. The %s bootloader type may not work.",
		    joined, m->name);
	}
}

/* BootMethod.link_bootloader (boot/__init__.py@3.4.0). */
static void
boot_method_link(struct boot_ctx *c, const struct boot_method *m)
{
	char *stream = NULL, *src, *dst;
	size_t i, j;

	for (i = 0; m->arches[i] != NULL; i++) {
		xasprintf(&stream, "%s/bootloader/%s/%s", c->snap, m->bios,
		    m->arches[i]);
		if (boot_exists(stream))
			break;
		free(stream);
		stream = NULL;
	}
	if (stream == NULL) {
		if (m->fallback == FALLBACK_PXE)
			boot_pxe_fallback(c, m);
		else if (m->fallback == FALLBACK_UEFI)
			boot_uefi_fallback(c, m);
		return;
	}
	for (j = 0; m->files[j] != NULL; j++) {
		xasprintf(&src, "%s/%s", stream, m->files[j]);
		xasprintf(&dst, "%s/%s", c->snap, m->files[j]);
		if (boot_exists(src))
			boot_symlink(src, dst);
		else
			boot_error(c, "SimpleStream is missing required "
			    "bootloader file '%s' from bootloader %s.",
			    m->files[j], m->name);
		free(src);
		free(dst);
	}
	if (m->fallback == FALLBACK_PXE) {
		/* Extra modules for custom configs: PXELINUX looks in /
		 * then /syslinux. */
		xasprintf(&dst, "%s/syslinux", c->snap);
		boot_symlink(stream, dst);
		free(dst);
	}
	free(stream);
}

int
is_boot_static_files(const char *snap, char **cause)
{
	char *path, *dir;
	int rc;

	/* IPXEBootMethod.link_bootloader: always (re)written. */
	xasprintf(&path, "%s/ipxe.cfg", snap);
	rc = is_write_file(path, bootconfig_ipxe_cfg, cause);
	free(path);
	if (rc == -1)
		return -1;
	/* UEFIAMD64BootMethod.link_bootloader: written if absent. */
	xasprintf(&dir, "%s/grub", snap);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	xasprintf(&path, "%s/grub.cfg", dir);
	free(dir);
	rc = 0;
	if (!boot_exists(path))
		rc = is_write_file(path, bootconfig_grub_cfg, cause);
	free(path);
	return rc;
}

int
is_boot_link(const char *storage, const char *snap,
    const struct is_boot_sys *sys, is_boot_report_fn report, void *arg,
    char **cause)
{
	struct boot_ctx c;
	char real[PATH_MAX];
	size_t i;

	if (realpath(storage, real) == NULL) {
		xasprintf(cause, "%s: %s", storage, strerror(errno));
		return -1;
	}
	c.storage = real;
	c.snap = snap;
	c.sys = sys;
	c.report = report;
	c.arg = arg;
	for (i = 0; i < RACKD_NELEM(boot_methods); i++)
		boot_method_link(&c, &boot_methods[i]);
	/* pxelinux.0 for external DHCP servers pointing at it. */
	{
		char *lpx, *dst;

		xasprintf(&lpx, "%s/lpxelinux.0", snap);
		xasprintf(&dst, "%s/pxelinux.0", snap);
		if (boot_exists(lpx))
			boot_symlink("lpxelinux.0", dst);
		free(lpx);
		free(dst);
	}
	return is_boot_static_files(snap, cause);
}
