/*
 * ifsnap_read.c — one synchronous NETLINK_ROUTE dump of the current
 * network namespace's links, addresses (IPv4 and IPv6) and routes, fed
 * message by message to the pure decoder (ifsnap.c).
 *
 * Each request gets its own sequence number; only answers from the kernel
 * (port 0) to our port with that number are taken.  A dump the kernel
 * marks inconsistent (NLM_F_DUMP_INTR: the tables changed while it was
 * being written) is started again, a few times at most.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ifsnap.h"
#include "xmalloc.h"

#define READ_TRIES	5	/* dumps interrupted by changes, in a row */
#define RECV_BUF	(64 * 1024)	/* > the kernel's dump skb (32 KiB) */
#define RECV_TIMEOUT_S	5

struct nlsock {
	int		 fd;
	uint32_t	 port;
	uint32_t	 seq;
	uint8_t		*buf;
};

static int
nl_open(struct nlsock *n, char **cause)
{
	struct sockaddr_nl sa;
	socklen_t salen = sizeof(sa);
	struct timeval tv = { RECV_TIMEOUT_S, 0 };
	int one = 1;

	memset(n, 0, sizeof(*n));
	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (n->fd == -1) {
		xasprintf(cause, "netlink socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(n->fd, (struct sockaddr *)&sa, &salen) == -1) {
		xasprintf(cause, "netlink bind: %s", strerror(errno));
		close(n->fd);
		return -1;
	}
	/* A kernel that never answers must not hang the daemon. */
	setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Extended ACKs carry the kernel's own error text; harmless if
	 * the kernel does not know the option. */
	setsockopt(n->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	n->port = sa.nl_pid;
	n->seq = (uint32_t)time(NULL);
	n->buf = xmalloc(RECV_BUF);
	return 0;
}

static void
nl_close(struct nlsock *n)
{
	if (n->fd != -1)
		close(n->fd);
	free(n->buf);
	n->fd = -1;
	n->buf = NULL;
}

static int
nl_request(struct nlsock *n, uint16_t type, uint8_t family, char **cause)
{
	struct {
		struct nlmsghdr	h;
		union {
			struct ifinfomsg	ifi;
			struct ifaddrmsg	ifa;
			struct rtmsg		rtm;
		} u;
		struct rtattr	 ext;	/* IFLA_EXT_MASK for links */
		uint32_t	 mask;
	} req;
	struct sockaddr_nl sa;
	size_t plen;
	ssize_t r;

	_Static_assert(sizeof(req.u) == sizeof(struct ifinfomsg),
	    "IFLA_EXT_MASK must follow struct ifinfomsg");
	memset(&req, 0, sizeof(req));
	switch (type) {
	case RTM_GETLINK:
		plen = sizeof(req.u.ifi);
		req.u.ifi.ifi_family = family;
		break;
	case RTM_GETADDR:
		plen = sizeof(req.u.ifa);
		req.u.ifa.ifa_family = family;
		break;
	default:
		plen = sizeof(req.u.rtm);
		req.u.rtm.rtm_family = family;
		break;
	}
	req.h.nlmsg_len = NLMSG_LENGTH(plen);
	if (type == RTM_GETLINK) {
		/* Counters are not needed and are a good part of each
		 * message; kernels that do not know the bit ignore it.  The
		 * attribute follows struct ifinfomsg (the union's size). */
		req.ext.rta_len = RTA_LENGTH(4);
		req.ext.rta_type = IFLA_EXT_MASK;
		req.mask = RTEXT_FILTER_SKIP_STATS;
		req.h.nlmsg_len += RTA_LENGTH(4);
	}
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = ++n->seq;
	req.h.nlmsg_pid = n->port;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	do
		r = sendto(n->fd, &req, req.h.nlmsg_len, 0,
		    (struct sockaddr *)&sa, sizeof(sa));
	while (r == -1 && errno == EINTR);
	if (r != (ssize_t)req.h.nlmsg_len) {
		xasprintf(cause, "netlink send: %s", r == -1 ?
		    strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/*
 * Receive the answers to the last request until NLMSG_DONE, applying
 * each to snap.  Returns 0, 1 when the dump was interrupted (start
 * again), or -1 with *cause.
 */
static int
nl_collect(struct nlsock *n, struct ifsnap *snap, const char *what,
    char **cause)
{
	struct sockaddr_nl sa;
	struct iovec iov;
	struct msghdr mh;
	struct nlmsghdr h;
	size_t off, step;
	ssize_t r;
	int interrupted = 0;
	int32_t err;
	char *why = NULL;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = n->buf;
		iov.iov_len = RECV_BUF;
		mh.msg_name = &sa;
		mh.msg_namelen = sizeof(sa);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		r = recvmsg(n->fd, &mh, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			xasprintf(cause, "netlink %s dump: %s", what,
			    errno == EAGAIN ? "no answer from the kernel" :
			    strerror(errno));
			return -1;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			xasprintf(cause, "netlink %s dump: message truncated",
			    what);
			return -1;
		}
		if (sa.nl_pid != 0)
			continue;	/* not from the kernel */
		for (off = 0; off < (size_t)r; off += step) {
			if ((size_t)r - off < sizeof(h)) {
				xasprintf(cause, "netlink %s dump: %zu stray "
				    "bytes", what, (size_t)r - off);
				return -1;
			}
			memcpy(&h, n->buf + off, sizeof(h));
			if (h.nlmsg_len < sizeof(h) ||
			    h.nlmsg_len > (size_t)r - off) {
				xasprintf(cause, "netlink %s dump: message "
				    "at offset %zu has length %u", what, off,
				    h.nlmsg_len);
				return -1;
			}
			step = NLMSG_ALIGN(h.nlmsg_len);
			if (step > (size_t)r - off)
				step = (size_t)r - off;
			if (h.nlmsg_seq != n->seq || h.nlmsg_pid != n->port)
				continue;	/* an older request's */
			if (h.nlmsg_flags & NLM_F_DUMP_INTR)
				interrupted = 1;
			if (h.nlmsg_type == NLMSG_DONE) {
				/* The dump's own status follows the header. */
				if (h.nlmsg_len >= sizeof(h) + sizeof(err)) {
					memcpy(&err, n->buf + off + sizeof(h),
					    sizeof(err));
					if (err < 0) {
						xasprintf(cause, "netlink %s "
						    "dump: %s", what,
						    strerror(-err));
						return -1;
					}
				}
				return interrupted;
			}
			if (h.nlmsg_type == NLMSG_ERROR) {
				err = 0;
				if (h.nlmsg_len >= sizeof(h) + sizeof(err))
					memcpy(&err, n->buf + off + sizeof(h),
					    sizeof(err));
				xasprintf(cause, "netlink %s dump: %s", what,
				    err < 0 ? strerror(-err) :
				    "malformed error message");
				return -1;
			}
			if (ifsnap_apply(snap, n->buf + off, h.nlmsg_len,
			    &why) == -1) {
				xasprintf(cause, "netlink %s dump: %s", what,
				    why);
				free(why);
				return -1;
			}
		}
	}
}

static int
dump_all(struct nlsock *n, struct ifsnap *snap, char **cause)
{
	static const struct {
		uint16_t	 type;
		uint8_t		 family;
		const char	*what;
	} reqs[] = {
		{ RTM_GETLINK, AF_UNSPEC, "link" },
		{ RTM_GETADDR, AF_UNSPEC, "address" },
		{ RTM_GETROUTE, AF_INET, "IPv4 route" },
		{ RTM_GETROUTE, AF_INET6, "IPv6 route" },
	};
	size_t i;
	int rc, again = 0;

	for (i = 0; i < RACKD_NELEM(reqs); i++) {
		if (nl_request(n, reqs[i].type, reqs[i].family, cause) == -1)
			return -1;
		if ((rc = nl_collect(n, snap, reqs[i].what, cause)) == -1)
			return -1;
		again |= rc;
	}
	return again;
}

int
ifsnap_read(struct ifsnap *snap, char **cause)
{
	struct nlsock n;
	int tries, rc = 1;

	ifsnap_clear(snap);
	if (nl_open(&n, cause) == -1)
		return -1;
	for (tries = 0; tries < READ_TRIES && rc == 1; tries++) {
		ifsnap_clear(snap);
		rc = dump_all(&n, snap, cause);
	}
	nl_close(&n);
	if (rc == 1) {
		/* Still inconsistent: the tables keep changing.  What we
		 * have is as good as a snapshot gets; the watcher will read
		 * again once they settle. */
		rc = 0;
	}
	if (rc == -1)
		ifsnap_clear(snap);
	return rc;
}
