# lib.sh — shared helpers for the integration tier (sourced by each test).
#
# Every process a test starts is registered and killed (then reaped) on
# exit, pass or fail; every wait polls against a deadline.  Traffic goes
# to 127.0.0.0/8 only, or into namespaces the test creates itself.

set -u
: "${ROOT:?}" "${TMPDIR_TEST:=$(mktemp -d /tmp/rackd-it.XXXXXX)}"
RACKD=${RACKD:-$ROOT/build/rackd}
RACKD_WRAPPER=${RACKD_WRAPPER:-}
PY=/usr/bin/python3
HELPERS=$ROOT/tests/integration/helpers
T=$TMPDIR_TEST
mkdir -p "$T"
_PIDS=()
_NETNS=()
_CLEANUPS=()

log() { echo "[$(date +%H:%M:%S.%N | cut -c1-12)] $*"; }
fail() { log "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }

_lib_cleanup() {
	local rc=$? p i
	set +e
	for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${_CLEANUPS[$i]}"; done
	for p in "${_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
	for p in "${_PIDS[@]}"; do
		for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in "${_NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$T"/*.log "$T"/*/*.log; do
			[ -f "$f" ] || continue
			echo "----- $(basename "$f") (last 60 lines)"
			tail -60 "$f"
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap _lib_cleanup EXIT
trap 'exit 1' INT TERM

register_pid() { _PIDS+=("$1"); }
on_exit() { _CLEANUPS+=("$1"); }

# wait_for DESCRIPTION SECONDS COMMAND... — poll every 0.1 s until COMMAND
# succeeds or the deadline passes (then fail).
wait_for() {
	local desc=$1 secs=$2; shift 2
	local end=$(( $(date +%s%N) + secs * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	fail "timed out after ${secs}s waiting for: $desc"
}

# now_ms — wall clock in milliseconds.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- secret and config ---------------------------------------------------
SECRET_HEX=0123456789abcdef0123456789abcdef
make_secret() {	# make_secret FILE [HEX]
	printf '%s\n' "${2:-$SECRET_HEX}" > "$1"
	chmod 600 "$1"
}

# write_config FILE URL... — a rackd.conf with private dirs under $T and
# tftp_port ${RACKD_TFTP_PORT:-0}, tftp_root ${RACKD_TFTP_ROOT:-$T/boot-resources/current}.
# Extra YAML can be appended by the caller.
write_config() {
	local f=$1; shift
	mkdir -p "$T/data" "$T/run"
	[ -f "$T/secret" ] || make_secret "$T/secret"
	{
		echo "maas_url:"
		for u in "$@"; do echo "  - $u"; done
		echo "secret_file: $T/secret"
		echo "data_dir: $T/data"
		echo "run_dir: $T/run"
		echo "tftp_root: ${RACKD_TFTP_ROOT:-$T/boot-resources/current}"
		echo "hostname: ${RACK_HOSTNAME:-rack-it-$$}"
		# TFTP off unless a test asks (RACKD_TFTP_PORT): tests running
		# at once must not all grab the host's port 69.
		echo "tftp_port: ${RACKD_TFTP_PORT:-0}"
	} > "$f"
}

# --- fake regions --------------------------------------------------------
# start_region NAME LOOPS [extra fake_region.py args]
# Sets REGION_PID_<NAME>, REGION_HTTP_<NAME>, REGION_CTL_<NAME>.
start_region() {
	local name=$1 loops=$2; shift 2
	local ready=$T/region-$name.ready
	mkdir -p "$T/db"
	[ -f "$T/secret" ] || make_secret "$T/secret"
	rm -f "$ready"
	$PY "$HELPERS/fake_region.py" --name "$name" --loops "$loops" \
		--secret-file "${REGION_SECRET:-$T/secret}" --db "$T/db" \
		--record "$T/region-$name.calls" --log "$T/region-$name.log" \
		--ready-file "$ready" "$@" > "$T/region-$name.out" 2>&1 &
	local pid=$!
	register_pid "$pid"
	wait_for "fake region $name ready" 20 test -s "$ready"
	local line; line=$(cat "$ready")
	eval "REGION_PID_$name=$pid"
	eval "REGION_HTTP_$name=$(echo "$line" | sed -n 's/.* http=\([0-9]*\).*/\1/p')"
	eval "REGION_CTL_$name=$(echo "$line" | sed -n 's/.* control=\([0-9]*\).*/\1/p')"
	log "region $name: pid $pid, $line"
}

region_url() { local v="REGION_HTTP_$1"; echo "http://127.0.0.1:${!v}/MAAS"; }
region_pid() { local v="REGION_PID_$1"; echo "${!v}"; }
# ctl NAME ARGS... — region_ctl.py against region NAME.
ctl() {
	local v="REGION_CTL_$1"; shift
	$PY "$HELPERS/region_ctl.py" --control "${!v}" "$@"
}
kill_region() {	# kill_region NAME [SIGNAL]
	kill -"${2:-KILL}" "$(region_pid "$1")" 2>/dev/null
	if [ "${2:-KILL}" = KILL ]; then wait "$(region_pid "$1")" 2>/dev/null; fi
	return 0
}

# registered_count NAME — connections on region NAME that are registered.
registered_count() {
	ctl "$1" connections | $PY -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c.get("registered")))'
}
# calls_count NAME COMMAND — calls of COMMAND region NAME received.
calls_count() {
	local f=$T/region-$1.calls
	[ -f "$f" ] || { echo 0; return; }
	grep -c "\"command\": \"$2\"" "$f" || true
}

# --- rackd -----------------------------------------------------------------
# start_rackd CONF [args] — starts rackd -d -f CONF in the background with
# stderr in $T/rackd.log (RACKD_LOG overrides) and NOTIFY_SOCKET if
# RACKD_NOTIFY=1.  Sets RACKD_PID.
start_rackd() {
	local conf=$1; shift
	local logf=${RACKD_LOG:-$T/rackd.log}
	local env=()
	if [ "${RACKD_NOTIFY:-0}" = 1 ]; then
		$PY "$HELPERS/notify_sink.py" "$T/notify.sock" "$T/notify.out" &
		register_pid $!
		wait_for "notify socket" 5 test -S "$T/notify.sock"
		env+=(NOTIFY_SOCKET="$T/notify.sock")
		[ -n "${RACKD_WATCHDOG_USEC:-}" ] && env+=(WATCHDOG_USEC="$RACKD_WATCHDOG_USEC")
	fi
	env "${env[@]}" $RACKD_WRAPPER "$RACKD" -d -f "$conf" "$@" >>"$logf" 2>&1 &
	RACKD_PID=$!
	register_pid "$RACKD_PID"
	log "rackd started: pid $RACKD_PID"
}

# stop_rackd — SIGTERM, wait (deadline), require exit status 0.
stop_rackd() {
	local pid=${1:-$RACKD_PID} i rc
	kill -TERM "$pid" 2>/dev/null || fail "rackd $pid is not running"
	for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "rackd did not exit within 20s of SIGTERM"
	wait "$pid"; rc=$?
	[ "$rc" -eq 0 ] || fail "rackd exited with status $rc after SIGTERM"
	log "rackd $pid stopped cleanly"
}

# log_has PATTERN [FILE] — grep -E the rackd log.
log_has() { grep -Eq -- "$1" "${2:-${RACKD_LOG:-$T/rackd.log}}"; }
log_count() { grep -Ec -- "$1" "${2:-${RACKD_LOG:-$T/rackd.log}}" || true; }

# check_log_clean [FILE] — no sanitizer report, no crash, no fatal.
check_log_clean() {
	local f=${1:-${RACKD_LOG:-$T/rackd.log}}
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|fatal:|Invalid (read|write)|definitely lost: [1-9]' "$f"; then
		grep -E 'AddressSanitizer|LeakSanitizer|runtime error:|fatal:|Invalid (read|write)|definitely lost' "$f" | head
		fail "problems in $(basename "$f")"
	fi
}

# in_private_netns — re-run the calling test inside a new network namespace
# holding only lo (so any non-loopback address has no route), with its own
# scratch dir; the namespace is deleted on exit.  Call before anything else.
in_private_netns() {
	[ -n "${RACKD_IN_NETNS:-}" ] && return 0
	command -v ip >/dev/null || skip "iproute2 not installed"
	local ns=rkt-$$
	ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces"
	_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	mkdir -p "$T/inner"
	ip netns exec "$ns" env RACKD_IN_NETNS=$ns TMPDIR_TEST="$T/inner" bash "$0"
	exit $?
}
