// FUZZ_SRCS: src/region/amp.c src/core/bytes.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_amp.c — libFuzzer target for the AMP decoder: decode boxes in a
 * loop, run every typed getter and list decoder on every value, and check
 * that re-encoding a decoded box decodes to the same box.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct amp_limits lim = { 64, 1 << 20 };
	size_t off = 0, used, i, n;

	while (off < size) {
		struct amp_box *b = NULL, *b2 = NULL, **items = NULL;
		struct bytes enc;
		char *s = NULL, *cause = NULL;
		long long v;
		bool bv;
		json_t *j = NULL;

		if (amp_box_decode(data + off, size - off, &lim, &b, &used,
		    &cause) != AMP_OK) {
			free(cause);
			break;
		}
		off += used;
		for (i = 0; i < b->n; i++) {
			const char *k = b->pairs[i].key;

			if (amp_box_get_str(b, k, &s, NULL) == 0)
				free(s);
			(void)amp_box_get_int(b, k, &v, NULL);
			(void)amp_box_get_bool(b, k, &bv, NULL);
			if (amp_box_get_json(b, k, &j, NULL) == 0)
				json_decref(j);
			if (amp_list_decode(b->pairs[i].value, b->pairs[i].len,
			    &items, &n, NULL) == 0)
				amp_list_free(items, n);
			if (amp_clist_decode(b->pairs[i].value, b->pairs[i].len,
			    &items, &n, NULL) == 0)
				amp_list_free(items, n);
		}
		bytes_init(&enc);
		if (amp_box_encode(b, &enc, NULL) == 0) {
			if (amp_box_decode(enc.data, enc.len, &lim, &b2, &used,
			    NULL) != AMP_OK || b2->n != b->n)
				abort();
			for (i = 0; i < b->n; i++) {
				if (b2->pairs[i].len != b->pairs[i].len ||
				    memcmp(b2->pairs[i].value, b->pairs[i].value,
				    b->pairs[i].len) != 0)
					abort();
			}
			amp_box_free(b2);
		}
		bytes_free(&enc);
		amp_box_free(b);
	}
	return 0;
}
