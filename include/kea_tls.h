/*
 * kea_tls.h — TLS credentials for the Kea HA channel between two racks,
 * derived from the MAAS shared secret, so both racks of a pair build the
 * same CA with no operator step and only holders of the secret can talk
 * to a rack's HA listener.
 *
 * Kea 2.2.0 facts this rests on (checked against the installed
 * kea-dhcp4 2.2.0 / OpenSSL 3, see tests/integration/055-dhcp-ha-tls):
 *   - the HA dedicated listener enforces client certificates when the
 *     relationship has "require-client-certs": true and the peers carry
 *     trust-anchor / cert-file / key-file;
 *   - it does NOT enforce HTTP basic auth: basic-auth-user/-password in
 *     peers only make the client send it, so basic auth protects nothing;
 *   - Ed25519 keys and certificates are accepted, and the peer's host
 *     name or address is not checked against its certificate.
 *
 * Derivation (HKDF-SHA256, salt "rackd kea-ha", key = the secret bytes):
 *   CA key        32 bytes, info "ca key v1"        -> Ed25519 seed
 *   CA serial     8 bytes,  info "ca serial v1"
 *   rack key      32 bytes, info "rack key v1 <addr>"
 *   rack serial   8 bytes,  info "rack serial v1 <addr>"
 *   id            4 bytes,  info "id v1"            -> 8 hex digits
 * Certificates have fixed validity (2020-01-01 .. 9999-12-31) and Ed25519
 * signatures are deterministic, so every rack writes byte-identical files
 * for the same secret.  The id names the directory, so a new secret gives
 * new paths in the Kea configuration and Kea is reconfigured onto them.
 *
 * Files: <data_dir>/dhcp/tls/<id>/ca.pem, rack-<addr>.crt, rack-<addr>.key,
 * all mode 0600 (Kea runs as rackd's user).
 */
#ifndef KEA_TLS_H
#define KEA_TLS_H

#include <stddef.h>
#include <stdint.h>

#define KEA_TLS_ID_LEN	8		/* hex digits */

struct kea_tls_pem {
	char	*ca_cert;	/* PEM "CERTIFICATE" */
	char	*cert;		/* this rack's, signed by the CA */
	char	*key;		/* PEM "PRIVATE KEY" (PKCS#8) */
};

/* The directory id of a secret (8 lower-case hex digits and a NUL). */
void	kea_tls_id(const uint8_t *secret, size_t len,
	    char id[KEA_TLS_ID_LEN + 1]);

/*
 * Pure: build the CA certificate and this rack's certificate and key for
 * addr (its HA address, an IP literal) into *out (caller frees with
 * kea_tls_pem_free).  0, or -1 with *cause (an OpenSSL failure, or addr
 * not an IP literal).
 */
int	kea_tls_build(const uint8_t *secret, size_t len, const char *addr,
	    struct kea_tls_pem *out, char **cause);
void	kea_tls_pem_free(struct kea_tls_pem *);		/* NULL ok */

/* The file paths for (data_dir, id, addr); malloc'd, caller frees. */
char	*kea_tls_dir(const char *data_dir, const char *id);
char	*kea_tls_ca_path(const char *data_dir, const char *id);
char	*kea_tls_cert_path(const char *data_dir, const char *id,
	    const char *addr);
char	*kea_tls_key_path(const char *data_dir, const char *id,
	    const char *addr);

/*
 * I/O: make sure the three files for addr exist under data_dir with the
 * content kea_tls_build() gives (written atomically, mode 0600, only when
 * different).  0, or -1 with *cause naming the file.
 */
int	kea_tls_provision(const char *data_dir, const uint8_t *secret,
	    size_t len, const char *addr, char **cause);

/*
 * I/O: remove the credentials of other secrets (tls/<id>/ other than
 * keep_id) that no Kea configuration in <data_dir>/dhcp still names, so
 * a known-good configuration rackd may roll back to keeps its files.
 * Returns how many directories were removed.
 */
int	kea_tls_prune(const char *data_dir, const char *keep_id);

#endif
