/*
 * bytes.c — growable byte strings and a bounds-checked read cursor.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "xmalloc.h"

void
bytes_init(struct bytes *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
bytes_free(struct bytes *b)
{
	free(b->data);
	bytes_init(b);
}

void
bytes_reset(struct bytes *b)
{
	b->len = 0;
}

void
bytes_reserve(struct bytes *b, size_t n)
{
	size_t cap;

	if (b->cap - b->len >= n && b->data != NULL)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap - b->len < n) {
		if (cap > (size_t)-1 / 2)
			cap = b->len + n;
		else
			cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
bytes_add(struct bytes *b, const void *p, size_t n)
{
	bytes_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
bytes_add_u8(struct bytes *b, uint8_t v)
{
	bytes_add(b, &v, 1);
}

void
bytes_add_u16be(struct bytes *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	bytes_add(b, x, 2);
}

void
bytes_add_str(struct bytes *b, const char *s)
{
	bytes_add(b, s, strlen(s));
}

uint8_t *
bytes_steal(struct bytes *b, size_t *lenp)
{
	uint8_t *p = b->data;

	if (lenp != NULL)
		*lenp = b->len;
	if (p == NULL)
		p = xcalloc(1, 1);
	bytes_init(b);
	return p;
}

void
cursor_init(struct cursor *c, const void *p, size_t n)
{
	c->p = p;
	c->left = n;
}

int
cursor_get_u8(struct cursor *c, uint8_t *v)
{
	if (c->left < 1)
		return -1;
	*v = c->p[0];
	c->p++;
	c->left--;
	return 0;
}

int
cursor_get_u16be(struct cursor *c, uint16_t *v)
{
	if (c->left < 2)
		return -1;
	*v = (uint16_t)((c->p[0] << 8) | c->p[1]);
	c->p += 2;
	c->left -= 2;
	return 0;
}

int
cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **out)
{
	if (c->left < n)
		return -1;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

int
cursor_skip(struct cursor *c, size_t n)
{
	if (c->left < n)
		return -1;
	c->p += n;
	c->left -= n;
	return 0;
}

int
bytes_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
