/*
 * kea_config.h — MAAS ConfigureDHCPv4/v6 arguments to Kea 2.2 (spec C.1-C.7,
 * D.1-D.4).  Pure: no sockets, no files, no DNS; the caller does the I/O.
 *
 * Two steps:
 *   1. dhcp_args_decode() turns the AMP argument box into plain JSON with
 *      MAAS's field names (dns_servers as text), checking every piece;
 *      dhcp_args_encode() is the reverse, for tests and the fake region.
 *   2. kea_plan_build() turns that JSON into the Kea processes to run: one
 *      HA hot-standby kea-dhcp4 (kea-dhcp6) per failover peer, plus one
 *      "standalone" instance for the shared networks without a peer.  v6
 *      pools with a peer are served whole by the primary, as in v4; with
 *      kea_paths.v6_split v6 mirrors MAAS instead (spec C.4): no HA, each
 *      rack serves its half of such a pool, one standalone instance.
 *
 * Conventions (both racks of a VLAN must agree on all of these):
 *   instance name     failover peer name ("failover-vlan-5") or "standalone"
 *   control socket    <run_dir>/kea<4|6>-<name>.sock   (<= 107 bytes)
 *   lease file        <data_dir>/dhcp/kea<4|6>-<name>.leases
 *   HA server names   "rack-<canonical IP>" of each rack's VLAN address
 *   HA peer URLs      https://<ip>:<ha_port>/ (IPv6 in brackets; http://
 *                     when ha_tls_id is NULL), client certificates required
 *   HA listener port  v4: KEA_HA_PORT_DEFAULT (8647, "647" being isc
 *                     failover); v6: KEA_HA6_PORT_DEFAULT (8648), so the
 *                     two families never share a port
 *   subnet ids        v4: network address as u32; v6: FNV-1a-32 of the
 *                     canonical CIDR, probed upwards on collision; never 0
 */
#ifndef KEA_CONFIG_H
#define KEA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "rackd.h"

#include "amp.h"

#define KEA_HA_PORT_DEFAULT		8647
#define KEA_HA6_PORT_DEFAULT		8648
#define KEA_HEARTBEAT_MS_DEFAULT	2000
#define KEA_MAX_RESPONSE_MS_DEFAULT	6000
#define KEA_MAX_ACK_MS_DEFAULT		5000
#define KEA_MAX_UNACKED_DEFAULT		3
#define KEA_LFC_INTERVAL		3600
#define KEA_SOCKET_PATH_MAX		107	/* sun_path minus the NUL */

/* KEA_HOOKS_DIR (the Debian multiarch hooks path) is in rackd.h. */

/* --- arguments ------------------------------------------------------- */

/*
 * Decode ConfigureDHCPv4/v6 (or ValidateDHCP*Config) arguments.  family is
 * 4 or 6; addresses are checked against it.  On success *out is a new JSON
 * object the caller owns (json_decref), with the AMP field names; optional
 * arguments that were absent are absent.  On error -1 and a malloc'd *cause
 * naming the path, e.g. "shared_networks[0].subnets[1].pools[0]:
 * ip_range_low: not an IPv4 address".
 */
int	dhcp_args_decode(const struct amp_box *args, int family, json_t **out,
	    char **cause);

/*
 * The reverse: check a JSON object of the shape dhcp_args_decode() makes
 * and add its arguments to the caller's box.  -1 with *cause (box
 * untouched) when the JSON is malformed in the same ways decode rejects.
 */
int	dhcp_args_encode(const json_t *in, int family, struct amp_box *out,
	    char **cause);

/* Check decoded-form JSON without encoding it (kea_plan_build does this).
 * Every function here accepts cause == NULL when the reason is not wanted. */
int	dhcp_args_check(const json_t *in, int family, char **cause);

/* --- plan ------------------------------------------------------------ */

struct kea_instance {
	char	 *name;		/* "failover-vlan-5" or "standalone" */
	int	  family;	/* 4 or 6 */
	bool	  ha;
	char	 *role;		/* "primary" / "standby"; NULL without HA */
	char	 *mode;		/* how it serves, for the log: "Kea HA
				   hot-standby, this rack primary, ..." */
	char	 *this_address;	/* HA only: this rack's VLAN IP */
	char	 *peer_address;	/* HA only: the partner's */
	char	**interfaces;
	size_t	  n_interfaces;
	char	 *socket_path;	/* the control socket in config */
	char	 *lease_path;	/* the memfile in config */
	json_t	 *config;	/* the full {"Dhcp4": {...}} document */
};

struct kea_plan {
	struct kea_instance	 *inst;
	size_t			  n;		/* 0: this family is off */
	/*
	 * One entry per isc-dhcpd snippet Kea cannot apply, e.g. "subnet
	 * 10.0.0.0/24 snippet 'pxe-tweak'", with the snippet's first
	 * non-blank line alongside (for ValidateDHCP*Config errors).
	 */
	char			**skipped_snippets;
	char			**skipped_lines;
	size_t			  n_skipped;
	/* Anything else left out or moved, worth a log line each: NTP
	 * hostnames, wrong-family DNS servers, hosts outside every subnet,
	 * a peer-less network folded into an HA instance. */
	char			**notes;
	size_t			  n_notes;
};

/*
 * Where the rack's own IP for a subnet comes from (next-server).  Return 0
 * and fill buf with the first local address inside cidr on ifname (ifname
 * may be NULL), or, for a relayed subnet, the first address of that family
 * on ifname; -1 when the rack has none.
 */
typedef int (*kea_rack_ip_fn)(void *arg, int family, const char *cidr,
    const char *ifname, char *buf, size_t len);

struct kea_paths {
	const char	*run_dir;	/* control sockets */
	const char	*data_dir;	/* leases under <data_dir>/dhcp/ */
	const char	*lease_hook;	/* run_script helper; NULL = none */
	/* The Kea hook library (rackd-lease-hook.so) and its two paths:
	 * when set, it is loaded instead of run_script. */
	const char	*lease_hook_lib;
	const char	*lease_spool;	/* its "spool" parameter */
	const char	*lease_socket;	/* its "socket" parameter */
	const char	*hooks_dir;	/* NULL = KEA_HOOKS_DIR */
	int		 ha_port;	/* 0 = KEA_HA_PORT_DEFAULT */
	int		 ha_port_v6;	/* 0 = KEA_HA6_PORT_DEFAULT */
	/* DHCPv6 with a failover peer as MAAS 3.4 does it (no HA, each rack
	 * serves half of every pool with a peer), for a pair whose other
	 * rack is a MAAS (isc-dhcpd6) rack; false = Kea HA hot-standby. */
	bool		 v6_split;
	/* HA over TLS with the credentials kea_tls.h derives and keeps
	 * under <data_dir>/dhcp/tls/<ha_tls_id>/; NULL = plain HTTP. */
	const char	*ha_tls_id;
	/* HA timers; 0 = the defaults above, except max_unacked, where < 0
	 * is the default and 0 means "partner-down as soon as the partner
	 * stops answering" (what a lone PXE client needs; the price is that
	 * a partition between two live racks makes both serve). */
	int		 heartbeat_ms, max_response_ms, max_ack_ms, max_unacked;
	/* next-server: rack_ip() if set, else an HA instance's own address
	 * when it is inside the subnet, else next_server (may be NULL). */
	kea_rack_ip_fn	 rack_ip;
	void		*rack_ip_arg;
	const char	*next_server;
};

/*
 * Build the plan for decoded-form args (checked again here).  On success
 * *out is filled (free with kea_plan_free) and 0 returned; an empty
 * shared_networks gives n == 0.  -1 with *cause on bad args, a pool that
 * names an unknown peer or lies outside its subnet, a network with two
 * peers, an interface two HA instances would need, a subnet-id clash, or a
 * socket path over 107 bytes; *out is then empty.
 */
int	kea_plan_build(const json_t *args, int family, const struct kea_paths *,
	    struct kea_plan *out, char **cause);
void	kea_plan_free(struct kea_plan *);		/* NULL ok */

/*
 * rackd's own HA checks, which kea-dhcp4 -t does not make (spec D.6 step
 * 3): exactly one high-availability entry, this-server-name among the
 * peers, roles consistent with the mode, peer URLs http://IP-literal:port/,
 * core multi-threading on when http-dedicated-listener is, lease_cmds
 * loaded before ha.  A config without libdhcp_ha.so passes.  -1 with
 * *cause naming the first problem.
 */
int	kea_check_ha(const json_t *config, char **cause);

/*
 * Canonical text of a config (sorted keys, compact) for "is this what is
 * already applied" and for hashing.  Caller frees; NULL only if jansson
 * cannot encode.
 */
char	*kea_config_canonical(const json_t *config);

/*
 * The plan's skipped snippets as ValidateDHCP*Config error items
 * [{error, line_num, line, position}].  *errors is a new array (empty when
 * nothing was skipped: send no "errors" then).  Returns the item count.
 */
int	dhcp_validate_errors(const struct kea_plan *, json_t **errors);

/* Put a dhcp_validate_errors() array into a reply box as the "errors"
 * CompressedAmpList; an empty array adds nothing.  -1 with *cause. */
int	dhcp_validate_errors_encode(const json_t *errors, struct amp_box *out,
	    char **cause);

/*
 * Add MAAS's bootloader classes (spec maas-rack-boot.md §3.4) to a built
 * Dhcp4 object: global per-method classes, and per subnet with a
 * next-server the required classes that carry the rack's URLs, and the
 * option-defs of iPXE's option 175 space they test (kea_boot_classes.c).
 */
void	kea_boot_classes_add(json_t *dhcp4);

#endif
