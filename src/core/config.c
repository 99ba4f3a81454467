/*
 * config.c — rackd.conf: libyaml document -> struct rackd_config.
 *
 * Everything (parser, validator, printer, log of changes on reload and
 * the rackd.conf(5) page) is driven by config_keys[], so adding a key or a
 * whole section (power:, dhcp:) means adding table rows: a CONFIG_SECTION
 * row "name" followed by its "name.key" rows.
 *
 * Values are interpreted from their scalar text, not from YAML's implicit
 * typing, so `tftp_port: "69"` and `tftp_port: 69` mean the same; an
 * empty or null value selects the key's default.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "xmalloc.h"

#define CONFIG_MAX_FILE		(1024 * 1024)	/* a config is a few lines */
#define CONFIG_NAME_MAX		64		/* longest key we suggest for */

#define OFF(m)	offsetof(struct rackd_config, m)
#define REG(m)	offsetof(struct rackd_config, region.m)
#define PWR(m)	offsetof(struct rackd_config, power.m)
#define DHC(m)	offsetof(struct rackd_config, dhcp.m)
#define RFR(m)	offsetof(struct rackd_config, refresh.m)
#define TFT(m)	offsetof(struct rackd_config, tftp.m)
#define HTP(m)	offsetof(struct rackd_config, http.m)
#define IMG(m)	offsetof(struct rackd_config, images.m)
#define MET(m)	offsetof(struct rackd_config, metrics.m)

const struct config_key config_keys[] = {
	/* MAAS-compatible keys */
	{ "maas_url", CONFIG_URL_LIST, OFF(maas_urls),
	  "http://localhost:5240/MAAS", 0, 0, false,
	  "Region controller URL(s) used for discovery: a single http or "
	  "https URL or a list of them.  rackd asks each for the region's "
	  "RPC endpoints and sends the first one as the url argument of "
	  "RegisterRackController." },
	{ "cluster_uuid", CONFIG_UUID, OFF(cluster_uuid), NULL, 0, 0, false,
	  "Legacy cluster UUID written by the MAAS deb postinst; when set it "
	  "is sent as nodegroup_uuid when registering.  Unset by default." },
	{ "debug", CONFIG_BOOL, OFF(debug), "false", 0, 0, false,
	  "Log debug messages.  Accepts true/false, yes/no, on/off." },
	{ "tftp_port", CONFIG_INT, OFF(tftp_port), "69", 0, 65535, false,
	  "UDP port of the TFTP server (IPv4 and IPv6, every address).  0 "
	  "turns TFTP off (MAAS uses 0 for an experimental mode)." },
	{ "tftp_root", CONFIG_STRING, OFF(tftp_root),
	  "/var/lib/maas/boot-resources/current", 0, 0, false,
	  "MAAS TFTP root directory: the boot-resources tree (a `current` "
	  "symlink to a snapshot, laid out as MAAS lays it out) whose images "
	  "ListBootImages reports and TFTP serves.  Symlinks in it are "
	  "followed wherever they point, as MAAS follows the bootloader "
	  "links to /usr/lib.  Unset: data_dir/boot-resources/current "
	  "(the default shown is for the default data_dir)." },
	{ "max_idle_rpc_connections", CONFIG_INT,
	  OFF(max_idle_rpc_connections), "1", 1, 1024, true,
	  "MAAS: persistent RPC connections per region event loop." },
	{ "max_rpc_connections", CONFIG_INT, OFF(max_rpc_connections),
	  "4", 1, 1024, true,
	  "MAAS: maximum RPC connections per region event loop." },
	{ "rpc_keepalive", CONFIG_INT, OFF(rpc_keepalive), "1000", 1, 5000,
	  true, "MAAS: lifetime of extra RPC connections." },

	/* rackd keys */
	{ "secret_file", CONFIG_PATH, OFF(secret_file), "/var/lib/maas/secret",
	  0, 0, false,
	  "File holding the shared secret in hexadecimal, as written by the "
	  "region or by rackd init." },
	{ "data_dir", CONFIG_PATH, OFF(data_dir), "/var/lib/maas", 0, 0, false,
	  "MAAS data directory: maas_id, maas_uuid and rpc.state live here." },
	{ "run_dir", CONFIG_PATH, OFF(run_dir), "/run/rackd", 0, 0, false,
	  "Directory for runtime files." },
	{ "hostname", CONFIG_STRING, OFF(hostname), NULL, 0, 0, false,
	  "Host name the rack registers with (letters, digits, '-' and '.', "
	  "at most 253 characters).  Defaults to the system host name." },

	/* region: discovery and connection tuning */
	{ "region", CONFIG_SECTION, OFF(region), NULL, 0, 0, false,
	  "Region discovery and connection tuning.  Durations are a number "
	  "of seconds (fractions allowed, e.g. 0.5) or a number with the "
	  "suffix ms, s or m." },
	{ "region.discovery_timeout", CONFIG_DURATION, REG(discovery_timeout_ms),
	  "5s", 100, 60000, false,
	  "Timeout of one discovery request to a maas_url." },
	{ "region.connect_timeout", CONFIG_DURATION, REG(connect_timeout_ms),
	  "5s", 100, 120000, false,
	  "Timeout of the TCP connection to one region event loop." },
	{ "region.handshake_timeout", CONFIG_DURATION,
	  REG(handshake_timeout_ms), "30s", 1000, 600000, false,
	  "Time allowed for Authenticate and RegisterRackController." },
	{ "region.liveness_timeout", CONFIG_DURATION, REG(liveness_timeout_ms),
	  "5s", 1000, 300000, false,
	  "A region connection that answers nothing for this long is "
	  "declared dead and dropped." },
	{ "region.call_timeout", CONFIG_DURATION, REG(call_timeout_ms),
	  "120s", 1000, 600000, false,
	  "Default timeout of a call from the rack to the region." },
	{ "region.queue_max", CONFIG_INT, REG(queue_max), "1000", 1, 100000,
	  false,
	  "Calls to the region kept waiting while no region is connected; "
	  "further calls fail at once." },
	{ "region.backoff_max", CONFIG_DURATION, REG(backoff_max_ms), "30s",
	  1000, 3600000, false,
	  "Cap of the jittered exponential reconnect backoff." },
	{ "region.services_interval", CONFIG_DURATION,
	  REG(services_interval_ms), "30s", 100, 3600000, false,
	  "Period of UpdateServices reports to the region." },
	{ "region.discovery_interval", CONFIG_DURATION,
	  REG(discovery_interval_ms), "30s", 1000, 3600000, false,
	  "Period of the /rpc/ re-discovery (1 s while no event loop is "
	  "connected, and at once when a connection drops)." },
	{ "region.rejoin_probe_max", CONFIG_DURATION,
	  REG(rejoin_probe_max_ms), "60s", 0, 3600000, false,
	  "How long rackd keeps probing quickly for a region that went away: "
	  "a maas_url whose /rpc/ stopped answering (that URL alone is "
	  "fetched) or a region controller whose event loops were all lost "
	  "or left the document (discovery is re-run), so a restarted region "
	  "is rejoined within rejoin_probe_interval of answering.  Then the "
	  "normal discovery_interval applies.  0 turns quick probes off." },
	{ "region.rejoin_probe_interval", CONFIG_DURATION,
	  REG(rejoin_probe_interval_ms), "4s", 500, 60000, false,
	  "Cap of the quick probes' backoff (0.5 s, doubling, jittered into "
	  "[d/2, d]); raise it to spare the regions when many racks share "
	  "them." },

	/* power: BMC control through ipmitool */
	{ "power", CONFIG_SECTION, OFF(power), NULL, 0, 0, false,
	  "BMC power control (power type ipmi) through ipmitool.  Every "
	  "command to one BMC is serialised; a BMC that keeps failing is "
	  "quarantined with backoff so it cannot starve the others." },
	{ "power.ipmitool", CONFIG_PATH, PWR(ipmitool), "/usr/bin/ipmitool",
	  0, 0, false,
	  "The ipmitool program.  When it is missing, PowerDriverCheck "
	  "reports the ipmitool package as missing." },
	{ "power.max_concurrency", CONFIG_INT, PWR(max_concurrency), "32",
	  1, 1024, false,
	  "ipmitool processes running at once over all BMCs." },
	{ "power.command_timeout", CONFIG_DURATION, PWR(command_timeout_ms),
	  "10s", 1000, 300000, false,
	  "Hard deadline of one ipmitool run; its process group is then "
	  "killed." },
	{ "power.action_timeout", CONFIG_DURATION, PWR(action_timeout_ms),
	  "120s", 5000, 600000, false,
	  "Overall deadline of a power on, off or cycle, retries included; "
	  "it then fails with \"Timed out\" as MAAS reports it." },
	{ "power.query_timeout", CONFIG_DURATION, PWR(query_timeout_ms),
	  "30s", 2000, 300000, false,
	  "Overall deadline of a power query, retries included (the region "
	  "gives up on a rack after 60 s)." },
	{ "power.ipmi_retransmit", CONFIG_INT, PWR(ipmi_retransmit_s), "1",
	  1, 30, false,
	  "ipmitool -N: seconds between retransmissions." },
	{ "power.ipmi_retries", CONFIG_INT, PWR(ipmi_retries), "2", 0, 10,
	  false,
	  "ipmitool -R: retransmissions before ipmitool gives up; with -N 1 "
	  "an unreachable BMC fails after about (R+1)*2 seconds." },
	{ "power.bmc_gap", CONFIG_DURATION, PWR(bmc_gap_ms), "100ms", 0,
	  10000, false,
	  "Minimum gap between two commands to the same BMC." },
	{ "power.confirm_wait", CONFIG_DURATION, PWR(confirm_wait_ms), "1s",
	  100, 60000, false,
	  "Wait before the query that confirms an action; doubled at each "
	  "further confirmation." },
	{ "power.quarantine_after", CONFIG_INT, PWR(quarantine_after), "3", 1,
	  100, false,
	  "Consecutive failed commands after which a BMC is quarantined: "
	  "queries are answered from the last error and actions get one "
	  "attempt, until the quarantine (5 s, doubling) expires." },
	{ "power.quarantine_max", CONFIG_DURATION, PWR(quarantine_max_ms),
	  "300s", 1000, 3600000, false,
	  "Cap of the quarantine backoff." },
	{ "power.monitor_interval", CONFIG_DURATION, PWR(monitor_interval_ms),
	  "15s", 0, 3600000, false,
	  "Period of the power monitor (ListNodePowerParameters, then a "
	  "query of each node); 0 turns it off." },
	{ "power.monitor_concurrency", CONFIG_INT, PWR(monitor_concurrency),
	  "5", 1, 256, false,
	  "Queries at once in one monitor round." },
	{ "power.report_queue_max", CONFIG_INT, PWR(report_queue_max), "10000",
	  10, 1000000, false,
	  "Power reports (events, states, failures) kept in order while no "
	  "region is connected; the oldest are dropped beyond this." },

	/* dhcp: ISC Kea */
	{ "dhcp", CONFIG_SECTION, OFF(dhcp), NULL, 0, 0, false,
	  "DHCP with ISC Kea 2.2: one kea-dhcp4 per failover peer (Kea HA "
	  "hot-standby; MAAS primary = Kea primary, secondary = standby), "
	  "one for VLANs without a peer, kea-dhcp6 likewise (see "
	  "v6_failover for MAAS's split DHCPv6 pools).  Config files "
	  "and control sockets live in run_dir, leases and the lease spool "
	  "in data_dir/dhcp." },
	{ "dhcp.kea_dhcp4", CONFIG_PATH, DHC(kea_dhcp4), "/usr/sbin/kea-dhcp4",
	  0, 0, false, "The kea-dhcp4 program." },
	{ "dhcp.kea_dhcp6", CONFIG_PATH, DHC(kea_dhcp6), "/usr/sbin/kea-dhcp6",
	  0, 0, false, "The kea-dhcp6 program." },
	{ "dhcp.hooks_dir", CONFIG_PATH, DHC(hooks_dir), KEA_HOOKS_DIR, 0, 0,
	  false, "Directory of Kea's hook libraries (libdhcp_ha.so, "
	  "libdhcp_lease_cmds.so, libdhcp_run_script.so)." },
	{ "dhcp.lease_hook", CONFIG_STRING, DHC(lease_hook), "library", 0, 0,
	  false,
	  "How Kea hands lease events to rackd: \"library\" loads "
	  "lease_hook_library into Kea, which appends each event to "
	  "data_dir/dhcp/lease-hook.spool and nudges rackd (no process per "
	  "event, about 1,000 events/s and more); \"script\" runs "
	  "lease_hook_script through Kea's run_script hook, one process "
	  "per event (about 200/s).  Both keep every event while rackd or "
	  "the region is down.  \"library\" falls back to \"script\" "
	  "with a warning when the library is missing.  A rackd started "
	  "from its build tree uses the library and program built beside "
	  "it unless these paths are set." },
	{ "dhcp.lease_hook_library", CONFIG_PATH, DHC(lease_hook_library),
	  "/usr/lib/rackd/rackd-lease-hook.so", 0, 0, false,
	  "The Kea hook library used when lease_hook is \"library\"." },
	{ "dhcp.lease_hook_script", CONFIG_PATH, DHC(lease_hook_script),
	  "/usr/lib/rackd/rackd-lease-hook", 0, 0, false,
	  "The program Kea's run_script hook runs for every lease event "
	  "when lease_hook is \"script\"; it hands the event to rackd, or "
	  "spools it on disk when rackd is down." },
	{ "dhcp.ha_port", CONFIG_INT, DHC(ha_port), "8647", 1, 65535, false,
	  "TCP port of the Kea HA listener; MAAS sends no port, so every "
	  "rack must use the same one.  The listener binds to the rack's "
	  "address on the VLAN and accepts HA commands only." },
	{ "dhcp.ha_port_v6", CONFIG_INT, DHC(ha_port_v6), "8648", 1, 65535,
	  false,
	  "TCP port of kea-dhcp6's HA listener (DHCPv6 in hot-standby), "
	  "bound to the rack's IPv6 address on the VLAN; the same on every "
	  "rack, and apart from ha_port so each port carries one family." },
	{ "dhcp.v6_failover", CONFIG_STRING, DHC(v6_failover), "hot-standby",
	  0, 0, false,
	  "How a DHCPv6 VLAN with a primary and a secondary rack is served.  "
	  "\"hot-standby\": one kea-dhcp6 per failover peer in Kea HA, as "
	  "for DHCPv4: the primary serves every pool whole, each lease is on "
	  "the standby before the client has it, and the standby serves "
	  "(the leases of both) about max_response_delay after the primary "
	  "dies; leases are carried across every reconfiguration as for v4.  "
	  "\"split\": what MAAS 3.4 does, no failover: each rack serves "
	  "half of every pool with a peer (primary the lower half) and knows "
	  "nothing of the other's leases; use it only when the other rack of "
	  "a VLAN is a MAAS (isc-dhcpd6) rack.  Both racks of a VLAN must "
	  "agree.  A VLAN without a secondary is served standalone either "
	  "way." },
	{ "dhcp.ha_tls", CONFIG_BOOL, DHC(ha_tls), "true", 0, 0, false,
	  "Protect the Kea HA channel with TLS: each listener asks for a "
	  "client certificate signed by a CA that every rack derives from "
	  "the shared secret (HKDF-SHA256, Ed25519), so only a rack holding "
	  "the secret can send it HA commands (ha-reset, dhcp-disable, "
	  "lease4-get-all...).  The CA and this rack's certificate and key "
	  "are written under data_dir/dhcp/tls/<id>/ (mode 0600), with a new "
	  "<id> when the secret changes (the old one is removed once no Kea "
	  "configuration names it).  Both racks of a pair must agree; "
	  "turn it off only for a partner that cannot use TLS (Kea 2.2.0's "
	  "HA listener enforces no HTTP basic auth, so off means open)." },
	{ "dhcp.heartbeat_delay", CONFIG_DURATION, DHC(heartbeat_ms), "1s",
	  100, 60000, false, "Kea HA heartbeat-delay." },
	{ "dhcp.max_response_delay", CONFIG_DURATION, DHC(max_response_ms),
	  "3s", 300, 600000, false,
	  "Kea HA max-response-delay: a partner silent this long is taken "
	  "as down, and the standby starts serving." },
	{ "dhcp.max_ack_delay", CONFIG_DURATION, DHC(max_ack_ms), "1s", 100,
	  60000, false, "Kea HA max-ack-delay." },
	{ "dhcp.max_unacked_clients", CONFIG_INT, DHC(max_unacked), "0", 0,
	  1000, false,
	  "Kea HA max-unacked-clients.  0 (the default) takes over as soon "
	  "as the partner stops answering, as isc-dhcpd's secondary keeps "
	  "serving in MAAS; a larger value also waits for that many "
	  "clients the partner left unanswered, which avoids both racks "
	  "serving during a partition between two live racks but never "
	  "fails over for a lone PXE client." },
	{ "dhcp.spool_max", CONFIG_INT, DHC(spool_max), "100000", 100,
	  10000000, false,
	  "Lease events kept in data_dir/dhcp while no region takes them; "
	  "the oldest are dropped beyond this, with a log line." },

	/* refresh: the rack's interfaces to the region */
	{ "refresh", CONFIG_SECTION, OFF(refresh), NULL, 0, 0, false,
	  "The rack refresh, as MAAS 3.4's rack does it: after the first "
	  "registration and whenever the interfaces change, rackd calls "
	  "RequestRackRefresh and posts the machine-resources document to "
	  "<maas_url>/metadata/2012-03-01/.  Without it the region knows no "
	  "interface of the rack: it cannot be picked as a DHCP rack and "
	  "gets no layer-2 BMCs to monitor." },
	{ "refresh.enabled", CONFIG_BOOL, RFR(enabled), "true", 0, 0, false,
	  "Refresh at all.  Turn off only for a region that must not learn "
	  "the rack's interfaces." },
	{ "refresh.debounce", CONFIG_DURATION, RFR(debounce_ms), "2s", 0,
	  60000, false,
	  "After a link or address change, wait until the interfaces have "
	  "been quiet this long before comparing them." },
	{ "refresh.check_interval", CONFIG_DURATION, RFR(check_interval_ms),
	  "30s", 1000, 3600000, false,
	  "Re-read the interfaces this often even without a change message "
	  "(MAAS's rack checks every 30 s)." },
	{ "refresh.min_interval", CONFIG_DURATION, RFR(min_interval_ms), "5s",
	  0, 3600000, false,
	  "At most one refresh per this interval: each one costs the region "
	  "real database work." },
	{ "refresh.retry_interval", CONFIG_DURATION, RFR(retry_interval_ms),
	  "30s", 100, 3600000, false,
	  "A refresh that failed anywhere is retried as a whole after this." },
	{ "refresh.timeout", CONFIG_DURATION, RFR(timeout_ms), "30s", 100,
	  600000, false,
	  "Timeout of one metadata POST to the region." },

	/* tftp: the TFTP server (tftp_port, tftp_root above) */
	{ "tftp", CONFIG_SECTION, OFF(tftp), NULL, 0, 0, false,
	  "TFTP server limits (the port and root are the MAAS keys "
	  "tftp_port and tftp_root).  Changes need a restart." },
	{ "tftp.max_transfers", CONFIG_INT, TFT(max_transfers), "500", 1,
	  100000, false,
	  "Transfers served at once; a request beyond this is refused with "
	  "TFTP error 0 \"server busy\" and a log line." },

	/* http: images, boot files and the /MAAS/ proxy (MAAS's nginx + 5249) */
	{ "http", CONFIG_SECTION, OFF(http), NULL, 0, 0, false,
	  "rackd's HTTP server, in place of MAAS's nginx on 5248 and its "
	  "rackd site on 5249: /images/ from tftp_root, the boot files and "
	  "configs, and /MAAS/ proxied to a live region.  Changes need a "
	  "restart." },
	{ "http.port", CONFIG_INT, HTP(port), "5248", 0, 65535, false,
	  "Port machines use (MAAS's nginx: /images/, /MAAS/, boot files).  "
	  "0 turns it off." },
	{ "http.internal_port", CONFIG_INT, HTP(internal_port), "5249", 0,
	  65535, false,
	  "MAAS rackd's own port: /boot/<file> (with X-Server-Addr and "
	  "X-Forwarded-For) and /log.  0 turns it off." },
	{ "http.bind", CONFIG_STRING, HTP(bind), "::,0.0.0.0", 0, 0, false,
	  "Addresses both ports listen on, comma separated (IPv6 ones are "
	  "IPv6-only).  A bind that fails is logged and the others serve." },
	{ "http.region_port", CONFIG_INT, HTP(region_port), "5240", 1, 65535,
	  false,
	  "Port of the regions' HTTP server: /MAAS/ goes to <region "
	  "address>:<region_port> for each connected region, as MAAS's "
	  "nginx upstream does (the maas_url in use when none is "
	  "connected)." },
	{ "http.proxy_timeout", CONFIG_DURATION, HTP(proxy_timeout_ms), "120s",
	  1000, 3600000, false,
	  "A region that sends nothing for this long on a proxied /MAAS/ "
	  "request (connect included) is given up." },
	{ "http.client_timeout", CONFIG_DURATION, HTP(client_timeout_ms),
	  "60s", 1000, 3600000, false,
	  "A client connection idle (or not reading) this long is closed." },
	{ "http.max_connections", CONFIG_INT, HTP(max_connections), "2000", 1,
	  100000, false,
	  "Client connections at once; beyond this new ones are closed at "
	  "once, with a log line." },

	/* images: boot images synced from the region */
	{ "images", CONFIG_SECTION, OFF(images), NULL, 0, 0, false,
	  "Boot images, synced from the region's simplestreams mirror "
	  "(<maas_url>/images-stream/) as MAAS 3.4's rack does: into the "
	  "parent directory of tftp_root (cache/, snapshot-*/, current), "
	  "after the first registration, when the region sends "
	  "ImportBootImages, and when current/maas.meta gets old." },
	{ "images.enabled", CONFIG_BOOL, IMG(enabled), "true", 0, 0, false,
	  "Sync boot images at all.  Off: ImportBootImages is answered and "
	  "logged, nothing is downloaded." },
	{ "images.check_interval", CONFIG_DURATION, IMG(check_interval_ms),
	  "5m", 1000, 86400000, false,
	  "How often the age of current/maas.meta is checked (MAAS: 5 min)." },
	{ "images.max_age", CONFIG_DURATION, IMG(max_age_ms), "15m", 1000,
	  604800000, false,
	  "Sync when current/maas.meta is missing or older than this (MAAS: "
	  "15 min).  A sync that finds nothing new only touches the file." },
	{ "images.stall_timeout", CONFIG_DURATION, IMG(stall_timeout_ms),
	  "60s", 1000, 3600000, false,
	  "A download that receives nothing for this long fails and resumes "
	  "(from the next region URL when there are several)." },
	{ "images.retries", CONFIG_INT, IMG(retries), "3", 1, 100, false,
	  "Fetches of one file whose size or sha256 is wrong before the sync "
	  "fails; such a file is never used." },

	/* metrics: the Prometheus exposition on the internal HTTP port */
	{ "metrics", CONFIG_SECTION, OFF(metrics), NULL, 0, 0, false,
	  "Prometheus metrics (the ones `rackd status` shows) served on "
	  "http.internal_port.  Changes need a restart." },
	{ "metrics.enabled", CONFIG_BOOL, MET(enabled), "true", 0, 0, false,
	  "Serve GET /metrics (text format 0.0.4) on http.internal_port; "
	  "false makes it 404.  Nothing is served when http.internal_port "
	  "is 0." },
};
const size_t config_nkeys = RACKD_NELEM(config_keys);

_Static_assert(RACKD_NELEM(config_keys) <= CONFIG_MAX_KEYS,
    "raise CONFIG_MAX_KEYS in config.h");
/* CONFIG_URL_LIST stores a (char **, size_t) pair. */
_Static_assert(offsetof(struct rackd_config, n_maas_urls) ==
    offsetof(struct rackd_config, maas_urls) + sizeof(char **),
    "n_maas_urls must follow maas_urls");

/* Parse state: the first error wins. */
struct load_ctx {
	const char		*name;
	const unsigned char	*buf;
	size_t			 len;
	yaml_document_t		*doc;
	struct rackd_config	*cfg;
	char			*cause;
};

static const char *type_expect[] = {
	[CONFIG_STRING] = "a string",
	[CONFIG_URL_LIST] = "a URL or a list of URLs",
	[CONFIG_BOOL] = "a boolean",
	[CONFIG_INT] = "an integer",
	[CONFIG_DURATION] = "a duration",
	[CONFIG_PATH] = "an absolute path",
	[CONFIG_UUID] = "a UUID",
	[CONFIG_SECTION] = "a mapping",
};

static const char *type_man[] = {
	[CONFIG_STRING] = "string",
	[CONFIG_URL_LIST] = "URL or list of URLs",
	[CONFIG_BOOL] = "boolean",
	[CONFIG_INT] = "integer",
	[CONFIG_DURATION] = "duration",
	[CONFIG_PATH] = "absolute path",
	[CONFIG_UUID] = "UUID",
	[CONFIG_SECTION] = "section",
};

/* --- small helpers ---------------------------------------------------- */

static void *
field(struct rackd_config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

static const void *
cfield(const struct rackd_config *cfg, const struct config_key *k)
{
	return (const char *)cfg + k->offset;
}

static size_t
key_index(const struct config_key *k)
{
	return (size_t)(k - config_keys);
}

static bool
key_present(const struct rackd_config *cfg, size_t i)
{
	return (cfg->present[i / 64] >> (i % 64)) & 1;
}

bool
config_key_present(const struct rackd_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return key_present(cfg, i);
	return false;
}

static void
key_set_present(struct rackd_config *cfg, size_t i)
{
	cfg->present[i / 64] |= 1ULL << (i % 64);
}

/* Keys of a section are the rows "section.xxx" that follow it. */
static bool
key_in_section(const struct config_key *k, const char *sec)
{
	size_t n = strlen(sec);

	return strncmp(k->name, sec, n) == 0 && k->name[n] == '.';
}

static bool
key_top_level(const struct config_key *k)
{
	return strchr(k->name, '.') == NULL;
}

static const struct config_key *
key_find(const char *name)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Optimal string alignment distance (Levenshtein plus transpositions). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, c, v;
	size_t d[CONFIG_NAME_MAX + 1][CONFIG_NAME_MAX + 1];

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			c = a[i - 1] == b[j - 1] ? 0 : 1;
			v = d[i - 1][j - 1] + c;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/*
 * Nearest known key to an unknown one, or NULL when nothing is close
 * enough to be a plausible typo.  At top level the leaf names of section
 * keys count too, so a misplaced "liveness_timeout:" suggests
 * "region.liveness_timeout".
 */
static const char *
key_suggest(const char *sec, const char *name)
{
	const struct config_key *k, *best = NULL;
	const char *leaf;
	size_t i, d, bestd = SIZE_MAX, len = strlen(name), limit;

	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (sec != NULL) {
			if (!key_in_section(k, sec))
				continue;
			leaf = k->name + strlen(sec) + 1;
			d = edit_distance(name, leaf);
		} else {
			d = edit_distance(name, k->name);
			if ((leaf = strrchr(k->name, '.')) != NULL &&
			    edit_distance(name, leaf + 1) < d)
				d = edit_distance(name, leaf + 1);
		}
		if (d < bestd) {
			bestd = d;
			best = k;
		}
	}
	limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
	if (best == NULL || bestd > limit || bestd >= len)
		return NULL;
	return best->name;
}

/* A short printable rendering of user text for messages. */
static char *
show(const char *s, size_t len)
{
	char *out, *p;
	size_t i, n = len > 40 ? 40 : len;

	out = p = xmalloc(n + 4);
	for (i = 0; i < n; i++)
		*p++ = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (n < len) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p = '\0';
	return out;
}

static void
ctx_error(struct load_ctx *ctx, yaml_mark_t m, const char *fmt, ...)
    RACKD_PRINTF(3, 4);

static void
ctx_error(struct load_ctx *ctx, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (ctx->cause != NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	xasprintf(&ctx->cause, "%s:%zu:%zu: %s", ctx->name, m.line + 1,
	    m.column + 1, msg);
	free(msg);
}

/* "a list", "a mapping" or 'text' for "expected X, got Y" messages. */
static char *
node_describe(yaml_node_t *n)
{
	char *s, *out;

	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return xstrdup("a list");
	case YAML_MAPPING_NODE:
		return xstrdup("a mapping");
	default:
		s = show((const char *)n->data.scalar.value,
		    n->data.scalar.length);
		xasprintf(&out, "'%s'", s);
		free(s);
		return out;
	}
}

static bool
scalar_is_null(yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 ||
	    strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	    strcmp(v, "NULL") == 0;
}

/* --- value syntax ----------------------------------------------------- */

static int
parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "true", "yes", "on" };
	static const char *no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < RACKD_NELEM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
parse_int(const char *s, long long *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]) &&
	    !((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1])))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE)
		*out = s[0] == '-' ? LLONG_MIN : LLONG_MAX;
	return 0;
}

/*
 * "500ms", "2s", "1.5s", "1m" or a bare number of seconds ("0.5").
 * Returns 0, -1 on bad syntax, -2 when not a whole number of ms.
 * Huge values saturate so the range check reports them.
 */
static int
parse_duration(const char *s, long long *ms)
{
	unsigned long long whole = 0, frac = 0, scale = 1, mult;
	const char *p = s;
	int digits = 0, big = 0;

	while (isdigit((unsigned char)*p)) {
		if (whole > 1000000000000ULL)
			big = 1;
		else
			whole = whole * 10 + (unsigned)(*p - '0');
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (scale < 1000000000000ULL) {
				frac = frac * 10 + (unsigned)(*p - '0');
				scale *= 10;
			} else if (*p != '0')
				return -2;
			p++;
			digits++;
		}
	}
	if (digits == 0)
		return -1;
	if (*p == '\0' || strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "m") == 0)
		mult = 60000;
	else
		return -1;
	if ((frac * mult) % scale != 0)
		return -2;
	if (big)
		*ms = LLONG_MAX;
	else
		*ms = (long long)(whole * mult + frac * mult / scale);
	return 0;
}

static void
format_duration(char *buf, size_t len, long long ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", ms / 1000);
	else
		snprintf(buf, len, "%lldms", ms);
}

static void
format_bound(char *buf, size_t len, const struct config_key *k, long long v)
{
	if (k->type == CONFIG_DURATION)
		format_duration(buf, len, v);
	else
		snprintf(buf, len, "%lld", v);
}

static bool
valid_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static bool
valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len < 1 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return label > 0;
}

/*
 * An http or https URL with a host.  Returns NULL or a static reason.
 */
static const char *
url_problem(const char *u)
{
	const char *p, *auth, *end, *at, *host, *hend;
	size_t i;
	long port;

	for (i = 0; u[i] != '\0'; i++)
		if (!isgraph((unsigned char)u[i]))
			return "contains white space or control characters";
	if (strncasecmp(u, "http://", 7) == 0)
		auth = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		auth = u + 8;
	else
		return "is not an http or https URL";
	end = auth + strcspn(auth, "/?#");
	host = auth;
	for (at = auth; at < end; at++)
		if (*at == '@')
			host = at + 1;
	if (*host == '[') {
		if ((hend = memchr(host, ']', (size_t)(end - host))) == NULL)
			return "has an unterminated IPv6 address";
		if (hend == host + 1)
			return "has no host";
		for (p = host + 1; p < hend; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' &&
			    *p != '.')
				return "has a bad IPv6 address";
		hend++;
	} else {
		hend = memchr(host, ':', (size_t)(end - host));
		if (hend == NULL)
			hend = end;
		if (hend == host)
			return "has no host";
		for (p = host; p < hend; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' &&
			    *p != '.' && *p != '_' && *p != '%')
				return "has a bad host name";
	}
	if (hend < end) {
		if (*hend != ':')
			return "has junk after the host";
		if (hend + 1 == end)
			return "has an empty port";
		port = 0;
		for (p = hend + 1; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return "has a bad port";
			port = port * 10 + (*p - '0');
			if (port > 65535)
				return "has a bad port";
		}
		if (port == 0)
			return "has a bad port";
	}
	return NULL;
}

/* --- setting values --------------------------------------------------- */

static void
urls_free(char **urls)
{
	size_t i;

	if (urls == NULL)
		return;
	for (i = 0; urls[i] != NULL; i++)
		free(urls[i]);
	free(urls);
}

static void
set_urls(struct rackd_config *cfg, const struct config_key *k, char **urls,
    size_t n)
{
	char ***lp = field(cfg, k);
	size_t *np = (size_t *)((char *)lp + sizeof(char **));

	urls_free(*lp);
	*lp = urls;
	*np = n;
}

/*
 * Set scalar key K from TEXT (NUL-terminated, len bytes).  Returns 0, or
 * -1 with *msg (malloc'd, no location) on a bad value.
 */
static int
set_scalar(struct rackd_config *cfg, const struct config_key *k,
    const char *text, size_t len, char **msg)
{
	char *s, **urls, bl[32], bh[32];
	long long v;
	bool b;
	int rc;
	const char *why;

	*msg = NULL;
	if (strlen(text) != len) {
		xasprintf(msg, "key '%s': value contains a NUL character",
		    k->name);
		return -1;
	}
	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
	case CONFIG_UUID:
		if (k->type == CONFIG_PATH && text[0] != '/')
			goto expected;
		if (k->type == CONFIG_UUID && !valid_uuid(text))
			goto expected;
		if (k->offset == DHC(v6_failover) &&
		    strcmp(text, "hot-standby") != 0 &&
		    strcmp(text, "split") != 0) {
			s = show(text, len);
			xasprintf(msg, "key '%s': '%s' is neither hot-standby "
			    "nor split", k->name, s);
			free(s);
			return -1;
		}
		if (k->offset == DHC(lease_hook) &&
		    strcmp(text, "library") != 0 &&
		    strcmp(text, "script") != 0) {
			s = show(text, len);
			xasprintf(msg, "key '%s': '%s' is neither library nor "
			    "script", k->name, s);
			free(s);
			return -1;
		}
		if (k->offset == OFF(hostname) && !valid_hostname(text)) {
			s = show(text, len);
			xasprintf(msg, "key '%s': '%s' is not a valid host "
			    "name", k->name, s);
			free(s);
			return -1;
		}
		s = xstrdup(text);
		free(*(char **)field(cfg, k));
		*(char **)field(cfg, k) = s;
		return 0;
	case CONFIG_URL_LIST:
		if ((why = url_problem(text)) != NULL) {
			s = show(text, len);
			xasprintf(msg, "key '%s': '%s' %s", k->name, s, why);
			free(s);
			return -1;
		}
		urls = xcalloc(2, sizeof *urls);
		urls[0] = xstrdup(text);
		set_urls(cfg, k, urls, 1);
		return 0;
	case CONFIG_BOOL:
		if (parse_bool(text, &b) == -1)
			goto expected;
		*(bool *)field(cfg, k) = b;
		return 0;
	case CONFIG_INT:
	case CONFIG_DURATION:
		if (k->type == CONFIG_INT)
			rc = parse_int(text, &v);
		else
			rc = parse_duration(text, &v);
		if (rc == -2) {
			s = show(text, len);
			xasprintf(msg, "key '%s': '%s' is not a whole number "
			    "of milliseconds", k->name, s);
			free(s);
			return -1;
		}
		if (rc == -1)
			goto expected;
		if (v < k->min || v > k->max) {
			s = show(text, len);
			format_bound(bl, sizeof bl, k, k->min);
			format_bound(bh, sizeof bh, k, k->max);
			xasprintf(msg, "key '%s': %s is out of range (%s..%s)",
			    k->name, s, bl, bh);
			free(s);
			return -1;
		}
		*(int *)field(cfg, k) = (int)v;
		return 0;
	case CONFIG_SECTION:
		break;
	}
expected:
	s = show(text, len);
	xasprintf(msg, "key '%s': expected %s, got '%s'", k->name,
	    type_expect[k->type], s);
	free(s);
	return -1;
}

/* Set K back to its default (null value, or a fresh config). */
static void
set_default(struct rackd_config *cfg, const struct config_key *k)
{
	char *msg, host[256];

	if (k->type == CONFIG_SECTION)
		return;
	if (k->def == NULL) {
		free(*(char **)field(cfg, k));
		*(char **)field(cfg, k) = NULL;
		if (k->offset == OFF(hostname)) {
			/* The rack must register under some name. */
			if (gethostname(host, sizeof host) == -1)
				host[0] = '\0';
			host[sizeof host - 1] = '\0';
			cfg->hostname = xstrdup(valid_hostname(host) ? host :
			    "localhost");
		}
		return;
	}
	if (set_scalar(cfg, k, k->def, strlen(k->def), &msg) == -1)
		fatalx("config: bad default in key table: %s", msg);
}

static void
set_node(struct load_ctx *ctx, const struct config_key *k, yaml_node_t *n)
{
	yaml_node_item_t *it;
	yaml_node_t *item;
	char *msg, **urls, *got;
	size_t nurls, i;

	if (n->type == YAML_SCALAR_NODE && scalar_is_null(n)) {
		if (k->type == CONFIG_URL_LIST) {
			ctx_error(ctx, n->start_mark, "%s must name at least "
			    "one URL", k->name);
			return;
		}
		set_default(ctx->cfg, k);
		return;
	}
	if (k->type == CONFIG_URL_LIST && n->type == YAML_SEQUENCE_NODE) {
		nurls = (size_t)(n->data.sequence.items.top -
		    n->data.sequence.items.start);
		if (nurls == 0) {
			ctx_error(ctx, n->start_mark, "%s must name at least "
			    "one URL", k->name);
			return;
		}
		urls = xcalloc(nurls + 1, sizeof *urls);
		for (i = 0; i < nurls; i++) {
			it = n->data.sequence.items.start + i;
			item = yaml_document_get_node(ctx->doc, *it);
			if (item == NULL || item->type != YAML_SCALAR_NODE ||
			    scalar_is_null(item)) {
				got = item == NULL ? xstrdup("nothing") :
				    scalar_is_null(item) ? xstrdup("null") :
				    node_describe(item);
				ctx_error(ctx, item != NULL ? item->start_mark :
				    n->start_mark, "key '%s': expected a URL, "
				    "got %s", k->name, got);
				free(got);
				urls_free(urls);
				return;
			}
			/* Validate through the scalar path, then take it. */
			if (set_scalar(ctx->cfg, k,
			    (const char *)item->data.scalar.value,
			    item->data.scalar.length, &msg) == -1) {
				ctx_error(ctx, item->start_mark, "%s", msg);
				free(msg);
				urls_free(urls);
				return;
			}
			urls[i] = xstrdup(ctx->cfg->maas_urls[0]);
		}
		set_urls(ctx->cfg, k, urls, nurls);
		return;
	}
	if (n->type != YAML_SCALAR_NODE) {
		got = node_describe(n);
		ctx_error(ctx, n->start_mark, "key '%s': expected %s, got %s",
		    k->name, type_expect[k->type], got);
		free(got);
		return;
	}
	if (set_scalar(ctx->cfg, k, (const char *)n->data.scalar.value,
	    n->data.scalar.length, &msg) == -1) {
		ctx_error(ctx, n->start_mark, "%s", msg);
		free(msg);
	}
}

/* Walk one mapping: the top level (sec NULL) or a section's body. */
static void
load_mapping(struct load_ctx *ctx, const char *sec, yaml_node_t *map)
{
	yaml_node_pair_t *pair;
	yaml_node_t *kn, *vn;
	const struct config_key *k;
	const char *sugg;
	char *name, *s;
	size_t i;

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top && ctx->cause == NULL;
	    pair++) {
		kn = yaml_document_get_node(ctx->doc, pair->key);
		vn = yaml_document_get_node(ctx->doc, pair->value);
		if (kn == NULL || vn == NULL)
			continue;
		if (kn->type != YAML_SCALAR_NODE) {
			ctx_error(ctx, kn->start_mark, "keys must be strings, "
			    "got %s", kn->type == YAML_SEQUENCE_NODE ?
			    "a list" : "a mapping");
			return;
		}
		s = show((const char *)kn->data.scalar.value,
		    kn->data.scalar.length);
		if (sec != NULL)
			xasprintf(&name, "%s.%s", sec, s);
		else
			name = xstrdup(s);
		free(s);
		k = NULL;
		if (strlen((const char *)kn->data.scalar.value) ==
		    kn->data.scalar.length)
			k = key_find(name);
		/* Dotted names are accepted at top level, not within. */
		if (k != NULL && sec != NULL && k->type == CONFIG_SECTION)
			k = NULL;
		if (k == NULL) {
			sugg = key_suggest(sec, sec != NULL ?
			    name + strlen(sec) + 1 : name);
			if (sugg != NULL)
				ctx_error(ctx, kn->start_mark, "unknown key "
				    "'%s' (did you mean '%s'?)", name, sugg);
			else
				ctx_error(ctx, kn->start_mark, "unknown key "
				    "'%s'", name);
			free(name);
			return;
		}
		free(name);
		i = key_index(k);
		if (key_present(ctx->cfg, i)) {
			ctx_error(ctx, kn->start_mark, "duplicate key '%s'",
			    k->name);
			return;
		}
		key_set_present(ctx->cfg, i);
		if (k->type != CONFIG_SECTION) {
			set_node(ctx, k, vn);
			continue;
		}
		if (vn->type == YAML_SCALAR_NODE && scalar_is_null(vn))
			continue;	/* "region:" alone: all defaults */
		if (vn->type != YAML_MAPPING_NODE) {
			s = node_describe(vn);
			ctx_error(ctx, vn->start_mark, "key '%s': expected a "
			    "mapping, got %s", k->name, s);
			free(s);
			return;
		}
		load_mapping(ctx, k->name, vn);
	}
}

/* libyaml's reader reports a byte offset, not a mark. */
static yaml_mark_t
offset_mark(const unsigned char *buf, size_t len, size_t off)
{
	yaml_mark_t m;
	size_t i;

	memset(&m, 0, sizeof m);
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if ((buf[i] & 0xc0) != 0x80)
			m.column++;
	}
	return m;
}

/* Is the character at (line, col) of the input a tab? */
static bool
mark_is_tab(const unsigned char *buf, size_t len, yaml_mark_t m)
{
	size_t i = 0, line = 0, col = 0;

	while (i < len && line < m.line)
		if (buf[i++] == '\n')
			line++;
	while (i < len && col < m.column && buf[i] != '\n') {
		i++;
		while (i < len && (buf[i] & 0xc0) == 0x80)
			i++;
		col++;
	}
	return i < len && buf[i] == '\t';
}

static void
ctx_yaml_error(struct load_ctx *ctx, yaml_parser_t *p)
{
	yaml_mark_t m = p->problem_mark;
	const char *problem = p->problem != NULL ? p->problem :
	    "YAML syntax error";

	if (p->error == YAML_MEMORY_ERROR) {
		ctx_error(ctx, p->mark, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		m = offset_mark(ctx->buf, ctx->len, p->problem_offset);
		ctx_error(ctx, m, "%s", problem);
		return;
	}
	if (mark_is_tab(ctx->buf, ctx->len, m))
		ctx_error(ctx, m, "tab character where YAML does not allow "
		    "one (%s)", problem);
	else if (p->context != NULL && (p->context_mark.line != m.line ||
	    p->context_mark.column != m.column))
		ctx_error(ctx, m, "%s (%s at line %zu column %zu)", problem,
		    p->context, p->context_mark.line + 1,
		    p->context_mark.column + 1);
	else if (p->context != NULL)
		ctx_error(ctx, m, "%s (%s)", problem, p->context);
	else
		ctx_error(ctx, m, "%s", problem);
}

/* --- public: loading -------------------------------------------------- */

struct rackd_config *
config_defaults(void)
{
	struct rackd_config *cfg;
	size_t i;

	cfg = xcalloc(1, sizeof *cfg);
	for (i = 0; i < config_nkeys; i++)
		set_default(cfg, &config_keys[i]);
	return cfg;
}

void
config_free(struct rackd_config *cfg)
{
	const struct config_key *k;
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		switch (k->type) {
		case CONFIG_STRING:
		case CONFIG_PATH:
		case CONFIG_UUID:
			free(*(char **)field(cfg, k));
			break;
		case CONFIG_URL_LIST:
			urls_free(*(char ***)field(cfg, k));
			break;
		default:
			break;
		}
	}
	free(cfg->path);
	free(cfg);
}

struct rackd_config *
config_load_mem(const char *name, const char *text, size_t len, char **cause)
{
	struct load_ctx ctx;
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	yaml_node_t *root, *root2;
	char *got;

	memset(&ctx, 0, sizeof ctx);
	ctx.name = name;
	ctx.buf = (const unsigned char *)text;
	ctx.len = len;
	ctx.doc = &doc;
	ctx.cfg = config_defaults();
	ctx.cfg->path = xstrdup(name);

	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize");
	yaml_parser_set_input_string(&parser, ctx.buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ctx_yaml_error(&ctx, &parser);
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (root != NULL) {
		/* MAAS's safe_load refuses a stream of several documents. */
		if (!yaml_parser_load(&parser, &doc2))
			ctx_yaml_error(&ctx, &parser);
		else {
			if ((root2 = yaml_document_get_root_node(&doc2)) !=
			    NULL)
				ctx_error(&ctx, root2->start_mark, "expected "
				    "a single YAML document");
			yaml_document_delete(&doc2);
		}
	}
	if (ctx.cause == NULL && root != NULL && !scalar_is_null(root)) {
		if (root->type != YAML_MAPPING_NODE) {
			got = node_describe(root);
			ctx_error(&ctx, root->start_mark, "top level must be a "
			    "mapping, got %s", got);
			free(got);
		} else
			load_mapping(&ctx, NULL, root);
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	/* The boot-resources tree lives under data_dir unless the file
	 * names it: MAAS's tftp_root is $MAAS_DATA/boot-resources/current,
	 * and an operator who moves data_dir expects the images to move
	 * with it (the image sync writes beside tftp_root). */
	if (ctx.cause == NULL && !config_key_present(ctx.cfg, "tftp_root")) {
		free(ctx.cfg->tftp_root);
		xasprintf(&ctx.cfg->tftp_root, "%s/boot-resources/current",
		    ctx.cfg->data_dir);
	}
	if (ctx.cause != NULL) {
		config_free(ctx.cfg);
		*cause = ctx.cause;
		return NULL;
	}
	return ctx.cfg;
}

/* Read a whole (small) file; NULL with *cause on error. */
static char *
read_file(const char *path, size_t *lenp, char **cause)
{
	FILE *f;
	char *buf;
	size_t len;

	if ((f = fopen(path, "rb")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(CONFIG_MAX_FILE + 1);
	len = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
	if (ferror(f)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (len > CONFIG_MAX_FILE) {
		xasprintf(cause, "%s: file is larger than %d bytes", path,
		    CONFIG_MAX_FILE);
		goto fail;
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

struct rackd_config *
config_load(const char *path, char **cause)
{
	struct rackd_config *cfg;
	char *buf;
	size_t len;

	if ((buf = read_file(path, &len, cause)) == NULL)
		return NULL;
	cfg = config_load_mem(path, buf, len, cause);
	free(buf);
	return cfg;
}

/* --- printing --------------------------------------------------------- */

/* Can S be written as a plain YAML scalar that reads back as a string? */
static bool
yaml_plain_ok(const char *s)
{
	const char *p;
	bool b, numeric = true;

	if (s[0] == '\0' || !(isalnum((unsigned char)s[0]) || s[0] == '/' ||
	    s[0] == '.'))
		return false;
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) &&
		    strchr("-._/:@+%=~?&[]", *p) == NULL)
			return false;
		if (!isdigit((unsigned char)*p) && strchr("._eE+-:", *p) == NULL)
			numeric = false;
	}
	if (p[-1] == ':' || parse_bool(s, &b) == 0 || strcasecmp(s, "y") == 0 ||
	    strcasecmp(s, "n") == 0 || strcasecmp(s, "null") == 0)
		return false;
	if (numeric && (isdigit((unsigned char)s[0]) || s[0] == '.'))
		return false;
	return true;
}

static void
print_scalar(FILE *f, const char *s)
{
	const unsigned char *p;

	if (yaml_plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/*
 * Text of a scalar key's value as config_print writes it, or NULL when
 * unset.  URL lists are joined with ", " (log lines only).
 */
static char *
value_text(const struct rackd_config *cfg, const struct config_key *k)
{
	char *s, *t, buf[32];
	char *const *urls;
	size_t i;

	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
	case CONFIG_UUID:
		s = *(char *const *)cfield(cfg, k);
		return s != NULL ? xstrdup(s) : NULL;
	case CONFIG_URL_LIST:
		urls = *(char **const *)cfield(cfg, k);
		s = xstrdup("");
		for (i = 0; urls != NULL && urls[i] != NULL; i++) {
			xasprintf(&t, "%s%s%s", s, i ? ", " : "", urls[i]);
			free(s);
			s = t;
		}
		return s;
	case CONFIG_BOOL:
		return xstrdup(*(const bool *)cfield(cfg, k) ? "true" :
		    "false");
	case CONFIG_INT:
		xasprintf(&s, "%d", *(const int *)cfield(cfg, k));
		return s;
	case CONFIG_DURATION:
		format_duration(buf, sizeof buf, *(const int *)cfield(cfg, k));
		return xstrdup(buf);
	case CONFIG_SECTION:
		break;
	}
	return NULL;
}

static void
print_key(FILE *f, const struct rackd_config *cfg, const struct config_key *k,
    const char *indent, const char *leaf)
{
	char **urls, *v;
	size_t i;

	if (k->type == CONFIG_URL_LIST) {
		urls = *(char **const *)cfield(cfg, k);
		if (urls != NULL && urls[0] != NULL && urls[1] == NULL) {
			fprintf(f, "%s%s: ", indent, leaf);
			print_scalar(f, urls[0]);
			fputc('\n', f);
			return;
		}
		fprintf(f, "%s%s:\n", indent, leaf);
		for (i = 0; urls != NULL && urls[i] != NULL; i++) {
			fprintf(f, "%s- ", indent);
			print_scalar(f, urls[i]);
			fputc('\n', f);
		}
		return;
	}
	if ((v = value_text(cfg, k)) == NULL) {
		fprintf(f, "%s# %s: (unset)\n", indent, leaf);
		return;
	}
	fprintf(f, "%s%s: ", indent, leaf);
	if (k->type == CONFIG_STRING || k->type == CONFIG_PATH ||
	    k->type == CONFIG_UUID)
		print_scalar(f, v);
	else
		fputs(v, f);
	fputs(k->unused ? "  # unused by rackd\n" : "\n", f);
	free(v);
}

void
config_print(FILE *f, const struct rackd_config *cfg)
{
	const struct config_key *k, *sk;
	size_t i, j;

	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (!key_top_level(k))
			continue;
		if (k->type != CONFIG_SECTION) {
			print_key(f, cfg, k, "", k->name);
			continue;
		}
		fprintf(f, "%s:\n", k->name);
		for (j = 0; j < config_nkeys; j++) {
			sk = &config_keys[j];
			if (key_in_section(sk, k->name))
				print_key(f, cfg, sk, "  ",
				    sk->name + strlen(k->name) + 1);
		}
	}
}

/* Text for man(7): escape backslashes and hyphens. */
static void
man_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void
man_key(FILE *f, const struct config_key *k)
{
	char bl[32], bh[32];

	fputs(".TP\n.B ", f);
	man_text(f, k->name);
	fputs("\n", f);
	fputs("Type: ", f);
	man_text(f, type_man[k->type]);
	fputs(".\nDefault: ", f);
	if (k->def != NULL) {
		fputs("\\fB", f);
		man_text(f, k->def);
		fputs("\\fR", f);
	} else if (k->offset == OFF(hostname))
		fputs("the system host name", f);
	else
		fputs("unset", f);
	fputs(".\n", f);
	if (k->type == CONFIG_INT || k->type == CONFIG_DURATION) {
		format_bound(bl, sizeof bl, k, k->min);
		format_bound(bh, sizeof bh, k, k->max);
		fputs("Range: ", f);
		man_text(f, bl);
		fputs(" to ", f);
		man_text(f, bh);
		fputs(".\n", f);
	}
	fputs(".br\n", f);
	man_text(f, k->doc);
	if (k->unused)
		fputs("  Accepted for MAAS compatibility; not used by rackd.",
		    f);
	fputs("\n", f);
}

void
config_print_man(FILE *f)
{
	const struct config_key *k, *sk;
	size_t i, j;

	fputs(".\\\" Generated by rackd --man-conf from the key table in "
	    "src/core/config.c.\n", f);
	fprintf(f, ".TH RACKD.CONF 5 \"\" \"rackd %s\" \"File Formats\"\n",
	    RACKD_VERSION);
	fputs(".SH NAME\nrackd.conf \\- MAAS rack controller daemon "
	    "configuration file\n", f);
	fputs(".SH SYNOPSIS\n.B /etc/maas/rackd.conf\n", f);
	fputs(".SH DESCRIPTION\n"
	    ".BR rackd (8)\n"
	    "reads its configuration from a YAML mapping.\n"
	    "It accepts every key of the MAAS 3.4 rack controller's\n"
	    ".IR rackd.conf ,\n"
	    "so an existing file loads unchanged, plus keys of its own.\n"
	    "An empty file selects all defaults; an empty or null value\n"
	    "selects the key's default.\n"
	    "Values are read from their text, so quoted and unquoted\n"
	    "values mean the same.\n"
	    ".PP\n"
	    "Booleans are\n"
	    ".BR true / false ,\n"
	    ".BR yes / no\n"
	    "or\n"
	    ".BR on / off\n"
	    "in any case.\n"
	    "Durations are a number of seconds (fractions allowed, as in\n"
	    ".BR 0.5 )\n"
	    "or a number followed by\n"
	    ".BR ms ,\n"
	    ".B s\n"
	    "or\n"
	    ".BR m .\n"
	    "Keys of a section such as\n"
	    ".B region\n"
	    "are written indented under it; they are named\n"
	    ".I section.key\n"
	    "below and that dotted form is also accepted at top level.\n"
	    ".PP\n"
	    "Errors are reported as\n"
	    ".IR file : line : column \": \" message\n"
	    "and name the offending key.\n"
	    "Check a file with\n"
	    ".BR \"rackd \\-n \\-f\" \" file\" ;\n"
	    "add\n"
	    ".B \\-v\n"
	    "to print the normalised configuration.\n", f);
	fputs(".SH KEYS\n", f);
	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (!key_top_level(k))
			continue;
		if (k->type != CONFIG_SECTION) {
			man_key(f, k);
			continue;
		}
		fputs(".SS \"", f);
		man_text(f, k->name);
		fputs(" section\"\n", f);
		man_text(f, k->doc);
		fputs("\n", f);
		for (j = 0; j < config_nkeys; j++) {
			sk = &config_keys[j];
			if (key_in_section(sk, k->name))
				man_key(f, sk);
		}
	}
	fputs(".SH EXAMPLES\n"
	    "A rack controller with two region controllers:\n"
	    ".PP\n.in +4n\n.EX\n"
	    "maas_url:\n"
	    "\\- http://10.0.0.2:5240/MAAS\n"
	    "\\- http://10.0.0.3:5240/MAAS\n"
	    "cluster_uuid: 5b6c3a44\\-1c2e\\-4b1f\\-9d0a\\-0f4d2c9e6a11\n"
	    "debug: false\n"
	    "region:\n"
	    "  liveness_timeout: 3s\n"
	    "  discovery_timeout: 500ms\n"
	    ".EE\n.in\n"
	    ".PP\n"
	    "Write the URL and the shared secret as\n"
	    ".B maas\\-rack register\n"
	    "would:\n"
	    ".PP\n.in +4n\n.EX\n"
	    "rackd init \\-\\-maas\\-url http://10.0.0.2:5240/MAAS "
	    "\\-\\-secret $(cat secret)\n"
	    ".EE\n.in\n", f);
	fputs(".SH FILES\n"
	    ".TP\n.I /etc/maas/rackd.conf\n"
	    "The configuration file.\n"
	    ".TP\n.I /var/lib/maas/secret\n"
	    "The shared secret (default\n"
	    ".BR secret_file ).\n"
	    ".SH SEE ALSO\n"
	    ".BR rackd (8)\n", f);
}

/* --- reload and start-up notes ---------------------------------------- */

int
config_log_changes(const struct rackd_config *old,
    const struct rackd_config *new_)
{
	const struct config_key *k;
	char *a, *b;
	size_t i;
	int n = 0;

	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (k->type == CONFIG_SECTION)
			continue;
		a = value_text(old, k);
		b = value_text(new_, k);
		if ((a == NULL) != (b == NULL) ||
		    (a != NULL && strcmp(a, b) != 0)) {
			log_info("config: %s: %s -> %s", k->name,
			    a != NULL ? a : "(unset)",
			    b != NULL ? b : "(unset)");
			n++;
		}
		free(a);
		free(b);
	}
	return n;
}

void
config_note_unused(const struct rackd_config *cfg)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (config_keys[i].unused && key_present(cfg, i))
			log_info("config: %s is accepted for MAAS "
			    "compatibility but not used by rackd",
			    config_keys[i].name);
}

/* --- rackd init ------------------------------------------------------- */

/* mkdir -p DIR's parents and DIR itself, mode 0755. */
static int
mkdirs(const char *dir, char **cause)
{
	char *p, *copy = xstrdup(dir);

	for (p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char c = *p;

			*p = '\0';
			if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
				xasprintf(cause, "mkdir %s: %s", copy,
				    strerror(errno));
				free(copy);
				return -1;
			}
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	free(copy);
	return 0;
}

/* Create PATH's directory if needed, then write it atomically. */
static int
write_atomic(const char *path, const char *data, size_t len, mode_t mode,
    char **cause)
{
	char *dir, *slash;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdirs(dir, cause) == -1) {
			free(dir);
			return -1;
		}
	}
	free(dir);
	return file_write_atomic(path, data, len, mode, cause);
}

/* Does LINE (len bytes) start a top-level maas_url entry? */
static bool
line_is_maas_url(const char *line, size_t len)
{
	static const char *forms[] = { "maas_url", "\"maas_url\"",
	    "'maas_url'" };
	size_t i, n;

	for (i = 0; i < RACKD_NELEM(forms); i++) {
		n = strlen(forms[i]);
		if (len <= n || strncmp(line, forms[i], n) != 0)
			continue;
		while (n < len && (line[n] == ' ' || line[n] == '\t'))
			n++;
		if (n < len && line[n] == ':')
			return true;
	}
	return false;
}

/* Lines that continue a block entry: indented, or "- item" at column 0. */
static bool
line_continues(const char *line, size_t len)
{
	if (len == 0)
		return false;
	if (line[0] == ' ' || line[0] == '\t')
		return true;
	return line[0] == '-' && (len == 1 || line[1] == ' ' ||
	    line[1] == '\t' || line[1] == '\r');
}

static bool
line_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (line[i] == '#')
			return true;
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	}
	return true;
}

/*
 * Replace the top-level maas_url entry of OLD (comments and other keys
 * kept) with ENTRY, or append ENTRY.  Returns a malloc'd text.
 */
static char *
rewrite_maas_url(const char *old, size_t len, const char *entry)
{
	char *out;
	const char *p = old, *end = old + len, *nl, *q, *qnl;
	size_t n = 0, elen = strlen(entry), ll;
	bool done = false;

	out = xmalloc(len + elen + 2);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl != NULL ? nl + 1 : end;
		ll = (size_t)(nl - p);
		if (!line_is_maas_url(p, ll)) {
			memcpy(out + n, p, ll);
			n += ll;
			p = nl;
			continue;
		}
		/* Skip the entry: continuation lines, and blank or comment
		 * lines only when more continuation follows. */
		p = nl;
		q = p;
		while (q < end) {
			qnl = memchr(q, '\n', (size_t)(end - q));
			qnl = qnl != NULL ? qnl + 1 : end;
			if (line_continues(q, (size_t)(qnl - q)) &&
			    !line_blank(q, (size_t)(qnl - q)))
				p = q = qnl;
			else if (line_blank(q, (size_t)(qnl - q)))
				q = qnl;
			else
				break;
		}
		if (!done) {
			memcpy(out + n, entry, elen);
			n += elen;
			done = true;
		}
	}
	if (!done) {
		if (n > 0 && out[n - 1] != '\n')
			out[n++] = '\n';
		memcpy(out + n, entry, elen);
		n += elen;
	}
	out[n] = '\0';
	return out;
}

static int
check_secret_hex(const char *hex, char **cause)
{
	size_t i, len;

	if (hex == NULL || (len = strlen(hex)) == 0) {
		*cause = xstrdup("secret is empty");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)hex[i])) {
			xasprintf(cause, "secret must be hexadecimal (bad "
			    "character at position %zu)", i + 1);
			return -1;
		}
	}
	if (len % 2 != 0) {
		xasprintf(cause, "secret must have an even number of hex "
		    "digits (got %zu)", len);
		return -1;
	}
	if (len < 16) {
		xasprintf(cause, "secret is too short: %zu hex digits, at "
		    "least 16 needed", len);
		return -1;
	}
	return 0;
}

int
config_init_write(const char *path, char *const *urls, size_t nurls,
    const char *secret_hex, char **cause)
{
	struct rackd_config *cfg;
	FILE *mf;
	char *old = NULL, *entry = NULL, *text = NULL, *sec, *msg, *s;
	const char *why;
	size_t oldlen = 0, elen, i;
	int rc = -1;

	if (nurls == 0) {
		*cause = xstrdup("at least one MAAS URL is needed");
		return -1;
	}
	for (i = 0; i < nurls; i++) {
		if ((why = url_problem(urls[i])) != NULL) {
			s = show(urls[i], strlen(urls[i]));
			xasprintf(cause, "maas_url '%s' %s", s, why);
			free(s);
			return -1;
		}
	}
	if (check_secret_hex(secret_hex, cause) == -1)
		return -1;

	if (access(path, F_OK) == 0) {
		if ((old = read_file(path, &oldlen, cause)) == NULL)
			return -1;
	} else if (errno != ENOENT) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}

	if ((mf = open_memstream(&entry, &elen)) == NULL)
		fatal("open_memstream");
	if (nurls == 1) {
		fputs("maas_url: ", mf);
		print_scalar(mf, urls[0]);
		fputc('\n', mf);
	} else {
		fputs("maas_url:\n", mf);
		for (i = 0; i < nurls; i++) {
			fputs("- ", mf);
			print_scalar(mf, urls[i]);
			fputc('\n', mf);
		}
	}
	fclose(mf);
	text = rewrite_maas_url(old != NULL ? old : "", oldlen, entry);

	/* Validate the result before anything touches the disk. */
	if ((cfg = config_load_mem(path, text, strlen(text), &msg)) == NULL) {
		xasprintf(cause, "cannot update %s: %s", path, msg);
		free(msg);
		goto out;
	}
	if (write_atomic(path, text, strlen(text), 0644, cause) == -1) {
		config_free(cfg);
		goto out;
	}
	xasprintf(&sec, "%s\n", secret_hex);
	rc = write_atomic(cfg->secret_file, sec, strlen(sec), 0600, cause);
	xfree_secret(sec);
	config_free(cfg);
out:
	free(old);
	free(entry);
	free(text);
	return rc;
}
