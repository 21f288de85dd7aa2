#!/usr/bin/env bash
# The RouteTable path's per-packet cost now against an earlier commit's, in
# the same run: "a node with no GatewayRoute must not get slower".
#
#   bench/router-before-after.sh [REV] [ROUNDS]     (as root; make bench runs it)
#
# Builds bench_router (the router wrapped to restore the TTL, see
# bpf/bench_router.bpf.c) from REV (default 60e64b0, the last commit before
# the gateway stage) and from the work tree, with bpf/Makefile's flags. In a
# namespace of its own, each object gets one table with 10.0.0.0/8 through a
# gateway on a veth, bound to the test run's ingress interface WITHOUT the
# gateway flag; BPF_PROG_TEST_RUN (bpftool prog run, 1,000,000 repeats) sends
# a UDP packet to 10.1.2.3. Old and new alternate for ROUNDS rounds (default
# 5) of 5 runs each; the medians, the wrapper's own restore cost subtracted,
# go to stdout and bench/results/router-before-after.json.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-60e64b0}
rounds=${2:-5}
[ "$(id -u)" = 0 ] || { echo "router-before-after: needs root (BPF, namespaces)" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "router-before-after: needs bpftool (scripts/install-deps.sh bpftool)" >&2; exit 1; }
# Nothing can be pinned under an unmounted /sys/fs/bpf (as the agent does, mount it).
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf
clang=$(command -v /opt/swift/usr/bin/clang || command -v clang)
work=$(mktemp -d)
ns=rlbab-$$
pins=/sys/fs/bpf/rlbab-$$
cleanup() {
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work" "$pins"
}
trap cleanup EXIT

build() {  # build DIR: bench_router.o from the sources in DIR
    (cd "$1" && "$clang" -target bpf -O2 -g -Wall -Werror -I. -Iinclude -I"/usr/include/$(uname -m)-linux-gnu" \
        -c bench_router.bpf.c -o bench_router.o)
}
mkdir -p "$work/old" "$work/new"
git archive "$rev" bpf | tar -x -C "$work/old" --strip-components=1
cp -r bpf/. "$work/new/"
build "$work/old"
build "$work/new"

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add out0 type veth peer name out1
ip -n "$ns" link set out0 up
ip -n "$ns" link set out1 up
ip -n "$ns" addr add 198.18.0.1/24 dev out0
ip -n "$ns" neigh replace 198.18.0.2 lladdr 02:00:00:00:00:02 dev out0 nud permanent
out0=$(ip -n "$ns" -o link show out0 | cut -d: -f1)
run() { nsenter --net="/run/netns/$ns" "$@"; }

python3 - "$work" "$out0" <<'PY'
import socket, struct, sys
work, ifindex = sys.argv[1], int(sys.argv[2])
def checksum(data):
    total = sum((data[i] << 8) | data[i + 1] for i in range(0, len(data), 2))
    while total >> 16: total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff
udp = struct.pack("!HHHH", 40000, 9000, 72, 0) + bytes(64)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0, 64, 17, 0,
                 socket.inet_aton("198.18.0.9"), socket.inet_aton("10.1.2.3"))
ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
open(f"{work}/packet", "wb").write(bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip + udp)
context = bytearray(192)                       # struct __sk_buff
struct.pack_into("<II", context, 36, 1, 1)     # ingress_ifindex, ifindex: loopback
open(f"{work}/context", "wb").write(context)
group = struct.pack("<II", 1, 1) + struct.pack("<IIB3x", ifindex, 1, 2) + socket.inet_aton("198.18.0.2") + bytes(12 + 28 * 15)
key = struct.pack("<II", 32 + 8, 1) + socket.inet_aton("10.0.0.0")
route = struct.pack("<IIB3x", 1, 1, 1)
for name, data in (("group", group), ("key", key), ("route", route)):
    open(f"{work}/{name}", "w").write(" ".join(str(b) for b in data))
PY

measure() {  # measure old|new: prints "router_ns restore_ns" medians of 5
    local dir=$pins/$1
    mkdir -p "$dir"
    # LIBBPF_PIN_BY_NAME maps go to the object's pin root: give each its own.
    run bpftool prog loadall "$work/$1/bench_router.o" "$dir/progs" pinmaps "$dir/maps" >/dev/null 2>&1 \
        || run bpftool prog loadall "$work/$1/bench_router.o" "$dir/progs" >/dev/null
    local maps=$dir/maps
    [ -e "$maps/rl_ifaces" ] || maps=/sys/fs/bpf
    run bpftool map update pinned "$maps/rl_ifaces" key 1 0 0 0 value 1 0 0 0 0 0 0 0
    run bpftool map update pinned "$maps/rl_groups" key 1 0 0 0 value $(cat "$work/group")
    run bpftool map update pinned "$maps/rl_routes_v4" key $(cat "$work/key") value $(cat "$work/route")
    local verdict
    verdict=$(run bpftool prog run pinned "$dir/progs/rl_bench_router" data_in "$work/packet" ctx_in "$work/context" repeat 1 | grep -o "Return value: [0-9]*")
    [ "$verdict" = "Return value: 7" ] || { echo "router-before-after: $1 did not forward ($verdict)" >&2; exit 1; }
    local router=() restore=()
    for _ in 1 2 3 4 5; do
        router+=("$(run bpftool prog run pinned "$dir/progs/rl_bench_router" data_in "$work/packet" ctx_in "$work/context" repeat 1000000 | grep -oE '[0-9]+ns' | tr -d ns)")
        restore+=("$(run bpftool prog run pinned "$dir/progs/rl_bench_restore" data_in "$work/packet" ctx_in "$work/context" repeat 1000000 | grep -oE '[0-9]+ns' | tr -d ns)")
    done
    rm -rf "$dir"
    [ "$maps" = /sys/fs/bpf ] && rm -f /sys/fs/bpf/rl_*
    printf '%s %s\n' "$(printf '%s\n' "${router[@]}" | sort -n | sed -n 3p)" "$(printf '%s\n' "${restore[@]}" | sort -n | sed -n 3p)"
}

echo "router-before-after: $rev vs the work tree ($(git rev-parse --short HEAD)), $rounds rounds, $(nproc) cores, $(uname -r)"
samples=()
for round in $(seq "$rounds"); do
    for side in old new; do
        read -r router restore < <(measure $side)
        net=$((router - restore))
        samples+=("$side $net")
        echo "  round $round $side: $router ns - restore $restore ns = $net ns"
    done
done
printf '%s\n' "${samples[@]}" | python3 -c '
import json, platform, statistics, subprocess, sys
rows = [line.split() for line in sys.stdin]
old = statistics.median(int(v) for s, v in rows if s == "old")
new = statistics.median(int(v) for s, v in rows if s == "new")
commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
result = {"baseline": sys.argv[1], "commit": commit, "cpu": cpu, "kernel": platform.release(),
          "oldNs": old, "newNs": new, "ratio": round(new / old, 3), "samples": rows}
json.dump(result, open("bench/results/router-before-after.json", "w"), indent=2)
print(f"RouteTable path, no gateway flag: {sys.argv[1]} {old} ns, now {new} ns, ratio {new / old:.3f}")
' "$rev"
