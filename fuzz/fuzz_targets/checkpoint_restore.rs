//! A checkpoint read from arbitrary bytes is either refused with an error at restore,
//! or is an analysis that checkpoints identically and goes on observing ticks.
#![no_main]

use coalmine::analysis::{Analysis, Tick};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut analysis) = Analysis::restore(text) else {
        return;
    };
    let json = analysis.checkpoint();
    let again = Analysis::restore(&json).expect("a restored checkpoint must re-read");
    assert_eq!(
        again.checkpoint(),
        json,
        "a checkpoint must round-trip exactly"
    );
    let n = coalmine_fuzz::profile()
        .schema()
        .map(|s| s.tick_len())
        .unwrap_or(0);
    let values = vec![1.0; n];
    let start = analysis.decision().timestamp;
    for k in 1..4 {
        let tick = Tick {
            timestamp: start + k as f64,
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
