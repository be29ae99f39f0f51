#!/usr/bin/env bash
# Scores every series of a NAB-format folder with `coalmine score` and prints NAB's
# standard, low-FP and low-FN scores and the time taken.
#
#   scripts/nab.sh [NAB_DIR] [OUT_DIR]
#
# NAB_DIR (default ../shared/nab) holds data/<category>/<file>.csv (timestamp,value),
# labels/combined_windows.json, config/profiles.json and score.py. Results go to
# OUT_DIR/coalmine/<category>/coalmine_<file>.csv (default OUT_DIR: target/nab), one
# row per input row with columns timestamp,value,anomaly_score.
#
# Environment: COALMINE_BIN (default target/release/coalmine, built if missing),
# COALMINE_DETECTOR (auto, ewma or holt-winters; default holt-winters, as
# `coalmine score`), PYTHON (python3).
set -euo pipefail

nab_dir=${1:-../shared/nab}
out_dir=${2:-target/nab}
detector_name=coalmine
detector=${COALMINE_DETECTOR:-holt-winters}
python=${PYTHON:-python3}
bin=${COALMINE_BIN:-target/release/coalmine}

if [[ ! -d "$nab_dir/data" || ! -f "$nab_dir/score.py" ]]; then
    echo "nab.sh: $nab_dir is not a NAB folder (needs data/ and score.py)" >&2
    exit 2
fi
if [[ ! -x "$bin" ]]; then
    echo "nab.sh: building $bin" >&2
    cargo build --release -p coalmine-cli >&2
fi

results="$out_dir/$detector_name"
rm -rf "$results"
shopt -s nullglob
files=("$nab_dir"/data/*/*.csv)
if ((${#files[@]} == 0)); then
    echo "nab.sh: no CSV under $nab_dir/data" >&2
    exit 2
fi

# CPU seconds (user + system) used so far by the shell's finished children, from the
# second line of bash's `times` ("XmY.YYYs XmY.YYYs"). `times` must run in this shell,
# not in a command substitution's subshell, hence the file.
times_file=$(mktemp)
trap 'rm -f "$times_file"' EXIT
children_cpu() {
    sed -n 2p "$times_file" | awk '{
        split($1, u, "m"); split($2, s, "m"); sub("s", "", u[2]); sub("s", "", s[2]);
        printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }'
}

# Output folders first, so that the timed loop starts no process but coalmine.
for f in "${files[@]}"; do
    category=${f%/*}
    mkdir -p "$results/${category##*/}"
done

times >"$times_file"
cpu0=$(children_cpu)
start_ns=$(date +%s%N)
for f in "${files[@]}"; do
    category=${f%/*}
    name=${f##*/}
    "$bin" score --detector "$detector" --input "$f" \
        --output "$results/${category##*/}/${detector_name}_$name"
done
end_ns=$(date +%s%N)
times >"$times_file"
cpu1=$(children_cpu)

rows=$(cat "${files[@]}" | wc -l)
rows=$((rows - ${#files[@]}))
echo "coalmine score --detector $detector: ${#files[@]} files, $rows rows"
"$python" "$nab_dir/score.py" "$nab_dir" "$out_dir" "$detector_name"
awk -v ns=$((end_ns - start_ns)) -v c0="$cpu0" -v c1="$cpu1" -v n=${#files[@]} 'BEGIN {
    printf "scoring time: %.3f s wall, %.3f s CPU (user+system of the %d coalmine processes)\n",
        ns / 1e9, c1 - c0, n }'
