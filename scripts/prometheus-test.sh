#!/usr/bin/env bash
# `learn` and `analyze --prometheus` against a real Prometheus server.
#
# Three simulated rollouts (a healthy one, a faulty one, and an error-ratio step with
# the request count behind each value) are backfilled into one temporary TSDB with
# promtool, under the labels rollout="healthy", rollout="faulty" and
# rollout="counted"; the counts become the gauge coalmine_count, read back by the
# `count` queries of [source.prometheus]. A Prometheus on a free port of 127.0.0.1
# serves them; the test checks that learning and judging from it gives byte for byte
# the profile and the decisions the CSV path gives on the same files (for the counted
# rollout: the CSV with its count column, and decisions that differ from the values
# alone), then the error cases: a query with a syntax error, a metric absent for one
# segment, an unreachable server and a server stopped while a rollout is followed. The
# server is always stopped by its own process id and the temporary folder removed.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
fail() { echo "prometheus-test: FAIL: $*" >&2; exit 1; }

for tool in prometheus promtool; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    # Only a developer without the package may skip; CI installs it (.ci/run) and
    # must not pass without having run this test.
    if [ "$(id -u)" = "0" ] || [ -n "${CI:-}" ]; then
      fail "$tool not found: install the Debian package prometheus (apt-get install prometheus)"
    fi
    echo "prometheus-test: SKIPPED: $tool not found (install the Debian package prometheus to run it)"
    exit 0
  fi
done

"$CARGO" build -q -p coalmine-cli
BIN="${CARGO_TARGET_DIR:-target}/debug/coalmine"
[ -x "$BIN" ] || fail "no coalmine binary at $BIN"

WORK=$(mktemp -d)
PROM_PID=""
cleanup() {
  if [ -n "$PROM_PID" ]; then
    kill "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- data --------------------------------------------------------------------------
ROLLOUTS="healthy faulty counted"
"$BIN" -q simulate --scenario aa-identical --seed 1 --out "$WORK/healthy"
"$BIN" -q simulate --scenario error-spike --seed 1 --out "$WORK/faulty"
# An error ratio that triples in a canary held at 1 %: the requests behind the ratio
# let the count test judge it, and the decisions differ from the values' alone.
"$BIN" -q simulate --scenario error-ratio-step --seed 1 --counts --out "$WORK/counted"
for rollout in $ROLLOUTS; do
  python3 scripts/csv_to_openmetrics.py --label rollout="$rollout" \
    "$WORK/$rollout/history.csv" "$WORK/$rollout/live.csv" > "$WORK/$rollout.om"
done
# One file, one promtool run: every rollout in the same blocks, no overlaps to merge.
# OpenMetrics keeps a family's samples together: every rollout's values, then counts.
{
  for family in coalmine_value coalmine_count; do
    echo "# TYPE $family gauge"
    for rollout in $ROLLOUTS; do grep "^$family{" "$WORK/$rollout.om" || true; done
  done
  echo "# EOF"
} > "$WORK/all.om"
mkdir "$WORK/tsdb"
promtool tsdb create-blocks-from openmetrics -q "$WORK/all.om" "$WORK/tsdb" >/dev/null

# --- server ------------------------------------------------------------------------
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
printf 'global:\n  scrape_interval: 1h\nscrape_configs: []\n' > "$WORK/prometheus.yml"
# The simulated data is from 2024: without a long retention Prometheus deletes it.
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PORT" \
  > "$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
for _ in $(seq 150); do
  curl -sf "$URL/-/ready" >/dev/null 2>&1 && break
  kill -0 "$PROM_PID" 2>/dev/null || { cat "$WORK/prometheus.log" >&2; fail "prometheus exited"; }
  sleep 0.2
done
curl -sf "$URL/-/ready" >/dev/null || fail "prometheus not ready after 30 s"

# The simulated config plus a [source.prometheus] reading one rollout. $3 replaces the
# query of one metric ("metric=template"), for the error cases. A metric whose live
# CSV has counts gets a `count` query.
metrics_of() { sed -n 's/^name = "\(.*\)"$/\1/p' "$1" | head -n "$(grep -c '^\[\[metrics\]\]' "$1")"; }
counted_metrics_of() { awk -F, 'NR == 1 && $6 != "count" { exit } NR > 1 && $6 != "" { print $4 }' "$1" | sort -u; }
write_config() {
  local rollout=$1 url=$2 override=${3:-}
  local src="$WORK/$rollout/config.toml"
  local counted
  counted=$(counted_metrics_of "$WORK/$rollout/live.csv")
  cat "$src"
  printf '\n[source.prometheus]\nurl = "%s"\ncontrol = "control"\ncanary = "canary"\nstep = 1800\nretries = 1\ntimeout_seconds = 5\n' "$url"
  for m in $(metrics_of "$src"); do
    local labels="rollout=\"$rollout\",cohort=\"{cohort}\",segment=\"{segment}\",metric=\"$m\""
    local q="coalmine_value{$labels}"
    if [ "${override%%=*}" = "$m" ]; then q=${override#*=}; fi
    printf "\n[[source.prometheus.metrics]]\nmetric = \"%s\"\nquery = '%s'\n" "$m" "$q"
    if grep -qx "$m" <<< "$counted"; then printf "count = 'coalmine_count{%s}'\n" "$labels"; fi
  done
}

first_ts() { awk -F, 'NR == 2 { print $1 }' "$1"; }
last_ts() { tail -n 1 "$1" | cut -d, -f1; }

run() { # run NAME CMD...: stdout to NAME.out, stderr to NAME.err, status to $rc
  local name=$1; shift
  set +e; "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"; rc=$?; set -e
}

# --- the same profile and decisions as the CSV path --------------------------------
for rollout in $ROLLOUTS; do
  dir="$WORK/$rollout"
  write_config "$rollout" "$URL" > "$dir/prom.toml"
  h0=$(first_ts "$dir/history.csv"); h1=$(last_ts "$dir/history.csv")
  l0=$(first_ts "$dir/live.csv"); l1=$(last_ts "$dir/live.csv")

  "$BIN" -q learn --config "$dir/config.toml" --history "$dir/history.csv" --out "$dir/csv-profile.json"
  "$BIN" -q learn --config "$dir/prom.toml" --prometheus --from "$h0" --to "$h1" --out "$dir/prom-profile.json"
  cmp -s "$dir/csv-profile.json" "$dir/prom-profile.json" \
    || fail "$rollout: the profile learnt from Prometheus differs from the CSV one"

  run "$rollout-csv" "$BIN" -q analyze --config "$dir/config.toml" --profile "$dir/csv-profile.json" \
    --live "$dir/live.csv" --json
  csv_rc=$rc
  # --from in RFC 3339, --to in Unix seconds: both forms are accepted.
  from_rfc=$(date -u -d "@$l0" +%Y-%m-%dT%H:%M:%SZ)
  run "$rollout-prom" "$BIN" -q analyze --config "$dir/prom.toml" --profile "$dir/prom-profile.json" \
    --prometheus --from "$from_rfc" --to "$l1" --json
  [ "$rc" = "$csv_rc" ] || fail "$rollout: exit status $rc from Prometheus, $csv_rc from CSV"
  cmp -s "$WORK/$rollout-csv.out" "$WORK/$rollout-prom.out" \
    || { diff "$WORK/$rollout-csv.out" "$WORK/$rollout-prom.out" | head -5 >&2; fail "$rollout: decisions differ"; }
  # Following a range that is already complete observes the same ticks.
  run "$rollout-follow" "$BIN" -q analyze --config "$dir/prom.toml" --profile "$dir/prom-profile.json" \
    --prometheus --from "$l0" --to "$l1" --step 1800 --follow --json
  [ "$rc" = "$csv_rc" ] && cmp -s "$WORK/$rollout-csv.out" "$WORK/$rollout-follow.out" \
    || fail "$rollout: --follow over a past range differs from the CSV path (exit $rc)"
  verdict=$(tail -n 1 "$WORK/$rollout-prom.out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["verdict"])')
  echo "prometheus-test: $rollout: $(($(wc -l < "$WORK/$rollout-prom.out") - 1)) ticks, verdict $verdict (exit $rc), identical to the CSV path"
done
[ "$(tail -n 1 "$WORK/healthy-prom.out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["verdict"])')" = promote ] \
  || fail "the healthy rollout was not promoted"
[ "$(tail -n 1 "$WORK/faulty-prom.out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["verdict"])')" = rollback ] \
  || fail "the faulty rollout was not rolled back"

# --- the counts reached the analysis -------------------------------------------------
dir="$WORK/counted"
n_counted=$(grep -c "^count = 'coalmine_count{" "$dir/prom.toml" || true)
[ "$n_counted" -ge 1 ] || fail "counted: the configuration has no count query"
grep -q "^count = 'coalmine_count{rollout=\"counted\",cohort=\"{cohort}\",segment=\"{segment}\",metric=\"error_rate\"}'$" \
  "$dir/prom.toml" || fail "counted: error_rate has no count query"
# The same live file without its count column: the values alone.
cut -d, -f1-5 "$dir/live.csv" > "$dir/live-values.csv"
run counted-values "$BIN" -q analyze --config "$dir/config.toml" --profile "$dir/csv-profile.json" \
  --live "$dir/live-values.csv" --json
cmp -s "$WORK/counted-values.out" "$WORK/counted-prom.out" \
  && fail "counted: the decisions from Prometheus are those of the values alone: the counts were not used"
values_verdict=$(tail -n 1 "$WORK/counted-values.out" | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["verdict"], "at tick", s["ticks"], "because", s["reason"])')
counts_verdict=$(tail -n 1 "$WORK/counted-prom.out" | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["verdict"], "at tick", s["ticks"], "because", s["reason"])')
echo "prometheus-test: counted: $n_counted count queries; with counts $counts_verdict, values alone $values_verdict"

dir="$WORK/healthy"
l0=$(first_ts "$dir/live.csv"); l1=$(last_ts "$dir/live.csv")
metric=$(metrics_of "$dir/config.toml" | tail -n 1)

# --- a query with a syntax error: exit 1, the message names the query ---------------
bad="sum(coalmine_value{metric=\"$metric\",cohort=\"{cohort}\",segment=\"{segment}\"}"
write_config healthy "$URL" "$metric=$bad" > "$WORK/bad.toml"
run bad "$BIN" -q analyze --config "$WORK/bad.toml" --profile "$dir/prom-profile.json" \
  --prometheus --from "$l0" --to "$l1"
[ "$rc" = 1 ] || fail "syntax error: exit $rc, expected 1"
grep -q 'refused the query' "$WORK/bad.err" && grep -qF "sum(coalmine_value{metric=\"$metric\",cohort=\"control\"" "$WORK/bad.err" \
  || { cat "$WORK/bad.err" >&2; fail "syntax error: the message does not name the query"; }
grep -q panicked "$WORK/bad.err" && fail "syntax error: panic"
echo "prometheus-test: syntax error: exit 1: $(cut -c1-160 "$WORK/bad.err")"

# --- a metric absent for one segment: inconclusive, exit 5, the series named --------
segment=$(sed -n '/^\[\[segments\]\]/,/^name/ s/^name = "\(.*\)"$/\1/p' "$dir/config.toml" | head -n 1)
absent="coalmine_value{rollout=\"healthy\",cohort=\"{cohort}\",segment=\"{segment}\",segment!=\"$segment\",metric=\"$metric\"}"
write_config healthy "$URL" "$metric=$absent" > "$WORK/absent.toml"
run absent "$BIN" analyze --config "$WORK/absent.toml" --profile "$dir/prom-profile.json" \
  --prometheus --from "$l0" --to "$l1" --json
[ "$rc" = 5 ] || fail "absent series: exit $rc, expected 5 (inconclusive)"
tail -n 1 "$WORK/absent.out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["verdict"] == "inconclusive", s["verdict"]
assert sys.argv[1] in s["evidence"]["never_observed"], s["evidence"]
' "$metric/$segment" || fail "absent series: not inconclusive on $metric/$segment"
grep -q "series $segment/$metric (canary) has no value" "$WORK/absent.err" \
  || { cat "$WORK/absent.err" >&2; fail "absent series: no warning naming it"; }
echo "prometheus-test: $metric absent in $segment: inconclusive (exit 5), never observed: $metric/$segment"
# The same series cannot be learnt: a profile cannot learn a series it never saw.
h0=$(first_ts "$dir/history.csv"); h1=$(last_ts "$dir/history.csv")
run absent-learn "$BIN" -q learn --config "$WORK/absent.toml" --prometheus --from "$h0" --to "$h1" \
  --out "$WORK/absent.json"
[ "$rc" = 1 ] || fail "learning an absent series: exit $rc, expected 1"
grep -q "no data for series $segment/$metric (control).*never saw; query: coalmine_value" "$WORK/absent-learn.err" \
  || { cat "$WORK/absent-learn.err" >&2; fail "learning an absent series: the series and query are not named"; }
[ -e "$WORK/absent.json" ] && fail "learning an absent series: a profile was written"
echo "prometheus-test: learning $metric absent in $segment: exit 1, series and query named"

# --- an unreachable server: exit 1, the URL named ------------------------------------
DEAD="http://127.0.0.1:$(free_port)"
write_config healthy "$DEAD" > "$WORK/dead.toml"
run dead "$BIN" -q learn --config "$WORK/dead.toml" --prometheus --from "$l0" --to "$l1" --out "$WORK/dead.json"
[ "$rc" = 1 ] || fail "unreachable server: exit $rc, expected 1"
grep -qF "prometheus at $DEAD is unreachable" "$WORK/dead.err" || { cat "$WORK/dead.err" >&2; fail "unreachable: URL not named"; }
grep -q panicked "$WORK/dead.err" && fail "unreachable: panic"
[ -e "$WORK/dead.json" ] && fail "unreachable: a profile was written"
echo "prometheus-test: unreachable server: exit 1: $(cut -c1-120 "$WORK/dead.err")"

# --- the server stopped while a rollout is followed ---------------------------------
# Live ticks one second apart from now: there is no data then, so the analysis keeps
# following (missing data never promotes) until the server goes away.
now=$(date +%s)
set +e
"$BIN" -q analyze --config "$dir/prom.toml" --profile "$dir/prom-profile.json" --prometheus \
  --from "$now" --to "$((now + 60))" --step 1 --follow --json > "$WORK/stop.out" 2> "$WORK/stop.err" &
FOLLOW_PID=$!
set -e
sleep 3
kill -0 "$FOLLOW_PID" 2>/dev/null || { cat "$WORK/stop.err" >&2; fail "follow: ended before the server stopped"; }
ticks_before=$(wc -l < "$WORK/stop.out")
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true
PROM_PID=""
set +e; wait "$FOLLOW_PID"; rc=$?; set -e
[ "$rc" = 1 ] || fail "server stopped mid-run: exit $rc, expected 1"
[ "$ticks_before" -ge 1 ] || fail "follow: no tick observed before the server stopped"
grep -qF "prometheus at $URL is unreachable" "$WORK/stop.err" || { cat "$WORK/stop.err" >&2; fail "stopped: URL not named"; }
grep -q panicked "$WORK/stop.err" && fail "stopped: panic"
echo "prometheus-test: server stopped after $ticks_before followed ticks: exit 1, URL named"

echo "prometheus-test: all passed"
