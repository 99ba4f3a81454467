/*
 * metadata.c — the bytes of MAAS's metadata "signal" POST: the OAuth 1.0
 * PLAINTEXT Authorization header and the multipart/form-data body, exactly
 * as MAAS 3.4's rack writes them (maas_api_helper.py Credentials.
 * oauth_headers, encode_multipart_data; spec maas-rack-refresh.md §2.3,
 * §2.4).  Pure: nonce, timestamp and boundary come from the caller.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "rackd.h"
#include "refresh.h"
#include "xmalloc.h"

char *
metadata_pct(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char *out, *o;

	out = o = xmalloc(strlen(s) * 3 + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0xf];
		}
	}
	*o = '\0';
	return out;
}

char *
metadata_oauth_header(const struct metadata_creds *c, const char *nonce,
    long long timestamp)
{
	char *sec, *sig, *sig_wire, *n, *ck, *tk, *out, ts[32];

	/* PLAINTEXT: pct(consumer_secret) "&" pct(token_secret), with
	 * MAAS's consumer secret always "" (§1.3). */
	sec = metadata_pct(c->token_secret);
	xasprintf(&sig, "&%s", sec);
	/* oauthlib encodes every header value once more. */
	sig_wire = metadata_pct(sig);
	n = metadata_pct(nonce);
	ck = metadata_pct(c->consumer_key);
	tk = metadata_pct(c->token_key);
	snprintf(ts, sizeof ts, "%lld", timestamp);
	xasprintf(&out, "OAuth oauth_nonce=\"%s\", oauth_timestamp=\"%s\", "
	    "oauth_version=\"1.0\", oauth_signature_method=\"PLAINTEXT\", "
	    "oauth_consumer_key=\"%s\", oauth_token=\"%s\", "
	    "oauth_signature=\"%s\"", n, ts, ck, tk, sig_wire);
	xwipe(sec, strlen(sec));
	xwipe(sig, strlen(sig));
	xwipe(sig_wire, strlen(sig_wire));
	free(sec);
	free(sig);
	free(sig_wire);
	free(n);
	free(ck);
	free(tk);
	return out;
}

static void body_printf(struct bytes *, const char *, ...) RACKD_PRINTF(2, 3);

static void
body_printf(struct bytes *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	bytes_add_str(b, s);
	free(s);
}

static void
body_field(struct bytes *b, const char *boundary, const char *name,
    const char *value)
{
	body_printf(b, "--%s\r\nContent-Disposition: form-data; "
	    "name=\"%s\"\r\n\r\n%s\r\n", boundary, name, value);
}

void
metadata_body(const char *boundary, const struct metadata_signal *sig,
    char **body, size_t *len)
{
	struct bytes b;
	char num[24];
	size_t i;

	bytes_init(&b);
	/* MAAS's order: op, status, error, [exit_status], then files. */
	body_field(&b, boundary, "op", "signal");
	body_field(&b, boundary, "status", sig->status);
	body_field(&b, boundary, "error", sig->error != NULL ? sig->error : "");
	if (sig->has_exit_status) {
		snprintf(num, sizeof num, "%d", sig->exit_status);
		body_field(&b, boundary, "exit_status", num);
	}
	for (i = 0; i < sig->nfiles; i++) {
		body_printf(&b, "--%s\r\nContent-Disposition: form-data; "
		    "name=\"%s\"; filename=\"%s\"\r\n"
		    "Content-Type: application/octet-stream\r\n\r\n",
		    boundary, sig->files[i].name, sig->files[i].name);
		bytes_add(&b, sig->files[i].data, sig->files[i].len);
		bytes_add(&b, "\r\n", 2);
	}
	body_printf(&b, "--%s--\r\n", boundary);
	*body = (char *)bytes_steal(&b, len);
}

char *
metadata_content_type(const char *boundary)
{
	char *s;

	xasprintf(&s, "multipart/form-data; boundary=%s", boundary);
	return s;
}
