/*
 * status_client.c — `rackd status [--json | --metrics] [-f FILE]`: ask
 * the running daemon over its control socket (run_dir/rackd.sock of the
 * configuration) and print the answer.  Blocking I/O is fine here: this
 * is a short-lived command, not the daemon.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "config.h"
#include "rackd.h"
#include "status.h"
#include "xmalloc.h"

#define STATUS_CLIENT_DEADLINE_MS	10000

/* Send request, read to EOF into *out.  -1 with *cause. */
static int
status_ask(const char *path, const char *request, struct bytes *out,
    char **cause)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	uint64_t deadline = rackd_now_ms() + STATUS_CLIENT_DEADLINE_MS;
	char buf[8192];
	ssize_t n;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path %s is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		xasprintf(cause, "cannot connect to %s: %s (is rackd running, "
		    "and are you in its group?)", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		xasprintf(cause, "write to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	for (;;) {
		uint64_t now = rackd_now_ms();

		if (now >= deadline) {
			xasprintf(cause, "no answer from %s within %d s", path,
			    STATUS_CLIENT_DEADLINE_MS / 1000);
			close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 && errno != EINTR)
			break;
		if ((n = read(fd, buf, sizeof buf)) > 0)
			bytes_add(out, buf, (size_t)n);
		else if (n == 0)
			break;
		else if (errno != EINTR && errno != EAGAIN) {
			xasprintf(cause, "read from %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	bytes_add_u8(out, '\0');
	return 0;
}

static void
status_usage(void)
{
	fprintf(stderr, "usage: rackd status [--json | --metrics] [-f FILE]\n");
	exit(2);
}

int
status_client_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "metrics", no_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = RACKD_DEFAULT_CONFIG;
	struct rackd_config *cfg;
	struct bytes out;
	json_error_t jerr;
	json_t *doc;
	char *sock, *cause = NULL, *text;
	int ch, as_json = 0, metrics = 0, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			as_json = 1;
			break;
		case 'm':
			metrics = 1;
			break;
		case 'f':
			cfgpath = optarg;
			break;
		default:
			status_usage();
		}
	}
	if (optind != argc || (as_json && metrics))
		status_usage();
	if ((cfg = config_load(cfgpath, &cause)) == NULL) {
		fprintf(stderr, "rackd status: %s\n", cause);
		free(cause);
		return 1;
	}
	xasprintf(&sock, "%s/%s", cfg->run_dir, STATUS_SOCKET_NAME);
	config_free(cfg);
	bytes_init(&out);
	if (status_ask(sock, metrics ? "metrics\n" : "status\n", &out,
	    &cause) == -1) {
		fprintf(stderr, "rackd status: %s\n", cause);
		free(cause);
		goto done;
	}
	if (metrics) {
		fputs((char *)out.data, stdout);
		rc = 0;
		goto done;
	}
	if ((doc = json_loads((char *)out.data, 0, &jerr)) == NULL) {
		fprintf(stderr, "rackd status: bad answer from %s: %s\n", sock,
		    jerr.text);
		goto done;
	}
	if (json_is_string(json_object_get(doc, "error"))) {
		fprintf(stderr, "rackd status: %s\n",
		    json_string_value(json_object_get(doc, "error")));
		json_decref(doc);
		goto done;
	}
	if (as_json)
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	else
		text = status_format_table(doc);
	fputs(text, stdout);
	if (as_json)
		putchar('\n');
	free(text);
	json_decref(doc);
	rc = 0;
done:
	bytes_free(&out);
	free(sock);
	return rc;
}
