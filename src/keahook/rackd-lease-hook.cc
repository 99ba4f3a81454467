// rackd-lease-hook.cc — Kea 2.2 hook library: every lease event to rackd
// without a process per event (it replaces run_script + rackd-lease-hook).
//
//   { "library": "/usr/lib/rackd/rackd-lease-hook.so",
//     "parameters": { "spool": "<data_dir>/dhcp/lease-hook.spool",
//                     "socket": "<run_dir>/lease.sock" } }
//
// Only the C++ glue lives here: each callout reads the lease members
// run_script would have exported (printed the same way), and hands them to
// rackd's C code (leases.h): lease_event_from_fields() applies the same
// rules as the run_script program, lease_hookfile_append() appends the
// encoded events to the hook spool file rackd already imports and nudges
// rackd's socket.  Why the file and not the socket first: the file is the
// one path that holds whatever rackd's state (down, restarting, swamped),
// and one file in append order keeps every IP's events in the order Kea
// reported them; the nudge (an empty datagram, never blocking) makes rackd
// import it at once instead of on its 1 s tick.  Cost per event: one
// open/flock/write/close and one sendto, no network I/O, lock waits
// bounded at ~100 ms; an fdatasync only while rackd is absent.
//
// Event set (as rackd-lease-hook's run_script table):
//   leases4_committed  deleted_leases4 -> release, then leases4 -> commit
//   lease4_release     -> release
//   lease4_expire, lease4_decline -> expiry
//   leases6_committed, lease6_release, lease6_expire, lease6_decline: same
// Renewals are reported by the leases*_committed that follows them.
//
// Multi-threading compatible: the callouts keep no state but the two paths
// (set at load, read-only after), and every append opens its own locked
// descriptor.
#include <hooks/hooks.h>
#include <dhcpsrv/lease.h>
#include <cc/data.h>

#include <cstdio>
#include <cstdlib>
#include <cstdarg>
#include <cstring>
#include <string>

extern "C" {
#include "leases.h"
}

using namespace isc::hooks;
using namespace isc::dhcp;

namespace {

std::string spool_path;
std::string sock_path;

void
say(const char *what, const char *cause)
{
	// Kea's stderr is its log file under rackd (kea4-<name>.log).
	fprintf(stderr, "rackd-lease-hook.so: %s: %s\n", what, cause);
}

// The v6 lease type ("IA_NA", "IA_PD"...); a v4 lease has none.
std::string lease_type(const Lease4Ptr &) { return ""; }
std::string lease_type(const Lease6Ptr &l) { return Lease::typeToText(l->type_); }

template <typename L>
void
add(struct lease_lines *ll, const L &lease, enum lease_action action,
    enum lease_family family)
{
	struct lease_fields f;
	struct lease_event ev;
	char *cause = NULL;

	if (!lease)
		return;
	std::string addr = lease->addr_.toText();
	std::string hw = lease->hwaddr_ ? lease->hwaddr_->toText(false) : "";
	std::string cltt = std::to_string(static_cast<unsigned long long>(
	    lease->cltt_));
	std::string valid = std::to_string(lease->valid_lft_);
	std::string state = L::element_type::statesToText(lease->state_);
	memset(&f, 0, sizeof(f));
	f.action = action;
	f.family = family;
	f.address = addr.c_str();
	f.hwaddr = hw.c_str();
	f.cltt = cltt.c_str();
	f.valid_lifetime = valid.c_str();
	f.hostname = lease->hostname_.c_str();
	f.state = state.c_str();
	std::string type = lease_type(lease);
	f.type = type.empty() ? NULL : type.c_str();
	switch (lease_event_from_fields(&f, &ev, &cause)) {
	case 0:
		lease_lines_add(ll, &ev);
		break;
	case -1:
		say("lease skipped", cause);
		free(cause);
		break;
	}
}

void
flush(struct lease_lines *ll)
{
	char *cause = NULL;

	if (ll->n > 0 && lease_hookfile_append(spool_path.c_str(), ll->buf,
	    ll->len, sock_path.c_str(), &cause) == -1) {
		say("lease event(s) lost", cause);
		free(cause);
	}
	lease_lines_free(ll);
}

bool
skipped(CalloutHandle &handle)
{
	CalloutHandle::CalloutNextStep st = handle.getStatus();

	return st == CalloutHandle::NEXT_STEP_DROP ||
	    st == CalloutHandle::NEXT_STEP_SKIP;
}

template <typename Coll>
void
add_all(struct lease_lines *ll, CalloutHandle &handle, const char *name,
    enum lease_action action, enum lease_family family)
{
	Coll c;

	handle.getArgument(name, c);
	if (c)
		for (const auto &l : *c)
			add(ll, l, action, family);
}

template <typename Coll>
int
committed(CalloutHandle &handle, const char *deleted, const char *leases,
    enum lease_family family)
{
	struct lease_lines ll = { NULL, 0, 0, 0 };

	if (skipped(handle))
		return 0;
	try {
		add_all<Coll>(&ll, handle, deleted, LEASE_RELEASE, family);
		add_all<Coll>(&ll, handle, leases, LEASE_COMMIT, family);
	} catch (const std::exception &ex) {
		say("callout", ex.what());
	}
	flush(&ll);
	return 0;
}

template <typename Ptr>
int
one(CalloutHandle &handle, const char *name, enum lease_action action,
    enum lease_family family)
{
	struct lease_lines ll = { NULL, 0, 0, 0 };
	Ptr lease;

	if (skipped(handle))
		return 0;
	try {
		handle.getArgument(name, lease);
		add(&ll, lease, action, family);
	} catch (const std::exception &ex) {
		say("callout", ex.what());
	}
	flush(&ll);
	return 0;
}

}  // namespace

extern "C" {

// xmalloc's fatal paths (rackd's log.c is not linked into Kea).
void	fatal(const char *, ...) __attribute__((noreturn));
void	fatalx(const char *, ...) __attribute__((noreturn));

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

int
version()
{
	return KEA_HOOKS_VERSION;
}

int
multi_threading_compatible()
{
	return 1;
}

int
load(LibraryHandle &handle)
{
	isc::data::ConstElementPtr spool = handle.getParameter("spool");
	isc::data::ConstElementPtr sock = handle.getParameter("socket");

	if (!spool || spool->getType() != isc::data::Element::string ||
	    spool->stringValue().empty()) {
		say("load", "the 'spool' parameter (a path) is required");
		return 1;
	}
	spool_path = spool->stringValue();
	if (sock && sock->getType() == isc::data::Element::string)
		sock_path = sock->stringValue();
	return 0;
}

int
unload()
{
	return 0;
}

int
leases4_committed(CalloutHandle &handle)
{
	return committed<Lease4CollectionPtr>(handle, "deleted_leases4",
	    "leases4", LEASE_IPV4);
}

int
lease4_release(CalloutHandle &handle)
{
	return one<Lease4Ptr>(handle, "lease4", LEASE_RELEASE, LEASE_IPV4);
}

int
lease4_decline(CalloutHandle &handle)
{
	return one<Lease4Ptr>(handle, "lease4", LEASE_EXPIRY, LEASE_IPV4);
}

int
lease4_expire(CalloutHandle &handle)
{
	return one<Lease4Ptr>(handle, "lease4", LEASE_EXPIRY, LEASE_IPV4);
}

int
leases6_committed(CalloutHandle &handle)
{
	return committed<Lease6CollectionPtr>(handle, "deleted_leases6",
	    "leases6", LEASE_IPV6);
}

int
lease6_release(CalloutHandle &handle)
{
	return one<Lease6Ptr>(handle, "lease6", LEASE_RELEASE, LEASE_IPV6);
}

int
lease6_decline(CalloutHandle &handle)
{
	return one<Lease6Ptr>(handle, "lease6", LEASE_EXPIRY, LEASE_IPV6);
}

int
lease6_expire(CalloutHandle &handle)
{
	return one<Lease6Ptr>(handle, "lease6", LEASE_EXPIRY, LEASE_IPV6);
}

}  // extern "C"
