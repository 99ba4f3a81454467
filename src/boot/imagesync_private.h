/*
 * imagesync_private.h — what the files of the image sync share (never
 * included outside src/boot/imagesync*.c):
 *
 *   imagesync.c           the service: public API, timers, the run's
 *                         lifecycle (start, finish, events, region URLs)
 *   imagesync_source.c    what to fetch: sources (GetBootSources or the
 *                         ImportBootImages arguments), index.json, the
 *                         products document, selection, missing files
 *   imagesync_fetch.c     the downloads: cache/<sha>.part checked by size
 *                         and sha256, Range resume, retries
 *   imagesync_writer.c    the disk side of a download on its own thread
 *                         (write, SHA-256, fsync), bounded queue
 *   imagesync_snapshot.c  archives unpacked, the snapshot of hard links,
 *                         maas.meta, `current` switched, cleanup
 *   imagesync_boot.c      the boot methods' files in a snapshot's root
 *                         (bootloader links and fallbacks, ipxe.cfg,
 *                         grub/grub.cfg)
 *   imagesync_fs.c        path and file helpers
 *
 * A run is one chain of steps on the loop; each step ends by calling the
 * next one or is_run_finish().
 */
#ifndef IMAGESYNC_PRIVATE_H
#define IMAGESYNC_PRIVATE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "config.h"
#include "imagesync.h"
#include "rackd.h"
#include "simplestreams.h"

#define IS_DOC_MAX		(64u * 1024 * 1024)	/* index / products */
#define IS_DOC_TIMEOUT_MS	60000
#define IS_CONNECT_TIMEOUT_MS	10000
#define IS_PROGRESS_MS		10000
#define IS_RETRY_DELAY_MS	1000
#define IS_TAR			"/usr/bin/tar"
#define IS_TAR_TIMEOUT_MS	300000
#define IS_WRITE_QUEUE_MAX	(8u * 1024 * 1024)	/* bytes not yet written */

struct amp_box;
struct http;
struct http_request;
struct proc;
struct proc_runner;
struct region_pool;

struct is_file {			/* one distinct sha256 to fetch */
	const struct ss_item	*item;		/* borrowed from the catalog */
	int			 archive;
	int			 transfers;	/* failed transfers (any URL) */
	int			 bad;		/* fetches failing the check */
	uint64_t		 have;		/* hashed bytes in the .part */
	uint64_t		 received;	/* bytes handed to the writer */
	EVP_MD_CTX		*md;		/* the writer's while it writes */
};

struct is_run {
	char			*reason;
	char			*source_url;	/* the region's, as sent */
	struct ss_selection	*sel;
	size_t			 nsel;
	char			**sel_strs;	/* owned strings of sel */
	char			***sel_vecs;	/* owned lists of sel */
	size_t			 nvecs;
	char			**urls;		/* maas_urls to try, in order */
	size_t			 nurls, url_i;
	struct ss_catalog	*cat;
	char			*products_path;
	char			*meta;
	struct ss_link		*plan;
	size_t			 nplan;
	struct is_file		*files;
	size_t			 nfiles, cur;
	int			 fd;
	uint64_t		 total, done_bytes, started_ms, last_log_ms;
	uint64_t		 fetched;
	int			 doc_tries;
	int			 xfer_ok;	/* the last transfer's result */
	long			 xfer_status;
	char			*xfer_error;
	size_t			 arch_i;
	char			*xdir;		/* archive being unpacked */
	char			*snapshot;
};

struct imagesync {
	struct event_base	*base;
	struct http		*http;
	struct region_pool	*pool;
	struct proc_runner	*runner;
	struct config_images	 set;
	char			*storage;
	char			**maas_urls;
	size_t			 n_maas_urls;
	struct event		*check_timer;
	struct event		*step_timer;	/* retries, deferred starts */
	void			(*step_fn)(struct imagesync *);
	struct is_run		*run;
	struct http_request	*req;
	struct is_writer	*writer;
	int			 flushing;	/* waiting for the writer */
	struct proc		*proc;
	int			 pending;	/* one more run queued */
	char			*pending_reason;
	struct amp_box		*pending_args;
	int			 registered;
	int			 stopping;
	int			 calls;		/* region calls in flight */
	int			 events_registered;
	imagesync_done_cb	 done_cb;
	void			*done_arg;
	struct imagesync_stats	 st;	/* phase, runs_*, last_* (status) */
};

/* --- imagesync.c: the run's lifecycle --------------------------------- */

/* End the run (ok or not, with a message for the log), report it, start
 * the queued one.  The run is freed: callers return at once. */
void	is_run_finish(struct imagesync *, int ok, int switched,
	    const char *fmt, ...) RACKD_PRINTF(4, 5);
/* Run fn from the loop after ms (never from inside a callback chain). */
void	is_later(struct imagesync *, void (*fn)(struct imagesync *), int ms);
/* A RACK_IMPORT_* event about this rack (MAAS's try_send_rack_event). */
void	is_event(struct imagesync *, const char *type, const char *description);
/* URL of path (relative to the mirror base; NULL = index.json) through
 * the region the run uses now.  Caller frees. */
char	*is_run_url(struct is_run *, const char *path);
/* Next region URL after a transport failure; the log says which. */
void	is_run_next_url(struct is_run *);

/* --- imagesync_source.c ------------------------------------------------ */

/* Step 1: sources, then the documents, then is_fetch_files. */
void	is_run_start(struct imagesync *);

/* --- imagesync_fetch.c ------------------------------------------------- */

/* Fetch run->files from run->cur on, then is_unpack_start. */
void	is_fetch_files(struct imagesync *);
/* The service's writer thread, wired to the fetch steps. */
struct is_writer *is_fetch_writer_new(struct imagesync *, char **cause);
/* Progress line (every IS_PROGRESS_MS, or now when force). */
void	is_progress(struct imagesync *, int force);

/* --- imagesync_writer.c ------------------------------------------------ */

struct is_writer;
/* What a flush found: the bytes written and hashed, the first write
 * error (errno), and for a final flush the sha256 (hex) after fsync. */
struct is_flush {
	uint64_t	 have;
	int		 err;
	char		 sha256[2 * EVP_MAX_MD_SIZE + 1];
};
/* A writer thread with at most max_bytes of chunks queued.  space_cb: a
 * paused producer may carry on; flushed_cb: a flush is done (both on the
 * loop).  NULL with *cause. */
struct is_writer *is_writer_new(struct event_base *, size_t max_bytes,
	    void (*space_cb)(void *), void (*flushed_cb)(const struct is_flush *,
	    void *), void *arg, char **cause);
/* Start writing fd (have bytes already there and in md); fd and md
 * belong to the thread until the flushed callback. */
void	is_writer_begin(struct is_writer *, int fd, EVP_MD_CTX *md,
	    uint64_t have);
/* Queue a copy of a chunk for offset at: 0; -1 when the queue is full
 * (pause; space_cb follows); -2 after a write error (abort). */
int	is_writer_put(struct is_writer *, const void *, size_t, uint64_t at);
/* Queue the end of a transfer; final also fsyncs and ends the digest. */
void	is_writer_flush(struct is_writer *, int final);
/* Drop what is queued, wait for the job in hand; no callback follows. */
void	is_writer_cancel(struct is_writer *);
/* Stop the thread and free.  NULL ok. */
void	is_writer_free(struct is_writer *);

/* --- imagesync_snapshot.c ---------------------------------------------- */

/* Unpack the fetched archives, then build and switch the snapshot. */
void	is_unpack_start(struct imagesync *);
/* current/maas.meta equals meta: touch it (keeps the poll cheap). */
int	is_meta_unchanged(struct imagesync *, const char *meta);
/* Is this item already in the cache (archives: by their members)? */
int	is_cache_has(struct imagesync *, const struct ss_item *, int archive);
/* Leftovers of a run that died: partial files and unpack dirs. */
void	is_cache_sweep_partials(struct imagesync *);
/* Delete every snapshot but keep (a basename, may be NULL) and, with
 * cache_too, the cache files nothing links to. */
void	is_cleanup(struct imagesync *, const char *keep, int cache_too);

/* --- imagesync_boot.c ------------------------------------------------- */

/* Where the distribution's packages put bootloaders (tests point these
 * at their own files). */
struct is_boot_sys {
	const char	*pxelinux;	/* pxelinux: lpxelinux.0 */
	const char	*syslinux_bios;	/* syslinux-common: the .c32 modules */
	const char	*shim_signed;	/* shim-signed */
	const char	*grub_signed;	/* grub-efi-amd64-signed */
	const char	*grub_unsigned;	/* grub-efi-amd64-bin (Debian) */
};
extern const struct is_boot_sys is_boot_sys_default;
/* A RACK_IMPORT_ERROR text (MAAS's own wording). */
typedef void (*is_boot_report_fn)(void *arg, const char *msg);
/*
 * Every boot method's files into the snapshot snap (a directory of
 * storage, not yet `current`), then ipxe.cfg and grub/grub.cfg.
 * Missing bootloaders are reported (report may be NULL), not failures;
 * -1 with *cause only when the snapshot cannot be written.
 */
int	is_boot_link(const char *storage, const char *snap,
	    const struct is_boot_sys *, is_boot_report_fn report, void *arg,
	    char **cause);
/* ipxe.cfg (always) and grub/grub.cfg (if absent) as MAAS writes them. */
int	is_boot_static_files(const char *snap, char **cause);

/* --- imagesync_fs.c ---------------------------------------------------- */

/* storage/<fmt...>, malloc'd. */
char	*is_path(const struct imagesync *, const char *, ...)
	    RACKD_PRINTF(2, 3);
/* n bytes as "1.5 GiB". */
void	is_human(uint64_t n, char *buf, size_t len);
/* rm -rf path (no symlink followed). */
void	is_rmtree(const char *path);
/* unlink each of paths[0..n) now; the blocks of the last link are freed
 * on a detached thread, not in the caller.  Returns how many were
 * unlinked.  The paths stay the caller's. */
int	is_unlink_detached(char *const *paths, size_t n);
/* mkdir -p path; 0 or -1 (errno). */
int	is_mkdirs(const char *path);
/* The snapshot `current` points at (basename), malloc'd, or NULL. */
char	*is_current_target(const struct imagesync *);
/* Write data (NUL-terminated) to path, mode 0644; 0 or -1 with *cause. */
int	is_write_file(const char *path, const char *data, char **cause);

#endif
