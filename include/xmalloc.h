/*
 * xmalloc.h — allocators that never return NULL (fatal on exhaustion),
 * so callers never check.  All returned memory is owned by the caller and
 * released with free().
 */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>
#include <stdarg.h>
#include "rackd.h"

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
void	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...) RACKD_PRINTF(2, 3);
int	 xvasprintf(char **, const char *, va_list) RACKD_PRINTF(2, 0);
/* Overwrite n bytes with zeros in a way the compiler cannot elide. */
void	 xwipe(void *, size_t);
/* Free a NULL-terminated vector of strings and the vector.  NULL ok. */
void	 xstrv_free(char **);
/* A counted vector of strings: append s (taken) to *v of *n entries... */
void	 xstrv_push(char ***v, size_t *n, char *s);
/* ...and free its n strings and the vector.  NULL ok. */
void	 xstrv_free_n(char **v, size_t n);
/* Wipe a NUL-terminated string, then free it.  NULL is fine. */
void	 xfree_secret(char *);

#endif
