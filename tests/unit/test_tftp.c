/*
 * test_tftp.c — the TFTP codec (tftp_packet.h), name normalisation
 * (tftp_source.h) and the server (tftp.h) on loopback.
 *
 * Server tests run the real server with the real static-tree source on
 * an ephemeral port, its event loop in a second thread, and drive it
 * with a tiny blocking C client in the test thread (every receive has a
 * deadline).  Statistics are read after the server thread has stopped.
 * Timing checks are lower bounds only (a retransmission cannot come
 * early); the upper bounds are the client's generous receive deadlines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "rackd.h"
#include "tftp.h"
#include "tftp_packet.h"
#include "tftp_source.h"
#include "xmalloc.h"

/* --- codec -------------------------------------------------------------- */

static size_t
raw(uint8_t *buf, const char *bytes, size_t n)
{
	memcpy(buf, bytes, n);
	return n;
}

#define RAW(buf, lit)	raw(buf, lit, sizeof(lit) - 1)

static void
test_parse_rrq(void **state)
{
	struct tftp_request r;
	uint8_t b[600];
	size_t n;
	char *cause = NULL;

	n = RAW(b, "\0\1pxelinux.0\0octet\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.opcode, TFTP_RRQ);
	assert_string_equal(r.filename, "pxelinux.0");
	assert_int_equal(r.mode, TFTP_MODE_OCTET);
	assert_false(tftp_request_has_options(&r));

	n = RAW(b, "\0\1a\0NetASCII\0BLKSIZE\0001468\0tsize\0000\0"
	    "timeout\0002\0windowsize\0008\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.mode, TFTP_MODE_NETASCII);
	assert_int_equal(r.blksize, 1468);
	assert_true(r.tsize);
	assert_int_equal(r.tsize_value, 0);
	assert_int_equal(r.timeout, 2);
	assert_true(tftp_request_has_options(&r));

	/* blksize capped at 8192 as tx-tftp; out of range dropped. */
	n = RAW(b, "\0\1a\0octet\0blksize\00065464\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.blksize, 8192);
	n = RAW(b, "\0\1a\0octet\0blksize\00065465\0timeout\0000\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.blksize, 0);
	assert_int_equal(r.timeout, 0);
	n = RAW(b, "\0\1a\0octet\0blksize\0007\0timeout\000256\0tsize\0-1\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.blksize, 0);
	assert_int_equal(r.timeout, 0);
	assert_false(r.tsize);
	n = RAW(b, "\0\1a\0octet\0blksize\0008\0timeout\000255\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.blksize, 8);
	assert_int_equal(r.timeout, 255);
	n = RAW(b, "\0\1a\0octet\0blksize\00099999999999999999999999\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.blksize, 0);

	n = RAW(b, "\0\1a\0mail\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.mode, TFTP_MODE_OTHER);
	n = RAW(b, "\0\2up\0octet\0");
	assert_int_equal(tftp_parse_request(b, n, &r, &cause), 0);
	assert_int_equal(r.opcode, TFTP_WRQ);
}

static void
expect_bad(const char *bytes, size_t n, const char *want)
{
	struct tftp_request r;
	char *cause = NULL;

	assert_int_equal(tftp_parse_request((const uint8_t *)bytes, n, &r,
	    &cause), -1);
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", cause, want);
	free(cause);
}

#define BAD(lit, want)	expect_bad(lit, sizeof(lit) - 1, want)

static void
test_parse_bad(void **state)
{
	uint8_t big[TFTP_NAME_MAX + 20];

	BAD("", "request shorter than an opcode (0 bytes)");
	BAD("\0", "request shorter than an opcode (1 bytes)");
	BAD("\0\3\0\1", "DATA where a request (RRQ/WRQ) was expected");
	BAD("\0\11x", "unknown opcode where a request (RRQ/WRQ) was expected");
	BAD("\0\1", "RRQ: filename not NUL-terminated");
	BAD("\0\1abc", "RRQ: filename not NUL-terminated");
	BAD("\0\1\0octet\0", "RRQ: empty filename");
	BAD("\0\1a\0", "RRQ: mode missing or not NUL-terminated");
	BAD("\0\1a\0oct", "RRQ: mode missing or not NUL-terminated");
	BAD("\0\2a\0octet\0blk", "WRQ: option name not NUL-terminated");
	BAD("\0\1a\0octet\0blksize\0", "RRQ: option \"blksize\" has no "
	    "NUL-terminated value");
	BAD("\0\1a\0octet\0blksize\0005", "RRQ: option \"blksize\" has no "
	    "NUL-terminated value");
	memset(big, 'a', sizeof big);
	big[0] = 0;
	big[1] = 1;
	big[sizeof big - 1] = 0;
	expect_bad((const char *)big, sizeof big,
	    "RRQ: filename longer than 1024 bytes");
}

static void
test_build_and_reply(void **state)
{
	struct tftp_oack o = { .blksize = 1468, .timeout = 3, .tsize = true,
	    .tsize_value = 41943040 };
	struct tftp_reply r;
	struct tftp_request q;
	uint8_t b[600];
	char *cause = NULL;
	size_t n;
	static const char oack[] = "\0\6blksize\0001468\0tsize\00041943040\0"
	    "timeout\0003\0";

	n = tftp_build_oack(b, sizeof b, &o);
	assert_int_equal(n, sizeof oack - 1);
	assert_memory_equal(b, oack, n);
	assert_int_equal(tftp_build_oack(b, 10, &o), 0);

	n = tftp_build_error(b, sizeof b, 1, "File not found");
	assert_int_equal(n, 4 + 15);
	assert_memory_equal(b, "\0\5\0\1File not found\0", n);
	assert_int_equal(tftp_parse_reply(b, n, &r, &cause), 0);
	assert_int_equal(r.opcode, TFTP_ERROR);
	assert_int_equal(r.errcode, 1);
	assert_string_equal(r.errmsg, "File not found");
	assert_int_equal(tftp_build_error(b, 8, 1, "File not found"), 0);

	n = tftp_build_data_header(b, sizeof b, 0xfffe);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "\0\3\xff\xfe", 4);
	n = tftp_build_ack(b, sizeof b, 65535);
	assert_int_equal(tftp_parse_reply(b, n, &r, &cause), 0);
	assert_int_equal(r.opcode, TFTP_ACK);
	assert_int_equal(r.block, 65535);

	n = tftp_build_rrq(b, sizeof b, "x/y", "octet", &o);
	assert_int_equal(tftp_parse_request(b, n, &q, &cause), 0);
	assert_string_equal(q.filename, "x/y");
	assert_int_equal(q.blksize, 1468);
	assert_int_equal(q.timeout, 3);
	assert_int_equal(q.tsize_value, 41943040);

	assert_int_equal(tftp_parse_reply((const uint8_t *)"\0\4\0", 3, &r,
	    &cause), -1);
	assert_string_equal(cause, "ACK: shorter than 4 bytes (3)");
	free(cause);
	cause = NULL;
	assert_int_equal(tftp_parse_reply((const uint8_t *)"\0\3\0\1", 4, &r,
	    &cause), -1);
	assert_string_equal(cause, "DATA where ACK or ERROR was expected");
	free(cause);
	cause = NULL;
	/* An ERROR without its NUL still cancels, with its text. */
	assert_int_equal(tftp_parse_reply((const uint8_t *)"\0\5\0\0bye", 7,
	    &r, &cause), 0);
	assert_string_equal(r.errmsg, "bye");
}

static void
test_normalise(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "pxelinux.0", "pxelinux.0" },
		{ "/pxelinux.cfg/default", "pxelinux.cfg/default" },
		{ "\\grub\\grub.cfg", "grub/grub.cfg" },
		{ "//a/./b//c/", "a/b/c" },
		{ "a/..b/...", "a/..b/..." },
		{ "/", "" },
	};
	static const char *const bad[] = {
		"..", "../etc/passwd", "a/../b", "/a/b/..", "\\..\\x",
		"a\\..", "./../x",
	};
	char out[64], *cause = NULL;
	size_t i;

	for (i = 0; i < RACKD_NELEM(ok); i++) {
		assert_int_equal(tftp_path_normalise(ok[i].in, out, sizeof out,
		    &cause), 0);
		assert_string_equal(out, ok[i].out);
	}
	for (i = 0; i < RACKD_NELEM(bad); i++) {
		assert_int_equal(tftp_path_normalise(bad[i], out, sizeof out,
		    &cause), -1);
		assert_string_equal(cause, "\"..\" in file name");
		free(cause);
		cause = NULL;
	}
	assert_int_equal(tftp_path_normalise("abcdef", out, 4, &cause), -1);
	assert_string_equal(cause, "file name too long");
	free(cause);
}

/* --- server on loopback ------------------------------------------------- */

struct srv {
	char			 root[64];
	struct event_base	*base;
	struct tftp_fs		*fs;
	struct tftp		*tftp;
	struct event		*stop_ev;
	int			 stop_pipe[2];
	pthread_t		 thread;
	int			 port4, port6;
	struct tftp_stats	 stats;		/* after srv_stop */
};

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void *
srv_thread(void *arg)
{
	struct srv *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static void
write_file(const char *root, const char *name, const void *data, size_t n)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static struct srv *
srv_start(int max_transfers)
{
	struct srv *s = xcalloc(1, sizeof *s);
	struct tftp_params p;
	char *cause = NULL, path[256];
	uint8_t buf[3000];
	size_t i;

	snprintf(s->root, sizeof s->root, "/tmp/test_tftp.XXXXXX");
	assert_non_null(mkdtemp(s->root));
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 7 + i / 256);
	write_file(s->root, "small", buf, 1000);
	write_file(s->root, "exact", buf, 1024);
	write_file(s->root, "big", buf, sizeof buf);
	write_file(s->root, "text", "a\nb\rc\r\n", 7);
	snprintf(path, sizeof path, "%s/sub", s->root);
	mkdir(path, 0755);
	write_file(s->root, "sub/f", "inside", 6);
	snprintf(path, sizeof path, "%s/unreadable", s->root);
	write_file(s->root, "unreadable", "x", 1);
	chmod(path, 0);
	snprintf(path, sizeof path, "%s/link", s->root);
	assert_int_equal(symlink("sub/f", path), 0);

	s->base = event_base_new();
	s->fs = tftp_fs_new(s->base, s->root, 2, &cause);
	assert_non_null(s->fs);
	memset(&p, 0, sizeof p);
	p.port = 0;
	p.bind4 = "127.0.0.1";
	p.bind6 = "::1";
	p.max_transfers = max_transfers;
	s->tftp = tftp_new(s->base, tftp_fs_source(s->fs), &p);
	assert_int_equal(tftp_start(s->tftp, &cause), 0);
	s->port4 = tftp_port(s->tftp, 4);
	s->port6 = tftp_port(s->tftp, 6);
	assert_true(s->port4 > 0);
	assert_int_equal(pipe(s->stop_pipe), 0);
	s->stop_ev = event_new(s->base, s->stop_pipe[0], EV_READ, stop_cb,
	    s->base);
	event_add(s->stop_ev, NULL);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_thread, s), 0);
	return s;
}

static void
srv_stop(struct srv *s)
{
	char cmd[128];
	char status[64];
	char info[256];

	assert_int_equal(write(s->stop_pipe[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	tftp_get_stats(s->tftp, &s->stats);
	snprintf(status, sizeof status, "%s",
	    tftp_service_status(s->tftp, info, sizeof info));
	assert_string_equal(status, "running");
	tftp_free(s->tftp);
	tftp_fs_free(s->fs);
	event_free(s->stop_ev);
	event_base_free(s->base);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	snprintf(cmd, sizeof cmd, "rm -rf %s", s->root);
	assert_int_equal(system(cmd), 0);
}

static uint64_t
now_ms(void)
{
	return rackd_now_ms();
}

struct fetch {
	/* in */
	const char	*name;
	const char	*mode;		/* default octet */
	const char	*dst;		/* default 127.0.0.1 */
	struct tftp_oack opts;
	long		 drop_ack;	/* drop the ACK of this block once */
	bool		 never_ack;	/* ACK nothing after the first DATA */
	int		 wait_ms;	/* receive deadline; 0: 6 s */
	/* out */
	uint8_t		*data;
	size_t		 len;
	int		 errcode;	/* -1: none */
	char		 errmsg[256];
	bool		 oack;
	struct tftp_oack got;
	unsigned int	 dups;		/* DATA received again */
	uint64_t	 dup_ms[8];	/* when, from the first DATA */
	uint64_t	 blocks;
	bool		 wrapped;
	char		 from[64];	/* source address of the replies */
	bool		 timed_out;
};

static int
client_socket(const char *dst, int port, struct sockaddr_storage *to,
    socklen_t *tolen)
{
	int fd;

	memset(to, 0, sizeof *to);
	if (strchr(dst, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)to;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, dst, &s6->sin6_addr);
		*tolen = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (void *)to;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, dst, &s4->sin_addr);
		*tolen = sizeof *s4;
	}
	fd = socket(to->ss_family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	return fd;
}

/* Receive with a deadline; -1 on timeout. */
static ssize_t
recv_deadline(int fd, uint8_t *buf, size_t cap, int ms,
    struct sockaddr_storage *from, socklen_t *fromlen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return -1;
	*fromlen = sizeof *from;
	return recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, fromlen);
}

static void
parse_oack(const uint8_t *p, size_t n, struct tftp_oack *o)
{
	size_t pos = 2;
	const char *k, *v;

	memset(o, 0, sizeof *o);
	while (pos < n) {
		k = (const char *)p + pos;
		pos += strlen(k) + 1;
		v = (const char *)p + pos;
		pos += strlen(v) + 1;
		if (strcmp(k, "blksize") == 0)
			o->blksize = atoi(v);
		else if (strcmp(k, "timeout") == 0)
			o->timeout = atoi(v);
		else if (strcmp(k, "tsize") == 0) {
			o->tsize = true;
			o->tsize_value = strtoull(v, NULL, 10);
		}
	}
}

static void
send_ack(int fd, const struct sockaddr_storage *to, socklen_t tolen,
    uint16_t block)
{
	uint8_t b[4];

	tftp_build_ack(b, sizeof b, block);
	sendto(fd, b, 4, 0, (const struct sockaddr *)to, tolen);
}

static void
fmt_from(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)ss)->sin6_addr, buf, (socklen_t)cap);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)ss)->sin_addr, buf, (socklen_t)cap);
}

/* Run one download; fills f's out fields.  The client is strict: it
 * checks every block number, modulo 65536. */
static void
fetch(struct srv *s, struct fetch *f)
{
	struct sockaddr_storage to, from, tid;
	socklen_t tolen, fromlen, tidlen = 0;
	uint8_t pkt[70000], req[600];
	const char *dst = f->dst != NULL ? f->dst : "127.0.0.1";
	int fd, blksize = 512;
	uint64_t expect = 1, t0 = 0;
	size_t cap = 0, n;
	ssize_t r;
	bool dropped = false, asked;
	uint16_t wire;

	f->errcode = -1;
	fd = client_socket(dst, strchr(dst, ':') ? s->port6 : s->port4, &to,
	    &tolen);
	asked = f->opts.blksize || f->opts.timeout || f->opts.tsize;
	n = tftp_build_rrq(req, sizeof req, f->name,
	    f->mode != NULL ? f->mode : "octet", &f->opts);
	assert_true(n > 0);
	assert_int_equal(sendto(fd, req, n, 0, (struct sockaddr *)&to,
	    tolen), (ssize_t)n);
	for (;;) {
		r = recv_deadline(fd, pkt, sizeof pkt,
		    f->wait_ms > 0 ? f->wait_ms : 6000, &from, &fromlen);
		if (r < 0) {
			f->timed_out = true;
			break;
		}
		if (tidlen == 0) {
			tid = from;
			tidlen = fromlen;
			fmt_from(&from, f->from, sizeof f->from);
		} else if (memcmp(&tid, &from, tidlen) != 0)
			fail_msg("packet from a second server TID");
		assert_true(r >= 4);
		if (pkt[1] == TFTP_ERROR) {
			f->errcode = pkt[2] << 8 | pkt[3];
			snprintf(f->errmsg, sizeof f->errmsg, "%.*s",
			    (int)(r - 4), (char *)pkt + 4);
			break;
		}
		if (pkt[1] == TFTP_OACK) {
			assert_true(asked);
			assert_false(f->oack);
			f->oack = true;
			parse_oack(pkt, (size_t)r, &f->got);
			if (f->got.blksize)
				blksize = f->got.blksize;
			send_ack(fd, &tid, tidlen, 0);
			continue;
		}
		assert_int_equal(pkt[1], TFTP_DATA);
		wire = (uint16_t)(pkt[2] << 8 | pkt[3]);
		if (t0 == 0)
			t0 = now_ms();
		if (wire == (uint16_t)((expect - 1) & 0xffff) && expect > 1) {
			/* A retransmission of the block we (did not) ACK. */
			if (f->dups < RACKD_NELEM(f->dup_ms))
				f->dup_ms[f->dups] = now_ms() - t0;
			f->dups++;
			if (!f->never_ack)
				send_ack(fd, &tid, tidlen, wire);
			continue;
		}
		if (wire != (uint16_t)(expect & 0xffff))
			fail_msg("block %u, expected %llu", wire,
			    (unsigned long long)expect);
		if (wire == 0)
			f->wrapped = true;
		n = (size_t)r - 4;
		assert_true(n <= (size_t)blksize);
		if (f->len + n > cap) {
			cap = (f->len + n) * 2;
			f->data = xrealloc(f->data, cap);
		}
		memcpy(f->data + f->len, pkt + 4, n);
		f->len += n;
		f->blocks = expect;
		expect++;
		if (f->never_ack)
			continue;
		if ((long)(expect - 1) == f->drop_ack && !dropped) {
			dropped = true;
			continue;
		}
		send_ack(fd, &tid, tidlen, wire);
		if (n < (size_t)blksize)
			break;
	}
	close(fd);
}

static void
test_server_plain(void **state)
{
	struct srv *s = srv_start(10);
	struct fetch f = { .name = "small" };
	uint8_t buf[3000];
	size_t i;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 7 + i / 256);
	fetch(s, &f);
	assert_int_equal(f.errcode, -1);
	assert_false(f.oack);
	assert_int_equal(f.len, 1000);
	assert_memory_equal(f.data, buf, 1000);
	assert_int_equal(f.blocks, 2);
	free(f.data);

	/* A multiple of the block size ends with an empty block. */
	memset(&f, 0, sizeof f);
	f.name = "exact";
	fetch(s, &f);
	assert_int_equal(f.len, 1024);
	assert_int_equal(f.blocks, 3);
	free(f.data);

	/* Leading '/', backslashes, symlinks inside the root. */
	memset(&f, 0, sizeof f);
	f.name = "\\sub\\f";
	fetch(s, &f);
	assert_int_equal(f.len, 6);
	assert_memory_equal(f.data, "inside", 6);
	free(f.data);
	memset(&f, 0, sizeof f);
	f.name = "/link";
	fetch(s, &f);
	assert_int_equal(f.len, 6);
	free(f.data);

	/* netascii: LF -> CR LF, CR -> CR NUL. */
	memset(&f, 0, sizeof f);
	f.name = "text";
	f.mode = "netascii";
	fetch(s, &f);
	assert_int_equal(f.len, 11);
	assert_memory_equal(f.data, "a\r\nb\r\0c\r\0\r\n", 11);
	free(f.data);

	/* IPv6, and the reply comes from the address asked. */
	memset(&f, 0, sizeof f);
	f.name = "small";
	f.dst = "::1";
	fetch(s, &f);
	assert_int_equal(f.len, 1000);
	assert_string_equal(f.from, "::1");
	free(f.data);
	srv_stop(s);
	assert_int_equal(s->stats.completed, 6);
	assert_int_equal(s->stats.active, 0);
	free(s);
}

static void
test_server_from_asked_address(void **state)
{
	struct srv *s;
	struct fetch f = { .name = "small", .dst = "127.0.0.2" };
	struct tftp_params p;
	char *cause = NULL;

	/* Wildcard listener this time, so 127.0.0.2 reaches it. */
	s = srv_start(10);
	tftp_free(s->tftp);
	memset(&p, 0, sizeof p);
	p.bind6 = "";
	s->tftp = tftp_new(s->base, tftp_fs_source(s->fs), &p);
	/* The thread is already running the loop: stop it first. */
	assert_int_equal(write(s->stop_pipe[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	{
		char c;
		assert_int_equal(read(s->stop_pipe[0], &c, 1), 1);
		event_add(s->stop_ev, NULL);
	}
	assert_int_equal(tftp_start(s->tftp, &cause), 0);
	s->port4 = tftp_port(s->tftp, 4);
	assert_int_equal(tftp_port(s->tftp, 6), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_thread, s), 0);
	fetch(s, &f);
	assert_int_equal(f.len, 1000);
	assert_string_equal(f.from, "127.0.0.2");
	free(f.data);
	/* Status with IPv6 off: running, saying so. */
	assert_int_equal(write(s->stop_pipe[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	{
		char info[256];
		assert_string_equal(tftp_service_status(s->tftp, info,
		    sizeof info), "running");
		assert_string_equal(info, "IPv6 not served: disabled");
		char c;
		assert_int_equal(read(s->stop_pipe[0], &c, 1), 1);
		event_add(s->stop_ev, NULL);
	}
	assert_int_equal(pthread_create(&s->thread, NULL, srv_thread, s), 0);
	srv_stop(s);
	free(s);
}

static void
test_server_options(void **state)
{
	struct srv *s = srv_start(10);
	struct fetch f = { .name = "big", .opts = { .blksize = 1468,
	    .tsize = true, .timeout = 2 } };

	fetch(s, &f);
	assert_true(f.oack);
	assert_int_equal(f.got.blksize, 1468);
	assert_true(f.got.tsize);
	assert_int_equal(f.got.tsize_value, 3000);
	assert_int_equal(f.got.timeout, 2);
	assert_int_equal(f.len, 3000);
	assert_int_equal(f.blocks, 3);
	free(f.data);

	/* Only tsize; blksize over 8192 capped. */
	memset(&f, 0, sizeof f);
	f.name = "big";
	f.opts.blksize = 65464;
	fetch(s, &f);
	assert_true(f.oack);
	assert_int_equal(f.got.blksize, 8192);
	assert_false(f.got.tsize);
	assert_int_equal(f.len, 3000);
	assert_int_equal(f.blocks, 1);
	free(f.data);

	/* netascii: no tsize (the size changes in transit). */
	memset(&f, 0, sizeof f);
	f.name = "text";
	f.mode = "netascii";
	f.opts.tsize = true;
	f.opts.blksize = 8;
	fetch(s, &f);
	assert_true(f.oack);
	assert_false(f.got.tsize);
	assert_int_equal(f.len, 11);
	assert_int_equal(f.blocks, 2);
	free(f.data);
	srv_stop(s);
	free(s);
}

static void
test_server_errors(void **state)
{
	struct srv *s = srv_start(10);
	static const struct { const char *name, *mode; int code; } cases[] = {
		{ "missing", "octet", TFTP_ENOTFOUND },
		{ "sub/missing/x", "octet", TFTP_ENOTFOUND },
		{ "../etc/passwd", "octet", TFTP_EACCESS },
		{ "sub/../../x", "octet", TFTP_EACCESS },
		{ "\\..\\x", "octet", TFTP_EACCESS },
		{ "sub", "octet", TFTP_EACCESS },
		{ "small", "mail", TFTP_EBADOP },
	};
	struct fetch f;
	size_t i;

	for (i = 0; i < RACKD_NELEM(cases); i++) {
		memset(&f, 0, sizeof f);
		f.name = cases[i].name;
		f.mode = cases[i].mode;
		fetch(s, &f);
		if (f.errcode != cases[i].code)
			fail_msg("%s: error %d (%s), want %d", cases[i].name,
			    f.errcode, f.errmsg, cases[i].code);
	}
	/* Root can read anything: only check the mode bits as non-root. */
	if (geteuid() != 0) {
		memset(&f, 0, sizeof f);
		f.name = "unreadable";
		fetch(s, &f);
		assert_int_equal(f.errcode, TFTP_EACCESS);
	}

	/* WRQ and a malformed RRQ: ERROR 4 naming the fault. */
	{
		struct sockaddr_storage to, from;
		socklen_t tolen, fromlen;
		uint8_t pkt[600];
		int fd = client_socket("127.0.0.1", s->port4, &to, &tolen);
		ssize_t r;

		sendto(fd, "\0\2up\0octet\0", 11, 0, (struct sockaddr *)&to,
		    tolen);
		r = recv_deadline(fd, pkt, sizeof pkt, 5000, &from, &fromlen);
		assert_true(r > 4);
		assert_int_equal(pkt[1], TFTP_ERROR);
		assert_int_equal(pkt[3], TFTP_EBADOP);
		assert_string_equal((char *)pkt + 4, "Writing not supported");
		sendto(fd, "\0\1name", 6, 0, (struct sockaddr *)&to, tolen);
		r = recv_deadline(fd, pkt, sizeof pkt, 5000, &from, &fromlen);
		assert_true(r > 4);
		assert_int_equal(pkt[3], TFTP_EBADOP);
		assert_string_equal((char *)pkt + 4,
		    "RRQ: filename not NUL-terminated");
		/* A stray ACK to the server port gets no answer. */
		sendto(fd, "\0\4\0\1", 4, 0, (struct sockaddr *)&to, tolen);
		r = recv_deadline(fd, pkt, sizeof pkt, 300, &from, &fromlen);
		assert_true(r < 0);
		close(fd);
	}
	srv_stop(s);
	assert_int_equal(s->stats.active, 0);
	assert_int_equal(s->stats.completed, 0);
	free(s);
}

static void
test_server_lost_ack(void **state)
{
	struct srv *s = srv_start(10);
	struct fetch f = { .name = "big", .opts = { .timeout = 1 },
	    .drop_ack = 2 };

	fetch(s, &f);
	assert_int_equal(f.errcode, -1);
	assert_int_equal(f.len, 3000);
	assert_int_equal(f.dups, 1);
	/* Block 2 came again no sooner than the 1 s timeout. */
	assert_true(f.dup_ms[0] >= 900);
	free(f.data);

	/* Without options: MAAS's first retransmission after 1 s. */
	memset(&f, 0, sizeof f);
	f.name = "small";
	f.drop_ack = 1;
	fetch(s, &f);
	assert_int_equal(f.len, 1000);
	assert_int_equal(f.dups, 1);
	assert_true(f.dup_ms[0] >= 900);
	free(f.data);
	srv_stop(s);
	assert_int_equal(s->stats.completed, 2);
	assert_int_equal(s->stats.retransmits, 2);
	free(s);
}

static void
test_server_give_up(void **state)
{
	struct srv *s = srv_start(10);
	struct fetch f = { .name = "big", .opts = { .timeout = 1 },
	    .never_ack = true, .wait_ms = 2500 };
	uint64_t t0 = now_ms();

	/* OACK is ACKed, then DATA 1 is never: sent at 0, 1 s, 2 s, then
	 * the server gives up at 3 s and sends nothing more. */
	fetch(s, &f);
	assert_true(f.timed_out);
	assert_int_equal(f.blocks, 1);
	assert_int_equal(f.dups, 2);
	assert_true(f.dup_ms[0] >= 900);
	assert_true(f.dup_ms[1] >= 1900);
	assert_true(now_ms() - t0 >= 3000);
	free(f.data);
	srv_stop(s);
	assert_int_equal(s->stats.failed, 1);
	assert_int_equal(s->stats.active, 0);
	free(s);
}

/*
 * UEFI PXE (EDK2) asks the size first: RRQ with tsize, and error 8 in
 * answer to the OACK.  A size query, not a failed transfer (found by
 * booting OVMF from rackd, tests/integration/078-boot-vm-uefi).
 */
static void
test_server_size_query(void **state)
{
	struct srv *s = srv_start(10);
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	struct tftp_oack o = { .tsize = true, .blksize = 1468 };
	uint8_t pkt[2000], req[600], err[64];
	uint64_t end;
	size_t n;
	ssize_t r;
	int fd = client_socket("127.0.0.1", s->port4, &to, &tolen);
	bool gone = false;

	n = tftp_build_rrq(req, sizeof req, "big", "octet", &o);
	sendto(fd, req, n, 0, (struct sockaddr *)&to, tolen);
	r = recv_deadline(fd, pkt, sizeof pkt, 5000, &from, &fromlen);
	assert_true(r > 2);
	assert_int_equal(pkt[1], TFTP_OACK);
	parse_oack(pkt, (size_t)r, &o);
	assert_int_equal(o.tsize_value, 3000);
	/* Error 8 to the transfer's port, then ACK 0 until that port is
	 * closed (ECONNREFUSED on the connected socket): the session ended
	 * on the error, it did not start sending. */
	assert_int_equal(connect(fd, (struct sockaddr *)&from, fromlen), 0);
	n = tftp_build_error(err, sizeof err, TFTP_EOPTNEG,
	    "User aborted the transfer");
	assert_int_equal(send(fd, err, n, 0), (ssize_t)n);
	for (end = now_ms() + 5000; !gone && now_ms() < end;) {
		send(fd, "\0\4\0\0", 4, 0);
		errno = 0;
		r = recv_deadline(fd, pkt, sizeof pkt, 100, &from, &fromlen);
		if (r >= 4)
			assert_int_not_equal(pkt[1], TFTP_DATA);
		gone = r < 0 && errno == ECONNREFUSED;
	}
	assert_true(gone);
	close(fd);
	srv_stop(s);
	assert_int_equal(s->stats.size_queries, 1);
	assert_int_equal(s->stats.failed, 0);
	assert_int_equal(s->stats.completed, 0);
	assert_int_equal(s->stats.active, 0);
	free(s);
}

static void
test_server_duplicate_and_busy(void **state)
{
	struct srv *s = srv_start(2);
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	uint8_t req[100], pkt[600];
	size_t n;
	ssize_t r;
	int fd, fd2, fd3, i;

	/* The same RRQ twice from one port: one transfer only. */
	fd = client_socket("127.0.0.1", s->port4, &to, &tolen);
	n = tftp_build_rrq(req, sizeof req, "big", "octet", NULL);
	sendto(fd, req, n, 0, (struct sockaddr *)&to, tolen);
	sendto(fd, req, n, 0, (struct sockaddr *)&to, tolen);
	r = recv_deadline(fd, pkt, sizeof pkt, 5000, &from, &fromlen);
	assert_int_equal(r, 4 + 512);
	assert_int_equal(pkt[3], 1);
	/* No second DATA 1 before the 1 s retransmission. */
	r = recv_deadline(fd, pkt, sizeof pkt, 500, &from, &fromlen);
	assert_true(r < 0);

	/* A second transfer reaches the limit of 2 ... */
	fd2 = client_socket("127.0.0.1", s->port4, &to, &tolen);
	sendto(fd2, req, n, 0, (struct sockaddr *)&to, tolen);
	r = recv_deadline(fd2, pkt, sizeof pkt, 5000, &from, &fromlen);
	assert_int_equal(pkt[1], TFTP_DATA);
	/* ... so a third is refused. */
	fd3 = client_socket("127.0.0.1", s->port4, &to, &tolen);
	sendto(fd3, req, n, 0, (struct sockaddr *)&to, tolen);
	r = recv_deadline(fd3, pkt, sizeof pkt, 5000, &from, &fromlen);
	assert_true(r > 4);
	assert_int_equal(pkt[1], TFTP_ERROR);
	assert_int_equal(pkt[3], TFTP_ENOTDEFINED);
	assert_string_equal((char *)pkt + 4, "server busy");
	for (i = 0; i < 3; i++)
		close(i == 0 ? fd : i == 1 ? fd2 : fd3);
	srv_stop(s);
	assert_int_equal(s->stats.duplicates, 1);
	assert_int_equal(s->stats.busy, 1);
	assert_int_equal(s->stats.requests, 2);
	free(s);
}

static void
test_server_rollover(void **state)
{
	struct srv *s = srv_start(10);
	struct fetch f = { .name = "huge", .opts = { .blksize = 512,
	    .tsize = true } };
	char path[256];
	uint64_t size = 33ull * 1024 * 1024 + 100;	/* 67585 blocks */
	int fd;

	/* Sparse, with markers so misplaced blocks show. */
	snprintf(path, sizeof path, "%s/huge", s->root);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(pwrite(fd, "START", 5, 0), 5);
	assert_int_equal(pwrite(fd, "WRAP", 4, 65536ull * 512), 4);
	assert_int_equal(pwrite(fd, "END", 3, (off_t)size - 3), 3);
	close(fd);
	fetch(s, &f);
	assert_int_equal(f.errcode, -1);
	assert_int_equal(f.got.tsize_value, size);
	assert_true(f.wrapped);
	assert_int_equal(f.len, size);
	assert_int_equal(f.blocks, 67585);
	assert_memory_equal(f.data, "START", 5);
	assert_memory_equal(f.data + 65536ull * 512, "WRAP", 4);
	assert_memory_equal(f.data + size - 3, "END", 3);
	free(f.data);
	srv_stop(s);
	free(s);
}

/*
 * A source of generated files (what a boot-config source will be): names
 * "gen/<text>" serve <text> with an unknown size, "stall" opens but
 * never delivers, anything else is "not found" with a custom message.
 */
struct mem_reader {
	struct tftp_reader	 base;
	struct event		*ev;
	char			 text[64];
	uint64_t		 off;
	size_t			 len;
	tftp_read_cb		 cb;
	void			*arg;
	bool			 stall;
};

static void
mem_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct mem_reader *m = arg;
	size_t have = strlen(m->text), n = 0;
	uint8_t *d;

	if (m->off < have)
		n = have - m->off < m->len ? have - m->off : m->len;
	d = xmalloc(n + 1);
	memcpy(d, m->text + m->off, n);
	m->cb(m->arg, d, n, NULL);
}

static void
mem_read(struct tftp_reader *r, uint64_t off, size_t len, tftp_read_cb cb,
    void *arg)
{
	struct mem_reader *m = (struct mem_reader *)r;
	struct timeval tv = { 0, 0 };

	m->off = off;
	m->len = len;
	m->cb = cb;
	m->arg = arg;
	if (!m->stall)
		evtimer_add(m->ev, &tv);
}

static void
mem_close(struct tftp_reader *r)
{
	struct mem_reader *m = (struct mem_reader *)r;

	event_free(m->ev);
	free(m);
}

static const struct tftp_reader_ops mem_ops = { mem_read, mem_close };

struct mem_open {
	struct event		*ev;
	char			 path[128];
	tftp_open_cb		 cb;
	void			*arg;
};

struct mem_source {
	struct tftp_source	 src;
	struct event_base	*base;
	_Atomic int		 opens;		/* read by the test thread */
	int			 cancels;
};

static void
mem_open_done(evutil_socket_t fd, short what, void *arg)
{
	struct mem_open *o = arg;
	struct mem_reader *m;
	struct event_base *base = event_get_base(o->ev);

	event_free(o->ev);
	if (strncmp(o->path, "gen/", 4) != 0 && strcmp(o->path, "stall") != 0) {
		o->cb(o->arg, NULL, TFTP_ENOTFOUND, "no such machine");
		free(o);
		return;
	}
	m = xcalloc(1, sizeof *m);
	m->base.ops = &mem_ops;
	m->base.size = -1;
	m->stall = strcmp(o->path, "stall") == 0;
	snprintf(m->text, sizeof m->text, "%s", m->stall ? "" : o->path + 4);
	m->ev = evtimer_new(base, mem_deliver, m);
	o->cb(o->arg, &m->base, 0, NULL);
	free(o);
}

static void *
mem_open(struct tftp_source *src, const struct tftp_open_req *req,
    tftp_open_cb cb, void *arg)
{
	struct mem_source *ms = (struct mem_source *)src;
	struct mem_open *o = xcalloc(1, sizeof *o);
	struct timeval tv = { 0, 0 };

	ms->opens++;
	snprintf(o->path, sizeof o->path, "%s", req->path);
	o->cb = cb;
	o->arg = arg;
	o->ev = evtimer_new(ms->base, mem_open_done, o);
	/* "slowopen" never completes: only a cancel ends it. */
	if (strcmp(req->path, "slowopen") != 0)
		evtimer_add(o->ev, &tv);
	return o;
}

static void
mem_cancel(struct tftp_source *src, void *token)
{
	struct mem_open *o = token;

	((struct mem_source *)src)->cancels++;
	event_free(o->ev);
	free(o);
}

static void
test_server_other_source(void **state)
{
	struct srv *s = srv_start(10);
	struct mem_source ms = { { mem_open, mem_cancel }, NULL, 0, 0 };
	struct tftp_params p;
	struct fetch f;
	char *cause = NULL, c;
	uint64_t t0;

	/* Swap in the generated-file source, with short retries. */
	assert_int_equal(write(s->stop_pipe[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	assert_int_equal(read(s->stop_pipe[0], &c, 1), 1);
	event_add(s->stop_ev, NULL);
	tftp_free(s->tftp);
	ms.base = s->base;
	memset(&p, 0, sizeof p);
	p.bind4 = "127.0.0.1";
	p.bind6 = "::1";
	p.retry_ms[0] = 100;
	p.retry_ms[1] = 200;
	p.retry_ms[2] = 300;
	s->tftp = tftp_new(s->base, &ms.src, &p);
	assert_int_equal(tftp_start(s->tftp, &cause), 0);
	s->port4 = tftp_port(s->tftp, 4);
	s->port6 = tftp_port(s->tftp, 6);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_thread, s), 0);

	/* Unknown size: no tsize in the OACK, the data still flows. */
	memset(&f, 0, sizeof f);
	f.name = "/gen/DEFAULT-config";
	f.opts.tsize = true;
	f.opts.blksize = 8;
	fetch(s, &f);
	assert_true(f.oack);
	assert_false(f.got.tsize);
	assert_int_equal(f.len, 14);
	assert_memory_equal(f.data, "DEFAULT-config", 14);
	assert_int_equal(f.blocks, 2);
	free(f.data);

	/* The source's own error code and text reach the client. */
	memset(&f, 0, sizeof f);
	f.name = "pxelinux.cfg/01-52-54-00-12-34-56";
	fetch(s, &f);
	assert_int_equal(f.errcode, TFTP_ENOTFOUND);
	assert_string_equal(f.errmsg, "no such machine");

	/* A reader that never delivers frees its slot: ERROR 0 after the
	 * last retry interval. */
	memset(&f, 0, sizeof f);
	f.name = "stall";
	t0 = now_ms();
	fetch(s, &f);
	assert_int_equal(f.errcode, TFTP_ENOTDEFINED);
	assert_string_equal(f.errmsg, "Read timed out");
	assert_true(now_ms() - t0 >= 250);

	/* An open still pending at shutdown is cancelled, not leaked. */
	{
		struct sockaddr_storage to;
		socklen_t tolen;
		uint8_t req[100];
		size_t n = tftp_build_rrq(req, sizeof req, "slowopen", "octet",
		    NULL);
		int fd = client_socket("127.0.0.1", s->port4, &to, &tolen);
		uint64_t end = now_ms() + 5000;

		sendto(fd, req, n, 0, (struct sockaddr *)&to, tolen);
		while (ms.opens < 4 && now_ms() < end)
			poll(NULL, 0, 10);
		assert_int_equal(ms.opens, 4);
		close(fd);
	}
	srv_stop(s);
	assert_int_equal(s->stats.completed, 1);
	assert_int_equal(ms.cancels, 1);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rrq),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_build_and_reply),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_server_plain),
		cmocka_unit_test(test_server_from_asked_address),
		cmocka_unit_test(test_server_options),
		cmocka_unit_test(test_server_errors),
		cmocka_unit_test(test_server_lost_ack),
		cmocka_unit_test(test_server_give_up),
		cmocka_unit_test(test_server_size_query),
		cmocka_unit_test(test_server_duplicate_and_busy),
		cmocka_unit_test(test_server_rollover),
		cmocka_unit_test(test_server_other_source),
	};

	alarm(120);	/* a hang fails the suite instead of blocking it */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
