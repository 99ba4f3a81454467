/*
 * amp.h — pure AMP codec (Twisted's Asynchronous Messaging Protocol as MAAS
 * 3.4 uses it).  No sockets, no libevent: bytes in, boxes out, and back.
 * Never trusts input: every decode is bounds-checked and fails with a
 * cause naming what was wrong.
 *
 * A box is an ordered list of (key, value) pairs.  Keys are 1..255 bytes,
 * values 0..65535 bytes.  On the wire each is a u16be length + bytes; a
 * zero key length ends the box.  Boxes own copies of their keys/values.
 */
#ifndef AMP_H
#define AMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "bytes.h"

#define AMP_MAX_KEY		255
#define AMP_MAX_VALUE		65535
#define AMP_DEFAULT_MAX_KEYS	512		/* per box */
#define AMP_DEFAULT_MAX_BOX	(4u << 20)	/* bytes per box on the wire */
#define AMP_MAX_INFLATE		(32u << 20)	/* zlib output cap */
#define AMP_MAX_NEST		8		/* AmpList nesting depth */

struct amp_value {
	const uint8_t	*data;		/* not NUL-terminated */
	size_t		 len;
};

/* value/len come first so a pair can be viewed as a struct amp_value. */
struct amp_pair {
	uint8_t		*value;		/* always followed by a NUL byte */
	size_t		 len;
	char		*key;		/* NUL-terminated copy */
	size_t		 keylen;
};

struct amp_box {
	struct amp_pair	*pairs;
	size_t		 n;
	size_t		 cap;
};

enum amp_status {
	AMP_OK = 0,		/* one whole box decoded */
	AMP_NEED_MORE = 1,	/* input ends inside a box: read more */
	AMP_EBADMSG = -1,	/* protocol violation: drop the connection */
};

struct amp_limits {
	size_t	max_keys;	/* 0 = AMP_DEFAULT_MAX_KEYS */
	size_t	max_box;	/* 0 = AMP_DEFAULT_MAX_BOX */
};

/* --- boxes ---------------------------------------------------------- */
struct amp_box	*amp_box_new(void);
void		 amp_box_free(struct amp_box *);		/* NULL ok */
/* Set key to value (replaces an existing key; keeps order otherwise). */
void		 amp_box_put(struct amp_box *, const char *key,
		    const void *val, size_t len);
void		 amp_box_put_str(struct amp_box *, const char *key, const char *);
void		 amp_box_put_int(struct amp_box *, const char *key, long long);
void		 amp_box_put_bool(struct amp_box *, const char *key, bool);
/* Encode a JSON value as StructureAsJSON (zlib of ASCII JSON). -1 if too big. */
int		 amp_box_put_json(struct amp_box *, const char *key, const json_t *);
void		 amp_box_del(struct amp_box *, const char *key);
/* Copy every pair of src into dst (replacing keys dst already has). */
void		 amp_box_merge(struct amp_box *dst, const struct amp_box *src);
/* Lookup; NULL when absent.  The value points into the box. */
const struct amp_value *amp_box_get(const struct amp_box *, const char *key);
int		 amp_box_has(const struct amp_box *, const char *key);

/*
 * Typed getters.  Return 0 on success, 1 when the key is absent (out
 * untouched), -1 with *cause when present but malformed (bad UTF-8, not an
 * integer, not True/False, bad zlib/JSON, ...).  Strings are malloc'd and
 * NUL-terminated (caller frees); Unicode values are UTF-8 validated and
 * may not contain NUL.
 */
int	amp_box_get_str(const struct amp_box *, const char *key, char **out,
	    char **cause);
int	amp_box_get_int(const struct amp_box *, const char *key, long long *out,
	    char **cause);
int	amp_box_get_bool(const struct amp_box *, const char *key, bool *out,
	    char **cause);
/* StructureAsJSON: zlib-inflate (bounded), ASCII only, JSON parse. */
int	amp_box_get_json(const struct amp_box *, const char *key, json_t **out,
	    char **cause);

/* --- wire framing --------------------------------------------------- */
/*
 * Decode one box from the front of buf.  AMP_OK: *out is a new box and
 * *consumed its wire length.  AMP_NEED_MORE: nothing consumed, the box is
 * incomplete (*consumed = bytes scanned so far, for caps).  AMP_EBADMSG:
 * *cause says why (key too long, empty box, box over limits, ...).
 */
enum amp_status amp_box_decode(const uint8_t *buf, size_t len,
	    const struct amp_limits *, struct amp_box **out, size_t *consumed,
	    char **cause);
/* Append the wire form of a box.  -1 with *cause for an empty box or an
 * over-long key/value (nothing appended). */
int	amp_box_encode(const struct amp_box *, struct bytes *, char **cause);

/* --- argument types ------------------------------------------------- */
/* ListOf(T): u16be length + element, repeated. */
int	amp_listof_encode(const struct amp_value *elems, size_t n,
	    struct bytes *out, char **cause);
/* Decoded elements point into data; *elems is malloc'd (caller frees). */
int	amp_listof_decode(const uint8_t *data, size_t len,
	    struct amp_value **elems, size_t *n, char **cause);
/* ListOf(Unicode) to/from a NULL-terminated string vector (caller frees
 * with amp_strv_free). */
int	amp_listof_str_decode(const struct amp_value *, char ***out, size_t *n,
	    char **cause);
void	amp_strv_free(char **);

/* AmpList: concatenated boxes. Empty list = empty value. */
int	amp_list_encode(struct amp_box *const *boxes, size_t n,
	    struct bytes *out, char **cause);
int	amp_list_decode(const uint8_t *data, size_t len, struct amp_box ***boxes,
	    size_t *n, char **cause);
void	amp_list_free(struct amp_box **boxes, size_t n);

/* CompressedAmpList: zlib(AmpList).  Empty list -> 78 9c 03 00 00 00 00 01. */
int	amp_clist_encode(struct amp_box *const *boxes, size_t n,
	    struct bytes *out, char **cause);
int	amp_clist_decode(const uint8_t *data, size_t len, struct amp_box ***boxes,
	    size_t *n, char **cause);

/* zlib (RFC 1950) helpers; inflate is capped at max_out bytes. */
int	amp_zlib_deflate(const uint8_t *in, size_t len, struct bytes *out,
	    char **cause);
int	amp_zlib_inflate(const uint8_t *in, size_t len, size_t max_out,
	    struct bytes *out, char **cause);

/* JSON text as MAAS's StructureAsJSON writes it: ASCII only, ", " and ": ". */
char	*amp_json_dumps(const json_t *);

/* IPAddress: 4 or 16 raw bytes <-> text. */
int	amp_ipaddr_to_text(const struct amp_value *, char *buf, size_t buflen,
	    char **cause);

/* --- commands ------------------------------------------------------- */
/* Build {_command, _ask} + nothing else; caller adds arguments. */
struct amp_box	*amp_command_new(const char *command, const char *tag);
/* Answer box {_answer: tag}. */
struct amp_box	*amp_answer_new(const char *tag);
/* Error box {_error, _error_code, _error_description}. */
struct amp_box	*amp_error_new(const char *tag, const char *code,
		    const char *description);

/* True if s is valid UTF-8 of length len (no overlongs, no surrogates). */
int	amp_utf8_valid(const uint8_t *s, size_t len);
/*
 * Render a box for debug logs: keys, and values printable (truncated);
 * nested AmpList / CompressedAmpList / zlib-JSON values are decoded and
 * rendered the same way.  The value of every secret-bearing key
 * (amp_key_is_secret), at any depth, is replaced by <N bytes> (or
 * "<masked>" inside JSON).  Caller frees.
 */
char	*amp_box_describe(const struct amp_box *);
/* True for argument names whose values are secrets (power_pass, k_g,
 * omapi_key, secret, token, ...: a table, case-insensitive). */
bool	 amp_key_is_secret(const char *key);

#endif
