/*
 * refresh.h — telling the region what the rack is: MAAS 3.4's rack
 * "refresh" (shared/spec/maas-rack-refresh.md).  After the first
 * registration and whenever the interfaces change, the refresh service
 * calls RequestRackRefresh(system_id) through the region link and posts
 * the machine-resources document (resources.h) to
 * <maas_url>/metadata/2012-03-01/ with OAuth 1.0 PLAINTEXT signatures.
 *
 * The pure half (the OAuth header and the multipart body) is in
 * metadata.c; the service (timers, retries, clock skew) in refresh.c.
 */
#ifndef REFRESH_H
#define REFRESH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct http;
struct region_pool;
struct rackd_config;

/* --- metadata.c: pure ------------------------------------------------- */

/* The path MAAS's rack posts to, appended to maas_url (spec §2.2). */
#define METADATA_PATH		"/metadata/2012-03-01/"
/* Boundary length: MAAS's _random_string(30) gives 31 letters (§2.4). */
#define METADATA_BOUNDARY_LEN	31

/* OAuth credentials from RequestRackRefresh (consumer secret is ""). */
struct metadata_creds {
	const char	*consumer_key;
	const char	*token_key;
	const char	*token_secret;
};

/*
 * The Authorization header value (without "Authorization: "), byte for
 * byte what oauthlib writes for MAAS (§2.3):
 *   OAuth oauth_nonce="N", oauth_timestamp="T", oauth_version="1.0",
 *   oauth_signature_method="PLAINTEXT", oauth_consumer_key="K",
 *   oauth_token="TK", oauth_signature="%26<secret>"
 * on one line; every value percent-encoded (RFC 5849 §3.6), the
 * signature being pct(pct("") "&" pct(token_secret)).  The caller supplies
 * a fresh nonce per request and the (skew-corrected) Unix time.  Returns
 * a malloc'd string the caller frees — and wipes: it holds the secret.
 */
char	*metadata_oauth_header(const struct metadata_creds *,
	    const char *nonce, long long timestamp);

/* RFC 5849 percent-encoding (unreserved A-Z a-z 0-9 - . _ ~ kept, the
 * rest %XX upper-case); malloc'd. */
char	*metadata_pct(const char *s);

/* One file part: name (also its filename=) and contents. */
struct metadata_file {
	const char	*name;
	const char	*data;
	size_t		 len;
};

/* One op=signal POST (§2.4, §2.5). */
struct metadata_signal {
	const char	*status;	/* "WORKING", "OK", ... */
	const char	*error;		/* the message ("Starting ... [1/2]") */
	int		 has_exit_status;
	int		 exit_status;
	const struct metadata_file *files;
	size_t		 nfiles;
};

/*
 * The multipart/form-data body for sig with the given boundary (31
 * letters, chosen by the caller so tests are exact): fields op, status,
 * error, [exit_status], then the file parts with filename= and
 * Content-Type: application/octet-stream, CRLF line ends, closing
 * "--<boundary>--\r\n".  *body is malloc'd (caller frees), *len its size.
 */
void	metadata_body(const char *boundary, const struct metadata_signal *sig,
	    char **body, size_t *len);

/* "multipart/form-data; boundary=<boundary>" (malloc'd). */
char	*metadata_content_type(const char *boundary);

/* --- refresh.c: the service ------------------------------------------- */

struct refresh;

/*
 * Create the refresh service.  It starts watching the interfaces at once
 * (ifsnap.h) but posts nothing until refresh_registered() says the rack
 * has a system_id.  http and pool are borrowed and must outlive it; cfg is
 * read now (what is needed is copied).  Returns NULL with *cause when the
 * interface watcher cannot start.
 */
struct refresh *refresh_new(struct event_base *, struct http *,
	    struct region_pool *, const struct rackd_config *, char **cause);
/*
 * A region connection was established (the rack is registered and
 * region_pool_system_id() is known).  The first call triggers the
 * start-up refresh; later ones only resume a refresh waiting for a region.
 */
void	refresh_registered(struct refresh *);
/* Apply reloaded refresh.* keys and maas_url list (reload). */
void	refresh_reconfigure(struct refresh *, const struct rackd_config *);
/*
 * Stop acting: cancel the POST in flight and the timers, stop watching.
 * A RequestRackRefresh still in flight is dropped when the pool completes
 * it (CANCELLED), so call this before region_pool_free() and
 * refresh_free() after it.
 */
void	refresh_shutdown(struct refresh *);
/* Shut down if not done yet, and free; NULL is a no-op. */
void	refresh_free(struct refresh *);

/* --- the operator's view (`rackd status`, metrics) -------------------- */
struct metrics;
/* New reference: {"registered", "running", "ok", "failed",
 * "last_ok_age_s", "interfaces", "last_error", "failing_for_s"}. */
json_t	*refresh_status_json(const struct refresh *);
/* rackd_refresh_total{result}, rackd_refresh_interfaces. */
void	refresh_metrics(const struct refresh *, struct metrics *);

#endif
