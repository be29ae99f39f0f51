//! Writes the seed corpora of the document targets (the fixture profile, and
//! checkpoints of an analysis of it taken at a few points of a rollout) and of the
//! command's readers (the command's test fixtures, cut short, and variants of them in
//! the forms the readers accept).
//!
//!     cargo run --release --example seed_corpus
//!
//! (from `fuzz/`; it rewrites `seeds/profile_json/`, `seeds/checkpoint_restore/`,
//! `seeds/metrics_csv/`, `seeds/cli_config/` and `seeds/score_input/`).

use std::fs;
use std::path::Path;

use coalmine::analysis::{Analysis, AnalysisConfig, Tick};
use coalmine_cli::config::ConfigFile;
use coalmine_fuzz::{CLI_CONFIG, METRICS, SEGMENTS, Value, profile};

/// Lines of a fixture kept in a seed: enough for a few ticks, short enough that the
/// fuzzer's inputs stay small and fast.
const SEED_LINES: usize = 40;

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
    readers(&root)?;
    println!("seed corpora written under {}", root.display());
    Ok(())
}

/// The first `n` lines of `text`.
fn head(text: &str, n: usize) -> String {
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

/// Seeds of the reader targets.
fn readers(root: &Path) -> std::io::Result<()> {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/coalmine-cli/tests/fixtures");
    let read = |name: &str| fs::read_to_string(fixtures.join(name));

    let metrics = root.join("metrics_csv");
    fs::create_dir_all(&metrics)?;
    for name in ["history.csv", "live_healthy.csv", "live_bad.csv"] {
        fs::write(metrics.join(name), head(&read(name)?, SEED_LINES))?;
    }
    let history = head(&read("history.csv")?, SEED_LINES);
    let mut lines = history.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.collect();
    // Ticks out of order (a regular file is gathered), CRLF with a byte-order mark and
    // quoted fields, RFC 3339 timestamps with offsets, missing values.
    let mut shuffled: Vec<&str> = rows.clone();
    shuffled.reverse();
    fs::write(
        metrics.join("interleaved.csv"),
        format!("{header}\n{}\n", shuffled.join("\n")),
    )?;
    let crlf: String = rows
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            format!("{},\"{}\",{},\"{}\",{}\r\n", f[0], f[1], f[2], f[3], f[4])
        })
        .collect();
    fs::write(
        metrics.join("bom_crlf_quoted.csv"),
        format!("\u{feff}{header}\r\n{crlf}"),
    )?;
    let rfc: String = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (ts, rest) = r.split_once(',').unwrap_or((r, ""));
            let secs: i64 = ts.parse().unwrap_or(0) % 86_400;
            let value = if i % 5 == 0 {
                "NaN"
            } else {
                rest.rsplit(',').next().unwrap_or("")
            };
            let rest = rest.rsplit_once(',').map_or(rest, |(a, _)| a);
            format!(
                "2026-01-01T{:02}:{:02}:{:02}+01:00,{rest},{value}\n",
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            )
        })
        .collect();
    fs::write(metrics.join("rfc3339.csv"), format!("{header}\n{rfc}"))?;
    // The optional count column: known, unknown (empty) and zero counts.
    let counted: String = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match i % 3 {
            0 => format!("{r},{}\n", 100 + i),
            1 => format!("{r},\n"),
            _ => format!("{r},0\n"),
        })
        .collect();
    fs::write(
        metrics.join("counts.csv"),
        format!("{header},count\n{counted}"),
    )?;

    let config = root.join("cli_config");
    fs::create_dir_all(&config)?;
    fs::write(config.join("fixture.toml"), CLI_CONFIG)?;
    // Every optional table, at its defaults, and a Prometheus source.
    let mut full = ConfigFile::from_bytes(CLI_CONFIG.as_bytes(), "config.toml")
        .expect("the test configuration is valid");
    let analysis = AnalysisConfig::default();
    full.traffic = Some(analysis.traffic);
    full.risk = Some(analysis.risk);
    full.profile = Some(Default::default());
    full.feedback = Some(Default::default());
    let mut text = full.to_toml().expect("a configuration serialises");
    text.push_str(PROMETHEUS);
    fs::write(config.join("every_table.toml"), text)?;

    let score = root.join("score_input");
    fs::create_dir_all(&score)?;
    let series = read("series.csv")?;
    fs::write(score.join("series.csv"), head(&series, SEED_LINES * 2))?;
    let unix: String = series
        .lines()
        .skip(1)
        .take(SEED_LINES * 2)
        .enumerate()
        .map(|(i, l)| {
            format!(
                "{},{}\r\n",
                1_700_000_000 + 60 * i,
                l.rsplit(',').next().unwrap_or("")
            )
        })
        .collect();
    fs::write(
        score.join("unix_crlf.csv"),
        format!("\u{feff}Timestamp,Value\r\n{unix}"),
    )?;
    Ok(())
}

/// A `[source.prometheus]` table for the fixture schema, as in docs/integration.md.
const PROMETHEUS: &str = r#"
[source.prometheus]
url = "http://prometheus:9090"
bearer_token_env = "PROM_TOKEN"
timeout_seconds = 10
retries = 2
control = "v1.4.2"
canary = "v1.5.0"
step = 60

[[source.prometheus.metrics]]
metric = "error_rate"
query = 'sum(rate(errors{version="{cohort}",segment="{segment}"}[1m])) / sum(rate(requests{version="{cohort}",segment="{segment}"}[1m]))'
count = 'sum(rate(requests{version="{cohort}",segment="{segment}"}[1m]))'

[[source.prometheus.metrics]]
metric = "latency_ms"
query = 'histogram_quantile(0.99, sum by (le) (rate(latency_bucket{version="{cohort}",segment="{segment}"}[1m])))'

[[source.prometheus.metrics]]
metric = "checkout_calls"
query = 'sum(rate(checkout{version="{cohort}",segment="{segment}"}[1m]))'
"#;
