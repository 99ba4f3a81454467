/*
 * config.h — rackd.conf: YAML (libyaml) into struct rackd_config, driven by
 * one table of keys (config_keys[] in config.c) that also feeds the
 * printer (rackd -n -v) and the generated rackd.conf(5) page.
 *
 * Loading never exits: errors come back as a malloc'd cause of the form
 * "FILE:LINE:COL: message" that the caller logs and frees.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>

/* Upper bound on rows in config_keys[] (checked at compile time). */
#define CONFIG_MAX_KEYS	128

/* region: section — discovery and connection tuning (issue 3). */
struct config_region {
	int	 discovery_timeout_ms;	/* per /rpc/ HTTP request */
	int	 connect_timeout_ms;	/* TCP connect to one event loop */
	int	 handshake_timeout_ms;	/* Authenticate + RegisterRackController */
	int	 liveness_timeout_ms;	/* silent region declared dead after this */
	int	 call_timeout_ms;	/* default rack->region call timeout */
	int	 queue_max;		/* calls waiting while no region is up */
	int	 backoff_max_ms;	/* reconnect backoff cap */
	int	 services_interval_ms;	/* UpdateServices period */
	int	 discovery_interval_ms;	/* re-discovery when fully connected */
	int	 rejoin_probe_max_ms;	/* quick probes for a region gone away */
	int	 rejoin_probe_interval_ms; /* their backoff cap */
};

/* power: section — BMC control through ipmitool (issue 4). */
struct config_power {
	char	*ipmitool;		/* absolute path of ipmitool */
	int	 max_concurrency;	/* ipmitool processes at once, all BMCs */
	int	 command_timeout_ms;	/* hard deadline of one ipmitool run */
	int	 action_timeout_ms;	/* overall deadline of on/off/cycle */
	int	 query_timeout_ms;	/* overall deadline of a PowerQuery */
	int	 ipmi_retransmit_s;	/* ipmitool -N */
	int	 ipmi_retries;		/* ipmitool -R */
	int	 bmc_gap_ms;		/* minimum gap between commands to one BMC */
	int	 confirm_wait_ms;	/* first wait before confirming; doubles */
	int	 quarantine_after;	/* consecutive failures before quarantine */
	int	 quarantine_max_ms;	/* quarantine backoff cap */
	int	 monitor_interval_ms;	/* ListNodePowerParameters period; 0 = off */
	int	 monitor_concurrency;	/* queries at once per monitor round */
	int	 report_queue_max;	/* reports kept while no region is up */
};

/* dhcp: section — ISC Kea instances and lease reporting (issue 5). */
struct config_dhcp {
	char	*kea_dhcp4;		/* kea-dhcp4 binary */
	char	*kea_dhcp6;		/* kea-dhcp6 binary */
	char	*hooks_dir;		/* Kea hook libraries */
	char	*lease_hook;		/* "library" or "script" */
	char	*lease_hook_library;	/* rackd-lease-hook.so (Kea hook) */
	char	*lease_hook_script;	/* rackd-lease-hook (run_script) */
	int	 ha_port;		/* HA listener port, the same on every rack */
	int	 ha_port_v6;		/* the same for kea-dhcp6's HA listener */
	char	*v6_failover;		/* "hot-standby" or "split" */
	bool	 ha_tls;		/* HA channel over TLS (kea_tls.h) */
	int	 heartbeat_ms;		/* HA heartbeat-delay */
	int	 max_response_ms;	/* HA max-response-delay */
	int	 max_ack_ms;		/* HA max-ack-delay */
	int	 max_unacked;		/* HA max-unacked-clients */
	int	 spool_max;		/* lease events kept on disk */
};

/* refresh: section — telling the region the rack's interfaces (issue 9). */
struct config_refresh {
	bool	 enabled;
	int	 debounce_ms;		/* quiet time after netlink changes */
	int	 check_interval_ms;	/* full re-read regardless (safety net) */
	int	 min_interval_ms;	/* at most one refresh per this */
	int	 retry_interval_ms;	/* after a failed refresh */
	int	 timeout_ms;		/* one metadata POST */
};

/* tftp: section — the TFTP server (issue 10). */
struct config_tftp {
	int	 max_transfers;		/* transfers at once */
};

/* http: section — HTTP on 5248/5249: images, boot files, /MAAS/ proxy (issue 10). */
struct config_http {
	int	 port;			/* machines' port (MAAS nginx 5248); 0 = off */
	int	 internal_port;		/* MAAS rackd's 5249 (/boot/, /log); 0 = off */
	char	*bind;			/* listen addresses, comma separated */
	int	 region_port;		/* regions' HTTP port for /MAAS/ */
	int	 proxy_timeout_ms;	/* silence from a region before a proxied request is cut */
	int	 client_timeout_ms;	/* silence from a client before its connection is closed */
	int	 max_connections;	/* client connections at once */
};

/* images: section — boot images synced from the region (issue 11). */
struct config_images {
	bool	 enabled;
	int	 check_interval_ms;	/* how often maas.meta's age is checked */
	int	 max_age_ms;		/* sync when maas.meta is older */
	int	 stall_timeout_ms;	/* a download with no byte for this long fails */
	int	 retries;		/* fetches of one file failing its check */
};

/* metrics: section — Prometheus text on http.internal_port's /metrics. */
struct config_metrics {
	bool	 enabled;		/* serve /metrics */
};

struct rackd_config {
	char	*path;			/* file this was loaded from (owned) */

	/* MAAS-compatible keys */
	char	**maas_urls;		/* NULL-terminated, >= 1 entry */
	size_t	 n_maas_urls;
	char	*cluster_uuid;		/* NULL when unset */
	bool	 debug;
	int	 tftp_port;		/* 0: TFTP off */
	char	*tftp_root;		/* the image store (bootres.h), served by TFTP */

	/* rackd keys */
	char	*secret_file;
	char	*data_dir;
	char	*run_dir;
	char	*hostname;		/* system hostname when unset */

	struct config_region region;
	struct config_power power;
	struct config_dhcp dhcp;
	struct config_refresh refresh;
	struct config_tftp tftp;
	struct config_http http;
	struct config_images images;
	struct config_metrics metrics;

	/* Private to config.c: MAAS keys kept only so they round-trip. */
	int	 max_idle_rpc_connections;	/* accepted, unused */
	int	 max_rpc_connections;		/* accepted, unused */
	int	 rpc_keepalive;			/* accepted, unused */
	/* Private to config.c: bit i set when config_keys[i] was in the
	 * file (duplicate detection, config_note_unused). */
	unsigned long long present[CONFIG_MAX_KEYS / 64];
};

/* Key value types understood by the table. */
enum config_type {
	CONFIG_STRING,
	CONFIG_URL_LIST,	/* a string or a list of http/https URLs */
	CONFIG_BOOL,
	CONFIG_INT,
	CONFIG_DURATION,	/* "5s", "500ms", "1m" or a number of seconds; stored in ms */
	CONFIG_PATH,		/* absolute path */
	CONFIG_UUID,
	CONFIG_SECTION,		/* a nested mapping (region:, later power:, dhcp:) */
};

/* One row of the key table; exposed for the doc generator and tests. */
struct config_key {
	const char	*name;		/* "maas_url", "region.liveness_timeout" */
	enum config_type type;
	size_t		 offset;	/* offsetof(struct rackd_config, ...) */
	const char	*def;		/* default as text; NULL = unset */
	long long	 min, max;	/* bounds for INT/DURATION (ms) */
	bool		 unused;	/* accepted for MAAS compatibility only */
	const char	*doc;
};

extern const struct config_key config_keys[];
extern const size_t config_nkeys;

/*
 * Load and validate a config file.  On success returns a new config the
 * caller frees with config_free(); on failure returns NULL and sets *cause
 * (caller frees).  A missing file is an error.
 */
struct rackd_config *config_load(const char *path, char **cause);
/* Same, from memory (tests, fuzzing); name is used in messages. */
struct rackd_config *config_load_mem(const char *name, const char *text,
	    size_t len, char **cause);
/* A config holding only defaults (hostname filled from the system). */
struct rackd_config *config_defaults(void);
void	config_free(struct rackd_config *);

/* Print the normalised config as YAML that config_load() accepts. */
void	config_print(FILE *, const struct rackd_config *);
/* Print rackd.conf(5) in man(7) format from the key table. */
void	config_print_man(FILE *);
/*
 * Log one line per key whose value differs between old and new (reload).
 * Returns the number of differences.
 */
int	config_log_changes(const struct rackd_config *old,
	    const struct rackd_config *new_);
/* true when the file set key name (e.g. "dhcp.lease_hook"), false when
 * it holds its default or is unknown. */
bool	config_key_present(const struct rackd_config *, const char *name);
/* log_info once per key present in the file that rackd accepts for MAAS
 * compatibility but ignores (tftp_port, ...); called at start-up. */
void	config_note_unused(const struct rackd_config *);

/*
 * "rackd init": write or update FILE's maas_url (other keys and comments
 * kept; mode 0644, atomic) and write the hex secret to the config's
 * secret_file (mode 0600, atomic, directories created).  URLs and secret
 * are checked first and nothing is written when they are bad, or when the
 * edited file would not load.  Returns 0, or -1 with *cause (which never
 * contains the secret).
 */
int	config_init_write(const char *path, char *const *urls, size_t nurls,
	    const char *secret_hex, char **cause);

#endif
