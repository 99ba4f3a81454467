/*
 * kea_config.c — decoded ConfigureDHCPv4/v6 arguments to the Kea 2.2
 * processes a rack runs and their JSON configurations (spec D.1-D.4), plus
 * the HA checks kea-dhcp4 -t does not make, canonical config text, and
 * ValidateDHCP*Config errors for isc-dhcpd snippets Kea cannot apply.
 *
 * Topology (D.3): Kea 2.2 runs one HA relationship per process and applies
 * it to every subnet there, so each failover peer gets its own kea-dhcp4
 * in hot-standby and the peer-less shared networks share one more.  v6 is
 * planned the same way (kea-dhcp6, its listener on ha_port_v6), the
 * primary serving each pool whole; MAAS's own v6 (no failover, each rack
 * half of a pool, spec C.4) is kept behind kea_paths.v6_split for a pair
 * whose other rack is a MAAS rack, since the two cannot interoperate.  A
 * peer-less network on an interface an HA instance already serves (a
 * relayed VLAN, which MAAS gives the DHCP VLAN's interface) joins that
 * instance: two processes must never listen on one interface, and both
 * racks of the DHCP VLAN serve the relayed one, so HA keeps them from
 * handing out the same address twice.
 *
 * Pure: no I/O.  Boot-loader client classes (the if/elsif chain MAAS's rack
 * renders, C.5) are not generated yet: only the PXE short-lease class.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "amp.h"
#include "bytes.h"
#include "kea_config.h"
#include "kea_tls.h"
#include "xmalloc.h"

__extension__ typedef unsigned __int128 u128;

struct net {
	int	 family;
	u128	 first, last;
	int	 prefix;
	char	 text[INET6_ADDRSTRLEN + 5];	/* canonical, host bits clear */
};

struct bpeer {
	const char	*name, *mode;
	char		 self[INET6_ADDRSTRLEN], other[INET6_ADDRSTRLEN];
	int		 inst;
};

struct bsub {
	const json_t	*j;
	size_t		 ni, si;		/* shared_networks[ni].subnets[si] */
	struct net	 net;
	uint32_t	 id;
	json_t		*resv;		/* reservations */
	json_t		*resv_mac;	/* mac -> index in resv */
};

struct binst {
	char	 *name;
	int	  peer;			/* -1: standalone */
	size_t	 *nets;
	size_t	  n_nets;
	char	**ifaces;
	size_t	  n_ifaces;
};

struct build {
	int		 family;
	const json_t	*args;
	struct kea_paths paths;
	struct kea_plan	*plan;
	struct bpeer	*peers;
	size_t		 n_peers;
	int		*netpeer;	/* per shared network; -1 none */
	int		*netinst;
	struct bsub	*subs;
	size_t		 n_subs;
	struct binst	*insts;
	size_t		 n_insts;
};

/* --- small helpers --------------------------------------------------- */

static const char *
jstr(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
ip_parse(const char *s, int family, u128 *out)
{
	uint8_t b[16];
	u128 v = 0;
	int i;

	if (family == 4) {
		if (inet_pton(AF_INET, s, b) != 1)
			return -1;
		for (i = 0; i < 4; i++)
			v = (v << 8) | b[i];
	} else {
		if (inet_pton(AF_INET6, s, b) != 1)
			return -1;
		for (i = 0; i < 16; i++)
			v = (v << 8) | b[i];
	}
	*out = v;
	return 0;
}

static void
ip_text(int family, u128 v, char *buf, size_t len)
{
	uint8_t b[16];
	int i, n = family == 4 ? 4 : 16;

	for (i = n - 1; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
	inet_ntop(family == 4 ? AF_INET : AF_INET6, b, buf, (socklen_t)len);
}

/* Canonical text of an address of either family; -1 if not one. */
static int
ip_canon(const char *s, char *buf, size_t len)
{
	uint8_t b[16];

	if (inet_pton(AF_INET, s, b) == 1)
		return inet_ntop(AF_INET, b, buf, (socklen_t)len) ? 4 : -1;
	if (inet_pton(AF_INET6, s, b) == 1)
		return inet_ntop(AF_INET6, b, buf, (socklen_t)len) ? 6 : -1;
	return -1;
}

/* Parse a CIDR (already checked by dhcp_args_check) and clear host bits:
 * Kea wants the network address, MAAS always sends it, but a stray host
 * bit must not change the subnet id on one rack only. */
static int
net_parse(const char *s, int family, struct net *n)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	int bits = family == 4 ? 32 : 128;
	u128 v, mask;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
		return -1;
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	if (ip_parse(addr, family, &v) == -1)
		return -1;
	n->family = family;
	n->prefix = atoi(slash + 1);
	if (n->prefix < 0 || n->prefix > bits)
		return -1;
	if (n->prefix == 0)
		mask = 0;
	else
		mask = ~(u128)0 << (128 - n->prefix);
	if (family == 4)
		mask = (mask >> 96) & 0xffffffffu;
	n->first = v & mask;
	n->last = n->first | (~mask & (family == 4 ? (u128)0xffffffffu :
	    ~(u128)0));
	ip_text(family, n->first, buf, sizeof(buf));
	snprintf(n->text, sizeof(n->text), "%s/%d", buf, n->prefix);
	return 0;
}

static int
net_contains(const struct net *n, u128 v)
{
	return v >= n->first && v <= n->last;
}

static int
strv_has(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void RACKD_PRINTF(2, 3)
note(struct build *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	xstrv_push(&b->plan->notes, &b->plan->n_notes, s);
}

/* The first non-blank line of a snippet, trimmed, for error items. */
static char *
first_line(const char *v)
{
	const char *e;

	for (;;) {
		while (*v == ' ' || *v == '\t' || *v == '\r')
			v++;
		if (*v != '\n')
			break;
		v++;
	}
	e = v + strcspn(v, "\r\n");
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return xstrndup(v, e - v);
}

static void
skip_snippets(struct build *b, const json_t *list, const char *fmt, ...)
    RACKD_PRINTF(3, 4);

/* Record every snippet in list as one Kea cannot apply, under where. */
static void
skip_snippets(struct build *b, const json_t *list, const char *fmt, ...)
{
	struct kea_plan *p = b->plan;
	const json_t *s;
	va_list ap;
	char *w, *t;
	size_t i;

	if (json_array_size(list) == 0)
		return;
	va_start(ap, fmt);
	xvasprintf(&w, fmt, ap);
	va_end(ap);
	json_array_foreach(list, i, s) {
		xasprintf(&t, "%s snippet '%s'", w, jstr(s, "name"));
		/* Two parallel arrays sharing one count. */
		p->skipped_snippets = xreallocarray(p->skipped_snippets,
		    p->n_skipped + 1, sizeof(char *));
		p->skipped_lines = xreallocarray(p->skipped_lines,
		    p->n_skipped + 1, sizeof(char *));
		p->skipped_snippets[p->n_skipped] = t;
		p->skipped_lines[p->n_skipped] = first_line(jstr(s, "value"));
		p->n_skipped++;
	}
	free(w);
}

static void
add_option(json_t *opts, const char *name, const char *data)
{
	json_array_append_new(opts, json_pack("{s:s, s:s}", "name", name,
	    "data", data));
}

/* Names of instances end up in file names: keep them to a safe set. */
static int
name_ok(const char *s)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

/* --- grouping -------------------------------------------------------- */

static int
find_peer(struct build *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->n_peers; i++)
		if (strcmp(b->peers[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
load_peers(struct build *b, char **cause)
{
	const json_t *fp = json_object_get(b->args, "failover_peers"), *e;
	struct bpeer *p;
	size_t i;

	b->peers = xcalloc(json_array_size(fp) + 1, sizeof(*b->peers));
	json_array_foreach(fp, i, e) {
		p = &b->peers[i];
		p->name = jstr(e, "name");
		p->mode = jstr(e, "mode");
		p->inst = -1;
		if (find_peer(b, p->name) != -1) {
			xasprintf(cause, "failover_peers[%zu]: name: '%s' "
			    "appears twice", i, p->name);
			return -1;
		}
		if (!name_ok(p->name)) {
			xasprintf(cause, "failover_peers[%zu]: name: '%s' has "
			    "characters not usable in a file name", i, p->name);
			return -1;
		}
		ip_canon(jstr(e, "address"), p->self, sizeof(p->self));
		ip_canon(jstr(e, "peer_address"), p->other, sizeof(p->other));
		if (strcmp(p->self, p->other) == 0) {
			xasprintf(cause, "failover_peers[%zu]: address and "
			    "peer_address are both %s", i, p->self);
			return -1;
		}
		b->n_peers++;
	}
	return 0;
}

/* Which peer each shared network's pools name (v4: at most one). */
static int
network_peers(struct build *b, char **cause)
{
	const json_t *nets = json_object_get(b->args, "shared_networks");
	const json_t *n, *s, *pl;
	const char *fp;
	size_t i, j, k;
	int p;

	b->netpeer = xcalloc(json_array_size(nets) + 1, sizeof(int));
	b->netinst = xcalloc(json_array_size(nets) + 1, sizeof(int));
	json_array_foreach(nets, i, n) {
		b->netpeer[i] = -1;
		json_array_foreach(json_object_get(n, "subnets"), j, s) {
			json_array_foreach(json_object_get(s, "pools"), k, pl) {
				if ((fp = jstr(pl, "failover_peer")) == NULL)
					continue;
				if ((p = find_peer(b, fp)) == -1) {
					xasprintf(cause, "shared_networks[%zu]."
					    "subnets[%zu].pools[%zu]: "
					    "failover_peer: '%s' is not in "
					    "failover_peers", i, j, k, fp);
					return -1;
				}
				if (b->family == 6 && b->paths.v6_split)
					continue;	/* halved, no HA */
				if (b->netpeer[i] != -1 && b->netpeer[i] != p) {
					xasprintf(cause, "shared_networks[%zu]: "
					    "pools name two failover peers, "
					    "'%s' and '%s'", i,
					    b->peers[b->netpeer[i]].name, fp);
					return -1;
				}
				b->netpeer[i] = p;
			}
		}
	}
	return 0;
}

static int
new_inst(struct build *b, const char *name, int peer)
{
	struct binst *in;

	b->insts = xreallocarray(b->insts, b->n_insts + 1, sizeof(*b->insts));
	in = &b->insts[b->n_insts];
	memset(in, 0, sizeof(*in));
	in->name = xstrdup(name);
	in->peer = peer;
	return (int)b->n_insts++;
}

static void
inst_add_net(struct build *b, int ii, size_t ni)
{
	struct binst *in = &b->insts[ii];
	const json_t *n;
	const char *ifn;

	in->nets = xreallocarray(in->nets, in->n_nets + 1, sizeof(size_t));
	in->nets[in->n_nets++] = ni;
	b->netinst[ni] = ii;
	n = json_array_get(json_object_get(b->args, "shared_networks"), ni);
	if ((ifn = jstr(n, "interface")) != NULL &&
	    !strv_has(in->ifaces, in->n_ifaces, ifn))
		xstrv_push(&in->ifaces, &in->n_ifaces, xstrdup(ifn));
}

/* The HA instance (or -1) that serves interface ifn. */
static int
iface_owner(struct build *b, const char *ifn)
{
	size_t i;

	for (i = 0; i < b->n_insts; i++)
		if (b->insts[i].peer != -1 &&
		    strv_has(b->insts[i].ifaces, b->insts[i].n_ifaces, ifn))
			return (int)i;
	return -1;
}

static int
group(struct build *b, char **cause)
{
	const json_t *nets = json_object_get(b->args, "shared_networks");
	const json_t *n, *ifs, *e;
	const char *ifn;
	size_t i, p;
	int ii, owner, standalone = -1;

	/* One HA instance per peer that some network uses, in peer order. */
	for (p = 0; p < b->n_peers; p++) {
		for (i = 0; i < json_array_size(nets); i++)
			if (b->netpeer[i] == (int)p)
				break;
		if (i == json_array_size(nets))
			continue;
		ii = new_inst(b, b->peers[p].name, (int)p);
		b->peers[p].inst = ii;
		json_array_foreach(nets, i, n) {
			if (b->netpeer[i] != (int)p)
				continue;
			ifn = jstr(n, "interface");
			if (ifn != NULL && (owner = iface_owner(b, ifn)) != -1 &&
			    owner != ii) {
				xasprintf(cause, "shared_networks[%zu]: interface "
				    "'%s' is already served by %s; Kea 2.2 runs "
				    "one HA relationship per process", i, ifn,
				    b->insts[owner].name);
				return -1;
			}
			inst_add_net(b, ii, i);
		}
	}

	json_array_foreach(nets, i, n) {
		if (b->netpeer[i] != -1)
			continue;
		ifn = jstr(n, "interface");
		if (ifn != NULL && (owner = iface_owner(b, ifn)) != -1) {
			note(b, "shared network %s has no failover peer but "
			    "shares interface %s with %s: served there, under HA",
			    jstr(n, "name"), ifn, b->insts[owner].name);
			inst_add_net(b, owner, i);
			continue;
		}
		if (standalone == -1)
			standalone = new_inst(b, "standalone", -1);
		inst_add_net(b, standalone, i);
	}

	/*
	 * A standalone instance of relayed networks only (no interface of
	 * its own) still has to listen somewhere: the rack's DHCP interfaces
	 * no HA instance has taken.
	 */
	if (standalone != -1 && b->insts[standalone].n_ifaces == 0) {
		ifs = json_object_get(b->args, "interfaces");
		json_array_foreach(ifs, i, e) {
			ifn = jstr(e, "name");
			if (iface_owner(b, ifn) == -1 &&
			    !strv_has(b->insts[standalone].ifaces,
			    b->insts[standalone].n_ifaces, ifn))
				xstrv_push(&b->insts[standalone].ifaces,
				    &b->insts[standalone].n_ifaces,
				    xstrdup(ifn));
		}
		if (b->insts[standalone].n_ifaces == 0)
			note(b, "standalone: no interface to listen on");
	}
	return 0;
}

/* --- subnet ids ------------------------------------------------------ */

static uint32_t
fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static struct build *sort_build;	/* qsort has no context argument */

static int
sub_cmp(const void *a, const void *b)
{
	const struct bsub *x = &sort_build->subs[*(const size_t *)a];
	const struct bsub *y = &sort_build->subs[*(const size_t *)b];

	return strcmp(x->net.text, y->net.text);
}

static int
id_used(struct build *b, uint32_t id, size_t upto, size_t *order)
{
	size_t i;

	for (i = 0; i < upto; i++)
		if (b->subs[order[i]].id == id)
			return 1;
	return 0;
}

static int
collect_subnets(struct build *b, char **cause)
{
	const json_t *nets = json_object_get(b->args, "shared_networks");
	const json_t *n, *s;
	struct bsub *x, *y;
	size_t i, j, *order;
	uint32_t id;

	json_array_foreach(nets, i, n) {
		json_array_foreach(json_object_get(n, "subnets"), j, s) {
			b->subs = xreallocarray(b->subs, b->n_subs + 1,
			    sizeof(*b->subs));
			x = &b->subs[b->n_subs];
			memset(x, 0, sizeof(*x));
			x->j = s;
			x->ni = i;
			x->si = j;
			if (net_parse(jstr(s, "subnet_cidr"), b->family,
			    &x->net) == -1) {
				xasprintf(cause, "shared_networks[%zu].subnets"
				    "[%zu]: subnet_cidr: not a CIDR", i, j);
				return -1;
			}
			x->resv = json_array();
			x->resv_mac = json_object();
			b->n_subs++;
		}
	}

	/*
	 * Ids are assigned in CIDR order, not argument order, so a v6 probe
	 * after a hash collision lands the same way however the region
	 * orders the networks.
	 */
	order = xcalloc(b->n_subs + 1, sizeof(*order));
	for (i = 0; i < b->n_subs; i++)
		order[i] = i;
	sort_build = b;
	qsort(order, b->n_subs, sizeof(*order), sub_cmp);
	sort_build = NULL;
	for (i = 0; i < b->n_subs; i++) {
		x = &b->subs[order[i]];
		if (i > 0 && strcmp(x->net.text,
		    b->subs[order[i - 1]].net.text) == 0) {
			y = &b->subs[order[i - 1]];
			xasprintf(cause, "shared_networks[%zu].subnets[%zu]: "
			    "subnet_cidr: %s is also shared_networks[%zu]."
			    "subnets[%zu]", x->ni, x->si, x->net.text, y->ni,
			    y->si);
			free(order);
			return -1;
		}
		if (b->family == 4) {
			id = (uint32_t)x->net.first;
			if (id == 0 || id == UINT32_MAX) {
				xasprintf(cause, "shared_networks[%zu].subnets"
				    "[%zu]: subnet_cidr: %s gives no usable "
				    "subnet id", x->ni, x->si, x->net.text);
				free(order);
				return -1;
			}
		} else {
			id = fnv1a32(x->net.text);
			while (id == 0 || id == UINT32_MAX ||
			    id_used(b, id, i, order))
				id++;
		}
		x->id = id;
	}
	free(order);
	return 0;
}

/* Most specific subnet containing ip, or NULL. */
static struct bsub *
subnet_for(struct build *b, u128 ip)
{
	struct bsub *best = NULL;
	size_t i;

	for (i = 0; i < b->n_subs; i++)
		if (net_contains(&b->subs[i].net, ip) &&
		    (best == NULL || b->subs[i].net.prefix > best->net.prefix))
			best = &b->subs[i];
	return best;
}

/* --- hosts ----------------------------------------------------------- */

/* Normalise colon hex to two lowercase digits per octet. */
static void
mac_norm(const char *in, char *out)
{
	int octet;
	unsigned int v;
	char *end;

	for (octet = 0; octet < 6; octet++) {
		v = (unsigned int)strtoul(in, &end, 16);
		snprintf(out + octet * 3, 4, octet < 5 ? "%02x:" : "%02x", v);
		in = end + 1;
	}
}

static void
place_hosts(struct build *b)
{
	const json_t *hosts = json_object_get(b->args, "hosts"), *h, *idx;
	struct bsub *s;
	char mac[18], ipt[INET6_ADDRSTRLEN];
	json_t *r;
	size_t i;
	u128 ip;

	json_array_foreach(hosts, i, h) {
		mac_norm(jstr(h, "mac"), mac);
		skip_snippets(b, json_object_get(h, "dhcp_snippets"),
		    "host '%s' (%s)", jstr(h, "host"), mac);
		if (ip_parse(jstr(h, "ip"), b->family, &ip) == -1 ||
		    (s = subnet_for(b, ip)) == NULL) {
			note(b, "host '%s' (%s): %s is outside every served "
			    "subnet; no reservation", jstr(h, "host"), mac,
			    jstr(h, "ip"));
			continue;
		}
		ip_text(b->family, ip, ipt, sizeof(ipt));
		if (b->family == 4)
			r = json_pack("{s:s, s:s}", "hw-address", mac,
			    "ip-address", ipt);
		else
			r = json_pack("{s:s, s:[s]}", "hw-address", mac,
			    "ip-addresses", ipt);
		/* One MAC once per subnet; like MAAS, the last one wins. */
		if ((idx = json_object_get(s->resv_mac, mac)) != NULL)
			json_array_set_new(s->resv,
			    (size_t)json_integer_value(idx), r);
		else {
			json_object_set_new(s->resv_mac, mac,
			    json_integer((json_int_t)json_array_size(s->resv)));
			json_array_append_new(s->resv, r);
		}
	}
}

/* --- per-subnet JSON ------------------------------------------------- */

static char *
join_filtered(struct build *b, const json_t *list, int want, const char *sn,
    const char *what)
{
	const json_t *e;
	const char *s;
	char canon[INET6_ADDRSTRLEN], *out = NULL, *t;
	size_t i;
	int fam;

	json_array_foreach(list, i, e) {
		s = json_string_value(e);
		fam = ip_canon(s, canon, sizeof(canon));
		if (fam == -1) {
			note(b, "subnet %s: %s '%s' is a hostname; left out "
			    "(resolve it before planning)", sn, what, s);
			continue;
		}
		if (fam != want) {
			note(b, "subnet %s: %s %s is IPv%d; left out of the "
			    "DHCPv%d options", sn, what, canon, fam,
			    b->family);
			continue;
		}
		if (out == NULL)
			out = xstrdup(canon);
		else {
			xasprintf(&t, "%s, %s", out, canon);
			free(out);
			out = t;
		}
	}
	return out;
}

static int
build_pools(struct build *b, struct bsub *x, json_t *pools, char **cause)
{
	const json_t *pl;
	const char *fp;
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN], *r;
	size_t k;
	u128 low, high, half;
	int p;

	json_array_foreach(json_object_get(x->j, "pools"), k, pl) {
		ip_parse(jstr(pl, "ip_range_low"), b->family, &low);
		ip_parse(jstr(pl, "ip_range_high"), b->family, &high);
		if (low > high) {
			xasprintf(cause, "shared_networks[%zu].subnets[%zu]."
			    "pools[%zu]: ip_range_low is above ip_range_high",
			    x->ni, x->si, k);
			return -1;
		}
		if (!net_contains(&x->net, low) ||
		    !net_contains(&x->net, high)) {
			xasprintf(cause, "shared_networks[%zu].subnets[%zu]."
			    "pools[%zu]: %s - %s is outside %s", x->ni, x->si,
			    k, jstr(pl, "ip_range_low"),
			    jstr(pl, "ip_range_high"), x->net.text);
			return -1;
		}
		ip_text(b->family, low, lo, sizeof(lo));
		ip_text(b->family, high, hi, sizeof(hi));
		skip_snippets(b, json_object_get(pl, "dhcp_snippets"),
		    "subnet %s pool %s - %s", x->net.text, lo, hi);
		fp = jstr(pl, "failover_peer");
		if (b->family == 6 && fp != NULL && b->paths.v6_split) {
			/* C.4: primary the lower half, secondary the upper;
			 * size/2 without overflowing on a full range. */
			p = find_peer(b, fp);
			half = (high - low) / 2 + ((high - low) & 1);
			if (strcmp(b->peers[p].mode, "primary") == 0) {
				if (half == 0) {
					note(b, "subnet %s pool %s - %s: one "
					    "address, all of it the secondary's",
					    x->net.text, lo, hi);
					continue;
				}
				high = low + half - 1;
			} else
				low = low + half;
			ip_text(b->family, low, lo, sizeof(lo));
			ip_text(b->family, high, hi, sizeof(hi));
		}
		xasprintf(&r, "%s - %s", lo, hi);
		json_array_append_new(pools, json_pack("{s:s}", "pool", r));
		free(r);
	}
	return 0;
}

static json_t *
build_subnet(struct build *b, struct bsub *x, const json_t *net,
    const struct binst *in, char **cause)
{
	const json_t *s = x->j, *mtu;
	const char *v, *ifn = jstr(net, "interface");
	char *t, buf[INET6_ADDRSTRLEN];
	json_t *sj, *opts, *pools;
	u128 self;

	sj = json_pack("{s:I, s:s}", "id", (json_int_t)x->id, "subnet",
	    x->net.text);
	opts = json_array();
	pools = json_array();

	if (b->family == 4) {
		/* next-server: the rack's own address on this subnet. */
		if (b->paths.rack_ip != NULL) {
			if (b->paths.rack_ip(b->paths.rack_ip_arg, 4,
			    x->net.text, ifn, buf, sizeof(buf)) == 0)
				json_object_set_new(sj, "next-server",
				    json_string(buf));
		} else if (in->peer != -1 &&
		    ip_parse(b->peers[in->peer].self, 4, &self) == 0 &&
		    net_contains(&x->net, self))
			json_object_set_new(sj, "next-server",
			    json_string(b->peers[in->peer].self));
		else if (b->paths.next_server != NULL)
			json_object_set_new(sj, "next-server",
			    json_string(b->paths.next_server));

		if ((v = jstr(s, "router_ip")) != NULL && *v != '\0')
			add_option(opts, "routers", v);
		if ((t = join_filtered(b, json_object_get(s, "dns_servers"), 4,
		    x->net.text, "DNS server")) != NULL) {
			add_option(opts, "domain-name-servers", t);
			free(t);
		}
		if ((v = jstr(s, "domain_name")) != NULL && *v != '\0')
			add_option(opts, "domain-name", v);
	} else {
		if ((t = join_filtered(b, json_object_get(s, "dns_servers"), 6,
		    x->net.text, "DNS server")) != NULL) {
			add_option(opts, "dns-servers", t);
			free(t);
		}
	}
	if (json_array_size(json_object_get(s, "search_list")) > 0) {
		const json_t *e;
		size_t i;

		t = NULL;
		json_array_foreach(json_object_get(s, "search_list"), i, e) {
			char *u;

			if (t == NULL)
				t = xstrdup(json_string_value(e));
			else {
				xasprintf(&u, "%s, %s", t,
				    json_string_value(e));
				free(t);
				t = u;
			}
		}
		add_option(opts, "domain-search", t);
		free(t);
	}
	if ((t = join_filtered(b, json_object_get(s, "ntp_servers"),
	    b->family, x->net.text, "NTP server")) != NULL) {
		add_option(opts, b->family == 4 ? "ntp-servers" :
		    "sntp-servers", t);
		free(t);
	}
	if (b->family == 4) {
		mtu = json_object_get(net, "mtu");
		if (json_is_integer(mtu) && json_integer_value(mtu) != 1500) {
			xasprintf(&t, "%lld",
			    (long long)json_integer_value(mtu));
			add_option(opts, "interface-mtu", t);
			free(t);
		}
		if ((v = jstr(s, "broadcast_ip")) != NULL &&
		    ip_parse(v, 4, &self) == 0)
			add_option(opts, "broadcast-address", v);
	}
	json_object_set_new(sj, "option-data", opts);

	skip_snippets(b, json_object_get(s, "dhcp_snippets"), "subnet %s",
	    x->net.text);
	if (build_pools(b, x, pools, cause) == -1) {
		json_decref(pools);
		json_decref(sj);
		return NULL;
	}
	json_object_set_new(sj, "pools", pools);
	if (json_array_size(x->resv) > 0)
		json_object_set(sj, "reservations", x->resv);
	return sj;
}

/* --- per-instance JSON ----------------------------------------------- */

static char *
hook_path(struct build *b, const char *lib)
{
	char *s;

	xasprintf(&s, "%s/%s", b->paths.hooks_dir, lib);
	return s;
}

/*
 * HA over TLS (kea_tls.h): the dedicated listener asks for a client
 * certificate signed by the CA both racks derive from the MAAS secret.
 * Kea 2.2 takes the listener's certificate from this server's peer entry
 * and the client's from the partner's, so both entries name this rack's
 * own certificate.  Basic auth is not used: 2.2.0's dedicated listener
 * does not enforce it.
 */
static void
ha_tls(struct build *b, const struct bpeer *p, json_t *ha)
{
	const char *id = b->paths.ha_tls_id, *dd = b->paths.data_dir;
	char *ca = kea_tls_ca_path(dd, id), *crt, *key;
	json_t *pe;
	size_t i;

	crt = kea_tls_cert_path(dd, id, p->self);
	key = kea_tls_key_path(dd, id, p->self);
	json_object_set_new(ha, "require-client-certs", json_true());
	json_array_foreach(json_object_get(ha, "peers"), i, pe) {
		json_object_set_new(pe, "trust-anchor", json_string(ca));
		json_object_set_new(pe, "cert-file", json_string(crt));
		json_object_set_new(pe, "key-file", json_string(key));
	}
	free(ca);
	free(crt);
	free(key);
}

static json_t *
ha_block(struct build *b, const struct bpeer *p)
{
	const char *pri, *sby, *scheme;
	char *pn, *sn, *pu, *su, *me;
	json_t *ha;
	int primary = strcmp(p->mode, "primary") == 0;
	const char *tls = b->paths.ha_tls_id;
	/* Port plan: v4's listener on ha_port, v6's on ha_port_v6, so the
	 * two families of one rack never contend for one port (a v4 and a
	 * v6 peer address are different sockets anyway, but a firewall rule
	 * or a ss(8) line then names one family). */
	int port = b->family == 6 ? b->paths.ha_port_v6 : b->paths.ha_port;

	/* Both racks list the peers in the same order, so their configs
	 * differ only in this-server-name and the interfaces. */
	pri = primary ? p->self : p->other;
	sby = primary ? p->other : p->self;
	xasprintf(&pn, "rack-%s", pri);
	xasprintf(&sn, "rack-%s", sby);
	scheme = tls != NULL ? "https" : "http";
	if (strchr(pri, ':') != NULL)
		xasprintf(&pu, "%s://[%s]:%d/", scheme, pri, port);
	else
		xasprintf(&pu, "%s://%s:%d/", scheme, pri, port);
	if (strchr(sby, ':') != NULL)
		xasprintf(&su, "%s://[%s]:%d/", scheme, sby, port);
	else
		xasprintf(&su, "%s://%s:%d/", scheme, sby, port);
	me = primary ? pn : sn;

	ha = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:b,"
	    " s:{s:b, s:b, s:i, s:i},"
	    " s:[{s:s, s:s, s:s, s:b}, {s:s, s:s, s:s, s:b}]}",
	    "this-server-name", me,
	    "mode", "hot-standby",
	    "heartbeat-delay", b->paths.heartbeat_ms,
	    "max-response-delay", b->paths.max_response_ms,
	    "max-ack-delay", b->paths.max_ack_ms,
	    "max-unacked-clients", b->paths.max_unacked,
	    "sync-timeout", 60000,
	    "send-lease-updates", 1,
	    "sync-leases", 1,
	    "restrict-commands", 1,
	    "multi-threading",
	    "enable-multi-threading", 1,
	    "http-dedicated-listener", 1,
	    "http-listener-threads", 1,
	    "http-client-threads", 1,
	    "peers",
	    "name", pn, "url", pu, "role", "primary", "auto-failover", 1,
	    "name", sn, "url", su, "role", "standby", "auto-failover", 1);
	if (tls != NULL)
		ha_tls(b, p, ha);
	free(pn);
	free(sn);
	free(pu);
	free(su);
	return ha;
}

static int
build_instance(struct build *b, const struct binst *in,
    struct kea_instance *ki, char **cause)
{
	const json_t *nets = json_object_get(b->args, "shared_networks");
	const json_t *n;
	const char *fam = b->family == 4 ? "4" : "6";
	const char *ifn;
	json_t *top, *d, *ifaces, *hooks, *sns, *snj, *subs, *sj;
	char *sock, *lease, *lib, key[8];
	size_t i, k;

	xasprintf(&sock, "%s/kea%s-%s.sock", b->paths.run_dir, fam, in->name);
	if (strlen(sock) > KEA_SOCKET_PATH_MAX) {
		xasprintf(cause, "%s: control socket %s is %zu bytes, over "
		    "the %d a UNIX socket allows", in->name, sock,
		    strlen(sock), KEA_SOCKET_PATH_MAX);
		free(sock);
		return -1;
	}
	xasprintf(&lease, "%s/dhcp/kea%s-%s.leases", b->paths.data_dir, fam,
	    in->name);

	ifaces = json_array();
	for (i = 0; i < in->n_ifaces; i++)
		json_array_append_new(ifaces, json_string(in->ifaces[i]));

	d = json_object();
	/* An interface that is not ready yet (link down at boot, an IPv6
	 * link-local address still in duplicate address detection) must not
	 * leave Kea deaf for good: retry binding every second for a while,
	 * and serve on the interfaces that did open meanwhile. */
	if (b->family == 4)
		json_object_set_new(d, "interfaces-config", json_pack(
		    "{s:o, s:s, s:b, s:i, s:i}", "interfaces", ifaces,
		    "dhcp-socket-type", "raw", "service-sockets-require-all", 0,
		    "service-sockets-max-retries", 600,
		    "service-sockets-retry-wait-time", 1000));
	else
		json_object_set_new(d, "interfaces-config", json_pack(
		    "{s:o, s:b, s:i, s:i}", "interfaces", ifaces,
		    "service-sockets-require-all", 0,
		    "service-sockets-max-retries", 600,
		    "service-sockets-retry-wait-time", 1000));
	json_object_set_new(d, "control-socket", json_pack("{s:s, s:s}",
	    "socket-type", "unix", "socket-name", sock));
	json_object_set_new(d, "lease-database", json_pack(
	    "{s:s, s:b, s:s, s:i}", "type", "memfile", "persist", 1, "name",
	    lease, "lfc-interval", KEA_LFC_INTERVAL));
	/* Core MT: without it the HA dedicated listener silently does not
	 * start and both peers go partner-down (recipes §1). */
	json_object_set_new(d, "multi-threading", json_pack(
	    "{s:b, s:i, s:i}", "enable-multi-threading", 1,
	    "thread-pool-size", 2, "packet-queue-size", 64));
	if (b->family == 4) {
		/* MAAS: 600 s leases, 30 s for PXE, ignore client ids. */
		json_object_set_new(d, "valid-lifetime", json_integer(600));
		json_object_set_new(d, "max-valid-lifetime", json_integer(600));
		json_object_set_new(d, "match-client-id", json_false());
	} else {
		char *ddir;

		/* kea-dhcp6 keeps its server DUID in data-directory, which
		 * defaults to /var/lib/kea (not ours, and not writable under
		 * rackd's sandbox): keep it with the leases, so the DUID is
		 * stable across restarts. */
		xasprintf(&ddir, "%s/dhcp", b->paths.data_dir);
		json_object_set_new(d, "data-directory", json_string(ddir));
		free(ddir);
		/* MAAS v6: 1800 s; isc's preferred default is 5/8 of it. */
		json_object_set_new(d, "valid-lifetime", json_integer(1800));
		json_object_set_new(d, "max-valid-lifetime", json_integer(1800));
		json_object_set_new(d, "preferred-lifetime", json_integer(1125));
	}
	/* Bond parents reserve one IP under several MACs. */
	json_object_set_new(d, "ip-reservations-unique", json_false());
	json_object_set_new(d, "host-reservation-identifiers",
	    json_pack("[s]", "hw-address"));
	json_object_set_new(d, "option-def", json_pack(
	    "[{s:s, s:i, s:s, s:s}]", "name", "path-prefix", "code", 210,
	    "type", "string", "space", b->family == 4 ? "dhcp4" : "dhcp6"));
	if (b->family == 4)
		json_object_set_new(d, "client-classes", json_pack(
		    "[{s:s, s:s, s:i, s:i, s:i}]", "name", "PXE",
		    "test", "substring(option[60].hex,0,3) == 'PXE'",
		    "valid-lifetime", 30, "min-valid-lifetime", 30,
		    "max-valid-lifetime", 30));

	/* lease_cmds first: HA's lease updates and syncs need it loaded. */
	hooks = json_array();
	lib = hook_path(b, "libdhcp_lease_cmds.so");
	json_array_append_new(hooks, json_pack("{s:s}", "library", lib));
	free(lib);
	if (in->peer != -1) {
		lib = hook_path(b, "libdhcp_ha.so");
		json_array_append_new(hooks, json_pack("{s:s, s:{s:[o]}}",
		    "library", lib, "parameters", "high-availability",
		    ha_block(b, &b->peers[in->peer])));
		free(lib);
	}
	/* Lease events: rackd's own hook library (no process per event),
	 * or run_script for comparison and when the library is missing. */
	if (b->paths.lease_hook_lib != NULL) {
		json_array_append_new(hooks, json_pack("{s:s, s:{s:s, s:s}}",
		    "library", b->paths.lease_hook_lib, "parameters",
		    "spool", b->paths.lease_spool != NULL ?
		    b->paths.lease_spool : "", "socket",
		    b->paths.lease_socket != NULL ? b->paths.lease_socket : ""));
	} else if (b->paths.lease_hook != NULL) {
		lib = hook_path(b, "libdhcp_run_script.so");
		json_array_append_new(hooks, json_pack("{s:s, s:{s:s, s:b}}",
		    "library", lib, "parameters", "name", b->paths.lease_hook,
		    "sync", 0));
		free(lib);
	}
	json_object_set_new(d, "hooks-libraries", hooks);

	snprintf(key, sizeof(key), "subnet%s", fam);
	sns = json_array();
	for (i = 0; i < in->n_nets; i++) {
		n = json_array_get(nets, in->nets[i]);
		snj = json_pack("{s:s}", "name", jstr(n, "name"));
		if ((ifn = jstr(n, "interface")) != NULL)
			json_object_set_new(snj, "interface", json_string(ifn));
		subs = json_array();
		for (k = 0; k < b->n_subs; k++) {
			if (b->subs[k].ni != in->nets[i])
				continue;
			if ((sj = build_subnet(b, &b->subs[k], n, in,
			    cause)) == NULL) {
				json_decref(subs);
				json_decref(snj);
				json_decref(sns);
				json_decref(d);
				free(sock);
				free(lease);
				return -1;
			}
			json_array_append_new(subs, sj);
		}
		json_object_set_new(snj, key, subs);
		json_array_append_new(sns, snj);
	}
	json_object_set_new(d, "shared-networks", sns);
	if (b->family == 4)
		kea_boot_classes_add(d);

	/* config-set replaces logging too; say it every time (D.6). */
	json_object_set_new(d, "loggers", json_pack(
	    "[{s:s, s:[{s:s}], s:s, s:i}]", "name",
	    b->family == 4 ? "kea-dhcp4" : "kea-dhcp6", "output_options",
	    "output", "stderr", "severity", "INFO", "debuglevel", 0));

	snprintf(key, sizeof(key), "Dhcp%s", fam);
	top = json_object();
	json_object_set_new(top, key, d);

	ki->name = xstrdup(in->name);
	ki->family = b->family;
	ki->ha = in->peer != -1;
	if (ki->ha) {
		const struct bpeer *p = &b->peers[in->peer];

		ki->role = xstrdup(strcmp(p->mode, "primary") == 0 ?
		    "primary" : "standby");
		ki->this_address = xstrdup(p->self);
		ki->peer_address = xstrdup(p->other);
		xasprintf(&ki->mode, "Kea HA hot-standby, this rack %s, "
		    "partner %s, listener %s%s%s:%d (%s), %s", ki->role,
		    p->other, strchr(p->self, ':') != NULL ? "[" : "", p->self,
		    strchr(p->self, ':') != NULL ? "]" : "", b->family == 6 ?
		    b->paths.ha_port_v6 : b->paths.ha_port,
		    b->paths.ha_tls_id != NULL ? "TLS" : "plain HTTP",
		    ki->role[0] == 'p' ? "serving the whole pool" :
		    "serving when the primary is down");
	} else if (b->family == 6 && b->paths.v6_split && b->n_peers > 0)
		ki->mode = xstrdup("standalone; pools with a failover peer "
		    "halved with the partner rack as MAAS does (no HA)");
	else
		ki->mode = xstrdup("standalone (no failover peer)");
	ki->interfaces = xcalloc(in->n_ifaces + 1, sizeof(char *));
	for (i = 0; i < in->n_ifaces; i++)
		ki->interfaces[i] = xstrdup(in->ifaces[i]);
	ki->n_interfaces = in->n_ifaces;
	ki->socket_path = sock;
	ki->lease_path = lease;
	ki->config = top;
	return 0;
}

static void
build_free(struct build *b)
{
	size_t i;

	free(b->peers);
	free(b->netpeer);
	free(b->netinst);
	for (i = 0; i < b->n_subs; i++) {
		json_decref(b->subs[i].resv);
		json_decref(b->subs[i].resv_mac);
	}
	free(b->subs);
	for (i = 0; i < b->n_insts; i++) {
		free(b->insts[i].name);
		free(b->insts[i].nets);
		xstrv_free_n(b->insts[i].ifaces, b->insts[i].n_ifaces);
	}
	free(b->insts);
}

static int	plan_build(const json_t *, int, const struct kea_paths *,
		    struct kea_plan *, char **);

int
kea_plan_build(const json_t *args, int family, const struct kea_paths *paths,
    struct kea_plan *out, char **cause)
{
	char *why = NULL;
	int rc;

	rc = plan_build(args, family, paths, out, &why);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return rc;
}

static int
plan_build(const json_t *args, int family, const struct kea_paths *paths,
    struct kea_plan *out, char **cause)
{
	struct build b;
	const json_t *nets;
	char *why = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (dhcp_args_check(args, family, cause) == -1)
		return -1;
	if (paths == NULL || paths->run_dir == NULL ||
	    paths->data_dir == NULL) {
		xasprintf(cause, "paths: run_dir and data_dir are required");
		return -1;
	}
	memset(&b, 0, sizeof(b));
	b.family = family;
	b.args = args;
	b.plan = out;
	b.paths = *paths;
	if (b.paths.hooks_dir == NULL)
		b.paths.hooks_dir = KEA_HOOKS_DIR;
	if (b.paths.ha_port <= 0 || b.paths.ha_port > 65535)
		b.paths.ha_port = KEA_HA_PORT_DEFAULT;
	if (b.paths.ha_port_v6 <= 0 || b.paths.ha_port_v6 > 65535)
		b.paths.ha_port_v6 = KEA_HA6_PORT_DEFAULT;
	if (b.paths.heartbeat_ms <= 0)
		b.paths.heartbeat_ms = KEA_HEARTBEAT_MS_DEFAULT;
	if (b.paths.max_response_ms <= 0)
		b.paths.max_response_ms = KEA_MAX_RESPONSE_MS_DEFAULT;
	if (b.paths.max_ack_ms <= 0)
		b.paths.max_ack_ms = KEA_MAX_ACK_MS_DEFAULT;
	if (b.paths.max_unacked < 0)
		b.paths.max_unacked = KEA_MAX_UNACKED_DEFAULT;

	/* Global snippets are reported even when this family is off, so
	 * ValidateDHCP*Config on a rack without networks still says so. */
	skip_snippets(&b, json_object_get(args, "global_dhcp_snippets"),
	    "global");
	nets = json_object_get(args, "shared_networks");
	if (json_array_size(nets) == 0)
		return 0;

	if (load_peers(&b, cause) == -1 || network_peers(&b, cause) == -1 ||
	    group(&b, cause) == -1 || collect_subnets(&b, cause) == -1)
		goto fail;
	place_hosts(&b);

	out->inst = xcalloc(b.n_insts, sizeof(*out->inst));
	for (i = 0; i < b.n_insts; i++) {
		if (build_instance(&b, &b.insts[i], &out->inst[i], cause) == -1)
			goto fail;
		out->n++;
		/* Our own output must pass our own HA checks. */
		if (kea_check_ha(out->inst[i].config, &why) == -1) {
			xasprintf(cause, "%s: generated HA config is wrong: %s",
			    out->inst[i].name, why);
			free(why);
			goto fail;
		}
	}
	build_free(&b);
	return 0;
fail:
	build_free(&b);
	kea_plan_free(out);
	return -1;
}

void
kea_plan_free(struct kea_plan *p)
{
	struct kea_instance *ki;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		ki = &p->inst[i];
		free(ki->name);
		free(ki->role);
		free(ki->mode);
		free(ki->this_address);
		free(ki->peer_address);
		xstrv_free_n(ki->interfaces, ki->n_interfaces);
		free(ki->socket_path);
		free(ki->lease_path);
		json_decref(ki->config);
	}
	free(p->inst);
	xstrv_free_n(p->skipped_snippets, p->n_skipped);
	xstrv_free_n(p->skipped_lines, p->n_skipped);
	xstrv_free_n(p->notes, p->n_notes);
	memset(p, 0, sizeof(*p));
}

/* --- HA checks ------------------------------------------------------- */

static const char *
lib_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* http[s]://<IPv4 or [IPv6]>:<port>[/] */
static int
url_ok(const char *u)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *p, *e;
	uint8_t buf[16];
	char *end;
	long port;

	if (strncmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return 0;
	if (*p == '[') {
		if ((e = strchr(p, ']')) == NULL ||
		    (size_t)(e - p - 1) >= sizeof(host))
			return 0;
		memcpy(host, p + 1, e - p - 1);
		host[e - p - 1] = '\0';
		if (inet_pton(AF_INET6, host, buf) != 1)
			return 0;
		p = e + 1;
	} else {
		e = p + strcspn(p, ":/");
		if ((size_t)(e - p) >= sizeof(host))
			return 0;
		memcpy(host, p, e - p);
		host[e - p] = '\0';
		if (inet_pton(AF_INET, host, buf) != 1)
			return 0;
		p = e;
	}
	if (*p++ != ':' || !isdigit((unsigned char)*p))
		return 0;
	port = strtol(p, &end, 10);
	if (port < 1 || port > 65535)
		return 0;
	return *end == '\0' || strcmp(end, "/") == 0;
}

static int
check_ha(const json_t *config, char **cause)
{
	const json_t *top, *hooks, *h, *hal, *ha, *peers, *pe, *mt, *core, *q;
	const char *lib, *me, *mode, *name, *url, *role;
	size_t i, j;
	int lc = -1, hi = -1, nha = 0, found = 0;
	int n_pri = 0, n_sby = 0, n_sec = 0;

	if ((top = json_object_get(config, "Dhcp4")) == NULL &&
	    (top = json_object_get(config, "Dhcp6")) == NULL) {
		xasprintf(cause, "no Dhcp4 or Dhcp6 object");
		return -1;
	}
	hooks = json_object_get(top, "hooks-libraries");
	json_array_foreach(hooks, i, h) {
		if ((lib = jstr(h, "library")) == NULL)
			continue;
		if (strcmp(lib_base(lib), "libdhcp_lease_cmds.so") == 0 &&
		    lc == -1)
			lc = (int)i;
		if (strcmp(lib_base(lib), "libdhcp_ha.so") == 0) {
			if (hi == -1)
				hi = (int)i;
			nha++;
		}
	}
	if (nha == 0)
		return 0;
	if (nha > 1) {
		xasprintf(cause, "libdhcp_ha.so is loaded %d times", nha);
		return -1;
	}
	if (lc == -1 || lc > hi) {
		xasprintf(cause, "libdhcp_lease_cmds.so must be loaded before "
		    "libdhcp_ha.so");
		return -1;
	}
	h = json_array_get(hooks, (size_t)hi);
	hal = json_object_get(json_object_get(h, "parameters"),
	    "high-availability");
	if (!json_is_array(hal) || json_array_size(hal) != 1) {
		xasprintf(cause, "high-availability: %zu entries; Kea 2.2 "
		    "supports exactly one", json_array_size(hal));
		return -1;
	}
	ha = json_array_get(hal, 0);
	if ((me = jstr(ha, "this-server-name")) == NULL) {
		xasprintf(cause, "high-availability: no this-server-name");
		return -1;
	}
	mode = jstr(ha, "mode");
	if (mode == NULL || (strcmp(mode, "hot-standby") != 0 &&
	    strcmp(mode, "load-balancing") != 0 &&
	    strcmp(mode, "passive-backup") != 0)) {
		xasprintf(cause, "high-availability: mode '%s' is not "
		    "hot-standby, load-balancing or passive-backup",
		    mode ? mode : "");
		return -1;
	}
	peers = json_object_get(ha, "peers");
	if (json_array_size(peers) < 2) {
		xasprintf(cause, "high-availability: peers: need at least two");
		return -1;
	}
	json_array_foreach(peers, i, pe) {
		name = jstr(pe, "name");
		url = jstr(pe, "url");
		role = jstr(pe, "role");
		if (name == NULL || url == NULL || role == NULL) {
			xasprintf(cause, "high-availability: peers[%zu]: "
			    "needs name, url and role", i);
			return -1;
		}
		if (!url_ok(url)) {
			xasprintf(cause, "high-availability: peers[%zu]: url "
			    "'%s' is not http://<IP literal>:<port>/", i, url);
			return -1;
		}
		for (j = 0; j < i; j++) {
			q = json_array_get(peers, j);
			if (strcmp(jstr(q, "name"), name) == 0 ||
			    strcmp(jstr(q, "url"), url) == 0) {
				xasprintf(cause, "high-availability: peers[%zu]"
				    ": same name or url as peers[%zu]", i, j);
				return -1;
			}
		}
		if (strcmp(name, me) == 0)
			found = 1;
		if (strcmp(role, "primary") == 0)
			n_pri++;
		else if (strcmp(role, "standby") == 0)
			n_sby++;
		else if (strcmp(role, "secondary") == 0)
			n_sec++;
		else if (strcmp(role, "backup") != 0) {
			xasprintf(cause, "high-availability: peers[%zu]: role "
			    "'%s' is unknown", i, role);
			return -1;
		}
	}
	if (!found) {
		xasprintf(cause, "high-availability: this-server-name '%s' is "
		    "not among the peers", me);
		return -1;
	}
	if (n_pri != 1 ||
	    (strcmp(mode, "hot-standby") == 0 && (n_sby != 1 || n_sec != 0)) ||
	    (strcmp(mode, "load-balancing") == 0 &&
	    (n_sec != 1 || n_sby != 0)) ||
	    (strcmp(mode, "passive-backup") == 0 && (n_sec + n_sby) != 0)) {
		xasprintf(cause, "high-availability: roles (%d primary, %d "
		    "standby, %d secondary) do not fit mode %s", n_pri, n_sby,
		    n_sec, mode);
		return -1;
	}
	mt = json_object_get(ha, "multi-threading");
	if (json_is_true(json_object_get(mt, "http-dedicated-listener"))) {
		core = json_object_get(top, "multi-threading");
		if (!json_is_true(json_object_get(mt,
		    "enable-multi-threading"))) {
			xasprintf(cause, "high-availability: "
			    "http-dedicated-listener needs the HA "
			    "enable-multi-threading");
			return -1;
		}
		if (!json_is_true(json_object_get(core,
		    "enable-multi-threading"))) {
			xasprintf(cause, "high-availability: "
			    "http-dedicated-listener needs core "
			    "multi-threading; without it the listener never "
			    "starts and both peers serve");
			return -1;
		}
	}
	return 0;
}

int
kea_check_ha(const json_t *config, char **cause)
{
	char *why = NULL;
	int rc;

	rc = check_ha(config, &why);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return rc;
}

/* --- canonical text and validation errors ---------------------------- */

char *
kea_config_canonical(const json_t *config)
{
	return json_dumps(config, JSON_SORT_KEYS | JSON_COMPACT |
	    JSON_ENCODE_ANY);
}

int
dhcp_validate_errors(const struct kea_plan *p, json_t **errors)
{
	char *e;
	size_t i;

	*errors = json_array();
	for (i = 0; i < p->n_skipped; i++) {
		xasprintf(&e, "%s: isc-dhcpd syntax, which Kea cannot apply; "
		    "it would be ignored", p->skipped_snippets[i]);
		json_array_append_new(*errors, json_pack(
		    "{s:s, s:I, s:s, s:s}", "error", e,
		    "line_num", (json_int_t)(i + 1),
		    "line", p->skipped_lines[i], "position", "^"));
		free(e);
	}
	return (int)p->n_skipped;
}

int
dhcp_validate_errors_encode(const json_t *errors, struct amp_box *out,
    char **cause)
{
	struct amp_box **boxes;
	struct bytes b;
	const json_t *e;
	size_t i, n = json_array_size(errors);
	int rc;

	if (n == 0)
		return 0;
	boxes = xcalloc(n, sizeof(*boxes));
	json_array_foreach(errors, i, e) {
		boxes[i] = amp_box_new();
		amp_box_put_str(boxes[i], "error", jstr(e, "error") ?
		    jstr(e, "error") : "");
		amp_box_put_int(boxes[i], "line_num",
		    (long long)json_integer_value(json_object_get(e,
		    "line_num")));
		amp_box_put_str(boxes[i], "line", jstr(e, "line") ?
		    jstr(e, "line") : "");
		amp_box_put_str(boxes[i], "position", jstr(e, "position") ?
		    jstr(e, "position") : "");
	}
	bytes_init(&b);
	rc = amp_clist_encode(boxes, n, &b, cause);
	amp_list_free(boxes, n);
	if (rc == 0)
		amp_box_put(out, "errors", b.data, b.len);
	bytes_free(&b);
	return rc;
}
