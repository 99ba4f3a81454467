/*
 * test_leases.c — lease reporting: lease_event.c (parse, validate, encode,
 * batching, UpdateLeases arguments), lease_spool.c (append/read/ack,
 * restart replay, torn lines, the bound, compaction, the hook's fallback
 * file), leases.c driven through a fake send hook (datagrams in, batches
 * out, retry, restart, remote errors), and the real rackd-lease-hook
 * binary run with the environments Kea 2.2 gave run_script
 * (tests/unit/data/leases), with and without rackd's socket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "amp.h"
#include "bytes.h"
#include "leases.h"
#include "log.h"
#include "xmalloc.h"

#define DATA_DIR	"tests/unit/data/leases"

/* --- helpers -------------------------------------------------------- */
static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static char *
mktmp(void)
{
	char *d = xstrdup("/tmp/test_leases.XXXXXX");

	if (mkdtemp(d) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	return d;
}

static void
rmtree(char *d)
{
	nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static struct lease_event
mkev(enum lease_action a, const char *ip, const char *mac, long long ts)
{
	struct lease_event ev;
	char *cause = NULL;

	memset(&ev, 0, sizeof(ev));
	ev.action = a;
	ev.lease_time = a == LEASE_COMMIT ? 600 : -1;
	ev.timestamp = ts;
	assert_int_equal(lease_ip_parse(ip, &ev.family, ev.ip, sizeof(ev.ip),
	    &cause), 0);
	assert_int_equal(lease_mac_normalise(mac, ev.mac, sizeof(ev.mac),
	    &cause), 0);
	if (a == LEASE_COMMIT)
		snprintf(ev.hostname, sizeof(ev.hostname), "host-%lld", ts);
	return ev;
}

static void
assert_ev_equal(const struct lease_event *a, const struct lease_event *b)
{
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->family, b->family);
	assert_string_equal(a->ip, b->ip);
	assert_string_equal(a->mac, b->mac);
	assert_int_equal(a->timestamp, b->timestamp);
	assert_int_equal(a->lease_time, b->lease_time);
	assert_string_equal(a->hostname, b->hostname);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return st.st_size;
}

static void
write_text(const char *path, const char *text, int append)
{
	int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
	    0644);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* --- events --------------------------------------------------------- */
static void
test_event_parse_good(void **state)
{
	struct lease_event ev;
	char *cause = NULL;
	const char *j;

	j = "{\"action\":\"commit\",\"mac\":\"02:00:00:00:BB:1\","
	    "\"ip_family\":\"ipv4\",\"ip\":\"10.77.1.0\",\"timestamp\":"
	    "1796233833,\"lease_time\":600,\"hostname\":\"rack1-node07\"}\n";
	assert_int_equal(lease_event_parse(j, strlen(j), &ev, &cause), 0);
	assert_int_equal(ev.action, LEASE_COMMIT);
	assert_int_equal(ev.family, LEASE_IPV4);
	assert_string_equal(ev.ip, "10.77.1.0");
	assert_string_equal(ev.mac, "02:00:00:00:bb:01");
	assert_int_equal(ev.timestamp, 1796233833);
	assert_int_equal(ev.lease_time, 600);
	assert_string_equal(ev.hostname, "rack1-node07");

	/* Non-commit: lease_time and hostname are dropped; unknown keys
	 * ignored; IPv6 canonicalised; '-' MACs and bare hex accepted. */
	j = "{\"action\":\"expiry\",\"mac\":\"AA-BB-CC-0-1-2\",\"ip_family\":"
	    "\"ipv6\",\"ip\":\"2001:DB8:0:0::0001\",\"timestamp\":5,"
	    "\"lease_time\":9,\"hostname\":\"x\",\"extra\":[1]}";
	assert_int_equal(lease_event_parse(j, strlen(j), &ev, &cause), 0);
	assert_int_equal(ev.action, LEASE_EXPIRY);
	assert_int_equal(ev.family, LEASE_IPV6);
	assert_string_equal(ev.ip, "2001:db8::1");
	assert_string_equal(ev.mac, "aa:bb:cc:00:01:02");
	assert_int_equal(ev.lease_time, -1);
	assert_string_equal(ev.hostname, "");

	/* maas-dhcp-helper's release, a blank hostname, bare-hex MAC. */
	j = "{\"action\":\"release\",\"mac\":\"AABBCC000102\",\"ip_family\":"
	    "\"ipv4\",\"ip\":\"192.168.0.9\",\"timestamp\":0}";
	assert_int_equal(lease_event_parse(j, strlen(j), &ev, &cause), 0);
	assert_string_equal(ev.mac, "aa:bb:cc:00:01:02");
	j = "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip_family\":"
	    "\"ipv4\",\"ip\":\"192.168.0.9\",\"timestamp\":1,\"hostname\":\" \\t\"}";
	assert_int_equal(lease_event_parse(j, strlen(j), &ev, &cause), 0);
	assert_string_equal(ev.hostname, "");
	assert_int_equal(ev.lease_time, -1);
	/* dhcpd's literal "(none)" passes: the region ignores it. */
	j = "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip_family\":"
	    "\"ipv4\",\"ip\":\"192.168.0.9\",\"timestamp\":1,\"hostname\":"
	    "\"(none)\",\"lease_time\":0}";
	assert_int_equal(lease_event_parse(j, strlen(j), &ev, &cause), 0);
	assert_string_equal(ev.hostname, "(none)");
	assert_int_equal(ev.lease_time, 0);
}

static void
test_event_parse_bad(void **state)
{
	static const struct {
		const char	*json;
		const char	*cause;
	} bad[] = {
		{ "", "empty" },
		{ "nope", "not JSON" },
		{ "[1]", "not a JSON object" },
		{ "{\"action\":\"commit\"} {}", "not JSON" },
		{ "{\"mac\":\"aa:bb:cc:00:01:02\"}", "action missing" },
		{ "{\"action\":1}", "action is not a string" },
		{ "{\"action\":\"renew\"}", "action \"renew\"" },
		{ "{\"action\":\"commit\"}", "mac missing" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01\"}", "mac" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02:03\"}",
		    "mac" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb-cc:00:01:02\"}", "mac" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:zz\"}", "mac" },
		{ "{\"action\":\"commit\",\"mac\":\"aaa:bb:cc:00:01:02\"}", "mac" },
		{ "{\"action\":\"commit\",\"mac\":\"\"}", "mac" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\"}",
		    "ip missing" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.256\"}", "ip \"10.0.0.256\"" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"010.0.0.1\"}", "ip" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1 \"}", "ip" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\"}", "ip_family missing" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"inet\"}", "ip_family \"inet\"" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv6\"}", "does not match" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\"}", "timestamp missing" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":\"1\"}",
		    "timestamp is not an integer" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":1.5}",
		    "timestamp is not an integer" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":-1}",
		    "timestamp -1 out of range" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":1,"
		    "\"lease_time\":-5}", "lease_time -5 out of range" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":1,"
		    "\"lease_time\":\"600\"}", "lease_time is not an integer" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":1,"
		    "\"lease_time\":99999999999}", "lease_time" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":1,"
		    "\"hostname\":7}", "hostname is not a string" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":1,"
		    "\"hostname\":\"a\\u0001b\"}", "hostname" },
		{ "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:00:01:02\",\"ip\":"
		    "\"10.0.0.1\",\"ip_family\":\"ipv4\",\"timestamp\":1,"
		    "\"hostname\":\"caf\\u00e9\"}", "hostname" },
		{ "{\"action\":\"commit\",\"action\":\"expiry\"}", "not JSON" },
		{ "{\"action\":\"commit\",\n\"mac\":1}", "newline" },
	};
	struct lease_event ev;
	char *cause, big[LEASE_LINE_MAX + 64], host[300];
	size_t i;

	for (i = 0; i < RACKD_NELEM(bad); i++) {
		cause = NULL;
		if (lease_event_parse(bad[i].json, strlen(bad[i].json), &ev,
		    &cause) != -1)
			fail_msg("accepted: %s", bad[i].json);
		assert_non_null(cause);
		if (strstr(cause, bad[i].cause) == NULL)
			fail_msg("%s: cause \"%s\" lacks \"%s\"", bad[i].json,
			    cause, bad[i].cause);
		free(cause);
	}
	/* Over-long hostname and over-long event. */
	memset(host, 'h', 256);
	host[256] = '\0';
	snprintf(big, sizeof(big), "{\"action\":\"commit\",\"mac\":"
	    "\"aa:bb:cc:00:01:02\",\"ip\":\"10.0.0.1\",\"ip_family\":\"ipv4\","
	    "\"timestamp\":1,\"hostname\":\"%s\"}", host);
	cause = NULL;
	assert_int_equal(lease_event_parse(big, strlen(big), &ev, &cause), -1);
	assert_non_null(strstr(cause, "hostname"));
	free(cause);
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[LEASE_LINE_MAX + 10] = '}';
	cause = NULL;
	assert_int_equal(lease_event_parse(big, LEASE_LINE_MAX + 11, &ev,
	    &cause), -1);
	assert_non_null(strstr(cause, "limit"));
	free(cause);
}

static void
test_validators(void **state)
{
	char *cause = NULL, out[LEASE_HOSTNAME_MAX + 1];
	long long v;
	enum lease_family f;
	struct lease_event ev;

	assert_int_equal(lease_uint_parse("4", 0, 10, &v, &cause), 0);
	assert_int_equal(v, 4);
	assert_int_equal(lease_uint_parse("4294967295", 0, 4294967295LL, &v,
	    &cause), 0);
	{
		static const char *const badint[] = { "", "-1", "+1", " 1",
		    "1 ", "0x10", "11", "99999999999999999999" };
		size_t i;

		for (i = 0; i < RACKD_NELEM(badint); i++) {
			cause = NULL;
			assert_int_equal(lease_uint_parse(badint[i], 0, 10, &v,
			    &cause), -1);
			assert_non_null(cause);
			free(cause);
		}
	}
	assert_int_equal(lease_ip_parse("::ffff:10.0.0.1", &f, out,
	    LEASE_IP_MAX, &cause), 0);
	assert_int_equal(f, LEASE_IPV6);
	assert_int_equal(lease_ip_parse("10.1", &f, out, LEASE_IP_MAX,
	    &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(lease_hostname_check("", out, sizeof(out), &cause), 0);
	assert_string_equal(out, "");
	/* Odd but printable names go through: the region coerces them. */
	assert_int_equal(lease_hostname_check("My PC", out, sizeof(out),
	    &cause), 0);
	assert_string_equal(out, "My PC");
	assert_int_equal(lease_hostname_check("a\tb", out, sizeof(out),
	    &cause), -1);
	free(cause);
	cause = NULL;

	/* lease_event_check refuses what the parser would. */
	ev = mkev(LEASE_EXPIRY, "10.0.0.1", "aa:bb:cc:dd:ee:ff", 1);
	assert_int_equal(lease_event_check(&ev, &cause), 0);
	ev.lease_time = 5;
	assert_int_equal(lease_event_check(&ev, &cause), -1);
	free(cause);
	cause = NULL;
	ev = mkev(LEASE_COMMIT, "10.0.0.1", "aa:bb:cc:dd:ee:ff", 1);
	ev.family = LEASE_IPV6;
	assert_int_equal(lease_event_check(&ev, &cause), -1);
	free(cause);
	cause = NULL;
	ev = mkev(LEASE_COMMIT, "10.0.0.1", "aa:bb:cc:dd:ee:ff", 1);
	strcpy(ev.mac, "AA:BB:CC:DD:EE:FF");
	assert_int_equal(lease_event_check(&ev, &cause), -1);
	free(cause);
}

static void
test_event_encode(void **state)
{
	struct lease_event ev = mkev(LEASE_COMMIT, "10.77.1.0",
	    "02:00:00:00:bb:01", 1796233833), back;
	char *s, *cause = NULL;

	s = lease_event_encode(&ev);
	assert_string_equal(s, "{\"action\":\"commit\",\"mac\":"
	    "\"02:00:00:00:bb:01\",\"ip_family\":\"ipv4\",\"ip\":\"10.77.1.0\","
	    "\"timestamp\":1796233833,\"lease_time\":600,\"hostname\":"
	    "\"host-1796233833\"}");
	assert_int_equal(lease_event_parse(s, strlen(s), &back, &cause), 0);
	assert_ev_equal(&ev, &back);
	free(s);

	ev = mkev(LEASE_RELEASE, "2001:db8::5", "02:00:00:00:bb:01", 7);
	s = lease_event_encode(&ev);
	assert_string_equal(s, "{\"action\":\"release\",\"mac\":"
	    "\"02:00:00:00:bb:01\",\"ip_family\":\"ipv6\",\"ip\":"
	    "\"2001:db8::5\",\"timestamp\":7}");
	free(s);

	/* The longest event still fits a spool line. */
	ev = mkev(LEASE_COMMIT, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	    "02:00:00:00:bb:01", 99999999999LL);
	memset(ev.hostname, 'h', LEASE_HOSTNAME_MAX);
	ev.hostname[LEASE_HOSTNAME_MAX] = '\0';
	ev.lease_time = 4294967295LL;
	s = lease_event_encode(&ev);
	assert_true(strlen(s) + 24 < LEASE_LINE_MAX);
	free(s);
}

static void
test_batch_take(void **state)
{
	struct lease_event evs[6];

	evs[0] = mkev(LEASE_COMMIT, "10.0.0.1", "aa:bb:cc:dd:ee:01", 1);
	evs[1] = mkev(LEASE_COMMIT, "10.0.0.2", "aa:bb:cc:dd:ee:02", 2);
	evs[2] = mkev(LEASE_EXPIRY, "10.0.0.1", "aa:bb:cc:dd:ee:01", 3);
	evs[3] = mkev(LEASE_COMMIT, "10.0.0.3", "aa:bb:cc:dd:ee:03", 4);
	evs[4] = mkev(LEASE_COMMIT, "10.0.0.4", "aa:bb:cc:dd:ee:04", 5);
	evs[5] = mkev(LEASE_COMMIT, "10.0.0.4", "aa:bb:cc:dd:ee:04", 6);

	assert_int_equal(lease_batch_take(evs, 6, 100), 2);	/* 10.0.0.1 again */
	assert_int_equal(lease_batch_take(evs + 2, 4, 100), 3);	/* .4 again */
	assert_int_equal(lease_batch_take(evs + 2, 4, 2), 2);	/* the cap */
	assert_int_equal(lease_batch_take(evs + 5, 1, 100), 1);
	assert_int_equal(lease_batch_take(evs, 0, 100), 0);
	assert_int_equal(lease_batch_take(evs, 6, 0), 0);
}

static void
test_batch_args(void **state)
{
	struct lease_event evs[2];
	struct amp_box *args, **items;
	const struct amp_value *v;
	size_t n;
	char *s, *cause = NULL;
	long long i;

	evs[0] = mkev(LEASE_COMMIT, "10.0.0.1", "aa:bb:cc:dd:ee:01", 11);
	evs[1] = mkev(LEASE_EXPIRY, "2001:db8::1", "aa:bb:cc:dd:ee:02", 12);
	args = lease_batch_args("abc123", evs, 2, &cause);
	assert_non_null(args);
	assert_int_equal(amp_box_get_str(args, "cluster_uuid", &s, &cause), 0);
	assert_string_equal(s, "abc123");
	free(s);
	v = amp_box_get(args, "updates");
	assert_non_null(v);
	assert_int_equal(amp_list_decode(v->data, v->len, &items, &n, &cause),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(amp_box_get_str(items[0], "action", &s, &cause), 0);
	assert_string_equal(s, "commit");
	free(s);
	assert_int_equal(amp_box_get_str(items[0], "mac", &s, &cause), 0);
	assert_string_equal(s, "aa:bb:cc:dd:ee:01");
	free(s);
	assert_int_equal(amp_box_get_str(items[0], "ip_family", &s, &cause), 0);
	assert_string_equal(s, "ipv4");
	free(s);
	assert_int_equal(amp_box_get_str(items[0], "ip", &s, &cause), 0);
	assert_string_equal(s, "10.0.0.1");
	free(s);
	assert_int_equal(amp_box_get_int(items[0], "timestamp", &i, &cause), 0);
	assert_int_equal(i, 11);
	assert_int_equal(amp_box_get_int(items[0], "lease_time", &i, &cause), 0);
	assert_int_equal(i, 600);
	assert_int_equal(amp_box_get_str(items[0], "hostname", &s, &cause), 0);
	assert_string_equal(s, "host-11");
	free(s);
	assert_int_equal(amp_box_get_str(items[1], "action", &s, &cause), 0);
	assert_string_equal(s, "expiry");
	free(s);
	assert_int_equal(amp_box_get_str(items[1], "ip_family", &s, &cause), 0);
	assert_string_equal(s, "ipv6");
	free(s);
	assert_false(amp_box_has(items[1], "lease_time"));
	assert_false(amp_box_has(items[1], "hostname"));
	amp_list_free(items, n);
	amp_box_free(args);

	/* A full batch of the longest events fits one AMP value. */
	{
		struct lease_event big[LEASE_BATCH_MAX];
		size_t k;

		for (k = 0; k < LEASE_BATCH_MAX; k++) {
			big[k] = mkev(LEASE_COMMIT, "ffff:ffff:ffff:ffff:ffff:"
			    "ffff:ffff:ffff", "02:00:00:00:bb:01",
			    99999999999LL);
			memset(big[k].hostname, 'h', LEASE_HOSTNAME_MAX);
			big[k].hostname[LEASE_HOSTNAME_MAX] = '\0';
		}
		args = lease_batch_args("x", big, LEASE_BATCH_MAX, &cause);
		assert_non_null(args);
		amp_box_free(args);
	}
}

/* --- the spool ------------------------------------------------------ */
static char *
spool_path(const char *dir, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	return p;
}

static void
test_spool_append_ack_restart(void **state)
{
	char *dir = mktmp(), *cause = NULL, *path = spool_path(dir, "leases.spool");
	struct lease_spool *sp;
	struct lease_event evs[5], out[8];
	struct lease_spool_stats st;
	uint64_t seqs[8], last;
	size_t i, n;

	for (i = 0; i < 5; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.0.%zu", i + 1);
		evs[i] = mkev(i % 2 ? LEASE_EXPIRY : LEASE_COMMIT, ip,
		    "aa:bb:cc:dd:ee:01", (long long)i + 100);
	}
	sp = lease_spool_open(dir, 100, &cause);
	assert_non_null(sp);
	for (i = 0; i < 5; i++)
		assert_int_equal(lease_spool_append(sp, &evs[i], &cause), 0);
	assert_int_equal(lease_spool_sync(sp, &cause), 0);
	n = lease_spool_peek(sp, out, seqs, 3);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_ev_equal(&out[i], &evs[i]);
	assert_true(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
	assert_int_equal(lease_spool_ack(sp, seqs[1], &cause), 0);
	lease_spool_stats(sp, &st);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.acked, 2);
	lease_spool_close(sp);

	/* Restart: the same three unacknowledged events, in order. */
	sp = lease_spool_open(dir, 100, &cause);
	assert_non_null(sp);
	n = lease_spool_peek(sp, out, seqs, 8);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_ev_equal(&out[i], &evs[i + 2]);
	/* Acking a seq twice, or one already gone, is harmless. */
	assert_int_equal(lease_spool_ack(sp, seqs[0], &cause), 0);
	assert_int_equal(lease_spool_ack(sp, seqs[0], &cause), 0);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 8), 2);
	last = seqs[2];
	assert_int_equal(lease_spool_ack(sp, last, &cause), 0);
	/* Everything acked: compacted to nothing. */
	assert_int_equal(file_size(path), 0);
	lease_spool_close(sp);

	sp = lease_spool_open(dir, 100, &cause);
	assert_non_null(sp);
	assert_int_equal(lease_spool_peek(sp, out, seqs, 8), 0);
	/* Seqs never go back, even after a truncation and a restart. */
	assert_int_equal(lease_spool_append(sp, &evs[0], &cause), 0);
	assert_int_equal(lease_spool_peek(sp, out, seqs, 8), 1);
	assert_true(seqs[0] > last);
	lease_spool_close(sp);
	sp = lease_spool_open(dir, 100, &cause);
	assert_int_equal(lease_spool_peek(sp, out, seqs, 8), 1);
	assert_ev_equal(&out[0], &evs[0]);
	lease_spool_close(sp);
	free(path);
	rmtree(dir);
}

static void
test_spool_torn_line(void **state)
{
	char *dir = mktmp(), *cause = NULL, *path = spool_path(dir, "leases.spool");
	struct lease_spool *sp;
	struct lease_event evs[4], out[8];
	struct lease_spool_stats st;
	off_t good;
	size_t i;

	for (i = 0; i < 4; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.1.%zu", i + 1);
		evs[i] = mkev(LEASE_COMMIT, ip, "aa:bb:cc:dd:ee:01",
		    (long long)i);
	}
	sp = lease_spool_open(dir, 100, &cause);
	for (i = 0; i < 3; i++)
		assert_int_equal(lease_spool_append(sp, &evs[i], &cause), 0);
	lease_spool_close(sp);
	good = file_size(path);
	/* A crash in the middle of the next append. */
	write_text(path, "4 {\"action\":\"commit\",\"mac\":\"aa:b", 1);

	sp = lease_spool_open(dir, 100, &cause);
	assert_non_null(sp);
	lease_spool_stats(sp, &st);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.torn, 1);
	assert_int_equal(file_size(path), good);	/* cut off */
	assert_int_equal(lease_spool_append(sp, &evs[3], &cause), 0);
	lease_spool_close(sp);

	/* A damaged line in the middle is skipped, the rest kept. */
	write_text(path, "garbage\n", 1);
	sp = lease_spool_open(dir, 100, &cause);
	assert_non_null(sp);
	assert_int_equal(lease_spool_append(sp, &evs[0], &cause), 0);
	lease_spool_close(sp);
	sp = lease_spool_open(dir, 100, &cause);
	assert_non_null(sp);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 8), 5);
	for (i = 0; i < 4; i++)
		assert_ev_equal(&out[i], &evs[i]);
	assert_ev_equal(&out[4], &evs[0]);
	lease_spool_stats(sp, &st);
	assert_int_equal(st.torn, 1);
	lease_spool_close(sp);
	free(path);
	rmtree(dir);
}

static void
test_spool_bound(void **state)
{
	char *dir = mktmp(), *cause = NULL;
	struct lease_spool *sp;
	struct lease_event evs[8], out[8];
	struct lease_spool_stats st;
	uint64_t seqs[8];
	size_t i;

	for (i = 0; i < 8; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.2.%zu", i + 1);
		evs[i] = mkev(LEASE_COMMIT, ip, "aa:bb:cc:dd:ee:01",
		    (long long)i);
	}
	sp = lease_spool_open(dir, 5, &cause);
	for (i = 0; i < 8; i++)
		assert_int_equal(lease_spool_append(sp, &evs[i], &cause), 0);
	lease_spool_stats(sp, &st);
	assert_int_equal(st.pending, 5);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(lease_spool_peek(sp, out, seqs, 8), 5);
	for (i = 0; i < 5; i++)
		assert_ev_equal(&out[i], &evs[i + 3]);	/* the oldest went */
	/* An ack for a batch that the bound already dropped: fine. */
	assert_int_equal(lease_spool_ack(sp, seqs[0] - 2, &cause), 0);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 8), 5);
	lease_spool_close(sp);

	sp = lease_spool_open(dir, 5, &cause);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 8), 5);
	assert_ev_equal(&out[0], &evs[3]);
	lease_spool_close(sp);
	/* A smaller bound at restart keeps the newest. */
	sp = lease_spool_open(dir, 3, &cause);
	lease_spool_stats(sp, &st);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.dropped, 3);	/* seqs 3..5 of 3..8 */
	assert_int_equal(lease_spool_peek(sp, out, NULL, 8), 3);
	assert_ev_equal(&out[0], &evs[5]);
	assert_ev_equal(&out[2], &evs[7]);
	lease_spool_close(sp);
	rmtree(dir);
}

static void
test_spool_compaction(void **state)
{
	char *dir = mktmp(), *cause = NULL, *path = spool_path(dir, "leases.spool");
	struct lease_spool *sp;
	struct lease_event ev, out[4];
	uint64_t seqs[4];
	off_t max = 0;
	int i;

	/* Always one event left unacked: only a rewrite bounds the file. */
	sp = lease_spool_open(dir, 1000, &cause);
	for (i = 0; i < 1500; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250);
		ev = mkev(LEASE_COMMIT, ip, "aa:bb:cc:dd:ee:01", i);
		assert_int_equal(lease_spool_append(sp, &ev, &cause), 0);
		if (i > 0) {
			assert_int_equal(lease_spool_peek(sp, out, seqs, 1), 1);
			assert_int_equal(lease_spool_ack(sp, seqs[0], &cause),
			    0);
		}
		if (file_size(path) > max)
			max = file_size(path);
	}
	assert_true(max < 80 * 1024);
	lease_spool_close(sp);
	sp = lease_spool_open(dir, 1000, &cause);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 4), 1);
	assert_int_equal(out[0].timestamp, 1499);
	lease_spool_close(sp);

	/* A flood with no acks: the bound drops, the file stays bounded. */
	sp = lease_spool_open(dir, 50, &cause);
	max = 0;
	for (i = 0; i < 5000; i++) {
		ev = mkev(LEASE_EXPIRY, "10.2.0.1", "aa:bb:cc:dd:ee:01", i);
		assert_int_equal(lease_spool_append(sp, &ev, &cause), 0);
		if (file_size(path) > max)
			max = file_size(path);
	}
	assert_true(max < 80 * 1024);
	lease_spool_close(sp);
	sp = lease_spool_open(dir, 50, &cause);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 1), 1);
	assert_int_equal(out[0].timestamp, 4950);
	lease_spool_close(sp);
	free(path);
	rmtree(dir);
}

static void
test_spool_import(void **state)
{
	char *dir = mktmp(), *cause = NULL, *hook = spool_path(dir, "hook.spool"),
	    *imp = spool_path(dir, "hook.spool.importing");
	struct lease_spool *sp;
	struct lease_event ev0, out[8];
	struct lease_spool_stats st;
	size_t n;

	ev0 = mkev(LEASE_COMMIT, "10.3.0.1", "aa:bb:cc:dd:ee:01", 1);
	sp = lease_spool_open(dir, 100, &cause);
	assert_int_equal(lease_spool_append(sp, &ev0, &cause), 0);

	/* Nothing to import. */
	assert_int_equal(lease_spool_import(sp, hook, &n, &cause), 0);
	assert_int_equal(n, 0);

	/* A leftover from a crashed import goes first, then the file. */
	write_text(imp, "{\"action\":\"expiry\",\"mac\":\"aa:bb:cc:dd:ee:02\","
	    "\"ip_family\":\"ipv4\",\"ip\":\"10.3.0.2\",\"timestamp\":2}\n", 0);
	write_text(hook, "{\"action\":\"release\",\"mac\":\"aa:bb:cc:dd:ee:03\","
	    "\"ip_family\":\"ipv4\",\"ip\":\"10.3.0.3\",\"timestamp\":3}\n"
	    "not json\n"
	    "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:dd:ee:04\","
	    "\"ip_family\":\"ipv4\",\"ip\":\"10.3.0.4\",\"timestamp\":4,"
	    "\"lease_time\":30}\n"
	    "{\"action\":\"commit\",\"mac\":\"aa:bb", 0);
	assert_int_equal(lease_spool_import(sp, hook, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_int_equal(access(hook, F_OK), -1);
	assert_int_equal(access(imp, F_OK), -1);
	lease_spool_stats(sp, &st);
	assert_int_equal(st.torn, 2);
	lease_spool_close(sp);

	/* Durable, in order, after the event already there. */
	sp = lease_spool_open(dir, 100, &cause);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 8), 4);
	assert_ev_equal(&out[0], &ev0);
	assert_string_equal(out[1].ip, "10.3.0.2");
	assert_string_equal(out[2].ip, "10.3.0.3");
	assert_int_equal(out[2].action, LEASE_RELEASE);
	assert_string_equal(out[3].ip, "10.3.0.4");
	assert_int_equal(out[3].lease_time, 30);
	lease_spool_close(sp);
	free(hook);
	free(imp);
	rmtree(dir);
}

/* --- the service ---------------------------------------------------- */
struct fake_call {
	struct amp_box	*args;
	region_call_cb	 cb;
	void		*arg;
	int		 done;
};

struct fake {
	struct fake_call	calls[64];
	size_t			n;
};

static uint64_t
fake_send(void *a, const char *command, struct amp_box *args,
    unsigned flags, int timeout_ms, region_call_cb cb, void *cb_arg)
{
	struct fake *f = a;

	assert_string_equal(command, "UpdateLeases");
	assert_true(flags & REGION_CALL_IDEMPOTENT);
	assert_true(f->n < RACKD_NELEM(f->calls));
	f->calls[f->n].args = args;
	f->calls[f->n].cb = cb;
	f->calls[f->n].arg = cb_arg;
	f->calls[f->n].done = 0;
	return ++f->n;
}

static void
fake_answer(struct fake *f, size_t i, enum region_call_status status)
{
	struct region_call_result r;

	assert_true(i < f->n);
	assert_false(f->calls[i].done);
	memset(&r, 0, sizeof(r));
	r.status = status;
	if (status == REGION_CALL_REMOTE_ERROR) {
		r.error_code = "UNHANDLED";
		r.error_description = "KeyError: cluster_uuid";
	}
	f->calls[i].done = 1;
	f->calls[i].cb(&r, f->calls[i].arg);
}

static void
fake_free(struct fake *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		amp_box_free(f->calls[i].args);
	f->n = 0;
}

/* "ip,ip,..." of call i's updates, and its cluster_uuid checked. */
static char *
call_ips(struct fake *f, size_t i)
{
	struct amp_box **items;
	const struct amp_value *v;
	struct bytes b;
	size_t n, k;
	char *s, *cause = NULL;

	assert_true(i < f->n);
	assert_int_equal(amp_box_get_str(f->calls[i].args, "cluster_uuid", &s,
	    &cause), 0);
	assert_string_equal(s, "rack-sysid");
	free(s);
	v = amp_box_get(f->calls[i].args, "updates");
	assert_non_null(v);
	assert_int_equal(amp_list_decode(v->data, v->len, &items, &n, &cause),
	    0);
	bytes_init(&b);
	for (k = 0; k < n; k++) {
		assert_int_equal(amp_box_get_str(items[k], "ip", &s, &cause), 0);
		if (k > 0)
			bytes_add_str(&b, ",");
		bytes_add_str(&b, s);
		free(s);
		assert_int_equal(amp_box_get_str(items[k], "action", &s,
		    &cause), 0);
		bytes_add_str(&b, "/");
		bytes_add_str(&b, s);
		free(s);
	}
	bytes_add(&b, "", 1);
	amp_list_free(items, n);
	return (char *)bytes_steal(&b, NULL);
}

static void
assert_call(struct fake *f, size_t i, const char *want)
{
	char *got = call_ips(f, i);

	if (strcmp(got, want) != 0)
		fail_msg("call %zu: got %s, want %s", i, got, want);
	free(got);
}

/* Run the loop until f has want calls (or ~2 s pass). */
static void
spin(struct event_base *base, struct fake *f, size_t want)
{
	int i;

	for (i = 0; i < 2000 && (f == NULL || f->n < want); i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (f == NULL && i >= 20)
			break;
		usleep(1000);
	}
	if (f != NULL && f->n < want)
		fail_msg("%zu call(s), wanted %zu", f->n, want);
}

static void
dgram(const char *sock, const char *text)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd != -1);
	assert_int_equal(sendto(fd, text, strlen(text), 0,
	    (struct sockaddr *)&sun, sizeof(sun)), (ssize_t)strlen(text));
	close(fd);
}

static void
dgram_ev(const char *sock, enum lease_action a, const char *ip, long long ts)
{
	struct lease_event ev = mkev(a, ip, "aa:bb:cc:dd:ee:0a", ts);
	char *s = lease_event_encode(&ev);

	dgram(sock, s);
	free(s);
}

struct svc {
	struct event_base	*base;
	char			*dir, *run, *data;
	struct fake		 fake;
	struct leases		*l;
};

static struct leases *
svc_start(struct svc *s)
{
	char *cause = NULL;

	s->l = leases_new(s->base, NULL, s->run, s->data, 100, &cause);
	if (s->l == NULL)
		fail_msg("leases_new: %s", cause);
	leases_set_send(s->l, fake_send, &s->fake, "rack-sysid");
	return s->l;
}

static int
svc_setup(void **state)
{
	struct svc *s = xcalloc(1, sizeof(*s));

	s->base = event_base_new();
	s->dir = mktmp();
	xasprintf(&s->run, "%s/run", s->dir);
	xasprintf(&s->data, "%s/data", s->dir);
	mkdir(s->run, 0755);
	mkdir(s->data, 0755);
	*state = s;
	return 0;
}

static int
svc_teardown(void **state)
{
	struct svc *s = *state;
	size_t i;

	leases_free(s->l);
	/* The pool cancels what is in flight; the service is gone by then. */
	for (i = 0; i < s->fake.n; i++)
		if (!s->fake.calls[i].done)
			fake_answer(&s->fake, i, REGION_CALL_CANCELLED);
	fake_free(&s->fake);
	event_base_free(s->base);
	free(s->run);
	free(s->data);
	rmtree(s->dir);
	free(s);
	return 0;
}

static void
test_service_batches(void **state)
{
	struct svc *s = *state;
	struct leases_stats st;
	struct stat sb;
	const char *sock;

	svc_start(s);
	sock = leases_socket_path(s->l);
	assert_int_equal(stat(sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0660);
	spin(s->base, NULL, 0);
	assert_int_equal(s->fake.n, 0);		/* nothing to send */

	dgram_ev(sock, LEASE_COMMIT, "10.5.0.1", 1);
	dgram_ev(sock, LEASE_COMMIT, "10.5.0.2", 2);
	dgram_ev(sock, LEASE_EXPIRY, "10.5.0.1", 3);	/* repeated IP */
	dgram_ev(sock, LEASE_COMMIT, "10.5.0.3", 4);
	dgram(sock, "{\"action\":\"commit\"}");		/* rejected */
	spin(s->base, &s->fake, 1);
	assert_call(&s->fake, 0, "10.5.0.1/commit,10.5.0.2/commit");
	/* One batch in flight at a time. */
	spin(s->base, NULL, 0);
	assert_int_equal(s->fake.n, 1);
	leases_stats(s->l, &st);
	assert_int_equal(st.received, 4);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.pending, 4);
	assert_int_equal(st.inflight, 1);

	fake_answer(&s->fake, 0, REGION_CALL_OK);
	assert_int_equal(s->fake.n, 2);
	assert_call(&s->fake, 1, "10.5.0.1/expiry,10.5.0.3/commit");
	fake_answer(&s->fake, 1, REGION_CALL_OK);
	leases_stats(s->l, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(s->fake.n, 2);
}

static void
test_service_no_region(void **state)
{
	struct svc *s = *state;
	struct leases_stats st;
	const char *sock;

	svc_start(s);
	sock = leases_socket_path(s->l);
	dgram_ev(sock, LEASE_COMMIT, "10.6.0.1", 1);
	spin(s->base, &s->fake, 1);
	fake_answer(&s->fake, 0, REGION_CALL_NO_REGION);
	/* Kept; not resent at once. */
	spin(s->base, NULL, 0);
	assert_int_equal(s->fake.n, 1);
	leases_stats(s->l, &st);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.sent, 0);

	/* New events queue behind it. */
	dgram_ev(sock, LEASE_RELEASE, "10.6.0.1", 2);
	spin(s->base, NULL, 0);
	assert_int_equal(s->fake.n, 1);

	leases_region_up(s->l);
	spin(s->base, &s->fake, 2);
	assert_call(&s->fake, 1, "10.6.0.1/commit");
	fake_answer(&s->fake, 1, REGION_CALL_TIMEOUT);
	leases_region_up(s->l);
	spin(s->base, &s->fake, 3);
	assert_call(&s->fake, 2, "10.6.0.1/commit");
	fake_answer(&s->fake, 2, REGION_CALL_OK);
	assert_call(&s->fake, 3, "10.6.0.1/release");
	fake_answer(&s->fake, 3, REGION_CALL_OK);
	leases_stats(s->l, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.sent, 2);
}

static void
test_service_remote_error(void **state)
{
	struct svc *s = *state;
	struct leases_stats st;
	const char *sock;

	svc_start(s);
	sock = leases_socket_path(s->l);
	dgram_ev(sock, LEASE_COMMIT, "10.7.0.1", 1);
	spin(s->base, &s->fake, 1);
	dgram_ev(sock, LEASE_COMMIT, "10.7.0.2", 2);
	spin(s->base, NULL, 0);
	/* Refused: logged and acknowledged; the next batch goes. */
	fake_answer(&s->fake, 0, REGION_CALL_REMOTE_ERROR);
	assert_int_equal(s->fake.n, 2);
	assert_call(&s->fake, 1, "10.7.0.2/commit");
	fake_answer(&s->fake, 1, REGION_CALL_OK);
	leases_stats(s->l, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.pending, 0);
}

static void
test_service_restart(void **state)
{
	struct svc *s = *state;
	struct leases_stats st;
	char *sock;
	struct fake old;

	svc_start(s);
	sock = xstrdup(leases_socket_path(s->l));
	dgram_ev(sock, LEASE_COMMIT, "10.8.0.1", 1);
	dgram_ev(sock, LEASE_COMMIT, "10.8.0.2", 2);
	spin(s->base, &s->fake, 1);
	assert_call(&s->fake, 0, "10.8.0.1/commit,10.8.0.2/commit");

	/* Stop with the batch in flight: its late answer is ignored. */
	leases_free(s->l);
	s->l = NULL;
	assert_int_equal(access(sock, F_OK), -1);	/* socket removed */
	old = s->fake;
	memset(&s->fake, 0, sizeof(s->fake));
	fake_answer(&old, 0, REGION_CALL_CANCELLED);
	fake_free(&old);

	/* Restart: the unacknowledged events go again. */
	svc_start(s);
	spin(s->base, &s->fake, 1);
	assert_call(&s->fake, 0, "10.8.0.1/commit,10.8.0.2/commit");
	fake_answer(&s->fake, 0, REGION_CALL_OK);
	leases_free(s->l);
	s->l = NULL;
	fake_free(&s->fake);

	/* And once acknowledged, never again. */
	svc_start(s);
	spin(s->base, NULL, 0);
	assert_int_equal(s->fake.n, 0);
	leases_stats(s->l, &st);
	assert_int_equal(st.pending, 0);

	/* A stale socket file (rackd killed) is replaced. */
	leases_free(s->l);
	s->l = NULL;
	{
		struct sockaddr_un sun;
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/%s",
		    s->dir, LEASES_SOCKET_NAME);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun,
		    sizeof(sun)), 0);
		close(fd);
	}
	svc_start(s);
	dgram_ev(leases_socket_path(s->l), LEASE_EXPIRY, "10.8.0.1", 3);
	spin(s->base, &s->fake, 1);
	assert_call(&s->fake, 0, "10.8.0.1/expiry");
	fake_answer(&s->fake, 0, REGION_CALL_OK);
	free(sock);
}

/* --- the Kea side: fields -> events, the hook file and the nudge ------ */
static struct lease_fields
fields4(enum lease_action a, const char *ip, const char *hw)
{
	struct lease_fields f;

	memset(&f, 0, sizeof(f));
	f.action = a;
	f.family = LEASE_IPV4;
	f.address = ip;
	f.hwaddr = hw;
	f.cltt = "1796233833";
	f.valid_lifetime = "600";
	f.hostname = "node07";
	f.state = "default";
	return f;
}

static void
test_event_from_fields(void **state)
{
	struct lease_fields f;
	struct lease_event ev;
	char *cause = NULL, *json;

	f = fields4(LEASE_COMMIT, "10.77.1.0", "02:00:00:00:BB:01");
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 0);
	json = lease_event_encode(&ev);
	assert_string_equal(json, "{\"action\":\"commit\",\"mac\":"
	    "\"02:00:00:00:bb:01\",\"ip_family\":\"ipv4\",\"ip\":"
	    "\"10.77.1.0\",\"timestamp\":1796233833,\"lease_time\":600,"
	    "\"hostname\":\"node07\"}");
	free(json);
	assert_int_equal(lease_event_check(&ev, &cause), 0);

	/* A declined lease is "committed" too: not a commit for MAAS. */
	f.state = "declined";
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 1);
	/* ...but an expiry or release is reported whatever the state. */
	f.action = LEASE_EXPIRY;
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 0);
	assert_int_equal(ev.lease_time, -1);
	assert_string_equal(ev.hostname, "");

	/* A bad hostname drops the name, not the lease. */
	f = fields4(LEASE_COMMIT, "10.77.1.0", "02:00:00:00:bb:01");
	f.hostname = "bad\001name";
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 0);
	assert_string_equal(ev.hostname, "");

	/* Missing or bad fields name the run_script variable. */
	f.hwaddr = "";
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), -1);
	assert_non_null(strstr(cause, "HWADDR missing for 10.77.1.0"));
	free(cause);
	f = fields4(LEASE_COMMIT, "10.77.1.0", "02:00:00:00:bb:01");
	f.valid_lifetime = "-1";
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), -1);
	assert_non_null(strstr(cause, "VALID_LIFETIME"));
	free(cause);
	f = fields4(LEASE_RELEASE, "fe80::1", "02:00:00:00:bb:01");
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), -1);
	assert_non_null(strstr(cause, "ADDRESS"));
	free(cause);
	f.address = NULL;
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), -1);
	free(cause);

	/* v6: IA_NA only; a delegated prefix is skipped. */
	f = fields4(LEASE_COMMIT, "2001:db8::5", "02:00:00:00:bb:01");
	f.family = LEASE_IPV6;
	f.type = "IA_PD";
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 1);
	f.type = "IA_NA";
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 0);
	assert_int_equal(ev.family, LEASE_IPV6);
	/* No CLTT: now. */
	f.cltt = NULL;
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 0);
	assert_true(ev.timestamp > 1700000000LL);
}

/* Lines for events of ips[0..n) (commit, then release of the first). */
static void
hook_lines(struct lease_lines *ll, const char *const *ips, size_t n)
{
	struct lease_fields f;
	struct lease_event ev;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		f = fields4(LEASE_COMMIT, ips[i], "02:00:00:00:bb:01");
		assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 0);
		lease_lines_add(ll, &ev);
	}
	f = fields4(LEASE_RELEASE, ips[0], "02:00:00:00:bb:01");
	assert_int_equal(lease_event_from_fields(&f, &ev, &cause), 0);
	lease_lines_add(ll, &ev);
}

/* rackd absent: the lines land in the file (and are synced); the nudge
 * says nobody listens. */
static void
test_hookfile_no_rackd(void **state)
{
	static const char *const ips[] = { "10.9.0.1", "10.9.0.2" };
	struct lease_lines ll = { NULL, 0, 0, 0 };
	struct lease_spool *sp;
	struct lease_event out[4];
	char *dir = mktmp(), *path, *sock, *cause = NULL;
	size_t n;

	xasprintf(&path, "%s/lease-hook.spool", dir);
	xasprintf(&sock, "%s/lease.sock", dir);
	assert_int_equal(lease_hookfile_nudge(sock), -1);
	hook_lines(&ll, ips, 2);
	assert_int_equal(ll.n, 3);
	assert_int_equal(lease_hookfile_append(path, ll.buf, ll.len, sock,
	    &cause), 0);
	assert_int_equal(lease_hookfile_append(path, ll.buf, ll.len, NULL,
	    &cause), 0);
	lease_lines_free(&ll);
	/* What rackd imports: both calls, in order. */
	sp = lease_spool_open(dir, 0, &cause);
	assert_non_null(sp);
	assert_int_equal(lease_spool_import(sp, path, &n, &cause), 0);
	assert_int_equal(n, 6);
	assert_int_equal(lease_spool_peek(sp, out, NULL, 4), 4);
	assert_string_equal(out[0].ip, "10.9.0.1");
	assert_int_equal(out[0].action, LEASE_COMMIT);
	assert_string_equal(out[2].ip, "10.9.0.1");
	assert_int_equal(out[2].action, LEASE_RELEASE);
	assert_string_equal(out[3].ip, "10.9.0.1");
	assert_int_equal(out[3].action, LEASE_COMMIT);
	lease_spool_close(sp);
	/* A path that cannot be a file: an error with a cause. */
	assert_int_equal(lease_hookfile_append(dir, "x\n", 2, NULL, &cause),
	    -1);
	assert_non_null(strstr(cause, dir));
	free(cause);
	free(path);
	free(sock);
	rmtree(dir);
}

/* The library's path: lines in the hook file plus a nudge; rackd imports
 * them on the nudge itself (a few non-blocking loop turns, far below its
 * 1 s tick), in order. */
static void
test_service_nudge(void **state)
{
	static const char *const ips[] = { "10.9.1.1", "10.9.1.2" };
	struct svc *s = *state;
	struct lease_lines ll = { NULL, 0, 0, 0 };
	struct leases_stats st;
	char *cause = NULL;
	int i;

	svc_start(s);
	spin(s->base, NULL, 0);
	hook_lines(&ll, ips, 2);
	assert_int_equal(lease_hookfile_nudge(leases_socket_path(s->l)), 0);
	spin(s->base, NULL, 0);		/* a nudge with an empty file */
	assert_int_equal(lease_hookfile_append(leases_hook_spool_path(s->l),
	    ll.buf, ll.len, leases_socket_path(s->l), &cause), 0);
	lease_lines_free(&ll);
	for (i = 0; i < 5 && s->fake.n == 0; i++)
		event_base_loop(s->base, EVLOOP_NONBLOCK);
	assert_int_equal(s->fake.n, 1);
	/* Per-IP order: the batch stops before 10.9.1.1's second event. */
	assert_call(&s->fake, 0, "10.9.1.1/commit,10.9.1.2/commit");
	fake_answer(&s->fake, 0, REGION_CALL_OK);
	spin(s->base, &s->fake, 2);
	assert_call(&s->fake, 1, "10.9.1.1/release");
	fake_answer(&s->fake, 1, REGION_CALL_OK);
	leases_stats(s->l, &st);
	assert_int_equal(st.imported, 3);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(access(leases_hook_spool_path(s->l), F_OK), -1);
}

static void
test_service_import(void **state)
{
	struct svc *s = *state;
	char *dir, *hook;

	/* What the hook spooled while rackd was down is sent at start. */
	xasprintf(&dir, "%s/%s", s->data, LEASES_SPOOL_DIR);
	mkdir(dir, 0750);
	xasprintf(&hook, "%s/%s", dir, LEASES_HOOK_SPOOL_NAME);
	write_text(hook, "{\"action\":\"commit\",\"mac\":\"aa:bb:cc:dd:ee:01\","
	    "\"ip_family\":\"ipv4\",\"ip\":\"10.9.0.1\",\"timestamp\":1,"
	    "\"lease_time\":30}\n", 0);
	svc_start(s);
	assert_string_equal(leases_hook_spool_path(s->l), hook);
	assert_int_equal(access(hook, F_OK), -1);
	spin(s->base, &s->fake, 1);
	assert_call(&s->fake, 0, "10.9.0.1/commit");
	fake_answer(&s->fake, 0, REGION_CALL_OK);

	/* And while it runs, by the once-a-second tick. */
	write_text(hook, "{\"action\":\"expiry\",\"mac\":\"aa:bb:cc:dd:ee:01\","
	    "\"ip_family\":\"ipv4\",\"ip\":\"10.9.0.1\",\"timestamp\":2}\n", 0);
	spin(s->base, &s->fake, 2);
	assert_call(&s->fake, 1, "10.9.0.1/expiry");
	fake_answer(&s->fake, 1, REGION_CALL_OK);
	free(hook);
	free(dir);
}

/* --- the real hook binary ------------------------------------------- */
static char *
hook_binary(void)
{
	char exe[PATH_MAX], *p;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	/* <BUILD>/tests/test_leases -> <BUILD>/rackd-lease-hook */
	xasprintf(&p, "%s/../rackd-lease-hook", dirname(exe));
	if (access(p, X_OK) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* Run the hook as Kea does: argv[1] = hook point (via the wrapper's
 * options), environment = exactly the captured variables.  Returns its
 * exit status; its stderr goes to errpath. */
static int
run_hook(const char *bin, const char *envfile, const char *extra_env,
    const char *sock, const char *spoolp, const char *errpath)
{
	char line[1024], hookpt[1024] = "", *envv[128];
	size_t n = 0, i;
	FILE *fp;
	pid_t pid;
	int status;

	if (envfile != NULL) {
		char *path;

		xasprintf(&path, "%s/%s", DATA_DIR, envfile);
		if ((fp = fopen(path, "r")) == NULL)
			fail_msg("%s: %s", path, strerror(errno));
		free(path);
		while (fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "ARGV=", 5) == 0)
				snprintf(hookpt, sizeof(hookpt), "%s", line + 5);
			else if (strchr(line, '=') != NULL && n < 120)
				envv[n++] = xstrdup(line);
		}
		fclose(fp);
	}
	if (extra_env != NULL) {
		/* "HOOK=name;VAR=value;..." */
		char *dup = xstrdup(extra_env), *tok, *save = NULL;

		for (tok = strtok_r(dup, ";", &save); tok != NULL;
		    tok = strtok_r(NULL, ";", &save)) {
			if (strncmp(tok, "HOOK=", 5) == 0)
				snprintf(hookpt, sizeof(hookpt), "%s", tok + 5);
			else if (n < 120)
				envv[n++] = xstrdup(tok);
		}
		free(dup);
	}
	envv[n] = NULL;
	if ((pid = fork()) == 0) {
		char *argv[] = { (char *)bin, "--socket", (char *)sock,
		    "--spool", (char *)spoolp, hookpt, NULL };
		int fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd != -1)
			dup2(fd, 2);
		execve(bin, argv, envv);
		_exit(127);
	}
	for (i = 0; i < n; i++)
		free(envv[i]);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	struct bytes b;
	char buf[4096];
	size_t n;

	bytes_init(&b);
	if (fp != NULL) {
		while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
			bytes_add(&b, buf, n);
		fclose(fp);
	}
	bytes_add(&b, "", 1);
	return (char *)bytes_steal(&b, NULL);
}

static void
test_hook_socket(void **state)
{
	struct svc *s = *state;
	char *bin = hook_binary(), *spoolp, *errp, *err;
	struct leases_stats st;
	const char *sock;
	struct amp_box **items;
	const struct amp_value *v;
	size_t n;
	char *str, *cause = NULL;
	long long i;

	if (bin == NULL) {
		print_message("rackd-lease-hook not built next to tests/: "
		    "skipped\n");
		skip();
	}
	svc_start(s);
	sock = leases_socket_path(s->l);
	spoolp = xstrdup(leases_hook_spool_path(s->l));
	xasprintf(&errp, "%s/hook.err", s->dir);

	/* DORA as captured from Kea: one commit with a hostname. */
	assert_int_equal(run_hook(bin, "01-leases4_committed.env", NULL, sock,
	    spoolp, errp), 0);
	spin(s->base, &s->fake, 1);
	assert_call(&s->fake, 0, "10.77.1.0/commit");
	v = amp_box_get(s->fake.calls[0].args, "updates");
	assert_int_equal(amp_list_decode(v->data, v->len, &items, &n, &cause),
	    0);
	assert_int_equal(amp_box_get_str(items[0], "mac", &str, &cause), 0);
	assert_string_equal(str, "02:00:00:00:bb:01");
	free(str);
	assert_int_equal(amp_box_get_str(items[0], "hostname", &str, &cause), 0);
	assert_string_equal(str, "rack1-node07");
	free(str);
	assert_int_equal(amp_box_get_int(items[0], "timestamp", &i, &cause), 0);
	assert_int_equal(i, 1796233874);		/* the CLTT */
	assert_int_equal(amp_box_get_int(items[0], "lease_time", &i, &cause), 0);
	assert_int_equal(i, 4);
	amp_list_free(items, n);
	fake_answer(&s->fake, 0, REGION_CALL_OK);

	/* Renew: nothing.  Release: both the DELETED_LEASES4 commit and
	 * lease4_release report it.  Decline: the "declined" commit is
	 * skipped, lease4_decline is an expiry.  Then the expiry. */
	assert_int_equal(run_hook(bin, "02-lease4_renew.env", NULL, sock,
	    spoolp, errp), 0);
	assert_int_equal(run_hook(bin, "04-leases4_committed-release.env", NULL,
	    sock, spoolp, errp), 0);
	spin(s->base, &s->fake, 2);
	assert_call(&s->fake, 1, "10.77.1.1/release");
	fake_answer(&s->fake, 1, REGION_CALL_OK);
	assert_int_equal(run_hook(bin, "03-lease4_release.env", NULL, sock,
	    spoolp, errp), 0);
	spin(s->base, &s->fake, 3);
	assert_call(&s->fake, 2, "10.77.1.1/release");
	fake_answer(&s->fake, 2, REGION_CALL_OK);
	assert_int_equal(run_hook(bin, "05-leases4_committed-decline.env", NULL,
	    sock, spoolp, errp), 0);
	assert_int_equal(run_hook(bin, "06-lease4_decline.env", NULL, sock,
	    spoolp, errp), 0);
	spin(s->base, &s->fake, 4);
	assert_call(&s->fake, 3, "10.77.1.2/expiry");
	fake_answer(&s->fake, 3, REGION_CALL_OK);
	assert_int_equal(run_hook(bin, "07-lease4_expire.env", NULL, sock,
	    spoolp, errp), 0);
	spin(s->base, &s->fake, 5);
	assert_call(&s->fake, 4, "10.77.1.0/expiry");
	fake_answer(&s->fake, 4, REGION_CALL_OK);

	/* Several leases in one call, bad ones skipped with a message,
	 * IPv6, unknown hook points: all exit 0. */
	assert_int_equal(run_hook(bin, NULL, "HOOK=leases4_committed;"
	    "LEASES4_SIZE=3;DELETED_LEASES4_SIZE=1;"
	    "DELETED_LEASES4_AT0_ADDRESS=10.77.2.9;"
	    "DELETED_LEASES4_AT0_HWADDR=02:00:00:00:00:09;"
	    "DELETED_LEASES4_AT0_CLTT=5;"
	    "LEASES4_AT0_ADDRESS=10.77.2.1;LEASES4_AT0_HWADDR=2:0:0:0:0:1;"
	    "LEASES4_AT0_CLTT=10;LEASES4_AT0_VALID_LIFETIME=600;"
	    "LEASES4_AT0_STATE=default;LEASES4_AT0_HOSTNAME=;"
	    "LEASES4_AT1_ADDRESS=10.77.2.2;LEASES4_AT1_HWADDR=bogus;"
	    "LEASES4_AT1_CLTT=10;LEASES4_AT1_VALID_LIFETIME=600;"
	    "LEASES4_AT2_ADDRESS=10.77.2.3;LEASES4_AT2_HWADDR=02:00:00:00:00:03;"
	    "LEASES4_AT2_CLTT=1x;LEASES4_AT2_VALID_LIFETIME=600",
	    sock, spoolp, errp), 0);
	spin(s->base, &s->fake, 6);
	assert_call(&s->fake, 5, "10.77.2.9/release,10.77.2.1/commit");
	fake_answer(&s->fake, 5, REGION_CALL_OK);
	assert_int_equal(run_hook(bin, NULL, "HOOK=lease6_expire;"
	    "LEASE6_ADDRESS=2001:DB8::0:1;LEASE6_HWADDR=02:00:00:00:00:06;"
	    "LEASE6_CLTT=10;LEASE6_TYPE=IA_NA", sock, spoolp, errp), 0);
	spin(s->base, &s->fake, 7);
	assert_call(&s->fake, 6, "2001:db8::1/expiry");
	fake_answer(&s->fake, 6, REGION_CALL_OK);
	assert_int_equal(run_hook(bin, NULL, "HOOK=lease9_nonsense", sock,
	    spoolp, errp), 0);
	assert_int_equal(run_hook(bin, NULL, "HOOK=lease4_release;"
	    "LEASE4_ADDRESS=10.77.2.300;LEASE4_HWADDR=02:00:00:00:00:03",
	    sock, spoolp, errp), 0);
	spin(s->base, NULL, 0);
	assert_int_equal(s->fake.n, 7);
	leases_stats(s->l, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(access(spoolp, F_OK), -1);	/* never needed */

	err = slurp(errp);
	assert_non_null(strstr(err, "LEASES4_AT1_HWADDR"));
	assert_non_null(strstr(err, "LEASES4_AT2_CLTT"));
	assert_non_null(strstr(err, "lease9_nonsense"));
	assert_non_null(strstr(err, "10.77.2.300"));
	assert_null(strstr(err, "LEASES4_AT0"));	/* declined: quiet */
	free(err);
	free(errp);
	free(spoolp);
	free(bin);
}

static void
test_hook_fallback(void **state)
{
	struct svc *s = *state;
	char *bin = hook_binary(), *sock, *spoolp, *errp, *text, *dir;
	struct lease_event ev;
	char *cause = NULL, *nl;

	if (bin == NULL) {
		print_message("rackd-lease-hook not built: skipped\n");
		skip();
	}
	/* rackd is down: no socket. */
	xasprintf(&sock, "%s/%s", s->run, LEASES_SOCKET_NAME);
	xasprintf(&dir, "%s/%s", s->data, LEASES_SPOOL_DIR);
	mkdir(dir, 0750);
	xasprintf(&spoolp, "%s/%s", dir, LEASES_HOOK_SPOOL_NAME);
	xasprintf(&errp, "%s/hook.err", s->dir);
	assert_int_equal(run_hook(bin, "01-leases4_committed.env", NULL, sock,
	    spoolp, errp), 0);
	assert_int_equal(run_hook(bin, "07-lease4_expire.env", NULL, sock,
	    spoolp, errp), 0);
	text = slurp(spoolp);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_int_equal(lease_event_parse(text, (size_t)(nl - text + 1), &ev,
	    &cause), 0);
	assert_int_equal(ev.action, LEASE_COMMIT);
	assert_string_equal(ev.ip, "10.77.1.0");
	assert_string_equal(ev.hostname, "rack1-node07");
	assert_int_equal(lease_event_parse(nl + 1, strlen(nl + 1), &ev,
	    &cause), 0);
	assert_int_equal(ev.action, LEASE_EXPIRY);
	free(text);
	text = slurp(errp);
	assert_string_equal(text, "");		/* a normal path: quiet */
	free(text);

	/* rackd starts: imports the file, sends both in order. */
	svc_start(s);
	assert_int_equal(access(spoolp, F_OK), -1);
	spin(s->base, &s->fake, 1);
	assert_call(&s->fake, 0, "10.77.1.0/commit");
	fake_answer(&s->fake, 0, REGION_CALL_OK);
	assert_call(&s->fake, 1, "10.77.1.0/expiry");
	fake_answer(&s->fake, 1, REGION_CALL_OK);
	free(bin);
	free(sock);
	free(dir);
	free(spoolp);
	free(errp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_parse_good),
		cmocka_unit_test(test_event_parse_bad),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_event_encode),
		cmocka_unit_test(test_batch_take),
		cmocka_unit_test(test_batch_args),
		cmocka_unit_test(test_spool_append_ack_restart),
		cmocka_unit_test(test_spool_torn_line),
		cmocka_unit_test(test_spool_bound),
		cmocka_unit_test(test_spool_compaction),
		cmocka_unit_test(test_spool_import),
		cmocka_unit_test(test_event_from_fields),
		cmocka_unit_test(test_hookfile_no_rackd),
		cmocka_unit_test_setup_teardown(test_service_batches,
		    svc_setup, svc_teardown),
		cmocka_unit_test_setup_teardown(test_service_no_region,
		    svc_setup, svc_teardown),
		cmocka_unit_test_setup_teardown(test_service_remote_error,
		    svc_setup, svc_teardown),
		cmocka_unit_test_setup_teardown(test_service_restart,
		    svc_setup, svc_teardown),
		cmocka_unit_test_setup_teardown(test_service_import,
		    svc_setup, svc_teardown),
		cmocka_unit_test_setup_teardown(test_service_nudge,
		    svc_setup, svc_teardown),
		cmocka_unit_test_setup_teardown(test_hook_socket,
		    svc_setup, svc_teardown),
		cmocka_unit_test_setup_teardown(test_hook_fallback,
		    svc_setup, svc_teardown),
	};

	log_init("test_leases", getenv("TEST_DEBUG") != NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
