/*
 * secret.c — the MAAS shared secret and the Authenticate HMAC.
 *
 * MAAS keeps the secret as hex text; the HMAC key is the decoded bytes
 * (no KDF).  The file must not be readable by group or other: whoever
 * reads it can impersonate the rack and the region.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "log.h"
#include "secret.h"
#include "bytes.h"
#include "xmalloc.h"

int
secret_from_hex(const char *hex, struct secret *s, char **cause)
{
	size_t n, i, start = 0;
	int hi, lo;

	n = strlen(hex);
	while (start < n && (hex[start] == ' ' || hex[start] == '\t' ||
	    hex[start] == '\n' || hex[start] == '\r'))
		start++;
	while (n > start && (hex[n - 1] == ' ' || hex[n - 1] == '\t' ||
	    hex[n - 1] == '\n' || hex[n - 1] == '\r'))
		n--;
	n -= start;
	memset(s, 0, sizeof *s);
	if (n == 0) {
		xasprintf(cause, "the shared secret is empty");
		return -1;
	}
	if (n % 2 != 0) {
		xasprintf(cause, "the shared secret must be an even number of "
		    "hex digits (got %zu characters)", n);
		return -1;
	}
	if (n / 2 > SECRET_MAX) {
		xasprintf(cause, "the shared secret is too long (%zu hex "
		    "digits, at most %d)", n, SECRET_MAX * 2);
		return -1;
	}
	for (i = 0; i < n / 2; i++) {
		hi = bytes_hexval((unsigned char)hex[start + 2 * i]);
		lo = bytes_hexval((unsigned char)hex[start + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			secret_wipe(s);
			xasprintf(cause, "the shared secret is not hex text "
			    "(bad character at position %zu)",
			    2 * i + (hi < 0 ? 1 : 2));
			return -1;
		}
		s->key[i] = (uint8_t)(hi << 4 | lo);
	}
	s->len = n / 2;
	return 0;
}

int
secret_load(const char *path, struct secret *s, char **cause)
{
	char buf[SECRET_MAX * 2 + 64];
	struct stat st;
	ssize_t n;
	int fd, rc;
	char *why = NULL;

	memset(s, 0, sizeof *s);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "cannot open shared secret %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "cannot stat shared secret %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		xasprintf(cause, "shared secret %s has mode %04o: group or "
		    "other may access it; run 'chmod 600 %s'", path,
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		xasprintf(cause, "cannot read shared secret %s: %s", path,
		    strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	rc = secret_from_hex(buf, s, &why);
	xwipe(buf, sizeof buf);
	if (rc == -1) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
	}
	return rc;
}

void
secret_wipe(struct secret *s)
{
	xwipe(s->key, sizeof s->key);
	s->len = 0;
}

void
auth_digest(const struct secret *s, const uint8_t *msg, size_t msglen,
    const uint8_t *salt, size_t saltlen, uint8_t out[AUTH_DIGEST_LEN])
{
	HMAC_CTX *h;
	unsigned int len = AUTH_DIGEST_LEN;

	/* HMAC_* is deprecated in OpenSSL 3 but is the shortest correct
	 * route on Debian 12; EVP_MAC would be the replacement. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	h = HMAC_CTX_new();
	if (h == NULL || HMAC_Init_ex(h, s->key, (int)s->len, EVP_sha256(),
	    NULL) != 1 || HMAC_Update(h, msg, msglen) != 1 ||
	    HMAC_Update(h, salt, saltlen) != 1 || HMAC_Final(h, out, &len) != 1)
		fatalx("HMAC-SHA256 failed");
	HMAC_CTX_free(h);
#pragma GCC diagnostic pop
}

int
auth_verify(const struct secret *s, const uint8_t *msg, size_t msglen,
    const uint8_t *salt, size_t saltlen, const uint8_t *digest,
    size_t digestlen)
{
	uint8_t want[AUTH_DIGEST_LEN];
	int ok;

	if (digestlen != AUTH_DIGEST_LEN)
		return 0;
	auth_digest(s, msg, msglen, salt, saltlen, want);
	ok = CRYPTO_memcmp(want, digest, AUTH_DIGEST_LEN) == 0;
	xwipe(want, sizeof want);
	return ok;
}

void
auth_random(uint8_t *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		fatalx("RAND_bytes failed");
}
