/*
 * tftp_server.c — the TFTP server (tftp.h) on libevent.
 *
 * One wildcard UDP socket per family receives requests; IP_PKTINFO /
 * IPV6_RECVPKTINFO tell which local address each was sent to.  A request
 * becomes a session: the source opens the name (asynchronously), then a
 * new socket bound to that local address and connected to the client
 * carries the transfer, so every reply comes from the address the
 * client asked (the firmware ignores anything else) and the kernel
 * filters other peers out.  Errors found before the transfer starts
 * (bad request, missing file, busy) are answered from the listening
 * socket, from the same local address, as tx-tftp answers them.
 *
 * A session streams: bytes read from the reader are queued (converted
 * for netascii), each block is cut from the queue, and the next window
 * is read while the current one is sent, so a worker round trip is paid
 * once per READ_AHEAD bytes.  Block numbers are 64-bit inside and wrap
 * modulo 65536 on the wire.  The last packet sent is kept for
 * retransmission: after retry_ms[0], then retry_ms[1], and the session
 * gives up retry_ms[2] later.  Duplicate ACKs never cause a resend
 * (Sorcerer's Apprentice).
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "rackd.h"
#include "tftp.h"
#include "tftp_packet.h"
#include "tftp_source.h"
#include "xmalloc.h"

#define READ_AHEAD	32768	/* bytes asked of the reader at a time */
#define RECV_BATCH	64	/* datagrams handled per wake-up per socket */
#define PKT_MAX		65536
#define FAILLOG_PER_SEC	10	/* failure lines per second, then a count */

struct tftp_session {
	struct tftp_session	*prev, *next;
	struct tftp		*srv;
	int			 family;
	struct sockaddr_storage	 client;
	socklen_t		 clientlen;
	struct sockaddr_storage	 local;		/* port 0 */
	socklen_t		 locallen;
	unsigned int		 ifindex;
	char			 name[TFTP_NAME_MAX + 1];	/* as sent */
	char			 peer[64];			/* for logs */
	struct tftp_request	 req;

	void			*open_token;
	struct tftp_reader	*reader;
	int			 fd;
	struct event		*ev_read, *ev_timer;

	int			 blksize;
	int			 retry_ms[3];
	int			 retries;

	/* The byte queue: q[qoff..qlen) not yet cut into blocks. */
	uint8_t			*q;
	size_t			 qoff, qlen, qcap;
	uint64_t		 roff;		/* next reader offset */
	bool			 read_pending, eof;
	bool			 na_cr;		/* netascii: CR at chunk end */

	uint64_t		 block;		/* current; 0 = OACK */
	bool			 last;		/* current block is the last */
	bool			 waiting;	/* block needs data first */
	uint8_t			*pkt;
	size_t			 pktlen;

	uint64_t		 started_ms, bytes;
	unsigned int		 retrans;
};

struct tftp_listener {
	int			 fd;
	int			 port;
	struct event		*ev;
	char			 error[160];	/* why it is not listening */
};

struct tftp {
	struct event_base	*base;
	struct tftp_source	*source;
	struct tftp_params	 p;
	char			*bind4, *bind6;
	struct tftp_listener	 l4, l6;
	struct tftp_session	*sessions;
	struct tftp_stats	 stats;
	uint8_t			 rbuf[PKT_MAX];
	/* failure log rate limit */
	uint64_t		 faillog_sec;
	unsigned int		 faillog_n, faillog_dropped;
	struct event		*faillog_ev;	/* reports the dropped count */
	struct metrics		*metrics;	/* borrowed; NULL = none */
};

static void	session_send_block(struct tftp_session *);
static void	session_done(struct tftp_session *, const char *failure);

/* --- helpers ------------------------------------------------------------ */

static void
fmt_addr(const struct sockaddr *sa, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(buf, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(buf, cap, "%s:%u", host, ntohs(s4->sin_port));
	}
}

static void
faillog_flush(struct tftp *srv)
{
	if (srv->faillog_dropped > 0)
		log_info("tftp: %u more failures not logged",
		    srv->faillog_dropped);
	srv->faillog_dropped = 0;
}

static void
faillog_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	faillog_flush(arg);
}

/*
 * One info line per failure, at most FAILLOG_PER_SEC a second; the
 * count of the others is logged when the second is over (a timer, so a
 * burst followed by silence is still accounted for).
 */
static void
log_failure(struct tftp *srv, const char *peer, const char *file,
    const char *cause)
{
	uint64_t sec = rackd_now_ms() / 1000;
	struct timeval tv = { 1, 0 };

	if (sec != srv->faillog_sec) {
		faillog_flush(srv);
		srv->faillog_sec = sec;
		srv->faillog_n = 0;
	}
	if (srv->faillog_n++ >= FAILLOG_PER_SEC) {
		if (srv->faillog_dropped++ == 0)
			evtimer_add(srv->faillog_ev, &tv);
		return;
	}
	log_info("tftp: %s %s: %s", peer, file != NULL ? file : "-", cause);
}

/*
 * Send from the listening socket, from the local address the request
 * was sent to.
 */
static void
listener_send(struct tftp *srv, int family, const struct sockaddr *to,
    socklen_t tolen, const struct sockaddr *local, unsigned int ifindex,
    const uint8_t *buf, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg;
	struct cmsghdr *cm;
	int fd = family == AF_INET6 ? srv->l6.fd : srv->l4.fd;

	memset(&msg, 0, sizeof msg);
	memset(&cbuf, 0, sizeof cbuf);
	msg.msg_name = (void *)to;
	msg.msg_namelen = tolen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.b;
	cm = (struct cmsghdr *)cbuf.b;
	if (family == AF_INET6) {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof pi);
		pi.ipi6_addr = ((const struct sockaddr_in6 *)(const void *)local)->sin6_addr;
		pi.ipi6_ifindex = ifindex;
		msg.msg_controllen = CMSG_SPACE(sizeof pi);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(cm), &pi, sizeof pi);
	} else {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof pi);
		pi.ipi_spec_dst = ((const struct sockaddr_in *)(const void *)local)->sin_addr;
		msg.msg_controllen = CMSG_SPACE(sizeof pi);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(cm), &pi, sizeof pi);
	}
	if (sendmsg(fd, &msg, 0) == -1)
		log_debug("tftp: sendmsg: %s", strerror(errno));
}

static void
listener_send_error(struct tftp *srv, int family, const struct sockaddr *to,
    socklen_t tolen, const struct sockaddr *local, unsigned int ifindex,
    int code, const char *text)
{
	uint8_t buf[4 + TFTP_ERRMSG_MAX + 1];
	size_t n = tftp_build_error(buf, sizeof buf, (uint16_t)code, text);

	if (n > 0)
		listener_send(srv, family, to, tolen, local, ifindex, buf, n);
}

/* --- sessions ----------------------------------------------------------- */

static void
session_free(struct tftp_session *s)
{
	struct tftp *srv = s->srv;

	if (s->open_token != NULL)
		srv->source->cancel(srv->source, s->open_token);
	if (s->reader != NULL)
		s->reader->ops->close(s->reader);
	if (s->ev_read != NULL)
		event_free(s->ev_read);
	if (s->ev_timer != NULL)
		event_free(s->ev_timer);
	if (s->fd != -1)
		close(s->fd);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->stats.active--;
	free(s->q);
	free(s->pkt);
	free(s);
}

/* End a session: log it and free it.  failure NULL: completed. */
static void
session_done(struct tftp_session *s, const char *failure)
{
	struct tftp *srv = s->srv;

	if (failure == NULL) {
		srv->stats.completed++;
		tftp_observe_transfer(srv->metrics, s->name,
		    rackd_now_ms() - s->started_ms);
		log_debug("tftp: sent %s to %s: %llu bytes in %llu blocks of "
		    "%d, %u retransmitted, %llu ms", s->name, s->peer,
		    (unsigned long long)s->bytes,
		    (unsigned long long)s->block, s->blksize, s->retrans,
		    (unsigned long long)(rackd_now_ms() - s->started_ms));
	} else {
		srv->stats.failed++;
		log_failure(srv, s->peer, s->name, failure);
	}
	session_free(s);
}

/* Send an error on the transfer socket (or the listener before it) and
 * end the session. */
static void
session_fail(struct tftp_session *s, int code, const char *text,
    const char *logcause)
{
	uint8_t buf[4 + TFTP_ERRMSG_MAX + 1];
	size_t n = tftp_build_error(buf, sizeof buf, (uint16_t)code, text);

	if (s->fd != -1) {
		if (send(s->fd, buf, n, 0) == -1)
			log_debug("tftp: send to %s: %s", s->peer,
			    strerror(errno));
	} else
		listener_send(s->srv, s->family,
		    (struct sockaddr *)&s->client, s->clientlen,
		    (struct sockaddr *)&s->local, s->ifindex, buf, n);
	session_done(s, logcause != NULL ? logcause : text);
}

static void
session_arm(struct tftp_session *s)
{
	struct timeval tv;
	int ms = s->retry_ms[s->retries];

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->ev_timer, &tv);
}

static void
session_xmit(struct tftp_session *s)
{
	if (send(s->fd, s->pkt, s->pktlen, 0) == -1 && errno == ECONNREFUSED)
		/* ICMP port unreachable for an earlier packet: the
		 * client has gone; the timer ends the session if it
		 * stays gone. */
		log_debug("tftp: %s: port unreachable", s->peer);
}

/* Send a new packet (pkt filled): first transmission, timer from 0. */
static void
session_send_new(struct tftp_session *s)
{
	s->retries = 0;
	session_xmit(s);
	session_arm(s);
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_session *s = arg;
	char why[64];

	if (s->waiting) {
		session_fail(s, TFTP_ENOTDEFINED, "Read timed out",
		    "the source did not deliver data in time");
		return;
	}
	if (s->retries >= 2) {
		snprintf(why, sizeof why, "timed out waiting for ACK of "
		    "block %llu", (unsigned long long)s->block);
		session_done(s, why);
		return;
	}
	s->retries++;
	s->retrans++;
	s->srv->stats.retransmits++;
	session_xmit(s);
	session_arm(s);
}

static void
queue_reserve(struct tftp_session *s, size_t more)
{
	if (s->qoff > 0 && s->qlen + more > s->qcap) {
		memmove(s->q, s->q + s->qoff, s->qlen - s->qoff);
		s->qlen -= s->qoff;
		s->qoff = 0;
	}
	if (s->qlen + more > s->qcap) {
		s->qcap = s->qlen + more;
		s->q = xrealloc(s->q, s->qcap);
	}
}

/* Append reader bytes, converted to netascii when asked: LF -> CR LF,
 * CR -> CR NUL (RFC 764). */
static void
queue_append(struct tftp_session *s, const uint8_t *d, size_t n)
{
	size_t i;

	if (s->req.mode != TFTP_MODE_NETASCII) {
		queue_reserve(s, n);
		memcpy(s->q + s->qlen, d, n);
		s->qlen += n;
		return;
	}
	queue_reserve(s, 2 * n);
	for (i = 0; i < n; i++) {
		if (d[i] == '\n') {
			s->q[s->qlen++] = '\r';
			s->q[s->qlen++] = '\n';
		} else if (d[i] == '\r') {
			s->q[s->qlen++] = '\r';
			s->q[s->qlen++] = '\0';
		} else
			s->q[s->qlen++] = d[i];
	}
}

static void session_read_cb(void *, uint8_t *, size_t, const char *);

static void
session_maybe_read(struct tftp_session *s)
{
	if (s->read_pending || s->eof ||
	    s->qlen - s->qoff >= READ_AHEAD)
		return;
	s->read_pending = true;
	s->reader->ops->read(s->reader, s->roff, READ_AHEAD, session_read_cb,
	    s);
}

static void
session_read_cb(void *arg, uint8_t *data, size_t n, const char *error)
{
	struct tftp_session *s = arg;
	char why[160];

	s->read_pending = false;
	if (error != NULL) {
		snprintf(why, sizeof why, "%s", error);
		session_fail(s, TFTP_ENOTDEFINED, why, NULL);
		return;
	}
	queue_append(s, data, n);
	free(data);
	s->roff += n;
	if (n < READ_AHEAD)
		s->eof = true;
	if (s->waiting)
		session_send_block(s);
	else
		session_maybe_read(s);
}

/* Cut the next block from the queue and send it, or wait for data. */
static void
session_send_block(struct tftp_session *s)
{
	size_t avail = s->qlen - s->qoff, n;

	if (avail < (size_t)s->blksize && !s->eof) {
		/* A reader that never answers (hung storage, a dead
		 * region behind a generated file) must not hold a
		 * transfer slot forever: the last retry interval bounds
		 * the wait. */
		s->waiting = true;
		s->retries = 2;
		session_arm(s);
		session_maybe_read(s);
		return;
	}
	s->waiting = false;
	n = avail < (size_t)s->blksize ? avail : (size_t)s->blksize;
	tftp_build_data_header(s->pkt, 4, (uint16_t)(s->block & 0xffff));
	memcpy(s->pkt + 4, s->q + s->qoff, n);
	s->pktlen = 4 + n;
	s->qoff += n;
	s->bytes += n;
	s->last = n < (size_t)s->blksize;
	session_send_new(s);
	session_maybe_read(s);
}

static void
session_recv_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_session *s = arg;
	struct tftp *srv = s->srv;
	struct tftp_reply r;
	char *cause = NULL, why[TFTP_ERRMSG_MAX + 64];
	ssize_t n;
	int i;

	for (i = 0; i < RECV_BATCH; i++) {
		n = recv(fd, srv->rbuf, sizeof srv->rbuf, 0);
		if (n == -1) {
			if (errno == ECONNREFUSED)
				continue;	/* reported error, keep going */
			return;
		}
		if (tftp_parse_reply(srv->rbuf, (size_t)n, &r, &cause) == -1) {
			log_debug("tftp: %s: %s", s->peer, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		if (r.opcode == TFTP_ERROR && s->block == 0 &&
		    r.errcode == TFTP_EOPTNEG) {
			/* Error 8 in answer to our OACK: a client that
			 * asked only the size (tsize).  UEFI PXE (EDK2)
			 * does this before every download: not a failure,
			 * or each UEFI boot would log and count one. */
			srv->stats.size_queries++;
			log_debug("tftp: %s %s: size query (tsize), ended by "
			    "the client after the OACK", s->peer, s->name);
			session_free(s);
			return;
		}
		if (r.opcode == TFTP_ERROR) {
			snprintf(why, sizeof why, "client sent error %u: %s",
			    r.errcode, r.errmsg);
			session_done(s, why);
			return;
		}
		if (s->waiting || r.block != (uint16_t)(s->block & 0xffff))
			continue;	/* duplicate or stray ACK */
		evtimer_del(s->ev_timer);
		if (s->block > 0 && s->last) {
			session_done(s, NULL);
			return;
		}
		s->block++;
		session_send_block(s);
		/* Lock-step: nothing else is due from this client now; a
		 * further datagram wakes us again (level-triggered), which
		 * saves a recv() that would say EAGAIN on every block. */
		return;
	}
}

/* The source answered the open. */
static void
session_opened(void *arg, struct tftp_reader *reader, int errcode,
    const char *msg)
{
	struct tftp_session *s = arg;
	struct tftp_oack oack;
	char why[160];
	int fd;

	s->open_token = NULL;
	if (reader == NULL) {
		session_fail(s, errcode, msg, NULL);
		return;
	}
	s->reader = reader;
	fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(why, sizeof why, "socket: %s", strerror(errno));
		session_fail(s, TFTP_ENOTDEFINED, why, NULL);
		return;
	}
	/* Reply from the address the client asked; the kernel picks the
	 * port.  Fails only if the address vanished meanwhile. */
	if (bind(fd, (struct sockaddr *)&s->local, s->locallen) == -1 ||
	    connect(fd, (struct sockaddr *)&s->client, s->clientlen) == -1) {
		snprintf(why, sizeof why, "transfer socket: %s",
		    strerror(errno));
		close(fd);
		session_fail(s, TFTP_ENOTDEFINED, why, NULL);
		return;
	}
	s->fd = fd;
	s->ev_read = event_new(s->srv->base, fd, EV_READ | EV_PERSIST,
	    session_recv_cb, s);
	s->ev_timer = evtimer_new(s->srv->base, session_timer_cb, s);
	event_add(s->ev_read, NULL);

	s->blksize = s->req.blksize != 0 ? s->req.blksize :
	    TFTP_BLKSIZE_DEFAULT;
	s->pkt = xmalloc(4 + (size_t)s->blksize);
	s->block = 1;
	memset(&oack, 0, sizeof oack);
	oack.blksize = s->req.blksize;
	oack.timeout = s->req.timeout;
	/* tsize only when the size is known and means what is sent (not
	 * for netascii, whose length changes in transit). */
	if (s->req.tsize && reader->size >= 0 &&
	    s->req.mode == TFTP_MODE_OCTET) {
		oack.tsize = true;
		oack.tsize_value = (uint64_t)reader->size;
	}
	if (oack.blksize != 0 || oack.timeout != 0 || oack.tsize) {
		free(s->pkt);
		s->pkt = xmalloc(4 + (size_t)s->blksize > 512 ?
		    4 + (size_t)s->blksize : 512);
		s->pktlen = tftp_build_oack(s->pkt,
		    4 + (size_t)s->blksize > 512 ? 4 + (size_t)s->blksize :
		    512, &oack);
		s->block = 0;
		session_send_new(s);
		session_maybe_read(s);
		return;
	}
	session_send_block(s);
}

static struct tftp_session *
session_find(struct tftp *srv, const struct sockaddr_storage *client,
    socklen_t clen, const char *name)
{
	struct tftp_session *s;

	for (s = srv->sessions; s != NULL; s = s->next)
		if (s->clientlen == clen &&
		    memcmp(&s->client, client, clen) == 0 &&
		    strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* --- requests ----------------------------------------------------------- */

static void
handle_request(struct tftp *srv, int family, const uint8_t *buf, size_t len,
    const struct sockaddr_storage *client, socklen_t clen,
    const struct sockaddr_storage *local, socklen_t llen,
    unsigned int ifindex)
{
	struct tftp_request req;
	struct tftp_session *s;
	struct tftp_open_req oreq;
	char peer[64], path[TFTP_NAME_MAX + 1], *cause = NULL;
	const struct sockaddr *to = (const struct sockaddr *)client;
	const struct sockaddr *from = (const struct sockaddr *)local;

	fmt_addr(to, peer, sizeof peer);
	if (tftp_parse_request(buf, len, &req, &cause) == -1) {
		/* Stray ACK/DATA to the server port: nothing to answer. */
		if (len >= 2 && buf[0] == 0 && (buf[1] == TFTP_RRQ ||
		    buf[1] == TFTP_WRQ))
			listener_send_error(srv, family, to, clen, from,
			    ifindex, TFTP_EBADOP, cause);
		srv->stats.failed++;
		log_failure(srv, peer, NULL, cause);
		free(cause);
		return;
	}
	if (req.opcode == TFTP_WRQ) {
		srv->stats.failed++;
		listener_send_error(srv, family, to, clen, from, ifindex,
		    TFTP_EBADOP, "Writing not supported");
		log_failure(srv, peer, req.filename, "write request refused");
		return;
	}
	if (req.mode == TFTP_MODE_OTHER) {
		srv->stats.failed++;
		listener_send_error(srv, family, to, clen, from, ifindex,
		    TFTP_EBADOP, "Unknown transfer mode, expected 'netascii' "
		    "or 'octet'");
		log_failure(srv, peer, req.filename, "unknown transfer mode");
		return;
	}
	if (session_find(srv, client, clen, req.filename) != NULL) {
		srv->stats.duplicates++;
		log_debug("tftp: %s %s: duplicate request ignored", peer,
		    req.filename);
		return;
	}
	if (tftp_path_normalise(req.filename, path, sizeof path, &cause)
	    == -1) {
		srv->stats.failed++;
		listener_send_error(srv, family, to, clen, from, ifindex,
		    TFTP_EACCESS, "Access violation");
		log_failure(srv, peer, req.filename, cause);
		free(cause);
		return;
	}
	if (srv->stats.active >= srv->p.max_transfers) {
		srv->stats.busy++;
		listener_send_error(srv, family, to, clen, from, ifindex,
		    TFTP_ENOTDEFINED, "server busy");
		log_failure(srv, peer, req.filename, "server busy: "
		    "max_transfers reached");
		return;
	}

	srv->stats.requests++;
	s = xcalloc(1, sizeof *s);
	s->srv = srv;
	s->family = family;
	s->fd = -1;
	memcpy(&s->client, client, clen);
	s->clientlen = clen;
	memcpy(&s->local, local, llen);
	s->locallen = llen;
	s->ifindex = ifindex;
	memcpy(s->name, req.filename, sizeof s->name);
	memcpy(s->peer, peer, sizeof s->peer);
	s->req = req;
	s->started_ms = rackd_now_ms();
	if (req.timeout != 0) {
		s->retry_ms[0] = s->retry_ms[1] = s->retry_ms[2] =
		    req.timeout * 1000;
	} else
		memcpy(s->retry_ms, srv->p.retry_ms, sizeof s->retry_ms);
	s->next = srv->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	srv->sessions = s;
	srv->stats.active++;

	memset(&oreq, 0, sizeof oreq);
	oreq.path = path;
	oreq.raw = req.filename;
	oreq.client = to;
	oreq.local = from;
	s->open_token = srv->source->open(srv->source, &oreq, session_opened,
	    s);
}

static void
listener_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tftp *srv = arg;
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		    CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct sockaddr_storage client, local;
	socklen_t llen;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	unsigned int ifindex;
	ssize_t n;
	int i, family;
	bool have_local;

	for (i = 0; i < RECV_BATCH; i++) {
		memset(&msg, 0, sizeof msg);
		iov.iov_base = srv->rbuf;
		iov.iov_len = sizeof srv->rbuf;
		msg.msg_name = &client;
		msg.msg_namelen = sizeof client;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.b;
		msg.msg_controllen = sizeof cbuf.b;
		n = recvmsg(fd, &msg, 0);
		if (n == -1)
			return;
		family = client.ss_family;
		memset(&local, 0, sizeof local);
		have_local = false;
		ifindex = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				struct sockaddr_in *l4 = (void *)&local;
				memcpy(&pi, CMSG_DATA(cm), sizeof pi);
				l4->sin_family = AF_INET;
				/* spec_dst: our address on that link,
				 * also right for broadcast requests. */
				l4->sin_addr = pi.ipi_spec_dst;
				ifindex = (unsigned int)pi.ipi_ifindex;
				have_local = true;
			} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				struct sockaddr_in6 *l6 = (void *)&local;
				memcpy(&pi, CMSG_DATA(cm), sizeof pi);
				l6->sin6_family = AF_INET6;
				l6->sin6_addr = pi.ipi6_addr;
				ifindex = pi.ipi6_ifindex;
				if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
					l6->sin6_scope_id = ifindex;
				have_local = true;
			}
		}
		if (!have_local) {
			log_debug("tftp: request without packet info "
			    "ignored");
			continue;
		}
		llen = family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in);
		handle_request(srv, family, srv->rbuf, (size_t)n, &client,
		    msg.msg_namelen, &local, llen, ifindex);
	}
}

/* --- lifecycle ---------------------------------------------------------- */

struct tftp *
tftp_new(struct event_base *base, struct tftp_source *source,
    const struct tftp_params *p)
{
	struct tftp *srv = xcalloc(1, sizeof *srv);
	static const int maas_retry[3] = { 1000, 3000, 7000 };

	srv->base = base;
	srv->source = source;
	srv->p = *p;
	srv->bind4 = xstrdup(p->bind4 != NULL ? p->bind4 : "0.0.0.0");
	srv->bind6 = xstrdup(p->bind6 != NULL ? p->bind6 : "::");
	srv->p.bind4 = srv->bind4;
	srv->p.bind6 = srv->bind6;
	if (srv->p.retry_ms[0] <= 0)
		memcpy(srv->p.retry_ms, maas_retry, sizeof maas_retry);
	if (srv->p.max_transfers <= 0)
		srv->p.max_transfers = 500;
	srv->l4.fd = srv->l6.fd = -1;
	srv->faillog_ev = evtimer_new(base, faillog_timer_cb, srv);
	snprintf(srv->l4.error, sizeof srv->l4.error, "not started");
	snprintf(srv->l6.error, sizeof srv->l6.error, "not started");
	return srv;
}

static int
listener_open(struct tftp *srv, struct tftp_listener *l, int family,
    const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)srv->p.port);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1) {
			snprintf(l->error, sizeof l->error, "bad address %s",
			    addr);
			return -1;
		}
		len = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)srv->p.port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1) {
			snprintf(l->error, sizeof l->error, "bad address %s",
			    addr);
			return -1;
		}
		len = sizeof *s6;
	}
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(l->error, sizeof l->error, "socket: %s",
		    strerror(errno));
		return -1;
	}
	if ((family == AF_INET &&
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == -1) ||
	    (family == AF_INET6 &&
	    (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one)
	    == -1))) {
		snprintf(l->error, sizeof l->error, "setsockopt: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		snprintf(l->error, sizeof l->error, "bind %s port %d: %s",
		    addr, srv->p.port, strerror(errno));
		close(fd);
		return -1;
	}
	len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	l->port = family == AF_INET ?
	    ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
	l->fd = fd;
	l->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, listener_cb,
	    srv);
	event_add(l->ev, NULL);
	l->error[0] = '\0';
	return 0;
}

int
tftp_start(struct tftp *srv, char **cause)
{
	int ok4 = -1, ok6 = -1;

	ok4 = listener_open(srv, &srv->l4, AF_INET, srv->bind4);
	if (ok4 == -1)
		log_warnx("tftp: IPv4: %s", srv->l4.error);
	if (srv->bind6[0] != '\0') {
		ok6 = listener_open(srv, &srv->l6, AF_INET6, srv->bind6);
		if (ok6 == -1)
			log_warnx("tftp: IPv6: %s", srv->l6.error);
	} else
		snprintf(srv->l6.error, sizeof srv->l6.error, "disabled");
	if (ok4 == -1 && ok6 == -1) {
		xasprintf(cause, "IPv4: %s; IPv6: %s", srv->l4.error,
		    srv->l6.error);
		return -1;
	}
	log_info("tftp: listening on UDP port %d (%s%s%s)",
	    ok4 == 0 ? srv->l4.port : srv->l6.port,
	    ok4 == 0 ? "IPv4" : "", ok4 == 0 && ok6 == 0 ? ", " : "",
	    ok6 == 0 ? "IPv6" : "");
	return 0;
}

int
tftp_port(const struct tftp *srv, int family)
{
	const struct tftp_listener *l = family == 6 ? &srv->l6 : &srv->l4;

	return l->fd != -1 ? l->port : 0;
}

void
tftp_get_stats(const struct tftp *srv, struct tftp_stats *st)
{
	*st = srv->stats;
}

const char *
tftp_service_status(const struct tftp *srv, char *info, size_t cap)
{
	if (srv->l4.fd != -1 && srv->l6.fd != -1) {
		snprintf(info, cap, "%s", "");
		return "running";
	}
	if (srv->l4.fd != -1 || srv->l6.fd != -1) {
		snprintf(info, cap, "IPv%d not served: %s",
		    srv->l4.fd == -1 ? 4 : 6,
		    srv->l4.fd == -1 ? srv->l4.error : srv->l6.error);
		return "running";
	}
	snprintf(info, cap, "IPv4: %s; IPv6: %s", srv->l4.error,
	    srv->l6.error);
	return "dead";
}

void
tftp_free(struct tftp *srv)
{
	if (srv == NULL)
		return;
	while (srv->sessions != NULL)
		session_free(srv->sessions);
	if (srv->l4.ev != NULL)
		event_free(srv->l4.ev);
	if (srv->l6.ev != NULL)
		event_free(srv->l6.ev);
	if (srv->l4.fd != -1)
		close(srv->l4.fd);
	if (srv->l6.fd != -1)
		close(srv->l6.fd);
	faillog_flush(srv);
	event_free(srv->faillog_ev);
	free(srv->bind4);
	free(srv->bind6);
	free(srv);
}

void
tftp_set_metrics(struct tftp *srv, struct metrics *m)
{
	srv->metrics = m;
	tftp_metrics_define(m);
}
