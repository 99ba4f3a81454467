/*
 * tftp_packet.c — TFTP wire codec (tftp_packet.h).  Pure: no I/O.
 *
 * Option handling follows python-tx-tftp (MAAS 3.4's engine,
 * tftp/bootstrap.py processOptions): names are case-insensitive, an
 * option whose value is unusable is dropped rather than refused, blksize
 * 8..65464 is capped at 8192, timeout must be 1..255, tsize any
 * non-negative integer; unknown options are dropped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tftp_packet.h"

static int
fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		if (vasprintf(cause, fmt, ap) == -1)
			*cause = NULL;
		va_end(ap);
	}
	return -1;
}

/*
 * Take the NUL-terminated string at *pos; -1 when it runs off the end.
 * *out points into the packet.
 */
static int
take_string(const uint8_t *p, size_t len, size_t *pos, const char **out)
{
	const uint8_t *nul;

	if (*pos >= len)
		return -1;
	nul = memchr(p + *pos, '\0', len - *pos);
	if (nul == NULL)
		return -1;
	*out = (const char *)p + *pos;
	*pos = (size_t)(nul - p) + 1;
	return 0;
}

/* Parse a decimal option value: digits only, no sign, no overflow. */
static int
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int
tftp_parse_request(const uint8_t *p, size_t len, struct tftp_request *req,
    char **cause)
{
	const char *name, *mode, *opt, *val, *what;
	size_t pos = 2, namelen;
	uint16_t op;
	uint64_t v;

	memset(req, 0, sizeof *req);
	if (len < 2)
		return fail(cause, "request shorter than an opcode (%zu bytes)",
		    len);
	op = (uint16_t)(p[0] << 8 | p[1]);
	if (op != TFTP_RRQ && op != TFTP_WRQ)
		return fail(cause, "%s where a request (RRQ/WRQ) was expected",
		    tftp_opcode_name(op));
	req->opcode = op;
	what = op == TFTP_RRQ ? "RRQ" : "WRQ";
	if (take_string(p, len, &pos, &name) == -1)
		return fail(cause, "%s: filename not NUL-terminated", what);
	namelen = strlen(name);
	if (namelen == 0)
		return fail(cause, "%s: empty filename", what);
	if (namelen > TFTP_NAME_MAX)
		return fail(cause, "%s: filename longer than %d bytes", what,
		    TFTP_NAME_MAX);
	memcpy(req->filename, name, namelen + 1);
	if (take_string(p, len, &pos, &mode) == -1)
		return fail(cause, "%s: mode missing or not NUL-terminated",
		    what);
	if (strcasecmp(mode, "octet") == 0)
		req->mode = TFTP_MODE_OCTET;
	else if (strcasecmp(mode, "netascii") == 0)
		req->mode = TFTP_MODE_NETASCII;
	else
		req->mode = TFTP_MODE_OTHER;

	/* Options: name\0value\0 pairs up to the end of the datagram. */
	while (pos < len) {
		if (take_string(p, len, &pos, &opt) == -1)
			return fail(cause, "%s: option name not NUL-terminated",
			    what);
		if (take_string(p, len, &pos, &val) == -1)
			return fail(cause, "%s: option \"%.32s\" has no "
			    "NUL-terminated value", what, opt);
		if (strcasecmp(opt, "blksize") == 0) {
			if (parse_uint(val, UINT64_MAX, &v) == 0 &&
			    v >= TFTP_BLKSIZE_MIN && v <= TFTP_BLKSIZE_MAX)
				req->blksize = v > TFTP_BLKSIZE_CAP ?
				    TFTP_BLKSIZE_CAP : (int)v;
		} else if (strcasecmp(opt, "timeout") == 0) {
			if (parse_uint(val, UINT64_MAX, &v) == 0 &&
			    v >= TFTP_TIMEOUT_MIN && v <= TFTP_TIMEOUT_MAX)
				req->timeout = (int)v;
		} else if (strcasecmp(opt, "tsize") == 0) {
			if (parse_uint(val, UINT64_MAX, &v) == 0) {
				req->tsize = true;
				req->tsize_value = v;
			}
		}
		/* Anything else (windowsize, multicast, ...) is dropped. */
	}
	return 0;
}

bool
tftp_request_has_options(const struct tftp_request *req)
{
	return req->blksize != 0 || req->timeout != 0 || req->tsize;
}

int
tftp_parse_reply(const uint8_t *p, size_t len, struct tftp_reply *r,
    char **cause)
{
	size_t pos = 4, n;
	const char *msg;
	uint16_t op;

	memset(r, 0, sizeof *r);
	if (len < 2)
		return fail(cause, "datagram shorter than an opcode (%zu "
		    "bytes)", len);
	op = (uint16_t)(p[0] << 8 | p[1]);
	switch (op) {
	case TFTP_ACK:
		if (len < 4)
			return fail(cause, "ACK: shorter than 4 bytes (%zu)",
			    len);
		/* Trailing bytes are tolerated, as most servers do. */
		r->opcode = TFTP_ACK;
		r->block = (uint16_t)(p[2] << 8 | p[3]);
		return 0;
	case TFTP_ERROR:
		if (len < 4)
			return fail(cause, "ERROR: shorter than 4 bytes (%zu)",
			    len);
		r->opcode = TFTP_ERROR;
		r->errcode = (uint16_t)(p[2] << 8 | p[3]);
		if (take_string(p, len, &pos, &msg) == -1) {
			/* A missing NUL still cancels the transfer; keep
			 * what text there is. */
			n = len - 4;
			msg = (const char *)p + 4;
		} else
			n = strlen(msg);
		if (n > TFTP_ERRMSG_MAX)
			n = TFTP_ERRMSG_MAX;
		memcpy(r->errmsg, msg, n);
		r->errmsg[n] = '\0';
		return 0;
	default:
		return fail(cause, "%s where ACK or ERROR was expected",
		    tftp_opcode_name(op));
	}
}

static size_t
put16(uint8_t *buf, size_t cap, size_t pos, uint16_t v)
{
	if (pos + 2 > cap)
		return 0;
	buf[pos] = (uint8_t)(v >> 8);
	buf[pos + 1] = (uint8_t)v;
	return pos + 2;
}

static size_t
putstr(uint8_t *buf, size_t cap, size_t pos, const char *s)
{
	size_t n = strlen(s) + 1;

	if (pos == 0 || pos + n > cap)
		return 0;
	memcpy(buf + pos, s, n);
	return pos + n;
}

static size_t
putopt(uint8_t *buf, size_t cap, size_t pos, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	return putstr(buf, cap, putstr(buf, cap, pos, name), num);
}

size_t
tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_oack *o)
{
	size_t pos = put16(buf, cap, 0, TFTP_OACK);

	if (o->blksize != 0)
		pos = putopt(buf, cap, pos, "blksize", (uint64_t)o->blksize);
	if (o->tsize)
		pos = putopt(buf, cap, pos, "tsize", o->tsize_value);
	if (o->timeout != 0)
		pos = putopt(buf, cap, pos, "timeout", (uint64_t)o->timeout);
	return pos;
}

size_t
tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	size_t pos, n = strlen(msg);

	if (n > TFTP_ERRMSG_MAX)
		n = TFTP_ERRMSG_MAX;
	pos = put16(buf, cap, put16(buf, cap, 0, TFTP_ERROR), code);
	if (pos == 0 || pos + n + 1 > cap)
		return 0;
	memcpy(buf + pos, msg, n);
	buf[pos + n] = '\0';
	return pos + n + 1;
}

size_t
tftp_build_data_header(uint8_t *buf, size_t cap, uint16_t block)
{
	return put16(buf, cap, put16(buf, cap, 0, TFTP_DATA), block);
}

size_t
tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	return put16(buf, cap, put16(buf, cap, 0, TFTP_ACK), block);
}

size_t
tftp_build_rrq(uint8_t *buf, size_t cap, const char *filename,
    const char *mode, const struct tftp_oack *o)
{
	size_t pos = put16(buf, cap, 0, TFTP_RRQ);

	pos = putstr(buf, cap, putstr(buf, cap, pos, filename), mode);
	if (o != NULL) {
		if (o->blksize != 0)
			pos = putopt(buf, cap, pos, "blksize",
			    (uint64_t)o->blksize);
		if (o->tsize)
			pos = putopt(buf, cap, pos, "tsize", o->tsize_value);
		if (o->timeout != 0)
			pos = putopt(buf, cap, pos, "timeout",
			    (uint64_t)o->timeout);
	}
	return pos;
}

const char *
tftp_mode_name(enum tftp_mode m)
{
	switch (m) {
	case TFTP_MODE_OCTET:
		return "octet";
	case TFTP_MODE_NETASCII:
		return "netascii";
	default:
		return "other";
	}
}

const char *
tftp_opcode_name(int op)
{
	static const char *const names[] = {
		NULL, "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK",
	};

	if (op >= 1 && op <= 6)
		return names[op];
	return "unknown opcode";
}
