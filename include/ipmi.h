/*
 * ipmi.h — pure ipmitool codec: MAAS power parameters in, ipmitool argv
 * out; ipmitool's exit status and output in, a power state or a
 * classified failure out.  No I/O, no libevent: power.c runs the
 * commands through proc.h.
 *
 * Facts this follows (spec A.2, A.4, A.9 and recipes §3):
 *   - power_driver LAN -> -I lan, LAN_2_0 or unset -> -I lanplus;
 *   - privilege_level ADMIN -> -L ADMINISTRATOR, unset -> OPERATOR;
 *   - cipher_suite_id -> -C (lanplus only); "" or unset -> 3;
 *     0 is refused (it authenticates anyone with any password);
 *   - the password is never on argv: -f /dev/fd/N, where the runner feeds
 *     the password on that descriptor;
 *   - the K_g is never on argv or in the environment either: -Y, and the
 *     key (hex "0x..." decoded, or ASCII) fed on stdin, which ipmitool's
 *     getpass() reads since the child has no controlling terminal;
 *   - -N/-R from the caller's timing so a dead BMC fails in seconds;
 *   - -v, so authentication failures can be told from unreachable BMCs.
 */
#ifndef IPMI_H
#define IPMI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum ipmi_iface { IPMI_LANPLUS, IPMI_LAN };
enum ipmi_boot_type { IPMI_BOOT_AUTO, IPMI_BOOT_LEGACY, IPMI_BOOT_EFI };

/* What rackd uses from a PowerOn/Off/Cycle/Query context. */
struct ipmi_params {
	char		*address;	/* power_address, or from mac_address */
	int		 port;		/* 623 unless power_address is host:port */
	char		*user;		/* power_user; NULL when unset */
	char		*pass;		/* power_pass; "" when unset (secret) */
	char		*k_g;		/* NULL when unset (secret) */
	enum ipmi_iface	 iface;
	int		 cipher;	/* 1..17, never 0 */
	const char	*privilege;	/* static: USER, OPERATOR, ADMINISTRATOR */
	enum ipmi_boot_type boot_type;
	bool		 soft_off;	/* power_off_mode == "soft" */
	char		*mac_address;	/* node MAC, NULL when unset */
	char		*oem;		/* -o value from workaround_flags, or NULL */
};

/*
 * Fill p from a context object (the decoded StructureAsJSON).  "Unset"
 * is absent, null, "" or whitespace only (MAAS's is_power_parameter_set).
 * Values of the wrong JSON type, a privilege/driver/boot type/cipher
 * outside MAAS's choices, cipher 0, or neither power_address nor
 * mac_address give -1 with *cause naming the key (never its secret
 * value).  When power_address is empty and mac_address set, address is
 * left NULL and the caller resolves it (ipmi_arp_lookup).  On failure p
 * holds nothing to free.
 */
int	ipmi_params_from_json(const json_t *context, struct ipmi_params *p,
	    char **cause);
/* Wipe the secrets and free everything; p is zeroed. */
void	ipmi_params_clear(struct ipmi_params *p);
/*
 * True when a and b would open the same IPMI session, so one status run
 * answers for both: address, port, user, password, K_g, interface,
 * cipher, privilege and OEM type.  The node-side keys (boot type, off
 * mode, MAC) do not matter to a query.
 */
bool	ipmi_params_same_session(const struct ipmi_params *a,
	    const struct ipmi_params *b);

/*
 * Look mac up in the text of /proc/net/arp (IP address, HW type, Flags,
 * HW address, Mask, Device; first line a header).  Case-insensitive on
 * the MAC; incomplete entries (flags 0x0) are skipped.  Returns a malloc'd
 * IP or NULL.
 */
char	*ipmi_arp_lookup(const char *proc_net_arp, const char *mac);

enum ipmi_op {
	IPMI_OP_STATUS,		/* chassis power status */
	IPMI_OP_ON,		/* chassis power on */
	IPMI_OP_OFF,		/* chassis power off */
	IPMI_OP_SOFT,		/* chassis power soft */
	IPMI_OP_CYCLE,		/* chassis power cycle */
	IPMI_OP_BOOTDEV_PXE,	/* chassis bootdev pxe [options=efiboot] */
	IPMI_OP_BOOTPARAM_GET,	/* chassis bootparam get 5 (boot flags) */
};

const char *ipmi_op_name(enum ipmi_op);

struct ipmi_timing {
	int	retransmit_s;	/* -N */
	int	retries;	/* -R */
};

/*
 * The argv for one ipmitool run (argv[0] = tool), NULL-terminated; the
 * caller frees it with ipmi_argv_free().  pass_fd is the descriptor the
 * child reads the password from (-f /dev/fd/<pass_fd>).  p->address must
 * be set.  With a k_g (lanplus) the argv has -Y and the key goes on
 * stdin (ipmi_kg_input); the child must have no controlling terminal.
 */
char	**ipmi_argv(const char *tool, const struct ipmi_params *p,
	    enum ipmi_op op, int pass_fd, const struct ipmi_timing *t);
void	ipmi_argv_free(char **);
/*
 * Bytes to feed on the child's stdin for -Y: the K_g's raw bytes (a
 * "0x..." key hex-decoded, an ASCII key as is, trailing zero bytes
 * dropped) and a newline; NULL when there is no k_g or the interface is
 * lan.  ipmi_params_from_json() refuses keys ipmitool cannot read this
 * way (over 20 bytes, a line break, a zero byte inside).  Caller wipes
 * and frees with xfree_secret (len excludes the NUL).
 */
char	*ipmi_kg_input(const struct ipmi_params *p, size_t *len);
/* Bytes to feed on pass_fd: the password and a newline (caller wipes
 * and frees with xfree_secret). */
char	*ipmi_password_input(const struct ipmi_params *p, size_t *len);

enum power_state { POWER_UNKNOWN, POWER_ON, POWER_OFF };
const char *power_state_name(enum power_state);	/* "on", "off", "unknown" */

/* Failure classes, after MAAS's PowerError hierarchy (spec A.4). */
enum ipmi_fail {
	IPMI_FAIL_NONE = 0,
	IPMI_FAIL_AUTH,		/* bad user/password/k_g: fatal */
	IPMI_FAIL_PRIVILEGE,	/* account cannot do this: fatal */
	IPMI_FAIL_CIPHER,	/* cipher/auth type/IPMI 2.0 unavailable: fatal */
	IPMI_FAIL_UNREACHABLE,	/* no answer: retried */
	IPMI_FAIL_BUSY,		/* no free session: retried */
	IPMI_FAIL_TIMEOUT,	/* rackd's deadline killed ipmitool: retried */
	IPMI_FAIL_OTHER,	/* anything else: retried */
};

const char *ipmi_fail_name(enum ipmi_fail);	/* "auth", "unreachable", ... */
/* True for classes MAAS treats as PowerFatalError (no retry). */
bool	ipmi_fail_fatal(enum ipmi_fail);

struct ipmi_outcome {
	enum ipmi_fail	 fail;
	enum power_state state;		/* IPMI_OP_STATUS success only */
	bool		 boot_efi;	/* IPMI_OP_BOOTPARAM_GET success only:
					   the BIOS boot type is EFI */
	/* Human text in MAAS's style, with its class prefix, e.g. "Could not
	 * authenticate to node's BMC: Incorrect password.  Check BMC
	 * configuration and try again." or "Could not contact node's BMC:
	 * ..."; NULL on success.  Includes the relevant ipmitool line. */
	char		*message;
	/* The raw ipmitool output (stdout then stderr, trimmed, at most 1 KiB)
	 * for logs and reports; never NULL after ipmi_classify. */
	char		*raw;
};

/*
 * Classify one finished ipmitool run.  timed_out = rackd's deadline
 * killed it.  Success needs exit status 0 and, for STATUS, a
 * "Chassis Power is on|off" line; a zero exit whose output does not parse
 * is IPMI_FAIL_OTHER naming the output.  Harmless stderr noise (e.g.
 * "Get HPM.x Capabilities request failed") never turns success into a
 * failure.
 */
void	ipmi_classify(enum ipmi_op op, int exit_status, bool timed_out,
	    const char *out, const char *err, struct ipmi_outcome *o);
void	ipmi_outcome_clear(struct ipmi_outcome *);
/*
 * The BIOS boot type in `chassis bootparam get 5` output: the line
 * "Boot parameter data: <hex>", whose first byte has the EFI bit (0x20)
 * of the boot flags.  1 = EFI, 0 = legacy, -1 when there is no such line.
 */
int	ipmi_boot_flags_efi(const char *out);

#endif
