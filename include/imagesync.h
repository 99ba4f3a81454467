/*
 * imagesync.h — the rack's boot images, synced from the region's
 * simplestreams mirror as MAAS 3.4's rack does (maas-rack-boot.md §1):
 * GetBootSources (+ GetProxies), index.json and the products document
 * fetched from <maas_url>/images-stream/, each file streamed to
 * <storage>/cache/<sha256> and checked against its size and sha256,
 * bootloader archives unpacked (tar -xJf through proc.c), a new
 * snapshot-<UTC time> of hard links with maas.meta and the bootloader
 * symlinks, `current` switched atomically only when the snapshot is
 * complete, old snapshots and unreferenced cache files removed, then
 * UpdateLastImageSync.  <storage> is the parent of tftp_root.
 *
 * When: once after the first registration, every images.check_interval
 * when <storage>/current/maas.meta is missing or older than
 * images.max_age, and on ImportBootImages (one more run is queued when
 * one is running; further requests are coalesced into it).
 *
 * The pure half (documents, maas.meta, the snapshot plan) is
 * simplestreams.h.  Downloads run on the loop (libcurl multi), one file
 * at a time, in bounded memory.
 */
#ifndef IMAGESYNC_H
#define IMAGESYNC_H

#include <stdbool.h>
#include <stdint.h>

struct amp_box;
struct event_base;
struct http;
struct proc_runner;
struct rackd_config;
struct region_pool;
struct imagesync;

/* Called on the loop after every run: ok, and whether `current` moved. */
typedef void (*imagesync_done_cb)(bool ok, bool switched, void *arg);

/* The service; idle until imagesync_registered().  NULL with *cause. */
struct imagesync *imagesync_new(struct event_base *, struct http *,
	    struct region_pool *, struct proc_runner *,
	    const struct rackd_config *, char **cause);
/* Who hears about finished runs (bootres rescans the tree); may be NULL. */
void	imagesync_set_done_cb(struct imagesync *, imagesync_done_cb, void *);
/* The rack is registered (system_id known): the first call starts the
 * start-up sync and the periodic check.  Later calls do nothing. */
void	imagesync_registered(struct imagesync *);
/*
 * Ask for a sync (reason for the log).  args, when not NULL, are
 * ImportBootImages arguments: their sources replace GetBootSources for
 * that run.  A request during a run queues one more run.
 */
void	imagesync_request(struct imagesync *, const char *reason,
	    const struct amp_box *args);
/* True exactly while a run is in progress (IsImportBootImagesRunning). */
bool	imagesync_running(const struct imagesync *);

/*
 * A copy of the sync's state for `rackd status` (imagesync_get_stats).
 * phase, while running: "sources", "index", "download", "unpack",
 * "snapshot" (static strings), else NULL.  files_* and bytes_*: what this
 * run fetches and has fetched; rate: bytes/s since it began.  runs_*:
 * runs ended since start.  last_start, last_end: time() of the last
 * run's start and end (0: none).  last_ok: 1 ok, 0 failed, -1 none
 * ended yet; last_error: why it failed ("").  current: the snapshot
 * `current` names ("").
 */
struct imagesync_stats {
	bool		 running;
	const char	*phase;
	uint64_t	 files_total;
	uint64_t	 files_done;
	uint64_t	 bytes_total;
	uint64_t	 bytes_done;
	uint64_t	 rate;
	uint64_t	 runs_ok;
	uint64_t	 runs_failed;
	int64_t		 last_start;
	int64_t		 last_end;
	int		 last_ok;
	char		 last_error[256];
	char		 current[256];
};
/* Fill *st (read-only; reads the `current` link).  s NULL: nothing
 * ran, last_ok -1. */
void	imagesync_get_stats(const struct imagesync *,
	    struct imagesync_stats *);
/* images.* changed by a reload. */
void	imagesync_reconfigure(struct imagesync *, const struct rackd_config *);
/* Stop: cancel the transfer/child in flight (the half snapshot is
 * removed by the next run).  Region call callbacks may still come. */
void	imagesync_shutdown(struct imagesync *);
/* Free (after region_pool_free and proc_runner_free).  NULL ok. */
void	imagesync_free(struct imagesync *);

#endif
