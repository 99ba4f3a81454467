/*
 * bootres.h — the rack's image store: the rows of ListBootImages computed
 * from a boot-resources tree (tftp_root, MAAS's boot-resources/current),
 * exactly as MAAS 3.4's rack computes them (spec maas-rack-boot.md §1.6,
 * provisioningserver/boot/tftppath.py list_boot_images), and a cache of
 * them that notices when the tree changes.
 *
 *   bootres_scan()        pure over a directory tree: no globals, no clock
 *   struct bootres_store  the cache the daemon keeps (one per rackd)
 *   bootres_find()        the rack-side image lookup of GetBootConfig
 *                         answers (spec §2.4, tftp.py get_boot_image)
 */
#ifndef BOOTRES_H
#define BOOTRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct amp_box;

/* One ListBootImages row.  supported_subarches is NULL unless maas.meta
 * names it; it never goes on the wire (not in MAAS's AMP schema). */
struct bootres_image {
	char	*osystem;
	char	*architecture;
	char	*subarchitecture;
	char	*release;
	char	*label;
	char	*purpose;
	char	*xinstall_type;		/* "" unless purpose xinstall/ephemeral */
	char	*xinstall_path;
	char	*supported_subarches;	/* comma list from maas.meta, or NULL */
};

struct bootres_list {
	struct bootres_image	*v;
	size_t			 n;
};

/*
 * Scan root as MAAS does: every 5-level chain of visible directories
 * os/arch/subarch/release/label whose os MAAS knows, one row per purpose
 * of that os, plus bootloader/<type>/<arch> rows.  Directories are taken
 * in name order at every level (MAAS takes readdir order; the region
 * compares rows as a set).  A missing root is an empty list, as in MAAS.
 * On success *out is filled (caller frees with bootres_list_free) and 0
 * is returned; -1 with *cause for an unreadable root.
 */
int	bootres_scan(const char *root, struct bootres_list *out, char **cause);
void	bootres_list_free(struct bootres_list *);
/* Deep copy; dst is overwritten. */
void	bootres_list_copy(struct bootres_list *dst, const struct bootres_list *);
/* Does MAAS's driver for osystem list purpose (e.g. "ephemeral" for
 * caringo)?  False for an os MAAS has no driver for. */
bool	bootres_os_has_purpose(const char *osystem, const char *purpose);
/* Number of rows with purpose "xinstall" (what the region's start gate
 * looks at). */
size_t	bootres_count_purpose(const struct bootres_list *, const char *purpose);

/*
 * The image a GetBootConfig answer boots, as tftp.py get_boot_image
 * finds it: rows with equal osystem, release, architecture and purpose
 * ("enlist" looked up as "commissioning"); the first with an equal
 * subarchitecture, else the first whose supported_subarches lists
 * subarch.  NULL when none: the caller renders with label
 * "no-such-image" and reports MarkNodeFailed (bootconfig.h).  The row
 * points into the list.
 */
const struct bootres_image *bootres_find(const struct bootres_list *,
	    const char *osystem, const char *arch, const char *subarch,
	    const char *release, const char *purpose);

/*
 * ListBootImages' answer: put "images" (CompressedAmpList of the eight
 * wire fields) into ans.  -1 with *cause if the list cannot be encoded.
 */
int	bootres_encode_answer(const struct bootres_list *, struct amp_box *ans,
	    char **cause);

/* --- the cache -------------------------------------------------------- */

struct bootres_store;

/*
 * A store over root (copied).  The tree is re-scanned on the next
 * request when it changed: root's identity or mtime (a switch of the
 * `current` symlink gives another directory), maas.meta's identity,
 * mtime or size, an explicit bootres_store_invalidate() (the importer
 * calls it after each import), or when the last scan is older than
 * max_age_ms (0 = never), which catches files copied by hand deep in
 * the tree without watching every directory.
 */
struct bootres_store *bootres_store_new(const char *root, int max_age_ms);
void	bootres_store_free(struct bootres_store *);		/* NULL ok */
/* Change the root (reload); forces a re-scan. */
void	bootres_store_set_root(struct bootres_store *, const char *root);
const char *bootres_store_root(const struct bootres_store *);
void	bootres_store_invalidate(struct bootres_store *);
/*
 * The current rows (re-scanned first if needed; owned by the store,
 * valid until the next call).  A failed re-scan keeps the previous rows
 * and logs the cause once.
 */
const struct bootres_list *bootres_store_images(struct bootres_store *);
/* Scans done so far (tests observe the cache with it). */
unsigned long bootres_store_scans(const struct bootres_store *);

/* IsImportBootImagesRunning: set by the importer around an import. */
void	bootres_store_set_importing(struct bootres_store *, bool);
bool	bootres_store_importing(const struct bootres_store *);

/*
 * The ListBootImages answer boot_rpc.c sends (arg is the store).  A tree with
 * no xinstall row answers an error instead of an empty list: the
 * region's start gate intersects the racks that answer, so an empty list
 * from this rack would veto every commissioning in the whole MAAS, while
 * a failed call is skipped (spec §1.6, pitfall 1).  Until rackd imports
 * images itself (the next issue) an empty tree means "not set up", not
 * "syncing".  -1 with *cause (the error's description) in that case.
 */
int	bootres_store_answer_list(void *store, struct amp_box *ans,
	    char **cause);
/* IsImportBootImagesRunning's value (arg is the store). */
bool	bootres_store_answer_importing(void *store);

#endif
