//! A deterministic Nelder-Mead minimiser for the few smooth parameters the detectors
//! fit on history. No randomness and a fixed iteration order, so a fit is
//! reproducible bit for bit.

/// Result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    pub(crate) x: Vec<f64>,
    pub(crate) value: f64,
    pub(crate) evaluations: usize,
}

/// Minimises `f` from `start` with initial simplex steps `step` (one per coordinate),
/// stopping when the spread of function values falls below `ftol` (relative) or after
/// `max_evals` evaluations. Non-finite function values are treated as +inf, so the
/// simplex walks away from them.
pub(crate) fn nelder_mead<F>(
    mut f: F,
    start: &[f64],
    step: &[f64],
    ftol: f64,
    max_evals: usize,
) -> Minimum
where
    F: FnMut(&[f64]) -> f64,
{
    let n = start.len();
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    pts.push(start.to_vec());
    for i in 0..n {
        let mut p = start.to_vec();
        p[i] += step[i];
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| eval(p, &mut evals)).collect();
    let (alpha, gamma, rho, sigma) = (1.0, 2.0, 0.5, 0.5);
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut trial2 = vec![0.0; n];
    while evals < max_evals {
        // Order the simplex: a stable sort keeps ties in a fixed order.
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = order.iter().map(|&i| pts[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        let (best, worst) = (vals[0], vals[n]);
        if worst.is_finite() && worst - best <= ftol * (best.abs() + worst.abs()) * 0.5 + 1e-300 {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for p in &pts[..n] {
            for (c, v) in centroid.iter_mut().zip(p) {
                *c += v / n as f64;
            }
        }
        let along = |coef: f64, out: &mut Vec<f64>, worst: &[f64], centroid: &[f64]| {
            for ((o, c), w) in out.iter_mut().zip(centroid).zip(worst) {
                *o = c + coef * (c - w);
            }
        };
        along(alpha, &mut trial, &pts[n], &centroid);
        let fr = eval(&trial, &mut evals);
        if fr < vals[0] {
            along(gamma, &mut trial2, &pts[n], &centroid);
            let fe = eval(&trial2, &mut evals);
            if fe < fr {
                pts[n].clone_from(&trial2);
                vals[n] = fe;
            } else {
                pts[n].clone_from(&trial);
                vals[n] = fr;
            }
        } else if fr < vals[n - 1] {
            pts[n].clone_from(&trial);
            vals[n] = fr;
        } else {
            let (coef, reference) = if fr < vals[n] {
                (rho, fr)
            } else {
                (-rho, vals[n])
            };
            along(coef, &mut trial2, &pts[n], &centroid);
            let fc = eval(&trial2, &mut evals);
            if fc < reference {
                pts[n].clone_from(&trial2);
                vals[n] = fc;
            } else {
                let (best, rest) = pts.split_at_mut(1);
                for (p, v) in rest.iter_mut().zip(vals[1..].iter_mut()) {
                    for (pj, bj) in p.iter_mut().zip(&best[0]) {
                        *pj = bj + sigma * (*pj - bj);
                    }
                    *v = eval(p, &mut evals);
                }
            }
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
        .unwrap_or(0);
    Minimum {
        x: pts[best].clone(),
        value: vals[best],
        evaluations: evals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = nelder_mead(rosen, &[-1.2, 1.0], &[0.5, 0.5], 1e-14, 5_000);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 1.0).abs() < 1e-3,
            "{m:?}"
        );
        let again = nelder_mead(rosen, &[-1.2, 1.0], &[0.5, 0.5], 1e-14, 5_000);
        assert_eq!(m, again);
    }

    #[test]
    fn walks_away_from_non_finite_values() {
        let f = |x: &[f64]| {
            if x[0] < 0.0 {
                f64::NAN
            } else {
                (x[0] - 2.0).powi(2)
            }
        };
        let m = nelder_mead(f, &[0.5], &[-1.0], 1e-12, 1_000);
        // The first step lands on NaN; the search must still reach x = 2.
        assert!((m.x[0] - 2.0).abs() < 1e-4, "{m:?}");
    }
}
