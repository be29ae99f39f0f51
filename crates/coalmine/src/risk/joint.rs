//! Stage 2: each segment's joint behaviour, the canary's autoencoder anomaly net of the
//! control's.

use serde::{Deserialize, Serialize};

use super::RiskConfig;
use super::series::CentredScale;
use crate::detect::{AnomalyDetector, Autoencoder};
use crate::math::dist;

/// Live state of one segment's joint model.
///
/// The canary's joint anomaly is compared with the control's (`Δ = z_canary − z_control`,
/// the autoencoders' one-sided z-values). A smaller cohort is noisier and so looks
/// jointly more unusual than the control even when nothing is wrong; the first
/// `joint_warmup` paired ticks therefore set a baseline (mean and spread of `Δ`), and
/// the evidence afterwards is `Δ` standardised against that frozen baseline. Offsets
/// present from the very first tick are left to the per-metric tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct JointState {
    pub(super) model: Autoencoder,
    pub(super) baseline: CentredScale,
    /// This tick: net z, p, metric with the largest canary share (`usize::MAX` if none).
    pub(super) z: f64,
    pub(super) p: f64,
    pub(super) top_metric: usize,
}

impl JointState {
    /// A segment's joint model before the rollout's first tick.
    pub(super) fn new(model: Autoencoder) -> Self {
        JointState {
            model,
            baseline: CentredScale {
                mean: 0.0,
                var: 0.0,
                n: 0,
            },
            z: 0.0,
            p: 1.0,
            top_metric: usize::MAX,
        }
    }
}

/// Stage 2: per segment with a joint model and no missing value in either cohort, the
/// canary's and the control's one-sided autoencoder z-values; their difference is
/// measured against its own baseline (set over the first `joint_warmup` paired ticks)
/// and, once that is set, pushed onto `tests` as `(p, n_series + segment)`.
pub(super) fn deviations(
    cfg: &RiskConfig,
    joint: &mut [Option<JointState>],
    n_metrics: usize,
    control: &[f64],
    canary: &[f64],
    tests: &mut Vec<(f64, usize)>,
) {
    let nm = n_metrics;
    let n_series = nm * joint.len();
    for (s, joint) in joint.iter_mut().enumerate() {
        let Some(j) = joint else { continue };
        j.p = 1.0;
        j.top_metric = usize::MAX;
        let (b, c) = (
            &control[s * nm..(s + 1) * nm],
            &canary[s * nm..(s + 1) * nm],
        );
        if b.iter().chain(c).any(|v| v.is_nan()) {
            continue;
        }
        let (Ok(ac), top) = (j.model.observe(c), argmax(j.model.shares())) else {
            continue;
        };
        let Ok(ab) = j.model.observe(b) else { continue };
        let delta = ac.deviation - ab.deviation;
        if j.baseline.n < cfg.joint_warmup {
            // Equal weights over the warm-up: a plain mean and variance.
            j.baseline.absorb(delta, 0.0);
            j.z = 0.0;
            continue;
        }
        let (var, dof) = j.baseline.variance(1.0, 0.0);
        j.z = ((delta - j.baseline.mean) / var.max(1e-12).sqrt()).clamp(-1e12, 1e12);
        j.p = dist::student_t_upper(j.z, dof);
        j.top_metric = top;
        tests.push((j.p, n_series + s));
    }
}

fn argmax(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}
