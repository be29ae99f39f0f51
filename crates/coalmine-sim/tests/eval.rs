//! The evaluation harness end to end on a few seeds: every scenario appears in the
//! report, the report is deterministic, and progress is reported.

use coalmine_sim::{
    EvalConfig, EvalReport, RunOutcome, ScenarioKind, evaluate, evaluate_with_progress,
};

fn small() -> EvalConfig {
    EvalConfig {
        seeds: 2,
        ..EvalConfig::default()
    }
}

#[test]
fn a_small_evaluation_reports_every_scenario_and_is_deterministic() {
    let t = std::time::Instant::now();
    let mut calls = Vec::new();
    let report = evaluate_with_progress(&small(), |done, total| calls.push((done, total)))
        .expect("evaluation runs");
    eprintln!("took {:?}", t.elapsed());
    let total = ScenarioKind::ALL.len() * 2;
    assert_eq!(calls.len(), total);
    assert!(
        calls
            .iter()
            .enumerate()
            .all(|(i, &(d, t))| d == i + 1 && t == total)
    );
    assert_eq!(report.runs.len(), total);
    let md = report.to_markdown();
    for k in ScenarioKind::ALL {
        assert!(
            md.contains(&format!("`{}`", k.name())),
            "{} missing from\n{md}",
            k.name()
        );
    }
    for t in &report.targets {
        assert!(md.contains(&t.name));
    }
    let again = evaluate(&small()).expect("evaluation runs");
    assert_eq!(again.to_json(), report.to_json());
    let back: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    assert_eq!(back["runs"].as_array().map(Vec::len), Some(total));
    let _: EvalReport = serde_json::from_str(&report.to_json()).expect("round trip");
    for r in &report.runs {
        assert!(r.ticks_observed > 0);
        assert!(r.exposure >= 0.0 && (r.exposure == 0.0 || r.harmful));
        assert_eq!(
            r.outcome == RunOutcome::RolledBack,
            r.rollback_reason.is_some()
        );
    }
}

#[test]
fn one_rollout_is_driven_at_the_share_the_analysis_decides() {
    use coalmine::analysis::AnalysisConfig;
    use coalmine_sim::{Scenario, run_scenario, run_scenario_traced};

    let sc = Scenario::generate(ScenarioKind::ErrorSpike, 1);
    let profile = sc.build_profile().expect("profile");
    let mut shares = Vec::new();
    let mut last_decided = None;
    let r = run_scenario_traced(&sc, &profile, &AnalysisConfig::default(), 150, |t, d| {
        // Each tick is generated at the share the previous decision set.
        shares.push((t.share, last_decided));
        last_decided = Some(d.canary_share);
    })
    .expect("runs");
    assert_eq!(shares.len(), r.ticks_observed);
    assert_eq!(shares[0].0, 0.01);
    assert!(shares.iter().skip(1).all(|&(s, prev)| Some(s) == prev));
    // A jump of a point or more in a critical metric: rolled back by the critical rule
    // (20 of 20 seeds in the release evaluation, within a tick of the onset).
    assert_eq!(r.outcome, RunOutcome::RolledBack);
    assert!(r.detected(), "{r:?}");
    assert_eq!(r.final_share, 0.0);
    assert_eq!(
        run_scenario(&sc, &profile, &AnalysisConfig::default(), 150).expect("runs"),
        r
    );
}
