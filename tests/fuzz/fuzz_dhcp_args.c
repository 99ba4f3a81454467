// FUZZ_SRCS: src/dhcp/dhcp_args.c src/dhcp/kea_config.c src/dhcp/kea_tls.c src/dhcp/kea_boot_classes.c src/core/fileio.c src/region/amp.c src/core/bytes.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_dhcp_args.c — libFuzzer target for the ConfigureDHCPv4/v6 argument
 * codec and the Kea plan (kea_config.h).
 *
 * Input: byte 0 = address family (bit 0 set: 6, else 4) and mode (bit 1
 * clear: the rest is one AMP box on the wire, as amp_box_encode writes
 * it; set: the rest is decoded-form JSON text, put through
 * dhcp_args_encode + amp_box_encode first, and then it must decode).  A box that decodes to
 * arguments must: pass dhcp_args_check; build a plan with fixed paths or
 * fail with a cause and an empty plan; in a plan, every instance has the
 * requested family, a socket path <= 107 bytes, a config that passes
 * kea_check_ha and whose canonical text loads back to the same JSON;
 * dhcp_validate_errors gives one item per skipped snippet.  The decoded
 * JSON re-encodes (dhcp_args_encode, amp_box_encode) and decodes again to
 * equal JSON; the only allowed encode failure is a compressed list that
 * recompresses over the AMP value limit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "amp.h"
#include "bytes.h"
#include "kea_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_plan(const json_t *args, int family)
{
	struct kea_paths paths;
	struct kea_plan plan;
	json_t *errors, *back;
	struct amp_box *eb;
	char *cause = NULL, *canon;
	size_t i;
	int n;

	memset(&paths, 0, sizeof(paths));
	paths.run_dir = "/run/rackd";
	paths.data_dir = "/var/lib/maas";
	paths.hooks_dir = "/usr/lib/x86_64-linux-gnu/kea/hooks";
	paths.ha_port = 8647;
	/* timers 0 = the defaults (max_unacked 0 is its own setting) */

	if (kea_plan_build(args, family, &paths, &plan, &cause) == -1) {
		if (cause == NULL || plan.n != 0 || plan.inst != NULL ||
		    plan.n_skipped != 0 || plan.n_notes != 0)
			abort();
		free(cause);
		return;
	}
	if (cause != NULL)
		abort();
	for (i = 0; i < plan.n; i++) {
		const struct kea_instance *ki = &plan.inst[i];

		if (ki->family != family || ki->name == NULL ||
		    ki->config == NULL || ki->socket_path == NULL ||
		    ki->lease_path == NULL)
			abort();
		if (strlen(ki->socket_path) > KEA_SOCKET_PATH_MAX)
			abort();
		if (ki->ha && (ki->role == NULL || ki->this_address == NULL ||
		    ki->peer_address == NULL))
			abort();
		if (kea_check_ha(ki->config, &cause) == -1)
			abort();	/* plan_build promises this */
		if ((canon = kea_config_canonical(ki->config)) == NULL)
			abort();
		if ((back = json_loads(canon, 0, NULL)) == NULL ||
		    !json_equal(back, ki->config))
			abort();
		json_decref(back);
		free(canon);
	}
	n = dhcp_validate_errors(&plan, &errors);
	if (n < 0 || (size_t)n != plan.n_skipped ||
	    json_array_size(errors) != (size_t)n)
		abort();
	eb = amp_box_new();
	if (dhcp_validate_errors_encode(errors, eb, &cause) == 0) {
		if ((n == 0) != (amp_box_has(eb, "errors") == 0))
			abort();
	} else
		free(cause);
	amp_box_free(eb);
	json_decref(errors);
	kea_plan_free(&plan);
	if (plan.n != 0 || plan.inst != NULL)
		abort();
}

static void
check_roundtrip(const json_t *args, int family)
{
	struct amp_limits lim = { 0, 0 };
	struct amp_box *box, *again = NULL;
	struct bytes wire;
	json_t *j2 = NULL;
	char *cause = NULL;
	size_t used;

	box = amp_box_new();
	if (dhcp_args_encode(args, family, box, &cause) == -1) {
		if (cause == NULL || strstr(cause, "over the AMP limit") == NULL)
			abort();
		if (box->n != 0)
			abort();	/* box untouched */
		free(cause);
		amp_box_free(box);
		return;
	}
	bytes_init(&wire);
	if (amp_box_encode(box, &wire, NULL) == -1)
		abort();
	if (amp_box_decode(wire.data, wire.len, &lim, &again, &used, NULL) !=
	    AMP_OK || used != wire.len)
		abort();
	if (dhcp_args_decode(again, family, &j2, &cause) == -1)
		abort();
	if (!json_equal(args, j2))
		abort();
	json_decref(j2);
	amp_box_free(again);
	bytes_free(&wire);
	amp_box_free(box);
}

/* One AMP box on the wire, as ConfigureDHCPv<family> arguments. */
static void
check_wire(const uint8_t *data, size_t size, int family, bool from_encode)
{
	struct amp_limits lim = { 0, 0 };
	struct amp_box *box = NULL;
	json_t *args = NULL;
	char *cause = NULL;
	size_t used;

	if (amp_box_decode(data, size, &lim, &box, &used, &cause) != AMP_OK) {
		if (from_encode)
			abort();
		free(cause);
		return;
	}
	if (dhcp_args_decode(box, family, &args, &cause) == -1) {
		if (cause == NULL || args != NULL)
			abort();	/* every failure says why */
		if (from_encode)
			abort();	/* encode accepts what decode does */
		free(cause);
		amp_box_free(box);
		return;
	}
	if (cause != NULL || !json_is_object(args))
		abort();
	if (dhcp_args_check(args, family, NULL) != 0)
		abort();
	check_plan(args, family);
	check_roundtrip(args, family);
	json_decref(args);
	amp_box_free(box);
}

/*
 * JSON mode: the rest is decoded-form JSON text, so the mutator reaches
 * the plan without having to get through zlib.  Whatever encodes must
 * decode again (then run the wire checks on those bytes).
 */
static void
check_json(const uint8_t *data, size_t size, int family)
{
	struct amp_box *box;
	struct bytes wire;
	struct kea_plan plan;
	struct kea_paths paths;
	json_t *in;
	char *cause = NULL;

	if ((in = json_loadb((const char *)data, size, 0, NULL)) == NULL)
		return;
	box = amp_box_new();
	if (dhcp_args_encode(in, family, box, &cause) == -1) {
		if (cause == NULL || box->n != 0)
			abort();
		free(cause);
		/* The plan checks the same way: it must refuse too, unless
		 * the only problem was the AMP size limit. */
		memset(&paths, 0, sizeof(paths));
		paths.run_dir = "/run/rackd";
		paths.data_dir = "/var/lib/maas";
		if (dhcp_args_check(in, family, NULL) == -1 &&
		    kea_plan_build(in, family, &paths, &plan, NULL) != -1)
			abort();
	} else {
		if (dhcp_args_check(in, family, NULL) != 0)
			abort();
		check_plan(in, family);	/* as given, not canonicalised */
		bytes_init(&wire);
		if (amp_box_encode(box, &wire, NULL) == -1)
			abort();
		check_wire(wire.data, wire.len, family, true);
		bytes_free(&wire);
	}
	amp_box_free(box);
	json_decref(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int family;

	if (size < 1)
		return 0;
	family = (data[0] & 1) ? 6 : 4;
	if (data[0] & 2)
		check_json(data + 1, size - 1, family);
	else
		check_wire(data + 1, size - 1, family, false);
	return 0;
}
