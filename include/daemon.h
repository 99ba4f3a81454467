/*
 * daemon.h — systemd integration: sd_notify READY/RELOADING/STOPPING/
 * STATUS and watchdog pings from the main loop.  All calls are no-ops when
 * not started by systemd ($NOTIFY_SOCKET unset).
 */
#ifndef DAEMON_H
#define DAEMON_H

struct event_base;

/* Arm the watchdog timer on base if $WATCHDOG_USEC is set. */
void	daemon_init(struct event_base *);
void	daemon_ready(void);
void	daemon_reloading(void);
void	daemon_stopping(void);
/* STATUS=... (only sent when it changed). */
void	daemon_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	daemon_shutdown(void);

#endif
