#!/usr/bin/env bash
# make fuzz: builds the libFuzzer driver (Tests/Fuzz, with -sanitize=fuzzer,address)
# and runs every target for FUZZ_SECONDS seconds (default 60), starting from the
# committed seeds in Tests/Fuzz/Corpus/<target>/ and the inputs earlier runs
# found (.build/fuzz/corpus/<target>/). Reports executions per second and
# coverage per target; exits 1 when a target crashed, with the input saved.
#
#   FUZZ_SECONDS=N    seconds per target (default 60)
#   FUZZ_TARGETS="a b" only these targets (default: every directory of the corpus)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
build=$root/.build/fuzz
corpus=$root/Tests/Fuzz/Corpus
targets=${FUZZ_TARGETS:-$(ls "$corpus")}
swift=${SWIFT:-swift}

echo "building the fuzzing driver (Tests/Fuzz) with -sanitize=fuzzer,address into $build ..."
"$swift" build -c debug --package-path "$root/Tests/Fuzz" --scratch-path "$build" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
driver=$build/debug/routelet-fuzz

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "fuzzing at $commit ($machine), $seconds s per target"
printf '%-11s %10s %9s %7s %7s %7s  %s\n' target execs exec/s cov features corpus result
crashed=0
report=$build/report.json
echo "{\"commit\": \"$commit\", \"machine\": \"$machine\", \"secondsPerTarget\": $seconds, \"targets\": [" > "$report"
first=1
for target in $targets; do
    [ -d "$corpus/$target" ] || { echo "no corpus for target $target in $corpus" >&2; exit 2; }
    found=$build/corpus/$target artifacts=$build/crashes/$target
    log=$build/logs/$target.log
    mkdir -p "$found" "$artifacts" "$(dirname "$log")"
    status=0
    # No leak checks: the Swift runtime's caches and lazy globals read as
    # leaks. No Swift backtracer: ASan reports the crash.
    ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no \
    ROUTELET_FUZZ_TARGET=$target "$driver" -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 \
        -artifact_prefix="$artifacts/" "$found" "$corpus/$target" > "$log" 2>&1 || status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2+0}')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2+0}')
    size=$(ls "$found" | wc -l)
    result=ok
    if [ "$status" -ne 0 ] || ls "$artifacts" | grep -q .; then
        result="CRASH: $(ls "$artifacts" | tr '\n' ' ')(log: $log)"
        crashed=1
    fi
    printf '%-11s %10s %9s %7s %7s %7s  %s\n' "$target" "$execs" "$rate" "${cov:-0}" "${ft:-0}" "$size" "$result"
    [ $first -eq 1 ] || echo "," >> "$report"
    first=0
    printf '{"target": "%s", "executions": %s, "executionsPerSecond": %s, "coverage": %s, "features": %s, "corpus": %s, "crashed": %s}' \
        "$target" "$execs" "$rate" "${cov:-0}" "${ft:-0}" "$size" "$([ "$result" = ok ] && echo false || echo true)" >> "$report"
done
echo "]}" >> "$report"
echo "report: $report"
if [ $crashed -ne 0 ]; then
    cat >&2 <<MSG
A target crashed. Reproduce with
  ROUTELET_FUZZ_TARGET=<target> $driver <input>
fix the bug, and copy the input into Tests/Fuzz/Corpus/<target>/ (named after
what it found): make test replays it from then on.
MSG
    exit 1
fi
