#!/usr/bin/env bash
# Go benchmarks of Analysis.Observe (one cgo call per tick) and Analysis.ObserveMany
# (one call per rollout of 50 ticks) beside Analysis::observe called from Rust, on
# the same ticks (the parity fixture's healthy rollout), interleaved round by round
# so that the machine's load affects all three alike. Prints the medians of wall
# time and of the thread's CPU time per tick, and their ratios to Rust.
#
# Usage (from the repository root, after `make c-lib parity-fixture` and
# `cargo build --release -p coalmine-ffi --example bench_ticks`):
#   bindings/go/bench.sh FIXTURE [ROUNDS]
set -euo pipefail
fixture=$(realpath "$1")
rounds=${2:-9}
root=$(cd "$(dirname "$0")/../.." && pwd)
rust_bin="$root/target/release/examples/bench_ticks"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root/bindings/go"
go test -c -o "$work/coalmine.test" . >/dev/null
for ((r = 1; r <= rounds; r++)); do
  "$rust_bin" "$fixture" 2000 >"$work/rust.$r"
  awk '/^rust_observe_ns/ {print $2}' "$work/rust.$r" >>"$work/rust_wall"
  awk '/^rust_observe_cpu/ {print $2}' "$work/rust.$r" >>"$work/rust_cpu"
  awk '/^rust_clone/ {print $2}' "$work/rust.$r" >>"$work/clone"
  COALMINE_PARITY_FIXTURE="$fixture" "$work/coalmine.test" -test.run '^$' \
    -test.bench 'Observe' -test.benchtime 2000x >"$work/go.$r"
  awk '/^BenchmarkObserve-/ {print $3 > "'"$work"'/one_wall.tmp"; print $5 > "'"$work"'/one_cpu.tmp"}
       /^BenchmarkObserveMany-/ {print $3 > "'"$work"'/many_wall.tmp"; print $5 > "'"$work"'/many_cpu.tmp"}' "$work/go.$r"
  for f in one_wall one_cpu many_wall many_cpu; do cat "$work/$f.tmp" >>"$work/$f"; done
done
"$work/coalmine.test" -test.run '^$' -test.bench 'Call' -test.benchtime 1000000x -test.count 5 \
  | awk '/^BenchmarkCall-/ {print $5}' >"$work/call_cpu"


median() { sort -n "$work/$1" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo "$rounds interleaved rounds of 2000 ticks; medians; Rust's copy of the analysis: $(median clone) ns;"
echo "one trivial call through the Go package (lock, cgo, unlock): $(median call_cpu) CPU ns"
echo "| path | wall ns per tick | ratio | CPU ns per tick | ratio |"
echo "| --- | ---: | ---: | ---: | ---: |"
awk -v rw="$(median rust_wall)" -v rc="$(median rust_cpu)" \
    -v ow="$(median one_wall)" -v oc="$(median one_cpu)" \
    -v mw="$(median many_wall)" -v mc="$(median many_cpu)" 'BEGIN {
  printf "| Rust `Analysis::observe` | %.0f | 1.00 | %.0f | 1.00 |\n", rw, rc
  printf "| Go `Observe`, one cgo call per tick | %.0f | %.2f | %.0f | %.2f |\n", ow, ow / rw, oc, oc / rc
  printf "| Go `ObserveMany`, 50 ticks per call | %.0f | %.2f | %.0f | %.2f |\n", mw, mw / rw, mc, mc / rc
}'
