/*
 * nlrecord.c — write the kernel's raw rtnetlink answers to stdout, for
 * the recorded test data in tests/unit/data/netlink/ (tools/nlrecord.sh
 * builds the namespace and calls this).
 *
 *   nlrecord dump link|addr|route4|route6   one dump, up to NLMSG_DONE
 *   nlrecord monitor MS                      link/address/route events
 *                                            until MS ms pass quietly
 */
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[65536];

static int
dump(const char *what)
{
	struct {
		struct nlmsghdr	h;
		struct rtmsg	m;	/* the largest of the three headers */
	} req;
	struct nlmsghdr *h;
	ssize_t r;
	int fd, done = 0;
	size_t plen = sizeof(struct rtmsg);

	memset(&req, 0, sizeof(req));
	if (strcmp(what, "link") == 0) {
		req.h.nlmsg_type = RTM_GETLINK;
		plen = sizeof(struct ifinfomsg);
	} else if (strcmp(what, "addr") == 0) {
		req.h.nlmsg_type = RTM_GETADDR;
		plen = sizeof(struct ifaddrmsg);
	} else if (strcmp(what, "route4") == 0) {
		req.h.nlmsg_type = RTM_GETROUTE;
		req.m.rtm_family = AF_INET;
	} else if (strcmp(what, "route6") == 0) {
		req.h.nlmsg_type = RTM_GETROUTE;
		req.m.rtm_family = AF_INET6;
	} else
		return 2;
	req.h.nlmsg_len = NLMSG_LENGTH(plen);
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	if ((fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)) == -1 ||
	    send(fd, &req, req.h.nlmsg_len, 0) == -1) {
		perror("netlink");
		return 1;
	}
	while (!done && (r = recv(fd, buf, sizeof(buf), 0)) > 0) {
		fwrite(buf, 1, (size_t)r, stdout);
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, r);
		    h = NLMSG_NEXT(h, r))
			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR)
				done = 1;
	}
	return 0;
}

static int
monitor(int ms)
{
	struct sockaddr_nl sa;
	struct pollfd p;
	ssize_t r;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
	    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	if ((fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("netlink");
		return 1;
	}
	/* Tell the caller we are subscribed. */
	fputs("ready\n", stderr);
	fflush(stderr);
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, ms) == 1) {
		if ((r = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		fwrite(buf, 1, (size_t)r, stdout);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "dump") == 0)
		return dump(argv[2]);
	if (argc == 3 && strcmp(argv[1], "monitor") == 0)
		return monitor(atoi(argv[2]));
	fprintf(stderr, "usage: nlrecord dump link|addr|route4|route6 | "
	    "nlrecord monitor MS\n");
	return 2;
}
