//! Properties of the univariate scoring pipeline (`coalmine::scoring`): totality,
//! strict causality, determinism, the non-finite policy and the behaviour on a spike;
//! and the NAB runner (ignored by default).

use std::path::{Path, PathBuf};

use coalmine::scoring::{AnomalyScorer, DetectorChoice, ScoringConfig, score_series};
use proptest::prelude::*;

/// Finite values across many magnitudes, with repeats and exact zeros.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3..1e3f64,
        2 => -1e12..1e12f64,
        1 => Just(0.0),
        1 => Just(42.0),
        1 => -1e-9..1e-9f64,
        1 => -1e100..1e100f64,
    ]
}

fn detector() -> impl Strategy<Value = DetectorChoice> {
    prop_oneof![
        Just(DetectorChoice::Auto),
        Just(DetectorChoice::Ewma),
        Just(DetectorChoice::HoltWinters),
    ]
}

/// A configuration with a short learning period, so that the likelihood, the range
/// rule, the pulse and the season checkpoints are all exercised on short series.
fn config() -> impl Strategy<Value = ScoringConfig> {
    (detector(), 1usize..80, 1usize..15, 0usize..60).prop_map(
        |(detector, probation, short_window, pulse_window)| ScoringConfig {
            detector,
            probation,
            short_window,
            pulse_window,
            ..ScoringConfig::default()
        },
    )
}

/// A smooth daily-like cycle with a little deterministic noise, `m` ticks long.
fn cycle(n: usize, m: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            let phase = std::f64::consts::TAU * (t % m) as f64 / m as f64;
            100.0 + 20.0 * phase.sin() + ((t * 7919) % 13) as f64 / 13.0
        })
        .collect()
}

proptest! {
    #[test]
    fn scores_are_finite_and_in_the_unit_interval(
        values in prop::collection::vec(value(), 0..400),
        config in config(),
    ) {
        let scores = score_series(&values, config).unwrap();
        prop_assert_eq!(scores.len(), values.len());
        for s in &scores {
            prop_assert!(s.is_finite() && (0.0..=1.0).contains(s), "{}", s);
        }
        // The automatic learning period too.
        let auto = ScoringConfig { probation: 0, ..config };
        for s in score_series(&values, auto).unwrap() {
            prop_assert!((0.0..=1.0).contains(&s), "{}", s);
        }
    }

    #[test]
    fn scores_never_depend_on_later_values(
        prefix in prop::collection::vec(value(), 1..300),
        tail_a in prop::collection::vec(value(), 0..120),
        tail_b in prop::collection::vec(value(), 0..120),
        config in config(),
    ) {
        let mut a = AnomalyScorer::new(config).unwrap();
        let mut b = AnomalyScorer::new(config).unwrap();
        for &v in &prefix {
            prop_assert_eq!(a.score(v).to_bits(), b.score(v).to_bits());
        }
        for &v in &tail_a {
            a.score(v);
        }
        for &v in &tail_b {
            b.score(v);
        }
        // And the batch helper: same prefix, any tail, same scores on the prefix.
        let mut full_a = prefix.clone();
        full_a.extend(&tail_a);
        let mut full_b = prefix.clone();
        full_b.extend(&tail_b);
        let sa = score_series(&full_a, config).unwrap();
        let sb = score_series(&full_b, config).unwrap();
        prop_assert_eq!(&sa[..prefix.len()], &sb[..prefix.len()]);
    }

    #[test]
    fn non_finite_values_score_zero_and_are_skipped(
        values in prop::collection::vec(value(), 1..300),
        holes in prop::collection::vec((0usize..300, 0usize..3), 1..10),
        config in config(),
    ) {
        let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        let mut with_holes = values.clone();
        for &(at, which) in holes.iter().rev() {
            with_holes.insert(at.min(with_holes.len()), bad[which]);
        }
        let clean = score_series(&values, config).unwrap();
        let holed = score_series(&with_holes, config).unwrap();
        let mut kept = Vec::new();
        for (v, s) in with_holes.iter().zip(&holed) {
            if v.is_finite() {
                kept.push(*s);
            } else {
                prop_assert_eq!(*s, 0.0);
            }
        }
        prop_assert_eq!(kept, clean);
    }
}

#[test]
fn causality_holds_across_a_season_switch() {
    // Long enough for the Auto checkpoints to fit and adopt a seasonal model.
    let base = cycle(1200, 24);
    let mut other = base.clone();
    for (i, v) in other[700..].iter_mut().enumerate() {
        *v = if i % 2 == 0 { 1e6 } else { -3.0 };
    }
    let config = ScoringConfig {
        probation: 300,
        ..ScoringConfig::default()
    };
    let a = score_series(&base, config).unwrap();
    let b = score_series(&other, config).unwrap();
    assert_eq!(&a[..700], &b[..700]);
    assert_ne!(&a[700..], &b[700..]);
    let mut scorer = AnomalyScorer::new(config).unwrap();
    for &v in &base {
        scorer.score(v);
    }
    assert_eq!(scorer.season(), Some(24));
}

#[test]
fn scoring_is_deterministic() {
    let mut values = cycle(2000, 48);
    values[1500] += 60.0;
    for detector in [
        DetectorChoice::Auto,
        DetectorChoice::Ewma,
        DetectorChoice::HoltWinters,
    ] {
        let config = ScoringConfig {
            detector,
            ..ScoringConfig::default()
        };
        let a = score_series(&values, config).unwrap();
        let b = score_series(&values, config).unwrap();
        let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
    }
}

#[test]
fn a_spike_scores_near_one_and_the_steady_stretch_low() {
    let mut values = cycle(3000, 96);
    values[2400] += 15.0;
    for detector in [DetectorChoice::Auto, DetectorChoice::HoltWinters] {
        let config = ScoringConfig {
            detector,
            ..ScoringConfig::default()
        };
        let scores = score_series(&values, config).unwrap();
        // One surprising tick moves the 10-tick average surprise by at most 0.1, which
        // the likelihood turns into about 0.87 here; only the range rule gives 1.
        assert!(
            scores[2400] > 0.8,
            "{detector:?}: spike scored {}",
            scores[2400]
        );
        // The spike lies inside the range of the cycle: the model found it, not the
        // range rule.
        assert!(values[2400] < 121.0);
        let steady = scores[450..2400].iter().copied().fold(0.0, f64::max);
        assert!(
            steady < 0.2,
            "{detector:?}: steady stretch peaked at {steady}"
        );
    }
}

#[test]
fn the_configuration_reads_the_cli_names() {
    let c: ScoringConfig = serde_json::from_str(r#"{"detector":"holt-winters"}"#).unwrap();
    assert_eq!(c.detector, DetectorChoice::HoltWinters);
    assert_eq!(c.probation, 0);
    let c: ScoringConfig = serde_json::from_str(r#"{"detector":"auto","probation":9}"#).unwrap();
    assert_eq!(
        c,
        ScoringConfig {
            probation: 9,
            ..ScoringConfig::default()
        }
    );
    assert!(serde_json::from_str::<ScoringConfig>(r#"{"detector":"arima"}"#).is_err());
    assert!(serde_json::from_str::<ScoringConfig>(r#"{"alpah":0.2}"#).is_err());
}

fn csv_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            csv_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "csv") {
            out.push(p);
        }
    }
}

/// A path from the environment; a relative one is taken from the workspace root (cargo
/// runs tests from the crate's folder).
fn env_path(name: &str) -> PathBuf {
    let p = PathBuf::from(std::env::var(name).unwrap_or_else(|_| panic!("set {name}")));
    if p.is_absolute() {
        p
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
    }
}

/// The NAB runner used during development: scores every CSV under `$NAB_DIR/data`
/// with [`score_series`] (timestamps and values passed through as text) and writes
/// `$NAB_OUT/<detector>/<category>/<detector>_<file>.csv` (detector `$NAB_DETECTOR`,
/// default `coalmine`), with the configuration `$NAB_CONFIG` (JSON, optional), then
/// prints the time spent in `score_series`. Then:
/// `python3 ../shared/nab/score.py ../shared/nab $NAB_OUT coalmine`.
#[test]
#[ignore = "needs the NAB data: NAB_DIR=../shared/nab NAB_OUT=target/nab-dev \
            cargo test --release -p coalmine --test scoring -- --ignored --nocapture"]
fn nab_results() {
    let nab = env_path("NAB_DIR");
    let out = env_path("NAB_OUT");
    let det = std::env::var("NAB_DETECTOR").unwrap_or_else(|_| "coalmine".into());
    let config: ScoringConfig = match std::env::var("NAB_CONFIG") {
        Ok(json) => serde_json::from_str(&json).expect("NAB_CONFIG"),
        Err(_) => ScoringConfig::default(),
    };
    let data = nab.join("data");
    let mut files = Vec::new();
    csv_files(&data, &mut files);
    assert!(!files.is_empty(), "no CSV under {}", data.display());
    let mut elapsed = std::time::Duration::ZERO;
    let mut rows_total = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let mut rows = Vec::new();
        for line in text.lines().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let (ts, v) = line.split_once(',').expect("timestamp,value");
            rows.push((
                ts.to_string(),
                v.to_string(),
                v.trim().parse::<f64>().unwrap_or(f64::NAN),
            ));
        }
        let values: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let start = std::time::Instant::now();
        let scores = score_series(&values, config).expect("score");
        elapsed += start.elapsed();
        rows_total += values.len();
        let rel = f.strip_prefix(&data).expect("under data");
        let cat = rel.parent().expect("category");
        let name = rel.file_name().expect("file").to_string_lossy();
        let dir = out.join(&det).join(cat);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut s = String::from("timestamp,value,anomaly_score\n");
        for ((ts, v, _), sc) in rows.iter().zip(&scores) {
            assert!((0.0..=1.0).contains(sc), "{sc}");
            s.push_str(&format!("{ts},{v},{sc}\n"));
        }
        std::fs::write(dir.join(format!("{det}_{name}")), s).expect("write");
    }
    eprintln!(
        "scored {} files, {rows_total} rows in {:.3} s",
        files.len(),
        elapsed.as_secs_f64()
    );
}
