/*
 * test_rpc.c — the region layer's command registry (rpc.h): services'
 * tables register (sorted, found by name, with their own context), a
 * taken or malformed name refuses the whole table, dispatch hands the
 * arguments and context to the handler, an unknown command is answered
 * as Twisted answers it (UNHANDLED, "Unhandled Command: b'<name>'"),
 * and the rack's own commands (Ping, Identify, DisableAndShutoffRackd)
 * answer through the same path.  Requests are made in-process
 * (region_request_new_local), so the replies checked are the boxes that
 * would go on the wire.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "amp.h"
#include "config.h"
#include "region.h"
#include "rpc.h"
#include "xmalloc.h"

struct fixture {
	struct event_base	*base;
	struct rackd_config	*cfg;
	struct rpc		*rpc;
	char			 dir[64];
	char			 secret[128];
	int			 shutdowns;
};

/* The last reply a local request got. */
struct reply {
	int	 n;
	char	*code, *desc, *value;	/* _error_code, _error_description, "v" */
	int	 is_error, is_answer;
};

static void
reply_done(const struct amp_box *box, void *arg)
{
	struct reply *r = arg;
	char *cause = NULL;

	r->n++;
	r->is_answer = amp_box_has(box, "_answer");
	r->is_error = amp_box_has(box, "_error");
	if (amp_box_has(box, "_error_code"))
		assert_int_equal(amp_box_get_str(box, "_error_code", &r->code,
		    &cause), 0);
	if (amp_box_has(box, "_error_description"))
		assert_int_equal(amp_box_get_str(box, "_error_description",
		    &r->desc, &cause), 0);
	if (amp_box_has(box, "v"))
		assert_int_equal(amp_box_get_str(box, "v", &r->value, &cause),
		    0);
	if (amp_box_has(box, "ident"))
		assert_int_equal(amp_box_get_str(box, "ident", &r->value,
		    &cause), 0);
}

static void
reply_clear(struct reply *r)
{
	free(r->code);
	free(r->desc);
	free(r->value);
	memset(r, 0, sizeof *r);
}

/* Call command with args (NULL: none) as the region would; reply in *r. */
static void
call(struct fixture *f, const char *command, const struct amp_box *args,
    struct reply *r)
{
	struct region_request *req;
	struct amp_box *none = amp_box_new();

	reply_clear(r);
	req = region_request_new_local(command, "test:pid=1", reply_done, r);
	/* A region's command always has a box, if empty. */
	rpc_command(req, command, args != NULL ? args : none, f->rpc);
	amp_box_free(none);
}

static void
on_shutdown(void *arg)
{
	((struct fixture *)arg)->shutdowns++;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	struct rpc_hooks hooks = { on_shutdown, f };
	char conf[512], *cause = NULL;

	snprintf(f->dir, sizeof f->dir, "/tmp/rackd-test-rpc.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->secret, sizeof f->secret, "%s/secret", f->dir);
	snprintf(conf, sizeof conf, "maas_url: http://127.0.0.1:9/MAAS\n"
	    "data_dir: %s\nrun_dir: %s\nsecret_file: %s\n", f->dir, f->dir,
	    f->secret);
	f->cfg = config_load_mem("test.conf", conf, strlen(conf), &cause);
	assert_non_null(f->cfg);
	f->base = event_base_new();
	f->rpc = rpc_new(f->base, f->cfg, &hooks);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rpc_free(f->rpc);
	event_base_free(f->base);
	config_free(f->cfg);
	unlink(f->secret);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A service: counts calls, answers {"v": its name}. */
struct svc {
	const char	*name;
	int		 calls;
	char		*last_arg;
};

static void
svc_echo(void *ctx, struct region_request *req, const struct amp_box *args)
{
	struct svc *s = ctx;
	struct amp_box *ans = amp_box_new();
	char *cause = NULL;

	s->calls++;
	free(s->last_arg);
	s->last_arg = NULL;
	if (amp_box_has(args, "x"))
		assert_int_equal(amp_box_get_str(args, "x", &s->last_arg,
		    &cause), 0);
	amp_box_put_str(ans, "v", s->name);
	region_request_answer(req, ans);
}

static void
svc_fail(void *ctx, struct region_request *req, const struct amp_box *args)
{
	((struct svc *)ctx)->calls++;
	region_request_error(req, "PowerActionFail", "no");
}

static const struct rpc_command power_like[] = {
	{ "PowerOn", svc_echo, "on" },
	{ "PowerOff", svc_fail, "off" },
	{ "PowerQuery", svc_echo, "query" },
};

static const struct rpc_command dhcp_like[] = {
	{ "ConfigureDHCPv4", svc_echo, "v4" },
	{ "ConfigureDHCPv6", svc_echo, "v6" },
};

/* The rack's own three, then two services: sorted, each with its ctx. */
static void
test_register(void **state)
{
	struct fixture *f = *state;
	struct svc p = { "power", 0, NULL }, d = { "dhcp", 0, NULL };
	char *cause = NULL;
	void *ctx = NULL;
	size_t i;

	assert_int_equal(rpc_count(f->rpc), 3);
	assert_non_null(rpc_lookup(f->rpc, "Identify", NULL));
	assert_non_null(rpc_lookup(f->rpc, "Ping", NULL));
	assert_non_null(rpc_lookup(f->rpc, "DisableAndShutoffRackd", NULL));
	assert_null(rpc_lookup(f->rpc, "PowerOn", NULL));

	assert_int_equal(rpc_register(f->rpc, power_like, 3, &p, &cause), 0);
	assert_int_equal(rpc_register(f->rpc, dhcp_like, 2, &d, &cause), 0);
	assert_null(cause);
	assert_int_equal(rpc_count(f->rpc), 8);
	for (i = 1; i < rpc_count(f->rpc); i++)
		assert_true(strcmp(rpc_nth(f->rpc, i - 1)->name,
		    rpc_nth(f->rpc, i)->name) < 0);
	assert_null(rpc_nth(f->rpc, 8));
	assert_ptr_equal(rpc_lookup(f->rpc, "PowerOff", &ctx), &power_like[1]);
	assert_ptr_equal(ctx, &p);
	assert_ptr_equal(rpc_lookup(f->rpc, "ConfigureDHCPv6", &ctx),
	    &dhcp_like[1]);
	assert_ptr_equal(ctx, &d);
	/* Names are exact: no prefix or case folding. */
	assert_null(rpc_lookup(f->rpc, "Power", NULL));
	assert_null(rpc_lookup(f->rpc, "poweron", NULL));
	assert_null(rpc_lookup(f->rpc, "", NULL));
}

/* A taken name, a name twice in one table, a row without handler or
 * name: refused with a cause naming it, and nothing of that table added. */
static void
test_duplicate_refused(void **state)
{
	struct fixture *f = *state;
	struct svc p = { "power", 0, NULL }, q = { "again", 0, NULL };
	static const struct rpc_command clash_own[] = {
		{ "Zeta", svc_echo, "" },
		{ "Ping", svc_echo, "takes the rack's own" },
	};
	static const struct rpc_command clash_self[] = {
		{ "Alpha", svc_echo, "" },
		{ "Beta", svc_echo, "" },
		{ "Alpha", svc_fail, "" },
	};
	static const struct rpc_command no_fn[] = {
		{ "Gamma", svc_echo, "" },
		{ "Delta", NULL, "" },
	};
	static const struct rpc_command no_name[] = {
		{ NULL, svc_echo, "" },
	};
	static const struct rpc_command empty_name[] = {
		{ "", svc_echo, "" },
	};
	struct reply r = { 0 };
	char *cause = NULL;
	void *ctx;

	assert_int_equal(rpc_register(f->rpc, power_like, 3, &p, &cause), 0);
	/* The same table again (another service claiming PowerOn). */
	assert_int_equal(rpc_register(f->rpc, power_like, 3, &q, &cause), -1);
	assert_non_null(strstr(cause, "PowerOn"));
	assert_non_null(strstr(cause, "registered already"));
	free(cause);
	cause = NULL;
	assert_non_null(rpc_lookup(f->rpc, "PowerOn", &ctx));
	assert_ptr_equal(ctx, &p);		/* the first owner stays */

	assert_int_equal(rpc_register(f->rpc, clash_own, 2, &q, &cause), -1);
	assert_non_null(strstr(cause, "Ping"));
	free(cause);
	cause = NULL;
	assert_null(rpc_lookup(f->rpc, "Zeta", NULL));	/* all or nothing */

	assert_int_equal(rpc_register(f->rpc, clash_self, 3, &q, &cause), -1);
	assert_non_null(strstr(cause, "Alpha"));
	assert_non_null(strstr(cause, "twice"));
	free(cause);
	cause = NULL;
	assert_null(rpc_lookup(f->rpc, "Alpha", NULL));
	assert_null(rpc_lookup(f->rpc, "Beta", NULL));

	assert_int_equal(rpc_register(f->rpc, no_fn, 2, &q, &cause), -1);
	assert_non_null(strstr(cause, "Delta"));
	assert_non_null(strstr(cause, "handler"));
	free(cause);
	cause = NULL;
	assert_null(rpc_lookup(f->rpc, "Gamma", NULL));
	assert_int_equal(rpc_register(f->rpc, no_name, 1, &q, &cause), -1);
	assert_non_null(strstr(cause, "name"));
	free(cause);
	cause = NULL;
	assert_int_equal(rpc_register(f->rpc, empty_name, 1, &q, &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(rpc_count(f->rpc), 6);

	/* The refused tables left dispatch as it was. */
	call(f, "PowerOn", NULL, &r);
	assert_int_equal(p.calls, 1);
	assert_int_equal(q.calls, 0);
	assert_string_equal(r.value, "power");
	reply_clear(&r);
	/* An empty table is fine. */
	assert_int_equal(rpc_register(f->rpc, NULL, 0, &q, &cause), 0);
}

/* The handler gets its table's ctx and the region's arguments; its
 * answer or error is the reply. */
static void
test_dispatch(void **state)
{
	struct fixture *f = *state;
	struct svc p = { "power", 0, NULL }, d = { "dhcp", 0, NULL };
	struct amp_box *args = amp_box_new();
	struct reply r = { 0 };
	char *cause = NULL;

	assert_int_equal(rpc_register(f->rpc, power_like, 3, &p, &cause), 0);
	assert_int_equal(rpc_register(f->rpc, dhcp_like, 2, &d, &cause), 0);
	amp_box_put_str(args, "x", "hello");

	call(f, "ConfigureDHCPv4", args, &r);
	assert_int_equal(r.n, 1);
	assert_true(r.is_answer);
	assert_string_equal(r.value, "dhcp");
	assert_int_equal(d.calls, 1);
	assert_int_equal(p.calls, 0);
	assert_string_equal(d.last_arg, "hello");

	call(f, "PowerQuery", NULL, &r);
	assert_string_equal(r.value, "power");
	assert_null(p.last_arg);
	call(f, "PowerOff", args, &r);
	assert_true(r.is_error);
	assert_string_equal(r.code, "PowerActionFail");
	assert_string_equal(r.desc, "no");
	assert_int_equal(p.calls, 2);

	/* The rack's own. */
	call(f, "Ping", NULL, &r);
	assert_int_equal(r.n, 1);
	assert_true(r.is_answer);
	assert_false(r.is_error);
	call(f, "Identify", NULL, &r);
	assert_true(r.is_answer);
	assert_string_equal(r.value, "");	/* not registered yet */
	reply_clear(&r);
	amp_box_free(args);
	free(d.last_arg);
	free(p.last_arg);
}

/* Twisted's answer for a command nobody registered; no handler runs. */
static void
test_unknown_command(void **state)
{
	struct fixture *f = *state;
	struct svc p = { "power", 0, NULL };
	struct reply r = { 0 };
	char *cause = NULL;

	call(f, "PowerOn", NULL, &r);		/* not registered yet */
	assert_int_equal(r.n, 1);
	assert_true(r.is_error);
	assert_string_equal(r.code, "UNHANDLED");
	assert_string_equal(r.desc, "Unhandled Command: b'PowerOn'");

	assert_int_equal(rpc_register(f->rpc, power_like, 3, &p, &cause), 0);
	call(f, "StartTLS", NULL, &r);
	assert_string_equal(r.code, "UNHANDLED");
	assert_string_equal(r.desc, "Unhandled Command: b'StartTLS'");
	call(f, "poweron", NULL, &r);
	assert_string_equal(r.desc, "Unhandled Command: b'poweron'");
	assert_int_equal(p.calls, 0);
	reply_clear(&r);
}

/* DisableAndShutoffRackd: answered, the secret removed, the daemon's
 * shutdown hook called. */
static void
test_disable_and_shutoff(void **state)
{
	struct fixture *f = *state;
	struct reply r = { 0 };
	FILE *fp;

	assert_non_null(fp = fopen(f->secret, "w"));
	fputs("00112233445566778899aabbccddeeff\n", fp);
	fclose(fp);
	call(f, "DisableAndShutoffRackd", NULL, &r);
	assert_true(r.is_answer);
	assert_false(r.is_error);
	assert_int_equal(f->shutdowns, 1);
	assert_int_equal(access(f->secret, F_OK), -1);
	reply_clear(&r);
}

/* Many tables registered out of order: each name found with its own
 * ctx (the sorted insert keeps binary search right). */
static void
test_many(void **state)
{
	struct fixture *f = *state;
	enum { N = 200 };
	struct rpc_command *rows = xcalloc(N, sizeof *rows);
	char **names = xcalloc(N, sizeof *names);
	struct svc s[N];
	char *cause = NULL;
	void *ctx;
	size_t i, k;

	for (i = 0; i < N; i++) {
		k = (i * 7919) % N;		/* a permutation of 0..N-1 */
		xasprintf(&names[i], "Cmd%03zu", k);
		rows[i].name = names[i];
		rows[i].fn = svc_echo;
		s[i].name = names[i];
		s[i].calls = 0;
		s[i].last_arg = NULL;
		assert_int_equal(rpc_register(f->rpc, &rows[i], 1, &s[i],
		    &cause), 0);
	}
	assert_int_equal(rpc_count(f->rpc), N + 3);
	for (i = 0; i < N; i++) {
		assert_ptr_equal(rpc_lookup(f->rpc, names[i], &ctx), &rows[i]);
		assert_ptr_equal(ctx, &s[i]);
	}
	for (i = 1; i < rpc_count(f->rpc); i++)
		assert_true(strcmp(rpc_nth(f->rpc, i - 1)->name,
		    rpc_nth(f->rpc, i)->name) < 0);
	/* The registry borrows the rows: free them only after it. */
	rpc_free(f->rpc);
	f->rpc = NULL;
	for (i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(rows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_command, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_disable_and_shutoff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
