/*
 * boot_backend.h — the one boot backend behind TFTP and HTTP (boot_http.h):
 * a requested name is either a boot config (a boot method matches it:
 * GetBootConfig to the region, the image checked in the local store,
 * the config rendered) or a plain file under tftp_root (spec
 * maas-rack-boot.md §2.2-§2.7).
 *
 *   - Duplicate requests in flight from one client for the same name
 *     and method share one GetBootConfig (firmware retransmits while the
 *     region thinks); the answer is not cached after it arrives, as
 *     MAAS's RPCFetcher.
 *   - GetBootConfig gets timeout_ms (default 10 s: below a PXE ROM's
 *     patience, far below MAAS's 120 s); BootConfigNoResponse, and no
 *     region up, are "not found" so the firmware falls back to its next
 *     name (default); any other failure is an error with its cause.
 *   - A known machine whose image is not in the store gets MarkNodeFailed
 *     with MAAS's text; the config is still served, as MAAS does.
 *   - Every TFTP request sends NODE_TFTP_REQUEST (SendEventIPAddress,
 *     description = the file name) through the report queue.
 */
#ifndef BOOT_BACKEND_H
#define BOOT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootconfig.h"

struct bootmethod_match;
struct bootres_store;
struct event_base;
struct region_pool;
struct region_reports;
struct tftp_source;

#define BOOT_BACKEND_TIMEOUT_MS	10000

struct boot_backend_params {
	int		 timeout_ms;	/* GetBootConfig; 0: the default */
	bool		 debug;		/* rackd.conf debug (GRUB debug) */
};

struct boot_backend_stats {
	uint64_t	 config_requests;	/* matched names asked for */
	uint64_t	 region_calls;		/* GetBootConfig sent */
	uint64_t	 coalesced;		/* requests that joined one */
	uint64_t	 not_found;
	uint64_t	 failed;
	uint64_t	 marked_failed;		/* MarkNodeFailed queued */
};

struct boot_backend;

/*
 * files: the static-tree source for unmatched names, NULL when no TFTP
 * server uses boot_backend_tftp_source() (HTTP alone); images: the
 * image store; reports: where events and MarkNodeFailed go.  All
 * borrowed and must outlive the backend.
 */
struct boot_backend *boot_backend_new(struct event_base *,
	    struct tftp_source *files, struct bootres_store *images,
	    struct region_reports *reports, const struct boot_backend_params *);
/* The pool GetBootConfig goes to (borrowed; NULL: none yet, every
 * config is "not found"). */
void	boot_backend_set_pool(struct boot_backend *, struct region_pool *);
void	boot_backend_set_debug(struct boot_backend *, bool);
/* Free after every open and reader it gave out is closed (tftp_free). */
void	boot_backend_free(struct boot_backend *);		/* NULL ok */
void	boot_backend_stats(const struct boot_backend *,
	    struct boot_backend_stats *);

/* The TFTP source: configs and files, with NODE_TFTP_REQUEST events. */
struct tftp_source *boot_backend_tftp_source(struct boot_backend *);

/* --- a config, for any protocol ------------------------------------- */
enum boot_config_result {
	BOOT_CONFIG_OK,
	BOOT_CONFIG_NOT_FOUND,	/* TFTP error 1 / HTTP 404 */
	BOOT_CONFIG_ERROR,	/* TFTP error 0 / HTTP 500, with a cause */
};

/* data (len bytes, owned by the callee: free()) on OK; msg otherwise. */
typedef void (*boot_config_cb)(void *arg, enum boot_config_result,
	    char *data, size_t len, const char *msg);

/*
 * Ask for the config of a matched name from remote_ip, received on
 * local_ip.  cb runs once, never from inside this call, unless the
 * returned token is passed to boot_backend_config_cancel first.
 */
void	*boot_backend_config(struct boot_backend *,
	    const struct bootmethod_match *, const char *local_ip,
	    const char *remote_ip, enum bootconfig_protocol,
	    boot_config_cb, void *arg);
void	 boot_backend_config_cancel(struct boot_backend *, void *token);

/*
 * Pure: the coalescing key of a request (method, client IP, path
 * arguments, protocol) into buf; equal keys share one GetBootConfig.
 */
void	boot_backend_key(const struct bootmethod_match *, const char *remote_ip,
	    enum bootconfig_protocol, char *buf, size_t cap);

/*
 * Pure: what a GetBootConfig result means for the firmware: OK (go on
 * and decode), NOT_FOUND (BootConfigNoResponse, no region up, no region
 * at all) or ERROR with *msg (static or from res) saying why.
 */
struct region_call_result;
enum boot_config_result boot_backend_classify(
	    const struct region_call_result *, const char **msg);

#endif
