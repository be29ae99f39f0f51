#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60) on the stable toolchain
# and fails when any target finds a crash.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# The committed seeds (fuzz/seeds/TARGET) start each run; what the fuzzer finds grows
# fuzz/corpus/TARGET (not committed). A crash leaves its input in fuzz/artifacts/TARGET
# and its reproduction command in the output: turn it into a regression test.
# Safe Rust needs no sanitizer, so none is used (see docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "fuzz.sh: SECONDS must be a positive whole number, got '$seconds'" >&2
    exit 2
fi

cargo_fuzz_version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
    echo "fuzz.sh: installing cargo-fuzz $cargo_fuzz_version" >&2
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version" >&2
fi

cd fuzz
targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build --sanitizer none >&2
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    echo "fuzz.sh: $t for ${seconds}s" >&2
    log=$(mktemp)
    if ! cargo fuzz run --sanitizer none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log" >&2
        rm -f "$log"
        echo "fuzz.sh: $t FAILED" >&2
        exit 1
    fi
    grep -E "^stat::number_of_executed_units|^Done" "$log" | sed "s/^/  $t: /"
    rm -f "$log"
done
