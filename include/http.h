/*
 * http.h — asynchronous HTTP GET and POST on the libevent loop (libcurl multi
 * interface with CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION, the hiperfifo
 * pattern).  Never blocks the loop.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>
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
	/* http_get_to_fd only: */
	uint64_t	 file_size;	/* bytes in the file when done */
	int		 partial;	/* the server answered 206 to our Range */
	int		 write_errno;	/* writing the file failed (then !ok) */
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
/*
 * Called for every chunk of a 2xx body written by http_get_to_fd, after it
 * is in the file at offset at (so a caller hashes while streaming).  at is
 * 0 for the first chunk of a server that ignored our Range: the file was
 * truncated and the caller starts over.  Return HTTP_DATA_OK, or
 * HTTP_DATA_ABORT to abort the transfer (the result then says "aborted").
 * For http_get_stream the callback is the body's only sink and may also
 * return HTTP_DATA_PAUSE: the chunk is not taken, the transfer waits
 * (no stall timeout meanwhile), and the same bytes come again after
 * http_resume.
 */
enum { HTTP_DATA_OK = 0, HTTP_DATA_ABORT = 1, HTTP_DATA_PAUSE = 2 };
typedef int (*http_data_cb)(const void *data, size_t len, uint64_t at,
	    void *arg);
/*
 * Start a GET whose 2xx body is written to fd (the caller's, left open)
 * instead of memory: bounded memory whatever the size.  offset > 0 asks
 * "Range: bytes=offset-" and appends there on 206; a 200 rewrites the file
 * from 0.  A non-2xx body (an error page) goes to memory, capped at 4 KiB.
 * connect_timeout_ms bounds the connection; stall_timeout_ms fails the
 * transfer when less than 1 byte/s arrives for that long (no total
 * deadline: a big file takes what it takes).  Otherwise as http_get.
 */
struct http_request *http_get_to_fd(struct http *, const char *url, int fd,
	    uint64_t offset, long connect_timeout_ms, long stall_timeout_ms,
	    http_data_cb data_cb, http_done_cb, void *arg, char **cause);
/*
 * As http_get_to_fd with no file: every chunk of the 2xx body goes to
 * sink (with its offset), which owns what it keeps and may pause the
 * transfer (backpressure from a consumer on another thread).  The
 * result's file_size is the offset after the last chunk taken.
 */
struct http_request *http_get_stream(struct http *, const char *url,
	    uint64_t offset, long connect_timeout_ms, long stall_timeout_ms,
	    http_data_cb sink, http_done_cb, void *arg, char **cause);
/* Carry on a transfer its sink paused (from the loop, never from the
 * sink itself).  The sink may be called before this returns. */
void		 http_resume(struct http *, struct http_request *);
/* Cancel one request; its callback is not called. */
void		 http_cancel(struct http *, struct http_request *);
/* Number of requests in flight (tests). */
int		 http_pending(const struct http *);

#endif
