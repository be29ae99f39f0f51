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

#[test]
fn every_fault_gets_an_oracle_calibrated_on_the_healthy_rollouts() {
    let report = evaluate(&EvalConfig {
        seeds: 3,
        kinds: vec![
            ScenarioKind::ErrorSpike,
            ScenarioKind::RetryStorm,
            ScenarioKind::MemoryLeak,
            ScenarioKind::AaIdentical,
            ScenarioKind::HeavyTails,
        ],
        ..EvalConfig::default()
    })
    .expect("evaluation runs");
    for r in report.runs.iter().filter(|r| r.harmful) {
        // The oracle knows the fault: it sees these within the tick limit.
        let o = r
            .oracle_delay
            .unwrap_or_else(|| panic!("no oracle delay: {r:?}"));
        let ratio = r.delay_ratio.expect("a ratio beside the oracle delay");
        let ours = r.delay().map_or(150 - r.onset.unwrap_or(0) - 1, |d| d);
        assert_eq!(ratio, (ours + 1) as f64 / (o + 1) as f64);
        // A step of one to four points of errors, or twice the calls, is plain at once.
        if r.kind != ScenarioKind::MemoryLeak {
            assert!(o <= 2, "{r:?}");
        }
    }
    for r in report.runs.iter().filter(|r| !r.harmful) {
        assert!(r.oracle_delay.is_none() && r.delay_ratio.is_none());
    }
    let harmful = &report.groups[0];
    assert_eq!(harmful.label, "harmful");
    assert_eq!(harmful.delay_ratio_runs, 9);
    assert!(report.to_markdown().contains("Against the oracle"));

    // Without healthy rollouts there is nothing to calibrate on: no oracle.
    let alone = evaluate(&EvalConfig {
        seeds: 1,
        kinds: vec![ScenarioKind::ErrorSpike],
        ..EvalConfig::default()
    })
    .expect("evaluation runs");
    assert!(alone.runs.iter().all(|r| r.oracle_delay.is_none()));
}

#[test]
fn a_suite_reports_each_target_and_long_aa_rollouts_last_their_ticks() {
    use coalmine_sim::{SuiteConfig, run_suite};

    let mut suite = SuiteConfig::preset("half-hour-wide").expect("preset");
    suite.eval.seeds = 1;
    suite.eval.kinds = vec![
        ScenarioKind::ErrorSpike,
        ScenarioKind::LatencyCreep,
        ScenarioKind::GlobalSurge,
        ScenarioKind::ErrorRatioStep,
    ];
    suite.held_out = Some((1001, 1));
    suite.long_aa_seeds = 2;
    suite.long_aa_ticks = 80;
    let mut stages = Vec::new();
    let r = run_suite(&suite, |stage, _, _| {
        if stages.last().is_none_or(|s: &String| s != stage) {
            stages.push(stage.to_string());
        }
    })
    .expect("suite runs");
    assert_eq!(stages, ["tuning seeds", "held-out seeds", "long A/A"]);
    assert!(!r.tuning.config.sim.critical_errors);
    let held = r.held_out.as_ref().expect("held-out report");
    assert_eq!(held.config.first_seed, 1001);
    let aa = r.long_aa.as_ref().expect("long A/A report");
    assert_eq!(aa.runs, 2);
    // The dwell is stretched so that the ramp cannot finish within the ticks.
    assert!(aa.dwell as usize * (aa.steps.len() - 1) > aa.ticks);
    let md = r.to_markdown();
    assert!(md.contains("## Configuration `half-hour-wide`"));
    assert!(md.contains("held-out 1001–1001"));
    for t in &r.tuning.targets {
        assert!(md.contains(&t.name), "{} missing", t.name);
    }
    assert!(md.contains("A/A over 80 ticks"));
    // Half-hour ticks: the step-delay target applies; the probe has its row.
    let names: Vec<&str> = r.tuning.targets.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"median detection delay, step faults"));
    assert!(names.iter().any(|n| n.starts_with("3× error-ratio step")));
    let back: coalmine_sim::ConfigReport =
        serde_json::from_str(&r.to_json()).expect("JSON round trip");
    assert_eq!(back, r);
}

#[test]
fn the_analysis_accepts_the_simulated_counts() {
    use coalmine::analysis::AnalysisConfig;
    use coalmine_sim::{Scenario, run_scenario_with};

    // Missing values carry NaN counts, a canary without traffic zero counts: both are
    // valid input, and every kind runs with counts to its end.
    for kind in [
        ScenarioKind::MissingTicks,
        ScenarioKind::TinyCanary,
        ScenarioKind::ErrorRatioStep,
    ] {
        let sc = Scenario::generate(kind, 4);
        let profile = sc.build_profile().expect("profile");
        let mut ticks = 0;
        let r = run_scenario_with(
            &sc,
            &profile,
            &AnalysisConfig::default(),
            150,
            true,
            |t, _| {
                assert_eq!(t.canary_counts.len(), t.canary.len());
                ticks += 1;
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        assert_eq!(r.ticks_observed, ticks);
        assert!(r.outcome != RunOutcome::Undecided || ticks > 100, "{r:?}");
    }
    let report = evaluate(&EvalConfig {
        seeds: 1,
        with_counts: true,
        kinds: vec![ScenarioKind::AaIdentical, ScenarioKind::ErrorRatioStep],
        ..EvalConfig::default()
    })
    .expect("evaluation runs");
    assert!(
        report
            .to_markdown()
            .contains("given the count behind each value")
    );
    assert!(
        report
            .targets
            .iter()
            .any(|t| t.name.ends_with("with counts"))
    );
}
