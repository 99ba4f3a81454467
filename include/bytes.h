/*
 * bytes.h — a growable byte string and a bounds-checked read cursor.
 * Pure: no I/O.  Used by the AMP codec and anything that builds wire data.
 */
#ifndef BYTES_H
#define BYTES_H

#include <stddef.h>
#include <stdint.h>

/* A growable buffer.  Zero-initialise, append, then bytes_free(). */
struct bytes {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

void	bytes_init(struct bytes *);
void	bytes_free(struct bytes *);
void	bytes_reset(struct bytes *);
void	bytes_reserve(struct bytes *, size_t);
void	bytes_add(struct bytes *, const void *, size_t);
void	bytes_add_u8(struct bytes *, uint8_t);
void	bytes_add_u16be(struct bytes *, uint16_t);
void	bytes_add_str(struct bytes *, const char *);
/* Hand ownership of the data to the caller and reset the buffer. */
uint8_t	*bytes_steal(struct bytes *, size_t *lenp);

/* A read cursor over memory it does not own.  Every get returns -1 when
 * fewer bytes are left than asked for, and then moves nothing. */
struct cursor {
	const uint8_t	*p;
	size_t		 left;
};

/* The value of one hex digit (either case), or -1 when c is not one. */
int	bytes_hexval(int c);

void	cursor_init(struct cursor *, const void *, size_t);
int	cursor_get_u8(struct cursor *, uint8_t *);
int	cursor_get_u16be(struct cursor *, uint16_t *);
int	cursor_get_bytes(struct cursor *, size_t, const uint8_t **);
int	cursor_skip(struct cursor *, size_t);

#endif
