/*
 * simplestreams.c — the region's simplestreams documents, parsed and
 * turned into MAAS's maas.meta and a snapshot plan (maas-rack-boot.md
 * §1.2-1.3; MAAS 3.4.0 import_images/download_descriptions.py RepoDumper,
 * download_resources.py RepoWriter).  Pure: no I/O.
 *
 * Field lookups follow simplestreams' flattening: an item inherits the
 * fields of its version and product, the nearer level winning.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "simplestreams.h"
#include "xmalloc.h"

#define SS_MAX_DOC	(64 * 1024 * 1024)

static json_t *
ss_load(const char *buf, size_t len, const char *what, char **cause)
{
	json_error_t err;
	json_t *root;

	if (len > SS_MAX_DOC) {
		xasprintf(cause, "%s: %zu bytes, more than the %d allowed", what,
		    len, SS_MAX_DOC);
		return NULL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		xasprintf(cause, "%s: not JSON: %s (line %d column %d)", what,
		    err.text, err.line, err.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		xasprintf(cause, "%s: not a JSON object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

int
simplestreams_safe_name(const char *s)
{
	if (s == NULL || *s == '\0' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0 || strchr(s, '/') != NULL ||
	    strlen(s) > 200)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
simplestreams_safe_relpath(const char *p)
{
	const char *c, *e;
	char part[256];
	size_t n;

	if (p == NULL || *p == '\0' || *p == '/' || strlen(p) > 1024)
		return 0;
	for (c = p; *c != '\0'; c = *e != '\0' ? e + 1 : e) {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		n = (size_t)(e - c);
		if (n == 0 || n >= sizeof(part))
			return 0;
		memcpy(part, c, n);
		part[n] = '\0';
		if (!simplestreams_safe_name(part))
			return 0;
	}
	return 1;
}

char *
simplestreams_index_products_path(const char *buf, size_t len, char **cause)
{
	json_t *root, *index, *e, *dt, *path;
	const char *key;
	char *out = NULL;

	if ((root = ss_load(buf, len, "index.json", cause)) == NULL)
		return NULL;
	index = json_object_get(root, "index");
	if (!json_is_object(index)) {
		xasprintf(cause, "index.json: no \"index\" object");
		goto out;
	}
	json_object_foreach(index, key, e) {
		if (!json_is_object(e))
			continue;
		dt = json_object_get(e, "datatype");
		path = json_object_get(e, "path");
		if (!json_is_string(dt) ||
		    strcmp(json_string_value(dt), "image-downloads") != 0)
			continue;
		if (!json_is_string(path) ||
		    !simplestreams_safe_relpath(json_string_value(path))) {
			xasprintf(cause, "index.json: entry \"%s\": path missing "
			    "or not a safe relative path", key);
			goto out;
		}
		out = xstrdup(json_string_value(path));
		goto out;
	}
	xasprintf(cause, "index.json: no entry with datatype image-downloads");
out:
	json_decref(root);
	return out;
}

/* Flattened lookup: item, then version, then product. */
static const char *
ss_field(json_t *const *levels, const char *key)
{
	json_t *v;
	int i;

	for (i = 0; i < 3; i++) {
		if (levels[i] == NULL)
			continue;
		v = json_object_get(levels[i], key);
		if (json_is_string(v))
			return json_string_value(v);
	}
	return NULL;
}

static char *
ss_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
ss_product_clear(struct ss_product *p)
{
	size_t i;

	for (i = 0; i < p->nitems; i++) {
		free(p->items[i].name);
		free(p->items[i].ftype);
		free(p->items[i].path);
		free(p->items[i].sha256);
	}
	free(p->items);
	free(p->name);
	free(p->os);
	free(p->arch);
	free(p->subarch);
	free(p->release);
	free(p->label);
	free(p->kflavor);
	free(p->subarches);
	free(p->bootloader_type);
	free(p->version);
	free(p->meta_item);
	memset(p, 0, sizeof(*p));
}

void
simplestreams_catalog_free(struct ss_catalog *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nproducts; i++)
		ss_product_clear(&c->products[i]);
	free(c->products);
	free(c->content_id);
	free(c);
}

static int
ss_sha256_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* MAAS's clean_up_repo_item keys, in a compact item for maas.meta. */
static const char *const ss_meta_keys[] = {
	"content_id", "product_name", "version_name", "path", "subarches",
	"release_codename", "release_title", "support_eol", "kflavor",
	"bootloader-type", "os_title", "gadget_title",
};

static char *
ss_meta_item(json_t *const *levels, const char *content_id,
    const char *product, const char *version)
{
	json_t *o = json_object();
	const char *v;
	char *s;
	size_t i;

	for (i = 0; i < sizeof(ss_meta_keys) / sizeof(ss_meta_keys[0]); i++) {
		if (strcmp(ss_meta_keys[i], "content_id") == 0)
			v = content_id;
		else if (strcmp(ss_meta_keys[i], "product_name") == 0)
			v = product;
		else if (strcmp(ss_meta_keys[i], "version_name") == 0)
			v = version;
		else
			v = ss_field(levels, ss_meta_keys[i]);
		if (v != NULL)
			json_object_set_new(o, ss_meta_keys[i], json_string(v));
	}
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Parse one product's newest version into p.  0, or -1 with *cause. */
static int
ss_parse_product(const char *content_id, const char *name, json_t *prod,
    struct ss_product *p, char **cause)
{
	json_t *versions, *ver, *items, *it, *sz, *levels[3];
	const char *vname, *newest = NULL, *iname, *s;
	size_t n;

	if (!json_is_object(prod)) {
		xasprintf(cause, "product %s: not an object", name);
		return -1;
	}
	versions = json_object_get(prod, "versions");
	if (!json_is_object(versions)) {
		xasprintf(cause, "product %s: no \"versions\" object", name);
		return -1;
	}
	/* Version names sort as dates (20230901, 20230901.1): newest last. */
	json_object_foreach(versions, vname, ver)
		if (newest == NULL || strcmp(vname, newest) > 0)
			newest = vname;
	if (newest == NULL) {
		xasprintf(cause, "product %s: no version", name);
		return -1;
	}
	ver = json_object_get(versions, newest);
	items = json_object_get(ver, "items");
	if (!json_is_object(ver) || !json_is_object(items)) {
		xasprintf(cause, "product %s version %s: no \"items\" object",
		    name, newest);
		return -1;
	}
	levels[0] = NULL;
	levels[1] = ver;
	levels[2] = prod;
	p->name = xstrdup(name);
	p->version = xstrdup(newest);
	p->os = ss_dup(ss_field(levels, "os"));
	p->arch = ss_dup(ss_field(levels, "arch"));
	p->release = ss_dup(ss_field(levels, "release"));
	p->label = ss_dup(ss_field(levels, "label"));
	p->subarch = ss_dup(ss_field(levels, "subarch"));
	p->subarches = ss_dup(ss_field(levels, "subarches"));
	p->bootloader_type = ss_dup(ss_field(levels, "bootloader-type"));
	s = ss_field(levels, "kflavor");
	p->kflavor = xstrdup(p->bootloader_type != NULL ? "bootloader" :
	    s != NULL ? s : "generic");
	if (p->os == NULL || p->arch == NULL || p->label == NULL ||
	    (p->release == NULL && p->bootloader_type == NULL)) {
		xasprintf(cause, "product %s: missing %s", name,
		    p->os == NULL ? "os" : p->arch == NULL ? "arch" :
		    p->label == NULL ? "label" : "release");
		return -1;
	}
	if (!simplestreams_safe_name(p->os) ||
	    !simplestreams_safe_name(p->arch) ||
	    !simplestreams_safe_name(p->label) ||
	    (p->subarch != NULL && !simplestreams_safe_name(p->subarch)) ||
	    (p->release != NULL && !simplestreams_safe_name(p->release)) ||
	    (p->bootloader_type != NULL &&
	    !simplestreams_safe_name(p->bootloader_type))) {
		xasprintf(cause, "product %s: os/arch/subarch/release/label "
		    "not usable as directory names", name);
		return -1;
	}
	p->items = xcalloc(json_object_size(items) + 1, sizeof(*p->items));
	json_object_foreach(items, iname, it) {
		struct ss_item *i = &p->items[p->nitems];

		if (!json_is_object(it)) {
			xasprintf(cause, "product %s item %s: not an object",
			    name, iname);
			return -1;
		}
		levels[0] = it;
		s = ss_field(levels, "path");
		if (s == NULL || !simplestreams_safe_relpath(s)) {
			xasprintf(cause, "product %s item %s: path missing or "
			    "not a safe relative path", name, iname);
			return -1;
		}
		if (!ss_sha256_ok(ss_field(levels, "sha256"))) {
			xasprintf(cause, "product %s item %s: sha256 missing or "
			    "not 64 lower-case hex digits", name, iname);
			return -1;
		}
		sz = json_object_get(it, "size");
		if (!json_is_integer(sz) || json_integer_value(sz) < 0) {
			xasprintf(cause, "product %s item %s: size missing or "
			    "not a non-negative integer", name, iname);
			return -1;
		}
		if (!simplestreams_safe_name(iname)) {
			xasprintf(cause, "product %s item %s: not usable as a "
			    "file name", name, iname);
			return -1;
		}
		i->name = xstrdup(iname);
		s = ss_field(levels, "ftype");
		i->ftype = xstrdup(s != NULL ? s : iname);
		i->path = xstrdup(ss_field(levels, "path"));
		i->sha256 = xstrdup(ss_field(levels, "sha256"));
		i->size = (uint64_t)json_integer_value(sz);
		p->nitems++;
		/* RepoDumper's last insert_item wins the product's own spec. */
		free(p->meta_item);
		p->meta_item = ss_meta_item(levels, content_id, name, newest);
	}
	n = p->nitems;
	if (n == 0 && p->meta_item == NULL) {
		levels[0] = NULL;
		p->meta_item = ss_meta_item(levels, content_id, name, newest);
	}
	return 0;
}

struct ss_catalog *
simplestreams_parse_products(const char *buf, size_t len, char **cause)
{
	struct ss_catalog *c;
	json_t *root, *prods, *prod, *cid;
	const char *name;

	if ((root = ss_load(buf, len, "products document", cause)) == NULL)
		return NULL;
	prods = json_object_get(root, "products");
	if (!json_is_object(prods)) {
		xasprintf(cause, "products document: no \"products\" object");
		json_decref(root);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	cid = json_object_get(root, "content_id");
	c->content_id = xstrdup(json_is_string(cid) ? json_string_value(cid) :
	    "");
	c->products = xcalloc(json_object_size(prods) + 1,
	    sizeof(*c->products));
	json_object_foreach(prods, name, prod) {
		if (ss_parse_product(c->content_id, name, prod,
		    &c->products[c->nproducts], cause) == -1) {
			c->nproducts++;
			simplestreams_catalog_free(c);
			json_decref(root);
			return NULL;
		}
		c->nproducts++;
	}
	json_decref(root);
	return c;
}

static int
ss_match_list(const char *const *list, const char *v)
{
	if (list == NULL || list[0] == NULL)
		return 1;
	for (; *list != NULL; list++)
		if (strcmp(*list, "*") == 0 || (v != NULL && strcmp(*list, v) == 0))
			return 1;
	return 0;
}

static int
ss_match_one(const char *sel, const char *v)
{
	return sel == NULL || strcmp(sel, "*") == 0 ||
	    (v != NULL && strcmp(sel, v) == 0);
}

void
simplestreams_select(struct ss_catalog *c, const struct ss_selection *sel,
    size_t n)
{
	size_t i, j, k = 0;
	int keep;

	if (n == 0)
		return;
	for (i = 0; i < c->nproducts; i++) {
		struct ss_product *p = &c->products[i];

		/* Bootloaders are not selected by the region: always kept. */
		keep = p->bootloader_type != NULL;
		for (j = 0; j < n && !keep; j++)
			keep = ss_match_one(sel[j].os, p->os) &&
			    ss_match_one(sel[j].release, p->release) &&
			    ss_match_list(sel[j].arches, p->arch) &&
			    ss_match_list(sel[j].subarches, p->subarch) &&
			    ss_match_list(sel[j].labels, p->label);
		if (keep)
			c->products[k++] = *p;
		else
			ss_product_clear(p);
	}
	c->nproducts = k;
}

/* --- maas.meta ------------------------------------------------------ */

/* Set (replace) or setdefault a leaf of the 6-level tree. */
static void
ss_meta_put(json_t *root, const char *os, const char *arch,
    const char *subarch, const char *kflavor, const char *release,
    const char *label, const char *item, int replace)
{
	const char *keys[5] = { os, arch, subarch, kflavor, release };
	json_t *o = root, *next, *leaf;
	int i;

	for (i = 0; i < 5; i++) {
		next = json_object_get(o, keys[i]);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(o, keys[i], next);
		}
		o = next;
	}
	if (!replace && json_object_get(o, label) != NULL)
		return;
	leaf = json_loads(item, 0, NULL);
	if (leaf != NULL)
		json_object_set_new(o, label, leaf);
}

static void
ss_py_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	int n, i;

	fputc('"', f);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
			continue;
		}
		if (*p >= 0x20 && *p < 0x7f) {
			fputc(*p++, f);
			continue;
		}
		switch (*p) {
		case '\n': fputs("\\n", f); p++; continue;
		case '\r': fputs("\\r", f); p++; continue;
		case '\t': fputs("\\t", f); p++; continue;
		case '\b': fputs("\\b", f); p++; continue;
		case '\f': fputs("\\f", f); p++; continue;
		}
		/* UTF-8 (jansson validated it) to \uXXXX, as ensure_ascii. */
		if (*p < 0x80) {
			cp = *p;
			n = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 2;
		} else {
			cp = *p & 0x07;
			n = 3;
		}
		p++;
		for (i = 0; i < n && (*p & 0xc0) == 0x80; i++)
			cp = (cp << 6) | (*p++ & 0x3f);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			fprintf(f, "\\u%04x\\u%04x", 0xd800 + (cp >> 10),
			    0xdc00 + (cp & 0x3ff));
		} else
			fprintf(f, "\\u%04x", cp);
	}
	fputc('"', f);
}

static int
ss_keycmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* json.dumps(sort_keys=True) of objects of objects of strings. */
static void
ss_py_dump(FILE *f, json_t *v)
{
	const char **keys;
	const char *k;
	json_t *e;
	size_t n = 0, i;

	if (json_is_string(v)) {
		ss_py_string(f, json_string_value(v));
		return;
	}
	if (!json_is_object(v)) {
		fputs("null", f);
		return;
	}
	keys = xcalloc(json_object_size(v) + 1, sizeof(*keys));
	json_object_foreach(v, k, e)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), ss_keycmp);
	fputc('{', f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", f);
		ss_py_string(f, keys[i]);
		fputs(": ", f);
		ss_py_dump(f, json_object_get(v, keys[i]));
	}
	fputc('}', f);
	free(keys);
}

char *
simplestreams_meta_json(const struct ss_catalog *c)
{
	json_t *root = json_object();
	char *buf = NULL, *sa, *tok, *save, ga[96], hwe[16];
	size_t len = 0, i;
	FILE *f;
	int has_generic;

	for (i = 0; i < c->nproducts; i++) {
		const struct ss_product *p = &c->products[i];
		const char *release = p->bootloader_type != NULL ?
		    p->bootloader_type : p->release;
		const char *subarch = p->subarch != NULL ? p->subarch :
		    "generic";

		if (p->nitems == 0 || p->meta_item == NULL)
			continue;
		has_generic = 0;
		sa = xstrdup(p->subarches != NULL ? p->subarches : "generic");
		for (tok = strtok_r(sa, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			if (strcmp(tok, "generic") == 0)
				has_generic = 1;
			ss_meta_put(root, p->os, p->arch, tok, p->kflavor,
			    release, p->label, p->meta_item, 0);
		}
		free(sa);
		ss_meta_put(root, p->os, p->arch, subarch, p->kflavor, release,
		    p->label, p->meta_item, 1);
		if (strcmp(p->os, "ubuntu") == 0 && has_generic &&
		    p->release != NULL) {
			snprintf(ga, sizeof(ga), "ga-%s", p->release);
			snprintf(hwe, sizeof(hwe), "hwe-%c", p->release[0]);
			if (strcmp(subarch, ga) == 0 || strcmp(subarch, hwe) == 0)
				ss_meta_put(root, p->os, p->arch, "generic",
				    p->kflavor, release, p->label,
				    p->meta_item, 1);
		}
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		json_decref(root);
		return xstrdup("{}");
	}
	ss_py_dump(f, root);
	fclose(f);
	json_decref(root);
	return buf;
}

/* --- snapshot plan -------------------------------------------------- */

static void
ss_plan_add(struct ss_link **v, size_t *n, size_t *cap, char *relpath,
    const struct ss_item *item, int archive)
{
	size_t i;

	/* One link per path: the first product that names it wins. */
	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].relpath, relpath) == 0) {
			free(relpath);
			return;
		}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].relpath = relpath;
	(*v)[*n].item = item;
	(*v)[*n].archive = archive;
	(*n)++;
}

struct ss_link *
simplestreams_plan(const struct ss_catalog *c, size_t *np)
{
	struct ss_link *v = NULL;
	size_t n = 0, cap = 0, i, j;
	char *rel, hwe[16];

	for (i = 0; i < c->nproducts; i++) {
		const struct ss_product *p = &c->products[i];
		const char *subarch = p->subarch != NULL ? p->subarch :
		    "generic";
		int generic_too = 0;

		if (p->bootloader_type == NULL && p->release != NULL) {
			snprintf(hwe, sizeof(hwe), "hwe-%c", p->release[0]);
			generic_too = strcmp(p->kflavor, "generic") == 0 &&
			    (strncmp(subarch, "ga-", 3) == 0 ||
			    strcmp(subarch, hwe) == 0) &&
			    strcmp(subarch, "generic") != 0;
		}
		for (j = 0; j < p->nitems; j++) {
			const struct ss_item *it = &p->items[j];

			if (p->bootloader_type != NULL) {
				xasprintf(&rel, "bootloader/%s/%s",
				    p->bootloader_type, p->arch);
				ss_plan_add(&v, &n, &cap, rel, it,
				    strcmp(it->ftype, "archive.tar.xz") == 0);
				continue;
			}
			xasprintf(&rel, "%s/%s/%s/%s/%s/%s", p->os, p->arch,
			    subarch, p->release, p->label, it->name);
			ss_plan_add(&v, &n, &cap, rel, it, 0);
			if (generic_too) {
				xasprintf(&rel, "%s/%s/generic/%s/%s/%s",
				    p->os, p->arch, p->release, p->label,
				    it->name);
				ss_plan_add(&v, &n, &cap, rel, it, 0);
			}
		}
	}
	*np = n;
	return v;
}

void
simplestreams_plan_free(struct ss_link *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].relpath);
	free(v);
}

/* --- URLs ----------------------------------------------------------- */

/* The path part of an http(s) URL (after scheme://authority), "" if none. */
static const char *
ss_url_path(const char *url)
{
	const char *p = strstr(url, "://");

	p = p != NULL ? p + 3 : url;
	p = strchr(p, '/');
	return p != NULL ? p : "";
}

char *
simplestreams_fix_url(const char *source_url, const char *maas_url)
{
	const char *src = ss_url_path(source_url), *mp = ss_url_path(maas_url);
	char *mpath, *base, *out;
	size_t n;

	while (*src == '/')
		src++;
	while (*mp == '/')
		mp++;
	mpath = xstrdup(mp);
	n = strlen(mpath);
	while (n > 0 && mpath[n - 1] == '/')
		mpath[--n] = '\0';
	if (strncmp(src, mpath, n) == 0)
		src += n;
	while (*src == '/')
		src++;
	base = xstrdup(maas_url);
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	xasprintf(&out, "%s/%s", base, src);
	free(base);
	free(mpath);
	return out;
}

char *
simplestreams_mirror_base(const char *index_url)
{
	const char *s = strstr(index_url, "streams/");
	char *out;

	if (s == NULL) {
		/* Not a standard layout: the directory of the index. */
		s = strrchr(index_url, '/');
		s = s != NULL ? s + 1 : index_url + strlen(index_url);
	}
	out = xmalloc((size_t)(s - index_url) + 1);
	memcpy(out, index_url, (size_t)(s - index_url));
	out[s - index_url] = '\0';
	return out;
}
