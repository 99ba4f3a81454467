/*
 * kea_resync.h — make a Kea HA server pull its partner's leases once the
 * pair is in touch (ha-sync on its own control socket).
 *
 * Why (verified on Kea 2.2.0, tests/integration/054): Kea HA syncs leases
 * only when a server starts while its partner answers.  A server that
 * started first and went partner-down does not sync when the partner
 * arrives: the partner syncs from it, and it goes straight back to
 * hot-standby.  So leases carried into one rack's new instance
 * (kea_carry.h) never reached the other rack when that one's instance
 * was up first.  Each rack therefore tells every HA instance that took
 * over subnets to ha-sync from its partner once both are in a normal HA
 * state; both racks doing so exchanges what each carried.
 */
#ifndef KEA_RESYNC_H
#define KEA_RESYNC_H

#include <stdbool.h>
#include <jansson.h>

struct event_base;
struct kea_resync;

/*
 * Watch the instance (name for logs; socket_path its control socket;
 * config its {"Dhcp4"|"Dhcp6": ...} document, borrowed) with status-get
 * every 250 ms; when its local HA state is hot-standby or load-balancing
 * and the partner's last state is the same, send ha-sync from the
 * partner named in config, once, and log the outcome.  Gives up (with a
 * warning) after timeout_ms.  NULL when config has no HA (nothing to
 * do).  Free with kea_resync_free (at any time: cancels).
 *
 * hold: this rack had no lease of the new subnets to carry (a new
 * standby, typically).  Kea puts a server whose partner does not answer
 * yet in partner-down, serving alone with an empty lease database, and
 * would hand out addresses machines hold.  So the instance's DHCP is
 * disabled at once (dhcp-disable, origin "user", with max-period
 * timeout_ms so Kea re-enables it even if rackd dies) and enabled after
 * the ha-sync, or when the partner never comes.  MAAS refuses a new
 * secondary while the primary's rackd is dead (spec C.3), so the partner
 * is normally there within seconds.
 */
struct kea_resync *kea_resync_start(struct event_base *, const char *name,
	    int family, const char *socket_path, const json_t *config,
	    int timeout_ms, bool hold);
/* Finished (synced, failed or gave up): may be freed. */
bool	kea_resync_finished(const struct kea_resync *);
void	kea_resync_free(struct kea_resync *);	/* NULL ok */

/* The partner's server name in an HA config, or NULL (borrowed). */
const char *kea_ha_partner(const json_t *config, int family);

#endif
