//! Writes the seed corpora of the document targets: the fixture profile, and
//! checkpoints of an analysis of it taken at a few points of a rollout.
//!
//!     cargo run --release --example seed_corpus
//!
//! (from `fuzz/`; it rewrites `seeds/profile_json/` and `seeds/checkpoint_restore/`).

use std::fs;
use std::path::Path;

use coalmine::analysis::{Analysis, AnalysisConfig, Tick};
use coalmine_fuzz::{METRICS, SEGMENTS, Value, profile};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let profiles = root.join("profile_json");
    let checkpoints = root.join("checkpoint_restore");
    fs::create_dir_all(&profiles)?;
    fs::create_dir_all(&checkpoints)?;

    let p = profile();
    fs::write(profiles.join("fixture.json"), p.to_json())?;

    let mut analysis = Analysis::new(p, AnalysisConfig::default()).expect("fixture analysis");
    fs::write(checkpoints.join("tick0.json"), analysis.checkpoint())?;
    let mut row = [0.0; SEGMENTS * METRICS];
    for t in 1..=40u32 {
        for (i, v) in row.iter_mut().enumerate() {
            // A canary whose error ratio climbs from tick 20, so later checkpoints hold
            // a paused or rolled-back state.
            let near = if i % METRICS == 0 && t > 20 {
                300 * (t as i16 - 20)
            } else {
                (t % 7) as i16 * 10
            };
            *v = Value::Near(near).resolve(i % METRICS);
        }
        let control: Vec<f64> = (0..row.len())
            .map(|i| Value::Near(0).resolve(i % METRICS))
            .collect();
        let tick = Tick {
            timestamp: 1.7e9 + 60.0 * f64::from(t),
            control: &control,
            canary: &row,
            control_counts: None,
            canary_counts: None,
        };
        analysis.observe(&tick).expect("seed ticks are valid");
        if t % 10 == 0 {
            fs::write(
                checkpoints.join(format!("tick{t}.json")),
                analysis.checkpoint(),
            )?;
        }
    }
    println!("seed corpora written under {}", root.display());
    Ok(())
}
