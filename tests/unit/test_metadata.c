/*
 * test_metadata.c — metadata.c against the exact bytes of the spec
 * (maas-rack-refresh.md §2.3 header, §2.4 body).  The expected headers
 * were produced by oauthlib 3.2.2 the way MAAS's Credentials.oauth_headers
 * calls it (Client(..., signature_method=PLAINTEXT).sign(url)).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "refresh.h"
#include "xmalloc.h"

#define B	"iKZWeqhFWCEPyYngFbyBMWXaSCrUZoL"

static void
test_oauth_header_spec(void **state)
{
	struct metadata_creds c = { "Xq3nU7kRzP2mW8vLcD", "aB9dE4fG7hJ2kL5mN8",
	    "pQ3rS6tU9vW2xY5zA8bC1dE4fG7hJ0kL" };
	char *h = metadata_oauth_header(&c, "51389977407449092531796280656",
	    1796280656);

	assert_string_equal(h, "OAuth "
	    "oauth_nonce=\"51389977407449092531796280656\", "
	    "oauth_timestamp=\"1796280656\", oauth_version=\"1.0\", "
	    "oauth_signature_method=\"PLAINTEXT\", "
	    "oauth_consumer_key=\"Xq3nU7kRzP2mW8vLcD\", "
	    "oauth_token=\"aB9dE4fG7hJ2kL5mN8\", "
	    "oauth_signature=\"%26pQ3rS6tU9vW2xY5zA8bC1dE4fG7hJ0kL\"");
	/* MAAS finds the token by splitting on whitespace: one word. */
	assert_non_null(strstr(h, " oauth_token=\"aB9dE4fG7hJ2kL5mN8\", "));
	free(h);
}

static void
test_oauth_header_encoding(void **state)
{
	/* A secret with reserved and non-ASCII bytes is encoded twice
	 * (once in the PLAINTEXT signature, once as a header value). */
	struct metadata_creds c = { "ck", "tk", "a b&c%/+~\xc3\xa9" };
	char *h = metadata_oauth_header(&c, "n", 0);

	assert_string_equal(h, "OAuth oauth_nonce=\"n\", "
	    "oauth_timestamp=\"0\", oauth_version=\"1.0\", "
	    "oauth_signature_method=\"PLAINTEXT\", "
	    "oauth_consumer_key=\"ck\", oauth_token=\"tk\", "
	    "oauth_signature="
	    "\"%26a%2520b%2526c%2525%252F%252B~%25C3%25A9\"");
	free(h);
}

static void
test_pct(void **state)
{
	char *s = metadata_pct("AZaz09-._~ \"%&=/\x01\xff");

	assert_string_equal(s, "AZaz09-._~%20%22%25%26%3D%2F%01%FF");
	free(s);
	s = metadata_pct("");
	assert_string_equal(s, "");
	free(s);
}

static void
test_body_finished_spec(void **state)
{
	const char out[] = "{\"api_version\": \"1.0\"}\n";
	struct metadata_file files[] = {
		{ "50-maas-01-commissioning", out, sizeof(out) - 1 },
		{ "50-maas-01-commissioning.out", out, sizeof(out) - 1 },
		{ "50-maas-01-commissioning.err", "", 0 },
	};
	struct metadata_signal sig = { "WORKING",
	    "Finished 50-maas-01-commissioning [2/6]: 0", 1, 0, files, 3 };
	const char want[] =
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"op\"\r\n"
	    "\r\n"
	    "signal\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"status\"\r\n"
	    "\r\n"
	    "WORKING\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"error\"\r\n"
	    "\r\n"
	    "Finished 50-maas-01-commissioning [2/6]: 0\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"exit_status\"\r\n"
	    "\r\n"
	    "0\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"50-maas-01-commissioning\"; filename=\"50-maas-01-commissioning\"\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n"
	    "{\"api_version\": \"1.0\"}\n\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"50-maas-01-commissioning.out\"; filename=\"50-maas-01-commissioning.out\"\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n"
	    "{\"api_version\": \"1.0\"}\n\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"50-maas-01-commissioning.err\"; filename=\"50-maas-01-commissioning.err\"\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n"
	    "\r\n"
	    "--" B "--\r\n";
	char *body;
	size_t len;

	assert_int_equal(strlen(B), METADATA_BOUNDARY_LEN);
	metadata_body(B, &sig, &body, &len);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(body, want, len);
	free(body);
}

static void
test_body_no_files(void **state)
{
	struct metadata_signal start = { "WORKING",
	    "Starting 20-maas-03-machine-resources [1/2]", 0, 0, NULL, 0 };
	struct metadata_signal ok = { "OK", "Finished refreshing abc123", 0,
	    0, NULL, 0 };
	const char want_start[] =
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"op\"\r\n\r\nsignal\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"status\"\r\n\r\nWORKING\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"error\"\r\n\r\n"
	    "Starting 20-maas-03-machine-resources [1/2]\r\n"
	    "--" B "--\r\n";
	const char want_ok[] =
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"op\"\r\n\r\nsignal\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"status\"\r\n\r\nOK\r\n"
	    "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"error\"\r\n\r\n"
	    "Finished refreshing abc123\r\n"
	    "--" B "--\r\n";
	char *body;
	size_t len;

	metadata_body(B, &start, &body, &len);
	assert_int_equal(len, sizeof(want_start) - 1);
	assert_memory_equal(body, want_start, len);
	free(body);
	metadata_body(B, &ok, &body, &len);
	assert_int_equal(len, sizeof(want_ok) - 1);
	assert_memory_equal(body, want_ok, len);
	free(body);
}

static void
test_body_binary_file(void **state)
{
	/* File contents go verbatim, NULs and CRLFs included. */
	const char data[] = { 'a', '\0', '\r', '\n', 'b' };
	struct metadata_file f = { "x", data, sizeof(data) };
	struct metadata_signal sig = { "WORKING", "e", 1, 3, &f, 1 };
	const char tail[] = "Content-Type: application/octet-stream\r\n\r\n"
	    "a\0\r\nb\r\n--" B "--\r\n";
	char *body, *ct;
	size_t len;

	metadata_body(B, &sig, &body, &len);
	assert_true(len > sizeof(tail));
	assert_memory_equal(body + len - (sizeof(tail) - 1), tail,
	    sizeof(tail) - 1);
	assert_non_null(strstr(body, "name=\"exit_status\"\r\n\r\n3\r\n"));
	free(body);
	ct = metadata_content_type(B);
	assert_string_equal(ct, "multipart/form-data; boundary=" B);
	free(ct);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oauth_header_spec),
		cmocka_unit_test(test_oauth_header_encoding),
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_body_finished_spec),
		cmocka_unit_test(test_body_no_files),
		cmocka_unit_test(test_body_binary_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
