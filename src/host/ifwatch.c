/*
 * ifwatch.c — keeps an interface snapshot current on the event loop.
 *
 * A NETLINK_ROUTE socket joined to the link, address and route groups
 * only says "something changed": the messages are drained, not decoded,
 * and once the burst has been quiet for debounce_ms the whole snapshot is
 * read again (ifsnap_read).  Reading everything is cheap (well under a
 * millisecond for a few interfaces, a few for hundreds) and cannot drift,
 * unlike applying events to a copy; it also covers what the kernel never
 * announces (IPv4 routes flushed with their interface).  ENOBUFS (events
 * lost) and the periodic check_ms timer force the same re-read.  The
 * callback runs only when ifsnap_diff() sees a change the region cares
 * about.
 */
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ifsnap.h"
#include "log.h"
#include "rackd.h"
#include "xmalloc.h"

#define WATCH_RCVBUF	(1024 * 1024)	/* fewer ENOBUFS in event storms */
#define DRAIN_BUF	(16 * 1024)

struct ifwatch {
	struct event_base *base;
	int		 fd;
	struct event	*ev_read;
	struct event	*ev_settle;	/* debounce, and the first delivery */
	struct event	*ev_check;
	int		 debounce_ms;
	int		 check_ms;
	ifwatch_cb	 cb;
	void		*arg;
	struct ifsnap	 last;
	int		 delivered;
	uint64_t	 pending_since;	/* first change not yet read, 0 none */
	int		 in_cb;
	int		 dying;
	char		*last_error;	/* logged once until it changes */
	uint8_t		*buf;
};

static void
ms_tv(int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static void
watch_destroy(struct ifwatch *w)
{
	if (w->ev_read != NULL)
		event_free(w->ev_read);
	if (w->ev_settle != NULL)
		event_free(w->ev_settle);
	if (w->ev_check != NULL)
		event_free(w->ev_check);
	if (w->fd != -1)
		close(w->fd);
	ifsnap_clear(&w->last);
	free(w->last_error);
	free(w->buf);
	free(w);
}

/* Read the snapshot again; deliver it if it differs (or is the first). */
static void
watch_reread(struct ifwatch *w)
{
	struct ifsnap snap;
	char *cause = NULL, *changes = NULL;

	w->pending_since = 0;
	ifsnap_init(&snap);
	if (ifsnap_read(&snap, &cause) == -1) {
		if (w->last_error == NULL ||
		    strcmp(w->last_error, cause) != 0)
			log_warnx("interfaces: %s (trying again in %d ms)",
			    cause, w->check_ms);
		free(w->last_error);
		w->last_error = cause;
		return;
	}
	if (w->last_error != NULL) {
		log_info("interfaces: read again after: %s", w->last_error);
		free(w->last_error);
		w->last_error = NULL;
	}
	if (w->delivered && (changes = ifsnap_diff(&w->last, &snap)) ==
	    NULL) {
		/* Nothing the region compares: keep the fresher details
		 * (MTU, carrier) without a callback. */
		ifsnap_clear(&w->last);
		w->last = snap;
		return;
	}
	ifsnap_clear(&w->last);
	w->last = snap;
	w->delivered = 1;
	w->in_cb = 1;
	w->cb(&w->last, changes, w->arg);
	w->in_cb = 0;
	free(changes);
	if (w->dying)
		watch_destroy(w);
}

static void
watch_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	watch_reread(arg);
}

static void
watch_check_cb(evutil_socket_t fd, short what, void *arg)
{
	watch_reread(arg);
}

/* A change was announced: read again once it has been quiet for
 * debounce_ms, but never later than check_ms after the first one, so an
 * endless trickle of events cannot starve the refresh. */
static void
watch_changed(struct ifwatch *w)
{
	uint64_t now = rackd_now_ms();
	struct timeval tv;
	int wait = w->debounce_ms;

	if (w->pending_since == 0)
		w->pending_since = now;
	else if (now - w->pending_since + (uint64_t)wait >
	    (uint64_t)w->check_ms)
		wait = now - w->pending_since >= (uint64_t)w->check_ms ? 0 :
		    (int)((uint64_t)w->check_ms - (now - w->pending_since));
	ms_tv(wait, &tv);
	evtimer_add(w->ev_settle, &tv);
}

static void
watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ifwatch *w = arg;
	ssize_t r;
	int changed = 0, lost = 0;

	for (;;) {
		r = recv(w->fd, w->buf, DRAIN_BUF, MSG_DONTWAIT);
		if (r > 0) {
			changed = 1;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == ENOBUFS) {
			lost = 1;	/* the socket overflowed: events lost */
			continue;
		}
		break;
	}
	if (lost)
		log_debug("interfaces: netlink events lost (ENOBUFS), "
		    "reading everything again");
	if (changed || lost)
		watch_changed(w);
}

struct ifwatch *
ifwatch_new(struct event_base *base, int debounce_ms, int check_ms,
    ifwatch_cb cb, void *arg, char **cause)
{
	struct ifwatch *w;
	struct sockaddr_nl sa;
	struct timeval tv;
	int rcvbuf = WATCH_RCVBUF;

	w = xcalloc(1, sizeof(*w));
	w->base = base;
	w->debounce_ms = debounce_ms > 0 ? debounce_ms : 0;
	w->check_ms = check_ms > 0 ? check_ms : 30000;
	w->cb = cb;
	w->arg = arg;
	ifsnap_init(&w->last);
	w->buf = xmalloc(DRAIN_BUF);
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE);
	if (w->fd == -1) {
		xasprintf(cause, "netlink socket: %s", strerror(errno));
		watch_destroy(w);
		return NULL;
	}
	setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
	    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		xasprintf(cause, "netlink bind to the link and address "
		    "groups: %s", strerror(errno));
		watch_destroy(w);
		return NULL;
	}
	w->ev_read = event_new(base, w->fd, EV_READ | EV_PERSIST,
	    watch_read_cb, w);
	w->ev_settle = evtimer_new(base, watch_settle_cb, w);
	w->ev_check = event_new(base, -1, EV_PERSIST, watch_check_cb, w);
	if (w->ev_read == NULL || w->ev_settle == NULL ||
	    w->ev_check == NULL) {
		xasprintf(cause, "cannot create the watcher's events");
		watch_destroy(w);
		return NULL;
	}
	event_add(w->ev_read, NULL);
	ms_tv(w->check_ms, &tv);
	event_add(w->ev_check, &tv);
	/* The first snapshot on the first loop turn: the socket is already
	 * subscribed, so nothing between now and that read is missed. */
	ms_tv(0, &tv);
	evtimer_add(w->ev_settle, &tv);
	return w;
}

const struct ifsnap *
ifwatch_snapshot(const struct ifwatch *w)
{
	return &w->last;
}

void
ifwatch_free(struct ifwatch *w)
{
	if (w == NULL)
		return;
	if (w->in_cb) {
		/* Called from its own callback: finish after it returns. */
		w->dying = 1;
		return;
	}
	watch_destroy(w);
}
