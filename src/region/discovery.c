/*
 * discovery.c — the discovery service: one round fetches every configured
 * maas_url's /rpc/ document in parallel and reports the answer naming the
 * most event loops (MAAS's ClusterClientService does the same; it never
 * merges answers).  The last winning document is kept in
 * <data_dir>/rpc-eventloops.json so a restarted rack can still reach the
 * regions while every HTTP endpoint is down.
 *
 * Rounds never overlap: discovery_run() during a round asks for one more
 * round after it.  The round-end callback may call discovery_run(),
 * discovery_set_params() or discovery_free(); all three are deferred until
 * the callback returns.
 *
 * Quick probes (rejoin.h): a URL whose fetch fails goes BAD and, for
 * probe.window_ms after that, is fetched alone on a jittered backoff
 * (0.5 s doubling to probe.cap_ms) by its own timer, between rounds.  The
 * other URLs are not touched, so a region that is down costs the live
 * ones nothing.  The first probe that gets a usable document marks the
 * URL GOOD, logs how long it was gone and runs one full round at once
 * (the winner is still picked among all URLs, never from a probe alone).
 * When the window ends without an answer, quick probing stops and one
 * round runs so the owner can plan again; the URL is then only fetched
 * by rounds.  Per URL:
 *
 *   GOOD --fetch fails--> BAD+probing --window over--> BAD (rounds only)
 *     ^                        |                          |
 *     +-----probe or round answers------------------------+
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "discovery.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "rackd.h"
#include "rejoin.h"
#include "secret.h"
#include "xmalloc.h"

#define DISC_SAVED_NAME		"rpc-eventloops.json"
#define DISC_DEFAULT_TIMEOUT	5000		/* spec §2.2: 5 s */
#define DISC_DEFAULT_MAX_BODY	(1024 * 1024)

enum disc_state {
	DISC_UNKNOWN,
	DISC_GOOD,
	DISC_BAD,
};

/* One configured maas_url and the outcome of its fetch this round. */
struct disc_url {
	struct discovery	*d;
	char			*maas_url;
	char			*rpc_url;	/* NULL if maas_url is unusable */
	char			*host;
	char			*url_error;	/* why rpc_url is NULL */
	struct http_request	*req;
	enum disc_state		 state;		/* as last logged */
	struct disc_doc		*doc;		/* this round's answer */
	char			*cause;		/* this round's failure */

	/* quick probes while BAD (see the top of the file) */
	uint64_t		 down_since_ms;	/* went BAD at */
	unsigned		 probe_attempt;	/* probes since */
	int			 probing;	/* within its probe window */
	struct event		*probe_timer;	/* next probe */
	struct http_request	*probe_req;	/* probe in flight */
};

struct discovery {
	struct event_base	*base;
	struct http		*http;
	discovery_cb		 cb;
	void			*arg;

	struct disc_url		*urls;
	size_t			 nurls;
	char			*data_dir;
	char			*saved_path;
	long			 timeout_ms;
	size_t			 max_body;
	struct rejoin_params	 probe;		/* window_ms 0: no quick probes */

	/* set_params() while a round runs: applied at its end */
	struct discovery_params	*next;

	int			 running;	/* a round is in progress */
	int			 in_cb;		/* inside the user callback */
	int			 rerun;		/* run again after this round */
	int			 dying;		/* free after the callback */
	size_t			 outstanding;	/* fetches in flight */
	struct event		*finish_ev;	/* finish a round with no I/O */
	char			*saved_dump;	/* what the saved file holds */
	int			 saved_loaded;	/* saved_dump read from disk */
	int			 using_saved;	/* "using saved" was logged */
};

static void	disc_round_start(struct discovery *);
static void	disc_round_finish(struct discovery *);
static void	disc_destroy(struct discovery *);
static void	disc_probe_arm(struct disc_url *);

static struct discovery_params *
disc_params_copy(const struct discovery_params *p)
{
	struct discovery_params *c = xcalloc(1, sizeof(*c));
	char **urls;
	size_t i;

	urls = xcalloc(p->nurls ? p->nurls : 1, sizeof(*urls));
	for (i = 0; i < p->nurls; i++)
		urls[i] = xstrdup(p->maas_urls[i]);
	c->maas_urls = urls;
	c->nurls = p->nurls;
	c->data_dir = p->data_dir ? xstrdup(p->data_dir) : NULL;
	c->timeout_ms = p->timeout_ms;
	c->max_body = p->max_body;
	c->probe = p->probe;
	return c;
}

static void
disc_params_free(struct discovery_params *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nurls; i++)
		free(p->maas_urls[i]);
	free((char **)p->maas_urls);
	free((char *)p->data_dir);
	free(p);
}

static void
disc_urls_free(struct http *http, struct disc_url *urls, size_t n)
{
	struct disc_url *u;
	size_t i;

	for (i = 0; i < n; i++) {
		u = &urls[i];
		if (u->req != NULL)
			http_cancel(http, u->req);
		if (u->probe_req != NULL)
			http_cancel(http, u->probe_req);
		if (u->probe_timer != NULL)
			event_free(u->probe_timer);
		free(u->maas_url);
		free(u->rpc_url);
		free(u->host);
		free(u->url_error);
		discovery_doc_free(u->doc);
		free(u->cause);
	}
	free(urls);
}

/* Install params; a URL that stays keeps its logged state. */
static void
disc_apply(struct discovery *d, const struct discovery_params *p)
{
	struct disc_url *old = d->urls, *u;
	size_t nold = d->nurls, i, j;
	char *dir;

	d->urls = xcalloc(p->nurls ? p->nurls : 1, sizeof(*d->urls));
	d->nurls = p->nurls;
	for (i = 0; i < p->nurls; i++) {
		u = &d->urls[i];
		u->d = d;
		u->maas_url = xstrdup(p->maas_urls[i]);
		u->rpc_url = discovery_rpc_url(u->maas_url, &u->url_error);
		if (u->rpc_url != NULL)
			u->host = discovery_host_header(u->maas_url, NULL);
		for (j = 0; j < nold; j++) {
			if (strcmp(old[j].maas_url, u->maas_url) != 0)
				continue;
			u->state = old[j].state;
			u->down_since_ms = old[j].down_since_ms;
			u->probe_attempt = old[j].probe_attempt;
			u->probing = old[j].probing && u->rpc_url != NULL;
		}
	}
	/* No round request is in flight between rounds; probes are
	 * cancelled here and re-armed below on the new array. */
	disc_urls_free(d->http, old, nold);

	dir = p->data_dir ? xstrdup(p->data_dir) : NULL;
	if (dir == NULL || d->data_dir == NULL ||
	    strcmp(dir, d->data_dir) != 0) {
		free(d->saved_dump);
		d->saved_dump = NULL;
		d->saved_loaded = 0;
	}
	free(d->data_dir);
	d->data_dir = dir;
	free(d->saved_path);
	d->saved_path = NULL;
	if (dir != NULL)
		xasprintf(&d->saved_path, "%s/%s", dir, DISC_SAVED_NAME);
	d->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms :
	    DISC_DEFAULT_TIMEOUT;
	d->max_body = p->max_body > 0 ? p->max_body : DISC_DEFAULT_MAX_BODY;
	d->probe = p->probe;
	for (i = 0; i < d->nurls; i++)
		if (d->urls[i].probing)
			disc_probe_arm(&d->urls[i]);
}

static void
disc_probe_stop(struct disc_url *u)
{
	if (u->probe_timer != NULL)
		event_del(u->probe_timer);
	if (u->probe_req != NULL) {
		http_cancel(u->d->http, u->probe_req);
		u->probe_req = NULL;
	}
	u->probing = 0;
}

/* A URL answered (round or probe): log its return, stop probing it. */
static void
disc_mark_good(struct disc_url *u, size_t nloops)
{
	if (u->state == DISC_BAD)
		log_info("region URL %s answers again after %.1f s: %zu event "
		    "loops", u->maas_url,
		    (double)(rackd_now_ms() - u->down_since_ms) / 1000.0,
		    nloops);
	else if (u->state == DISC_UNKNOWN)
		log_info("region URL %s answers: %zu event loops",
		    u->maas_url, nloops);
	u->state = DISC_GOOD;
	disc_probe_stop(u);
}

/* Log a URL's outcome only when it changes between good and bad; a URL
 * that goes bad starts its quick probes. */
static void
disc_note(struct disc_url *u)
{
	if (u->cause == NULL) {
		disc_mark_good(u, discovery_doc_count(u->doc, NULL));
		return;
	}
	if (u->state != DISC_BAD) {
		log_warnx("region URL %s: %s", u->maas_url, u->cause);
		u->state = DISC_BAD;
		u->down_since_ms = rackd_now_ms();
		u->probe_attempt = 0;
		u->probing = u->rpc_url != NULL;
	}
	/* Still probing and nothing planned (a probe fell due during the
	 * round and stood aside): plan the next one. */
	if (u->probing && u->probe_req == NULL && (u->probe_timer == NULL ||
	    !evtimer_pending(u->probe_timer, NULL)))
		disc_probe_arm(u);
}

static int
is_html(const char *ctype)
{
	return ctype != NULL && strncasecmp(ctype, "text/html", 9) == 0;
}

/*
 * Judge one /rpc/ answer: returns NULL with *docp set (a document naming
 * at least one event loop), or the malloc'd reason it is unusable (then
 * *docp may still hold an empty document, for the caller to free).
 */
static char *
disc_judge(const struct http_result *r, struct disc_doc **docp)
{
	char *cause = NULL, *out = NULL;

	*docp = NULL;
	if (!r->ok)
		out = xstrdup(r->error);
	else if (r->status == 502 || r->status == 503)
		/* MAAS: the region is coming up, not an error. */
		xasprintf(&out, "region is starting (HTTP %ld)", r->status);
	else if (is_html(r->content_type)) {
		if (r->status == 200)
			out = xstrdup("answered HTML, not the /rpc/ document");
		else
			xasprintf(&out, "HTTP %ld: answered HTML, not the /rpc/ "
			    "document", r->status);
	} else if ((*docp = discovery_parse(r->body, r->len, &cause)) ==
	    NULL) {
		if (r->status == 200)
			out = cause;
		else {
			xasprintf(&out, "HTTP %ld: %s", r->status, cause);
			free(cause);
		}
	} else if ((*docp)->nloops == 0) {
		if (r->status == 200)
			out = xstrdup("advertises no event loops yet");
		else
			xasprintf(&out, "HTTP %ld: advertises no event loops",
			    r->status);
	}
	return out;
}

static void
disc_fetch_done(const struct http_result *r, void *arg)
{
	struct disc_url *u = arg;
	struct discovery *d = u->d;

	u->req = NULL;
	u->cause = disc_judge(r, &u->doc);
	if (--d->outstanding == 0)
		disc_round_finish(d);
}

/* --- quick probes of a URL that stopped answering -------------------- */

static void
disc_probe_done(const struct http_result *r, void *arg)
{
	struct disc_url *u = arg;
	struct discovery *d = u->d;
	struct disc_doc *doc;
	char *cause;

	u->probe_req = NULL;
	u->probe_attempt++;
	cause = disc_judge(r, &doc);
	if (cause == NULL) {
		disc_mark_good(u, doc->nloops);
		discovery_doc_free(doc);
		/* A full round picks the winner among every URL. */
		discovery_run(d);
		return;
	}
	discovery_doc_free(doc);
	log_debug("region URL %s: probe %u: %s", u->maas_url,
	    u->probe_attempt, cause);
	free(cause);
	disc_probe_arm(u);
}

static void
disc_probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct disc_url *u = arg;
	struct discovery *d = u->d;
	char *cause = NULL;

	/* A round fetches this URL anyway; its end plans the next probe. */
	if (d->running || u->probe_req != NULL)
		return;
	u->probe_req = http_get(d->http, u->rpc_url, u->host, d->timeout_ms,
	    d->max_body, disc_probe_done, u, &cause);
	if (u->probe_req == NULL) {
		log_debug("region URL %s: probe: %s", u->maas_url, cause);
		free(cause);
		u->probe_attempt++;
		disc_probe_arm(u);
	}
}

/* Plan the next probe of a BAD URL, or end its quick probes. */
static void
disc_probe_arm(struct disc_url *u)
{
	struct discovery *d = u->d;
	struct timeval tv;
	uint32_t rnd;
	long ms;

	auth_random((uint8_t *)&rnd, sizeof rnd);
	ms = rejoin_next_ms(&d->probe, u->down_since_ms, u->probe_attempt,
	    rackd_now_ms(), rnd);
	if (ms < 0) {
		if (u->probing && d->probe.window_ms > 0) {
			log_info("region URL %s: still not answering after "
			    "%.1f s; fetched with discovery rounds only now",
			    u->maas_url, (double)(rackd_now_ms() -
			    u->down_since_ms) / 1000.0);
			/* Let the owner plan again without this URL (a
			 * round that is running ends with its callback). */
			u->probing = 0;
			if (!d->running)
				discovery_run(d);
		}
		u->probing = 0;
		return;
	}
	if (u->probe_timer == NULL &&
	    (u->probe_timer = evtimer_new(d->base, disc_probe_timer_cb, u)) ==
	    NULL)
		fatalx("discovery: evtimer_new failed");
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(u->probe_timer, &tv);
}

size_t
discovery_probing(const struct discovery *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->nurls; i++)
		if (d->urls[i].probing)
			n++;
	return n;
}

static void
disc_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	disc_round_finish(arg);
}

static void
disc_round_start(struct discovery *d)
{
	struct timeval tv = { 0, 0 };
	struct disc_url *u;
	size_t i;

	d->running = 1;
	d->outstanding = 0;
	for (i = 0; i < d->nurls; i++) {
		u = &d->urls[i];
		discovery_doc_free(u->doc);
		u->doc = NULL;
		free(u->cause);
		u->cause = NULL;
		if (u->rpc_url == NULL) {
			u->cause = xstrdup(u->url_error);
			continue;
		}
		u->req = http_get(d->http, u->rpc_url, u->host, d->timeout_ms,
		    d->max_body, disc_fetch_done, u, &u->cause);
		if (u->req != NULL)
			d->outstanding++;
	}
	/* Nothing in flight: finish from the loop, not from our caller. */
	if (d->outstanding == 0)
		evtimer_add(d->finish_ev, &tv);
}

static char *
disc_read_file(const char *path, size_t max, size_t *lenp, char **cause)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || (size_t)st.st_size > max) {
		xasprintf(cause, "%s: unreadable or larger than %zu bytes",
		    path, max);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Write the saved copy atomically (fileio.h). */
static int
disc_write_file(const char *path, const char *text, char **cause)
{
	return file_write_atomic(path, text, strlen(text), 0640, cause);
}

/* The saved file is the /rpc/ document plus the maas_url that served it. */
static char *
disc_saved_text(const struct disc_doc *doc, const char *maas_url)
{
	json_t *root;
	char *dump, *s, *out;

	dump = discovery_doc_dump(doc);
	root = json_loads(dump, 0, NULL);
	free(dump);
	if (root == NULL)
		return NULL;
	json_object_set_new(root, "maas_url", json_string(maas_url));
	s = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(root);
	if (s == NULL)
		return NULL;
	xasprintf(&out, "%s\n", s);
	free(s);
	return out;
}

static void
disc_save(struct discovery *d, const struct disc_doc *doc,
    const char *maas_url)
{
	char *text, *cause = NULL;
	size_t len;

	if (d->saved_path == NULL)
		return;
	if (!d->saved_loaded) {
		d->saved_dump = disc_read_file(d->saved_path, d->max_body,
		    &len, &cause);
		free(cause);
		cause = NULL;
		d->saved_loaded = 1;
	}
	if ((text = disc_saved_text(doc, maas_url)) == NULL)
		return;
	if (d->saved_dump != NULL && strcmp(d->saved_dump, text) == 0) {
		free(text);
		return;
	}
	if (disc_write_file(d->saved_path, text, &cause) == -1) {
		log_warnx("cannot save event loops: %s", cause);
		free(cause);
		free(text);
		return;
	}
	free(d->saved_dump);
	d->saved_dump = text;
}

/* Load the saved copy; returns the doc and the maas_url it came from. */
static struct disc_doc *
disc_load_saved(struct discovery *d, char **maas_url)
{
	struct disc_doc *doc;
	json_t *root, *v;
	char *text, *cause = NULL;
	size_t len;

	*maas_url = NULL;
	if (d->saved_path == NULL)
		return NULL;
	text = disc_read_file(d->saved_path, d->max_body, &len, &cause);
	if (text == NULL) {
		free(cause);
		return NULL;
	}
	doc = discovery_parse(text, len, &cause);
	if (doc == NULL) {
		if (!d->using_saved)
			log_warnx("ignoring saved event loops: %s: %s",
			    d->saved_path, cause);
		free(cause);
		free(text);
		return NULL;
	}
	root = json_loadb(text, len, 0, NULL);
	v = json_object_get(root, "maas_url");
	if (json_is_string(v))
		*maas_url = xstrdup(json_string_value(v));
	else if (d->nurls > 0)
		*maas_url = xstrdup(d->urls[0].maas_url);
	json_decref(root);
	free(d->saved_dump);
	d->saved_dump = text;
	d->saved_loaded = 1;
	return doc;
}

static void
disc_round_finish(struct discovery *d)
{
	struct disc_url *u, *best = NULL;
	struct disc_doc *doc = NULL;
	char *url = NULL;
	int from_saved = 0;
	size_t i;

	for (i = 0; i < d->nurls; i++) {
		u = &d->urls[i];
		disc_note(u);
		if (u->doc == NULL || u->doc->nloops == 0)
			continue;
		/* Strictly more wins, so ties go to the first URL. */
		if (best == NULL || u->doc->nloops > best->doc->nloops)
			best = u;
	}
	if (best != NULL) {
		/* Take the winner out so a callback reload cannot free it. */
		doc = best->doc;
		best->doc = NULL;
		url = xstrdup(best->maas_url);
		disc_save(d, doc, url);
		if (d->using_saved)
			log_info("region answers again through %s", url);
		d->using_saved = 0;
	} else if ((doc = disc_load_saved(d, &url)) != NULL &&
	    doc->nloops > 0) {
		from_saved = 1;
		if (!d->using_saved)
			log_info("no region URL answers; using saved event "
			    "loops from %s", d->saved_path);
		d->using_saved = 1;
	} else {
		discovery_doc_free(doc);
		doc = NULL;
		free(url);
		url = NULL;
	}
	for (i = 0; i < d->nurls; i++) {
		discovery_doc_free(d->urls[i].doc);
		d->urls[i].doc = NULL;
	}

	d->in_cb = 1;
	d->cb(doc, url, from_saved, d->arg);
	d->in_cb = 0;
	discovery_doc_free(doc);
	free(url);
	d->running = 0;

	if (d->dying) {
		disc_destroy(d);
		return;
	}
	if (d->next != NULL) {
		disc_apply(d, d->next);
		disc_params_free(d->next);
		d->next = NULL;
	}
	if (d->rerun) {
		d->rerun = 0;
		disc_round_start(d);
	}
}

struct discovery *
discovery_new(struct event_base *base, struct http *http,
    const struct discovery_params *p, discovery_cb cb, void *arg)
{
	struct discovery *d = xcalloc(1, sizeof(*d));

	d->base = base;
	d->http = http;
	d->cb = cb;
	d->arg = arg;
	d->finish_ev = evtimer_new(base, disc_finish_cb, d);
	if (d->finish_ev == NULL)
		fatalx("discovery: evtimer_new failed");
	disc_apply(d, p);
	return d;
}

void
discovery_set_params(struct discovery *d, const struct discovery_params *p)
{
	if (d->running) {
		/* Swapping URLs under in-flight fetches: wait for the end. */
		disc_params_free(d->next);
		d->next = disc_params_copy(p);
		return;
	}
	disc_apply(d, p);
}

void
discovery_run(struct discovery *d)
{
	if (d->running) {
		d->rerun = 1;
		return;
	}
	disc_round_start(d);
}

static void
disc_destroy(struct discovery *d)
{
	disc_urls_free(d->http, d->urls, d->nurls);
	disc_params_free(d->next);
	event_free(d->finish_ev);
	free(d->data_dir);
	free(d->saved_path);
	free(d->saved_dump);
	free(d);
}

void
discovery_free(struct discovery *d)
{
	if (d == NULL)
		return;
	if (d->in_cb) {
		d->dying = 1;
		return;
	}
	disc_destroy(d);
}
