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

/* Where Debian's Kea 2.2 keeps its hook libraries (multiarch); the
 * default of dhcp.hooks_dir, used by config.c and kea_config.c. */
#ifndef KEA_HOOKS_DIR
#if defined(__x86_64__)
#define KEA_HOOKS_DIR	"/usr/lib/x86_64-linux-gnu/kea/hooks"
#elif defined(__aarch64__)
#define KEA_HOOKS_DIR	"/usr/lib/aarch64-linux-gnu/kea/hooks"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define KEA_HOOKS_DIR	"/usr/lib/powerpc64le-linux-gnu/kea/hooks"
#elif defined(__s390x__)
#define KEA_HOOKS_DIR	"/usr/lib/s390x-linux-gnu/kea/hooks"
#else
#define KEA_HOOKS_DIR	"/usr/lib/kea/hooks"
#endif
#endif

#define RACKD_PRINTF(a, b)	__attribute__((format(printf, a, b)))
#define RACKD_DEAD		__attribute__((noreturn))
#define RACKD_NELEM(a)		(sizeof(a) / sizeof((a)[0]))

/* Monotonic clock in milliseconds. */
uint64_t rackd_now_ms(void);

#endif
