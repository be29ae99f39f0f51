#!/usr/bin/env python3
"""Leave-one-folder-out cross-validation of the NAB scoring constants.

Usage: python3 scripts/nab_cv.py [NAB_DIR] [WORK_DIR] [--quick] [--no-run]

--quick scores the grid's first configuration alone; --no-run reuses the scores
already in WORK_DIR.

NAB_DIR (default ../shared/nab) is a NAB-format folder (data/, labels/, config/,
score.py); WORK_DIR (default target/nab-cv) receives the grid's configurations and
scores. The grid (GRID below) is every combination of a few values of the constants
that matter; every other constant keeps its default (see docs/evaluation.md for why).

1. `cargo run --release -p coalmine --example nab_scores` scores every file under
   every configuration of the grid (`score_series`, exactly as `coalmine score`).
2. NAB's scorer (the functions of NAB_DIR/score.py: window weights, probationary
   period, best threshold per profile) scores each configuration on every set of
   three folders.
3. For each folder, the configuration with the best standard score on the other
   three is chosen, and the folder is scored with it ("out of fold"). Two figures:
   - pooled: the 34 out-of-fold result files scored together by NAB's method, which
     chooses the threshold on them (as NAB chooses it for every detector);
   - strict: the threshold too is the one chosen on the other three folders, and the
     folder's raw score at that threshold is summed over the four folders, then
     normalised over all windows as NAB does.
4. In-sample: every configuration's score on all 34 files, the best of them, and
   that of the first configuration of the grid (the one used before).

Prints the tables that docs/evaluation.md quotes. Takes about ten minutes of CPU.
"""
import importlib.util
import itertools
import json
import os
import subprocess
import sys
from array import array

# The grid: (field of ScoringConfig, values). The first combination is the
# configuration used before this cross-validation (auto, 0.02, 10, 0.05, 50, 10); the
# one it chose (holt-winters, 0.02, 20, 0.05, 50, 5) is today's default, whose
# in-sample scores equal those of scripts/nab.sh.
GRID = [
    ("detector", ["auto", "holt-winters"]),
    ("variance_alpha", [0.02, 0.01, 0.04]),
    ("short_window", [10, 5, 20]),
    ("spatial_tolerance", [0.05, 0.02, 0.1]),
    ("pulse_window", [50, 0]),
    ("surprise_decades", [10.0, 5.0, 20.0]),
]
PROFILES = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]


def load_scorer(nab_dir):
    spec = importlib.util.spec_from_file_location("nab_score", os.path.join(nab_dir, "score.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def grid(quick=False):
    names = [n for n, _ in GRID]
    combos = list(itertools.product(*[v for _, v in GRID]))
    return [dict(zip(names, combo)) for combo in (combos[:1] if quick else combos)]


class Corpus:
    """Per file: its folder, length, and NAB's weight and window of every row after
    the probationary period (these depend on timestamps and labels only)."""

    def __init__(self, nab_dir, files, sc, profiles):
        windows = json.load(open(os.path.join(nab_dir, "labels/combined_windows.json")))
        self.files = files
        self.folder = [f.split("/")[0] for f in files]
        self.folders = sorted(set(self.folder))
        self.lengths, self.first, self.rows = [], [], {p: [] for p in profiles}
        self.windows_of = {}
        for rel in files:
            with open(os.path.join(nab_dir, "data", rel)) as f:
                next(f)
                ts = [sc.parse_ts(line.split(",")[0]) for line in f if line.strip()]
            wl = [(sc.parse_ts(a), sc.parse_ts(b)) for a, b in windows[rel]]
            self.windows_of[rel] = len(wl)
            self.lengths.append(len(ts))
            for p, cm in profiles.items():
                pts = sc.sweep(ts, [0.0] * len(ts), wl, rel, cm)
                self.rows[p].append([(w, name) for _, w, name in pts])
            # sweep leaves out the probationary rows, at the start.
            self.first.append(len(ts) - len(pts))

    def points(self, scores, profile, include):
        """(score, weight, window) of every scored row of the files in `include`."""
        out = []
        offset = 0
        for k, n in enumerate(self.lengths):
            if self.folder[k] in include:
                s = scores[offset + self.first[k]: offset + n]
                out.extend((a, w, name) for a, (w, name) in zip(s, self.rows[profile][k]))
            offset += n
        return out

    def n_windows(self, include):
        return sum(self.windows_of[f] for f, c in zip(self.files, self.folder) if c in include)


def best_threshold(points, cm):
    """NAB's best (threshold, raw score): score_by_threshold of score.py."""
    pts = sorted(points, key=lambda p: p[0], reverse=True)
    parts = {"fp": 0.0}
    for _, _, n in pts:
        if n is not None:
            parts[n] = -cm["fnWeight"]
    total = sum(parts.values())
    best = (1.1, total)
    cur = 1.1
    for s, w, n in pts:
        if s != cur:
            if total > best[1]:
                best = (cur, total)
            cur = s
        if n is None:
            total += w
        elif w > parts[n]:
            total += w - parts[n]
            parts[n] = w
    if total > best[1]:
        best = (cur, total)
    return best


def raw_at(points, cm, thr):
    """The raw NAB score when every row scoring at least `thr` is a detection."""
    parts = {}
    fp = 0.0
    for s, w, n in points:
        if n is not None:
            parts.setdefault(n, -cm["fnWeight"])
            if s >= thr:
                parts[n] = max(parts[n], w)
        elif s >= thr:
            fp += w
    return fp + sum(parts.values())


def normalised(raw, cm, n_windows):
    null, perfect = -cm["fnWeight"] * n_windows, cm["tpWeight"] * n_windows
    return 100.0 * (raw - null) / (perfect - null)


def read_scores(path):
    a = array("d")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return a


def describe(cfg):
    return ", ".join("%s=%s" % (k, cfg[k]) for k, _ in GRID)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    nab_dir = args[0] if args else "../shared/nab"
    work = args[1] if len(args) > 1 else "target/nab-cv"
    sc = load_scorer(nab_dir)
    profiles = {p: json.load(open(os.path.join(nab_dir, "config/profiles.json")))[p]["CostMatrix"]
                for p in PROFILES}
    configs = grid("--quick" in sys.argv)
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "configs.jsonl"), "w") as f:
        for c in configs:
            f.write(json.dumps(c) + "\n")
    if "--no-run" not in sys.argv:
        subprocess.run(["cargo", "run", "--quiet", "--release", "-p", "coalmine", "--example",
                        "nab_scores", "--", os.path.join(work, "configs.jsonl"), nab_dir,
                        os.path.join(work, "scores")], check=True)
    files = open(os.path.join(work, "scores", "files.txt")).read().split()
    corpus = Corpus(nab_dir, files, sc, profiles)
    folders = corpus.folders
    std = profiles["standard"]
    every = set(folders)

    # Standard score of every configuration on all folders and on every three.
    table = []
    scores_of = []
    for i, cfg in enumerate(configs):
        scores = read_scores(os.path.join(work, "scores", "%d.f64" % i))
        scores_of.append(scores)
        row = {}
        for held in folders + [None]:
            include = every - {held}
            pts = corpus.points(scores, "standard", include)
            thr, raw = best_threshold(pts, std)
            row[held] = (normalised(raw, std, corpus.n_windows(include)), thr)
        table.append(row)
        print("config %3d/%d: in-sample %.2f" % (i + 1, len(configs), row[None][0]),
              file=sys.stderr)

    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump([{"config": c, "standard": {str(k): v for k, v in r.items()}}
                   for c, r in zip(configs, table)], f)
    print("NAB leave-one-folder-out cross-validation (%d configurations)\n" % len(configs))
    print("Grid: " + "; ".join("%s in %s" % (n, v) for n, v in GRID) + "\n")
    # Ties break towards the earlier configuration (the default's values come first).
    best_on = {held: max(range(len(configs)), key=lambda i: (table[i][held][0], -i))
               for held in folders + [None]}
    print("| held-out folder | chosen on the other three | their standard score |")
    print("| --- | --- | ---: |")
    for held in folders:
        i = best_on[held]
        print("| %s | %s | %.2f |" % (held, describe(configs[i]), table[i][held][0]))
    print()

    # Out-of-fold figures per profile.
    print("| profile | in-sample, first of grid | in-sample, best of grid | CV pooled | CV strict |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for p, cm in profiles.items():
        n_all = corpus.n_windows(every)
        default_in = normalised(best_threshold(corpus.points(scores_of[0], p, every), cm)[1],
                                cm, n_all)
        i_best = best_on[None]
        best_in = normalised(best_threshold(corpus.points(scores_of[i_best], p, every), cm)[1],
                             cm, n_all)
        pooled, strict_raw = [], 0.0
        for held in folders:
            i = best_on[held]
            held_pts = corpus.points(scores_of[i], p, {held})
            pooled.extend(held_pts)
            thr, _ = best_threshold(corpus.points(scores_of[i], p, every - {held}), cm)
            strict_raw += raw_at(held_pts, cm, thr)
        pooled_score = normalised(best_threshold(pooled, cm)[1], cm, n_all)
        strict_score = normalised(strict_raw, cm, n_all)
        print("| %s | %.2f | %.2f | %.2f | %.2f |" % (p, default_in, best_in, pooled_score,
                                                     strict_score))
    print()
    print("Best in-sample configuration: %s" % describe(configs[best_on[None]]))

    # How much each constant matters: the best in-sample score with it fixed to each value.
    print("\n| constant | value: best in-sample standard score with it fixed |")
    print("| --- | --- |")
    for name, values in GRID:
        cells = []
        for v in values:
            fixed = [table[i][None][0] for i, c in enumerate(configs) if c[name] == v]
            if fixed:
                cells.append("%s: %.2f" % (v, max(fixed)))
        print("| %s | %s |" % (name, "; ".join(cells)))


if __name__ == "__main__":
    main()
