//! The `coalmine` binary on small committed fixtures: outputs, exit codes, file
//! formats, bad input, and the HTML report (rendered in headless Chromium when it is
//! installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_coalmine"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["learn", "--help"],
        vec!["analyze", "--help"],
        vec!["score", "--help"],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 0, "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let o = run(&["analyze", "--config", p(&fixture("config.toml"))]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    assert_eq!(code(&run(&["no-such-command"])), 2);
}

#[test]
fn learn_then_analyze_a_healthy_canary_promotes() {
    let profile = scratch("profile.json");
    let o = run(&[
        "learn",
        "--config",
        p(&fixture("config.toml")),
        "--history",
        p(&fixture("history.csv")),
        "--out",
        p(&profile),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let json = std::fs::read_to_string(&profile).unwrap();
    assert!(json.contains("coalmine-profile"));
    // The timestamps say half-hour ticks, so the candidate seasons are a day of 48
    // ticks and a week (which six days of history cannot show).
    let learnt = coalmine::BehaviorProfile::from_json(&json).unwrap();
    assert_eq!(learnt.tick_interval(), Some(1800.0));
    for s in 0..2 {
        let season = |m| learnt.series(s, m).unwrap().detector.season_length();
        assert_eq!(
            (season(0), season(1), season(2)),
            (1, 48, 48),
            "segment {s}"
        );
    }
    let o = run(&[
        "analyze",
        "--config",
        p(&fixture("config.toml")),
        "--profile",
        p(&profile),
        "--live",
        p(&fixture("live_healthy.csv")),
    ]);
    assert_eq!(code(&o), 0, "{}\n{}", text(&o.stdout), text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("verdict: promote"), "{out}");
    // The file has 60 ticks; promotion ends the analysis, and the timeline with it.
    let lines = out.lines().filter(|l| l.contains("share")).count();
    assert!(
        lines < 60,
        "one timeline line per tick up to the promotion: {lines}"
    );
    assert!(out.contains("the ramp completed at tick"), "{out}");
}

#[test]
fn analyze_json_rolls_back_a_bad_canary_with_contributors() {
    let report = scratch("report.html");
    let o = run(&[
        "analyze",
        "--config",
        p(&fixture("config.toml")),
        "--history",
        p(&fixture("history.csv")),
        "--live",
        p(&fixture("live_bad.csv")),
        "--json",
        "--report",
        p(&report),
    ]);
    assert_eq!(code(&o), 4, "{}", text(&o.stderr));
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, ticks) = lines.split_last().unwrap();
    assert!(
        ticks.len() > 15 && ticks.len() < 30,
        "stops at the first rollback: {} ticks",
        ticks.len()
    );
    for t in ticks {
        for key in ["timestamp", "risk", "action", "canary_weight"] {
            assert!(t.get(key).is_some(), "{key} in {t}");
        }
    }
    assert_eq!(ticks.last().unwrap()["action"], "rollback");
    assert_eq!(ticks.last().unwrap()["canary_weight"], 0.0);
    assert_eq!(summary["verdict"], "rollback");
    assert_eq!(summary["decided_at"], ticks.last().unwrap()["timestamp"]);
    assert!(summary["max_risk"].as_f64().unwrap() > 0.3, "{summary}");
    let contributors = summary["contributors"].as_array().unwrap();
    assert_eq!(contributors[0]["metric"], "error_rate", "{summary}");
    assert!(contributors[0]["segment"].is_string());
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("rollback") && html.contains("error_rate"));
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
        "self-contained"
    );
}

/// Writes `content` to a scratch file and runs `analyze` on it as the live file.
fn analyze_live(name: &str, content: &str) -> Output {
    let path = scratch(name);
    std::fs::write(&path, content).unwrap();
    run(&[
        "analyze",
        "--config",
        p(&fixture("config.toml")),
        "--history",
        p(&fixture("history.csv")),
        "--live",
        p(&path),
    ])
}

#[test]
fn bad_input_names_file_and_line_and_exits_1() {
    let header = "timestamp,cohort,segment,metric,value\n";
    let good = "1767814200,canary,free,latency_ms,150\n1767814200,control,free,latency_ms,150\n";
    let cases = [
        (
            "malformed.csv",
            format!("{header}{good}1767814200,canary,free\n"),
            ":4:",
            "5 comma-separated",
        ),
        (
            "unknown_metric.csv",
            format!("{header}{good}1767814200,canary,free,colour,1\n"),
            ":4:",
            "unknown metric `colour`",
        ),
        (
            "unknown_segment.csv",
            format!("{header}1767814200,canary,gold,latency_ms,1\n"),
            ":2:",
            "unknown segment `gold`",
        ),
        (
            "not_a_number.csv",
            format!("{header}{good}1767814200,canary,free,latency_ms,fast\n"),
            ":4:",
            "not a number",
        ),
        (
            "negative_count.csv",
            format!("{header}1767814200,canary,free,checkout_calls,-3\n"),
            ":2:",
            "negative",
        ),
        (
            "bad_time.csv",
            format!("{header}yesterday,canary,free,latency_ms,1\n"),
            ":2:",
            "RFC 3339",
        ),
        (
            "bad_cohort.csv",
            format!("{header}1767814200,beta,free,latency_ms,1\n"),
            ":2:",
            "unknown cohort",
        ),
        (
            "duplicate.csv",
            format!("{header}{good}1767814200,canary,free,latency_ms,151\n"),
            ":4:",
            "duplicate",
        ),
        ("empty.csv", String::new(), "empty.csv", "empty"),
        (
            "no_canary.csv",
            format!("{header}1767814200,control,free,latency_ms,150\n"),
            "no_canary.csv",
            "no canary rows",
        ),
    ];
    for (name, content, place, message) in cases {
        let o = analyze_live(name, &content);
        let err = text(&o.stderr);
        assert_eq!(code(&o), 1, "{name}: {err}");
        assert!(
            err.contains(name) && err.contains(place) && err.contains(message),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    // Canary rows in a history file, and an unknown configuration key.
    let o = run(&[
        "learn",
        "--config",
        p(&fixture("config.toml")),
        "--history",
        p(&fixture("live_bad.csv")),
        "--out",
        p(&scratch("x.json")),
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("stable version only"),
        "{}",
        text(&o.stderr)
    );
    let config = scratch("bad_config.toml");
    std::fs::write(
        &config,
        "[[metrics]]\nname = \"a\"\ncolour = \"red\"\n[[segments]]\nname = \"s\"\n",
    )
    .unwrap();
    let o = run(&[
        "learn",
        "--config",
        p(&config),
        "--history",
        p(&fixture("history.csv")),
        "--out",
        p(&scratch("y.json")),
    ]);
    assert_eq!(code(&o), 1);
    let err = text(&o.stderr);
    assert!(
        err.contains("bad_config.toml:3") && err.contains("colour"),
        "{err}"
    );
    // A corrupt profile.
    let profile = scratch("corrupt.json");
    std::fs::write(
        &profile,
        "{\"format\":\"coalmine-profile\",\"version\":1,\"schema\":",
    )
    .unwrap();
    let o = run(&[
        "analyze",
        "--config",
        p(&fixture("config.toml")),
        "--profile",
        p(&profile),
        "--live",
        p(&fixture("live_bad.csv")),
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("corrupt.json"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn score_writes_one_causal_score_per_row() {
    let out = scratch("scored.csv");
    let o = run(&[
        "score",
        "--input",
        p(&fixture("series.csv")),
        "--output",
        p(&out),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let scored = std::fs::read_to_string(&out).unwrap();
    let input = std::fs::read_to_string(fixture("series.csv")).unwrap();
    let mut lines = scored.lines();
    assert_eq!(lines.next(), Some("timestamp,value,anomaly_score"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), input.lines().count() - 1);
    for (row, original) in rows.iter().zip(input.lines().skip(1)) {
        let (prefix, score) = row.rsplit_once(',').unwrap();
        let (ts, _) = original.rsplit_once(',').unwrap();
        assert!(prefix.starts_with(ts), "timestamps pass through: {row}");
        let s: f64 = score.parse().unwrap();
        assert!((0.0..=1.0).contains(&s));
    }
    // Default output is stdout; unknown detectors are errors.
    let o = run(&[
        "score",
        "--input",
        p(&fixture("series.csv")),
        "--detector",
        "ewma",
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(text(&o.stdout).lines().count(), input.lines().count());
    assert_eq!(
        code(&run(&[
            "score",
            "--input",
            p(&fixture("series.csv")),
            "--detector",
            "magic"
        ])),
        2,
        "an unknown detector is a usage error"
    );
}

/// Renders the report in headless Chromium and checks the screenshot is not blank.
/// Skipped, saying so, when Chromium is not installed.
#[test]
fn the_html_report_renders_in_chromium() {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(chromium) = chromium else {
        eprintln!("SKIPPED: chromium is not installed, so the HTML report was not rendered");
        return;
    };
    let demo = scratch("render-demo.html");
    assert_eq!(code(&run(&["demo", "--report", p(&demo)])), 0);
    let report = scratch("render.html");
    let o = run(&[
        "analyze",
        "--config",
        p(&fixture("config.toml")),
        "--history",
        p(&fixture("history.csv")),
        "--live",
        p(&fixture("live_bad.csv")),
        "--report",
        p(&report),
    ]);
    assert_eq!(code(&o), 4);
    for (report, png) in [(report, "render.png"), (demo, "render-demo.png")] {
        assert_renders(chromium, &report, png);
    }
}

/// Screenshots `report` with headless Chromium into `png` and checks it is not blank.
fn assert_renders(chromium: &str, report: &Path, png: &str) {
    let shot = scratch(png);
    let _ = std::fs::remove_file(&shot);
    let profile_dir = scratch("chromium-profile");
    let status = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .unwrap();
    assert!(shot.exists(), "no screenshot: {}", text(&status.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let mut colours: Vec<&[u8]> = pixels.chunks(channels).collect();
    let total = colours.len();
    let non_white = colours
        .iter()
        .filter(|c| c.iter().take(3).any(|&v| v < 200))
        .count();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 20,
        "only {} colours: blank page?",
        colours.len()
    );
    assert!(
        non_white * 100 > total,
        "{non_white} of {total} pixels drawn"
    );
    eprintln!(
        "rendered {} colours, {non_white} non-white pixels of {total}",
        colours.len()
    );
}

#[test]
fn simulate_writes_files_that_analyze_reads() {
    let dir = scratch("sim-error-spike");
    let _ = std::fs::remove_dir_all(&dir);
    let o = run(&[
        "simulate",
        "--scenario",
        "error-spike",
        "--seed",
        "3",
        "--out",
        p(&dir),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    for f in ["config.toml", "history.csv", "live.csv"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let o = analyze_simulated(&dir, &dir.join("live.csv"));
    assert_eq!(
        code(&o),
        4,
        "an error spike is rolled back: {}",
        text(&o.stderr)
    );
    // The same seed gives the same files.
    let again = scratch("sim-error-spike-again");
    let _ = std::fs::remove_dir_all(&again);
    run(&[
        "simulate",
        "--scenario",
        "error-spike",
        "--seed",
        "3",
        "--out",
        p(&again),
    ]);
    assert_eq!(
        std::fs::read(dir.join("live.csv")).unwrap(),
        std::fs::read(again.join("live.csv")).unwrap()
    );
    let o = run(&[
        "simulate",
        "--scenario",
        "no-such-scenario",
        "--out",
        p(&dir),
    ]);
    assert_eq!(code(&o), 2, "an unknown scenario is a usage error");
    assert!(
        text(&o.stderr).contains("error-spike"),
        "lists the known scenarios"
    );
}

/// `analyze --json` on the files `simulate` wrote into `dir`, with `live` as the live
/// file.
fn analyze_simulated(dir: &Path, live: &Path) -> Output {
    run(&[
        "-q",
        "analyze",
        "--config",
        p(&dir.join("config.toml")),
        "--history",
        p(&dir.join("history.csv")),
        "--live",
        p(live),
        "--json",
    ])
}

#[test]
fn simulate_counts_give_live_csv_a_count_column_that_analyze_uses() {
    let plain = scratch("sim-ratio-plain");
    let counted = scratch("sim-ratio-counts");
    for (dir, extra) in [(&plain, None), (&counted, Some("--counts"))] {
        let _ = std::fs::remove_dir_all(dir);
        let mut args = vec![
            "simulate",
            "--scenario",
            "error-ratio-step",
            "--seed",
            "1",
            "--out",
            p(dir),
        ];
        args.extend(extra);
        let o = run(&args);
        assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    }
    // Only live.csv changes: history keeps five columns.
    for f in ["config.toml", "history.csv"] {
        assert_eq!(
            std::fs::read(plain.join(f)).unwrap(),
            std::fs::read(counted.join(f)).unwrap(),
            "{f}"
        );
    }
    let live = std::fs::read_to_string(counted.join("live.csv")).unwrap();
    let without = std::fs::read_to_string(plain.join("live.csv")).unwrap();
    let mut lines = live.lines();
    assert_eq!(
        lines.next(),
        Some("timestamp,cohort,segment,metric,value,count")
    );
    // The same rows with a count behind each value: requests behind the error ratio.
    let mut error_counts = 0;
    for (row, plain_row) in lines.zip(without.lines().skip(1)) {
        let (values, count) = row.rsplit_once(',').unwrap();
        assert_eq!(values, plain_row);
        let n: f64 = count.parse().unwrap_or_else(|_| panic!("{row}"));
        assert!(n.is_finite() && n >= 0.0, "{row}");
        if values.split(',').nth(3) == Some("error_rate") {
            assert!(n >= 1.0, "{row}");
            error_counts += 1;
        }
    }
    assert_eq!(live.lines().count(), without.lines().count());
    assert!(error_counts > 100, "{error_counts} error_rate rows");

    let with_counts = analyze_simulated(&counted, &counted.join("live.csv"));
    let values_only = analyze_simulated(&plain, &plain.join("live.csv"));
    assert_eq!(code(&with_counts), 4, "{}", text(&with_counts.stderr));
    assert_eq!(code(&values_only), 4, "{}", text(&values_only.stderr));
    // The counts reach the analysis: the count test judges the error ratio, and the
    // decisions are not those of the values alone.
    assert_ne!(
        text(&with_counts.stdout),
        text(&values_only.stdout),
        "the counts changed nothing"
    );
    // With the counts emptied (unknown), the decisions are those of the values alone.
    let emptied: String = live
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                format!("{},\n", l.rsplit_once(',').unwrap().0)
            }
        })
        .collect();
    let emptied_path = scratch("sim-ratio-emptied.csv");
    std::fs::write(&emptied_path, emptied).unwrap();
    let unknown = analyze_simulated(&counted, &emptied_path);
    assert_eq!(text(&unknown.stdout), text(&values_only.stdout));
}

#[test]
fn demo_prints_both_verdicts_and_writes_a_report() {
    let report = scratch("demo.html");
    let o = run(&["demo", "--report", p(&report)]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("verdict: promote") && out.contains("verdict: rollback"),
        "{out}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.matches("<svg").count() >= 4,
        "a risk chart and metric charts per release"
    );
}

#[test]
fn eval_prints_a_table_or_json() {
    let o = run(&["eval", "--seeds", "1", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert!(v["kinds"].as_array().unwrap().len() >= 15);
}

#[test]
fn eval_reports_each_configuration_with_its_verify_table() {
    let o = run(&[
        "eval",
        "--seeds",
        "1",
        "--scenario",
        "error-spike",
        "--scenario",
        "aa-identical",
        "--config",
        "all",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["config"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "half-hour",
            "half-hour-wide",
            "one-minute",
            "uneven-segments"
        ]
    );
    assert_eq!(v[2]["tuning"]["config"]["sim"]["ticks_per_day"], 1440);
    let o = run(&[
        "eval",
        "--seeds",
        "1",
        "--scenario",
        "aa-identical",
        "--config",
        "uneven-segments",
        "--config",
        "half-hour",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let md = text(&o.stdout);
    assert!(md.contains("## Configuration `uneven-segments`"));
    assert!(md.contains("Verify (`half-hour`)"));
    assert_eq!(code(&run(&["eval", "--config", "weekly"])), 2);
}
