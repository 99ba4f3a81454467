/*
 * bootmethod.h — which boot method a requested file name belongs to, and
 * what it says about the machine (spec maas-rack-boot.md §2.2): MAAS
 * 3.4's match_path of the iPXE, PXE (lpxelinux) and UEFI/GRUB methods,
 * tried in MAAS's registry order.  Pure: no I/O, no globals but the
 * constant method table.
 *
 * Not matched (as a C rack may omit them, spec §2.2): windows (needs an
 * RPC from match_path), powernv, s390x, s390x_partition.  A name no
 * method matches is a plain file under tftp_root.
 */
#ifndef BOOTMETHOD_H
#define BOOTMETHOD_H

#include <stdbool.h>
#include <stddef.h>

enum bootmethod_id {
	BOOTMETHOD_IPXE,
	BOOTMETHOD_PXE,
	BOOTMETHOD_UEFI,
};

struct bootmethod {
	enum bootmethod_id	 id;
	const char		*name;		/* MAAS registry name */
	const char		*bios_boot_method; /* sent in GetBootConfig */
	const char		*template_subdir;  /* bootconfig.h templates */
};

/* The methods, in MAAS's registry order (ipxe, pxe, uefi_amd64_tftp). */
extern const struct bootmethod bootmethods[];
extern const size_t bootmethod_count;
const struct bootmethod *bootmethod_get(enum bootmethod_id);

#define BOOTMETHOD_MAC_LEN	17	/* "aa-bb-cc-dd-ee-ff" */
#define BOOTMETHOD_UUID_LEN	36
#define BOOTMETHOD_WORD_MAX	255	/* longest arch/subarch we keep */

/*
 * What a match gives: the GetBootConfig arguments taken from the path.
 * Empty strings mean "not in the path" (MAAS then omits the argument):
 * mac is lower case with '-' separators (as MAAS sends it),
 * hardware_uuid is as requested (MAAS keeps its case), arch is already
 * mapped as the rack maps it (GRUB's x86_64 -> amd64, powerpc/ppc64/
 * ppc64le -> ppc64el; the PXE alias arm -> arm64).
 */
struct bootmethod_match {
	const struct bootmethod	*method;
	char	mac[BOOTMETHOD_MAC_LEN + 1];
	char	hardware_uuid[BOOTMETHOD_UUID_LEN + 1];
	char	arch[BOOTMETHOD_WORD_MAX + 1];
	char	subarch[BOOTMETHOD_WORD_MAX + 1];
};

/*
 * Match a requested file name (len bytes; TFTP name or decoded HTTP path,
 * leading '/' allowed; '\' is read as '/', as tftp.py does).  1 with *m
 * filled when a boot method claims it, 0 when it is a plain file.  MACs
 * must be lower-case (upper case is no match, as in MAAS).  An arch or
 * subarch longer than BOOTMETHOD_WORD_MAX is no match (MAAS would match;
 * no firmware sends one).
 */
int	bootmethod_match(const char *path, size_t len,
	    struct bootmethod_match *m);

#endif
