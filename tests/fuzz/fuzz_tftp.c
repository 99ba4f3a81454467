// FUZZ_SRCS: src/boot/tftp_packet.c src/boot/tftp_fs.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_tftp.c — libFuzzer target for the TFTP codec (tftp_packet.h) and
 * request-name normalisation (tftp_path_normalise).
 *
 * Every input goes through all three parsers.  A parsed request must be
 * within the codec's bounds (non-empty name of at most TFTP_NAME_MAX
 * bytes, blksize 0 or 8..8192, timeout 0 or 1..255) and survive a
 * build/parse round trip unchanged; a parsed ERROR rebuilds to the same
 * code and text; a failure always names its cause.  A normalised name
 * has no "..", "." or empty segment, no '\\' and no leading '/', and
 * normalising it again changes nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tftp_packet.h"
#include "tftp_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_request(const uint8_t *data, size_t size)
{
	struct tftp_request r, back;
	struct tftp_oack o;
	uint8_t buf[TFTP_NAME_MAX + 200];
	char *cause = NULL;
	size_t n;

	if (tftp_parse_request(data, size, &r, &cause) == -1) {
		if (cause == NULL || cause[0] == '\0')
			abort();
		free(cause);
		return;
	}
	n = strlen(r.filename);
	if (n == 0 || n > TFTP_NAME_MAX)
		abort();
	if (r.blksize != 0 && (r.blksize < TFTP_BLKSIZE_MIN ||
	    r.blksize > TFTP_BLKSIZE_CAP))
		abort();
	if (r.timeout != 0 && (r.timeout < TFTP_TIMEOUT_MIN ||
	    r.timeout > TFTP_TIMEOUT_MAX))
		abort();
	if (r.mode == TFTP_MODE_OTHER)
		return;
	memset(&o, 0, sizeof o);
	o.blksize = r.blksize;
	o.timeout = r.timeout;
	o.tsize = r.tsize;
	o.tsize_value = r.tsize_value;
	n = tftp_build_rrq(buf, sizeof buf, r.filename,
	    tftp_mode_name(r.mode), &o);
	if (n == 0)
		abort();
	if (r.opcode == TFTP_WRQ)
		buf[1] = TFTP_WRQ;
	if (tftp_parse_request(buf, n, &back, &cause) == -1)
		abort();
	if (back.opcode != r.opcode || strcmp(back.filename, r.filename) != 0 ||
	    back.mode != r.mode || back.blksize != r.blksize ||
	    back.timeout != r.timeout || back.tsize != r.tsize ||
	    back.tsize_value != r.tsize_value)
		abort();
}

static void
check_reply(const uint8_t *data, size_t size)
{
	struct tftp_reply r, back;
	uint8_t buf[4 + TFTP_ERRMSG_MAX + 1];
	char *cause = NULL;
	size_t n;

	if (tftp_parse_reply(data, size, &r, &cause) == -1) {
		if (cause == NULL || cause[0] == '\0')
			abort();
		free(cause);
		return;
	}
	if (r.opcode == TFTP_ACK) {
		n = tftp_build_ack(buf, sizeof buf, r.block);
		if (tftp_parse_reply(buf, n, &back, &cause) == -1 ||
		    back.block != r.block)
			abort();
		return;
	}
	if (r.opcode != TFTP_ERROR || strlen(r.errmsg) > TFTP_ERRMSG_MAX)
		abort();
	n = tftp_build_error(buf, sizeof buf, r.errcode, r.errmsg);
	if (n == 0 || tftp_parse_reply(buf, n, &back, &cause) == -1 ||
	    back.errcode != r.errcode || strcmp(back.errmsg, r.errmsg) != 0)
		abort();
}

static void
check_path(const uint8_t *data, size_t size)
{
	char in[512], out[512], again[512], *cause = NULL, *seg, *p;

	if (size >= sizeof in)
		size = sizeof in - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	if (tftp_path_normalise(in, out, sizeof out, &cause) == -1) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (out[0] == '/' || strchr(out, '\\') != NULL)
		abort();
	if (tftp_path_normalise(out, again, sizeof again, NULL) == -1 ||
	    strcmp(out, again) != 0)
		abort();
	if (out[0] == '\0')
		return;
	for (p = out; (seg = strsep(&p, "/")) != NULL;)
		if (seg[0] == '\0' || strcmp(seg, ".") == 0 ||
		    strcmp(seg, "..") == 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_reply(data, size);
	check_path(data, size);
	return 0;
}
