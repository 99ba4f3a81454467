/*
 * rackd.h — project-wide constants and tiny helpers shared by every module.
 * Nothing here allocates or does I/O.
 */
#ifndef RACKD_H
#define RACKD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifndef RACKD_VERSION
#define RACKD_VERSION "3.4.0"
#endif

#define RACKD_DEFAULT_CONFIG	"/etc/maas/rackd.conf"

#define RACKD_PRINTF(a, b)	__attribute__((format(printf, a, b)))
#define RACKD_DEAD		__attribute__((noreturn))
#define RACKD_NELEM(a)		(sizeof(a) / sizeof((a)[0]))

/* Monotonic clock in milliseconds. */
uint64_t rackd_now_ms(void);

#endif
