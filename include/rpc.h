/*
 * rpc.h — the registry of commands the region may call on the rack, and
 * the rack's periodic service report (UpdateServices).
 *
 * This layer carries commands; it does not know what they do.  Each
 * service registers its own table (power_rpc.c, dhcp_rpc.c, boot_rpc.c;
 * main.c calls their *_rpc_register) with the context its handlers get.
 * rpc.c itself serves only what concerns the rack's membership of the
 * region: Identify, Ping and DisableAndShutoffRackd.  A command nobody
 * registered is answered as Twisted answers it (UNHANDLED,
 * "Unhandled Command: b'<name>'") on the same connection.
 */
#ifndef RPC_H
#define RPC_H

#include <stdbool.h>
#include <stddef.h>

#include "region.h"

struct event_base;
struct rackd_config;

struct rpc;

/*
 * A command handler: ctx is what the table was registered with; args
 * (the box without _command/_ask) are borrowed for the call.  The
 * handler answers req exactly once (region_request_answer or _error),
 * now or later.
 */
typedef void (*rpc_handler_fn)(void *ctx, struct region_request *req,
	    const struct amp_box *args);

/* One row of a service's command table (static const in its file). */
struct rpc_command {
	const char	*name;		/* the AMP command, e.g. "PowerOn" */
	rpc_handler_fn	 fn;
	const char	*doc;		/* one line: what the rack answers */
};

/* Hooks the daemon provides to rpc.c. */
struct rpc_hooks {
	/* DisableAndShutoffRackd: stop the daemon after the answer is sent. */
	void	(*shutdown)(void *arg);
	void	*arg;
};

/* The registry, holding rpc.c's own commands. */
struct rpc *rpc_new(struct event_base *, const struct rackd_config *,
	    const struct rpc_hooks *);
/*
 * Add n commands served with ctx.  cmds (the rows, their names) and ctx
 * are borrowed and must outlive the rpc.  All or nothing: a row without
 * a name or handler, or a name registered already (or twice in cmds),
 * is refused with -1 and *cause naming it, and nothing is added.
 */
int	rpc_register(struct rpc *, const struct rpc_command *cmds, size_t n,
	    void *ctx, char **cause);
/* The row registered under name, or NULL (and its ctx in *ctx). */
const struct rpc_command *rpc_lookup(const struct rpc *, const char *name,
	    void **ctx);
/* Registered commands, and the i-th in name order (for docs/tests). */
size_t	rpc_count(const struct rpc *);
const struct rpc_command *rpc_nth(const struct rpc *, size_t i);

/* Attach the pool (after region_pool_new, which needs rpc_command). */
void	rpc_set_pool(struct rpc *, struct region_pool *);

/*
 * Report a service's own status in UpdateServices (name as the region
 * knows it: "tftp", "http", "dhcpd", "dhcpd6"): fn returns the status
 * word ("running", "dead", "off", ...) and writes the reason into info
 * (cap bytes).  The service stays unknown to rpc.c; fn and arg must
 * outlive the rpc or be replaced with fn NULL.  Services without one
 * are reported "off".
 */
typedef const char *(*rpc_status_fn)(void *arg, char *info, size_t cap);
void	rpc_set_service_status(struct rpc *, const char *name, rpc_status_fn,
	    void *arg);

void	rpc_reconfigure(struct rpc *, const struct rackd_config *);
void	rpc_free(struct rpc *);

/* region_command_cb for region_pool_new(); arg is the struct rpc. */
void	rpc_command(struct region_request *, const char *command,
	    const struct amp_box *args, void *arg);
/* Tell rpc that connectivity changed (first connection: send
 * UpdateServices at once). */
void	rpc_stats_changed(struct rpc *, const struct region_stats *);

#endif
