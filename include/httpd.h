/*
 * httpd.h — rackd's HTTP server: what MAAS 3.4 serves on 5248 (nginx)
 * and 5249 (rackd's Twisted site), in-process on libevent
 * (maas-rack-boot.md §3).
 *
 * http.port (5248), the port machines use:
 *   /images/<path>  the file under tftp_root (sendfile, HEAD, one Range),
 *                   NODE_HTTP_REQUEST (+ LOADING_EPHEMERAL for squashfs)
 *   /MAAS/...       reverse-proxied to a live region (X-Forwarded-For,
 *                   Host as nginx sets them; bodies stream both ways)
 *   anything else   the boot backend: the boot handler if one is set and
 *                   takes the path, else the plain file under tftp_root
 * http.internal_port (5249), MAAS rackd's own site:
 *   /boot/<path>    the boot backend, local/remote from X-Server-Addr,
 *                   X-Server-Port, X-Forwarded-For, X-Forwarded-Port
 *   /log            nginx's auth_request target: 200, and the events of
 *                   X-Original-URI requested by X-Original-Remote-IP
 *   /metrics        Prometheus text from the metrics hook, if one is set
 *
 * The server is written on bufferevents rather than evhttp because evhttp
 * reads a whole request body into memory before the callback runs; here a
 * proxied body moves through bounded buffers with backpressure.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct region_pool;

struct httpd;
struct httpd_request;

struct httpd_params {
	int		 port;		/* 0: off */
	int		 internal_port;	/* 0: off */
	const char	*bind;		/* "::,0.0.0.0" */
	const char	*root;		/* tftp_root */
	int		 region_port;
	int		 proxy_timeout_ms;
	int		 client_timeout_ms;
	int		 max_connections;
};

/* Create (strings copied).  Nothing listens before httpd_start(). */
struct httpd *httpd_new(struct event_base *, const struct httpd_params *);
/*
 * Listen on every bind address of both ports.  A bind that fails is
 * logged with its cause and the others still serve; returns -1 with
 * *cause (caller frees) only when a configured port listens nowhere.
 */
int	httpd_start(struct httpd *, char **cause);
/* The regions /MAAS/ goes to (NULL: none yet).  Borrowed. */
void	httpd_set_pool(struct httpd *, struct region_pool *);
/* Close every listener and connection, then free. */
void	httpd_free(struct httpd *);

/* --- what the operator sees (rackd status) -------------------------- */

/* What a request was, counted once when its head has been read. */
enum httpd_kind {
	HTTPD_KIND_IMAGES,	/* /images/ on http.port */
	HTTPD_KIND_BOOT_CONFIG,	/* boot path the boot handler took */
	HTTPD_KIND_FILE,	/* boot path served as a plain file */
	HTTPD_KIND_PROXY,	/* /MAAS/ relayed to a region */
	HTTPD_KIND_LOG,		/* /log (nginx's auth_request) */
	HTTPD_KIND_METRICS,	/* /metrics */
	HTTPD_KIND_OTHER,	/* malformed, refused, unknown */
	HTTPD_NKINDS
};

/*
 * A copy of the counters, taken by httpd_get_stats(); they run from
 * httpd_new().  connections: client connections open now, proxying: of
 * which relaying a /MAAS/ request; proxy_failed: /MAAS/ requests rackd
 * answered with an error itself; proxy_region: the host:port that
 * answered last ("" none); proxy_last_error: the last region failure
 * ("" none), at proxy_last_error_ms (rackd_now_ms()).
 */
struct httpd_stats {
	uint64_t	requests[HTTPD_NKINDS];
	uint64_t	bytes_sent;	/* to clients, both ports */
	uint64_t	proxy_failed;
	size_t		connections;
	size_t		proxying;
	char		proxy_region[128];
	char		proxy_last_error[256];
	uint64_t	proxy_last_error_ms;
};

/* "images", "boot_config", ... (the metrics' label values). */
const char *httpd_kind_name(enum httpd_kind);
/* Fill *st from h (read-only).  h NULL: all zero. */
void	httpd_get_stats(const struct httpd *, struct httpd_stats *);
/* The i-th listening socket as "addr:port" ("[v6]:port"), *internal
 * set for http.internal_port; NULL past the last.  Owned by h. */
const char *httpd_listener_name(const struct httpd *, size_t i,
	    int *internal);

/* UpdateServices status ("running", "dead", "off"), reason in info. */
const char *httpd_service_status(struct httpd *, char *info, size_t cap);

/* Boot events (maas-rack-boot.md §2.7): type is NODE_HTTP_REQUEST or
 * LOADING_EPHEMERAL, ip the machine's, desc the path. */
typedef void (*httpd_event_fn)(void *arg, const char *type, const char *ip,
	    const char *desc);
void	httpd_set_event_hook(struct httpd *, httpd_event_fn, void *arg);

/*
 * /metrics on the internal port: fn returns the Prometheus text
 * exposition (malloc'd, httpd frees it).  NULL fn: /metrics is 404.
 * A hook rather than a dependency: the status layer sits above httpd.
 */
typedef char *(*httpd_text_fn)(void *arg);
void	httpd_set_metrics_hook(struct httpd *, httpd_text_fn, void *arg);

/* --- the boot backend hook ----------------------------------------- */
struct httpd_boot_info {
	const char	*path;		/* decoded, relative: "ipxe.cfg-52:54:..." */
	const char	*local_ip;	/* address the machine used */
	int		 local_port;
	const char	*remote_ip;	/* the machine */
	int		 remote_port;
	int		 head;		/* HEAD: the body is not sent */
};

#define HTTPD_BOOT_DECLINED	0	/* serve the plain file */
#define HTTPD_BOOT_TAKEN	1	/* the handler will httpd_reply() */

/*
 * Called for every boot path (GET/HEAD).  A handler that takes the
 * request answers it exactly once with httpd_reply(), now or later; the
 * request stays valid until then even if the client goes away.
 */
typedef int (*httpd_boot_fn)(void *arg, struct httpd_request *,
	    const struct httpd_boot_info *);
void	httpd_set_boot_handler(struct httpd *, httpd_boot_fn, void *arg);
/* Answer a taken request (body copied; ctype NULL for none). */
void	httpd_reply(struct httpd_request *, int status, const char *ctype,
	    const void *body, size_t len);

#endif
