/*
 * simplestreams.h — the pure side of the boot-image sync (maas-rack-boot.md
 * §1.2-1.4): the region's simplestreams index and products documents,
 * MAAS's selection of the newest version per product, the maas.meta
 * document, and the plan of a snapshot (which cache file is linked where).
 * No I/O: buffers in, structures out, errors with a cause naming what was
 * wrong.
 */
#ifndef SIMPLESTREAMS_H
#define SIMPLESTREAMS_H

#include <stddef.h>
#include <stdint.h>

/* One file of a product version. */
struct ss_item {
	char		*name;		/* item key = file name, e.g. boot-kernel */
	char		*ftype;		/* boot-kernel, squashfs, archive.tar.xz... */
	char		*path;		/* relative to the mirror base */
	char		*sha256;	/* 64 lower-case hex digits */
	uint64_t	 size;
};

/* One product with its newest version only (simplestreams max_items=1). */
struct ss_product {
	char		*name;		/* maas:boot:<os>:<arch>:<subarch>:<series> */
	char		*os, *arch, *subarch, *release, *label, *kflavor;
	char		*subarches;	/* comma list, may be NULL */
	char		*bootloader_type; /* bootloaders only, else NULL */
	char		*version;	/* newest version name */
	char		*meta_item;	/* compact maas.meta item (JSON, owned) */
	struct ss_item	*items;
	size_t		 nitems;
};

struct ss_catalog {
	char		*content_id;
	struct ss_product *products;
	size_t		 nproducts;
};

/* A region selection (ImportBootImages/GetBootSources); "*" matches all. */
struct ss_selection {
	const char	*os;		/* NULL or "*" = any */
	const char	*release;
	const char *const *arches;	/* NULL-terminated; NULL = any */
	const char *const *subarches;
	const char *const *labels;
};

/*
 * Parse index.json; return the path (relative to the mirror base) of the
 * first "image-downloads" products document, malloc'd, or NULL with *cause.
 */
char	*simplestreams_index_products_path(const char *buf, size_t len,
	    char **cause);

/*
 * Parse a products document (maas:v2:download.json) into a catalog of
 * products, each with its newest version.  Products whose newest version
 * has no usable item are kept with nitems = 0 (and skipped by the plan).
 * Returns NULL with *cause naming the product/item/field at fault.
 */
struct ss_catalog *simplestreams_parse_products(const char *buf, size_t len,
	    char **cause);
void	simplestreams_catalog_free(struct ss_catalog *);

/*
 * Keep only the products matched by one of the n selections (n == 0:
 * keep all, which is what the region sends: selections = []).
 */
void	simplestreams_select(struct ss_catalog *, const struct ss_selection *,
	    size_t n);

/*
 * maas.meta: {os:{arch:{subarch:{kflavor:{release:{label:item}}}}}} as
 * Python's json.dumps(sort_keys=True) writes it (", " and ": ", ASCII).
 * Caller frees.
 */
char	*simplestreams_meta_json(const struct ss_catalog *);

/* One hard link of a snapshot: snapshot/<relpath> -> cache file. */
struct ss_link {
	char		*relpath;	/* e.g. ubuntu/amd64/ga-20.04/focal/stable/boot-kernel */
	const struct ss_item *item;	/* borrowed from the catalog */
	int		 archive;	/* item is an archive.tar.xz: relpath is the
					   member directory, members linked in it */
};

/*
 * The snapshot plan (§1.3 step 6): every link of every selected product,
 * in catalog order.  *n set.  Caller frees with simplestreams_plan_free.
 */
struct ss_link *simplestreams_plan(const struct ss_catalog *, size_t *n);
void	simplestreams_plan_free(struct ss_link *, size_t n);

/*
 * MAAS's fix_sources_for_cluster: the source URL's scheme/host/port are
 * replaced by the rack's maas_url, the maas_url path prefix of the source
 * path dropped.  Caller frees.
 */
char	*simplestreams_fix_url(const char *source_url, const char *maas_url);
/* The mirror base of an index URL: everything before "streams/". */
char	*simplestreams_mirror_base(const char *index_url);

/* A file name safe to create under a directory (no '/', not . or ..). */
int	simplestreams_safe_name(const char *);
/* A relative path without "..", empty or absolute components. */
int	simplestreams_safe_relpath(const char *);

#endif
