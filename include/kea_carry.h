/*
 * kea_carry.h — the file side of carrying leases between Kea instances
 * (the pure side is kea_leases.h): find the lease files of every
 * instance of a family in <data_dir>/dhcp, seed a target instance's
 * memfile before it starts, and retire the files of instances that no
 * longer exist once their leases are held elsewhere.
 *
 * File names (kea_config.h): <dir>/kea<4|6>-<name>.leases, plus the
 * kea-lfc leftovers <file>.completed, <file>.2 and <file>.1 that Kea
 * itself loads first.  A retired file is renamed <file>.retired (the
 * previous .retired is replaced): kept for an operator, never read again.
 */
#ifndef KEA_CARRY_H
#define KEA_CARRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "kea_leases.h"

/* What one seed did, for the log and for checking Kea holds it. */
struct kea_seed {
	size_t		  n;		/* leases appended */
	uint8_t		(*addrs)[16];
	uint32_t	 *subnet_ids;	/* the target's new subnets */
	size_t		  nsubnet_ids;
	char		**lines;	/* "carried 42 leases of 10.88.0.0/16
					   from 'standalone' into
					   'failover-vlan-5001'" */
	size_t		  nlines;
	char		**warnings;	/* corrupt rows skipped, unreadable
					   files (each names the file) */
	size_t		  nwarnings;
};

/*
 * Seed the lease file of instance target (family 4/6, its memfile at
 * lease_path; it must not be running) with the still-valid leases, held
 * by any other instance's files in dir, of the subnets in new_config
 * that old_config (the instance's last known-good document, NULL when
 * none) did not have.  The file is rewritten atomically (its old rows
 * kept, the carried ones appended).  Fills *out (kea_seed_free); 0, or
 * -1 with *cause when the target file cannot be read or written (then
 * nothing was changed).  A source that cannot be read or parsed is a
 * warning: its leases are not carried and it is not retired.
 */
int	kea_carry_seed(const char *dir, int family, const char *target,
	    const char *lease_path, const json_t *old_config,
	    const json_t *new_config, int64_t now, int flags,
	    struct kea_seed *out, char **cause);
/* flags: plan only, write nothing (out->n says what a seed would carry,
 * so a running target is stopped only when there is something to carry). */
#define KEA_SEED_DRY_RUN	0x1
void	kea_seed_free(struct kea_seed *);	/* NULL ok; zeroes */

/*
 * Whether new_config lacks a subnet (by CIDR) that old_config has: the
 * instance gives subnets up, and must stop serving them before another
 * instance's file is seeded from its own.  False when old_config is NULL
 * or unreadable.
 */
bool	kea_config_loses_subnets(const json_t *old_config,
	    const json_t *new_config, int family);

/*
 * Rename to .retired the lease files in dir of family's instances whose
 * names are not in keep[0..nkeep).  Files a seed could not read are
 * still retired only if readable now (an unreadable one stays).  Returns
 * how many files were retired; each is logged by the caller through
 * *names (malloc'd vector of "kea4-x.leases", caller frees each and it).
 */
size_t	kea_carry_retire(const char *dir, int family,
	    const char *const *keep, size_t nkeep, char ***names);

#endif
