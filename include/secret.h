/*
 * secret.h — the MAAS shared secret (hex text in a file) and the
 * HMAC-SHA256 challenge/response used by the AMP Authenticate command.
 * The secret is never logged.
 */
#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_MAX	256	/* decoded bytes */
#define AUTH_DIGEST_LEN	32
#define AUTH_NONCE_LEN	16

struct secret {
	uint8_t	key[SECRET_MAX];
	size_t	len;
};

/*
 * Read and hex-decode the secret file: whitespace stripped, even number of
 * hex digits, case-insensitive.  Refuses a file readable or writable by
 * group or other.  Returns 0, or -1 with *cause (names the file, never the
 * secret).
 */
int	secret_load(const char *path, struct secret *, char **cause);
/* Decode hex text into a secret; -1 with *cause on bad text. */
int	secret_from_hex(const char *hex, struct secret *, char **cause);
/* Wipe the key bytes. */
void	secret_wipe(struct secret *);

/* digest = HMAC-SHA256(key, message || salt). */
void	auth_digest(const struct secret *, const uint8_t *msg, size_t msglen,
	    const uint8_t *salt, size_t saltlen, uint8_t out[AUTH_DIGEST_LEN]);
/* Constant-time check of a peer's digest. Returns 1 when it matches. */
int	auth_verify(const struct secret *, const uint8_t *msg, size_t msglen,
	    const uint8_t *salt, size_t saltlen, const uint8_t *digest,
	    size_t digestlen);
/* Fill buf with cryptographically random bytes (fatal on failure). */
void	auth_random(uint8_t *buf, size_t len);

#endif
