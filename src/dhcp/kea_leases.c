/*
 * kea_leases.c — Kea 2.2 memfile lease files: parse, plan what to carry
 * into another instance, render.  Pure; see kea_leases.h for the design.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kea_leases.h"
#include "xmalloc.h"

/* What kea-dhcp4/kea-dhcp6 2.2.0 write as the first line of a new file. */
static const char HEADER4[] = "address,hwaddr,client_id,valid_lifetime,"
    "expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context";
static const char HEADER6[] = "address,duid,valid_lifetime,expire,"
    "subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,"
    "hostname,hwaddr,state,user_context,hwtype,hwaddr_source";

const char *
kea_leases_header(int family)
{
	return family == 6 ? HEADER6 : HEADER4;
}

/* --- parsing ------------------------------------------------------------ */

/* Split one line (no newline) on commas: Kea escapes commas in values as
 * "&#x2c", so a plain split is exact.  *n set; caller frees the vector
 * and its strings. */
static char **
split_csv(const char *line, size_t len, size_t *n)
{
	char **v = NULL;
	size_t k = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != ',')
			continue;
		v = xreallocarray(v, k + 1, sizeof *v);
		v[k++] = xstrndup(line + start, i - start);
		start = i + 1;
	}
	*n = k;
	return v;
}

static int
col_index(char *const *cols, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cols[i], name) == 0)
			return (int)i;
	return -1;
}

static void
warn(struct kea_lease_file *f, const char *label, size_t lineno,
    const char *what, const char *value)
{
	char *w;

	xasprintf(&w, "%s line %zu: %s%s%.40s%s", label, lineno, what,
	    value != NULL ? " '" : "", value != NULL ? value : "",
	    value != NULL ? "'" : "");
	f->warnings = xreallocarray(f->warnings, f->nwarnings + 1,
	    sizeof *f->warnings);
	f->warnings[f->nwarnings++] = w;
}

static int
parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parse fields (in the file's order) into a row in f's column order. */
static int
parse_row(struct kea_lease_file *f, const int *map, char **fv, size_t nf,
    const char *label, size_t lineno, struct kea_lease_row *r)
{
	unsigned long long v;
	const char *s;
	size_t i;

	memset(r, 0, sizeof *r);
	s = fv[map[f->c_addr]];
	if (inet_pton(f->family == 4 ? AF_INET : AF_INET6, s, r->addr) != 1) {
		warn(f, label, lineno, f->family == 4 ? "address: not an IPv4 "
		    "address" : "address: not an IPv6 address", s);
		return -1;
	}
	s = fv[map[f->c_valid]];
	if (parse_u64(s, UINT32_MAX, &v) == -1) {
		warn(f, label, lineno, "valid_lifetime: not a number", s);
		return -1;
	}
	r->valid_lft = (uint32_t)v;
	s = fv[map[f->c_expire]];
	if (parse_u64(s, INT64_MAX, &v) == -1) {
		warn(f, label, lineno, "expire: not a number", s);
		return -1;
	}
	r->expire = (int64_t)v;
	s = fv[map[f->c_subnet]];
	if (parse_u64(s, UINT32_MAX, &v) == -1) {
		warn(f, label, lineno, "subnet_id: not a number", s);
		return -1;
	}
	r->subnet_id = (uint32_t)v;
	if (f->c_state >= 0 && map[f->c_state] >= 0 &&
	    *(s = fv[map[f->c_state]]) != '\0') {
		if (parse_u64(s, 1000, &v) == -1) {
			warn(f, label, lineno, "state: not a number", s);
			return -1;
		}
		r->state = (int)v;
	}
	if (f->c_type >= 0 && map[f->c_type] >= 0 &&
	    *(s = fv[map[f->c_type]]) != '\0') {
		if (parse_u64(s, 2, &v) == -1) {
			warn(f, label, lineno, "lease_type: not 0, 1 or 2", s);
			return -1;
		}
		r->type = (int)v;
	}
	r->fields = xcalloc(f->ncols, sizeof *r->fields);
	for (i = 0; i < f->ncols; i++)
		r->fields[i] = xstrdup(map[i] >= 0 && (size_t)map[i] < nf ?
		    fv[map[i]] : "");
	return 0;
}

int
kea_leases_parse(struct kea_lease_file *f, int family, const char *text,
    size_t len, const char *label, char **cause)
{
	const char *p = text, *end = text + len, *nl;
	char **hdr, **fv;
	size_t nh, nf, i, lineno = 1, ll;
	int *map = NULL;

	if (len == 0)
		return 0;
	nl = memchr(p, '\n', len);
	ll = nl != NULL ? (size_t)(nl - p) : len;
	if (ll > 0 && p[ll - 1] == '\r')
		ll--;
	hdr = split_csv(p, ll, &nh);
	if (col_index(hdr, nh, "address") != 0 ||
	    col_index(hdr, nh, "valid_lifetime") < 0 ||
	    col_index(hdr, nh, "expire") < 0 ||
	    col_index(hdr, nh, "subnet_id") < 0 ||
	    (family == 6 && col_index(hdr, nh, "duid") < 0) ||
	    (family == 4 && (col_index(hdr, nh, "hwaddr") < 0 ||
	    col_index(hdr, nh, "duid") >= 0))) {
		xasprintf(cause, "%s: not a Kea DHCPv%d lease file (header "
		    "'%.*s': address first, then valid_lifetime, expire, "
		    "subnet_id and %s)", label, family, (int)(ll < 60 ? ll : 60),
		    p, family == 4 ? "hwaddr without duid" : "duid");
		xstrv_free_n(hdr, nh);
		return -1;
	}
	if (f->ncols == 0) {
		f->family = family;
		f->cols = hdr;
		f->ncols = nh;
		hdr = NULL;
		f->c_addr = col_index(f->cols, f->ncols, "address");
		f->c_valid = col_index(f->cols, f->ncols, "valid_lifetime");
		f->c_expire = col_index(f->cols, f->ncols, "expire");
		f->c_subnet = col_index(f->cols, f->ncols, "subnet_id");
		f->c_state = col_index(f->cols, f->ncols, "state");
		f->c_type = col_index(f->cols, f->ncols, "lease_type");
		map = xcalloc(f->ncols, sizeof *map);
		for (i = 0; i < f->ncols; i++)
			map[i] = (int)i;
		nh = f->ncols;
	} else {
		/* A later file: its columns onto the first file's by name. */
		map = xcalloc(f->ncols, sizeof *map);
		for (i = 0; i < f->ncols; i++)
			map[i] = col_index(hdr, nh, f->cols[i]);
		if (map[f->c_addr] < 0 || map[f->c_valid] < 0 ||
		    map[f->c_expire] < 0 || map[f->c_subnet] < 0) {
			xasprintf(cause, "%s: header lacks a column the "
			    "earlier file had", label);
			xstrv_free_n(hdr, nh);
			free(map);
			return -1;
		}
	}
	p = nl != NULL ? nl + 1 : end;
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			/* Kea writes whole lines: a last line without its
			 * newline is a write cut short (Kea skips it too). */
			warn(f, label, lineno, "incomplete last line", NULL);
			break;
		}
		ll = (size_t)(nl - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			p = nl + 1;
			continue;
		}
		fv = split_csv(p, ll, &nf);
		if (nf != nh) {
			char n[32];

			snprintf(n, sizeof n, "%zu", nf);
			warn(f, label, lineno, "wrong number of fields, "
			    "expected the header's", n);
		} else {
			if (f->nrows == f->cap) {
				f->cap = f->cap == 0 ? 64 : f->cap * 2;
				f->rows = xreallocarray(f->rows, f->cap,
				    sizeof *f->rows);
			}
			if (parse_row(f, map, fv, nf, label, lineno,
			    &f->rows[f->nrows]) == 0)
				f->nrows++;
		}
		xstrv_free_n(fv, nf);
		p = nl + 1;
	}
	xstrv_free_n(hdr, nh);
	free(map);
	return 0;
}

void
kea_leases_free(struct kea_lease_file *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nrows; i++)
		xstrv_free_n(f->rows[i].fields, f->ncols);
	free(f->rows);
	xstrv_free_n(f->cols, f->ncols);
	xstrv_free_n(f->warnings, f->nwarnings);
	memset(f, 0, sizeof *f);
}

/* --- subnets ----------------------------------------------------------- */

static int
subnet_add(const json_t *sn, int family, struct kea_subnet **out, size_t *n,
    char **cause)
{
	const char *cidr = json_string_value(json_object_get(sn, "subnet"));
	json_int_t id = json_integer_value(json_object_get(sn, "id"));
	struct kea_subnet s;
	const char *slash;
	char net[64], *end;
	long plen;

	memset(&s, 0, sizeof s);
	if (cidr == NULL || (slash = strchr(cidr, '/')) == NULL ||
	    (size_t)(slash - cidr) >= sizeof net || strlen(cidr) >= sizeof s.cidr) {
		xasprintf(cause, "subnet%d entry without a usable \"subnet\"",
		    family);
		return -1;
	}
	memcpy(net, cidr, (size_t)(slash - cidr));
	net[slash - cidr] = '\0';
	plen = strtol(slash + 1, &end, 10);
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, net, s.net) != 1 ||
	    *end != '\0' || plen < 0 || plen > (family == 4 ? 32 : 128) ||
	    id <= 0 || id > UINT32_MAX) {
		xasprintf(cause, "subnet%d entry '%s' (id %lld) is not a CIDR "
		    "with an id", family, cidr, (long long)id);
		return -1;
	}
	snprintf(s.cidr, sizeof s.cidr, "%s", cidr);
	s.plen = (int)plen;
	s.id = (uint32_t)id;
	*out = xreallocarray(*out, *n + 1, sizeof **out);
	(*out)[(*n)++] = s;
	return 0;
}

int
kea_config_subnets(const json_t *config, int family, struct kea_subnet **out,
    size_t *n, char **cause)
{
	const json_t *root, *sns, *sn, *nets, *net;
	const char *key = family == 4 ? "subnet4" : "subnet6";
	size_t i, j;

	*out = NULL;
	*n = 0;
	root = json_object_get(config, family == 4 ? "Dhcp4" : "Dhcp6");
	if (root == NULL)
		return 0;
	sns = json_object_get(root, key);
	json_array_foreach(sns, i, sn)
		if (subnet_add(sn, family, out, n, cause) == -1)
			goto fail;
	nets = json_object_get(root, "shared-networks");
	json_array_foreach(nets, j, net) {
		sns = json_object_get(net, key);
		json_array_foreach(sns, i, sn)
			if (subnet_add(sn, family, out, n, cause) == -1)
				goto fail;
	}
	return 0;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

bool
kea_subnet_contains(const struct kea_subnet *s, int family,
    const uint8_t *addr)
{
	int i, bits, plen = s->plen, len = family == 4 ? 4 : 16;

	for (i = 0; i < len && plen > 0; i++, plen -= 8) {
		bits = plen >= 8 ? 8 : plen;
		if (((addr[i] ^ s->net[i]) & (uint8_t)(0xff << (8 - bits))) != 0)
			return false;
	}
	return true;
}

/* --- the carry plan ----------------------------------------------------- */

struct cand {
	uint8_t		 key[17];	/* address, then v6 lease type */
	int64_t		 cltt;
	size_t		 src;		/* source index; SIZE_MAX: target */
	size_t		 row;
	size_t		 subnet;
};

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof x->key);

	if (c != 0)
		return c;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static void
make_key(const struct kea_lease_row *r, uint8_t key[17])
{
	memcpy(key, r->addr, 16);
	key[16] = (uint8_t)r->type;
}

static int64_t
row_cltt(const struct kea_lease_row *r)
{
	return r->expire - (int64_t)r->valid_lft;
}

struct outbuf {
	char	*p;
	size_t	 len, cap;
};

static void
out_add(struct outbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
count_add(struct kea_carry *c, const char *source, const char *cidr)
{
	size_t i;

	for (i = 0; i < c->ncounts; i++)
		if (c->counts[i].source == source && c->counts[i].cidr == cidr) {
			c->counts[i].n++;
			return;
		}
	c->counts = xreallocarray(c->counts, c->ncounts + 1,
	    sizeof *c->counts);
	c->counts[c->ncounts].source = source;
	c->counts[c->ncounts].cidr = cidr;
	c->counts[c->ncounts++].n = 1;
}

void
kea_carry_plan(const struct kea_lease_file *target,
    const struct kea_lease_file *const *sources, const char *const *names,
    size_t nsources, const struct kea_subnet *subs, size_t nsubs,
    int64_t now, struct kea_carry *out)
{
	struct cand *cv = NULL, *tv = NULL, *best, *t;
	size_t nc = 0, ntv = 0, s, i, j, k, lo, hi, mid, nout;
	const struct kea_lease_file *f;
	const struct kea_lease_row *r;
	char **outcols = NULL, *hdr = NULL;
	int family = 0, **maps = NULL, c;
	struct outbuf b = { NULL, 0, 0 };

	memset(out, 0, sizeof *out);
	for (s = 0; s < nsources; s++)
		if (sources[s]->ncols > 0)
			family = sources[s]->family;
	if (family == 0 || nsubs == 0)
		return;
	/* Candidates: every source row inside one of the new subnets. */
	for (s = 0; s < nsources; s++) {
		f = sources[s];
		for (i = 0; i < f->nrows; i++) {
			r = &f->rows[i];
			if (r->type == 2)
				continue;
			for (k = 0; k < nsubs; k++)
				if (kea_subnet_contains(&subs[k], family,
				    r->addr))
					break;
			if (k == nsubs)
				continue;
			cv = xreallocarray(cv, nc + 1, sizeof *cv);
			make_key(r, cv[nc].key);
			cv[nc].cltt = row_cltt(r);
			cv[nc].src = s;
			cv[nc].row = i;
			cv[nc++].subnet = k;
		}
	}
	if (nc == 0)
		return;
	qsort(cv, nc, sizeof *cv, cand_cmp);
	/* The target's own newest row per address (last row wins). */
	if (target != NULL && target->nrows > 0) {
		tv = xreallocarray(NULL, target->nrows, sizeof *tv);
		for (i = 0; i < target->nrows; i++) {
			make_key(&target->rows[i], tv[i].key);
			tv[i].cltt = row_cltt(&target->rows[i]);
			tv[i].src = 0;
			tv[i].row = i;
		}
		qsort(tv, target->nrows, sizeof *tv, cand_cmp);
		for (i = j = 0; i < target->nrows; i++) {
			if (j > 0 && memcmp(tv[j - 1].key, tv[i].key, 17) == 0)
				tv[j - 1] = tv[i];	/* a later row */
			else
				tv[j++] = tv[i];
		}
		ntv = j;
	}
	/* Output columns: the target's header, else Kea's default. */
	if (target != NULL && target->ncols > 0) {
		outcols = target->cols;
		nout = target->ncols;
	} else {
		hdr = xstrdup(kea_leases_header(family));
		outcols = split_csv(hdr, strlen(hdr), &nout);
	}
	maps = xcalloc(nsources, sizeof *maps);
	for (s = 0; s < nsources; s++) {
		maps[s] = xcalloc(nout, sizeof **maps);
		for (k = 0; k < nout; k++)
			maps[s][k] = col_index(sources[s]->cols,
			    sources[s]->ncols, outcols[k]);
	}
	for (i = 0; i < nc; i = j) {
		/* Per source the last row; across sources the newest cltt
		 * (a tie goes to the later source). */
		best = NULL;
		for (j = i; j < nc && memcmp(cv[j].key, cv[i].key, 17) == 0;
		    j++) {
			if (j + 1 < nc && cv[j + 1].src == cv[j].src &&
			    memcmp(cv[j + 1].key, cv[j].key, 17) == 0)
				continue;	/* not this source's last row */
			if (best == NULL || cv[j].cltt >= best->cltt)
				best = &cv[j];
		}
		r = &sources[best->src]->rows[best->row];
		if (r->valid_lft == 0 || r->expire <= now || r->state == 2)
			continue;	/* released, expired or reclaimed */
		/* Binary search the target's view. */
		t = NULL;
		lo = 0;
		hi = ntv;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			c = memcmp(tv[mid].key, best->key, 17);
			if (c == 0) {
				t = &tv[mid];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (t != NULL && t->cltt >= best->cltt)
			continue;	/* the target knows as much or more */
		for (k = 0; k < nout; k++) {
			char id[16];
			const char *v;

			if (strcmp(outcols[k], "subnet_id") == 0) {
				snprintf(id, sizeof id, "%u",
				    subs[best->subnet].id);
				v = id;
			} else
				v = maps[best->src][k] >= 0 ?
				    r->fields[maps[best->src][k]] : "";
			if (k > 0)
				out_add(&b, ",", 1);
			out_add(&b, v, strlen(v));
		}
		out_add(&b, "\n", 1);
		out->addrs = xreallocarray(out->addrs, out->n + 1,
		    sizeof *out->addrs);
		memcpy(out->addrs[out->n++], r->addr, 16);
		count_add(out, names[best->src], subs[best->subnet].cidr);
	}
	out->text = b.p;
	out->len = b.len;
	for (s = 0; s < nsources; s++)
		free(maps[s]);
	free(maps);
	if (hdr != NULL) {
		xstrv_free_n(outcols, nout);
		free(hdr);
	}
	free(cv);
	free(tv);
}

void
kea_carry_free(struct kea_carry *c)
{
	if (c == NULL)
		return;
	free(c->text);
	free(c->addrs);
	free(c->counts);
	memset(c, 0, sizeof *c);
}
