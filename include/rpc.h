/*
 * rpc.h — the table of commands the region may call on the rack
 * (rpc_commands[] in rpc.c), and the rack's periodic reports
 * (UpdateServices).  Glue between region.c and the services: region.c
 * knows nothing about power or DHCP; rpc.c turns boxes into calls.
 */
#ifndef RPC_H
#define RPC_H

#include <stdbool.h>

#include "region.h"

struct event_base;
struct rackd_config;

struct rpc;

/* Hooks the daemon provides to rpc.c. */
struct rpc_hooks {
	/* DisableAndShutoffRackd: stop the daemon after the answer is sent. */
	void	(*shutdown)(void *arg);
	void	*arg;
};

struct rpc *rpc_new(struct event_base *, const struct rackd_config *,
	    const struct rpc_hooks *);
/* Attach the pool (after region_pool_new, which needs rpc_command). */
void	rpc_set_pool(struct rpc *, struct region_pool *);
/* Attach the power service (power.h); its commands fail until then. */
struct power;
void	rpc_set_power(struct rpc *, struct power *);
/* Attach the DHCP service (dhcp.h). */
struct dhcp;
void	rpc_set_dhcp(struct rpc *, struct dhcp *);
/*
 * The image store's answers (the boot service provides them, so this
 * layer needs no boot header).  Until set, ListBootImages fails
 * (UNHANDLED) so the region skips this rack, and
 * IsImportBootImagesRunning answers False.
 */
struct rpc_images {
	/* Put ListBootImages' "images" into ans; -1 with *cause (sent as
	 * the error's description). */
	int	(*list_boot_images)(void *arg, struct amp_box *ans,
		    char **cause);
	bool	(*import_running)(void *arg);
	void	*arg;
};
void	rpc_set_images(struct rpc *, const struct rpc_images *);

/*
 * Report a service's own status in UpdateServices (name as the region
 * knows it: "tftp", "http", ...): fn returns the status word ("running",
 * "dead", "off", ...) and writes the reason into info (cap bytes).  The
 * service stays unknown to rpc.c; fn and arg must outlive the rpc or be
 * replaced with fn NULL.
 */
typedef const char *(*rpc_status_fn)(void *arg, char *info, size_t cap);
void	rpc_set_service_status(struct rpc *, const char *name, rpc_status_fn,
	    void *arg);

/*
 * Attach the boot-image sync (rpc.c does not know its type): import is
 * called for ImportBootImages after the answer {} is sent (the sync runs
 * in the background); running answers IsImportBootImagesRunning.
 */
struct amp_box;
void	rpc_set_image_sync(struct rpc *, void (*import)(void *,
	    const struct amp_box *), bool (*running)(void *), void *arg);

void	rpc_reconfigure(struct rpc *, const struct rackd_config *);
void	rpc_free(struct rpc *);

/* region_command_cb for region_pool_new(); arg is the struct rpc. */
void	rpc_command(struct region_request *, const char *command,
	    const struct amp_box *args, void *arg);
/* Tell rpc that connectivity changed (first connection: send
 * UpdateServices at once). */
void	rpc_stats_changed(struct rpc *, const struct region_stats *);

/* The table, exposed for tests and docs. */
struct rpc_command {
	const char	*name;
	void		(*handler)(struct rpc *, struct region_request *,
			    const struct amp_box *);
	const char	*doc;
};
extern const struct rpc_command rpc_commands[];
extern const size_t rpc_ncommands;

#endif
