#!/usr/bin/env python3
"""Compare two fixture folders made by scripts/oracles.py, number by number.

Usage: python3 scripts/compare_fixtures.py COMMITTED_DIR FRESH_DIR
Exit 0 when every number agrees to 1e-9 relative (library versions may differ in the
last bits), 1 otherwise, naming the first difference.
"""
import json
import math
import os
import sys


def walk(a, b, path):
    if isinstance(a, dict):
        if not isinstance(b, dict) or set(a) - {"versions"} != set(b) - {"versions"}:
            return f"{path}: keys differ"
        for k in a:
            if k == "versions":
                continue
            err = walk(a[k], b[k], f"{path}.{k}")
            if err:
                return err
    elif isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            err = walk(x, y, f"{path}[{i}]")
            if err:
                return err
    elif isinstance(a, float) or isinstance(b, float):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return f"{path}: {a} != {b}"
    elif a != b:
        return f"{path}: {a!r} != {b!r}"
    return None


def main():
    committed, fresh = sys.argv[1], sys.argv[2]
    for name in sorted(os.listdir(committed)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(committed, name)) as f:
            a = json.load(f)
        with open(os.path.join(fresh, name)) as f:
            b = json.load(f)
        err = walk(a, b, name)
        if err:
            print(f"fixture drift: {err}")
            sys.exit(1)
        print(f"{name}: matches")


if __name__ == "__main__":
    main()
