/* test_secret.c — shared secret loading: permissions, hex, no leaks. */
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

#include "secret.h"

static char path[] = "/tmp/rackd-test-secret.XXXXXX";

static void
write_secret(const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void
test_load(void **st)
{
	struct secret s;
	char *cause = NULL;
	int fd = mkstemp(path);

	close(fd);
	write_secret("0123456789ABCDEF0123456789abcdef\n", 0600);
	assert_int_equal(secret_load(path, &s, &cause), 0);
	assert_int_equal(s.len, 16);
	assert_int_equal(s.key[0], 0x01);
	assert_int_equal(s.key[7], 0xef);

	write_secret("0123456789abcdef0123456789abcdef\n", 0644);
	assert_int_equal(secret_load(path, &s, &cause), -1);
	assert_non_null(strstr(cause, path));
	assert_non_null(strstr(cause, "chmod 600"));
	assert_null(strstr(cause, "0123456789abcdef"));
	free(cause);
	cause = NULL;

	write_secret("0123456789abcdef0123456789abcde\n", 0600);
	assert_int_equal(secret_load(path, &s, &cause), -1);
	assert_non_null(strstr(cause, "even"));
	free(cause);
	cause = NULL;

	write_secret("zz23456789abcdef0123456789abcdef", 0600);
	assert_int_equal(secret_load(path, &s, &cause), -1);
	assert_null(strstr(cause, "zz2345"));
	free(cause);
	cause = NULL;

	write_secret("\n", 0600);
	assert_int_equal(secret_load(path, &s, &cause), -1);
	assert_non_null(strstr(cause, "empty"));
	free(cause);
	unlink(path);
	assert_int_equal(secret_load(path, &s, &cause), -1);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
