/*
 * programs.h — the programs and files rackd will run or hand to Kea
 * (kea-dhcp4/6, Kea's hooks directory and the hook libraries rackd
 * configures, the lease hook, ipmitool), checked at `rackd -n` and at
 * start-up so a missing one is named at once instead of when a region
 * first sends a DHCP configuration or a power action.
 *
 * The checks are a table (programs.c): one row per program or file, with
 * the config key giving its path (or directory), the Debian package that
 * ships it, and what does not work without it.
 */
#ifndef PROGRAMS_H
#define PROGRAMS_H

#include <stddef.h>

struct rackd_config;

/*
 * Check every row against cfg.  Returns the number of problems and sets
 * *lines to a malloc'd array of that many malloc'd texts (caller frees
 * each and the array; NULL when none), e.g.
 *   "dhcp: kea-dhcp4 not found at /usr/sbin/kea-dhcp4 (package
 *    kea-dhcp4-server): DHCP cannot be served"
 */
size_t	programs_check(const struct rackd_config *, char ***lines);

/*
 * When rackd runs from its build tree (rackd-lease-hook and
 * rackd-lease-hook.so beside /proc/self/exe) and the config file does not
 * set dhcp.lease_hook_script / dhcp.lease_hook_library, point cfg at
 * those.  exe_dir NULL =
 * the directory of /proc/self/exe.  Returns 1 when changed, else 0.
 */
int	programs_use_build_tree(struct rackd_config *, const char *exe_dir);

#endif
