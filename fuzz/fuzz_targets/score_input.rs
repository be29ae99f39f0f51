//! A `score` input read from arbitrary bytes: either one error naming the file, on one
//! line, or rows whose values are finite and within the magnitude limit, and whose
//! scores are probabilities, one per row.
#![no_main]

use coalmine::MAX_ABS_VALUE;
use coalmine::scoring::{ScoringConfig, score_series};
use coalmine_cli::score_input::ScoreReader;
use coalmine_fuzz::assert_one_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut values = Vec::new();
    let read = ScoreReader::new(data, "s.csv").and_then(|mut r| {
        while let Some((_, v)) = r.next_row()? {
            assert!(
                v.is_finite() && v.abs() <= MAX_ABS_VALUE,
                "value {v} let through"
            );
            values.push(v);
        }
        Ok(())
    });
    if let Err(e) = read {
        assert_one_line(&e.to_string(), "s.csv");
        return;
    }
    let scores = score_series(&values, ScoringConfig::default()).expect("valid values are scored");
    assert_eq!(scores.len(), values.len());
    for s in scores {
        assert!((0.0..=1.0).contains(&s), "score {s} is not a probability");
    }
});
