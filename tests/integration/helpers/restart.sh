# restart.sh — the "region restarted with new event loops" scenario, shared
# by tests/integration/030-region-restart and bench/rejoin.sh.  Source after
# lib.sh.

# rpc_gets NAME — /rpc/ requests region NAME served (HAProxy's health checks
# ask /MAAS/rpc/?hc and are not counted; rackd asks /MAAS/rpc/).
rpc_gets() { grep -c 'discovery GET /MAAS/rpc/ from' "$T/region-$1.log" || true; }

# ready_ms NAME — when region NAME wrote its ready file (its HTTP and AMP
# ports answer from then on), in ms since the epoch like now_ms.
ready_ms() {
	$PY -c 'import os, sys; print(int(os.stat(sys.argv[1]).st_mtime * 1000))' \
		"$T/region-$1.ready"
}

# wait_registered NAME N SECS — poll until N of region NAME's rack
# connections are registered; sets SEEN_MS to when it was seen.
wait_registered() {
	local name=$1 n=$2 end=$(( $(now_ms) + $3 * 1000 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		if [ "$(registered_count "$name" 2>/dev/null || echo 0)" -ge "$n" ]; then
			SEEN_MS=$(now_ms)
			return 0
		fi
		sleep 0.05
	done
	fail "timed out after ${3}s waiting for $n registered connections on $name"
}

# start_haproxy R1 R2 — HAProxy in front of two regions' HTTP ports as in
# MAAS's HA docs, redispatching away from a dead one.  Sets HAPROXY_URL.
start_haproxy() {
	local hv1="REGION_HTTP_$1" hv2="REGION_HTTP_$2" hp
	hp=$(free_port)
	cat > "$T/haproxy.cfg" <<EOC
global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch
frontend maas
    bind 127.0.0.1:$hp
    default_backend maas
backend maas
    balance source
    option httpchk GET /MAAS/rpc/?hc
    http-check expect status 200
    server $1 127.0.0.1:${!hv1} check inter 1s
    server $2 127.0.0.1:${!hv2} check inter 1s
EOC
	haproxy -f "$T/haproxy.cfg" -db > "$T/haproxy.log" 2>&1 &
	register_pid $!
	HAPROXY_URL="http://127.0.0.1:$hp/MAAS"
	wait_for "haproxy listening" 10 curl -sf "$HAPROXY_URL/rpc/"
}

# region_outage NAME LOOPS SECS [gone] — SIGKILL region NAME (with "gone",
# first remove its event loops from the database, as a region that stops
# cleanly does; without, they stay listed as MAAS's lazily cleaned process
# table keeps them), wait SECS, start it again as a new process (new pids,
# new event-loop names) on the same HTTP port, and wait until rackd is
# registered on all LOOPS of its new loops.  Sets REJOIN_MS (new region's
# ready file -> all its loops registered), GETS_OUT (/rpc/ requests served
# by every other region during the outage) and GETS_TAIL (the same over
# the outage's second half).
region_outage() {
	local name=$1 loops=$2 secs=$3 how=${4:-} others=() r v t_kill a0 a1 a2 port
	for v in ${!REGION_PID_*}; do
		r=${v#REGION_PID_}
		[ "$r" = "$name" ] || others+=("$r")
	done
	sum_gets() { local s=0 o; for o in "${others[@]}"; do s=$((s + $(rpc_gets "$o"))); done; echo $s; }
	v="REGION_HTTP_$name"; port=${!v}
	a0=$(sum_gets)
	if [ "$how" = gone ]; then
		ctl "${others[0]}" eventloops-remove "$name" >/dev/null ||
			fail "cannot remove $name's event loops"
	fi
	kill_region "$name" KILL
	t_kill=$(now_ms)
	log "killed $name${how:+ ($how from the document)}"
	wait_for "rackd saw $name go away" 15 log_has "region controller $name went away"
	while [ "$(now_ms)" -lt $((t_kill + secs * 1000 / 2)) ]; do sleep 0.1; done
	a1=$(sum_gets)
	while [ "$(now_ms)" -lt $((t_kill + secs * 1000)) ]; do sleep 0.1; done
	a2=$(sum_gets)
	start_region "$name" "$loops" --http-port "$port"
	wait_registered "$name" "$loops" 60
	REJOIN_MS=$((SEEN_MS - $(ready_ms "$name")))
	GETS_OUT=$((a2 - a0))
	GETS_TAIL=$((a2 - a1))
	log "$name back: all $loops loops registered ${REJOIN_MS} ms after it was ready;" \
		"/rpc/ requests to the others during the ${secs}s outage: $GETS_OUT" \
		"($GETS_TAIL in the second half)"
}
