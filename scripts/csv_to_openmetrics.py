#!/usr/bin/env python3
"""Turn coalmine metrics CSVs into OpenMetrics text for
`promtool tsdb create-blocks-from openmetrics`.

Every row `timestamp,cohort,segment,metric,value` becomes one sample of the gauge
`coalmine_value{cohort=...,segment=...,metric=...}` at that timestamp. History rows
name their cohort `baseline`; in Prometheus the stable version is one cohort over
history and rollout alike, so `baseline` becomes `control`. Extra labels
(`--label rollout=healthy`) let several simulated rollouts share one database.

The value is copied as written, not re-printed, so Prometheus stores the very float
the CSV holds and the query answers with it bit for bit.

A CSV with the sixth column `count` also gives the gauge `coalmine_count{...}`, with
the same labels as the value's, one sample per row whose count is not empty (an empty
count is unknown: no sample), copied as written too. Files without the column give
exactly what they gave before.

usage: csv_to_openmetrics.py [--label NAME=VALUE ...] FILE.csv [FILE.csv ...] > OUT
"""

import argparse
import csv
import re
import sys

FAMILY = "coalmine_value"
COUNT_FAMILY = "coalmine_count"
HEADER = ["timestamp", "cohort", "segment", "metric", "value"]
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    extra = []
    for item in args.label:
        name, sep, value = item.partition("=")
        if not sep or not LABEL_NAME.match(name) or name in ("cohort", "segment", "metric"):
            sys.exit(f"csv_to_openmetrics: bad --label {item!r} (NAME=VALUE, NAME not cohort/segment/metric)")
        extra.append((name, value))

    # OpenMetrics wants each series' samples together and in time order, and each
    # family's series together.
    families = {FAMILY: {}, COUNT_FAMILY: {}}
    what = {FAMILY: "values", COUNT_FAMILY: "counts"}
    for path in args.files:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = csv.reader(f)
            header = [h.strip() for h in next(rows, None) or []]
            if header not in (HEADER, HEADER + ["count"]):
                sys.exit(f"csv_to_openmetrics: {path}: expected the header {','.join(HEADER)}[,count]")
            for line, row in enumerate(rows, start=2):
                if len(row) != len(header):
                    sys.exit(f"csv_to_openmetrics: {path}:{line}: expected {len(header)} fields, found {len(row)}")
                ts, cohort, segment, metric, value = (x.strip() for x in row[:5])
                count = row[5].strip() if len(row) > 5 else ""
                has_value = value not in ("", "NaN", "nan")
                if not (has_value or count):
                    continue  # missing stays missing: no sample at all
                try:
                    t = float(ts)
                    float(value if has_value else 0)
                    float(count or 0)
                except ValueError:
                    what = "timestamp, value and count" if len(row) > 5 else "timestamp and value"
                    sys.exit(f"csv_to_openmetrics: {path}:{line}: {what} must be numbers (Unix seconds)")
                if cohort == "baseline":
                    cohort = "control"
                labels = extra + [("cohort", cohort), ("segment", segment), ("metric", metric)]
                key = ",".join(f'{n}="{escape(v)}"' for n, v in labels)
                if has_value:
                    families[FAMILY].setdefault(key, []).append((t, ts, value))
                if count:
                    families[COUNT_FAMILY].setdefault(key, []).append((t, ts, count))

    out = sys.stdout
    for family, series in families.items():
        # A file without counts gives no count family at all.
        if family != FAMILY and not series:
            continue
        out.write(f"# TYPE {family} gauge\n")
        for key in sorted(series):
            samples = sorted(series[key])
            for (t, ts, value), following in zip(samples, samples[1:] + [None]):
                if following is not None and following[0] == t:
                    sys.exit(f"csv_to_openmetrics: two {what[family]} for {{{key}}} at {ts}")
                out.write(f"{family}{{{key}}} {value} {ts}\n")
    out.write("# EOF\n")


if __name__ == "__main__":
    main()
