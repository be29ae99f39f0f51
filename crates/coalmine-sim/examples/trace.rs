//! Runs one scenario and prints every tick's decision: share, action, reason, risk and
//! the top contributor.
//!
//! ```sh
//! cargo run --release -p coalmine-sim --example trace -- memory-leak 3
//! cargo run --release -p coalmine-sim --example trace -- error-ratio-step 3 --counts
//! ```
//!
//! `--counts` passes the count behind each value to the analysis.

use coalmine::analysis::AnalysisConfig;
use coalmine_sim::scenario::metric_names;
use coalmine_sim::{Scenario, ScenarioKind, run_scenario_with};

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().as_deref().and_then(ScenarioKind::from_name);
    let seed = args.next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(1);
    let with_counts = args.next().as_deref() == Some("--counts");
    let Some(kind) = kind else {
        let names: Vec<&str> = ScenarioKind::ALL.iter().map(|k| k.name()).collect();
        eprintln!(
            "usage: trace SCENARIO [SEED [--counts]]\nscenarios: {}",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let sc = Scenario::generate(kind, seed);
    println!(
        "{} seed {seed}: {:?}; starts at tick {} of the day; static trip {:?}",
        kind.name(),
        sc.injection,
        sc.start_of_day,
        sc.static_trip_tick
    );
    for a in &sc.affected {
        println!(
            "  affected: segment {} {} threshold {:.4}{}",
            a.segment,
            metric_names()[a.metric],
            a.threshold,
            if a.below { " (below)" } else { "" }
        );
    }
    let profile = match sc.build_profile() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("profile: {e}");
            std::process::exit(1);
        }
    };
    let names = metric_names();
    let config = AnalysisConfig::default();
    let result = run_scenario_with(&sc, &profile, &config, 150, with_counts, |t, d| {
        let top = d
            .assessment
            .contributors
            .first()
            .map_or(String::new(), |c| {
                format!(
                    "{:?} seg {} {} dev {:+.1} p {:.1e}{}",
                    c.source,
                    c.segment,
                    names.get(c.metric).unwrap_or(&"?"),
                    c.deviation,
                    c.p_value,
                    if c.significant { " *" } else { "" }
                )
            });
        let f = d.assessment.factors;
        let limit = d.assessment.limit_breach.map_or(String::new(), |b| {
            format!(
                " | limit: seg {} {} in {:.1} ticks",
                b.segment,
                names.get(b.metric).unwrap_or(&"?"),
                b.ticks_ahead
            )
        });
        println!(
            "{:3} share {:.3} {:?} {:?} risk {:.2} pred {:.2} [sev {:.2} per {:.2} seg {:.2} feat {:.2}] acc {:.1e} {}{}",
            t.k,
            t.share,
            d.action.level(),
            d.reason,
            d.assessment.risk,
            d.assessment.predicted_risk,
            f.severity,
            f.persistence,
            f.segment_weight,
            f.feature_correlation,
            d.assessment.evidence.accumulated_p,
            top,
            limit
        );
    });
    match result {
        Ok(r) => println!("{r:?}"),
        Err(e) => eprintln!("run: {e}"),
    }
}
