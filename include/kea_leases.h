/*
 * kea_leases.h — carrying a VLAN's leases from the Kea instance that
 * served it into the one that serves it next (standalone -> HA, HA ->
 * standalone, peer changed, instance renamed).  Pure: text in, text out;
 * dhcp.c reads and writes the files and talks to Kea.
 *
 * Design (verified against kea-dhcp4/kea-dhcp6 2.2.0, see FINDINGS in
 * tests/unit/data/kea_server/FINDINGS.md):
 *   - Kea's memfile is an append log (CSV with a header naming the
 *     columns).  A later row for the same address replaces the earlier
 *     one; a deleted (released) lease is a row with valid_lifetime 0.
 *     On start Kea loads <file>.completed or else <file>.2 and <file>.1
 *     (kea-lfc leftovers), then <file>.
 *   - rackd SEEDS the new instance's lease file before starting it (it is
 *     never running then): the leases are there from the first packet
 *     and, for an HA primary, before its partner syncs from it (the
 *     standby pulls them with Kea's own lease4-get-page sync).  Loading
 *     through lease4-add after start would leave a window where Kea
 *     serves without them, and a standby that synced first would miss
 *     them.
 *   - Subnet ids may differ between instances, so leases are matched by
 *     address inside the target's subnets and their subnet_id is
 *     rewritten to the target's id.
 *   - Per address the newest row wins (largest cltt = expire -
 *     valid_lifetime; within one file the later row, as Kea loads it).  A
 *     lease is carried only if its newest row is still valid (valid
 *     lifetime > 0, not expired at "now", state not expired-reclaimed)
 *     and newer than what the target already has for that address: a
 *     release or a renewal in the target is never undone, an expired
 *     lease is never resurrected, and carrying twice adds nothing.
 *   - Declined leases (state 1) are carried: the address is in probation.
 *   - v6 prefix delegations (lease_type 2) are not carried (MAAS
 *     configures none; a prefix is not "an address in a subnet").
 *   - A corrupt row is reported (file and line) and skipped, never fatal.
 */
#ifndef KEA_LEASES_H
#define KEA_LEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* One row of a memfile: its fields as in the file plus what rackd needs. */
struct kea_lease_row {
	uint8_t		 addr[16];	/* v4 in the first 4 bytes */
	int		 type;		/* v6 lease_type (0 NA, 1 TA, 2 PD);
					   0 for v4 */
	uint32_t	 valid_lft;
	int64_t		 expire;
	uint32_t	 subnet_id;
	int		 state;		/* 0 default, 1 declined, 2 reclaimed */
	char		**fields;	/* as read (still escaped) */
};

/* A parsed lease file (or several loaded in Kea's order). */
struct kea_lease_file {
	int		  family;	/* 4 or 6 */
	char		**cols;		/* header column names */
	size_t		  ncols;
	int		  c_addr, c_valid, c_expire, c_subnet, c_state, c_type;
	struct kea_lease_row *rows;
	size_t		  nrows, cap;
	/* One entry per line skipped, e.g. "kea4-standalone.leases line 7:
	 * expire: not a number '12x'". */
	char		**warnings;
	size_t		  nwarnings;
};

/*
 * Parse a memfile's text (family 4 or 6) into *out (zeroed by the
 * caller, or holding rows of earlier files of the same family: the rows
 * are appended, so loading .2, .1 and the file in turn gives Kea's view;
 * the first header read wins and later files are mapped onto it by
 * column name).  label names the file in warnings.  Empty text is an
 * empty file.  -1 with *cause (caller frees) only when the header is
 * unusable (a required column missing); bad rows are warnings.
 */
int	kea_leases_parse(struct kea_lease_file *out, int family,
	    const char *text, size_t len, const char *label, char **cause);
void	kea_leases_free(struct kea_lease_file *);	/* NULL ok; zeroes */

/* Kea 2.2's header line (no newline) for a family, for a new file. */
const char *kea_leases_header(int family);

/* A subnet an instance serves: its CIDR and the instance's id for it. */
struct kea_subnet {
	char		 cidr[64];
	uint8_t		 net[16];
	int		 plen;
	uint32_t	 id;
};

/*
 * The subnets of a {"Dhcp4"|"Dhcp6": ...} document (top-level subnet4/6
 * and those in shared-networks).  *out is malloc'd (caller frees), *n set.
 * -1 with *cause when a subnet entry is malformed; a document without
 * the family key has none.
 */
int	kea_config_subnets(const json_t *config, int family,
	    struct kea_subnet **out, size_t *n, char **cause);

/* Whether addr (4 or 16 bytes per family) is inside s. */
bool	kea_subnet_contains(const struct kea_subnet *s, int family,
	    const uint8_t *addr);

/* What was carried from one source into one target subnet (for logs). */
struct kea_carry_count {
	const char	*source;	/* borrowed from the sources[] names */
	const char	*cidr;		/* borrowed from the subnets */
	size_t		 n;
};

struct kea_carry {
	char		*text;		/* rows to append, each ending '\n',
					   in the target's column order */
	size_t		 len;
	size_t		 n;		/* rows in text */
	uint8_t		(*addrs)[16];	/* the carried addresses */
	struct kea_carry_count *counts;
	size_t		 ncounts;
};

/*
 * Plan the carry into a target instance.  target is its own lease state
 * (may be empty: nrows 0, ncols 0); sources[i] the states of other
 * instances, named names[i].  new_subnets are the target's subnets it did
 * not serve before (only those are carried: for the others the target's
 * own file is authoritative); now is the wall clock (s).  Rows are
 * rendered in the target's header order when it has one, else in
 * kea_leases_header()'s (then the caller writes that header first); a
 * column the source lacks is left empty.  Fills *out (free with
 * kea_carry_free).
 */
void	kea_carry_plan(const struct kea_lease_file *target,
	    const struct kea_lease_file *const *sources,
	    const char *const *names, size_t nsources,
	    const struct kea_subnet *new_subnets, size_t nsubnets,
	    int64_t now, struct kea_carry *out);
void	kea_carry_free(struct kea_carry *);	/* NULL ok; zeroes */

#endif
