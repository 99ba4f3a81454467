/*
 * kea_tls.c — the Kea HA channel's CA and per-rack certificates, derived
 * from the MAAS shared secret (see kea_tls.h for the scheme and the Kea
 * 2.2.0 facts).  Everything but kea_tls_provision() is pure.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "kea_tls.h"
#include "xmalloc.h"

#define SALT		"rackd kea-ha"
#define NOT_BEFORE	"20200101000000Z"
#define NOT_AFTER	"99991231235959Z"	/* RFC 5280: no expiry */

static int
hkdf(const uint8_t *secret, size_t len, const char *info, uint8_t *out,
    size_t outlen)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM p[5];
	int rc = -1;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return -1;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return -1;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)SALT, strlen(SALT));
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, strlen(info));
	p[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, p) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	return rc;
}

void
kea_tls_id(const uint8_t *secret, size_t len, char id[KEA_TLS_ID_LEN + 1])
{
	uint8_t b[KEA_TLS_ID_LEN / 2];
	size_t i;

	if (hkdf(secret, len, "id v1", b, sizeof b) == -1)
		memset(b, 0, sizeof b);	/* HKDF-SHA256 is always there */
	for (i = 0; i < sizeof b; i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
}

static EVP_PKEY *
derived_key(const uint8_t *secret, size_t len, const char *info)
{
	uint8_t seed[32];
	EVP_PKEY *k = NULL;

	if (hkdf(secret, len, info, seed, sizeof seed) == 0)
		k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
		    sizeof seed);
	OPENSSL_cleanse(seed, sizeof seed);
	return k;
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok;
}

/* A certificate for key named cn, signed by ca_key (self-signed when
 * issuer is NULL). */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, const uint8_t serial[8],
    X509 *issuer, EVP_PKEY *ca_key, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_bin2bn(serial, 8, NULL);
	int ok;

	ok = x != NULL && name != NULL && bn != NULL &&
	    X509_set_version(x, X509_VERSION_3) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    ASN1_TIME_set_string_X509(X509_getm_notBefore(x), NOT_BEFORE) &&
	    ASN1_TIME_set_string_X509(X509_getm_notAfter(x), NOT_AFTER) &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)cn, -1, -1, 0) &&
	    X509_set_subject_name(x, name) &&
	    X509_set_issuer_name(x, issuer != NULL ?
		X509_get_subject_name(issuer) : name) &&
	    X509_set_pubkey(x, key) &&
	    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
		"hash");
	if (ok && issuer == NULL)
		ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
		    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	else if (ok)
		ok = add_ext(x, issuer, NID_basic_constraints,
		    "critical,CA:FALSE") &&
		    add_ext(x, issuer, NID_key_usage,
			"critical,digitalSignature") &&
		    add_ext(x, issuer, NID_ext_key_usage,
			"serverAuth,clientAuth") &&
		    add_ext(x, issuer, NID_authority_key_identifier,
			"keyid:always") &&
		    add_ext(x, issuer, NID_subject_alt_name, san);
	/* Ed25519 signs with no separate digest. */
	if (ok)
		ok = X509_sign(x, ca_key, NULL) > 0;
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static char *
bio_text(BIO *b)
{
	char *p, *s;
	long n = BIO_get_mem_data(b, &p);

	s = xmalloc((size_t)n + 1);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	return s;
}

static char *
cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b != NULL && PEM_write_bio_X509(b, x))
		s = bio_text(b);
	BIO_free(b);
	return s;
}

static char *
key_pem(EVP_PKEY *k)
{
	/* secure memory: cleansed when freed */
	BIO *b = BIO_new(BIO_s_secmem());
	char *s = NULL;

	if (b != NULL && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL))
		s = bio_text(b);
	BIO_free(b);
	return s;
}

int
kea_tls_build(const uint8_t *secret, size_t len, const char *addr,
    struct kea_tls_pem *out, char **cause)
{
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *cert = NULL;
	uint8_t serial[8], rserial[8], ab[16];
	char *info = NULL, *sinfo = NULL, *cn = NULL, *san = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, ab) != 1 &&
	    inet_pton(AF_INET6, addr, ab) != 1) {
		if (cause != NULL)
			xasprintf(cause, "HA address '%s' is not an IP "
			    "literal", addr);
		return -1;
	}
	xasprintf(&info, "rack key v1 %s", addr);
	xasprintf(&sinfo, "rack serial v1 %s", addr);
	xasprintf(&cn, "rack-%s", addr);
	xasprintf(&san, "IP:%s", addr);
	if (hkdf(secret, len, "ca serial v1", serial, sizeof serial) == -1 ||
	    hkdf(secret, len, sinfo, rserial, sizeof rserial) == -1)
		goto out;
	serial[0] &= 0x7f;		/* positive, 8 bytes at most */
	rserial[0] &= 0x7f;
	if ((ca_key = derived_key(secret, len, "ca key v1")) == NULL ||
	    (key = derived_key(secret, len, info)) == NULL ||
	    (ca = make_cert(ca_key, "rackd Kea HA CA", serial, NULL, ca_key,
		NULL)) == NULL ||
	    (cert = make_cert(key, cn, rserial, ca, ca_key, san)) == NULL)
		goto out;
	out->ca_cert = cert_pem(ca);
	out->cert = cert_pem(cert);
	out->key = key_pem(key);
	if (out->ca_cert != NULL && out->cert != NULL && out->key != NULL)
		rc = 0;
out:
	if (rc == -1) {
		if (cause != NULL) {
			unsigned long e = ERR_get_error();
			char buf[256];

			ERR_error_string_n(e, buf, sizeof buf);
			xasprintf(cause, "cannot build the HA TLS credentials "
			    "for %s: %s", addr, e ? buf : "OpenSSL failed");
		}
		kea_tls_pem_free(out);
	}
	ERR_clear_error();
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	free(info);
	free(sinfo);
	free(cn);
	free(san);
	return rc;
}

void
kea_tls_pem_free(struct kea_tls_pem *p)
{
	if (p == NULL)
		return;
	free(p->ca_cert);
	free(p->cert);
	if (p->key != NULL) {
		OPENSSL_cleanse(p->key, strlen(p->key));
		free(p->key);
	}
	memset(p, 0, sizeof *p);
}

char *
kea_tls_dir(const char *data_dir, const char *id)
{
	char *s;

	xasprintf(&s, "%s/dhcp/tls/%s", data_dir, id);
	return s;
}

char *
kea_tls_ca_path(const char *data_dir, const char *id)
{
	char *s;

	xasprintf(&s, "%s/dhcp/tls/%s/ca.pem", data_dir, id);
	return s;
}

char *
kea_tls_cert_path(const char *data_dir, const char *id, const char *addr)
{
	char *s;

	xasprintf(&s, "%s/dhcp/tls/%s/rack-%s.crt", data_dir, id, addr);
	return s;
}

char *
kea_tls_key_path(const char *data_dir, const char *id, const char *addr)
{
	char *s;

	xasprintf(&s, "%s/dhcp/tls/%s/rack-%s.key", data_dir, id, addr);
	return s;
}

/* 1 when path holds exactly text with mode 0600. */
static int
same_file(const char *path, const char *text)
{
	size_t n = strlen(text);
	struct stat st;
	char *buf;
	int fd, same = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size == n &&
	    (st.st_mode & 07777) == 0600) {
		buf = xmalloc(n + 1);
		same = read(fd, buf, n + 1) == (ssize_t)n &&
		    memcmp(buf, text, n) == 0;
		OPENSSL_cleanse(buf, n);
		free(buf);
	}
	close(fd);
	return same;
}

static int
put(const char *path, const char *text, char **cause)
{
	if (same_file(path, text))
		return 0;
	return file_write_atomic(path, text, strlen(text), 0600, cause);
}

static int
mkdir_0700(const char *path, char **cause)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		if (cause != NULL)
			xasprintf(cause, "cannot create %s: %s", path,
			    strerror(errno));
		return -1;
	}
	return 0;
}

int
kea_tls_provision(const char *data_dir, const uint8_t *secret, size_t len,
    const char *addr, char **cause)
{
	struct kea_tls_pem pem;
	char id[KEA_TLS_ID_LEN + 1], *top, *dir, *ca, *crt, *key;
	int rc = -1;

	if (kea_tls_build(secret, len, addr, &pem, cause) == -1)
		return -1;
	kea_tls_id(secret, len, id);
	xasprintf(&top, "%s/dhcp/tls", data_dir);
	dir = kea_tls_dir(data_dir, id);
	ca = kea_tls_ca_path(data_dir, id);
	crt = kea_tls_cert_path(data_dir, id, addr);
	key = kea_tls_key_path(data_dir, id, addr);
	if (mkdir_0700(top, cause) == 0 && mkdir_0700(dir, cause) == 0 &&
	    put(key, pem.key, cause) == 0 && put(crt, pem.cert, cause) == 0 &&
	    put(ca, pem.ca_cert, cause) == 0)
		rc = 0;
	kea_tls_pem_free(&pem);
	free(top);
	free(dir);
	free(ca);
	free(crt);
	free(key);
	return rc;
}

/* 1 when a Kea configuration in <data_dir>/dhcp (kea*.conf*, the
 * running, new or known-good ones) names files of tls/<id>/. */
static int
tls_id_in_use(const char *dhcp_dir, const char *id)
{
	struct dirent *de;
	char *path, *needle, *buf;
	int used = 0;
	FILE *f;
	long n;
	DIR *dp;

	if ((dp = opendir(dhcp_dir)) == NULL)
		return 1;		/* unsure: keep it */
	xasprintf(&needle, "/dhcp/tls/%s/", id);
	while (!used && (de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, "kea", 3) != 0 ||
		    strstr(de->d_name, ".conf") == NULL)
			continue;
		xasprintf(&path, "%s/%s", dhcp_dir, de->d_name);
		if ((f = fopen(path, "re")) != NULL) {
			if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
			    fseek(f, 0, SEEK_SET) == 0) {
				buf = xmalloc((size_t)n + 1);
				buf[fread(buf, 1, (size_t)n, f)] = '\0';
				used = strstr(buf, needle) != NULL;
				free(buf);
			}
			fclose(f);
		}
		free(path);
	}
	closedir(dp);
	free(needle);
	return used;
}

int
kea_tls_prune(const char *data_dir, const char *keep_id)
{
	struct dirent *de, *fe;
	char *dhcp, *top, *dir, *file;
	DIR *dp, *fp;
	int removed = 0;

	xasprintf(&dhcp, "%s/dhcp", data_dir);
	xasprintf(&top, "%s/dhcp/tls", data_dir);
	if ((dp = opendir(top)) == NULL) {
		free(dhcp);
		free(top);
		return 0;
	}
	while ((de = readdir(dp)) != NULL) {
		if (strlen(de->d_name) != KEA_TLS_ID_LEN ||
		    strspn(de->d_name, "0123456789abcdef") != KEA_TLS_ID_LEN ||
		    strcmp(de->d_name, keep_id) == 0 ||
		    tls_id_in_use(dhcp, de->d_name))
			continue;
		dir = kea_tls_dir(data_dir, de->d_name);
		if ((fp = opendir(dir)) != NULL) {
			while ((fe = readdir(fp)) != NULL) {
				if (fe->d_name[0] == '.')
					continue;
				xasprintf(&file, "%s/%s", dir, fe->d_name);
				unlink(file);
				free(file);
			}
			closedir(fp);
		}
		if (rmdir(dir) == 0)
			removed++;
		free(dir);
	}
	closedir(dp);
	free(dhcp);
	free(top);
	return removed;
}
