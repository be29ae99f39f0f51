//! A metrics CSV read from arbitrary bytes, as history and as a live file, against the
//! command's test schema: either one error naming the file, on one line, or ticks in
//! strictly increasing time whose values and counts are missing or valid.
#![no_main]

use coalmine::MAX_ABS_VALUE;
use coalmine_cli::input::{Role, read_ticks_from_slice};
use coalmine_fuzz::{assert_one_line, cli_schema};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let schema = cli_schema();
    for role in [Role::History, Role::Live] {
        let mut last = f64::NEG_INFINITY;
        let mut handed = 0u64;
        let read = read_ticks_from_slice(data, "m.csv", schema, role, |t| {
            assert!(t.timestamp > last, "ticks must come in increasing time");
            last = t.timestamp;
            assert_eq!(t.control.len(), schema.tick_len());
            assert_eq!(t.canary.len(), schema.tick_len());
            for &v in t.control.iter().chain(&t.canary) {
                assert!(
                    v.is_nan() || v.abs() <= MAX_ABS_VALUE,
                    "value {v} let through"
                );
            }
            if let Some((control, canary)) = t.counts() {
                assert_eq!(control.len(), schema.tick_len());
                assert_eq!(canary.len(), schema.tick_len());
                for &n in control.iter().chain(canary) {
                    assert!(
                        n.is_nan() || (0.0..=MAX_ABS_VALUE).contains(&n),
                        "count {n}"
                    );
                }
            }
            if role == Role::History {
                assert!(
                    t.canary.iter().all(|v| v.is_nan()),
                    "canary data in history"
                );
            }
            handed += 1;
            Ok(())
        });
        match read {
            Ok(summary) => {
                assert_eq!(summary.ticks, handed, "the summary counts the ticks handed");
                assert!(summary.rows >= summary.ticks);
            }
            Err(e) => assert_one_line(&e.to_string(), "m.csv"),
        }
    }
});
