/*
 * bootres.c — ListBootImages rows from a boot-resources tree, as MAAS
 * 3.4's rack computes them (provisioningserver/boot/tftppath.py
 * list_boot_images; each OS driver in drivers/osystem/:
 * get_boot_image_purposes and
 * get_xinstall_parameters; spec maas-rack-boot.md §1.6).  Pure over the
 * tree: the caller passes the root.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "amp.h"
#include "bootres.h"
#include "bytes.h"
#include "log.h"
#include "rackd.h"
#include "xmalloc.h"

#define BOOTRES_META_MAX	(16 * 1024 * 1024)	/* maas.meta is KiBs */

/*
 * The root-image file names an OS's xinstall looks for, in MAAS's dict
 * order (OperatingSystem._find_image: squashfs, then tgz, then dd).
 */
struct bootres_ftype {
	const char *fname, *type;
};
static const struct bootres_ftype ft_squashfs[] = {
	{ "squashfs", "squashfs" },
};
static const struct bootres_ftype ft_tgz[] = {
	{ "root-tgz", "tgz" }, { "root-txz", "txz" }, { "root-tbz", "tbz" },
};
static const struct bootres_ftype ft_dd[] = {
	{ "root-dd", "dd-tgz" }, { "root-dd.tar", "dd-tar" },
	{ "root-dd.raw", "dd-raw" }, { "root-dd.bz2", "dd-bz2" },
	{ "root-dd.gz", "dd-gz" }, { "root-dd.xz", "dd-xz" },
	{ "root-dd.tar.bz2", "dd-tbz" }, { "root-dd.tar.xz", "dd-txz" },
};

#define FT_SQUASHFS	0x1
#define FT_TGZ		0x2
#define FT_DD		0x4

/* MAAS's OperatingSystemRegistry (drivers/osystem/__init__.py): an os
 * directory MAAS has no driver for gives no rows. */
struct bootres_os {
	const char	*name;
	const char	*purposes[4];
	int		 ftypes;
	const char	*default_fname;	/* NULL: the first of ftypes */
};
static const struct bootres_os oses[] = {
	{ "ubuntu", { "commissioning", "install", "xinstall", "diskless" },
	  FT_SQUASHFS | FT_TGZ, NULL },
	{ "ubuntu-core", { "xinstall" }, FT_DD, "root-dd.xz" },
	{ "bootloader", { "bootloader" }, 0, NULL },
	{ "centos", { "xinstall" }, FT_TGZ, NULL },
	{ "rhel", { "xinstall" }, FT_TGZ, NULL },
	{ "custom", { "xinstall" }, FT_TGZ | FT_DD, NULL },
	{ "windows", { "xinstall" }, FT_DD, NULL },
	{ "suse", { "xinstall" }, FT_TGZ, NULL },
	{ "caringo", { "ephemeral" }, FT_TGZ, NULL },
	{ "esxi", { "xinstall" }, FT_DD, NULL },
};

static const struct bootres_os *
os_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < RACKD_NELEM(oses); i++)
		if (strcmp(oses[i].name, name) == 0)
			return &oses[i];
	return NULL;
}

bool
bootres_os_has_purpose(const char *osystem, const char *purpose)
{
	const struct bootres_os *os = os_lookup(osystem);
	size_t i;

	for (i = 0; os != NULL && i < RACKD_NELEM(os->purposes) &&
	    os->purposes[i] != NULL; i++)
		if (strcmp(os->purposes[i], purpose) == 0)
			return true;
	return false;
}

/* The os's file types in MAAS's order, into v (room for 12). */
static size_t
os_ftypes(const struct bootres_os *os, const struct bootres_ftype **v)
{
	size_t n = 0, i;

	if (os->ftypes & FT_SQUASHFS)
		for (i = 0; i < RACKD_NELEM(ft_squashfs); i++)
			v[n++] = &ft_squashfs[i];
	if (os->ftypes & FT_TGZ)
		for (i = 0; i < RACKD_NELEM(ft_tgz); i++)
			v[n++] = &ft_tgz[i];
	if (os->ftypes & FT_DD)
		for (i = 0; i < RACKD_NELEM(ft_dd); i++)
			v[n++] = &ft_dd[i];
	return n;
}

/*
 * get_xinstall_parameters: the first entry of dir (readdir order, as
 * os.listdir) that is a known root-image name, else the default.
 */
static void
xinstall_params(const struct bootres_os *os, const char *dir,
    const char **path, const char **type)
{
	const struct bootres_ftype *v[12];
	struct dirent *de;
	size_t n, i;
	DIR *d;

	n = os_ftypes(os, v);
	*path = *type = "";
	if (n == 0)
		return;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			for (i = 0; i < n; i++) {
				if (strcmp(de->d_name, v[i]->fname) == 0) {
					*path = v[i]->fname;
					*type = v[i]->type;
					closedir(d);
					return;
				}
			}
		}
		closedir(d);
	}
	*path = v[0]->fname;
	*type = v[0]->type;
	for (i = 0; os->default_fname != NULL && i < n; i++) {
		if (strcmp(v[i]->fname, os->default_fname) == 0) {
			*path = v[i]->fname;
			*type = v[i]->type;
		}
	}
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Visible sub-directories of dir (symlinks to directories count, as
 * os.path.isdir), sorted.  -1 with errno if dir cannot be read.
 */
static int
list_subdirs(const char *dir, char ***out, size_t *np)
{
	struct dirent *de;
	struct stat st;
	char **v = NULL, *p;
	size_t n = 0;
	DIR *d;

	*out = NULL;
	*np = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&p, "%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n++] = xstrdup(de->d_name);
		}
		free(p);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, name_cmp);
	*out = v;
	*np = n;
	return 0;
}

static void
names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* provisioningserver.utils.dict_depth: the deepest chain of non-empty
 * objects. */
static int
meta_depth(const json_t *j, int depth)
{
	const char *k;
	json_t *v;
	int best = depth, d;

	if (!json_is_object(j) || json_object_size(j) == 0)
		return depth;
	json_object_foreach((json_t *)j, k, v) {
		if ((d = meta_depth(v, depth + 1)) > best)
			best = d;
	}
	return best;
}

/*
 * tftppath.py extract_metadata: maas.meta maps
 * os/arch/subarch/kflavor/release/label to an item whose "subarches" is
 * the supported list; kflavor is the third '-' part of the subarch
 * (hwe-20.04-lowlatency), else "generic".  BootImageMapping.load_json
 * also reads the pre-2.1 layout without kflavor (depth 6, kflavor
 * "generic"); anything else (or invalid JSON) is an empty mapping.
 */
static char *
meta_subarches(const json_t *meta, int depth, const struct bootres_image *im)
{
	const char *dash1, *dash2, *kflavor = "generic", *s;
	char *kf = NULL, *res = NULL;
	const json_t *j;

	if (meta == NULL)
		return NULL;
	if ((dash1 = strchr(im->subarchitecture, '-')) != NULL &&
	    (dash2 = strchr(dash1 + 1, '-')) != NULL) {
		const char *end = strchr(dash2 + 1, '-');

		kf = end == NULL ? xstrdup(dash2 + 1) :
		    xstrndup(dash2 + 1, (size_t)(end - dash2 - 1));
		kflavor = kf;
	}
	j = json_object_get(meta, im->osystem);
	j = json_object_get(j, im->architecture);
	j = json_object_get(j, im->subarchitecture);
	if (depth == 7)
		j = json_object_get(j, kflavor);
	else if (depth != 6 || strcmp(kflavor, "generic") != 0)
		j = NULL;
	j = json_object_get(j, im->release);
	j = json_object_get(j, im->label);
	j = json_object_get(j, "subarches");
	if ((s = json_string_value(j)) != NULL)
		res = xstrdup(s);
	free(kf);
	return res;
}

static json_t *
meta_load(const char *root)
{
	json_error_t err;
	json_t *j;
	char *p;

	xasprintf(&p, "%s/maas.meta", root);
	j = json_load_file(p, 0, &err);
	if (j == NULL && access(p, F_OK) == 0)
		log_warnx("bootres: %s:%d: %s; images listed without their "
		    "supported subarchitectures", p, err.line, err.text);
	free(p);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static void
add_rows(struct bootres_list *out, const json_t *meta, int depth,
    const char *osname, const char *arch, const char *subarch,
    const char *release, const char *label, const char *dir)
{
	const struct bootres_os *os = os_lookup(osname);
	const char *xpath, *xtype;
	size_t i;

	if (os == NULL)
		return;
	for (i = 0; i < RACKD_NELEM(os->purposes) && os->purposes[i]; i++) {
		struct bootres_image *im;

		out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
		im = &out->v[out->n++];
		im->osystem = xstrdup(osname);
		im->architecture = xstrdup(arch);
		im->subarchitecture = xstrdup(subarch);
		im->release = xstrdup(release);
		im->label = xstrdup(label);
		im->purpose = xstrdup(os->purposes[i]);
		if (strcmp(os->purposes[i], "xinstall") == 0 ||
		    strcmp(os->purposes[i], "ephemeral") == 0)
			xinstall_params(os, dir, &xpath, &xtype);
		else
			xpath = xtype = "";
		im->xinstall_path = xstrdup(xpath);
		im->xinstall_type = xstrdup(xtype);
		im->supported_subarches = meta_subarches(meta, depth, im);
	}
}

/* The path elements below root, joined; depth 1..5. */
struct walk {
	const char		*root;
	const json_t		*meta;
	int			 meta_depth;	/* dict_depth(meta) */
	struct bootres_list	*out;
	const char		*el[5];
};

static char *
walk_path(const struct walk *w, int depth)
{
	char *p = xstrdup(w->root), *q;
	int i;

	for (i = 0; i < depth; i++) {
		xasprintf(&q, "%s/%s", p, w->el[i]);
		free(p);
		p = q;
	}
	return p;
}

/* Drill down to depth 5 (os/arch/subarch/release/label). */
static void
walk_images(struct walk *w, int depth)
{
	char **names, *dir;
	size_t n, i;

	dir = walk_path(w, depth);
	if (depth == 5) {
		/* A 5-level chain under bootloader/ would make MAAS raise
		 * (it unpacks bootloader paths as 3 elements): skip it. */
		if (strcmp(w->el[0], "bootloader") != 0)
			add_rows(w->out, w->meta, w->meta_depth, w->el[0], w->el[1],
			    w->el[2], w->el[3], w->el[4], dir);
		free(dir);
		return;
	}
	if (list_subdirs(dir, &names, &n) == 0) {
		for (i = 0; i < n; i++) {
			w->el[depth] = names[i];
			walk_images(w, depth + 1);
		}
		names_free(names, n);
	}
	free(dir);
}

/* bootloader/<type>/<arch>: os bootloader, release = type, subarch
 * generic, label "*". */
static void
walk_bootloaders(struct walk *w)
{
	char **types, **arches, *dir;
	size_t nt, na, i, j;

	xasprintf(&dir, "%s/bootloader", w->root);
	if (list_subdirs(dir, &types, &nt) == -1) {
		free(dir);
		return;
	}
	for (i = 0; i < nt; i++) {
		char *tdir;

		xasprintf(&tdir, "%s/%s", dir, types[i]);
		if (list_subdirs(tdir, &arches, &na) == 0) {
			for (j = 0; j < na; j++) {
				char *adir;

				xasprintf(&adir, "%s/%s", tdir, arches[j]);
				add_rows(w->out, w->meta, w->meta_depth, "bootloader",
				    arches[j], "generic", types[i], "*", adir);
				free(adir);
			}
			names_free(arches, na);
		}
		free(tdir);
	}
	names_free(types, nt);
	free(dir);
}

int
bootres_scan(const char *root, struct bootres_list *out, char **cause)
{
	struct walk w;
	char **top;
	size_t ntop, i;
	int has_bootloader = 0;

	out->v = NULL;
	out->n = 0;
	if (list_subdirs(root, &top, &ntop) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;	/* MAAS: no images imported yet */
		xasprintf(cause, "cannot read boot resources %s: %s", root,
		    strerror(errno));
		return -1;
	}
	memset(&w, 0, sizeof w);
	w.root = root;
	w.out = out;
	w.meta = meta_load(root);
	w.meta_depth = meta_depth(w.meta, 0);
	for (i = 0; i < ntop; i++) {
		w.el[0] = top[i];
		walk_images(&w, 1);
		if (strcmp(top[i], "bootloader") == 0)
			has_bootloader = 1;
	}
	if (has_bootloader)
		walk_bootloaders(&w);
	names_free(top, ntop);
	json_decref((json_t *)w.meta);
	return 0;
}

static void
image_free(struct bootres_image *im)
{
	free(im->osystem);
	free(im->architecture);
	free(im->subarchitecture);
	free(im->release);
	free(im->label);
	free(im->purpose);
	free(im->xinstall_type);
	free(im->xinstall_path);
	free(im->supported_subarches);
}

void
bootres_list_free(struct bootres_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		image_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

void
bootres_list_copy(struct bootres_list *dst, const struct bootres_list *src)
{
	size_t i;

	dst->n = src->n;
	dst->v = src->n == 0 ? NULL : xcalloc(src->n, sizeof *dst->v);
	for (i = 0; i < src->n; i++) {
		const struct bootres_image *s = &src->v[i];
		struct bootres_image *d = &dst->v[i];

		d->osystem = xstrdup(s->osystem);
		d->architecture = xstrdup(s->architecture);
		d->subarchitecture = xstrdup(s->subarchitecture);
		d->release = xstrdup(s->release);
		d->label = xstrdup(s->label);
		d->purpose = xstrdup(s->purpose);
		d->xinstall_type = xstrdup(s->xinstall_type);
		d->xinstall_path = xstrdup(s->xinstall_path);
		d->supported_subarches = dup_or_null(s->supported_subarches);
	}
}

size_t
bootres_count_purpose(const struct bootres_list *l, const char *purpose)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].purpose, purpose) == 0)
			n++;
	return n;
}

/* Is s one element of the comma list? (Python: s in list.split(",")) */
static int
in_comma_list(const char *list, const char *s)
{
	size_t len = strlen(s);
	const char *p = list, *comma;

	for (;;) {
		comma = strchr(p, ',');
		if ((comma == NULL ? strlen(p) : (size_t)(comma - p)) == len &&
		    strncmp(p, s, len) == 0)
			return 1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

const struct bootres_image *
bootres_find(const struct bootres_list *l, const char *osystem,
    const char *arch, const char *subarch, const char *release,
    const char *purpose)
{
	size_t i;
	int pass;

	if (strcmp(purpose, "enlist") == 0)
		purpose = "commissioning";
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < l->n; i++) {
			const struct bootres_image *im = &l->v[i];

			if (strcmp(im->osystem, osystem) != 0 ||
			    strcmp(im->release, release) != 0 ||
			    strcmp(im->architecture, arch) != 0 ||
			    strcmp(im->purpose, purpose) != 0)
				continue;
			if (pass == 0 &&
			    strcmp(im->subarchitecture, subarch) == 0)
				return im;
			/* MAAS splits "" into [""], so an empty subarch
			 * matches a row without supported_subarches. */
			if (pass == 1 && in_comma_list(im->supported_subarches
			    == NULL ? "" : im->supported_subarches, subarch))
				return im;
		}
	}
	return NULL;
}

int
bootres_encode_answer(const struct bootres_list *l, struct amp_box *ans,
    char **cause)
{
	struct amp_box **rows;
	struct bytes b;
	size_t i;
	int r;

	rows = l->n == 0 ? NULL : xcalloc(l->n, sizeof *rows);
	for (i = 0; i < l->n; i++) {
		const struct bootres_image *im = &l->v[i];

		rows[i] = amp_box_new();
		amp_box_put_str(rows[i], "osystem", im->osystem);
		amp_box_put_str(rows[i], "architecture", im->architecture);
		amp_box_put_str(rows[i], "subarchitecture",
		    im->subarchitecture);
		amp_box_put_str(rows[i], "release", im->release);
		amp_box_put_str(rows[i], "label", im->label);
		amp_box_put_str(rows[i], "purpose", im->purpose);
		amp_box_put_str(rows[i], "xinstall_type", im->xinstall_type);
		amp_box_put_str(rows[i], "xinstall_path", im->xinstall_path);
	}
	bytes_init(&b);
	r = amp_clist_encode(rows, l->n, &b, cause);
	if (r == 0)
		amp_box_put(ans, "images", b.data, b.len);
	bytes_free(&b);
	for (i = 0; i < l->n; i++)
		amp_box_free(rows[i]);
	free(rows);
	return r;
}
