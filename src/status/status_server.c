/*
 * status_server.c — the local, read-only control socket (status.h).
 *
 * Each client may send one short request line; the answer is built at
 * once from the services' state (no I/O, no waiting on anything), queued
 * on a bufferevent, and the connection is closed once it has left.  The
 * loop never blocks on a client: a bounded number of clients at a time
 * (when full, the oldest is dropped for the newest), each with a
 * deadline, and a request line bounded in size.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "rackd.h"
#include "status.h"
#include "xmalloc.h"

#define STATUS_MAX_CLIENTS	16
#define STATUS_CLIENT_TIMEOUT_S	5
#define STATUS_REQUEST_MAX	64

struct status_client {
	struct status_server	*srv;
	struct bufferevent	*bev;
	int			 answered;
	int			 shut;		/* our side shut down */
	uint64_t		 accepted_ms;
};

struct status_server {
	struct event_base	*base;
	struct evconnlistener	*lis;
	char			*path;
	struct status_sources	 src;
	int			 nclients;
	struct status_client	*clients[STATUS_MAX_CLIENTS];
};

static void
client_free(struct status_client *c)
{
	struct status_server *srv = c->srv;
	int i;

	for (i = 0; i < STATUS_MAX_CLIENTS; i++)
		if (srv->clients[i] == c)
			srv->clients[i] = NULL;
	srv->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

/* Queue the answer; the connection closes once it is written. */
static void
client_answer(struct status_client *c, const char *text)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add(out, text, strlen(text));
	c->answered = 1;
	/* Whatever else the client sends is read and discarded (never a
	 * second request); reading on, rather than closing on unread
	 * data, spares the client a reset before it has the answer. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
client_error(struct status_client *c, const char *why)
{
	json_t *o;
	char *msg, *text;

	o = json_pack("{s:s}", "error", why);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	xasprintf(&msg, "%s\n", text);
	free(text);
	client_answer(c, msg);
	free(msg);
}

static void
client_request(struct status_client *c, const char *line)
{
	struct status_server *srv = c->srv;
	char *text, *msg;
	json_t *doc;

	if (strcmp(line, "status") == 0) {
		doc = status_json(&srv->src);
		text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		xasprintf(&msg, "%s\n", text);
		free(text);
		client_answer(c, msg);
		free(msg);
	} else if (strcmp(line, "metrics") == 0) {
		text = status_metrics_text(&srv->src);
		client_answer(c, text);
		free(text);
	} else {
		xasprintf(&msg, "unknown request '%s': this socket is "
		    "read-only and answers only \"status\" or \"metrics\"",
		    line);
		client_error(c, msg);
		free(msg);
	}
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct status_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (c->answered) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > STATUS_REQUEST_MAX)
			client_error(c, "request too long: send one line, "
			    "\"status\" or \"metrics\"");
		return;
	}
	if (n > STATUS_REQUEST_MAX)
		client_error(c, "request too long: send one line, "
		    "\"status\" or \"metrics\"");
	else
		client_request(c, line);
	free(line);
}

static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct status_client *c = arg;

	/* Answer sent: end our side; the client's EOF (or the deadline)
	 * then frees the connection. */
	if (c->answered && !c->shut &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		c->shut = 1;
		shutdown(bufferevent_getfd(bev), SHUT_WR);
	}
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct status_client *c = arg;

	/* EOF before a full line: treat what came as the request. */
	if ((what & BEV_EVENT_EOF) && !c->answered) {
		struct evbuffer *in = bufferevent_get_input(bev);
		size_t len = evbuffer_get_length(in);

		if (len <= STATUS_REQUEST_MAX) {
			char buf[STATUS_REQUEST_MAX + 1];

			evbuffer_remove(in, buf, len);
			buf[len] = '\0';
			client_request(c, buf);
			return;
		}
	}
	client_free(c);		/* error, timeout, or gone */
}

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct status_server *srv = arg;
	struct timeval tv = { STATUS_CLIENT_TIMEOUT_S, 0 };
	struct status_client *c;
	int i;

	if (srv->nclients >= STATUS_MAX_CLIENTS) {
		/* Full: the newest client is served, the oldest goes.  Else
		 * a few silent connections could lock operators out until
		 * their deadline. */
		struct status_client *oldest = NULL;

		for (i = 0; i < STATUS_MAX_CLIENTS; i++)
			if (srv->clients[i] != NULL && (oldest == NULL ||
			    srv->clients[i]->accepted_ms < oldest->accepted_ms))
				oldest = srv->clients[i];
		if (oldest == NULL) {
			close(fd);
			return;
		}
		client_free(oldest);
	}
	c = xcalloc(1, sizeof *c);
	c->srv = srv;
	c->accepted_ms = rackd_now_ms();
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	for (i = 0; i < STATUS_MAX_CLIENTS; i++)
		if (srv->clients[i] == NULL) {
			srv->clients[i] = c;
			break;
		}
	srv->nclients++;
	bufferevent_setcb(c->bev, client_read_cb, client_write_cb,
	    client_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, STATUS_REQUEST_MAX * 4);
	bufferevent_enable(c->bev, EV_READ);
}

struct status_server *
status_server_new(struct event_base *base, const char *path,
    const struct status_sources *src, char **cause)
{
	struct status_server *srv;
	struct sockaddr_un sun;
	mode_t old;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "status socket path %s is too long", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "cannot remove old %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	srv = xcalloc(1, sizeof *srv);
	srv->base = base;
	srv->path = xstrdup(path);
	srv->src = *src;
	/* Created 0660 from the start (no window where it is wider):
	 * the service's group may query it, nobody else. */
	old = umask(0117);
	srv->lis = evconnlistener_new_bind(base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, (int)sizeof sun);
	umask(old);
	if (srv->lis == NULL) {
		xasprintf(cause, "cannot listen on %s: %s", path,
		    strerror(errno));
		free(srv->path);
		free(srv);
		return NULL;
	}
	if (chmod(path, 0660) == -1)
		log_warn("status: chmod %s", path);
	return srv;
}

void
status_server_set_sources(struct status_server *srv,
    const struct status_sources *src)
{
	srv->src = *src;
}

void
status_server_free(struct status_server *srv)
{
	int i;

	if (srv == NULL)
		return;
	for (i = 0; i < STATUS_MAX_CLIENTS; i++)
		if (srv->clients[i] != NULL)
			client_free(srv->clients[i]);
	evconnlistener_free(srv->lis);
	unlink(srv->path);
	free(srv->path);
	free(srv);
}
