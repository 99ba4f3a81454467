/*
 * lease_carry_bench.c — time to carry N leases into a new Kea instance
 * (bench/lease_carry.sh runs it).  In a temp dir: an old instance's
 * memfile with N valid leases (plus N/10 expired and N/10 released rows,
 * which must stay behind), then
 *   seed:    kea_carry_seed() into the new instance's file (read, parse,
 *            plan, write);
 *   load:    start a real kea-dhcp4 on it (no interfaces) and poll
 *            lease4-get-all until it answers, checking it holds N;
 *   add:     for comparison, the alternative design: an empty Kea and one
 *            lease4-add per lease over the control socket.
 * Prints "N seed_ms load_ms add_ms".  Needs /usr/sbin/kea-dhcp4.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kea_carry.h"
#include "rackd.h"

static char dir[64];

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One command, the whole answer (Kea closes after it). */
static json_t *
ctl(const char *sock, const char *cmd)
{
	struct sockaddr_un sa;
	static char buf[32 * 1024 * 1024];
	size_t n = 0;
	ssize_t r;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		close(fd);
		return NULL;
	}
	while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	return json_loads(buf, 0, NULL);
}

static pid_t
kea_start(const char *conf)
{
	pid_t pid = fork();

	if (pid == 0) {
		setenv("KEA_PIDFILE_DIR", dir, 1);
		setenv("KEA_LOCKFILE_DIR", dir, 1);
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execl("/usr/sbin/kea-dhcp4", "kea-dhcp4", "-c", conf,
		    (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
kea_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* Poll lease4-get-all until Kea answers; the lease count. */
static long
wait_count(const char *sock)
{
	json_t *j;
	long n;
	int i;

	for (i = 0; i < 20000; i++) {
		j = ctl(sock, "{\"command\": \"lease4-get-all\"}");
		if (j != NULL) {
			n = (long)json_array_size(json_object_get(
			    json_object_get(j, "arguments"), "leases"));
			json_decref(j);
			return n;
		}
		usleep(1000);
	}
	return -1;
}

static void
write_conf(const char *conf, const char *leases, const char *sock)
{
	FILE *f = fopen(conf, "w");

	fprintf(f, "{\"Dhcp4\": {\"interfaces-config\": {\"interfaces\": []},"
	    "\"control-socket\": {\"socket-type\": \"unix\", \"socket-name\": "
	    "\"%s\"}, \"lease-database\": {\"type\": \"memfile\", \"persist\": "
	    "true, \"name\": \"%s\", \"lfc-interval\": 0},"
	    "\"hooks-libraries\": [{\"library\": \"%s/libdhcp_lease_cmds.so\"}],"
	    "\"loggers\": [{\"name\": \"kea-dhcp4\", \"severity\": \"WARN\"}],"
	    "\"shared-networks\": [{\"name\": \"vlan-5001\", \"subnet4\": [{"
	    "\"id\": 173539328, \"subnet\": \"10.88.0.0/16\", \"pools\": [{"
	    "\"pool\": \"10.88.1.0 - 10.88.254.255\"}]}]}]}}\n", sock, leases,
	    KEA_HOOKS_DIR);
	fclose(f);
}

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000, i, held;
	char path[256], conf[256], sock[256], cmd[512], *cause = NULL;
	struct kea_seed sd;
	double t0, seed_ms, load_ms, add_ms;
	time_t now = time(NULL);
	json_t *cfg, *j;
	FILE *f;
	pid_t pid;

	snprintf(dir, sizeof dir, "/tmp/rackd-carry-bench.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/kea4-standalone.leases", dir);
	f = fopen(path, "w");
	fprintf(f, "%s\n", kea_leases_header(4));
	for (i = 0; i < n + n / 5; i++) {
		unsigned a = 256 + (unsigned)i;	/* from 10.88.1.0 */
		/* N valid; the rest expired, the last N/10 also released */
		long exp = i < n ? now + 3000 : now - 10;

		fprintf(f, "10.88.%u.%u,02:00:%02x:%02x:%02x:01,,3600,%ld,"
		    "173539328,0,0,host-%ld,0,\n", a >> 8, a & 255,
		    (unsigned)(i >> 16) & 255, (unsigned)(i >> 8) & 255,
		    (unsigned)i & 255, exp, i);
		if (i >= n + n / 10)	/* the last N/10: released */
			fprintf(f, "10.88.%u.%u,02:00:%02x:%02x:%02x:01,,0,%ld,"
			    "173539328,0,0,,0,\n", a >> 8, a & 255,
			    (unsigned)(i >> 16) & 255, (unsigned)(i >> 8) & 255,
			    (unsigned)i & 255, (long)now - 5);
	}
	fclose(f);

	snprintf(path, sizeof path, "%s/kea4-failover-vlan-5001.leases", dir);
	snprintf(conf, sizeof conf, "%s/new.conf", dir);
	snprintf(sock, sizeof sock, "%s/new.sock", dir);
	write_conf(conf, path, sock);
	cfg = json_load_file(conf, 0, NULL);

	t0 = now_ms();
	if (kea_carry_seed(dir, 4, "failover-vlan-5001", path, NULL, cfg,
	    (int64_t)now, 0, &sd, &cause) == -1) {
		fprintf(stderr, "seed: %s\n", cause);
		return 1;
	}
	seed_ms = now_ms() - t0;
	if ((long)sd.n != n) {
		fprintf(stderr, "seeded %zu, expected %ld\n", sd.n, n);
		return 1;
	}
	kea_seed_free(&sd);

	t0 = now_ms();
	pid = kea_start(conf);
	held = wait_count(sock);
	load_ms = now_ms() - t0;
	kea_stop(pid);
	if (held != n) {
		fprintf(stderr, "Kea holds %ld of %ld\n", held, n);
		return 1;
	}

	/* The alternative: an empty Kea, one lease4-add per lease. */
	unlink(path);
	unlink(sock);
	pid = kea_start(conf);
	wait_count(sock);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		unsigned a = 256 + (unsigned)i;

		snprintf(cmd, sizeof cmd, "{\"command\": \"lease4-add\", "
		    "\"arguments\": {\"ip-address\": \"10.88.%u.%u\", "
		    "\"hw-address\": \"02:00:%02x:%02x:%02x:01\", \"valid-lft\": "
		    "3600, \"expire\": %ld, \"hostname\": \"host-%ld\"}}",
		    a >> 8, a & 255, (unsigned)(i >> 16) & 255,
		    (unsigned)(i >> 8) & 255, (unsigned)i & 255,
		    (long)now + 3000, i);
		j = ctl(sock, cmd);
		if (j == NULL || json_integer_value(json_object_get(j,
		    "result")) != 0) {
			fprintf(stderr, "lease4-add %ld failed\n", i);
			return 1;
		}
		json_decref(j);
	}
	add_ms = now_ms() - t0;
	kea_stop(pid);
	json_decref(cfg);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	printf("%ld %.1f %.1f %.1f\n", n, seed_ms, load_ms, add_ms);
	return 0;
}
