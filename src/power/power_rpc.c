/*
 * power_rpc.c — the power commands MAAS 3.4's region calls (spec A.1),
 * registered with the region layer by power_rpc_register().
 *
 *   PowerOn/Off/Cycle  validate (power type, tool present, parameters,
 *                      per-node registry), answer {} at once, run the
 *                      change in the background (action.c)
 *   PowerQuery         answer {state} or {state: error, error_msg}; never
 *                      an AMP error, as MAAS
 *   PowerDriverCheck   missing_packages: ["ipmitool"] when it is absent
 *   DescribePowerTypes the schemas of the two types rackd drives
 *   SetBootOrder       ipmi cannot (MAAS never sends it for ipmi): {}
 *
 * Power types: "ipmi" is driven through ipmitool; "manual" does nothing
 * and reports as MAAS's manual driver does (the same events, success,
 * query "unknown"); anything else gets MAAS's own answer for a driver it
 * does not have: PowerActionFail("Unknown power_type '<t>'").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "region.h"
#include "rpc.h"
#include "xmalloc.h"
#include "power_private.h"

/* --- argument decoding ---------------------------------------------------------- */

struct power_args {
	char		*system_id, *hostname, *power_type;
	json_t		*context;
};

static void
power_args_free(struct power_args *a)
{
	free(a->system_id);
	free(a->hostname);
	free(a->power_type);
	/* The context holds secrets: jansson frees without wiping, but the
	 * strings we keep are wiped by ipmi_params_clear. */
	json_decref(a->context);
	memset(a, 0, sizeof *a);
}

/* 0, or -1 after answering req with an error naming the bad argument. */
static int
power_args_decode(struct region_request *req, const struct amp_box *args,
    struct power_args *a, const char *error_code)
{
	static const char *names[] = { "system_id", "hostname", "power_type" };
	char **slots[] = { &a->system_id, &a->hostname, &a->power_type };
	char *cause = NULL, *msg;
	size_t i;
	int rc;

	memset(a, 0, sizeof *a);
	for (i = 0; i < RACKD_NELEM(names); i++) {
		rc = amp_box_get_str(args, names[i], slots[i], &cause);
		if (rc != 0) {
			xasprintf(&msg, "argument %s: %s", names[i],
			    rc == 1 ? "missing" : cause);
			goto bad;
		}
	}
	rc = amp_box_get_json(args, "context", &a->context, &cause);
	if (rc != 0) {
		xasprintf(&msg, "argument context: %s",
		    rc == 1 ? "missing" : cause);
		goto bad;
	}
	if (!json_is_object(a->context)) {
		msg = xstrdup("argument context: not a JSON object");
		goto bad;
	}
	return 0;
bad:
	log_warnx("power: bad arguments from region %s: %s",
	    region_request_loop(req), msg);
	region_request_error(req, error_code, msg);
	free(msg);
	free(cause);
	power_args_free(a);
	return -1;
}

/*
 * Can rackd drive this power type?  NULL when it can (*manual says which),
 * else MAAS's PowerActionFail text (caller frees): an unknown driver, or
 * ipmitool missing.  Parameters are parsed separately, per command.
 */
static char *
power_type_problem(const struct power *pw, const char *type, bool *manual)
{
	char *msg;

	*manual = strcmp(type, "manual") == 0;
	if (!*manual && strcmp(type, "ipmi") != 0) {
		xasprintf(&msg, "Unknown power_type '%s'", type);
		return msg;
	}
	if (!*manual && !power_ipmitool_present(pw))
		return xstrdup("'ipmitool' package(s) are not installed");
	return NULL;
}

/* --- PowerOn / PowerOff / PowerCycle ---------------------------------------------- */

static void
power_rpc_change(struct power *pw, struct region_request *req,
    const struct amp_box *args, enum power_change change)
{
	struct power_args a;
	struct power_action *cur;
	struct ipmi_params p;
	bool manual;
	char *cause = NULL, *msg;

	if (power_args_decode(req, args, &a, "PowerActionFail") == -1)
		return;
	if ((msg = power_type_problem(pw, a.power_type, &manual)) != NULL) {
		region_request_error(req, "PowerActionFail", msg);
		free(msg);
		goto out;
	}
	/* One change per node: the same one again is a no-op, another one
	 * is refused (rpc/power.py maybe_change_power_state). */
	if ((cur = action_find(pw, a.system_id)) != NULL) {
		if (cur->change == change) {
			log_info("power: %s (%s): power %s already in "
			    "progress", a.hostname, a.system_id,
			    power_change_name(change));
			region_request_answer(req, NULL);
		} else {
			xasprintf(&msg, "Unable to change power state to '%s' "
			    "for node %s: another action is already in progress "
			    "for that node.", power_change_name(change),
			    a.hostname);
			region_request_error(req,
			    "PowerActionAlreadyInProgress", msg);
			free(msg);
		}
		goto out;
	}
	memset(&p, 0, sizeof p);
	if (!manual && ipmi_params_from_json(a.context, &p, &cause) == -1) {
		/* MAAS would accept and fail in the background with a
		 * setting error; failing the call says it where it is seen
		 * at once, and the node is not marked failed for a typo. */
		xasprintf(&msg, "Missing or invalid power setting: %s", cause);
		log_warnx("power: %s (%s): %s", a.hostname, a.system_id, msg);
		region_request_error(req, "PowerActionFail", msg);
		free(msg);
		free(cause);
		goto out;
	}
	region_request_answer(req, NULL);
	action_start_change(pw, change, a.system_id, a.hostname, manual, &p);
out:
	power_args_free(&a);
}

static void
power_rpc_on(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct power *pw = ctx;
	power_rpc_change(pw, req, args, CHANGE_ON);
}

static void
power_rpc_off(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct power *pw = ctx;
	power_rpc_change(pw, req, args, CHANGE_OFF);
}

static void
power_rpc_cycle(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct power *pw = ctx;
	power_rpc_change(pw, req, args, CHANGE_CYCLE);
}

/* --- PowerQuery ----------------------------------------------------------------------- */

static void
query_answer(struct region_request *req, const char *state, const char *msg)
{
	struct amp_box *ans = amp_box_new();

	amp_box_put_str(ans, "state", state);
	if (msg != NULL)
		amp_box_put_str(ans, "error_msg", msg);
	region_request_answer(req, ans);
}

static void
query_done(struct power_action *a, enum ipmi_fail fail, enum power_state st,
    const char *message, void *arg)
{
	struct region_request *req = arg;

	if (fail == IPMI_FAIL_NONE) {
		log_debug("power: %s (%s): query: %s", a->hostname,
		    a->system_id, power_state_name(st));
		query_answer(req, power_state_name(st), NULL);
	} else {
		log_info("power: %s (%s): query failed: %s", a->hostname,
		    a->system_id, message);
		query_answer(req, "error", message);
	}
}

static void
power_rpc_query(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct power *pw = ctx;
	struct power_args a;
	struct ipmi_params p;
	bool manual;
	char *cause = NULL, *msg;

	if (power_args_decode(req, args, &a, "PowerActionFail") == -1)
		return;
	if ((msg = power_type_problem(pw, a.power_type, &manual)) != NULL) {
		query_answer(req, "error", msg);	/* never an AMP error */
		free(msg);
		goto out;
	}
	memset(&p, 0, sizeof p);
	if (!manual && ipmi_params_from_json(a.context, &p, &cause) == -1) {
		xasprintf(&msg, "Missing or invalid power setting: %s", cause);
		query_answer(req, "error", msg);
		free(msg);
		free(cause);
		goto out;
	}
	/* Region queries (and its routability probe) get the fast answer
	 * for a quarantined BMC too: the probe gives up after 60 s. */
	action_start_query(pw, a.system_id, a.hostname, manual, &p, true,
	    query_done, req);
out:
	power_args_free(&a);
}

/* --- PowerDriverCheck, DescribePowerTypes, SetBootOrder ---------------------------- */

static void
power_rpc_driver_check(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct power *pw = ctx;
	struct amp_box *ans;
	struct amp_value pkg = { (const uint8_t *)"ipmitool", 8 };
	struct bytes b;
	char *type = NULL, *cause = NULL, *msg;

	if (amp_box_get_str(args, "power_type", &type, &cause) != 0) {
		region_request_error(req, "UnknownPowerType",
		    "argument power_type missing or malformed");
		free(cause);
		return;
	}
	if (strcmp(type, "ipmi") != 0 && strcmp(type, "manual") != 0) {
		xasprintf(&msg, "Unknown power_type '%s'", type);
		region_request_error(req, "UnknownPowerType", msg);
		free(msg);
		free(type);
		return;
	}
	bytes_init(&b);
	if (strcmp(type, "ipmi") == 0 && !power_ipmitool_present(pw))
		(void)amp_listof_encode(&pkg, 1, &b, &cause);
	ans = amp_box_new();
	amp_box_put(ans, "missing_packages", b.data, b.len);
	bytes_free(&b);
	region_request_answer(req, ans);
	free(type);
}

static json_t *
field(const char *name, const char *label, const char *type, int required,
    const char *scope, json_t *choices, const char *def)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "name", name,
	    "label", label, "field_type", type, "required", required,
	    "scope", scope, "default", def);

	json_object_set_new(f, "choices", choices != NULL ? choices :
	    json_array());
	return f;
}

/* The ipmi and manual driver schemas, after MAAS's IPMIPowerDriver
 * settings (spec A.2); the region validates with its own copy. */
static json_t *
power_types_schema(void)
{
	json_t *ipmi, *manual, *f;

	f = json_array();
	json_array_append_new(f, field("power_driver", "Power driver",
	    "choice", 1, "bmc", json_pack("[[s,s],[s,s]]", "LAN",
	    "LAN [IPMI 1.5]", "LAN_2_0", "LAN_2_0 [IPMI 2.0]"), "LAN_2_0"));
	json_array_append_new(f, field("power_boot_type", "Power boot type",
	    "choice", 0, "bmc", json_pack("[[s,s],[s,s],[s,s]]", "auto",
	    "Automatic", "legacy", "Legacy boot", "efi", "EFI boot"), "auto"));
	json_array_append_new(f, field("power_address", "IP address",
	    "string", 1, "bmc", NULL, ""));
	json_array_append_new(f, field("power_user", "Power user", "string",
	    0, "bmc", NULL, ""));
	json_array_append_new(f, field("power_pass", "Power password",
	    "password", 0, "bmc", NULL, ""));
	json_array_append_new(f, field("k_g", "K_g BMC key", "password", 0,
	    "bmc", NULL, ""));
	json_array_append_new(f, field("cipher_suite_id", "Cipher Suite ID",
	    "choice", 0, "bmc", json_pack("[[s,s],[s,s],[s,s],[s,s]]",
	    "17", "17 - HMAC-SHA256::HMAC_SHA256_128::AES-CBC-128",
	    "3", "3 - HMAC-SHA1::HMAC-SHA1-96::AES-CBC-128",
	    "8", "8 - HMAC-MD5::HMAC-MD5-128::AES-CBC-128",
	    "12", "12 - HMAC-MD5::MD5-128::AES-CBC-128"), "3"));
	json_array_append_new(f, field("privilege_level", "Privilege Level",
	    "choice", 0, "bmc", json_pack("[[s,s],[s,s],[s,s]]", "USER",
	    "User", "OPERATOR", "Operator", "ADMIN", "Administrator"),
	    "OPERATOR"));
	json_array_append_new(f, field("mac_address", "Power MAC", "string",
	    0, "node", NULL, ""));
	ipmi = json_pack("{s:s, s:s, s:s, s:b, s:[], s:o, s:b, s:b}",
	    "driver_type", "power", "name", "ipmi", "description", "IPMI",
	    "chassis", 0, "missing_packages", "fields", f, "queryable", 1,
	    "can_probe", 0);
	manual = json_pack("{s:s, s:s, s:s, s:b, s:[], s:[], s:b, s:b}",
	    "driver_type", "power", "name", "manual", "description", "Manual",
	    "chassis", 0, "missing_packages", "fields", "queryable", 0,
	    "can_probe", 0);
	return json_pack("[o,o]", ipmi, manual);
}

static void
power_rpc_describe(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct power *pw = ctx;
	struct amp_box *ans = amp_box_new();
	json_t *types = power_types_schema();

	if (!power_ipmitool_present(pw))
		json_object_set_new(json_array_get(types, 0),
		    "missing_packages", json_pack("[s]", "ipmitool"));
	if (amp_box_put_json(ans, "power_types", types) == -1) {
		amp_box_free(ans);
		region_request_error(req, "UNHANDLED",
		    "power type schemas too large");
	} else
		region_request_answer(req, ans);
	json_decref(types);
}

static void
power_rpc_set_boot_order(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct power_args a;
	char *msg;

	if (power_args_decode(req, args, &a, "PowerActionFail") == -1)
		return;
	if (strcmp(a.power_type, "ipmi") != 0 &&
	    strcmp(a.power_type, "manual") != 0) {
		xasprintf(&msg, "Unknown power_type '%s'", a.power_type);
		region_request_error(req, "PowerActionFail", msg);
		free(msg);
	} else
		region_request_answer(req, NULL);	/* can_set_boot_order False */
	power_args_free(&a);
}


static const struct rpc_command power_rpc_commands[] = {
	{ "PowerOn", power_rpc_on,
	  "validate, answer, then PXE boot device + on (cycle if on)" },
	{ "PowerOff", power_rpc_off, "validate, answer, then off (or soft)" },
	{ "PowerCycle", power_rpc_cycle,
	  "validate, answer, then off if on and a full power on" },
	{ "PowerQuery", power_rpc_query, "state, or state error + error_msg" },
	{ "PowerDriverCheck", power_rpc_driver_check,
	  "missing_packages: ipmitool when absent" },
	{ "DescribePowerTypes", power_rpc_describe, "ipmi and manual schemas" },
	{ "SetBootOrder", power_rpc_set_boot_order,
	  "empty answer: ipmi cannot set a boot order" },
};

int
power_rpc_register(struct rpc *rpc, struct power *pw, char **cause)
{
	return rpc_register(rpc, power_rpc_commands,
	    RACKD_NELEM(power_rpc_commands), pw, cause);
}
