/*
 * daemon.c — sd_notify(3) and the watchdog.
 *
 * The watchdog is pinged from a timer on the main loop at half the
 * interval systemd asked for, so a wedged loop (not a slow child) is what
 * makes systemd restart us.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"

static struct event *watchdog_ev;
static char last_status[512];

static void
watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

void
daemon_init(struct event_base *base)
{
	uint64_t usec;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	event_add(watchdog_ev, &tv);
	log_debug("daemon: watchdog ping every %lld.%06lds",
	    (long long)tv.tv_sec, (long)tv.tv_usec);
	sd_notify(0, "WATCHDOG=1");
}

void
daemon_ready(void)
{
	sd_notify(0, "READY=1");
}

void
daemon_reloading(void)
{
	/* MONOTONIC_USEC lets systemd >= 253 match the reload; older ones
	 * ignore it. */
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)rackd_now_ms() * 1000ULL);
}

void
daemon_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
daemon_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (strcmp(buf, last_status) == 0)
		return;
	snprintf(last_status, sizeof last_status, "%s", buf);
	sd_notifyf(0, "STATUS=%s", buf);
}

void
daemon_shutdown(void)
{
	if (watchdog_ev != NULL) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
	}
}
