/*
 * status.h — the operator's view of a running rackd: `rackd status`.
 *
 * Layer: above the services (it knows the region link, power, DHCP and
 * refresh, and nothing below knows it), beside main.c.  status.c builds
 * the JSON document and the metrics text from the services' accessors
 * (region_pool_status_json(), power_status_json(), ...); status_server.c
 * serves both on a local unix socket, read-only; status_client.c is the
 * `rackd status` command.
 *
 * Protocol (one request per connection): the client sends one line,
 * "status" or "metrics"; the server answers the JSON document (one line)
 * or the Prometheus text, and closes.  Anything else gets
 * {"error": "..."} and changes nothing: there is no other command.
 */
#ifndef STATUS_H
#define STATUS_H

#include <jansson.h>

struct bootres_store;
struct dhcp;
struct event_base;
struct httpd;
struct imagesync;
struct metrics;
struct power;
struct refresh;
struct tftp;
struct region_pool;

#define STATUS_SOCKET_NAME	"rackd.sock"	/* in run_dir */
#define STATUS_FORMAT_VERSION	1

/* What the status is made of; every pointer borrowed, each may be NULL
 * (e.g. before the shared secret exists nothing but the version is). */
struct status_sources {
	const char		*version;
	const char		*hostname;
	struct region_pool	*pool;
	struct power		*power;
	struct dhcp		*dhcp;
	struct refresh		*refresh;
	struct metrics		*metrics;	/* the process registry */
	struct tftp		*tftp;
	struct httpd		*httpd;		/* NULL: both http ports 0 */
	struct imagesync	*sync;		/* NULL before the secret */
	struct bootres_store	*images;	/* ListBootImages' rows */
};

/* status.c: the document of rackd(8) "STATUS JSON" (new reference). */
json_t	*status_json(const struct status_sources *);
/* status.c: mirror the services into src->metrics and render it
 * (malloc'd; "" without a registry). */
char	*status_metrics_text(const struct status_sources *);
/* status.c: the compact human table of a status document (<= 100
 * columns), malloc'd. */
char	*status_format_table(const json_t *doc);

/* status_boot.c: the "http" and "images" objects of the document and
 * their metrics (rackd_http_*, rackd_image_sync_*).  store may be NULL
 * (boot_images is then null). */
json_t	*status_http_json(const struct httpd *);
void	 status_http_metrics(const struct httpd *, struct metrics *);
json_t	*status_images_json(const struct imagesync *,
	    struct bootres_store *);
void	 status_images_metrics(const struct imagesync *,
	    struct bootres_store *, struct metrics *);

/* status_server.c */
struct status_server;
/*
 * Listen on path (an old socket file there is replaced), mode 0660.  src
 * is copied; NULL with *cause.
 */
struct status_server *status_server_new(struct event_base *, const char *path,
	    const struct status_sources *src, char **cause);
/* The services changed (started once the secret arrived). */
void	status_server_set_sources(struct status_server *,
	    const struct status_sources *);
/* Close every client, unlink the socket, free.  NULL ok. */
void	status_server_free(struct status_server *);

/* status_client.c: `rackd status [--json|--metrics] [-f FILE]`; exit code. */
int	status_client_main(int argc, char **argv);

#endif
