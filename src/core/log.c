/*
 * log.c — logging to journald (native fields) or stderr.
 *
 * systemd.exec(5): a service whose stderr is connected to the journal gets
 * $JOURNAL_STREAM=dev:ino; when it matches fstat(2) of fd 2 we talk to
 * journald directly with sd_journal_send(), so PRIORITY and our own fields
 * (REGION=, BMC=, ...) survive.  Otherwise lines go to stderr with a
 * timestamp and level.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_ident = "rackd";
static int log_debug_on;
static int log_journal;

uint64_t
rackd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, int debug)
{
	if (ident != NULL)
		log_ident = ident;
	log_debug_on = debug;
	log_journal = stderr_is_journal();
}

void
log_set_debug(int debug)
{
	log_debug_on = debug;
}

int
log_get_debug(void)
{
	return log_debug_on;
}

int
log_to_journal(void)
{
	return log_journal;
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		return "crit";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* Emit one message with optional extra fields. */
static void
log_emit(int prio, const char *const *fields, const char *msg)
{
	int saved = errno;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	if (log_journal) {
		struct iovec iov[32];
		char *bufs[32];
		int n = 0, i;

		if (asprintf(&bufs[n], "MESSAGE=%s", msg) < 0)
			goto plain;
		n++;
		if (asprintf(&bufs[n], "PRIORITY=%d", prio) < 0)
			goto plain;
		n++;
		if (asprintf(&bufs[n], "SYSLOG_IDENTIFIER=%s", log_ident) < 0)
			goto plain;
		n++;
		for (i = 0; fields != NULL && fields[i] != NULL && n < 32; i++)
			bufs[n++] = strdup(fields[i]);
		for (i = 0; i < n; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = bufs[i] ? strlen(bufs[i]) : 0;
		}
		sd_journal_sendv(iov, n);
		for (i = 0; i < n; i++)
			free(bufs[i]);
		errno = saved;
		return;
	}
plain:
	{
		struct timespec ts;
		struct tm tm;
		char tbuf[32];
		int i;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof tbuf, "%Y-%m-%d %H:%M:%S", &tm);
		flockfile(stderr);
		fprintf(stderr, "%s.%03ld %s[%ld] %s: %s", tbuf,
		    ts.tv_nsec / 1000000, log_ident, (long)getpid(),
		    prio_name(prio), msg);
		if (fields != NULL && fields[0] != NULL) {
			fputs(" [", stderr);
			for (i = 0; fields[i] != NULL; i++)
				fprintf(stderr, "%s%s", i ? " " : "", fields[i]);
			fputc(']', stderr);
		}
		fputc('\n', stderr);
		fflush(stderr);
		funlockfile(stderr);
	}
	errno = saved;
}

void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	char *msg;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	log_emit(prio, NULL, msg);
	free(msg);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void
log_fields(int prio, const char *const *fields, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	log_emit(prio, fields, msg);
	free(msg);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	log_msg(LOG_WARNING, "%s: %s", msg, strerror(saved));
	free(msg);
	errno = saved;
}

#define LOG_SIMPLE(fn, prio)				\
void							\
fn(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	va_start(ap, fmt);				\
	log_vmsg(prio, fmt, ap);			\
	va_end(ap);					\
}

LOG_SIMPLE(log_warnx, LOG_WARNING)
LOG_SIMPLE(log_info, LOG_INFO)
LOG_SIMPLE(log_notice, LOG_NOTICE)
LOG_SIMPLE(log_debug, LOG_DEBUG)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	log_msg(LOG_CRIT, "fatal: %s: %s", msg ? msg : "?", strerror(saved));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	log_msg(LOG_CRIT, "fatal: %s", msg ? msg : "?");
	exit(1);
}

static void
libevent_log_cb(int severity, const char *msg)
{
	int prio = LOG_DEBUG;

	if (severity == EVENT_LOG_WARN)
		prio = LOG_WARNING;
	else if (severity == EVENT_LOG_ERR)
		prio = LOG_ERR;
	else if (severity == EVENT_LOG_MSG)
		prio = LOG_INFO;
	log_msg(prio, "libevent: %s", msg);
}

void
log_hook_libevent(void)
{
	event_set_log_callback(libevent_log_cb);
}
