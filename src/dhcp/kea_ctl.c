/*
 * kea_ctl.c — one command on a Kea control socket (see kea.h).
 *
 * The protocol (recipes §2b, verified on 2.2.0): connect to the AF_UNIX
 * stream socket, write one JSON object, and read until Kea closes the
 * connection; the answer has no framing and no trailing newline, so EOF
 * is the only end marker.  Kea drops a connection that has sent nothing
 * complete after 10 s, so our timeout defaults to the same.
 *
 * Everything is non-blocking on the daemon's event_base.  The callback is
 * always run from a zero-delay timer, never from kea_ctl_send() itself and
 * never from inside a read/write handler, so it may free or cancel
 * anything, including starting a new request.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "kea.h"
#include "log.h"
#include "rackd.h"
#include "xmalloc.h"

#define KEA_CTL_CHUNK		65536
#define KEA_CTL_RETRY_MS	10	/* backlog full (EAGAIN): try again */

struct kea_ctl {
	struct event_base *base;
	char		*path;
	char		*command;
	int		 fd;
	struct event	*ev_io;
	struct event	*ev_timeout;
	struct event	*ev_done;	/* deferred callback / connect retry */
	bool		 connected;

	char		*out;		/* request text */
	size_t		 out_len;
	size_t		 out_off;

	char		*in;		/* reply bytes */
	size_t		 in_len;
	size_t		 in_size;

	/* Outcome, handed to cb from ev_done. */
	bool		 finished;
	int		 result;
	json_t		*reply;
	char		*text;

	kea_ctl_cb	 cb;
	void		*arg;
};

static void	ctl_io_cb(evutil_socket_t, short, void *);
static void	ctl_connect(struct kea_ctl *);

static void
ctl_close(struct kea_ctl *c)
{
	if (c->ev_io != NULL) {
		event_free(c->ev_io);
		c->ev_io = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
}

static void
ctl_free(struct kea_ctl *c)
{
	ctl_close(c);
	if (c->ev_timeout != NULL)
		event_free(c->ev_timeout);
	if (c->ev_done != NULL)
		event_free(c->ev_done);
	json_decref(c->reply);
	free(c->text);
	free(c->out);
	free(c->in);
	free(c->path);
	free(c->command);
	free(c);
}

/* Record the outcome and schedule the callback; later events are moot. */
static void
ctl_finish(struct kea_ctl *c, int result, json_t *reply, char *text)
{
	struct timeval tv = { 0, 0 };

	if (c->finished) {
		json_decref(reply);
		free(text);
		return;
	}
	c->finished = true;
	c->result = result;
	c->reply = reply;
	c->text = text;
	ctl_close(c);
	event_del(c->ev_timeout);
	event_add(c->ev_done, &tv);
}

static void
ctl_fail(struct kea_ctl *c, const char *what, int err)
{
	char *t;

	if (err != 0)
		xasprintf(&t, "%s: %s (%s): %s", c->path, what, c->command,
		    strerror(err));
	else
		xasprintf(&t, "%s: %s (%s)", c->path, what, c->command);
	ctl_finish(c, KEA_CTL_ETRANSPORT, NULL, t);
}

/* EOF: the whole answer is in.  Parse it and pull out result and text. */
static void
ctl_parse(struct kea_ctl *c)
{
	json_error_t jerr;
	json_t *j, *o, *r, *t;
	char *text;

	if (c->in_len == 0) {
		ctl_fail(c, "connection closed without an answer", 0);
		return;
	}
	if ((j = json_loadb(c->in, c->in_len, 0, &jerr)) == NULL) {
		xasprintf(&text, "%s: unparsable answer to %s: %s", c->path,
		    c->command, jerr.text);
		ctl_finish(c, KEA_CTL_ETRANSPORT, NULL, text);
		return;
	}
	/* Through kea-ctrl-agent answers are lists of one; accept both. */
	o = json_is_array(j) ? json_array_get(j, 0) : j;
	r = json_object_get(o, "result");
	if (!json_is_integer(r)) {
		xasprintf(&text, "%s: answer to %s has no integer result",
		    c->path, c->command);
		json_decref(j);
		ctl_finish(c, KEA_CTL_ETRANSPORT, NULL, text);
		return;
	}
	t = json_object_get(o, "text");
	text = json_is_string(t) ? xstrdup(json_string_value(t)) : NULL;
	json_incref(o);
	json_decref(j);
	ctl_finish(c, (int)json_integer_value(r), o, text);
}

static void
ctl_read(struct kea_ctl *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		if (c->in_size - c->in_len < KEA_CTL_CHUNK) {
			c->in_size = c->in_size * 2 + KEA_CTL_CHUNK;
			c->in = xrealloc(c->in, c->in_size);
		}
		n = read(c->fd, c->in + c->in_len, c->in_size - c->in_len);
		if (n == 0) {
			ctl_parse(c);
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			ctl_fail(c, "read", errno);
			return;
		}
		c->in_len += (size_t)n;
		if (c->in_len > KEA_CTL_REPLY_MAX) {
			ctl_fail(c, "answer over 8 MiB", 0);
			return;
		}
	}
}

static void
ctl_write(struct kea_ctl *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			ctl_fail(c, "write", errno);
			return;
		}
		c->out_off += (size_t)n;
	}
	/* All sent: from now on only reads matter.  No shutdown(SHUT_WR):
	 * Kea answers a complete object without it. */
	event_del(c->ev_io);
	event_free(c->ev_io);
	c->ev_io = event_new(c->base, c->fd, EV_READ | EV_PERSIST, ctl_io_cb,
	    c);
	event_add(c->ev_io, NULL);
}

static void
ctl_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kea_ctl *c = arg;
	socklen_t len;
	int err;

	if (c->finished)
		return;
	if (!c->connected) {
		len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			ctl_fail(c, "connect", err);
			return;
		}
		c->connected = true;
	}
	if (c->out_off < c->out_len)
		ctl_write(c);
	else
		ctl_read(c);
}

static void
ctl_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kea_ctl *c = arg;

	ctl_fail(c, c->connected ? "no answer in time" : "connect timed out",
	    0);
}

static void
ctl_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kea_ctl *c = arg;

	if (!c->finished) {
		/* Not an outcome yet: a connect retry. */
		ctl_connect(c);
		return;
	}
	c->cb(c->result, c->reply, c->text, c->arg);
	ctl_free(c);
}

static void
ctl_connect(struct kea_ctl *c)
{
	struct sockaddr_un sun;
	struct timeval tv;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, c->path, strlen(c->path));

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		ctl_fail(c, "socket", errno);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EAGAIN) {
			/* Listen backlog full; a UNIX socket never queues a
			 * connect, so retry shortly within the deadline. */
			close(c->fd);
			c->fd = -1;
			tv.tv_sec = 0;
			tv.tv_usec = KEA_CTL_RETRY_MS * 1000;
			event_add(c->ev_done, &tv);
			return;
		}
		if (errno != EINPROGRESS) {
			ctl_fail(c, "connect", errno);
			return;
		}
	} else
		c->connected = true;
	c->ev_io = event_new(c->base, c->fd, EV_WRITE | EV_PERSIST,
	    ctl_io_cb, c);
	event_add(c->ev_io, NULL);
}

struct kea_ctl *
kea_ctl_send(struct event_base *base, const char *socket_path,
    const char *command, json_t *arguments, int timeout_ms, kea_ctl_cb cb,
    void *arg, char **cause)
{
	struct kea_ctl *c;
	struct timeval tv;
	json_t *req;

	if (command == NULL || *command == '\0' || socket_path == NULL) {
		json_decref(arguments);
		xasprintf(cause, "kea_ctl: no command or socket");
		return NULL;
	}
	if (strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		json_decref(arguments);
		xasprintf(cause, "%s: control socket path is over %zu bytes",
		    socket_path,
		    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return NULL;
	}
	req = json_pack("{s:s}", "command", command);
	if (arguments != NULL)
		json_object_set_new(req, "arguments", arguments);
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->fd = -1;
	c->path = xstrdup(socket_path);
	c->command = xstrdup(command);
	c->out = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (c->out == NULL) {
		xasprintf(cause, "%s: cannot encode %s", socket_path, command);
		ctl_free(c);
		return NULL;
	}
	c->out_len = strlen(c->out);
	c->cb = cb;
	c->arg = arg;
	c->ev_timeout = evtimer_new(base, ctl_timeout_cb, c);
	c->ev_done = evtimer_new(base, ctl_done_cb, c);
	if (timeout_ms <= 0)
		timeout_ms = KEA_CTL_TIMEOUT_DEFAULT;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	event_add(c->ev_timeout, &tv);
	/* A failure here is only recorded; cb still comes from the loop. */
	ctl_connect(c);
	return c;
}

void
kea_ctl_cancel(struct kea_ctl *c)
{
	if (c == NULL)
		return;
	ctl_free(c);
}
