/*
 * kea.h — supervising Kea 2.2 server processes (kea-dhcp4/kea-dhcp6) and
 * talking to their control sockets (spec D.2, D.3, D.6, D.7).
 *
 * Two layers:
 *   kea_ctl     one command on a Kea UNIX control socket: connect, write
 *               one JSON object, read until Kea closes, parse.  Async on
 *               the daemon's event_base.
 *   kea_server  one supervised Kea process (one instance of a kea_plan):
 *               the atomic apply procedure of D.6 with last-known-good
 *               rollback, crash restarts with backoff, a periodic
 *               status-get health poll, and the D.7 status mapping.
 *
 * Every child (kea-dhcp4 -t, the server itself) runs through proc.h.
 * Callbacks are never called from inside the function that was given
 * them; they always come from the event loop.
 */
#ifndef KEA_H
#define KEA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct event_base;
struct proc_runner;

/* --- control socket client ------------------------------------------- */

#define KEA_CTL_REPLY_MAX	(8 * 1024 * 1024)
#define KEA_CTL_TIMEOUT_DEFAULT	10000	/* ms; Kea itself gives up at 10 s */

/* Kea's "result" codes; -1 (KEA_CTL_ETRANSPORT) is ours. */
#define KEA_CTL_ETRANSPORT	-1
#define KEA_CTL_OK		0
#define KEA_CTL_ERROR		1
#define KEA_CTL_UNSUPPORTED	2
#define KEA_CTL_EMPTY		3

struct kea_ctl;

/*
 * Called exactly once per request that kea_ctl_send() accepted, unless it
 * was cancelled first.  result is Kea's "result", or -1 when the socket,
 * the transfer or the JSON failed.  reply is the parsed answer (NULL when
 * result is -1), borrowed for the call: json_incref() it to keep it.
 * text is Kea's "text" (may be NULL when result >= 0) or, for -1, our
 * description naming the socket, e.g. "/run/x.sock: connect: No such file
 * or directory"; borrowed.
 */
typedef void (*kea_ctl_cb)(int result, json_t *reply, const char *text,
	    void *arg);

/*
 * Send {"command": command, "arguments": arguments} to the UNIX socket at
 * socket_path.  arguments is stolen (json_decref'd by us), may be NULL.
 * timeout_ms bounds the whole exchange (<= 0: KEA_CTL_TIMEOUT_DEFAULT).
 * Returns a handle valid until cb has run, or NULL with *cause (caller
 * frees) only when the request is unusable (no command, socket path over
 * 107 bytes); then cb is never called.  Connection errors, including a
 * missing socket, are reported through cb.
 */
struct kea_ctl *kea_ctl_send(struct event_base *, const char *socket_path,
	    const char *command, json_t *arguments, int timeout_ms,
	    kea_ctl_cb cb, void *arg, char **cause);
/* Drop a pending request: its callback will not be called.  NULL ok. */
void	kea_ctl_cancel(struct kea_ctl *);

/* --- one supervised Kea server --------------------------------------- */

struct kea_server;

/*
 * How a running server takes a new configuration.  On this machine's Kea
 * 2.2.0, config-set with libdhcp_ha.so loaded never crashed in ~260 tries
 * (partner up, down, hung, mid-sync) and is as fast as a restart to get
 * back to hot-standby (tests/unit/data/kea_server/FINDINGS.md), so it is
 * the default; a crash would be rolled back and restarted anyway.
 */
enum kea_reconfig {
	KEA_RECONFIG_CONFIG_SET = 0,	/* config-set on the running process */
	KEA_RECONFIG_RESTART,		/* always stop it and start it again */
	KEA_RECONFIG_RESTART_HA		/* restart when libdhcp_ha.so is in the
					   old or new config, else config-set */
};

enum kea_server_state {
	KEA_SERVER_OFF = 0,		/* not wanted: never applied or stopped */
	KEA_SERVER_STARTING,		/* spawned, control socket not yet up */
	KEA_SERVER_RUNNING,		/* up and answering */
	KEA_SERVER_DEAD			/* wanted but not running (restart
					   pending, or nothing good to run) */
};

struct kea_server_status {
	enum kea_server_state state;
	int		 pid;		/* from status-get; 0 when unknown */
	unsigned	 restarts;	/* unexpected exits so far */
	char		 last_error[256];	/* "" when none */
	uint64_t	 up_since_ms;	/* rackd_now_ms() of the last start */

	/* The last health poll (status-get). */
	bool		 polled;	/* a poll has completed since start */
	bool		 poll_ok;	/* it answered with result 0 */
	char		 poll_error[160];
	uint64_t	 polled_ms;
	char		 sockets[16];	/* "ready" / "retrying" / "failed" / "" */
	char		 socket_error[160];	/* first sockets.errors[] entry */
	bool		 ha;		/* the config loads libdhcp_ha.so */
	bool		 ha_present;	/* status-get has high-availability */
	char		 ha_mode[24];	/* "hot-standby", ... */
	char		 ha_state[32];	/* local.state */
	char		 ha_role[16];	/* local.role */
	uint64_t	 ha_state_ms;	/* how long ha_state has held */
	bool		 remote_in_touch;
	bool		 remote_interrupted;	/* communication-interrupted */
	uint64_t	 remote_interrupted_ms;	/* for how long */
	char		 remote_state[32];	/* remote.last-state */
};

enum kea_apply_status {
	KEA_APPLY_APPLIED,		/* the new config is serving */
	KEA_APPLY_UNCHANGED,		/* identical to the last applied one */
	KEA_APPLY_FAILED		/* error says why; see rolled_back */
};

struct kea_apply_result {
	enum kea_apply_status status;
	const char	*error;		/* FAILED: what went wrong; borrowed */
	bool		 restarted;	/* a new process was started */
	bool		 rolled_back;	/* the old config had stopped serving
					   and the last good one was restored */
	uint64_t	 elapsed_ms;
};

typedef void (*kea_apply_cb)(const struct kea_apply_result *, void *arg);
/* State changes (start, running, exit, stop); status valid during call. */
typedef void (*kea_state_cb)(struct kea_server *,
	    const struct kea_server_status *, void *arg);

struct kea_server_opts {
	const char	*name;		/* instance name, for logs */
	int		 family;	/* 4 or 6 */
	const char	*binary;	/* NULL: /usr/sbin/kea-dhcp4 or 6 */
	const char	*config_path;	/* <run_dir>/kea4-<name>.conf */
	const char	*socket_path;	/* the control socket (forced into the
					   config) */
	const char	*run_dir;	/* KEA_PIDFILE_DIR and KEA_LOCKFILE_DIR */
	const char	*log_path;	/* Kea's log file; NULL keeps the
					   config's loggers */
	enum kea_reconfig reconfig;
	int		 backoff_min_ms;	/* 0: 1000 */
	int		 backoff_max_ms;	/* 0: 30000 */
	int		 stable_ms;	/* up this long resets backoff; 0: 60000 */
	int		 poll_ms;	/* health poll period; 0: 5000, <0 off */
	int		 test_timeout_ms;	/* kea -t deadline; 0: 8000 */
	int		 start_timeout_ms;	/* socket wait; 0: 6000 */
	int		 stop_timeout_ms;	/* SIGTERM -> SIGKILL; 0: 3000 */
	kea_state_cb	 state_cb;	/* may be NULL */
	void		*state_arg;
};

/*
 * A supervised instance, initially off.  Strings in opts are copied.  If
 * <config_path>.good exists (a previous run's last known-good config) it
 * is loaded as the good config but not started: see kea_server_start().
 * NULL with *cause when opts are unusable.
 */
struct kea_server *kea_server_new(struct event_base *, struct proc_runner *,
	    const struct kea_server_opts *, char **cause);

/*
 * Apply config (a {"Dhcp4": {...}} document, borrowed; copied before
 * return) by the atomic procedure of D.6: skip when identical to the last
 * applied, kea_check_ha(), write <config>.new, kea -t it, then start the
 * process or reconfigure the running one and verify with status-get.  A
 * failure after the old config stopped serving restores the last good
 * one.  Applies run one at a time in call order; cb once, from the loop.
 * With the default timeouts the worst case (-t 8 s, config-set 5 s, the
 * rollback config-set 5 s, stop 3 s, start 6 s) is 27 s, inside MAAS's
 * 30 s; a normal apply takes 30-100 ms.  Queued applies wait their turn.
 */
void	kea_server_apply(struct kea_server *, const json_t *config,
	    kea_apply_cb cb, void *arg);

/* Start the last known-good config when off.  -1 when there is none. */
int	kea_server_start(struct kea_server *);

/*
 * Stop the process (SIGTERM, SIGKILL after stop_timeout_ms), remove its
 * socket and pid file, and stay off until the next apply or start.  done
 * (may be NULL) runs from the loop once it is gone.  Queued applies fail.
 */
void	kea_server_stop(struct kea_server *, void (*done)(void *), void *arg);

/*
 * Free at once: a still-running process gets SIGKILL to its group (call
 * kea_server_stop() first for a clean stop).  Pending callbacks are not
 * called.  NULL ok.
 */
void	kea_server_free(struct kea_server *);

void	kea_server_status(const struct kea_server *,
	    struct kea_server_status *);
const char *kea_server_name(const struct kea_server *);

/*
 * D.7: "running", "degraded", "dead" or "off" for one status, with a
 * human-readable reason in info (e.g. "hot-standby (standby)",
 * "sockets failed: ...", "exited with status 1").
 */
const char *kea_server_service_status(const struct kea_server_status *,
	    char *info, size_t infolen);

/* HA waiting/syncing/communication-interrupted longer than this is
 * "degraded" (a lone survivor needs max-response-delay to serve). */
#define KEA_HA_SETTLE_MS	30000

#endif
