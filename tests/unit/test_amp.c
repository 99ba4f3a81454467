/*
 * test_amp.c — the AMP codec against the byte-level vectors of the spec
 * (maas-rpc.md §3.7, produced by Twisted's own encoder) and hostile input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "amp.h"
#include "secret.h"

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	unsigned v;

	while (*h) {
		while (*h == ' ' || *h == '\n')
			h++;
		if (!*h)
			break;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

/* §3.7(a): rack -> region Authenticate, byte-exact both ways. */
static const char *vec_a =
    "00045f61736b0001310008 5f636f6d6d616e64000c 41757468656e746963617465"
    "00076d657373616765 0010 101112131415161718191a1b1c1d1e1f 0000";

static void
test_vector_a(void **st)
{
	uint8_t buf[256], msg[16];
	size_t n = unhex(vec_a, buf), used, i;
	struct amp_box *b = NULL;
	struct bytes out;
	char *s = NULL;

	assert_int_equal(amp_box_decode(buf, n, NULL, &b, &used, NULL), AMP_OK);
	assert_int_equal(used, n);
	assert_int_equal(amp_box_get_str(b, "_command", &s, NULL), 0);
	assert_string_equal(s, "Authenticate");
	free(s);
	for (i = 0; i < 16; i++)
		msg[i] = (uint8_t)(0x10 + i);
	assert_int_equal(amp_box_get(b, "message")->len, 16);
	assert_memory_equal(amp_box_get(b, "message")->data, msg, 16);
	amp_box_free(b);

	/* Encode in the dump's key order: identical bytes. */
	b = amp_command_new("Authenticate", "1");
	amp_box_put(b, "message", msg, 16);
	bytes_init(&out);
	assert_int_equal(amp_box_encode(b, &out, NULL), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, buf, n);
	bytes_free(&out);
	amp_box_free(b);
}

/* §3.7(b): the HMAC vector. */
static void
test_vector_b_hmac(void **st)
{
	struct secret sec;
	uint8_t msg[16], salt[16], d[32], want[32];
	size_t i;

	assert_int_equal(secret_from_hex("0123456789abcdef0123456789abcdef\n",
	    &sec, NULL), 0);
	assert_int_equal(sec.len, 16);
	for (i = 0; i < 16; i++) {
		msg[i] = (uint8_t)(0x10 + i);
		salt[i] = (uint8_t)(0xa0 + i);
	}
	unhex("b2de664f1c53f2de5a841d3cc0c1f6cc587e8f098bd7ed1cf9a2f6022f55943e",
	    want);
	auth_digest(&sec, msg, 16, salt, 16, d);
	assert_memory_equal(d, want, 32);
	assert_true(auth_verify(&sec, msg, 16, salt, 16, want, 32));
	want[0] ^= 1;
	assert_false(auth_verify(&sec, msg, 16, salt, 16, want, 32));
	assert_false(auth_verify(&sec, msg, 16, salt, 16, want, 31));
}

/* §3.7(f): UpdateServices with an AmpList of two boxes and empty values. */
static void
test_vector_f_amplist(void **st)
{
	const char *h =
	    "00045f61736b000133 00085f636f6d6d616e64000e 55706461746553657276696365"
	    "73 000873657276696365730059 0004 6e616d65 0004 74667470 0006 737461747573"
	    "0007 72756e6e696e67 000b 7374617475735f696e666f 0000 0000 0004 6e616d65"
	    "0005 6468637064 0006 737461747573 0003 6f6666 000b 7374617475735f696e666f"
	    "0000 0000 0009 73797374656d5f6964 0006 616263313233 0000";
	uint8_t buf[512];
	size_t n = unhex(h, buf), used, nb;
	struct amp_box *b = NULL, **items = NULL, *in[2];
	const struct amp_value *v;
	struct bytes out;
	char *s = NULL;

	assert_int_equal(amp_box_decode(buf, n, NULL, &b, &used, NULL), AMP_OK);
	assert_int_equal(used, n);
	v = amp_box_get(b, "services");
	assert_non_null(v);
	assert_int_equal(v->len, 0x59);
	assert_int_equal(amp_list_decode(v->data, v->len, &items, &nb, NULL), 0);
	assert_int_equal(nb, 2);
	assert_int_equal(amp_box_get_str(items[1], "name", &s, NULL), 0);
	assert_string_equal(s, "dhcpd");
	free(s);
	assert_int_equal(amp_box_get(items[0], "status_info")->len, 0);

	/* Re-encode the list: same bytes. */
	in[0] = items[0];
	in[1] = items[1];
	bytes_init(&out);
	assert_int_equal(amp_list_encode(in, 2, &out, NULL), 0);
	assert_int_equal(out.len, v->len);
	assert_memory_equal(out.data, v->data, v->len);
	bytes_free(&out);
	amp_list_free(items, nb);
	amp_box_free(b);
}

/* §3.4 examples: empty CompressedAmpList, StructureAsJSON {}, ListOf. */
static void
test_types(void **st)
{
	uint8_t empty_clist[] = { 0x78, 0x9c, 0x03, 0, 0, 0, 0, 0x01 };
	uint8_t json_empty[] = { 0x78, 0x9c, 0xab, 0xae, 0x05, 0, 0x01, 0x75, 0,
	    0xf9 };
	struct bytes out;
	struct amp_box **items = NULL, *b = amp_box_new();
	size_t n = 99;
	json_t *j = json_object(), *back = NULL;
	struct amp_value ips[2];
	uint8_t a1[4] = { 10, 0, 0, 1 }, a2[4] = { 10, 0, 0, 2 };
	uint8_t want_l[] = { 0, 4, 10, 0, 0, 1, 0, 4, 10, 0, 0, 2 };
	char txt[64];

	bytes_init(&out);
	assert_int_equal(amp_clist_encode(NULL, 0, &out, NULL), 0);
	assert_int_equal(out.len, sizeof empty_clist);
	assert_memory_equal(out.data, empty_clist, out.len);
	assert_int_equal(amp_clist_decode(empty_clist, sizeof empty_clist,
	    &items, &n, NULL), 0);
	assert_int_equal(n, 0);
	amp_list_free(items, n);
	bytes_free(&out);

	assert_int_equal(amp_box_put_json(b, "j", j), 0);
	assert_int_equal(amp_box_get(b, "j")->len, sizeof json_empty);
	assert_memory_equal(amp_box_get(b, "j")->data, json_empty,
	    sizeof json_empty);
	assert_int_equal(amp_box_get_json(b, "j", &back, NULL), 0);
	assert_true(json_is_object(back));
	json_decref(back);
	json_decref(j);

	ips[0].data = a1; ips[0].len = 4;
	ips[1].data = a2; ips[1].len = 4;
	bytes_init(&out);
	assert_int_equal(amp_listof_encode(ips, 2, &out, NULL), 0);
	assert_memory_equal(out.data, want_l, sizeof want_l);
	bytes_free(&out);
	assert_int_equal(amp_ipaddr_to_text(&ips[1], txt, sizeof txt, NULL), 0);
	assert_string_equal(txt, "10.0.0.2");

	amp_box_put_str(b, "i", "-42");
	{
		long long v;
		bool bv;

		assert_int_equal(amp_box_get_int(b, "i", &v, NULL), 0);
		assert_int_equal(v, -42);
		amp_box_put_str(b, "i", "4x");
		assert_int_equal(amp_box_get_int(b, "i", &v, NULL), -1);
		amp_box_put_bool(b, "t", true);
		assert_int_equal(amp_box_get_bool(b, "t", &bv, NULL), 0);
		assert_true(bv);
		amp_box_put_str(b, "t", "true");
		assert_int_equal(amp_box_get_bool(b, "t", &bv, NULL), -1);
		assert_int_equal(amp_box_get_bool(b, "absent", &bv, NULL), 1);
	}
	amp_box_free(b);
}

/* Truncation at every offset needs more; hostile input is refused. */
static void
test_hostile(void **st)
{
	uint8_t buf[512];
	size_t n = unhex(vec_a, buf), i, used;
	struct amp_box *b = NULL;
	char *cause = NULL;
	uint8_t bigkey[] = { 0x01, 0x00, 'k' };
	uint8_t empty[] = { 0, 0 };
	uint8_t badutf[] = { 0, 1, 'k', 0, 2, 0xc0, 0x80, 0, 0 };
	uint8_t bomb_src[65536];
	struct bytes z, out;
	struct amp_limits lim = { 2, 0 };

	for (i = 0; i < n; i++)
		assert_int_equal(amp_box_decode(buf, i, NULL, &b, &used, NULL),
		    AMP_NEED_MORE);
	assert_int_equal(amp_box_decode(bigkey, sizeof bigkey, NULL, &b, &used,
	    &cause), AMP_EBADMSG);
	assert_non_null(strstr(cause, "255"));
	free(cause);
	cause = NULL;
	assert_int_equal(amp_box_decode(empty, 2, NULL, &b, &used, &cause),
	    AMP_EBADMSG);
	assert_non_null(strstr(cause, "empty"));
	free(cause);
	cause = NULL;
	assert_int_equal(amp_box_decode(buf, n, &lim, &b, &used, &cause),
	    AMP_EBADMSG);
	assert_non_null(strstr(cause, "keys"));
	free(cause);
	cause = NULL;
	assert_int_equal(amp_box_decode(badutf, sizeof badutf, NULL, &b, &used,
	    NULL), AMP_OK);
	{
		char *s = NULL;

		assert_int_equal(amp_box_get_str(b, "k", &s, &cause), -1);
		assert_non_null(strstr(cause, "UTF-8"));
		free(cause);
		cause = NULL;
	}
	/* zip bomb: inflate is capped */
	memset(bomb_src, 0, sizeof bomb_src);
	bytes_init(&z);
	amp_zlib_deflate(bomb_src, sizeof bomb_src, &z, NULL);
	bytes_init(&out);
	assert_int_equal(amp_zlib_inflate(z.data, z.len, 1000, &out, &cause), -1);
	assert_non_null(strstr(cause, "inflates beyond"));
	free(cause);
	cause = NULL;
	bytes_free(&out);
	assert_int_equal(amp_zlib_inflate((const uint8_t *)"nozlib", 6, 1000,
	    &out, &cause), -1);
	free(cause);
	bytes_free(&out);
	bytes_free(&z);
	amp_box_free(b);
}

static void
test_describe_masks_secrets(void **st)
{
	struct amp_box *b = amp_box_new();
	char *d;

	amp_box_put_str(b, "power_pass", "hunter2");
	amp_box_put_str(b, "hostname", "node1");
	/* RequestRackRefresh's answer: the OAuth token secret. */
	amp_box_put_str(b, "token_secret", "pQ3rS6tU9vW2xY5z");
	d = amp_box_describe(b);
	assert_null(strstr(d, "hunter2"));
	assert_null(strstr(d, "pQ3rS6tU9vW2xY5z"));
	assert_non_null(strstr(d, "node1"));
	free(d);
	amp_box_free(b);
}

/* Every secret, at every depth: top-level, in AmpList and
 * CompressedAmpList entries, in zlib JSON (a power context) and in a JSON
 * string; everything else stays readable. */
static void
test_describe_masks_nested(void **st)
{
	struct amp_box *b = amp_box_new(), *peer = amp_box_new(),
	    *node = amp_box_new(), *lst[1];
	struct bytes list, clist;
	json_t *ctx;
	char *d, *cause = NULL;

	amp_box_put_str(b, "_command", "ConfigureDHCPv4");
	amp_box_put_str(b, "omapi_key", "OMAPIKEY-s3cret==");
	amp_box_put_str(b, "Secret_Token", "tok-abc");
	amp_box_put_str(peer, "name", "failover-vlan-5");
	amp_box_put_str(peer, "omapi_key", "PEERKEY-zzz");
	lst[0] = peer;
	bytes_init(&list);
	assert_int_equal(amp_list_encode(lst, 1, &list, &cause), 0);
	amp_box_put(b, "failover_peers", list.data, list.len);
	ctx = json_pack("{s:s, s:s, s:{s:s, s:[{s:s}]}}", "power_address",
	    "10.0.0.9", "power_pass", "PW-hunter2", "nested", "k_g",
	    "0xKG1234", "deeper", "password", "PW-deep");
	assert_int_equal(amp_box_put_json(node, "context", ctx), 0);
	amp_box_put_str(node, "system_id", "abc123");
	amp_box_put_str(node, "power_parameters",
	    "{\"power_user\": \"admin\", \"power_pass\": \"PW-json\"}");
	lst[0] = node;
	bytes_init(&clist);
	assert_int_equal(amp_clist_encode(lst, 1, &clist, &cause), 0);
	amp_box_put(b, "hosts", clist.data, clist.len);

	d = amp_box_describe(b);
	assert_null(strstr(d, "OMAPIKEY"));
	assert_null(strstr(d, "tok-abc"));
	assert_null(strstr(d, "PEERKEY"));
	assert_null(strstr(d, "PW-"));
	assert_null(strstr(d, "KG1234"));
	assert_non_null(strstr(d, "ConfigureDHCPv4"));
	assert_non_null(strstr(d, "failover-vlan-5"));
	assert_non_null(strstr(d, "10.0.0.9"));
	assert_non_null(strstr(d, "abc123"));
	assert_non_null(strstr(d, "admin"));
	free(d);

	assert_true(amp_key_is_secret("omapi_key"));
	assert_true(amp_key_is_secret("POWER_PASS"));
	assert_true(amp_key_is_secret("k_g"));
	assert_true(amp_key_is_secret("api_token"));
	assert_false(amp_key_is_secret("hostname"));
	assert_false(amp_key_is_secret("power_address"));
	json_decref(ctx);
	bytes_free(&list);
	bytes_free(&clist);
	amp_box_free(b);
	amp_box_free(peer);
	amp_box_free(node);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_a),
		cmocka_unit_test(test_vector_b_hmac),
		cmocka_unit_test(test_vector_f_amplist),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_describe_masks_secrets),
		cmocka_unit_test(test_describe_masks_nested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
