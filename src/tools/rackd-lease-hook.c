/*
 * rackd-lease-hook.c — Kea libdhcp_run_script.so target: turns one hook
 * call into lease events for rackd (spec D.5).
 *
 *   rackd-lease-hook --socket <run_dir>/lease.sock \
 *       --spool <data_dir>/dhcp/lease-hook.spool <hook_point>
 *
 * Kea runs the script with the hook point as its only argument and an
 * environment holding nothing but the lease variables (no PATH, no HOME:
 * checked with Kea 2.2).  So without options the paths come from
 * rackd-lease-hook.conf next to argv[0]: rackd points run_script at a
 * symlink <run_dir>/rackd-lease-hook to this program and writes that
 * file ("socket PATH" and "spool PATH" lines).  No shell runs per lease,
 * and the program links only the event codec, jansson and zlib (not
 * libsystemd): a call costs well under 1 ms, against about 2.5 ms for a
 * wrapper script and the full library.  Each lease becomes one JSON event, the same object
 * maas-dhcp-helper sends (leases.h), sent as one datagram to the socket.
 * When the socket is missing or does not take the event within
 * SEND_TIMEOUT_MS (rackd down, restarting or swamped), that event and
 * every later one of this call are appended to the spool file instead,
 * under flock, in one write per call, and fsync'd; rackd imports the file
 * at start and whenever it sees it.  Later events never overtake earlier
 * ones of the same call.
 *
 * Kea ignores the exit status and output, and runs scripts asynchronously,
 * so this always exits 0 and says what went wrong on stderr.
 *
 *   leases4_committed   LEASES4_AT<i>_* -> commit (state "default" only;
 *                       a declined lease is also "committed", with an
 *                       empty HWADDR, and is reported by lease4_decline),
 *                       DELETED_LEASES4_AT<i>_* -> release (first)
 *   lease4_release      LEASE4_* -> release
 *   lease4_expire       LEASE4_* -> expiry
 *   lease4_decline      LEASE4_* -> expiry (the address is not usable)
 *   leases6_committed, lease6_release, lease6_expire, lease6_decline:
 *                       the same with LEASES6/LEASE6 (IA_NA only)
 *   lease4_renew, lease4_recover, lease6_renew, lease6_rebind,
 *   lease6_recover, anything else: ignored (a renewal is committed too)
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leases.h"
#include "xmalloc.h"

#define SEND_TIMEOUT_MS		250
#define MAX_LEASES		1024	/* per call; Kea commits a handful */

static const char *progname = "rackd-lease-hook";

struct events {
	char	**lines;	/* encoded event + "\n" */
	size_t	  n;
};

static void say(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *
env(const char *prefix, const char *name)
{
	char key[128];

	snprintf(key, sizeof(key), "%s_%s", prefix, name);
	return getenv(key);
}

/*
 * One lease from the variables <prefix>_* (lease_event_from_fields has
 * the rules).  Returns 0 with *ev filled, 1 to skip quietly (not a lease
 * MAAS tracks), -1 after saying why.
 */
static int
lease_from_env(const char *prefix, enum lease_action action,
    enum lease_family want, struct lease_event *ev)
{
	struct lease_fields f;
	char *cause = NULL;
	int rc;

	memset(&f, 0, sizeof(f));
	f.action = action;
	f.family = want;
	f.address = env(prefix, "ADDRESS");
	f.hwaddr = env(prefix, "HWADDR");
	f.cltt = env(prefix, "CLTT");
	f.valid_lifetime = env(prefix, "VALID_LIFETIME");
	f.hostname = env(prefix, "HOSTNAME");
	f.state = env(prefix, "STATE");
	f.type = env(prefix, "TYPE");
	if ((rc = lease_event_from_fields(&f, ev, &cause)) == -1) {
		say("%s_%s: lease skipped", prefix, cause);
		free(cause);
	}
	return rc;
}

static void
add(struct events *e, const struct lease_event *ev)
{
	char *cause = NULL, *json;

	if (lease_event_check(ev, &cause) == -1) {
		say("internal: bad event for %s: %s", ev->ip, cause);
		free(cause);
		return;
	}
	json = lease_event_encode(ev);
	e->lines = xreallocarray(e->lines, e->n + 1, sizeof(*e->lines));
	xasprintf(&e->lines[e->n++], "%s\n", json);
	free(json);
}

/* A single lease: LEASE4_* / LEASE6_*. */
static void
one(struct events *e, const char *prefix, enum lease_action action,
    enum lease_family fam)
{
	struct lease_event ev;

	if (lease_from_env(prefix, action, fam, &ev) == 0)
		add(e, &ev);
}

/* A collection: <coll>_SIZE and <coll>_AT<i>_*. */
static void
many(struct events *e, const char *coll, enum lease_action action,
    enum lease_family fam)
{
	struct lease_event ev;
	const char *s;
	char prefix[64], *cause = NULL;
	long long n, i;

	if ((s = env(coll, "SIZE")) == NULL || *s == '\0')
		return;
	if (lease_uint_parse(s, 0, MAX_LEASES, &n, &cause) == -1) {
		say("%s_SIZE: %s: leases skipped", coll, cause);
		free(cause);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "%s_AT%lld", coll, i);
		if (lease_from_env(prefix, action, fam, &ev) == 0)
			add(e, &ev);
	}
}

/* Send lines[from..] to the socket; returns the index of the first one
 * not sent (e->n when all went). */
static size_t
send_socket(const struct events *e, const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { 0, SEND_TIMEOUT_MS * 1000 };
	size_t i;
	int fd;

	if (path == NULL)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		say("socket path %s is too long", path);
		return 0;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		say("socket: %s", strerror(errno));
		return 0;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		/* rackd is not running: the spool is the normal path then,
		 * so say nothing for the usual errors. */
		if (errno != ENOENT && errno != ECONNREFUSED)
			say("connect %s: %s", path, strerror(errno));
		close(fd);
		return 0;
	}
	for (i = 0; i < e->n; i++) {
		/* The datagram carries no newline. */
		size_t len = strlen(e->lines[i]) - 1;
		ssize_t n;

		do
			n = send(fd, e->lines[i], len, 0);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)len) {
			say("send %s: %s; spooling %zu event(s)", path,
			    n == -1 ? strerror(errno) : "short send", e->n - i);
			break;
		}
	}
	close(fd);
	return i;
}

static void
spool(const struct events *e, size_t from, const char *path)
{
	char *buf, *cause = NULL;
	size_t i, len = 0, off = 0;

	if (from >= e->n)
		return;
	if (path == NULL) {
		say("no --spool: %zu lease event(s) lost", e->n - from);
		return;
	}
	for (i = from; i < e->n; i++)
		len += strlen(e->lines[i]);
	buf = xmalloc(len);
	for (i = from; i < e->n; i++) {
		size_t l = strlen(e->lines[i]);

		memcpy(buf + off, e->lines[i], l);
		off += l;
	}
	/* No nudge: this is the path for rackd not taking datagrams, so
	 * the file is always fsync'd. */
	if (lease_hookfile_append(path, buf, len, NULL, &cause) == -1) {
		say("%s: %zu lease event(s) lost", cause, e->n - from);
		free(cause);
	}
	free(buf);
}

/*
 * Linked without log.c (and so without libsystemd): xmalloc's fatal paths
 * print and exit 0 here, since Kea ignores the status anyway.
 */
void	fatal(const char *, ...) __attribute__((noreturn, format(printf, 1, 2)));
void	fatalx(const char *, ...) __attribute__((noreturn, format(printf, 1, 2)));

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	exit(0);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(0);
}

/* Read "socket PATH" / "spool PATH" from rackd-lease-hook.conf in the
 * directory of argv[0] (the symlink rackd made).  Paths are copied. */
static void
read_conf(const char *argv0, char **sock, char **spool_path)
{
	char path[4096], line[4200], *nl;
	const char *slash = strrchr(argv0, '/');
	FILE *fp;

	if (slash == NULL || (size_t)(slash - argv0) + 24 >= sizeof path)
		return;
	snprintf(path, sizeof path, "%.*s/rackd-lease-hook.conf",
	    (int)(slash - argv0), argv0);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, fp) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (strncmp(line, "socket ", 7) == 0 && *sock == NULL)
			*sock = strdup(line + 7);
		else if (strncmp(line, "spool ", 6) == 0 && *spool_path == NULL)
			*spool_path = strdup(line + 6);
	}
	fclose(fp);
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s [--socket path] [--spool path] "
	    "hook_point\n", progname);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "spool", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *sock = NULL, *spool_path = NULL;
	const char *hook;
	struct events e = { NULL, 0 };
	size_t i, sent;
	int ch;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			free(sock);
			sock = strdup(optarg);
			break;
		case 'f':
			free(spool_path);
			spool_path = strdup(optarg);
			break;
		default:
			usage();
			return 0;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 0;
	}
	hook = argv[optind];
	if (sock == NULL || spool_path == NULL)
		read_conf(argv[0], &sock, &spool_path);

	if (strcmp(hook, "leases4_committed") == 0) {
		many(&e, "DELETED_LEASES4", LEASE_RELEASE, LEASE_IPV4);
		many(&e, "LEASES4", LEASE_COMMIT, LEASE_IPV4);
	} else if (strcmp(hook, "lease4_release") == 0)
		one(&e, "LEASE4", LEASE_RELEASE, LEASE_IPV4);
	else if (strcmp(hook, "lease4_expire") == 0 ||
	    strcmp(hook, "lease4_decline") == 0)
		one(&e, "LEASE4", LEASE_EXPIRY, LEASE_IPV4);
	else if (strcmp(hook, "leases6_committed") == 0) {
		many(&e, "DELETED_LEASES6", LEASE_RELEASE, LEASE_IPV6);
		many(&e, "LEASES6", LEASE_COMMIT, LEASE_IPV6);
	} else if (strcmp(hook, "lease6_release") == 0)
		one(&e, "LEASE6", LEASE_RELEASE, LEASE_IPV6);
	else if (strcmp(hook, "lease6_expire") == 0 ||
	    strcmp(hook, "lease6_decline") == 0)
		one(&e, "LEASE6", LEASE_EXPIRY, LEASE_IPV6);
	else if (strcmp(hook, "lease4_renew") != 0 &&
	    strcmp(hook, "lease4_recover") != 0 &&
	    strcmp(hook, "lease6_renew") != 0 &&
	    strcmp(hook, "lease6_rebind") != 0 &&
	    strcmp(hook, "lease6_recover") != 0)
		say("unknown hook point %.64s ignored", hook);
	/* A renewal is reported by the leases*_committed that follows it. */

	if (e.n > 0) {
		sent = send_socket(&e, sock);
		spool(&e, sent, spool_path);
	}
	for (i = 0; i < e.n; i++)
		free(e.lines[i]);
	free(e.lines);
	free(sock);
	free(spool_path);
	return 0;
}
