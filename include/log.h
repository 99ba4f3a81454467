/*
 * log.h — the daemon's one logging vocabulary (after OpenBSD log.h).
 *
 * Output goes to the journal with native fields when stderr is connected
 * to journald ($JOURNAL_STREAM matches stderr's dev:ino), otherwise to
 * stderr as timestamped lines.  log_warn() appends strerror(errno);
 * log_warnx() does not.  Debug lines are dropped unless log_set_debug(1).
 * Secrets must never be passed to any of these functions.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <syslog.h>
#include "rackd.h"

/* Initialise logging; ident names the program in each line. */
void	log_init(const char *ident, int debug);
/* Turn debug output on or off (config reload, -d). */
void	log_set_debug(int debug);
int	log_get_debug(void);
/* True when lines go to journald natively. */
int	log_to_journal(void);
/* Route libevent's internal messages through this log. */
void	log_hook_libevent(void);

void	log_warn(const char *, ...) RACKD_PRINTF(1, 2);
void	log_warnx(const char *, ...) RACKD_PRINTF(1, 2);
void	log_info(const char *, ...) RACKD_PRINTF(1, 2);
void	log_notice(const char *, ...) RACKD_PRINTF(1, 2);
void	log_debug(const char *, ...) RACKD_PRINTF(1, 2);
void	log_msg(int prio, const char *, ...) RACKD_PRINTF(2, 3);
void	log_vmsg(int prio, const char *, va_list) RACKD_PRINTF(2, 0);

/*
 * Structured line: extra journald fields as a NULL-terminated list of
 * "KEY=value" strings (copied, not kept).  On stderr the fields are
 * appended as " [KEY=value ...]".
 */
void	log_fields(int prio, const char *const *fields, const char *, ...)
	    RACKD_PRINTF(3, 4);

/* Log and exit(1).  Only at start-up or on unrecoverable internal error. */
void	fatal(const char *, ...) RACKD_PRINTF(1, 2) RACKD_DEAD;
void	fatalx(const char *, ...) RACKD_PRINTF(1, 2) RACKD_DEAD;

#endif
