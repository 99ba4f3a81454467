// FUZZ_SRCS: src/power/ipmi.c src/core/bytes.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_ipmi.c — libFuzzer target for the pure ipmitool codec (ipmi.h).
 *
 * Input: byte 0 = op (low 3 bits, mod 6), timed_out (0x08), byte 1 = exit
 * status, then stdout, a NUL, stderr (no NUL: stderr empty).  Invariants
 * of ipmi_classify: raw never NULL and at most 1 KiB; message set exactly
 * when fail != NONE; only a STATUS success has a state, and it is on/off;
 * timed_out is always TIMEOUT; a non-zero exit is never a success.
 *
 * The whole input is also tried as a JSON context for
 * ipmi_params_from_json: a success has an address (or a MAC to resolve
 * it), a privilege and a cipher 1..17; the argv of every op does not
 * depend on power_pass (same argv with another password) and never holds
 * it; a failure's cause never holds it either (beyond what the same
 * context with another password also says, i.e. text from other keys).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipmi.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define RAW_MAX		1024
#define SENTINEL	"\x01\x02\x03\x04sentinel"

static void
check_classify(const uint8_t *data, size_t size)
{
	struct ipmi_outcome o;
	enum ipmi_op op;
	const char *sep;
	char *out, *err;
	bool timed_out;
	int status;

	if (size < 2)
		return;
	op = (enum ipmi_op)((data[0] & 0x07) % 6);
	timed_out = (data[0] & 0x08) != 0;
	status = data[1];
	data += 2;
	size -= 2;
	if ((sep = memchr(data, '\0', size)) != NULL) {
		out = xstrndup((const char *)data, sep - (const char *)data);
		err = xstrndup(sep + 1, size - (sep + 1 - (const char *)data));
	} else {
		out = xstrndup((const char *)data, size);
		err = xstrdup("");
	}

	ipmi_classify(op, status, timed_out, out, err, &o);
	if (o.raw == NULL || strlen(o.raw) > RAW_MAX)
		abort();
	if ((o.message != NULL) != (o.fail != IPMI_FAIL_NONE))
		abort();
	if (o.fail == IPMI_FAIL_NONE && op == IPMI_OP_STATUS &&
	    o.state != POWER_ON && o.state != POWER_OFF)
		abort();
	if ((o.fail != IPMI_FAIL_NONE || op != IPMI_OP_STATUS) &&
	    o.state != POWER_UNKNOWN)
		abort();
	if (timed_out && o.fail != IPMI_FAIL_TIMEOUT)
		abort();
	if (!timed_out && o.fail == IPMI_FAIL_TIMEOUT)
		abort();
	if (status != 0 && o.fail == IPMI_FAIL_NONE)
		abort();
	(void)ipmi_fail_name(o.fail);
	(void)ipmi_fail_fatal(o.fail);
	(void)power_state_name(o.state);
	ipmi_outcome_clear(&o);
	if (o.raw != NULL || o.message != NULL)
		abort();

	/* stdout as /proc/net/arp text, stderr as the MAC. */
	{
		char *ip = ipmi_arp_lookup(out, err);

		if (ip != NULL && *ip == '\0')
			abort();
		free(ip);
	}
	free(out);
	free(err);
}

/* argv of p for op with p->pass as given; address filled in if needed. */
static char **
argv_for(struct ipmi_params *p, enum ipmi_op op, const struct ipmi_timing *t)
{
	char *saved = p->address, **v;

	if (p->address == NULL)
		p->address = "192.0.2.1";	/* what ipmi_arp_lookup gives */
	v = ipmi_argv("ipmitool", p, op, 3, t);
	p->address = saved;
	return v;
}

static void
check_argv(struct ipmi_params *p)
{
	struct ipmi_timing t = { 2, 2 };
	char **v, **w, *pass = p->pass, *in;
	size_t i, len;
	int op;

	if (p->pass == NULL)
		abort();	/* "" when unset */
	in = ipmi_password_input(p, &len);
	if (len != strlen(pass) + 1 || memcmp(in, pass, len - 1) != 0 ||
	    in[len - 1] != '\n')
		abort();
	xfree_secret(in);

	for (op = IPMI_OP_STATUS; op <= IPMI_OP_BOOTDEV_PXE; op++) {
		v = argv_for(p, op, &t);
		p->pass = SENTINEL;
		w = argv_for(p, op, &t);
		p->pass = pass;
		/* The password is never an input of argv... */
		for (i = 0; v[i] != NULL && w[i] != NULL; i++)
			if (strcmp(v[i], w[i]) != 0)
				abort();
		if (v[i] != NULL || w[i] != NULL)
			abort();
		/*
		 * ... so it is not on it, except where another, non-secret
		 * parameter (or a fixed word such as "lanplus") holds the
		 * same text: the sentinel run has it there too.  The sentinel
		 * itself must never show.
		 */
		for (i = 0; w[i] != NULL; i++)
			if (strstr(w[i], SENTINEL) != NULL)
				abort();
		if (strlen(pass) >= 4)
			for (i = 0; v[i] != NULL; i++)
				if (strstr(v[i], pass) != NULL &&
				    strstr(w[i], pass) == NULL)
					abort();
		ipmi_argv_free(v);
		ipmi_argv_free(w);
	}
}

static void
check_params(const uint8_t *data, size_t size)
{
	struct ipmi_params p, q;
	json_t *ctx, *pv, *ctx2;
	const char *pass = NULL;
	char *cause = NULL, *cause2 = NULL;
	int rc, rc2;

	if ((ctx = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, NULL)) == NULL)
		return;
	if (!json_is_object(ctx)) {
		json_decref(ctx);
		return;
	}
	pv = json_object_get(ctx, "power_pass");
	if (json_is_string(pv) && strlen(json_string_value(pv)) ==
	    json_string_length(pv))
		pass = json_string_value(pv);

	rc = ipmi_params_from_json(ctx, &p, &cause);
	if (rc == 0) {
		if (cause != NULL)
			abort();
		if (p.address == NULL && p.mac_address == NULL)
			abort();
		if (p.privilege == NULL || p.cipher < 1 || p.cipher > 17)
			abort();
		if (p.port < 1 || p.port > 65535)
			abort();
		if (pass != NULL && strcmp(p.pass, pass) != 0)
			abort();
		check_argv(&p);
	} else {
		if (rc != -1 || cause == NULL)
			abort();
		/* p holds nothing on failure. */
		if (p.address != NULL || p.user != NULL || p.pass != NULL ||
		    p.k_g != NULL || p.mac_address != NULL || p.oem != NULL)
			abort();
		if (pass != NULL && strlen(pass) >= 4 &&
		    strstr(cause, pass) != NULL) {
			/*
			 * Only legitimate when the same text comes from
			 * elsewhere: the context with another password
			 * (no line break, so the same path) says it too.
			 */
			ctx2 = json_deep_copy(ctx);
			json_object_set_new(ctx2, "power_pass",
			    json_string(SENTINEL));
			rc2 = ipmi_params_from_json(ctx2, &q, &cause2);
			if (rc2 == 0 || cause2 == NULL ||
			    strstr(cause2, pass) == NULL)
				abort();
			free(cause2);
			json_decref(ctx2);
		}
		free(cause);
	}
	ipmi_params_clear(&p);
	if (p.address != NULL || p.pass != NULL)
		abort();
	json_decref(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_classify(data, size);
	check_params(data, size);
	return 0;
}
