#!/usr/bin/env bash
# HTTP routing: `routelet gateway` against nginx and HAProxy with the same
# rules, over kept-alive connections (wrk), at 1, 100 and 1,000 rules.
#
#   bench/http-gateway.sh [--quick] [--rules 1,100,1000] [...]   (as root; make bench runs it)
#   bench/http-gateway.sh -h                                       every option
#
# Three network namespaces of its own, nothing else touched:
#
#   client (198.18.10.2) ── veth ── gw (198.18.10.1, listener 198.18.10.10:80)
#   gw (198.18.20.1)     ── veth ── backends (198.18.20.11, .12, .13 :8080)
#
# The backends are one nginx (one worker, `return 200 "bN\n"` on each of the
# three addresses). The proxy under test runs in gw pinned to CPU 1, wrk and
# the backends in client/backends pinned to CPU 0 (on a 2-core machine).
# Rule i matches path prefix /svc<i> AND header X-Tenant: t<i> and goes to
# backend i mod 3; bench/http_gateway.py writes each proxy's config, runs wrk
# and writes bench/results/http-gateway.json. routelet is skipped, with the
# reason, when there is no routelet binary or it has no `gateway` command.
#
# On exit, also on failure or Ctrl-C, every process inside the three
# namespaces is killed (by pid, `ip netns pids`) and the namespaces deleted.
set -euo pipefail
cd "$(dirname "$0")/.."
helper=bench/http_gateway.py

for arg in "$@"; do
    case $arg in -h|--help) exec python3 "$helper" --help ;; esac
done
[ "$(id -u)" = 0 ] || { echo "http-gateway: needs root (network namespaces)" >&2; exit 1; }
for tool in ip nginx haproxy wrk taskset python3 ss; do
    command -v "$tool" >/dev/null || {
        echo "http-gateway: $tool is missing (scripts/install-deps.sh nginx haproxy wrk; make bench installs them)" >&2
        exit 1
    }
done
# Refuse bad options before building anything.
python3 "$helper" --check-args "$@"

tag=rlhb$$
ns_client=$tag-client ns_gw=$tag-gw ns_backends=$tag-backends
work=$(mktemp -d /tmp/http-gateway.XXXXXX)

kill_in() {  # kill_in NS SIGNAL: every process inside the namespace
    local pids
    pids=$(ip netns pids "$1" 2>/dev/null || true)
    [ -n "$pids" ] && kill "-$2" $pids 2>/dev/null || true
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "${helper_pid:-}" ] && kill -0 "$helper_pid" 2>/dev/null; then
        kill -TERM "$helper_pid" 2>/dev/null || true    # it stops what it started
        for _ in $(seq 50); do kill -0 "$helper_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$helper_pid" 2>/dev/null || true
    fi
    for ns in "$ns_client" "$ns_gw" "$ns_backends"; do kill_in "$ns" TERM; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        left=
        for ns in "$ns_client" "$ns_gw" "$ns_backends"; do
            [ -n "$(ip netns pids "$ns" 2>/dev/null || true)" ] && left=1
        done
        [ -z "$left" ] && break
        sleep 0.2
    done
    for ns in "$ns_client" "$ns_gw" "$ns_backends"; do
        kill_in "$ns" KILL
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ns in "$ns_client" "$ns_gw" "$ns_backends"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
# The veth pairs are created inside gw and their far ends moved, so that no
# interface ever appears in the machine's own namespace.
ip -n "$ns_gw" link add gc type veth peer name eth0 netns "$ns_client"
ip -n "$ns_gw" link add gb type veth peer name eth0 netns "$ns_backends"
ip -n "$ns_gw" addr add 198.18.10.1/24 dev gc
ip -n "$ns_gw" addr add 198.18.10.10/32 dev gc          # the listener, every proxy binds it
ip -n "$ns_gw" addr add 198.18.20.1/24 dev gb
ip -n "$ns_client" addr add 198.18.10.2/24 dev eth0
for b in 11 12 13; do ip -n "$ns_backends" addr add "198.18.20.$b/24" dev eth0; done
for ns in "$ns_client" "$ns_gw" "$ns_backends"; do
    ip -n "$ns" link set dev "$( [ "$ns" = "$ns_gw" ] && echo gc || echo eth0 )" up
done
ip -n "$ns_gw" link set gb up
# Only for the "direct" row (wrk straight to a backend, no proxy): routes
# through gw, whose kernel forwards. The proxies terminate connections.
ip -n "$ns_client" route add 198.18.20.0/24 via 198.18.10.1
ip -n "$ns_backends" route add 198.18.10.0/24 via 198.18.20.1
ip netns exec "$ns_gw" sysctl -qw net.ipv4.ip_forward=1

# In the background and waited for, so that a TERM or INT to this script
# runs the cleanup at once (bash defers traps while a foreground child runs).
HB_NS_CLIENT=$ns_client HB_NS_GW=$ns_gw HB_NS_BACKENDS=$ns_backends HB_WORK=$work \
HB_LISTENER=198.18.10.10 HB_BACKENDS="198.18.20.11 198.18.20.12 198.18.20.13" \
    python3 "$helper" "$@" &
helper_pid=$!
wait "$helper_pid"
