#!/usr/bin/env python3
"""Per-file breakdown of a NAB result folder, using the scorer shipped with the data.

Usage: python3 scripts/nab_eval.py NAB_DIR RESULTS_DIR DETECTOR [--files]

Prints the three profile scores exactly as NAB_DIR/score.py computes them (same
functions, imported from it) and, with --files, for the standard profile's best
threshold, each file's detected windows, missed windows and false-positive rows with
their cost. This is a development aid: the threshold is NAB's single best threshold
over all files, never a per-file one.
"""
import importlib.util
import json
import os
import sys


def load_scorer(nab_dir):
    spec = importlib.util.spec_from_file_location("nab_score", os.path.join(nab_dir, "score.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        sys.exit(__doc__)
    nab_dir, res_dir, det = args
    sc = load_scorer(nab_dir)
    profiles = json.load(open(os.path.join(nab_dir, "config/profiles.json")))
    files = sc.load(nab_dir, res_dir, det)
    nwin = sum(len(v[2]) for v in files.values())
    best_std = None
    for pname, p in profiles.items():
        cm = p["CostMatrix"]
        pts = []
        for rel, (ts, s, wl) in files.items():
            pts += sc.sweep(ts, s, wl, rel, cm)
        best = max(sc.score_by_threshold(pts, cm), key=lambda x: x[1])
        null = -cm["fnWeight"] * nwin
        perfect = cm["tpWeight"] * nwin
        norm = 100 * (best[1] - null) / (perfect - null)
        print("%-20s thr=%.6f raw=%8.4f normalized=%6.2f" % (pname, best[0], best[1], norm))
        if pname == "standard":
            best_std = (best[0], cm)
    if "--files" not in sys.argv or best_std is None:
        return
    thr, cm = best_std
    tot_tp = tot_fn = tot_fp = 0.0
    print("\nstandard profile at threshold %.6f (per file: TP reward, missed windows, FP rows and cost)" % thr)
    for rel, (ts, s, wl) in sorted(files.items()):
        pts = sc.sweep(ts, s, wl, rel, cm)
        wins = {}
        fp_rows, fp_cost = 0, 0.0
        for score, w, name in pts:
            if name is not None:
                wins.setdefault(name, -cm["fnWeight"])
                if score >= thr:
                    wins[name] = max(wins[name], w)
            elif score >= thr:
                fp_rows += 1
                fp_cost += w
        tp = sum(v for v in wins.values() if v > -cm["fnWeight"])
        missed = sum(1 for v in wins.values() if v == -cm["fnWeight"])
        tot_tp += tp
        tot_fn += missed
        tot_fp += fp_cost
        print("  %-55s windows %d  tp %+.3f  missed %d  fp rows %3d cost %+.3f  net %+.3f" % (
            rel, len(wins), tp, missed, fp_rows, fp_cost, tp - missed * cm["fnWeight"] + fp_cost))
    print("  total: tp %+.3f, missed %d, fp cost %+.3f" % (tot_tp, tot_fn, tot_fp))


if __name__ == "__main__":
    main()
