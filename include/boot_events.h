/*
 * boot_events.h — the boot events the rack sends the region
 * (maas-rack-boot.md §2.7): NODE_TFTP_REQUEST, NODE_HTTP_REQUEST,
 * LOADING_EPHEMERAL, as SendEventIPAddress after one RegisterEventType
 * per type per process (MAAS's NodeEventHub).
 *
 * Best effort, as in MAAS: an event raised while no region is connected
 * is dropped (counted in one log line), never queued behind real calls;
 * the region drops events for addresses it does not know anyway.
 */
#ifndef BOOT_EVENTS_H
#define BOOT_EVENTS_H

struct region_pool;
struct boot_events;

struct boot_events *boot_events_new(void);
/* The pool the events go through (NULL: dropped).  Borrowed. */
void	boot_events_set_pool(struct boot_events *, struct region_pool *);
/* Send type_name (one of the three above) for ip; strings copied. */
void	boot_events_send(struct boot_events *, const char *type_name,
	    const char *ip, const char *description);
/* Free after the pool: its last callbacks still reach this. */
void	boot_events_free(struct boot_events *);

#endif
