/*
 * lease_hookfile.c — the Kea side of lease reporting, shared by the
 * run_script program (rackd-lease-hook) and the Kea hook library
 * (rackd-lease-hook.so): build events from the lease fields Kea exposes,
 * append them to the hook spool file that rackd imports, and nudge rackd.
 *
 * The file is <data_dir>/dhcp/lease-hook.spool: one encoded event per
 * line, appended under flock with O_APPEND and one write() per call, so
 * the lines of concurrent writers (several Kea processes, several Kea
 * threads) never interleave and a crash leaves at worst a torn last line.
 * rackd renames the file away to import it and then takes the lock on the
 * renamed file, so a writer re-checks after locking that the file it
 * locked is still the one at the path.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leases.h"
#include "xmalloc.h"

#define HOOKFILE_LOCK_TRIES	100	/* x 2 ms; held for one write() */
#define HOOKFILE_REOPEN_TRIES	5

int
lease_event_from_fields(const struct lease_fields *f, struct lease_event *ev,
    char **cause)
{
	char *why = NULL;

	memset(ev, 0, sizeof(*ev));
	ev->action = f->action;
	ev->lease_time = -1;

	/* Only a lease in the default state is a commit MAAS tracks; a
	 * declined one is also "committed" and reported by decline. */
	if (f->action == LEASE_COMMIT && f->state != NULL &&
	    *f->state != '\0' && strcmp(f->state, "default") != 0)
		return 1;
	if (f->family == LEASE_IPV6 && f->type != NULL && *f->type != '\0' &&
	    strcmp(f->type, "IA_NA") != 0)
		return 1;	/* a delegated prefix is not an address */

	if (f->address == NULL || *f->address == '\0') {
		xasprintf(cause, "ADDRESS missing");
		return -1;
	}
	if (lease_ip_parse(f->address, &ev->family, ev->ip, sizeof(ev->ip),
	    &why) == -1 || ev->family != f->family) {
		xasprintf(cause, "ADDRESS: %s", why != NULL ? why :
		    "wrong address family");
		free(why);
		return -1;
	}
	if (f->hwaddr == NULL || *f->hwaddr == '\0') {
		xasprintf(cause, "HWADDR missing for %s", ev->ip);
		return -1;
	}
	if (lease_mac_normalise(f->hwaddr, ev->mac, sizeof(ev->mac),
	    &why) == -1) {
		xasprintf(cause, "HWADDR for %s: %s", ev->ip, why);
		free(why);
		return -1;
	}
	/* Kea may report events out of order (run_script is asynchronous):
	 * the lease's own CLTT, not the time of the call, orders them. */
	if (f->cltt == NULL || *f->cltt == '\0')
		ev->timestamp = (long long)time(NULL);
	else if (lease_uint_parse(f->cltt, 0, 100000000000LL, &ev->timestamp,
	    &why) == -1) {
		xasprintf(cause, "CLTT for %s: %s", ev->ip, why);
		free(why);
		return -1;
	}
	if (f->action != LEASE_COMMIT)
		return 0;
	if (f->valid_lifetime == NULL ||
	    lease_uint_parse(f->valid_lifetime, 0, 4294967295LL,
	    &ev->lease_time, &why) == -1) {
		xasprintf(cause, "VALID_LIFETIME for %s: %s", ev->ip,
		    why != NULL ? why : "missing");
		free(why);
		return -1;
	}
	if (f->hostname != NULL && lease_hostname_check(f->hostname,
	    ev->hostname, sizeof(ev->hostname), &why) == -1) {
		/* The lease still counts; only its name is unusable. */
		free(why);
		ev->hostname[0] = '\0';
	}
	return 0;
}

void
lease_lines_add(struct lease_lines *ll, const struct lease_event *ev)
{
	char *json = lease_event_encode(ev);
	size_t n = strlen(json);

	if (ll->len + n + 1 > ll->cap) {
		ll->cap = (ll->len + n + 1) * 2;
		ll->buf = xrealloc(ll->buf, ll->cap);
	}
	memcpy(ll->buf + ll->len, json, n);
	ll->buf[ll->len + n] = '\n';
	ll->len += n + 1;
	ll->n++;
	free(json);
}

void
lease_lines_free(struct lease_lines *ll)
{
	free(ll->buf);
	memset(ll, 0, sizeof(*ll));
}

/*
 * Open the file and lock it, making sure the locked file is still the one
 * at path (rackd renames it away to import it, takes the lock once and
 * lets it go).  The lock covers one write() only, so waits are short; if
 * it still cannot be had within the bound (something holds it for long),
 * go on without it: O_APPEND writes do not interleave anyway, and losing
 * the events for sure is worse than the small chance that an import
 * misses them.  *locked says which.  -1 with *cause.
 */
static int
open_locked(const char *path, int *locked, char **cause)
{
	struct stat fst, pst;
	struct timespec ts = { 0, 2000000 };
	int fd, tries, again;

	for (again = 0; again < HOOKFILE_REOPEN_TRIES; again++) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW, 0660);
		if (fd == -1) {
			xasprintf(cause, "open %s: %s", path, strerror(errno));
			return -1;
		}
		*locked = 1;
		for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; tries++) {
			if (errno != EWOULDBLOCK && errno != EINTR) {
				xasprintf(cause, "lock %s: %s", path,
				    strerror(errno));
				close(fd);
				return -1;
			}
			if (tries >= HOOKFILE_LOCK_TRIES) {
				*locked = 0;
				break;
			}
			nanosleep(&ts, NULL);
		}
		if (fstat(fd, &fst) == 0 && stat(path, &pst) == 0 &&
		    fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino &&
		    fst.st_nlink > 0)
			return fd;
		close(fd);	/* renamed away under us: use the new one */
	}
	xasprintf(cause, "%s keeps changing", path);
	return -1;
}

int
lease_hookfile_nudge(const char *sock_path)
{
	struct sockaddr_un sun;
	size_t len;
	int fd, rc;

	if (sock_path == NULL || (len = strlen(sock_path)) >=
	    sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock_path, len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* Empty: "the hook spool has news".  MSG_DONTWAIT: a full socket
	 * means rackd has nudges queued already, which is as good. */
	rc = sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&sun,
	    sizeof(sun));
	if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		rc = 0;
	close(fd);
	return rc == -1 ? -1 : 0;
}

int
lease_hookfile_append(const char *path, const char *buf, size_t len,
    const char *nudge_sock, char **cause)
{
	struct stat st;
	ssize_t w;
	int fd, locked, rc = 0;

	if (len == 0)
		return 0;
	if ((fd = open_locked(path, &locked, cause)) == -1)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_size > LEASE_HOOKFILE_MAX) {
		xasprintf(cause, "%s is over %ld bytes (rackd not importing "
		    "it?)", path, (long)LEASE_HOOKFILE_MAX);
		close(fd);
		return -1;
	}
	/* One write with O_APPEND: nothing lands in the middle of it. */
	do
		w = write(fd, buf, len);
	while (w == -1 && errno == EINTR);
	if (w != (ssize_t)len) {
		xasprintf(cause, "write %s: %s", path, w == -1 ?
		    strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	/* The lines are in the file (in the page cache, so they survive
	 * any process dying): let the other writers in before syncing. */
	if (locked)
		(void)flock(fd, LOCK_UN);
	/*
	 * Durability as with the datagram path: while rackd takes the nudge
	 * it imports the file into its own spool and fsyncs that within one
	 * loop turn; when it is not there (down or restarting), nobody will
	 * for a while, so sync here.
	 */
	if ((nudge_sock == NULL || lease_hookfile_nudge(nudge_sock) == -1) &&
	    fdatasync(fd) == -1) {
		xasprintf(cause, "fsync %s: %s", path, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}
