/*
 * kea_carry.c — reading, seeding and retiring Kea lease files for the
 * lease carry (kea_carry.h); the decisions are kea_leases.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "kea_carry.h"
#include "kea_leases.h"
#include "xmalloc.h"

/* Kea's load order for one memfile (Memfile_LeaseMgr::loadLeasesFromFiles):
 * the finished LFC output if any, else the two LFC inputs, then the file. */
static const char *const LOAD_ORDER[] = { ".completed", ".2", ".1", "" };

/* Read a whole file: 0 with *text (NUL-terminated, caller frees), 1 when
 * it does not exist, -1 with *cause. */
static int
read_whole(const char *path, char **text, size_t *len, char **cause)
{
	FILE *fp;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	*text = NULL;
	*len = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 1;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - n < 65536) {
			cap = cap == 0 ? 65536 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		xasprintf(cause, "%s: read error", path);
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/*
 * Load one instance's lease state as Kea would (.completed, or .2 and .1,
 * then the file).  0, or -1 with *cause when a file exists but cannot be
 * read or its header is not a lease file's.  Row problems go to
 * f->warnings.
 */
static int
load_instance(const char *base, int family, struct kea_lease_file *f,
    char **cause)
{
	char *path, *text, *label;
	size_t len, i;
	int rc, have_completed = 0;

	for (i = 0; i < sizeof LOAD_ORDER / sizeof LOAD_ORDER[0]; i++) {
		if (have_completed && (strcmp(LOAD_ORDER[i], ".2") == 0 ||
		    strcmp(LOAD_ORDER[i], ".1") == 0))
			continue;
		xasprintf(&path, "%s%s", base, LOAD_ORDER[i]);
		rc = read_whole(path, &text, &len, cause);
		if (rc == 0 && i == 0)
			have_completed = 1;
		if (rc == 0) {
			label = strrchr(path, '/') != NULL ?
			    strrchr(path, '/') + 1 : path;
			rc = kea_leases_parse(f, family, text, len, label,
			    cause);
			free(text);
		}
		free(path);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Is name (a directory entry) a lease file of family, main or LFC
 * leftover?  Then *inst is the instance name (caller frees). */
static int
lease_file_instance(const char *name, int family, char **inst)
{
	const char *p, *dot;
	size_t i, nlen;

	if (strncmp(name, "kea", 3) != 0 || name[3] != '0' + family ||
	    name[4] != '-')
		return 0;
	p = name + 5;
	if ((dot = strstr(p, ".leases")) == NULL || dot == p)
		return 0;
	nlen = (size_t)(dot - p);
	for (i = 0; i < sizeof LOAD_ORDER / sizeof LOAD_ORDER[0]; i++) {
		if (strcmp(dot + 7, LOAD_ORDER[i]) == 0) {
			*inst = xstrndup(p, nlen);
			return 1;
		}
	}
	return 0;			/* .retired, .output, .pid, ... */
}

/* The instance names of family with lease files in dir (each once). */
static void
list_instances(const char *dir, int family, char ***names, size_t *n)
{
	struct dirent *de;
	DIR *dp;
	char *inst;
	size_t i;

	*names = NULL;
	*n = 0;
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (!lease_file_instance(de->d_name, family, &inst))
			continue;
		for (i = 0; i < *n; i++)
			if (strcmp((*names)[i], inst) == 0)
				break;
		if (i < *n)
			free(inst);
		else
			xstrv_push(names, n, inst);
	}
	closedir(dp);
}

/* The subnets of new_config that old_config lacks (by CIDR). */
static int
new_subnets(const json_t *old_config, const json_t *new_config, int family,
    struct kea_subnet **out, size_t *n, char **cause)
{
	struct kea_subnet *olds = NULL, *news = NULL;
	size_t no = 0, nn = 0, i, j, k = 0;
	char *ignored = NULL;

	if (kea_config_subnets(new_config, family, &news, &nn, cause) == -1)
		return -1;
	/* An unreadable old document counts as none: carrying then only
	 * adds what the target does not already know. */
	if (old_config != NULL &&
	    kea_config_subnets(old_config, family, &olds, &no, &ignored) == -1)
		free(ignored);
	for (i = 0; i < nn; i++) {
		for (j = 0; j < no; j++)
			if (strcmp(news[i].cidr, olds[j].cidr) == 0)
				break;
		if (j == no)
			news[k++] = news[i];
	}
	free(olds);
	*out = news;
	*n = k;
	return 0;
}

bool
kea_config_loses_subnets(const json_t *old_config, const json_t *new_config,
    int family)
{
	struct kea_subnet *gone = NULL;
	size_t n = 0;
	char *cause = NULL;
	bool loses;

	if (old_config == NULL)
		return false;
	/* What old has and new lacks is what new_subnets() finds with the
	 * two swapped. */
	if (new_subnets(new_config, old_config, family, &gone, &n,
	    &cause) == -1) {
		free(cause);
		return false;
	}
	loses = n > 0;
	free(gone);
	return loses;
}

int
kea_carry_seed(const char *dir, int family, const char *target,
    const char *lease_path, const json_t *old_config,
    const json_t *new_config, int64_t now, int flags, struct kea_seed *out,
    char **cause)
{
	struct kea_subnet *subs = NULL;
	struct kea_lease_file tgt, *srcs = NULL;
	const struct kea_lease_file **sp = NULL;
	const char **snames = NULL;
	struct kea_carry carry;
	char **names = NULL, *base, *text = NULL, *buf, *line, *err = NULL;
	const char *hdr;
	size_t nsubs = 0, nnames = 0, nsrc = 0, i, j, len = 0, blen;
	int rc = -1, r;

	memset(out, 0, sizeof *out);
	memset(&tgt, 0, sizeof tgt);
	memset(&carry, 0, sizeof carry);
	if (new_subnets(old_config, new_config, family, &subs, &nsubs,
	    cause) == -1)
		return -1;
	if (nsubs == 0) {
		free(subs);
		return 0;
	}
	out->subnet_ids = xcalloc(nsubs, sizeof *out->subnet_ids);
	for (i = 0; i < nsubs; i++)
		out->subnet_ids[i] = subs[i].id;
	out->nsubnet_ids = nsubs;

	/* The target's own state: the carry adds only what is newer. */
	if (load_instance(lease_path, family, &tgt, cause) == -1)
		goto done;
	for (i = 0; i < tgt.nwarnings; i++)
		xstrv_push(&out->warnings, &out->nwarnings,
		    xstrdup(tgt.warnings[i]));

	list_instances(dir, family, &names, &nnames);
	srcs = xcalloc(nnames + 1, sizeof *srcs);
	sp = xcalloc(nnames + 1, sizeof *sp);
	snames = xcalloc(nnames + 1, sizeof *snames);
	for (i = 0; i < nnames; i++) {
		if (strcmp(names[i], target) == 0)
			continue;
		xasprintf(&base, "%s/kea%d-%s.leases", dir, family, names[i]);
		r = load_instance(base, family, &srcs[nsrc], &err);
		free(base);
		if (r == -1) {
			xstrv_push(&out->warnings, &out->nwarnings, err);
			err = NULL;
			kea_leases_free(&srcs[nsrc]);
			continue;
		}
		for (j = 0; j < srcs[nsrc].nwarnings; j++)
			xstrv_push(&out->warnings, &out->nwarnings,
			    xstrdup(srcs[nsrc].warnings[j]));
		snames[nsrc] = names[i];
		sp[nsrc] = &srcs[nsrc];
		nsrc++;
	}
	kea_carry_plan(&tgt, sp, snames, nsrc, subs,
	    nsubs, now, &carry);
	if (carry.n == 0 || (flags & KEA_SEED_DRY_RUN)) {
		out->n = carry.n;
		rc = 0;
		goto done;
	}

	/* The new file: the old text (whole lines), then the carried rows. */
	r = read_whole(lease_path, &text, &len, cause);
	if (r == -1)
		goto done;
	if (r == 1 || len == 0) {
		hdr = kea_leases_header(family);
		if (tgt.ncols > 0) {	/* header from an LFC leftover */
			free(text);
			text = NULL;
			len = 0;
			for (i = 0; i < tgt.ncols; i++) {
				xasprintf(&line, "%s%s%s", text != NULL ? text :
				    "", i > 0 ? "," : "", tgt.cols[i]);
				free(text);
				text = line;
			}
			hdr = text;
		}
		xasprintf(&buf, "%s\n", hdr);
		free(text);
		text = buf;
		len = strlen(text);
	} else if (text[len - 1] != '\n') {
		/* A cut-short last line (a crash mid-write): drop it, as
		 * Kea's loader would, so the carried rows start clean. */
		while (len > 0 && text[len - 1] != '\n')
			len--;
	}
	blen = len + carry.len;
	buf = xmalloc(blen + 1);
	memcpy(buf, text, len);
	memcpy(buf + len, carry.text, carry.len);
	buf[blen] = '\0';
	r = file_write_atomic(lease_path, buf, blen, 0644, cause);
	free(buf);
	if (r == -1)
		goto done;
	out->n = carry.n;
	out->addrs = carry.addrs;
	carry.addrs = NULL;
	for (i = 0; i < carry.ncounts; i++) {
		xasprintf(&line, "carried %zu lease%s of %s from '%s' into "
		    "'%s'", carry.counts[i].n, carry.counts[i].n == 1 ? "" :
		    "s", carry.counts[i].cidr, carry.counts[i].source, target);
		xstrv_push(&out->lines, &out->nlines, line);
	}
	rc = 0;
done:
	kea_carry_free(&carry);
	for (i = 0; i < nsrc; i++)
		kea_leases_free(&srcs[i]);
	free(srcs);
	free(sp);
	free(snames);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	kea_leases_free(&tgt);
	free(subs);
	free(text);
	if (rc == -1)
		kea_seed_free(out);
	return rc;
}

void
kea_seed_free(struct kea_seed *s)
{
	if (s == NULL)
		return;
	free(s->addrs);
	free(s->subnet_ids);
	xstrv_free_n(s->lines, s->nlines);
	xstrv_free_n(s->warnings, s->nwarnings);
	memset(s, 0, sizeof *s);
}

size_t
kea_carry_retire(const char *dir, int family, const char *const *keep,
    size_t nkeep, char ***retired)
{
	struct kea_lease_file probe;
	char **names = NULL, *base, *from, *to, *err = NULL;
	size_t nnames, nret = 0, i, j, k;

	*retired = NULL;
	list_instances(dir, family, &names, &nnames);
	for (i = 0; i < nnames; i++) {
		for (j = 0; j < nkeep; j++)
			if (strcmp(keep[j], names[i]) == 0)
				break;
		if (j < nkeep)
			continue;
		xasprintf(&base, "%s/kea%d-%s.leases", dir, family, names[i]);
		/* A file the seed could not read was not carried: keep it
		 * for the operator (and for the next try). */
		memset(&probe, 0, sizeof probe);
		if (load_instance(base, family, &probe, &err) == -1) {
			free(err);
			err = NULL;
			kea_leases_free(&probe);
			free(base);
			continue;
		}
		kea_leases_free(&probe);
		for (k = 0; k < sizeof LOAD_ORDER / sizeof LOAD_ORDER[0]; k++) {
			xasprintf(&from, "%s%s", base, LOAD_ORDER[k]);
			xasprintf(&to, "%s.retired", from);
			if (rename(from, to) == 0)
				xstrv_push(retired, &nret, xstrdup(
				    strrchr(from, '/') + 1));
			free(from);
			free(to);
		}
		free(base);
	}
	xstrv_free_n(names, nnames);
	return nret;
}
