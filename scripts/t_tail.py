#!/usr/bin/env python3
"""Generate the Student-t tail fixture the Rust tests compare against.

Each case is a degrees of freedom `dof`, a deviation `t` and scipy's two-sided tail
`2 * scipy.stats.t.sf(|t|, dof)`. The degrees of freedom cover 1 to 1e6: integers,
half-integers, the values on either side of the places where coalmine's tail changes
method (15 and 30 degrees of freedom, `x = dof / (dof + t^2) = 0.1`), and the
non-integer values the detectors' residual scale produces while its effective sample
size grows (`n_eff - 1` with the weights `max(alpha, 1/k)`). For each, `t` is chosen so
that the tail spans 1 down to 1e-300, plus small and switch-over deviations.

Usage: python3 scripts/t_tail.py [OUTPUT_DIR] [--check-mpmath]
       (default OUTPUT_DIR crates/coalmine/tests/fixtures)
Needs: numpy, scipy; mpmath for --check-mpmath, which reports how far scipy's own
values are from a 40-digit evaluation of the incomplete beta function.
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy import stats

SERIES_X = 0.1  # crates/coalmine/src/math/student_t.rs


def detector_dofs(alpha, ticks):
    """`n_eff - 1` of the residual scale after each of the first ticks (math/ew.rs)."""
    w1 = w2 = 0.0
    out = []
    for k in range(1, ticks + 1):
        a = max(alpha, 1.0 / k)
        w1, w2 = (1 - a) * w1 + a, (1 - a) ** 2 * w2 + a * a
        dof = w1 * w1 / w2 - 1.0
        if dof >= 1.0:
            out.append(dof)
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out_dir = args[0] if args else "crates/coalmine/tests/fixtures"
    dofs = [1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 3.7, 4.0, 5.0, 7.5, 10.0, 12.3, 14.0]
    dofs += [29.0, 29.999, 30.0, 30.001, 31.0, 45.5, 60.0, 100.0, 250.25, 1e3, 2e3]
    dofs += [5e3, 1.2345e4, 3e4, 1e5, 3e5, 1e6]
    for alpha in (0.1, 0.05, 0.02):
        seq = detector_dofs(alpha, 400)
        dofs += seq[:: max(1, len(seq) // 12)] + [seq[-1]]
    dofs = sorted(set(float(d) for d in dofs))

    cases = []
    ps = np.logspace(0, -300, 61)[1:]
    for dof in dofs:
        ts = [1e-300, 1e-8, 1e-3, 0.1, 0.5, 1.0, 2.0]
        ts += [float(stats.t.isf(p / 2, dof)) for p in ps]
        switch = np.sqrt(dof * (1 / SERIES_X - 1))
        ts += [switch * (1 - 1e-9), switch, switch * (1 + 1e-9)]
        for t in ts:
            if not np.isfinite(t) or t <= 0:
                continue
            p = float(2 * stats.t.sf(t, dof))
            if p < 1e-300 or not np.isfinite(p):
                continue
            cases.append([dof, float(t), p])

    if "--check-mpmath" in sys.argv:
        check_with_mpmath(cases)

    path = os.path.join(out_dir, "student_t.json")
    with open(path, "w") as f:
        # One case per line: [dof, t, p]. Python's repr round-trips exactly.
        f.write('{"generator": "scripts/t_tail.py", "versions": {"scipy": "%s"},\n' % scipy.__version__)
        f.write(' "what": "[dof, t, 2 * scipy.stats.t.sf(t, dof)]",\n "cases": [\n')
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")
    print(f"{path}: {len(cases)} cases over {len(dofs)} degrees of freedom")


def check_with_mpmath(cases):
    """How far scipy itself is from a 40-digit incomplete beta (needs mpmath)."""
    import mpmath

    mpmath.mp.dps = 40
    worst = 0.0
    for dof, t, p in cases:
        nu, tm = mpmath.mpf(dof), mpmath.mpf(t)
        ref = mpmath.betainc(nu / 2, mpmath.mpf(0.5), 0, nu / (nu + tm * tm), regularized=True)
        worst = max(worst, float(abs((p - ref) / ref)))
    print(f"scipy against mpmath: largest relative difference {worst:.3g}")


if __name__ == "__main__":
    main()
