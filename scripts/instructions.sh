#!/usr/bin/env bash
# Instructions per call of the tails and per update of the detectors, by callgrind
# (machine load does not move them): runs benches/examples/instructions.rs with N and
# 2N calls of each workload and prints (count(2N) - count(N)) / N, set-up excluded.
#
#   scripts/instructions.sh [N] [WORKLOAD...]
#
# Environment: INSTRUCTIONS_BIN (default target/release/examples/instructions, built
# if missing).
set -euo pipefail

n=${1:-100000}
shift || true
bin=${INSTRUCTIONS_BIN:-target/release/examples/instructions}
workloads=("$@")
if [[ ${#workloads[@]} -eq 0 ]]; then
    workloads=(tail_dof18 tail_dof1000 tail_dof18_far exact_dof18 exact_dof1000
        exact_dof18_far normal loop
        ewma_api ewma_api_deviation ewma_bare ewma_bare_recurrence
        hw24_api hw24_api_deviation hw24_bare hw24_bare_recurrence
        hw1440_api hw1440_api_deviation hw1440_bare hw1440_bare_recurrence)
fi
if [[ ! -x "$bin" ]]; then
    cargo build --release -p coalmine-benches --example instructions >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" \
        >/dev/null 2>"$tmp/err"
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err"
}

printf '| workload | instructions per call |\n| --- | ---: |\n'
for w in "${workloads[@]}"; do
    one=$(count "$w" "$n")
    two=$(count "$w" $((2 * n)))
    awk -v w="$w" -v a="$one" -v b="$two" -v n="$n" \
        'BEGIN { printf "| %s | %.1f |\n", w, (b - a) / n }'
done
