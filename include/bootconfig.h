/*
 * bootconfig.h — the boot configs a rack serves, rendered byte-for-byte
 * as MAAS 3.4 renders them (spec maas-rack-boot.md §2.4-§2.6): the
 * rack-side post-processing of a GetBootConfig answer (purpose, label,
 * the MarkNodeFailed decision), the kernel command line, and MAAS's own
 * templates evaluated by a small tempita subset.  Pure: no I/O.
 *
 * How the boot backend (TFTP/HTTP) uses it, per request:
 *   1. bootmethod_match(name) -> method + path arguments; no match: a
 *      plain file under tftp_root
 *   2. bootconfig_request(match, rack id, local ip, remote ip) -> the
 *      GetBootConfig box; BootConfigNoResponse -> TFTP error 1 / 404
 *   3. bootconfig_answer_decode(answer box) -> struct bootconfig_answer
 *   4. bootconfig_resolve(bootres_store_images(), answer fields,
 *      answer.system_id != NULL, remote ip) -> purpose, label, and
 *      mark_failed (send MarkNodeFailed(answer.system_id, mark_failed))
 *      or missing (log it) when the image is not on this rack
 *   5. bootconfig_params_from(answer, resolution), then
 *      bootconfig_render(method, params, protocol, debug) -> bytes to
 *      send (TFTP) or the 200 body (HTTP); a render error is TFTP
 *      error 0 / HTTP 500 with the cause.
 */
#ifndef BOOTCONFIG_H
#define BOOTCONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct bootmethod;
struct bootres_list;

/*
 * MAAS's KernelParameters: the GetBootConfig answer with the rack's
 * label.  Strings are borrowed.  kernel, initrd, boot_dtb: NULL when
 * the answer omits them (the templates then use boot-kernel,
 * boot-initrd, boot-dtb); "" is kept as "" (local boot).  log_port 0 =
 * absent (5247, as KernelParameters.__new__).  extra_opts and
 * ephemeral_opts may be NULL or "" (nothing added).
 */
struct bootconfig_params {
	const char	*osystem;
	const char	*arch;
	const char	*subarch;
	const char	*release;
	const char	*kernel;
	const char	*initrd;
	const char	*boot_dtb;
	const char	*label;
	const char	*purpose;
	const char	*hostname;
	const char	*domain;
	const char	*preseed_url;
	const char	*log_host;
	int		 log_port;
	const char	*fs_host;
	const char	*extra_opts;
	const char	*ephemeral_opts;
};

/* How the config is fetched: UEFI configs point GRUB at the kernel with
 * (http,host:5248)/images/ over TFTP and /images/ over HTTP. */
enum bootconfig_protocol {
	BOOTCONFIG_TFTP,
	BOOTCONFIG_HTTP,
};

/*
 * Step 3 (tftp.py TFTPBackend.get_boot_image): "local-device" boots as
 * "local"; "local" needs no image (label "local") unless the os boots
 * ephemeral (purpose becomes "ephemeral"); otherwise the image is looked
 * up in images (bootres_find) and its label used, or "no-such-image"
 * with, for a known machine (the answer carried the machine's
 * system_id), mark_failed = "Missing boot image os/arch/subarch/release."
 * to send as MarkNodeFailed's error_description, and for an unknown one
 * missing = MAAS's "Enlistment failed to boot ..." log line.  The config
 * is still rendered (MAAS does: the boot then fails at the kernel).
 * Strings in *out are owned by it: bootconfig_resolution_free().
 */
struct bootconfig_resolution {
	char	*purpose;
	char	*label;
	char	*mark_failed;	/* NULL unless a known machine lacks its image */
	char	*missing;	/* NULL unless an unknown machine lacks it */
};
void	bootconfig_resolve(const struct bootres_list *images,
	    const char *osystem, const char *arch, const char *subarch,
	    const char *release, const char *purpose, bool known_machine,
	    const char *remote_ip, struct bootconfig_resolution *out);
void	bootconfig_resolution_free(struct bootconfig_resolution *);

/*
 * The kernel command line (kernel_opts.py compose_kernel_command_line).
 * Returns a malloc'd string, or NULL with *cause when fs_host is not an
 * IP address (MAAS raises there too).
 */
char	*bootconfig_kernel_command(const struct bootconfig_params *,
	    char **cause);

/*
 * Render the config method serves for p: MAAS's template for
 * (purpose, arch, subarch) in the method's template directory, looked up
 * as config.<purpose>.<arch>.<subarch>, config.<purpose>.<arch>,
 * config.<purpose>, config; PXE and iPXE render twice (MAAS's two
 * tempita passes), UEFI once and stripped.  debug is rackd.conf's debug
 * (UEFI templates then set GRUB's debug).  On success *out is a
 * malloc'd NUL-terminated buffer of *outlen bytes and 0 is returned;
 * -1 with *cause when no template fits, a value cannot be rendered (an
 * expression outside the subset MAAS's templates use, e.g. "{{" in
 * extra_opts reaching the second pass, or the PXE poweroff template's
 * undefined {{poweroff}}), or fs_host is not an IP address.
 */
int	bootconfig_render(const struct bootmethod *method,
	    const struct bootconfig_params *p, enum bootconfig_protocol,
	    bool debug, char **out, size_t *outlen, char **cause);

/* --- GetBootConfig codec (bootconfig_rpc.c) ------------------------- */

struct amp_box;
struct bootmethod_match;

/*
 * GetBootConfig's arguments for a matched name: system_id (the rack's),
 * local_ip (the address the request came to), remote_ip, and from the
 * match only what the path gave (arch, subarch, mac, hardware_uuid) plus
 * bios_boot_method, as TFTPBackend.get_kernel_params sends them.
 * Returns a new box (caller frees; region_call takes it).
 */
struct amp_box *bootconfig_request(const struct bootmethod_match *,
	    const char *rack_system_id, const char *local_ip,
	    const char *remote_ip);

/* A GetBootConfig answer, decoded (strings owned; NULL = absent). */
struct bootconfig_answer {
	char	*arch, *subarch, *osystem, *release;
	char	*kernel, *initrd, *boot_dtb;		/* optional */
	char	*purpose, *hostname, *domain, *preseed_url;
	char	*fs_host, *log_host;
	int	 log_port;				/* 0 = absent */
	char	*extra_opts;
	char	*system_id;	/* the machine's; NULL = unknown machine */
	bool	 http_boot;
	char	*ephemeral_opts;			/* optional */
};

/*
 * Decode the answer box: the required fields of MAAS's response schema
 * must be there (Twisted's AMP would refuse the box otherwise), optional
 * ones may be absent.  0, or -1 with *cause naming the bad field (out
 * then holds nothing to free beyond what bootconfig_answer_free frees).
 */
int	bootconfig_answer_decode(const struct amp_box *,
	    struct bootconfig_answer *out, char **cause);
void	bootconfig_answer_free(struct bootconfig_answer *);

/*
 * The params to render an answer with the resolved purpose and label
 * (bootconfig_resolve): strings point into ans and r.
 */
void	bootconfig_params_from(struct bootconfig_params *,
	    const struct bootconfig_answer *ans,
	    const struct bootconfig_resolution *r);

/* Static files MAAS writes into the TFTP root (boot/ipxe.py, grub.py
 * CONFIG_FILE), for the importer. */
extern const char bootconfig_ipxe_cfg[];
extern const char bootconfig_grub_cfg[];

/* MAAS's templates (bootconfig_templates.c): alias names a symlinked
 * template's target. */
struct bootconfig_template {
	const char	*subdir;	/* pxe, uefi, ipxe */
	const char	*name;		/* e.g. "commissioning.amd64" */
	const char	*alias;		/* NULL or the name it links to */
	const char	*text;		/* NULL for an alias */
};
extern const struct bootconfig_template bootconfig_templates[];
extern const size_t bootconfig_ntemplates;

#endif
