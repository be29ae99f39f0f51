//! A profile read from arbitrary bytes is either refused with an error or is a profile
//! that re-reads identically and can start an analysis that observes a tick.
#![no_main]

use coalmine::analysis::{Analysis, AnalysisConfig, Tick};
use coalmine::profile::BehaviorProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = BehaviorProfile::from_json(text) else {
        return;
    };
    let json = profile.to_json();
    let again = BehaviorProfile::from_json(&json).expect("a loaded profile must re-read");
    assert_eq!(again.to_json(), json, "a profile must round-trip exactly");
    if let Ok(mut analysis) = Analysis::new(&profile, AnalysisConfig::default()) {
        let n = profile.schema().map(|s| s.tick_len()).unwrap_or(0);
        let values = vec![1.0; n];
        let tick = Tick {
            timestamp: 1.0,
            control: &values,
            canary: &values,
            control_counts: None,
            canary_counts: None,
        };
        if let Ok(d) = analysis.observe(&tick) {
            assert!(d.assessment.risk.is_finite());
        }
    }
});
