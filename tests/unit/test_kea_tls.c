/* test_kea_tls.c — HA TLS credentials derived from the shared secret:
 * deterministic, different per secret and per rack, a chain that
 * verifies, and files written 0600 only when they change. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "kea_tls.h"

static const uint8_t s1[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    14, 15, 16 };
static const uint8_t s2[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    14, 15, 17 };

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(k);
	return k;
}

/* 1 when leaf verifies against ca as the only trust anchor. */
static int
chain_ok(X509 *ca, X509 *leaf)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(ctx, st, leaf, NULL);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

static void
test_deterministic(void **st)
{
	struct kea_tls_pem a, b, c, other;
	char *cause = NULL;

	assert_int_equal(kea_tls_build(s1, sizeof s1, "10.0.0.1", &a,
	    &cause), 0);
	assert_int_equal(kea_tls_build(s1, sizeof s1, "10.0.0.1", &b,
	    &cause), 0);
	/* the same secret and address: byte-identical on every rack */
	assert_string_equal(a.ca_cert, b.ca_cert);
	assert_string_equal(a.cert, b.cert);
	assert_string_equal(a.key, b.key);
	assert_non_null(strstr(a.key, "BEGIN PRIVATE KEY"));
	/* the partner: same CA, its own key */
	assert_int_equal(kea_tls_build(s1, sizeof s1, "fd00::2", &c,
	    &cause), 0);
	assert_string_equal(a.ca_cert, c.ca_cert);
	assert_string_not_equal(a.key, c.key);
	assert_string_not_equal(a.cert, c.cert);
	/* another secret: another CA and key */
	assert_int_equal(kea_tls_build(s2, sizeof s2, "10.0.0.1", &other,
	    &cause), 0);
	assert_string_not_equal(a.ca_cert, other.ca_cert);
	assert_string_not_equal(a.key, other.key);
	kea_tls_pem_free(&a);
	kea_tls_pem_free(&b);
	kea_tls_pem_free(&c);
	kea_tls_pem_free(&other);
}

static void
test_chain(void **st)
{
	struct kea_tls_pem a, other;
	X509 *ca, *leaf, *oca;
	EVP_PKEY *k;
	char *cause = NULL;

	assert_int_equal(kea_tls_build(s1, sizeof s1, "10.0.0.1", &a,
	    &cause), 0);
	assert_int_equal(kea_tls_build(s2, sizeof s2, "10.0.0.1", &other,
	    &cause), 0);
	ca = pem_cert(a.ca_cert);
	leaf = pem_cert(a.cert);
	oca = pem_cert(other.ca_cert);
	k = pem_key(a.key);
	assert_true(chain_ok(ca, leaf));
	assert_false(chain_ok(oca, leaf));	/* another secret's CA */
	assert_int_equal(X509_check_private_key(leaf, k), 1);
	assert_int_equal(EVP_PKEY_get_id(k), EVP_PKEY_ED25519);
	assert_int_equal(X509_check_ip_asc(leaf, "10.0.0.1", 0), 1);
	X509_free(ca);
	X509_free(leaf);
	X509_free(oca);
	EVP_PKEY_free(k);
	kea_tls_pem_free(&a);
	kea_tls_pem_free(&other);
}

static void
test_bad_address(void **st)
{
	struct kea_tls_pem a;
	char *cause = NULL;

	assert_int_equal(kea_tls_build(s1, sizeof s1, "rack1", &a, &cause),
	    -1);
	assert_string_equal(cause, "HA address 'rack1' is not an IP literal");
	free(cause);
	assert_null(a.ca_cert);
}

static void
test_id(void **st)
{
	char i1[KEA_TLS_ID_LEN + 1], i2[KEA_TLS_ID_LEN + 1];
	char i3[KEA_TLS_ID_LEN + 1];

	kea_tls_id(s1, sizeof s1, i1);
	kea_tls_id(s1, sizeof s1, i3);
	kea_tls_id(s2, sizeof s2, i2);
	assert_int_equal(strlen(i1), KEA_TLS_ID_LEN);
	assert_string_equal(i1, i3);
	assert_string_not_equal(i1, i2);
	assert_int_equal(strspn(i1, "0123456789abcdef"), KEA_TLS_ID_LEN);
}

static void
test_provision(void **st)
{
	char dir[] = "/tmp/rackd-test-tls.XXXXXX", id[KEA_TLS_ID_LEN + 1];
	char *sub, *ca, *crt, *key, *cause = NULL, *cmd;
	struct stat s, s_again;

	assert_non_null(mkdtemp(dir));
	asprintf(&sub, "%s/dhcp", dir);
	mkdir(sub, 0750);
	kea_tls_id(s1, sizeof s1, id);
	assert_int_equal(kea_tls_provision(dir, s1, sizeof s1, "10.0.0.1",
	    &cause), 0);
	ca = kea_tls_ca_path(dir, id);
	crt = kea_tls_cert_path(dir, id, "10.0.0.1");
	key = kea_tls_key_path(dir, id, "10.0.0.1");
	assert_int_equal(stat(key, &s), 0);
	assert_int_equal(s.st_mode & 07777, 0600);
	assert_int_equal(stat(crt, &s), 0);
	assert_int_equal(s.st_mode & 07777, 0600);
	assert_int_equal(stat(ca, &s), 0);
	assert_int_equal(s.st_mode & 07777, 0600);
	/* unchanged: not rewritten (same inode) */
	assert_int_equal(kea_tls_provision(dir, s1, sizeof s1, "10.0.0.1",
	    &cause), 0);
	assert_int_equal(stat(ca, &s_again), 0);
	assert_int_equal(s.st_ino, s_again.st_ino);
	/* a file someone loosened is rewritten 0600 */
	chmod(key, 0644);
	assert_int_equal(kea_tls_provision(dir, s1, sizeof s1, "10.0.0.1",
	    &cause), 0);
	assert_int_equal(stat(key, &s), 0);
	assert_int_equal(s.st_mode & 07777, 0600);
	/* a directory that cannot be made is named */
	assert_int_equal(kea_tls_provision("/nonexistent", s1, sizeof s1,
	    "10.0.0.1", &cause), -1);
	assert_non_null(strstr(cause, "cannot create /nonexistent/dhcp/tls"));
	free(cause);
	asprintf(&cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(sub);
	free(ca);
	free(crt);
	free(key);
}

static void
test_prune(void **st)
{
	char dir[] = "/tmp/rackd-test-tls.XXXXXX", *p, *cmd;
	const char *ids[] = { "aaaaaaaa", "bbbbbbbb", "cccccccc" };
	struct stat s;
	size_t i;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	asprintf(&p, "%s/dhcp", dir);
	mkdir(p, 0750);
	free(p);
	asprintf(&p, "%s/dhcp/tls", dir);
	mkdir(p, 0700);
	free(p);
	for (i = 0; i < 3; i++) {
		p = kea_tls_dir(dir, ids[i]);
		mkdir(p, 0700);
		free(p);
		p = kea_tls_ca_path(dir, ids[i]);
		f = fopen(p, "w");
		fputs("x", f);
		fclose(f);
		free(p);
	}
	/* a known-good configuration still names bbbbbbbb */
	asprintf(&p, "%s/dhcp/kea4-failover-vlan-5.conf.good", dir);
	f = fopen(p, "w");
	fprintf(f, "{\"trust-anchor\": \"%s/dhcp/tls/bbbbbbbb/ca.pem\"}", dir);
	fclose(f);
	free(p);
	assert_int_equal(kea_tls_prune(dir, "cccccccc"), 1);
	p = kea_tls_dir(dir, "aaaaaaaa");
	assert_int_equal(stat(p, &s), -1);
	free(p);
	p = kea_tls_dir(dir, "bbbbbbbb");
	assert_int_equal(stat(p, &s), 0);
	free(p);
	p = kea_tls_dir(dir, "cccccccc");
	assert_int_equal(stat(p, &s), 0);
	free(p);
	assert_int_equal(kea_tls_prune(dir, "cccccccc"), 0);
	asprintf(&cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_provision),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
