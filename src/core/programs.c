/*
 * programs.c — rackd's external programs and Kea's files, checked before
 * they are needed (programs.h).  To check one more, add a row.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "programs.h"
#include "xmalloc.h"

enum program_kind {
	PROGRAM_EXEC,		/* an executable file */
	PROGRAM_DIR,		/* a directory */
	PROGRAM_FILE,		/* a readable file (a hook library) */
};

struct program_row {
	const char		*service;	/* "dhcp", "power" */
	const char		*what;		/* "kea-dhcp4", "libdhcp_ha.so" */
	size_t			 path_off;	/* char * in struct rackd_config */
	const char		*file;		/* under that directory; NULL =
						 * the path itself */
	enum program_kind	 kind;
	const char		*package;	/* Debian package shipping it */
	const char		*without;	/* what fails without it */
};

#define CFG(m)	offsetof(struct rackd_config, m)

static const struct program_row program_rows[] = {
	{ "dhcp", "kea-dhcp4", CFG(dhcp.kea_dhcp4), NULL, PROGRAM_EXEC,
	  "kea-dhcp4-server", "DHCP cannot be served" },
	{ "dhcp", "kea-dhcp6", CFG(dhcp.kea_dhcp6), NULL, PROGRAM_EXEC,
	  "kea-dhcp6-server", "DHCPv6 cannot be served" },
	{ "dhcp", "Kea's hooks directory", CFG(dhcp.hooks_dir), NULL,
	  PROGRAM_DIR, "kea-common",
	  "DHCP with a failover peer and lease events cannot work" },
	{ "dhcp", "libdhcp_lease_cmds.so", CFG(dhcp.hooks_dir),
	  "libdhcp_lease_cmds.so", PROGRAM_FILE, "kea-common",
	  "DHCP cannot be served" },
	{ "dhcp", "libdhcp_ha.so", CFG(dhcp.hooks_dir), "libdhcp_ha.so",
	  PROGRAM_FILE, "kea-common",
	  "VLANs with a failover peer cannot be served" },
	{ "dhcp", "libdhcp_run_script.so", CFG(dhcp.hooks_dir),
	  "libdhcp_run_script.so", PROGRAM_FILE, "kea-common",
	  "DHCP cannot be served (lease events need it)" },
	{ "dhcp", "the lease hook", CFG(dhcp.lease_hook_script), NULL,
	  PROGRAM_EXEC, "rackd", "DHCP cannot be served (lease events need it)" },
	{ "dhcp", "the lease hook library", CFG(dhcp.lease_hook_library), NULL,
	  PROGRAM_FILE, "rackd",
	  "lease events go through run_script, one process each (slower)" },
	{ "power", "ipmitool", CFG(power.ipmitool), NULL, PROGRAM_EXEC,
	  "ipmitool", "IPMI power control cannot work" },
};

/* NULL when path is fine, else why not (static text). */
static const char *
check_one(const char *path, enum program_kind kind)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return errno == ENOENT || errno == ENOTDIR ? "not found" :
		    "cannot be read";
	switch (kind) {
	case PROGRAM_EXEC:
		if (!S_ISREG(st.st_mode))
			return "is not a file";
		if (access(path, X_OK) == -1)
			return "is not executable";
		break;
	case PROGRAM_DIR:
		if (!S_ISDIR(st.st_mode))
			return "is not a directory";
		break;
	case PROGRAM_FILE:
		if (!S_ISREG(st.st_mode))
			return "is not a file";
		if (access(path, R_OK) == -1)
			return "cannot be read";
		break;
	}
	return NULL;
}

size_t
programs_check(const struct rackd_config *cfg, char ***lines)
{
	const struct program_row *r;
	const char *base, *why;
	char *path, **out = NULL;
	size_t i, n = 0;
	struct stat st;

	for (i = 0; i < sizeof program_rows / sizeof program_rows[0]; i++) {
		r = &program_rows[i];
		base = *(char *const *)((const char *)cfg + r->path_off);
		if (base == NULL)
			continue;
		/* A missing directory is one line, not one per library. */
		if (r->file != NULL && stat(base, &st) == -1)
			continue;
		if (r->file != NULL)
			xasprintf(&path, "%s/%s", base, r->file);
		else
			path = xstrdup(base);
		if ((why = check_one(path, r->kind)) != NULL) {
			out = xreallocarray(out, n + 1, sizeof *out);
			xasprintf(&out[n++], "%s: %s %s at %s (package %s): %s",
			    r->service, r->what, why, path, r->package,
			    r->without);
		}
		free(path);
	}
	*lines = out;
	return n;
}

/* Point *slot at dir/name when the config file did not set key and that
 * file is usable; 1 when changed. */
static int
use_beside(struct rackd_config *cfg, const char *key, char **slot,
    const char *dir, const char *name, enum program_kind kind)
{
	char *path;

	if (config_key_present(cfg, key))
		return 0;
	xasprintf(&path, "%s/%s", dir, name);
	if (check_one(path, kind) != NULL || strcmp(path, *slot) == 0) {
		free(path);
		return 0;
	}
	free(*slot);
	*slot = path;
	return 1;
}

int
programs_use_build_tree(struct rackd_config *cfg, const char *exe_dir)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int changed = 0;

	if (exe_dir == NULL) {
		if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
			return 0;
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) == NULL)
			return 0;
		*slash = '\0';
		exe_dir = exe;
	}
	changed |= use_beside(cfg, "dhcp.lease_hook_script",
	    &cfg->dhcp.lease_hook_script, exe_dir, "rackd-lease-hook",
	    PROGRAM_EXEC);
	changed |= use_beside(cfg, "dhcp.lease_hook_library",
	    &cfg->dhcp.lease_hook_library, exe_dir, "rackd-lease-hook.so",
	    PROGRAM_FILE);
	return changed;
}
