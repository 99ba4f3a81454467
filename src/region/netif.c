/*
 * netif.c — the host's interfaces in the shape of MAAS's
 * get_all_interfaces_definition() (src/provisioningserver/utils/network.py),
 * sent as RegisterRackController's "interfaces" argument.  The region only
 * uses the MAC addresses of it in 3.4 (to find an existing node), but the
 * structure is kept faithful.
 *
 * Two halves: netif_collect() reads sysfs, getifaddrs() and the routing
 * tables into struct netif_raw records; netif_build() applies MAAS's rules
 * to those records and is pure, so tests can feed it anything.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <ctype.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "netif.h"
#include "xmalloc.h"

#define ARPHRD_ETHER_	1
#define ARPHRD_IPIP_	768
#define ARPHRD_LOOP_	772

/* --- pure half ---------------------------------------------------------- */

static int
addr_in_subnet(const struct netif_addr *a, const struct netif_gw *gw)
{
	int bits = a->prefixlen, i;
	uint8_t mask;

	if (a->family != gw->family)
		return 0;
	for (i = 0; bits > 0; i++, bits -= 8) {
		mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a->addr[i] & mask) != (gw->addr[i] & mask))
			return 0;
	}
	return 1;
}

static int
is_link_local(const struct netif_addr *a)
{
	if (a->family == AF_INET)
		return a->addr[0] == 169 && a->addr[1] == 254;
	return a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
}

static int
kept(const struct netif_raw *r, int in_container)
{
	if (r->mac[0] == '\0')
		return 0;
	switch (r->kind) {
	case NETIF_PHYSICAL:
	case NETIF_BOND:
	case NETIF_BRIDGE:
	case NETIF_VLAN:
		return 1;
	case NETIF_ETHERNET:
		/* MAAS: unclassifiable ethernet only counts in a container. */
		return in_container;
	default:
		return 0;
	}
}

static const char *
kind_name(enum netif_kind k)
{
	switch (k) {
	case NETIF_BOND:
		return "bond";
	case NETIF_BRIDGE:
		return "bridge";
	case NETIF_VLAN:
		return "vlan";
	default:
		return "physical";
	}
}

static const struct netif_raw *
find_raw(const struct netif_raw *r, size_t n, const char *name,
    int in_container)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0 && kept(&r[i], in_container))
			return &r[i];
	return NULL;
}

static json_t *
build_links(const struct netif_raw *r, const struct netif_gw *gw,
    size_t ngw)
{
	json_t *links = json_array(), *link;
	char text[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];
	const struct netif_addr *a;
	size_t i, j;

	for (i = 0; i < r->naddrs; i++) {
		a = &r->addrs[i];
		if (is_link_local(a))
			continue;
		if (inet_ntop(a->family, a->addr, text, sizeof(text)) == NULL)
			continue;
		snprintf(buf, sizeof(buf), "%s/%d", text, a->prefixlen);
		/* netif_collect() does not consult dhclient leases (all
		 * static); the refresh knows from IFA_F_PERMANENT. */
		link = json_pack("{s:s, s:s}", "mode", a->dynamic ? "dhcp" :
		    "static", "address", buf);
		for (j = 0; j < ngw; j++) {
			if (!addr_in_subnet(a, &gw[j]))
				continue;
			inet_ntop(gw[j].family, gw[j].addr, text,
			    sizeof(text));
			json_object_set_new(link, "gateway", json_string(text));
			break;
		}
		json_array_append_new(links, link);
	}
	return links;
}

/*
 * MAAS get_default_monitored_interfaces(): enabled physical interfaces
 * that are not bond members, bonds, and bridges without parents.
 */
static int
monitored(const struct netif_raw *r, size_t n, size_t self, int in_container)
{
	const struct netif_raw *me = &r[self];
	size_t i, j;

	if (!me->enabled)
		return 0;
	switch (me->kind) {
	case NETIF_PHYSICAL:
	case NETIF_ETHERNET:
		for (i = 0; i < n; i++) {
			if (r[i].kind != NETIF_BOND || !kept(&r[i],
			    in_container))
				continue;
			for (j = 0; j < r[i].nparents; j++)
				if (strcmp(r[i].parents[j], me->name) == 0)
					return 0;
		}
		return 1;
	case NETIF_BOND:
		return 1;
	case NETIF_BRIDGE:
		for (j = 0; j < me->nparents; j++)
			if (find_raw(r, n, me->parents[j], in_container))
				return 0;
		return 1;
	default:
		return 0;
	}
}

json_t *
netif_build(const struct netif_raw *r, size_t n, const struct netif_gw *gw,
    size_t ngw, int in_container)
{
	json_t *all = json_object(), *one, *parents;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!kept(&r[i], in_container))
			continue;
		parents = json_array();
		for (j = 0; j < r[i].nparents; j++)
			if (find_raw(r, n, r[i].parents[j], in_container))
				json_array_append_new(parents,
				    json_string(r[i].parents[j]));
		one = json_pack("{s:s, s:s, s:o, s:b, s:o, s:s, s:b}",
		    "type", kind_name(r[i].kind),
		    "mac_address", r[i].mac,
		    "links", build_links(&r[i], gw, ngw),
		    "enabled", r[i].enabled ? 1 : 0,
		    "parents", parents,
		    "source", "machine-resources",
		    "monitored", monitored(r, n, i, in_container));
		if (one == NULL)
			continue;	/* a name that is not UTF-8 */
		if (r[i].kind == NETIF_VLAN && r[i].vid >= 0)
			json_object_set_new(one, "vid", json_integer(r[i].vid));
		json_object_set_new(all, r[i].name, one);
	}
	return all;
}

/* --- reading the host --------------------------------------------------- */

/* First line of <root>/<ifname>/<file>, stripped; -1 if unreadable. */
static int
read_line(const char *root, const char *ifname, const char *file,
    char *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", root, ifname, file);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

static int
exists(const char *root, const char *ifname, const char *file)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", root, ifname, file);
	return stat(path, &st) == 0;
}

static void
add_parent(struct netif_raw *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nparents; i++)
		if (strcmp(r->parents[i], name) == 0)
			return;
	r->parents = xreallocarray(r->parents, r->nparents + 1,
	    sizeof(*r->parents));
	r->parents[r->nparents++] = xstrdup(name);
}

/* Parents from lower_* links (bond slaves, bridge ports, VLAN raw dev). */
static void
read_parents(const char *root, struct netif_raw *r)
{
	char path[512], buf[1024], *p, *sp;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%s", root, r->name);
	if ((dir = opendir(path)) != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (strncmp(de->d_name, "lower_", 6) == 0 &&
			    de->d_name[6] != '\0')
				add_parent(r, de->d_name + 6);
		closedir(dir);
	}
	/* Older kernels: the bonding and bridge views. */
	if (r->kind == NETIF_BOND &&
	    read_line(root, r->name, "bonding/slaves", buf, sizeof(buf)) == 0)
		for (p = strtok_r(buf, " \t", &sp); p != NULL;
		    p = strtok_r(NULL, " \t", &sp))
			add_parent(r, p);
	if (r->kind == NETIF_BRIDGE) {
		snprintf(path, sizeof(path), "%s/%s/brif", root, r->name);
		if ((dir = opendir(path)) != NULL) {
			while ((de = readdir(dir)) != NULL)
				if (de->d_name[0] != '.')
					add_parent(r, de->d_name);
			closedir(dir);
		}
	}
}

/* VLAN id and raw device from /proc/net/vlan/config ("eth0.5 | 5 | eth0"). */
static int
vlan_from_proc(const char *name, char *lower, size_t lowerlen)
{
	char line[256], n[64], l[64];
	int vid;
	FILE *f;

	if ((f = fopen("/proc/net/vlan/config", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s | %d | %63s", n, &vid, l) == 3 &&
		    strcmp(n, name) == 0) {
			snprintf(lower, lowerlen, "%s", l);
			fclose(f);
			return vid;
		}
	}
	fclose(f);
	return -1;
}

/* VLAN id from the name: "eth0.100", "vlan100". */
static int
vlan_from_name(const char *name)
{
	const char *p = strrchr(name, '.');
	char *end;
	long v;

	if (p == NULL && strncmp(name, "vlan", 4) == 0)
		p = name + 3;
	if (p == NULL || p[1] == '\0')
		return -1;
	v = strtol(p + 1, &end, 10);
	if (*end != '\0' || v < 0 || v > 4094)
		return -1;
	return (int)v;
}

static int
is_vlan(const char *root, const char *name)
{
	char path[512], buf[256];
	struct stat st;
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/net/vlan/%s", name);
	if (strchr(name, '/') == NULL && stat(path, &st) == 0)
		return 1;
	/* sysfs: the uevent of a VLAN device says DEVTYPE=vlan. */
	snprintf(path, sizeof(path), "%s/%s/uevent", root, name);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f) != NULL)
		found = strncmp(buf, "DEVTYPE=vlan", 12) == 0;
	fclose(f);
	return found;
}

static void
classify(const char *root, struct netif_raw *r)
{
	char buf[256], lower[64];
	long type, flags;

	r->vid = -1;
	r->kind = NETIF_UNKNOWN;
	if (read_line(root, r->name, "address", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "00:00:00:00:00:00") != 0 &&
	    strlen(buf) < sizeof(r->mac))
		memcpy(r->mac, buf, strlen(buf) + 1);
	if (read_line(root, r->name, "flags", buf, sizeof(buf)) == 0) {
		flags = strtol(buf, NULL, 16);
		r->enabled = (flags & IFF_UP) != 0;
	}
	if (read_line(root, r->name, "type", buf, sizeof(buf)) == -1)
		return;
	type = strtol(buf, NULL, 10);
	if (type == ARPHRD_LOOP_) {
		r->kind = NETIF_LOOPBACK;
		return;
	}
	if (type == ARPHRD_IPIP_) {
		r->kind = NETIF_IPIP;
		return;
	}
	if (type != ARPHRD_ETHER_)
		return;
	if (exists(root, r->name, "bridge"))
		r->kind = NETIF_BRIDGE;
	else if (exists(root, r->name, "bonding"))
		r->kind = NETIF_BOND;
	else if (is_vlan(root, r->name))
		r->kind = NETIF_VLAN;
	else if (exists(root, r->name, "tun_flags"))
		r->kind = NETIF_TUNNEL;
	else if (exists(root, r->name, "wireless") ||
	    exists(root, r->name, "phy80211") ||
	    exists(root, r->name, "device"))
		r->kind = NETIF_PHYSICAL;
	else
		r->kind = NETIF_ETHERNET;
	read_parents(root, r);
	if (r->kind == NETIF_VLAN) {
		lower[0] = '\0';
		r->vid = vlan_from_proc(r->name, lower, sizeof(lower));
		if (lower[0] != '\0')
			add_parent(r, lower);
		if (r->vid < 0)
			r->vid = vlan_from_name(r->name);
	}
}

static int
prefix_len(const struct sockaddr *mask)
{
	const uint8_t *p;
	size_t len, i;
	int bits = 0;
	uint8_t b;

	if (mask == NULL)
		return 0;
	if (mask->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)mask)->
		    sin_addr;
		len = 4;
	} else {
		p = ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr;
		len = 16;
	}
	for (i = 0; i < len; i++)
		for (b = p[i]; b & 0x80; b <<= 1)
			bits++;
	return bits;
}

static void
add_addrs(struct netif_raw *r, size_t n)
{
	struct ifaddrs *ifa, *i;
	struct netif_addr *a;
	struct netif_raw *x;
	size_t k;

	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		for (k = 0, x = NULL; k < n && x == NULL; k++)
			if (strcmp(r[k].name, i->ifa_name) == 0)
				x = &r[k];
		if (x == NULL)
			continue;
		x->addrs = xreallocarray(x->addrs, x->naddrs + 1,
		    sizeof(*x->addrs));
		a = &x->addrs[x->naddrs++];
		memset(a, 0, sizeof(*a));
		a->family = i->ifa_addr->sa_family;
		if (a->family == AF_INET)
			memcpy(a->addr, &((struct sockaddr_in *)i->ifa_addr)->
			    sin_addr, 4);
		else
			memcpy(a->addr, &((struct sockaddr_in6 *)i->ifa_addr)->
			    sin6_addr, 16);
		a->prefixlen = prefix_len(i->ifa_netmask);
	}
	freeifaddrs(ifa);
}

static void
add_gw(struct netif_gw **gw, size_t *ngw, int family, const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 16, i;

	for (i = 0; i < *ngw; i++)
		if ((*gw)[i].family == family &&
		    memcmp((*gw)[i].addr, addr, len) == 0)
			return;
	*gw = xreallocarray(*gw, *ngw + 1, sizeof(**gw));
	memset(&(*gw)[*ngw], 0, sizeof(**gw));
	(*gw)[*ngw].family = family;
	memcpy((*gw)[*ngw].addr, addr, len);
	(*ngw)++;
}

/* Default routes: IPv4 from /proc/net/route, IPv6 from ipv6_route. */
static void
read_gateways(struct netif_gw **gw, size_t *ngw)
{
	char line[512], ifn[64], dst[33], nh[33];
	unsigned int d, g, flags, mask, dlen;
	uint8_t a[16];
	FILE *f;
	int i;

	if ((f = fopen("/proc/net/route", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", ifn,
			    &d, &g, &flags, &mask) != 5)
				continue;
			/* RTF_UP | RTF_GATEWAY, destination 0/0 */
			if (d != 0 || mask != 0 || (flags & 0x3) != 0x3)
				continue;
			memcpy(a, &g, 4);	/* kernel prints it raw */
			add_gw(gw, ngw, AF_INET, a);
		}
		fclose(f);
	}
	if ((f = fopen("/proc/net/ipv6_route", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "%32s %x %*32s %*x %32s", dst, &dlen,
			    nh) != 3 || dlen != 0 ||
			    strspn(dst, "0") != 32 || strspn(nh, "0") == 32 ||
			    strlen(nh) != 32)
				continue;
			for (i = 0; i < 16; i++) {
				unsigned int byte;

				sscanf(nh + 2 * i, "%2x", &byte);
				a[i] = (uint8_t)byte;
			}
			add_gw(gw, ngw, AF_INET6, a);
		}
		fclose(f);
	}
}

int
netif_in_container(void)
{
	char buf[4096];
	size_t n, i;
	FILE *f;

	if (access("/run/systemd/container", F_OK) == 0 ||
	    access("/.dockerenv", F_OK) == 0 ||
	    access("/run/.containerenv", F_OK) == 0)
		return 1;
	if ((f = fopen("/proc/1/environ", "re")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (i = 0; i < n; i += strlen(buf + i) + 1)
		if (strncmp(buf + i, "container=", 10) == 0)
			return 1;
	return 0;
}

static int
raw_cmp(const void *a, const void *b)
{
	return strcmp(((const struct netif_raw *)a)->name,
	    ((const struct netif_raw *)b)->name);
}

json_t *
netif_collect(const char *sysfs_root)
{
	struct netif_raw *r = NULL;
	struct netif_gw *gw = NULL;
	struct dirent *de;
	size_t n = 0, ngw = 0, i, j, len;
	json_t *out;
	DIR *dir;

	if (sysfs_root == NULL)
		sysfs_root = "/sys/class/net";
	if ((dir = opendir(sysfs_root)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			len = strlen(de->d_name);
			if (de->d_name[0] == '.' || len >= sizeof(r->name))
				continue;
			r = xreallocarray(r, n + 1, sizeof(*r));
			memset(&r[n], 0, sizeof(*r));
			memcpy(r[n].name, de->d_name, len + 1);
			classify(sysfs_root, &r[n]);
			n++;
		}
		closedir(dir);
	}
	if (n > 0)
		qsort(r, n, sizeof(*r), raw_cmp);
	add_addrs(r, n);
	read_gateways(&gw, &ngw);
	out = netif_build(r, n, gw, ngw, netif_in_container());
	for (i = 0; i < n; i++) {
		for (j = 0; j < r[i].nparents; j++)
			free(r[i].parents[j]);
		free(r[i].parents);
		free(r[i].addrs);
	}
	free(r);
	free(gw);
	return out;
}
