/*
 * dhcp.h — DHCP as a MAAS 3.4 rack serves it, with ISC Kea 2.2.
 *
 * ConfigureDHCPv4/v6 arrive here (dhcp_rpc.c registers them): the arguments are
 * decoded (dhcp_args.c), planned into Kea instances (kea_config.c: one
 * per failover peer, in HA hot-standby for v4 and, unless
 * dhcp.v6_failover is "split", for v6; one for VLANs without a peer;
 * each applied instance logs how it serves), and each instance is
 * applied to its supervised Kea process (kea_server.c: skip identical,
 * validate, write atomically, apply, verify, keep the last known-good).
 * Instances no longer planned are stopped; an empty configuration stops
 * the family.  Lease events from rackd's Kea hook library (or from
 * run_script) reach the region as UpdateLeases through an on-disk spool
 * (leases.c).  The Kea and HA state feed the dhcpd / dhcpd6 lines of
 * UpdateServices.
 */
#ifndef DHCP_H
#define DHCP_H

#include <stddef.h>

#include "amp.h"

struct event_base;
struct rackd_config;
struct region_pool;
struct region_request;

struct dhcp;

/*
 * Create the service: the lease socket and spool start at once (so
 * events spooled while rackd was down go out), Kea instances when the
 * region configures them.  pool is borrowed.  NULL with *cause when the
 * lease socket or spool cannot be set up.
 */
struct dhcp *dhcp_new(struct event_base *, struct region_pool *,
	    const struct rackd_config *, char **cause);
/*
 * Stop every Kea instance cleanly (SIGTERM, bounded); done runs from the
 * loop when all are gone (at once when none runs).  Then dhcp_free().
 */
void	dhcp_shutdown(struct dhcp *, void (*done)(void *), void *arg);
/* A region connection came up: flush lease events. */
void	dhcp_region_up(struct dhcp *);
/* Stop every Kea instance (synchronously, bounded) and free.  NULL ok. */
void	dhcp_free(struct dhcp *);

/*
 * Register the region's DHCP commands (ConfigureDHCPv4/v6,
 * ValidateDHCPv4/v6Config) and the dhcpd / dhcpd6 UpdateServices status
 * with rpc, served by d (borrowed; must outlive rpc's dispatching).  -1
 * with *cause when a name is taken.
 */
struct rpc;
int	dhcp_rpc_register(struct rpc *, struct dhcp *, char **cause);
/* The commands' work, family 4 or 6 (dhcp_rpc.c calls them). */
void	dhcp_rpc_configure(struct dhcp *, struct region_request *,
	    const struct amp_box *, int family);
void	dhcp_rpc_validate(struct dhcp *, struct region_request *,
	    const struct amp_box *, int family);

/*
 * The dhcpd (family 4) / dhcpd6 (6) service status for UpdateServices:
 * "off", "running", "degraded" or "dead", with info (e.g. "hot-standby
 * (standby)") written to info.
 */
const char *dhcp_service_status(const struct dhcp *, int family, char *info,
	    size_t infolen);

/* --- the operator's view ----------------------------------------------- */
struct metrics;
/*
 * For `rackd status` (new reference): {"instances": [{"name", "family",
 * "status", "info", "pid", "ha_role", "ha_state", "partner_state",
 * "restarts", "last_error", "last_apply_age_s", "last_apply_error"}],
 * "leases": {"pending", "spooled", "sent", "dropped", "rejected",
 * "oldest_pending_age_s"}}; unknown values are null.
 */
json_t	*dhcp_status_json(const struct dhcp *);
/* Mirror Kea and lease-spool state into m: rackd_kea_up{instance,family},
 * rackd_kea_ha_state{instance,family,state}, rackd_lease_events_total
 * {result}, rackd_lease_events_pending. */
void	dhcp_metrics(const struct dhcp *, struct metrics *);

#endif
