#!/usr/bin/env bash
# Measures the coalmine command on large generated inputs (nothing is committed):
# time and peak memory (max RSS, from /usr/bin/time -v) of `score` on POINTS values
# and of `learn` on ROWS history rows.
#
#   scripts/cli_bench.sh [POINTS] [ROWS] [WORK_DIR]
#
# POINTS defaults to 10,000,000, ROWS to 1,000,000, WORK_DIR to target/cli-bench.
# The series is a daily cycle of minutes with Gaussian noise and a spike every
# 100,000 values; the history has 4 segments x 5 metrics of minute ticks with a daily
# cycle, in time order. Both are seeded, so every run scores the same data.
# Environment: COALMINE_BIN (default target/release/coalmine, built if missing),
# PYTHON (python3).
set -euo pipefail

points=${1:-10000000}
rows=${2:-1000000}
work=${3:-target/cli-bench}
bin=${COALMINE_BIN:-target/release/coalmine}
python=${PYTHON:-python3}

if [[ ! -x /usr/bin/time ]]; then
    echo "cli_bench.sh: needs /usr/bin/time (Debian package time)" >&2
    exit 2
fi
if [[ ! -x "$bin" ]]; then
    echo "cli_bench.sh: building $bin" >&2
    cargo build --release -p coalmine-cli >&2
fi
mkdir -p "$work"

if [[ ! -f "$work/series-$points.csv" ]]; then
    echo "generating $points values" >&2
    "$python" - "$work/series-$points.csv" "$points" <<'EOF'
import math, random, sys
path, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261130)
with open(path, "w") as f:
    f.write("timestamp,value\n")
    chunk = []
    for i in range(n):
        v = 100 + 20 * math.sin(2 * math.pi * (i % 1440) / 1440) + rng.gauss(0, 2)
        if i % 100_000 == 99_999:
            v += 40
        chunk.append(f"{1_600_000_000 + 60 * i},{v:.4f}\n")
        if len(chunk) == 100_000:
            f.write("".join(chunk))
            chunk = []
    f.write("".join(chunk))
EOF
fi

if [[ ! -f "$work/history-$rows.csv" ]]; then
    echo "generating $rows history rows" >&2
    "$python" - "$work" "$rows" <<'EOF'
import math, random, sys
work, n = sys.argv[1], int(sys.argv[2])
segments = ["enterprise", "team", "pro", "free"]
metrics = [("error_rate", "ratio"), ("latency_ms", "gauge"), ("checkout_calls", "count"),
           ("session_s", "gauge"), ("cpu", "gauge")]
with open(f"{work}/config.toml", "w") as f:
    for name, kind in metrics:
        f.write(f'[[metrics]]\nname = "{name}"\nkind = "{kind}"\n\n')
    for s in segments:
        f.write(f'[[segments]]\nname = "{s}"\n\n')
rng = random.Random(20261130)
per_tick = len(segments) * len(metrics)
with open(f"{work}/history-{n}.csv", "w") as f:
    f.write("timestamp,cohort,segment,metric,value\n")
    chunk = []
    for t in range(n // per_tick):
        day = math.sin(2 * math.pi * (t % 1440) / 1440)
        ts = 1_600_000_000 + 60 * t
        for k, s in enumerate(segments):
            size = 1 + k
            for name, kind in metrics:
                if kind == "ratio":
                    v = min(1.0, max(0.0, 0.01 + 0.002 * rng.gauss(0, 1)))
                elif kind == "count":
                    v = max(0.0, 100 * size * (1 + 0.5 * day) + 5 * rng.gauss(0, 1))
                else:
                    v = 100 + 20 * day + 3 * rng.gauss(0, 1)
                chunk.append(f"{ts},baseline,{s},{name},{v:.4f}\n")
        if len(chunk) >= 100_000:
            f.write("".join(chunk))
            chunk = []
    f.write("".join(chunk))
EOF
fi

measure() {
    local what=$1
    shift
    /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null || {
        cat "$work/time.txt" >&2
        exit 1
    }
    awk -v what="$what" '
        /Elapsed \(wall clock\)/ { wall = $NF }
        /User time/ { user = $NF }
        /System time/ { sys = $NF }
        /Maximum resident set size/ { rss = $NF }
        END { printf "%s: %s wall, %.2f s user + %.2f s system, max RSS %.1f MB\n",
              what, wall, user, sys, rss / 1024 }' "$work/time.txt"
}

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)"
measure "score, $points values" \
    "$bin" --quiet score --input "$work/series-$points.csv" --output "$work/scored.csv"
measure "learn, $rows rows" \
    "$bin" --quiet learn --config "$work/config.toml" --history "$work/history-$rows.csv" \
    --out "$work/profile.json"
