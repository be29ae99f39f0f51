//! A rollout, tick by tick: learn a profile from six days of history, then roll out two
//! releases — a healthy one and one that quietly breaks checkout for everyone — and
//! print every decision with the contributor behind it.
//!
//! Run: `cargo run --release -p coalmine-examples --example rollout`

use coalmine::analysis::{Analysis, AnalysisConfig, Tick};
use coalmine::policy::Level;
use coalmine::profile::{BehaviorProfile, ProfileBuilder, ProfileConfig};
use coalmine::schema::Schema;
use coalmine::traffic::Phase;
use coalmine_examples::{DAY, Fault, Noise, cohort, schema};

fn learn() -> Result<BehaviorProfile, coalmine::Error> {
    let mut builder = ProfileBuilder::new(Schema::new(schema())?, ProfileConfig::default())?;
    let mut noise = Noise(1);
    for t in 0..6 * DAY {
        builder.push_tick(&cohort(t, 0.95, Fault::default(), 0, &mut noise))?;
    }
    builder.build()
}

/// Streams one rollout; returns the final phase and the (1-based) tick of the rollback.
fn roll_out(
    profile: &BehaviorProfile,
    fault: Fault,
    onset: usize,
    verbose: bool,
) -> Result<(Phase, Option<usize>), coalmine::Error> {
    let mut analysis = Analysis::new(profile, AnalysisConfig::default())?;
    let mut noise = Noise(42);
    let start = 6 * DAY;
    for k in 0..120 {
        let share = analysis.decision().canary_share.max(0.01);
        let f = if k >= onset { fault } else { Fault::default() };
        let control = cohort(start + k, 1.0 - share, Fault::default(), 0, &mut noise);
        let canary = cohort(start + k, share, f, start.saturating_add(onset), &mut noise);
        let tick = Tick {
            timestamp: 1_800.0 * k as f64,
            control: &control,
            canary: &canary,
        };
        let decision = analysis.observe(&tick)?;
        let (level, phase, number) = (
            decision.action.level(),
            decision.phase,
            decision.tick as usize,
        );
        if verbose && (k % 5 == 0 || level != Level::Continue) {
            println!("  {}", analysis.summary());
        }
        match phase {
            Phase::RolledBack => return Ok((phase, Some(number))),
            Phase::Promoted => return Ok((phase, None)),
            _ => {}
        }
    }
    Ok((analysis.decision().phase, None))
}

fn main() -> Result<(), coalmine::Error> {
    let profile = learn()?;
    println!("healthy release:");
    let (phase, _) = roll_out(&profile, Fault::default(), usize::MAX, true)?;
    println!("  => {phase:?}\n");
    println!("release that loses 35 % of checkouts from tick 25 (no errors, no latency):");
    let fault = Fault {
        checkout: -0.35,
        ..Fault::default()
    };
    let (phase, at) = roll_out(&profile, fault, 25, true)?;
    println!(
        "  => {phase:?} at tick {}",
        at.map_or("-".into(), |t| t.to_string())
    );
    Ok(())
}

#[test]
fn the_healthy_release_is_promoted_and_the_broken_one_rolled_back_quickly() {
    let profile = learn().unwrap();
    assert_eq!(
        roll_out(&profile, Fault::default(), usize::MAX, false)
            .unwrap()
            .0,
        Phase::Promoted
    );
    let fault = Fault {
        checkout: -0.35,
        ..Fault::default()
    };
    let (phase, at) = roll_out(&profile, fault, 25, false).unwrap();
    assert_eq!(phase, Phase::RolledBack);
    // The fault starts on tick 26.
    assert!(at.is_some_and(|t| (26..36).contains(&t)), "{at:?}");
}
