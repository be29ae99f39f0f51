//! A fixed workload for `valgrind --tool=callgrind`, whose instruction counts the
//! machine's load does not move: `instructions WHAT N` runs `N` calls of `WHAT`, so the
//! difference of two counts (say `N` = 100,000 and 200,000) divided by the difference
//! in `N` is the marginal cost of one call, set-up excluded.
//!
//! `WHAT` is a tail (`tail_dof18`, `tail_dof1000`, `tail_dof18_far` through the
//! per-dof table, the same through the exact tail as `exact_dof18`, `exact_dof1000`,
//! `exact_dof18_far`, `exact_new_dof` (a new dof on every call, as in a
//! warm-up), `normal`, and `loop`: the
//! loop around them with no tail)
//! or a detector row of the criterion benchmarks (`ewma_api`, `ewma_api_deviation`,
//! `ewma_bare`, `ewma_bare_recurrence`, and the same for `hw24_` and `hw1440_`), whose
//! `N` points are streamed in series of 10,000 through a fresh detector each, as there.

use std::hint::black_box;

use coalmine::math::dist::{normal_two_sided, student_t_two_sided, student_t_two_sided_tabled};
use coalmine::{AnomalyDetector, Ewma, EwmaConfig, HoltWinters, HoltWintersConfig};
use coalmine_benches::{
    HwBare, ScaleParams, ewma_bare, ewma_bare_recurrence, hw_bare, hw_bare_recurrence,
    initial_season, signal,
};

const SERIES: usize = 10_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(what), Some(n)) = (
        args.get(1),
        args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: instructions WHAT N");
        std::process::exit(2);
    };
    let series = n.div_ceil(SERIES);
    let zs: Vec<f64> = signal(SERIES, 24)
        .iter()
        .map(|x| (x - 100.0) / 7.0)
        .collect();
    let tail = |f: fn(f64, f64) -> f64, dof: f64, shift: f64| {
        let mut sum = 0.0;
        for i in 0..n {
            sum += f(black_box(zs[i % SERIES] + shift), dof);
        }
        sum
    };
    let sum = match what.as_str() {
        "tail_dof18" => tail(student_t_two_sided_tabled, 18.0, 0.0),
        "tail_dof1000" => tail(student_t_two_sided_tabled, 1000.0, 0.0),
        "tail_dof18_far" => tail(student_t_two_sided_tabled, 18.0, 8.0),
        "exact_dof18" => tail(student_t_two_sided, 18.0, 0.0),
        "exact_dof1000" => tail(student_t_two_sided, 1000.0, 0.0),
        "exact_dof18_far" => tail(student_t_two_sided, 18.0, 8.0),
        "normal" => tail(|z, _| normal_two_sided(z), 0.0, 0.0),
        // A new dof on every call, as while a detector warms up.
        "exact_new_dof" => {
            let mut sum = 0.0;
            for i in 0..n {
                sum += student_t_two_sided(black_box(zs[i % SERIES]), 98.0 - i as f64 * 1e-9);
            }
            sum
        }
        // The loop around the tails alone, to subtract from them.
        "loop" => tail(|z, _| z, 0.0, 0.0),
        other => detector(other, series),
    };
    println!("{sum}");
}

fn detector(what: &str, series: usize) -> f64 {
    let (kind, row) = what.split_once('_').unwrap_or((what, ""));
    let m = match kind {
        "ewma" => 24,
        "hw24" => 24,
        "hw1440" => 1440,
        _ => {
            eprintln!("unknown workload {what}");
            std::process::exit(2);
        }
    };
    let xs = signal(SERIES, m);
    let mut sum = 0.0;
    if kind == "ewma" {
        let cfg = EwmaConfig::default();
        let scale = ScaleParams::of_ewma(&cfg);
        for _ in 0..series {
            let mut det = Ewma::new(cfg).unwrap();
            sum += match row {
                "bare" => ewma_bare(black_box(&xs), cfg.alpha, scale),
                "bare_recurrence" => ewma_bare_recurrence(black_box(&xs), cfg.alpha, scale),
                _ => api(&mut det, &xs, row, what),
            };
        }
        return sum;
    }
    let cfg = HoltWintersConfig {
        season_length: m,
        ..HoltWintersConfig::default()
    };
    let season = initial_season(m);
    let scale = ScaleParams::of_holt_winters(&cfg);
    for _ in 0..series {
        let mut det = HoltWinters::new(cfg, 100.0, 0.0, &season).unwrap();
        let mut bare = HwBare::new(&cfg, season.clone());
        sum += match row {
            "bare" => hw_bare(&mut bare, black_box(&xs), scale),
            "bare_recurrence" => hw_bare_recurrence(&mut bare, black_box(&xs), scale),
            _ => api(&mut det, &xs, row, what),
        };
    }
    sum
}

/// The API rows: every point observed, and the sum of its tail probabilities (`api`)
/// or of its deviations (`api_deviation`).
fn api(det: &mut impl AnomalyDetector<Input = f64>, xs: &[f64], row: &str, what: &str) -> f64 {
    let observed = xs.iter().filter_map(|x| det.observe(black_box(x)).ok());
    match row {
        "api" => observed.map(|a| a.tail_probability()).sum(),
        "api_deviation" => observed.map(|a| a.deviation).sum(),
        _ => unknown(what),
    }
}

fn unknown(what: &str) -> f64 {
    eprintln!("unknown workload {what}");
    std::process::exit(2);
}
