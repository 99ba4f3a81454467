/*
 * proc.h — the daemon's one child-process runner.
 *
 * Every external program rackd runs (ipmitool, kea-dhcp4 -t, ...) goes
 * through here, so the rules hold everywhere:
 *   - fork/exec of an absolute path with an argv: never a shell;
 *   - the child leads its own process group, so a deadline kills the
 *     whole group (SIGTERM, then SIGKILL after a grace period);
 *   - no inherited descriptors: stdin is /dev/null (or the input pipe),
 *     stdout/stderr are pipes, everything else is closed;
 *   - a minimal environment (LC_ALL=C and a fixed PATH unless the caller
 *     gives its own), NOTIFY_SOCKET never passed, ambient capabilities
 *     dropped unless the caller keeps them;
 *   - stdout and stderr captured up to a cap (the rest is read and
 *     discarded so the child never blocks on a full pipe);
 *   - reaping from the event loop (SIGCHLD + waitpid(WNOHANG)): the loop
 *     never blocks on a child.
 * A bounded number of children run at once; further starts wait in FIFO
 * order and their deadline counts from when they actually start.
 *
 * Secrets (a BMC password) are passed as input bytes on a pipe the child
 * sees at a chosen descriptor (e.g. 3, read by ipmitool -f /dev/fd/3):
 * they never appear in any argv or environment.  proc wipes its copy as
 * soon as it has been written to the pipe.  Several inputs can be given
 * (e.g. a password on descriptor 3 and a key on stdin), each on its own
 * pipe.  new_session runs the child in a session of its own, with no
 * controlling terminal: a program that prompts with getpass() then reads
 * its stdin (the input pipe) instead of the daemon's terminal.
 */
#ifndef PROC_H
#define PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct proc_runner;
struct proc;

/* One more input pipe (see proc_spec.more_inputs). */
struct proc_input {
	const void	*data;		/* bytes fed on the pipe */
	size_t		 len;		/* <= 4096 */
	int		 fd;		/* child descriptor: 0 = stdin, or >= 3 */
};
#define PROC_MORE_INPUTS_MAX	3

struct proc_spec {
	const char	*path;		/* absolute path of the program */
	char *const	*argv;		/* argv[0] first, NULL-terminated; copied */
	char *const	*envp;		/* NULL = { "LC_ALL=C", "PATH=..." }; copied */
	const void	*input;		/* bytes fed on a pipe (may be NULL) */
	size_t		 input_len;	/* <= 4096 (written before exec) */
	int		 input_fd;	/* child descriptor of that pipe: 0 = stdin,
					   or >= 3; ignored when input is NULL */
	int		 timeout_ms;	/* hard deadline from exec; <= 0 = none */
	int		 kill_grace_ms;	/* SIGTERM -> SIGKILL gap; <= 0 = 500 */
	size_t		 output_max;	/* cap per stream; 0 = 64 KiB */
	bool		 keep_caps;	/* keep ambient capabilities (Kea needs
					   CAP_NET_RAW); default drops them */
	const struct proc_input *more_inputs;	/* further input pipes, */
	size_t		 n_more_inputs;	/*   <= PROC_MORE_INPUTS_MAX; every
					   descriptor distinct; copied */
	bool		 new_session;	/* setsid(): no controlling terminal */
};

struct proc_result {
	int		 spawn_error;	/* errno when the exec itself failed, else 0 */
	bool		 exited;	/* normal exit: exit_status is valid */
	int		 exit_status;
	int		 signal;	/* killed by this signal, else 0 */
	bool		 timed_out;	/* the deadline fired (then signal is set) */
	bool		 cancelled;	/* proc_cancel() or runner shutdown */
	const char	*out;		/* captured stdout, NUL-terminated; borrowed */
	size_t		 out_len;
	const char	*err;		/* captured stderr, NUL-terminated; borrowed */
	size_t		 err_len;
	bool		 truncated;	/* a stream went over output_max */
	uint64_t	 elapsed_ms;	/* from exec to reaped */
	int		 pid;
};

/* Called once per proc, from the event loop, after the child is reaped
 * and both pipes are drained.  The result is valid only during the call. */
typedef void (*proc_done_cb)(const struct proc_result *, void *arg);

/* Runner with at most max_running children at once (>= 1). */
struct proc_runner *proc_runner_new(struct event_base *, int max_running);
/* Change the cap (running children are not touched). */
void	proc_runner_set_max(struct proc_runner *, int max_running);
/*
 * Kill every child (SIGKILL to its group), reap them synchronously, call
 * each callback with cancelled = true, and free the runner.  NULL is ok.
 */
void	proc_runner_free(struct proc_runner *);
/* Running and waiting counts. */
void	proc_runner_counts(const struct proc_runner *, int *running,
	    int *waiting);

/*
 * Start (or queue) a child.  Returns a handle valid until cb has been
 * called, or NULL with *cause (caller frees) when the spec is unusable
 * (relative path, NULL argv, input too big, bad or repeated input
 * descriptor).  A failed exec is reported
 * through cb with spawn_error, never as NULL here.  cb is never called
 * from inside proc_start().
 */
struct proc *proc_start(struct proc_runner *, const struct proc_spec *,
	    proc_done_cb cb, void *arg, char **cause);
/* Kill the child's group now (or drop it from the queue); cb still runs,
 * with cancelled = true. */
void	proc_cancel(struct proc *);

#endif
