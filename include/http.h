/*
 * http.h — asynchronous HTTP GET and POST on the libevent loop (libcurl multi
 * interface with CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION, the hiperfifo
 * pattern).  Never blocks the loop.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <time.h>
#include <event2/event.h>

struct http;			/* one per daemon, owns the curl multi handle */
struct http_request;		/* one in-flight request, owned by struct http */

struct http_result {
	int		 ok;		/* 1 transfer completed (any status) */
	long		 status;	/* HTTP status when ok */
	const char	*body;		/* NUL-terminated, valid during callback */
	size_t		 len;
	const char	*error;		/* when !ok: curl's reason, "body too large", ... */
	const char	*content_type;	/* may be NULL */
	time_t		 date;		/* the response's Date header (UTC
					 * seconds), 0 when absent/unparsable */
	long		 elapsed_ms;
};

/* Called once per request, on the loop; the result is freed afterwards. */
typedef void (*http_done_cb)(const struct http_result *, void *arg);

/* Create the HTTP engine on base.  Returns NULL with *cause. */
struct http	*http_new(struct event_base *, char **cause);
/* Cancel everything in flight (callbacks are not called) and free. */
void		 http_free(struct http *);

/*
 * Start a GET.  host_header, if not NULL, replaces the Host header.
 * timeout_ms bounds the whole transfer; max_body caps the body (a larger
 * body fails the request with "body too large").  Redirects are not
 * followed (as MAAS).  Returns the request (for http_cancel), or NULL
 * with *cause if it could not even start.
 */
struct http_request *http_get(struct http *, const char *url,
	    const char *host_header, long timeout_ms, size_t max_body,
	    http_done_cb, void *arg, char **cause);
/*
 * Start a POST of len bytes of body (copied; the caller may free it at
 * once).  headers is a NULL-terminated list of "Name: value" lines added
 * to the request (e.g. Authorization, Content-Type), or NULL; a header
 * named "Authorization" is masked in debug logs.  Otherwise as http_get.
 */
struct http_request *http_post(struct http *, const char *url,
	    const char *const *headers, const void *body, size_t len,
	    long timeout_ms, size_t max_body, http_done_cb, void *arg,
	    char **cause);
/* Cancel one request; its callback is not called. */
void		 http_cancel(struct http *, struct http_request *);
/* Number of requests in flight (tests). */
int		 http_pending(const struct http *);

#endif
