/*
 * report.c — power reports to the region, in MAAS's order, never lost to
 * a region outage: SendEvent, UpdateNodePowerState and MarkNodeFailed go
 * through the shared ordered queue (region_report.h), keyed by node so
 * one node's reports arrive in the order they were made.  A
 * MarkNodeFailed the region refuses (NodeStateViolation) is logged and
 * the reports after it still go: MAAS loses the failure event when
 * MarkNodeFailed raises, rackd does not.
 */
#include <string.h>

#include "amp.h"
#include "rackd.h"
#include "region_report.h"
#include "power_private.h"

/* MAAS's EVENT_DETAILS for the types the power code sends (spec A.7). */
static const struct region_event_type event_types[] = {
	{ "NODE_POWER_ON_STARTING", "Powering on", 20 },
	{ "NODE_POWER_OFF_STARTING", "Powering off", 20 },
	{ "NODE_POWER_CYCLE_STARTING", "Power cycling", 20 },
	{ "NODE_POWERED_ON", "Node powered on", 10 },
	{ "NODE_POWERED_OFF", "Node powered off", 10 },
	{ "NODE_POWER_ON_FAILED", "Failed to power on node", 40 },
	{ "NODE_POWER_OFF_FAILED", "Failed to power off node", 40 },
	{ "NODE_POWER_CYCLE_FAILED", "Failed to power cycle node", 40 },
	{ "NODE_POWER_QUERY_FAILED", "Failed to query node's BMC", 30 },
};

void
report_event(struct power *pw, const char *system_id, const char *type_name,
    const char *description)
{
	struct amp_box *a;
	size_t i;

	a = amp_box_new();
	amp_box_put_str(a, "system_id", system_id);
	amp_box_put_str(a, "type_name", type_name);
	amp_box_put_str(a, "description", description);
	for (i = 0; i < RACKD_NELEM(event_types); i++)
		if (strcmp(event_types[i].name, type_name) == 0)
			break;
	if (i < RACKD_NELEM(event_types))
		region_reports_event(pw->reports, &event_types[i], "SendEvent",
		    a, system_id);
	else
		region_reports_push(pw->reports, "SendEvent", a, system_id);
}

void
report_state(struct power *pw, const char *system_id, const char *state)
{
	struct amp_box *a = amp_box_new();

	amp_box_put_str(a, "system_id", system_id);
	amp_box_put_str(a, "power_state", state);
	region_reports_push(pw->reports, "UpdateNodePowerState", a, system_id);
}

void
report_failed(struct power *pw, const char *system_id, const char *description)
{
	struct amp_box *a = amp_box_new();

	amp_box_put_str(a, "system_id", system_id);
	amp_box_put_str(a, "error_description", description);
	region_reports_push(pw->reports, "MarkNodeFailed", a, system_id);
}
