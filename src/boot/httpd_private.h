/*
 * httpd_private.h — structures shared by httpd.c (listeners, client
 * connections, static files, dispatch) and httpd_proxy.c (/MAAS/).
 * Not for use outside src/boot/httpd*.c.
 */
#ifndef HTTPD_PRIVATE_H
#define HTTPD_PRIVATE_H

#include <sys/queue.h>
#include <stdint.h>

#include "httpd.h"
#include "httpd_codec.h"

struct bufferevent;
struct event;
struct evconnlistener;
struct httpd_proxy;

/* Output kept queued before the producer is paused (backpressure). */
#define HTTPD_OUT_HIGH		(256 * 1024)
#define HTTPD_OUT_LOW		(64 * 1024)
/* Bytes moved per socket call (sendfile included). */
#define HTTPD_MAX_SINGLE_IO	(1024 * 1024)
/* A region that failed is tried last for this long (nginx fail_timeout). */
#define HTTPD_UPSTREAM_PENALTY_MS	10000

enum httpd_port_kind { HTTPD_EXTERNAL, HTTPD_INTERNAL };

enum httpd_conn_state {
	HTTPD_READ_HEAD,	/* waiting for a request head */
	HTTPD_PENDING,		/* a boot handler holds the request */
	HTTPD_SENDING,		/* response queued; next request after it */
	HTTPD_PROXY,		/* httpd_proxy.c owns the traffic */
	HTTPD_CLOSING,		/* flush the output, then close */
};

struct httpd_conn {
	TAILQ_ENTRY(httpd_conn)	 entry;
	struct httpd		*h;
	enum httpd_port_kind	 kind;
	struct bufferevent	*bev;
	enum httpd_conn_state	 state;
	char			 remote_ip[64];
	int			 remote_port;
	char			 local_ip[64];
	int			 local_port;
	struct httpd_head	 head;
	int			 keep_alive;
	struct httpd_request	*pending;
	struct httpd_proxy	*proxy;
};

TAILQ_HEAD(httpd_conn_list, httpd_conn);

struct httpd_listener {
	struct evconnlistener	*lev;
	enum httpd_port_kind	 kind;
	struct httpd		*h;
	struct event		*resume;	/* after an accept error */
	char			 name[80];	/* "addr:port", for status */
};

struct httpd {
	struct event_base	*base;
	struct httpd_params	 p;		/* strings owned */
	struct httpd_listener	**listeners;
	size_t			 nlisteners;
	char			*bind_errors;	/* for the service status */
	int			 started;
	int			 ext_ok, int_ok;	/* ports listening somewhere */
	struct httpd_conn_list	 conns;
	size_t			 nconns;
	int			 full_logged;
	struct region_pool	*pool;
	httpd_event_fn		 event_fn;
	void			*event_arg;
	httpd_boot_fn		 boot_fn;
	void			*boot_arg;
	httpd_text_fn		 metrics_fn;	/* NULL: /metrics is 404 */
	void			*metrics_arg;
	unsigned		 rr;		/* round robin over regions */
	struct httpd_penalty	*penalties;
	size_t			 npenalties;
	struct httpd_stats	 stats;		/* but connections, proxying */
};

/* httpd.c */
/* Queue a complete small response; keep-alive decides what follows. */
void	httpd_conn_reply(struct httpd_conn *, int status, const char *ctype,
	    const void *body, size_t len, const char *extra_headers);
/* Close and free now (output dropped). */
void	httpd_conn_free(struct httpd_conn *);
/* Close once the output has been written. */
void	httpd_conn_close_after_flush(struct httpd_conn *);
uint64_t httpd_now_ms(void);
/* Count a request of kind k (status). */
#define httpd_count(h, k)	((h)->stats.requests[(k)]++)

/* httpd_proxy.c */
/* Take over c for a /MAAS/ request whose head is c->head. */
void	httpd_proxy_start(struct httpd_conn *);
/* The client side of c has data / room / an event: proxy's concern. */
void	httpd_proxy_client_read(struct httpd_conn *);
void	httpd_proxy_client_write(struct httpd_conn *);
void	httpd_proxy_free(struct httpd_proxy *);
/* A region failed a /MAAS/ request: kept as the last proxy error. */
void	httpd_proxy_note_error(struct httpd *, const char *why);

#endif
