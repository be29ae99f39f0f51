//! An analysis fed arbitrary tick sequences: a rejected tick leaves the state exactly
//! as it was (its checkpoint is unchanged), and an accepted one yields finite risk.
//! The input's `Debug` form is a reproduction: the steps as data.
#![no_main]

use coalmine::analysis::{Analysis, AnalysisConfig, Tick};
use coalmine_fuzz::{Step, profile, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|steps: Vec<Step>| {
    let Ok(mut analysis) = Analysis::new(profile(), AnalysisConfig::default()) else {
        panic!("the fixture profile must start an analysis");
    };
    let (mut control, mut canary) = (Vec::new(), Vec::new());
    let mut clock = 1.7e9;
    for step in steps.iter().take(200) {
        let timestamp = step.dt.after(clock);
        resolve(&step.control, &mut control);
        resolve(&step.canary, &mut canary);
        let before = analysis.checkpoint();
        let tick = Tick {
            timestamp,
            control: &control,
            canary: &canary,
            control_counts: None,
            canary_counts: None,
        };
        match analysis.observe(&tick) {
            Ok(d) => {
                clock = timestamp;
                assert!(
                    d.assessment.risk.is_finite(),
                    "risk {:?}",
                    d.assessment.risk
                );
                assert!(d.canary_share.is_finite() && (0.0..=1.0).contains(&d.canary_share));
            }
            Err(_) => assert_eq!(
                analysis.checkpoint(),
                before,
                "a rejected tick changed state"
            ),
        }
    }
});
