/*
 * resources.c — the machine-resources document of a MAAS 3.4 rack refresh
 * (shared/spec/maas-rack-refresh.md §3), built from an interface snapshot.
 *
 * What is in it and why:
 * - api_version "1.0" and the api_extensions machine-resources announces
 *   (a superset of the five process_lxd_results asserts);
 * - environment with a kernel_architecture the region can map (§3.2, else
 *   the hook raises KeyError and nothing is stored);
 * - resources: {"network": {"cards": []}} only.  cpu, memory and storage
 *   are deliberately left out: the region reads them with .get() defaults
 *   (cpu_count 0, memory 0 on the rack's page), while a cpu or memory
 *   object whose shape differs in any detail from LXD's makes the hook
 *   raise and roll back the whole report, interfaces included.  No cards
 *   either: a port's link_detected false unplugs the interface from its
 *   VLAN in 3.4.0-3.4.2 (pitfall 6); with [] interfaces are modelled from
 *   "networks" alone;
 * - networks: every interface but loopback, parents before children,
 *   parents of VLANs reported "up" (pitfall 2), bond slaves with their
 *   own MAC (pitfall 13), only the addresses the snapshot marks reported
 *   (no link-local, no floating VIPs: pitfall 4), and the bond, bridge and
 *   vlan keys on every entry;
 * - network-extra: the RegisterRackController interfaces dict of the same
 *   snapshot (netif_build, so registration and refresh agree), whose link
 *   modes say which addresses are DHCP-obtained (pitfall 3) and carry the
 *   default gateways; the monitored interfaces; "hints": null.
 */
#include <sys/socket.h>
#include <sys/utsname.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ifsnap.h"
#include "netif.h"
#include "resources.h"
#include "xmalloc.h"

/* The kernel names MAAS's kernel_to_debian_architecture() knows. */
static const char *const arches[] = { "i686", "x86_64", "aarch64",
    "ppc64le", "s390x", "mips", "mips64" };

/* What MAAS 3.4's machine-resources announces (src/host-info). */
static const char *const extensions[] = { "resources",
    "resources_cpu_socket", "resources_gpu", "resources_numa",
    "resources_v2", "resources_disk_sata", "resources_network_firmware",
    "resources_disk_id", "resources_usb_pci", "resources_cpu_threads_numa",
    "resources_cpu_core_die", "api_os", "resources_system",
    "resources_pci_iommu", "resources_network_usb",
    "resources_disk_address" };

/* Nesting deeper than this (VLAN on bridge on bond on VLAN...) is not
 * something a kernel builds; it bounds the ordering on hostile input. */
#define MAX_DEPTH	16

static int
known_arch(const char *a)
{
	size_t i;

	for (i = 0; a != NULL && i < RACKD_NELEM(arches); i++)
		if (strcmp(a, arches[i]) == 0)
			return 1;
	return 0;
}

/* Interfaces by ifindex in O(log n): the document is built for hosts with
 * hundreds of VLANs too, where a linear ifsnap_by_index() per parent
 * lookup would make the build quadratic. */
struct lookup {
	const struct ifsnap *s;
	struct slot {
		int	 index;
		size_t	 pos;
	}		*slots;
};

static int
slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static void
lookup_init(struct lookup *lk, const struct ifsnap *s)
{
	size_t i;

	lk->s = s;
	lk->slots = xcalloc(s->nifs ? s->nifs : 1, sizeof(*lk->slots));
	for (i = 0; i < s->nifs; i++) {
		lk->slots[i].index = s->ifs[i].index;
		lk->slots[i].pos = i;
	}
	qsort(lk->slots, s->nifs, sizeof(*lk->slots), slot_cmp);
}

static const struct ifsnap_if *
lookup(const struct lookup *lk, int index)
{
	struct slot key = { index, 0 }, *hit;

	if (index == 0 || lk->s->nifs == 0)
		return NULL;
	hit = bsearch(&key, lk->slots, lk->s->nifs, sizeof(*lk->slots),
	    slot_cmp);
	return hit != NULL ? &lk->s->ifs[hit->pos] : NULL;
}

static int
utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* Which interfaces go into "networks": all but loopback, minus what the
 * region cannot model and would fail the whole report on: a broadcast
 * interface without an Ethernet MAC (IPoIB: machine-resources' 20-byte
 * hwaddr makes the region skip it; an empty one would be stored as a
 * MAC), and VLANs whose parent is not itself a reported broadcast
 * interface (DoesNotExist, everything rolled back). */
static void
choose(const struct ifsnap *s, const struct lookup *lk, int *inc)
{
	const struct ifsnap_if *f, *p;
	size_t i, idx;
	int changed;

	for (i = 0; i < s->nifs; i++)
		inc[i] = s->ifs[i].kind != IFSNAP_LOOPBACK &&
		    utf8_ok(s->ifs[i].name) &&
		    ((s->ifs[i].flags & IFF_BROADCAST) == 0 ||
		    s->ifs[i].mac[0] != '\0');
	do {
		changed = 0;
		for (i = 0; i < s->nifs; i++) {
			f = &s->ifs[i];
			if (!inc[i] || f->kind != IFSNAP_VLAN)
				continue;
			p = lookup(lk, f->link_index);
			idx = p != NULL ? (size_t)(p - s->ifs) : 0;
			if (f->vid < 0 || p == NULL || p == f || !inc[idx] ||
			    (p->flags & IFF_BROADCAST) == 0) {
				inc[i] = 0;
				changed = 1;
			}
		}
	} while (changed);
}

/* Depth in the parent graph: 0 for no parents. */
static void
depths(const struct ifsnap *s, const struct lookup *lk, const int *inc,
    int *depth)
{
	const struct ifsnap_if *f, *p;
	size_t i, pass;
	int d, changed = 1;

	memset(depth, 0, s->nifs * sizeof(*depth));
	for (pass = 0; pass < MAX_DEPTH && changed; pass++) {
		changed = 0;
		for (i = 0; i < s->nifs; i++) {
			f = &s->ifs[i];
			if (!inc[i])
				continue;
			d = 0;
			if (f->kind == IFSNAP_VLAN &&
			    (p = lookup(lk, f->link_index)) != NULL)
				d = depth[p - s->ifs] + 1;
			if (f->master_index != 0 &&
			    (p = lookup(lk, f->master_index)) != NULL &&
			    p != f && inc[p - s->ifs] &&
			    depth[p - s->ifs] < depth[i] + 1 &&
			    depth[i] < MAX_DEPTH) {
				depth[p - s->ifs] = depth[i] + 1;
				changed = 1;
			}
			if (d > MAX_DEPTH)
				d = MAX_DEPTH;
			if (d > depth[i]) {
				depth[i] = d;
				changed = 1;
			}
		}
	}
	for (i = 0; i < s->nifs; i++)
		if (depth[i] > MAX_DEPTH)
			depth[i] = MAX_DEPTH;
}

static const char *
scope_name(const struct ifsnap_addr *a)
{
	switch (a->scope) {
	case RT_SCOPE_HOST:
		return "local";
	case RT_SCOPE_LINK:
		return "link";
	default:
		return "global";
	}
}

static json_t *
addresses(const struct ifsnap_if *f)
{
	json_t *arr = json_array();
	char text[INET6_ADDRSTRLEN], mask[8];
	size_t i;

	for (i = 0; i < f->naddrs; i++) {
		if (!f->addrs[i].report)
			continue;
		ifsnap_addr_text(&f->addrs[i], text, sizeof(text));
		snprintf(mask, sizeof(mask), "%d", f->addrs[i].prefixlen);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}",
		    "family", f->addrs[i].family == AF_INET ? "inet" : "inet6",
		    "address", text, "netmask", mask, "scope",
		    scope_name(&f->addrs[i])));
	}
	return arr;
}

/* Names of included interfaces enslaved to f (bond slaves, bridge ports). */
static json_t *
members(const struct ifsnap *s, const int *inc, const struct ifsnap_if *f)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < s->nifs; i++)
		if (inc[i] && &s->ifs[i] != f &&
		    s->ifs[i].master_index == f->index)
			json_array_append_new(arr, json_string(s->ifs[i].name));
	return arr;
}

static json_t *
network(const struct ifsnap *s, const struct lookup *lk, const int *inc,
    int vlan_parent, const struct ifsnap_if *f)
{
	const struct ifsnap_if *p;
	const char *type, *mode;
	json_t *o, *bond = json_null(), *bridge = json_null(),
	    *vlan = json_null();

	if (f->flags & IFF_BROADCAST)
		type = "broadcast";
	else if (f->flags & IFF_POINTOPOINT)
		type = "point-to-point";
	else
		type = "unknown";
	if (f->kind == IFSNAP_BOND) {
		mode = ifsnap_bond_mode_name(f->bond_mode);
		bond = json_pack("{s:s, s:o}", "mode", mode ? mode : "",
		    "lower_devices", members(s, inc, f));
	} else if (f->kind == IFSNAP_BRIDGE)
		bridge = json_pack("{s:o}", "upper_devices",
		    members(s, inc, f));
	else if (f->kind == IFSNAP_VLAN &&
	    (p = lookup(lk, f->link_index)) != NULL)
		vlan = json_pack("{s:s, s:i}", "lower_device", p->name, "vid",
		    f->vid);
	o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o}",
	    "type", type,
	    /* A VLAN's parent reported down has no VLAN in the region and
	     * 3.4.0-3.4.1 crash on it (pitfall 2). */
	    "state", (f->flags & IFF_UP) || vlan_parent ? "up" :
	    "down",
	    "hwaddr", ifsnap_reported_mac(s, f),
	    "mtu", (json_int_t)f->mtu,
	    "addresses", addresses(f),
	    "bond", bond, "bridge", bridge, "vlan", vlan);
	return o;
}

static enum netif_kind
netif_kind_of(const struct ifsnap_if *f)
{
	switch (f->kind) {
	case IFSNAP_LOOPBACK:
		return NETIF_LOOPBACK;
	case IFSNAP_ETHER:
		return f->has_device ? NETIF_PHYSICAL : NETIF_ETHERNET;
	case IFSNAP_VLAN:
		return NETIF_VLAN;
	case IFSNAP_BOND:
		return NETIF_BOND;
	case IFSNAP_BRIDGE:
		return NETIF_BRIDGE;
	case IFSNAP_TUNNEL:
		return NETIF_TUNNEL;
	default:
		return NETIF_UNKNOWN;
	}
}

static void
raw_add_parent(struct netif_raw *r, const char *name)
{
	r->parents = xreallocarray(r->parents, r->nparents + 1,
	    sizeof(*r->parents));
	r->parents[r->nparents++] = xstrdup(name);
}

/* network-extra.interfaces: the snapshot as netif_raw records, through
 * the same builder as RegisterRackController's "interfaces". */
static json_t *
extra_interfaces(const struct ifsnap *s, const struct lookup *lk,
    const int *inc, int in_container)
{
	struct netif_raw *r;
	struct netif_gw *gw = NULL;
	const struct ifsnap_if *f, *p;
	const char *mac;
	json_t *all;
	size_t i, j;

	r = xcalloc(s->nifs ? s->nifs : 1, sizeof(*r));
	for (i = 0; i < s->nifs; i++) {
		f = &s->ifs[i];
		snprintf(r[i].name, sizeof(r[i].name), "%s", f->name);
		mac = ifsnap_reported_mac(s, f);
		if (strcmp(mac, "00:00:00:00:00:00") != 0)
			snprintf(r[i].mac, sizeof(r[i].mac), "%s", mac);
		/* Left out of "networks" means left out here too. */
		r[i].kind = inc[i] ? netif_kind_of(f) : NETIF_UNKNOWN;
		r[i].enabled = (f->flags & IFF_UP) != 0;
		r[i].vid = f->kind == IFSNAP_VLAN ? f->vid : -1;
		if (f->kind == IFSNAP_VLAN &&
		    (p = lookup(lk, f->link_index)) != NULL)
			raw_add_parent(&r[i], p->name);
		if (f->kind == IFSNAP_BOND || f->kind == IFSNAP_BRIDGE)
			for (j = 0; j < s->nifs; j++)
				if (j != i && s->ifs[j].master_index ==
				    f->index)
					raw_add_parent(&r[i], s->ifs[j].name);
		r[i].addrs = xcalloc(f->naddrs ? f->naddrs : 1,
		    sizeof(*r[i].addrs));
		for (j = 0; j < f->naddrs; j++) {
			if (!f->addrs[j].report)
				continue;
			r[i].addrs[r[i].naddrs].family = f->addrs[j].family;
			memcpy(r[i].addrs[r[i].naddrs].addr, f->addrs[j].addr,
			    16);
			r[i].addrs[r[i].naddrs].prefixlen =
			    f->addrs[j].prefixlen;
			r[i].addrs[r[i].naddrs].dynamic = f->addrs[j].dynamic;
			r[i].naddrs++;
		}
	}
	if (s->ngws > 0) {
		gw = xcalloc(s->ngws, sizeof(*gw));
		for (i = 0; i < s->ngws; i++) {
			gw[i].family = s->gws[i].family;
			memcpy(gw[i].addr, s->gws[i].addr, 16);
		}
	}
	all = netif_build(r, s->nifs, gw, s->ngws, in_container);
	for (i = 0; i < s->nifs; i++) {
		for (j = 0; j < r[i].nparents; j++)
			free(r[i].parents[j]);
		free(r[i].parents);
		free(r[i].addrs);
	}
	free(r);
	free(gw);
	return all;
}

static json_t *
monitored(json_t *ifaces)
{
	json_t *arr = json_array(), *v;
	const char *name;

	json_object_foreach(ifaces, name, v)
		if (json_is_true(json_object_get(v, "monitored")))
			json_array_append_new(arr, json_string(name));
	return arr;
}

static json_t *
environment(const struct resources_host *h)
{
	json_t *env = json_object();

	json_object_set_new(env, "kernel_architecture",
	    json_string(h->kernel_architecture));
	if (h->kernel != NULL)
		json_object_set_new(env, "kernel", json_string(h->kernel));
	if (h->kernel_version != NULL)
		json_object_set_new(env, "kernel_version",
		    json_string(h->kernel_version));
	/* The region sets the OS only when both are present. */
	if (h->os_name != NULL && h->os_version != NULL) {
		json_object_set_new(env, "os_name", json_string(h->os_name));
		json_object_set_new(env, "os_version",
		    json_string(h->os_version));
	}
	json_object_set_new(env, "server", json_string("rackd"));
	json_object_set_new(env, "server_version", json_string(RACKD_VERSION));
	if (h->server_name != NULL)
		json_object_set_new(env, "server_name",
		    json_string(h->server_name));
	return env;
}

json_t *
resources_build(const struct ifsnap *s, const struct resources_host *h,
    char **cause)
{
	json_t *doc, *nets, *ext, *ifaces, *one;
	const struct ifsnap_if *p;
	struct lookup lk;
	int *inc, *depth, *vparent, level;
	size_t i, len;
	char *dump;

	if (!known_arch(h->kernel_architecture)) {
		xasprintf(cause, "kernel architecture '%s' is not one MAAS "
		    "knows (i686 x86_64 aarch64 ppc64le s390x mips mips64)",
		    h->kernel_architecture ? h->kernel_architecture : "");
		return NULL;
	}
	lookup_init(&lk, s);
	inc = xcalloc(s->nifs ? s->nifs : 1, sizeof(*inc));
	depth = xcalloc(s->nifs ? s->nifs : 1, sizeof(*depth));
	vparent = xcalloc(s->nifs ? s->nifs : 1, sizeof(*vparent));
	choose(s, &lk, inc);
	depths(s, &lk, inc, depth);
	for (i = 0; i < s->nifs; i++)
		if (inc[i] && s->ifs[i].kind == IFSNAP_VLAN &&
		    (p = lookup(&lk, s->ifs[i].link_index)) != NULL)
			vparent[p - s->ifs] = 1;

	nets = json_object();
	for (level = 0; level <= MAX_DEPTH; level++)
		for (i = 0; i < s->nifs; i++) {
			if (!inc[i] || depth[i] != level)
				continue;
			if ((one = network(s, &lk, inc, vparent[i],
			    &s->ifs[i])) != NULL)
				json_object_set_new(nets, s->ifs[i].name, one);
		}

	ifaces = extra_interfaces(s, &lk, inc, h->in_container);
	ext = json_pack("{s:o, s:o, s:n}", "interfaces", ifaces,
	    "monitored-interfaces", monitored(ifaces), "hints");
	free(inc);
	free(depth);
	free(vparent);
	free(lk.slots);

	doc = json_object();
	json_object_set_new(doc, "api_version", json_string("1.0"));
	json_object_set_new(doc, "api_extensions", json_array());
	for (i = 0; i < RACKD_NELEM(extensions); i++)
		json_array_append_new(json_object_get(doc, "api_extensions"),
		    json_string(extensions[i]));
	json_object_set_new(doc, "environment", environment(h));
	json_object_set_new(doc, "resources", json_pack("{s:{s:[]}}",
	    "network", "cards"));
	json_object_set_new(doc, "networks", nets);
	json_object_set_new(doc, "network-extra", ext);

	dump = json_dumps(doc, JSON_COMPACT);
	len = dump != NULL ? strlen(dump) : 0;
	free(dump);
	if (len == 0 || len > RESOURCES_MAX_BYTES) {
		xasprintf(cause, "the document is %zu bytes, more than the "
		    "%d the region stores", len, RESOURCES_MAX_BYTES);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void
resources_count(const json_t *doc, size_t *nifs, size_t *naddrs)
{
	json_t *nets = json_object_get(doc, "networks"), *v;
	const char *name;

	*nifs = json_is_object(nets) ? json_object_size(nets) : 0;
	*naddrs = 0;
	if (!json_is_object(nets))
		return;
	json_object_foreach(nets, name, v)
		*naddrs += json_array_size(json_object_get(v, "addresses"));
}

/* --- the running host --------------------------------------------------- */

/* Value of KEY= in an os-release file, unquoted and lower-cased. */
static int
os_release_value(FILE *f, const char *key, char *out, size_t len)
{
	char line[256], *v, *e;
	size_t klen = strlen(key), i;

	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		v = line + klen + 1;
		v[strcspn(v, "\r\n")] = '\0';
		if ((*v == '"' || *v == '\'') && (e = strrchr(v + 1, *v)) !=
		    NULL) {
			*e = '\0';
			v++;
		}
		for (i = 0; v[i] != '\0'; i++)
			v[i] = (char)tolower((unsigned char)v[i]);
		snprintf(out, len, "%s", v);
		return *out != '\0';
	}
	return 0;
}

void
resources_host_read(struct resources_host *h)
{
	static struct utsname u;
	static char os_name[64], os_version[64], host[256];
	FILE *f;

	memset(h, 0, sizeof(*h));
	if (uname(&u) == 0) {
		h->kernel = u.sysname;
		h->kernel_version = u.release;
		h->kernel_architecture = u.machine;
	}
	if ((f = fopen("/etc/os-release", "re")) != NULL ||
	    (f = fopen("/usr/lib/os-release", "re")) != NULL) {
		if (os_release_value(f, "ID", os_name, sizeof(os_name)))
			h->os_name = os_name;
		if (os_release_value(f, "VERSION_ID", os_version,
		    sizeof(os_version)))
			h->os_version = os_version;
		fclose(f);
	}
	if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
		h->server_name = host;
	h->in_container = netif_in_container();
}
