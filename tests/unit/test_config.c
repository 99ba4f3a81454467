/*
 * test_config.c — config.c: golden files in tests/unit/data/config
 * (NN-name.yaml with NN-name.ok = expected config_print output, or
 * NN-name.err = expected error, exact), round trips, rackd init, the
 * example file, the man page and reload diffs.
 *
 * Run from the repository root.  RACKD_UPDATE_GOLDEN=1 rewrites the
 * .ok/.err files from the current output (review the diff!).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

#define GOLDEN_DIR	"tests/unit/data/config"

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		fail_msg("short read %s", path);
	buf[n] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = (size_t)n;
	return buf;
}

static void
spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* config_print output with the system host name line made stable. */
static char *
print_cfg(const struct rackd_config *cfg)
{
	struct rackd_config *def = config_defaults();
	char *buf, *line, *out;
	size_t len;
	FILE *f;

	assert_non_null(f = open_memstream(&buf, &len));
	config_print(f, cfg);
	fclose(f);
	xasprintf(&line, "hostname: %s\n", def->hostname);
	if ((out = strstr(buf, line)) != NULL && strcmp(cfg->hostname,
	    def->hostname) == 0) {
		char *fixed;

		*out = '\0';
		xasprintf(&fixed, "%shostname: @SYSTEM@\n%s", buf,
		    out + strlen(line));
		free(buf);
		buf = fixed;
	}
	free(line);
	config_free(def);
	return buf;
}

static char *
print_raw(const struct rackd_config *cfg)
{
	char *buf;
	size_t len;
	FILE *f;

	assert_non_null(f = open_memstream(&buf, &len));
	config_print(f, cfg);
	fclose(f);
	return buf;
}

/* print -> load -> print must be a fixed point. */
static void
check_round_trip(const struct rackd_config *cfg)
{
	struct rackd_config *again;
	char *a, *b, *cause = NULL;

	a = print_raw(cfg);
	again = config_load_mem("printed", a, strlen(a), &cause);
	if (again == NULL)
		fail_msg("printed config does not load: %s\n%s", cause, a);
	b = print_raw(again);
	assert_string_equal(a, b);
	assert_int_equal(config_log_changes(cfg, again), 0);
	config_free(again);
	free(a);
	free(b);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_golden(void **state)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, *path, *text, *expect, *got, *cause, *base;
	size_t n = 0, i, len, nl;
	int update = getenv("RACKD_UPDATE_GOLDEN") != NULL, nok = 0, nerr = 0;
	struct rackd_config *cfg;

	assert_non_null(d = opendir(GOLDEN_DIR));
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (nl > 5 && strcmp(de->d_name + nl - 5, ".yaml") == 0) {
			names = xreallocarray(names, n + 1, sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	assert_true(n >= 20);

	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", GOLDEN_DIR, names[i]);
		assert_non_null(text = slurp(path, &len));
		free(path);
		base = xstrndup(names[i], strlen(names[i]) - 5);
		cause = NULL;
		cfg = config_load_mem(names[i], text, len, &cause);
		if (cfg != NULL) {
			got = print_cfg(cfg);
			check_round_trip(cfg);
			config_free(cfg);
			xasprintf(&path, "%s/%s.ok", GOLDEN_DIR, base);
			nok++;
		} else {
			xasprintf(&got, "%s\n", cause);
			free(cause);
			xasprintf(&path, "%s/%s.err", GOLDEN_DIR, base);
			nerr++;
		}
		if (update)
			spit(path, got);
		expect = slurp(path, NULL);
		if (expect == NULL)
			fail_msg("%s: missing (the input %s); got:\n%s", path,
			    cfg != NULL ? "loads" : "fails", got);
		if (strcmp(expect, got) != 0)
			fail_msg("%s: expected:\n%s\ngot:\n%s", path, expect,
			    got);
		free(expect);
		free(got);
		free(path);
		free(base);
		free(text);
		free(names[i]);
	}
	free(names);
	/* Both kinds are really exercised. */
	assert_true(nok >= 10);
	assert_true(nerr >= 10);
}

static void
test_defaults(void **state)
{
	struct rackd_config *def = config_defaults(), *empty;
	char *cause = NULL, *a, *b;
	size_t i;

	assert_int_equal(def->n_maas_urls, 1);
	assert_string_equal(def->maas_urls[0], "http://localhost:5240/MAAS");
	assert_null(def->maas_urls[1]);
	assert_null(def->cluster_uuid);
	assert_false(def->debug);
	assert_int_equal(def->tftp_port, 69);
	assert_string_equal(def->secret_file, "/var/lib/maas/secret");
	assert_string_equal(def->run_dir, "/run/rackd");
	assert_non_null(def->hostname);
	assert_true(strlen(def->hostname) > 0);
	assert_int_equal(def->region.discovery_timeout_ms, 5000);
	assert_int_equal(def->region.handshake_timeout_ms, 30000);
	assert_int_equal(def->region.call_timeout_ms, 120000);
	assert_int_equal(def->region.queue_max, 1000);
	assert_int_equal(def->max_rpc_connections, 4);
	assert_int_equal(def->rpc_keepalive, 1000);

	empty = config_load_mem("empty", "", 0, &cause);
	assert_non_null(empty);
	a = print_raw(def);
	b = print_raw(empty);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_string_equal(empty->path, "empty");
	config_free(empty);
	config_free(def);
	config_free(NULL);

	/* Every row is documented; bounds contain the default. */
	for (i = 0; i < config_nkeys; i++) {
		assert_non_null(config_keys[i].doc);
		if (config_keys[i].type == CONFIG_INT ||
		    config_keys[i].type == CONFIG_DURATION)
			assert_true(config_keys[i].min <= config_keys[i].max);
	}
}

static void
test_values(void **state)
{
	const char *y = "maas_url: [http://a/MAAS, http://b/MAAS]\n"
	    "debug: Yes\nregion:\n  liveness_timeout: 1.5\n"
	    "  discovery_timeout: 500ms\n  backoff_max: 1m\n";
	struct rackd_config *cfg;
	char *cause = NULL;

	cfg = config_load_mem("t", y, strlen(y), &cause);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_maas_urls, 2);
	assert_string_equal(cfg->maas_urls[1], "http://b/MAAS");
	assert_null(cfg->maas_urls[2]);
	assert_true(cfg->debug);
	assert_int_equal(cfg->region.liveness_timeout_ms, 1500);
	assert_int_equal(cfg->region.discovery_timeout_ms, 500);
	assert_int_equal(cfg->region.backoff_max_ms, 60000);
	config_free(cfg);
}

static void
test_load_file(void **state)
{
	struct rackd_config *cfg;
	char *cause = NULL;

	cfg = config_load(GOLDEN_DIR "/03-maas-deb.yaml", &cause);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, GOLDEN_DIR "/03-maas-deb.yaml");
	assert_string_equal(cfg->cluster_uuid,
	    "5b6c3a44-1c2e-4b1f-9d0a-0f4d2c9e6a11");
	config_note_unused(cfg);
	config_free(cfg);

	cfg = config_load(GOLDEN_DIR "/27-err-int-range.yaml", &cause);
	assert_null(cfg);
	assert_string_equal(cause, GOLDEN_DIR "/27-err-int-range.yaml:1:12: "
	    "key 'tftp_port': 70000 is out of range (0..65535)");
	free(cause);

	cause = NULL;
	assert_null(config_load("/nonexistent/rackd.conf", &cause));
	assert_non_null(strstr(cause, "/nonexistent/rackd.conf"));
	assert_non_null(strstr(cause, "No such file"));
	free(cause);
}

static void
test_example(void **state)
{
	struct rackd_config *cfg, *def;
	char *cause = NULL, *text, *want;
	const char *leaf;
	size_t i;

	cfg = config_load("etc/rackd.conf.example", &cause);
	if (cfg == NULL)
		fail_msg("%s", cause);
	assert_int_equal(cfg->n_maas_urls, 1);
	assert_string_equal(cfg->maas_urls[0], "http://127.0.0.1:5240/MAAS");
	/* Everything else is left at its default. */
	def = config_defaults();
	assert_int_equal(config_log_changes(def, cfg), 1);
	config_free(def);
	config_free(cfg);

	/* The example documents every key of the table. */
	assert_non_null(text = slurp("etc/rackd.conf.example", NULL));
	for (i = 0; i < config_nkeys; i++) {
		leaf = strrchr(config_keys[i].name, '.');
		leaf = leaf != NULL ? leaf + 1 : config_keys[i].name;
		xasprintf(&want, "%s:", leaf);
		if (strstr(text, want) == NULL)
			fail_msg("example lacks %s", config_keys[i].name);
		free(want);
	}
	free(text);
}

static void
test_log_changes(void **state)
{
	const char *a = "maas_url: http://a/MAAS\n";
	const char *b = "maas_url: [http://a/MAAS, http://b/MAAS]\n"
	    "debug: true\ncluster_uuid: 5b6c3a44-1c2e-4b1f-9d0a-0f4d2c9e6a11\n"
	    "region:\n  liveness_timeout: 3s\n";
	struct rackd_config *ca, *cb;
	char *cause = NULL;

	assert_non_null(ca = config_load_mem("a", a, strlen(a), &cause));
	assert_non_null(cb = config_load_mem("b", b, strlen(b), &cause));
	assert_int_equal(config_log_changes(ca, ca), 0);
	assert_int_equal(config_log_changes(ca, cb), 4);
	assert_int_equal(config_log_changes(cb, ca), 4);
	config_free(ca);
	config_free(cb);
}

static void
test_man(void **state)
{
	char *buf, *want;
	size_t len, i;
	FILE *f;

	assert_non_null(f = open_memstream(&buf, &len));
	config_print_man(f);
	fclose(f);
	assert_non_null(strstr(buf, ".TH RACKD.CONF 5"));
	assert_non_null(strstr(buf, ".SH NAME"));
	assert_non_null(strstr(buf, ".SH SYNOPSIS"));
	assert_non_null(strstr(buf, ".SH DESCRIPTION"));
	assert_non_null(strstr(buf, ".SH EXAMPLES"));
	assert_non_null(strstr(buf, ".SH FILES"));
	assert_non_null(strstr(buf, ".SH SEE ALSO\n.BR rackd (8)"));
	assert_non_null(strstr(buf, "Range: 100ms to 60s."));
	for (i = 0; i < config_nkeys; i++) {
		if (config_keys[i].type == CONFIG_SECTION)
			continue;
		xasprintf(&want, ".TP\n.B %s\n", config_keys[i].name);
		if (strstr(buf, want) == NULL)
			fail_msg("man page lacks %s", config_keys[i].name);
		free(want);
	}
	free(buf);
}

/* --- rackd init ---------------------------------------------------- */

struct tmp {
	char	 dir[64];
	char	*conf;
	char	*secret;
};

static int
tmp_setup(void **state)
{
	struct tmp *t = xcalloc(1, sizeof *t);

	strcpy(t->dir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	xasprintf(&t->conf, "%s/etc/rackd.conf", t->dir);
	xasprintf(&t->secret, "%s/lib/maas/secret", t->dir);
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char *cmd;

	xasprintf(&cmd, "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	free(t->conf);
	free(t->secret);
	free(t);
	return 0;
}

static void
test_init_write(void **state)
{
	struct tmp *t = *state;
	struct rackd_config *cfg;
	struct stat st;
	char *dir, *text, *cause = NULL, *sec;
	char *urls[] = { "http://127.0.0.1:5240/MAAS",
	    "http://127.0.0.2:5240/MAAS", NULL };
	const char *hex = "0123456789abcdef0123456789ABCDEF";

	xasprintf(&dir, "%s/etc", t->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	free(dir);
	xasprintf(&text, "# my rack\nmaas_url:\n- http://old/MAAS\n"
	    "  # old comment\n- http://old2/MAAS\n\n# keep me\n"
	    "debug: true\nsecret_file: %s\nregion:\n  queue_max: 7\n",
	    t->secret);
	spit(t->conf, text);
	free(text);

	assert_int_equal(config_init_write(t->conf, urls, 2, hex, &cause), 0);
	cfg = config_load(t->conf, &cause);
	if (cfg == NULL)
		fail_msg("%s", cause);
	assert_int_equal(cfg->n_maas_urls, 2);
	assert_string_equal(cfg->maas_urls[0], urls[0]);
	assert_string_equal(cfg->maas_urls[1], urls[1]);
	assert_true(cfg->debug);
	assert_int_equal(cfg->region.queue_max, 7);
	assert_string_equal(cfg->secret_file, t->secret);
	config_free(cfg);

	text = slurp(t->conf, NULL);
	assert_non_null(strstr(text, "# my rack\n"));
	assert_non_null(strstr(text, "# keep me\n"));
	assert_null(strstr(text, "http://old"));
	assert_null(strstr(text, "old comment"));
	free(text);
	assert_int_equal(stat(t->conf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(stat(t->secret, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	sec = slurp(t->secret, NULL);
	assert_string_equal(sec, "0123456789abcdef0123456789ABCDEF\n");
	free(sec);

	/* One URL is written as a plain string. */
	assert_int_equal(config_init_write(t->conf, urls, 1,
	    "00112233445566778899", &cause), 0);
	text = slurp(t->conf, NULL);
	assert_non_null(strstr(text, "\nmaas_url: http://127.0.0.1:5240/MAAS\n"
	    "\n# keep me\n"));
	free(text);
	sec = slurp(t->secret, NULL);
	assert_string_equal(sec, "00112233445566778899\n");
	free(sec);
}

static void
test_init_write_new_key(void **state)
{
	struct tmp *t = *state;
	struct rackd_config *cfg;
	char *cause = NULL, *text;
	char *urls[] = { "https://[::1]:5443/MAAS", NULL };

	/* No maas_url yet, no trailing newline: the entry is appended;
	 * the config's own directory is created. */
	xasprintf(&text, "%s/new/rackd.conf", t->dir);
	free(t->conf);
	t->conf = text;
	xasprintf(&text, "%s/etc", t->dir);
	mkdir(text, 0755);
	free(text);
	xasprintf(&text, "%s/new", t->dir);
	mkdir(text, 0755);
	free(text);
	xasprintf(&text, "secret_file: %s", t->secret);
	spit(t->conf, text);
	free(text);
	assert_int_equal(config_init_write(t->conf, urls, 1,
	    "aabbccddeeff0011", &cause), 0);
	assert_non_null(cfg = config_load(t->conf, &cause));
	assert_string_equal(cfg->maas_urls[0], urls[0]);
	config_free(cfg);
}

static void
expect_init_fails(struct tmp *t, char *const *urls, size_t n,
    const char *hex, const char *msg)
{
	char *before, *after, *cause = NULL;
	struct stat st;

	before = slurp(t->conf, NULL);
	assert_int_equal(config_init_write(t->conf, urls, n, hex, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, msg) == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, msg);
	/* Never echo the secret. */
	if (hex != NULL && strlen(hex) > 4)
		assert_null(strstr(cause, hex));
	free(cause);
	after = slurp(t->conf, NULL);
	assert_string_equal(before, after);
	assert_int_equal(stat(t->secret, &st), -1);
	assert_int_equal(errno, ENOENT);
	free(before);
	free(after);
}

static void
test_init_write_rejects(void **state)
{
	struct tmp *t = *state;
	char *text, *dir;
	char *good[] = { "http://127.0.0.1:5240/MAAS", NULL };
	char *bad[] = { "ftp://127.0.0.1/MAAS", NULL };

	xasprintf(&dir, "%s/etc", t->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	free(dir);
	xasprintf(&text, "debug: true\nsecret_file: %s\n", t->secret);
	spit(t->conf, text);
	free(text);

	expect_init_fails(t, good, 1, "0123456789abcde", "even number");
	expect_init_fails(t, good, 1, "0123456789abcdeg", "hexadecimal");
	expect_init_fails(t, good, 1, "00112233", "too short");
	expect_init_fails(t, good, 1, "", "empty");
	expect_init_fails(t, bad, 1, "0123456789abcdef", "http or https");
	expect_init_fails(t, good, 0, "0123456789abcdef", "at least one");

	/* A config that would not load after the edit is left alone. */
	spit(t->conf, "debug: maybe\n");
	expect_init_fails(t, good, 1, "0123456789abcdef", "key 'debug'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_log_changes),
		cmocka_unit_test(test_man),
		cmocka_unit_test_setup_teardown(test_init_write, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_init_write_new_key,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_init_write_rejects,
		    tmp_setup, tmp_teardown),
	};

	log_init("test_config", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
