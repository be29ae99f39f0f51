//! The bad-input catalogue of `docs/reliability.md`: every kind of bad input, broken
//! output and risky invocation, and what the command does about it. Each test here is
//! named in that table.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_coalmine");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("reliability")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
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

fn config() -> PathBuf {
    fixture("config.toml")
}

/// Runs `analyze` on `live` (a string) against the fixture history.
fn analyze_live(dir: &Path, name: &str, live: &[u8]) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, live).unwrap();
    run(&[
        "analyze",
        "--config",
        p(&config()),
        "--history",
        p(&fixture("history.csv")),
        "--live",
        p(&path),
    ])
}

/// Runs `learn` on `history` (bytes) with `config` (TOML text, or the fixture's).
fn learn_with(dir: &Path, history: &[u8], config_text: Option<&str>) -> Output {
    let h = dir.join("history.csv");
    std::fs::write(&h, history).unwrap();
    let c = match config_text {
        Some(t) => {
            let c = dir.join("config.toml");
            std::fs::write(&c, t).unwrap();
            c
        }
        None => config(),
    };
    run(&[
        "learn",
        "--config",
        p(&c),
        "--history",
        p(&h),
        "--out",
        p(&dir.join("profile.json")),
    ])
}

/// Checks a failed run: exit status, one short line on stderr containing every
/// `needle`, no panic.
fn assert_error(o: &Output, status: i32, needles: &[&str]) {
    let err = text(&o.stderr);
    assert_eq!(code(o), status, "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.len() < 600, "a short message, not {} bytes", err.len());
}

const HEADER: &str = "timestamp,cohort,segment,metric,value\n";

/// Runs `sh -c script` (with pipefail, so the status is coalmine's).
fn shell(script: &str) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!("set -o pipefail; {script}"))
        .env("COALMINE", BIN)
        .output()
        .unwrap()
}

// ---------------------------------------------------------------------------------
// Output that goes away or cannot be written.

#[test]
fn closed_pipe_ends_quietly() {
    let dir = scratch("closed_pipe");
    let config_path = config();
    let c = p(&config_path);
    let history = fixture("history.csv");
    let (h, bad, good) = (
        p(&history),
        fixture("live_bad.csv"),
        fixture("live_healthy.csv"),
    );
    let report = dir.join("demo.html");
    let series = fixture("series.csv");
    let cases = [
        (
            format!("\"$COALMINE\" demo --report {} | head -1", p(&report)),
            0,
        ),
        (
            format!("\"$COALMINE\" score --input {} | head -1", p(&series)),
            0,
        ),
        (
            format!("\"$COALMINE\" score --input {} | true", p(&series)),
            0,
        ),
        (
            "\"$COALMINE\" eval --seeds 1 --scenario aa-identical | head -c 800".to_string(),
            0,
        ),
        (
            "\"$COALMINE\" eval --seeds 1 --scenario aa-identical --json | true".to_string(),
            0,
        ),
        // analyze keeps the exit status of its verdict.
        (
            format!(
                "\"$COALMINE\" analyze --config {c} --history {h} --live {} | head -1",
                p(&bad)
            ),
            4,
        ),
        (
            format!(
                "\"$COALMINE\" analyze --config {c} --history {h} --live {} --json | true",
                p(&bad)
            ),
            4,
        ),
        (
            format!(
                "\"$COALMINE\" analyze --config {c} --history {h} --live {} | head -1",
                p(&good)
            ),
            0,
        ),
        ("\"$COALMINE\" --help | true".to_string(), 0),
    ];
    for (script, status) in cases {
        let o = shell(&script);
        let err = text(&o.stderr);
        assert_eq!(code(&o), status, "{script}: {err}");
        assert!(err.is_empty(), "{script}: quiet, but said: {err}");
    }
    assert!(report.exists(), "demo still writes its report");
    // The reader gone before the first byte: every write fails with EPIPE.
    let long = dir.join("long.csv");
    let mut body = String::from("timestamp,value\n");
    for i in 0..20_000 {
        body.push_str(&format!("{i},{}\n", i % 17));
    }
    std::fs::write(&long, body).unwrap();
    let profile = dir.join("p.json");
    let sim = dir.join("sim");
    for (args, status) in [
        (
            vec![
                "--quiet",
                "learn",
                "--config",
                c,
                "--history",
                h,
                "--out",
                p(&profile),
            ],
            0,
        ),
        (
            vec![
                "--quiet",
                "simulate",
                "--scenario",
                "aa-identical",
                "--out",
                p(&sim),
            ],
            0,
        ),
        (vec!["score", "--input", p(&long)], 0),
        (
            vec!["eval", "--seeds", "1", "--scenario", "aa-identical"],
            0,
        ),
        (
            vec!["analyze", "--config", c, "--history", h, "--live", p(&bad)],
            4,
        ),
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(code(&o), status, "{args:?}: {}", text(&o.stderr));
        assert!(o.stderr.is_empty(), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn full_disk_is_an_error_naming_the_output() {
    let dir = scratch("full_disk");
    let c = config();
    let h = fixture("history.csv");
    let live = fixture("live_bad.csv");
    let series = fixture("series.csv");
    let report = dir.join("r.html");
    // Standard output on /dev/full.
    for args in [
        vec!["demo", "--report", p(&report)],
        vec!["eval", "--seeds", "1", "--scenario", "aa-identical"],
        vec!["score", "--input", p(&series)],
        vec![
            "analyze",
            "--config",
            p(&c),
            "--history",
            p(&h),
            "--live",
            p(&live),
            "--json",
        ],
    ] {
        let o = Command::new(BIN)
            .args(&args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_error(&o, 1, &["standard output", "/dev/full", "No space left"]);
    }
    // Commands that write files only do not mind.
    let sim = dir.join("sim");
    for args in [
        vec![
            "learn",
            "--config",
            p(&c),
            "--history",
            p(&h),
            "--out",
            p(&dir.join("p.json")),
        ],
        vec!["simulate", "--scenario", "aa-identical", "--out", p(&sim)],
    ] {
        let o = Command::new(BIN)
            .args(&args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{args:?}: {}", text(&o.stderr));
    }
    // Files on /dev/full or in a place that cannot hold them (under a regular file).
    let nowhere = Path::new(p(&c)).join("x.out");
    for target in [Path::new("/dev/full"), nowhere.as_path()] {
        let t = p(target);
        let mut cases = vec![
            vec!["score", "--input", p(&series), "--output", t],
            vec!["learn", "--config", p(&c), "--history", p(&h), "--out", t],
            vec![
                "analyze",
                "--config",
                p(&c),
                "--history",
                p(&h),
                "--live",
                p(&live),
                "--report",
                t,
            ],
            vec!["simulate", "--scenario", "error-spike", "--out", t],
        ];
        // The demo computes for seconds before it writes: once is enough.
        if target == Path::new("/dev/full") {
            cases.push(vec!["demo", "--report", t]);
        }
        for args in cases {
            let o = run(&args);
            assert_error(&o, 1, &[t]);
        }
    }
}

#[test]
fn unwritable_stderr_is_not_a_failure() {
    let dir = scratch("stderr");
    for stderr in ["/dev/full", "closed"] {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "learn",
            "--config",
            p(&config()),
            "--history",
            p(&fixture("history.csv")),
            "--out",
            p(&dir.join("profile.json")),
        ]);
        if stderr == "closed" {
            let o = shell(&format!(
                "\"$COALMINE\" learn --config {} --history {} --out {} 2>&-",
                p(&config()),
                p(&fixture("history.csv")),
                p(&dir.join("profile.json"))
            ));
            assert_eq!(code(&o), 0, "{stderr}");
        } else {
            let o = cmd
                .stderr(std::fs::File::create(stderr).unwrap())
                .output()
                .unwrap();
            assert_eq!(code(&o), 0, "{stderr}");
        }
    }
    // An error with nowhere to say it still exits 1, without a panic's 101.
    let o = shell(&format!(
        "\"$COALMINE\" learn --config {} --history /nonexistent --out {} 2>/dev/full",
        p(&config()),
        p(&dir.join("p.json"))
    ));
    assert_eq!(code(&o), 1);
}

#[test]
fn outputs_replace_files_whole_and_follow_links() {
    let dir = scratch("replace");
    let target = dir.join("real.json");
    std::fs::write(&target, "previous").unwrap();
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = run(&[
        "--quiet",
        "learn",
        "--config",
        p(&config()),
        "--history",
        p(&fixture("history.csv")),
        "--out",
        p(&link),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("coalmine-profile")
    );
    // Not a regular file: written in place (here the null device).
    let o = run(&[
        "--quiet",
        "learn",
        "--config",
        p(&config()),
        "--history",
        p(&fixture("history.csv")),
        "--out",
        "/dev/null",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(Path::new("/dev/null").exists());
}

#[test]
fn a_failed_write_leaves_no_partial_file() {
    let dir = scratch("partial");
    let out = dir.join("profile.json");
    std::fs::write(&out, "previous").unwrap();
    // The history is bad at its last line: nothing may be written.
    let mut history = std::fs::read(fixture("history.csv")).unwrap();
    history.extend_from_slice(b"1767900000,baseline,free,latency_ms,oops\n");
    let h = dir.join("history.csv");
    std::fs::write(&h, &history).unwrap();
    let o = run(&[
        "learn",
        "--config",
        p(&config()),
        "--history",
        p(&h),
        "--out",
        p(&out),
    ]);
    assert_error(&o, 1, &["history.csv:1730:", "`oops` is not a number"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------------------------
// Data errors name the file, the line and the series.

#[test]
fn too_little_history_names_the_series() {
    let dir = scratch("too_little");
    let config_text = std::fs::read_to_string(config()).unwrap().replacen(
        "[[segments]]",
        "[[metrics]]\nname = \"queue_depth\"\n\n[[segments]]",
        1,
    );
    let o = learn_with(
        &dir,
        &std::fs::read(fixture("history.csv")).unwrap(),
        Some(&config_text),
    );
    assert_error(
        &o,
        1,
        &[
            "history.csv: series enterprise/queue_depth:",
            "0 observed values",
            "at least 20",
        ],
    );
}

#[test]
fn magnitudes_print_compactly_with_file_line_and_series() {
    let dir = scratch("magnitude");
    let live = format!(
        "{HEADER}1767814200,control,free,latency_ms,150\n1767814200,canary,free,latency_ms,1e101\n"
    );
    let o = analyze_live(&dir, "live.csv", live.as_bytes());
    assert_error(
        &o,
        1,
        &[
            "live.csv:3:",
            "series free/latency_ms",
            "value 1e101",
            "1e100",
        ],
    );
    assert!(
        !text(&o.stderr).contains("00000000000"),
        "{}",
        text(&o.stderr)
    );
    let mut history = std::fs::read(fixture("history.csv")).unwrap();
    history.extend_from_slice(b"1767900000,baseline,enterprise,error_rate,-2e300\n");
    let o = learn_with(&dir, &history, None);
    assert_error(
        &o,
        1,
        &[
            "history.csv:1730:",
            "series enterprise/error_rate",
            "-2e300",
        ],
    );
}

#[test]
fn non_utf8_input_names_the_line() {
    let dir = scratch("utf8");
    let mut live = format!("{HEADER}1767814200,canary,free,latency_ms,150\n").into_bytes();
    live.extend_from_slice(b"1767814200,control,fr\xffee,latency_ms,150\n");
    let o = analyze_live(&dir, "live.csv", &live);
    assert_error(&o, 1, &["live.csv:3:", "unknown segment"]);
    let mut live = format!("{HEADER}1767814200,canary,free,latency_ms,150\n").into_bytes();
    live.extend_from_slice(b"17678\xff4200,control,free,latency_ms,150\n");
    let o = analyze_live(&dir, "live2.csv", &live);
    assert_error(&o, 1, &["live2.csv:3:", "not valid UTF-8"]);
    let series = dir.join("series.csv");
    std::fs::write(&series, b"timestamp,value\n1,2\n2,\xff3\n").unwrap();
    let o = run(&["score", "--input", p(&series)]);
    assert_error(&o, 1, &["series.csv:3:", "not valid UTF-8"]);
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, b"[[metrics]]\nname = \"a\xff\"\n").unwrap();
    let o = run(&[
        "learn",
        "--config",
        p(&cfg),
        "--history",
        p(&fixture("history.csv")),
        "--out",
        p(&dir.join("p.json")),
    ]);
    assert_error(&o, 1, &["bad.toml:2:", "UTF-8"]);
}

#[test]
fn huge_fields_are_shortened_in_messages() {
    let dir = scratch("huge_field");
    let big = "x".repeat(10 << 20);
    for (name, row) in [
        (
            "segment.csv",
            format!("1767814200,canary,{big},latency_ms,1\n"),
        ),
        ("metric.csv", format!("1767814200,canary,free,{big},1\n")),
        (
            "value.csv",
            format!("1767814200,canary,free,latency_ms,{big}\n"),
        ),
        (
            "cohort.csv",
            format!("1767814200,{big},free,latency_ms,1\n"),
        ),
        ("time.csv", format!("{big},canary,free,latency_ms,1\n")),
    ] {
        let o = analyze_live(&dir, name, format!("{HEADER}{row}").as_bytes());
        assert_error(&o, 1, &[name, ":2:", "xxxxxxxx…"]);
    }
    let series = dir.join("series.csv");
    std::fs::write(
        &series,
        format!("timestamp,value\n1,{}\n", "9".repeat(10 << 20)),
    )
    .unwrap();
    let o = run(&["score", "--input", p(&series)]);
    assert_error(&o, 1, &["series.csv:2:", "9999…"]);
}

#[test]
fn bad_profile_settings_name_the_key_file_and_line() {
    let dir = scratch("profile_settings");
    let base = std::fs::read_to_string(config()).unwrap();
    let history = std::fs::read(fixture("history.csv")).unwrap();
    let line = base.lines().count() + 3;
    for (setting, needles) in [
        (
            "season_length = 0",
            vec!["config.toml:", "season_length", "at least 1"],
        ),
        (
            "season_length = 1000000000000",
            vec!["config.toml:", "season_length", "1000000000000", "limit"],
        ),
        (
            "candidate_periods = [24, 0]",
            vec!["config.toml:", "candidate_periods", "at least 1"],
        ),
        (
            "min_history = 2",
            vec!["config.toml:", "min_history", "at least 4"],
        ),
    ] {
        let toml = format!("{base}\n[profile]\n{setting}\n");
        let o = learn_with(&dir, &history, Some(&toml));
        assert_error(&o, 1, &needles);
        let at = format!("config.toml:{line}:");
        assert!(text_has(&o.stderr, &at), "{at}: {}", text(&o.stderr));
    }
}

fn text_has(bytes: &[u8], needle: &str) -> bool {
    text(bytes).contains(needle)
}

#[test]
fn unknown_values_of_options_are_usage_errors() {
    let series = fixture("series.csv");
    for args in [
        vec!["score", "--input", p(&series), "--detector", "foo"],
        vec!["simulate", "--scenario", "nope", "--out", "x"],
        vec!["eval", "--scenario", "nope"],
        vec!["eval", "--seeds", "1000000000"],
        vec!["eval", "--seeds", "0"],
        vec!["eval", "--seeds", "-3"],
        vec!["analyze", "--config", "c.toml", "--live", "l.csv"],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", text(&o.stderr));
    }
    let o = run(&["simulate", "--scenario", "nope", "--out", "x"]);
    assert!(text_has(&o.stderr, "error-spike"), "lists the scenarios");
    let o = run(&["eval", "--seeds", "1000000000"]);
    assert!(text_has(&o.stderr, "1..=10000"), "{}", text(&o.stderr));
}

// ---------------------------------------------------------------------------------
// score's input.

#[test]
fn score_requires_a_header() {
    let dir = scratch("score_header");
    let f = dir.join("s.csv");
    std::fs::write(&f, "1,10\n2,11\n").unwrap();
    let o = run(&["score", "--input", p(&f)]);
    assert_error(
        &o,
        1,
        &["s.csv:1:", "expected the header `timestamp,value`"],
    );
    std::fs::write(&f, "").unwrap();
    assert_error(&run(&["score", "--input", p(&f)]), 1, &["s.csv", "empty"]);
    // Names in any case, a byte-order mark, CRLF and quotes are fine.
    std::fs::write(
        &f,
        "\u{feff}Timestamp,VALUE\r\n\"2015-01-01 00:00:00\",1.5\r\n\"2015-01-01, 00:01\",2\r\n",
    )
    .unwrap();
    let o = run(&["score", "--input", p(&f)]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "timestamp,value,anomaly_score\n2015-01-01 00:00:00,1.5,0\n\"2015-01-01, 00:01\",2,0\n"
    );
}

#[test]
fn score_refuses_wrong_field_counts() {
    let dir = scratch("score_fields");
    let f = dir.join("s.csv");
    for (body, line, found) in [
        ("timestamp,value\n1,2\n1,2,3\n", 3, "found 3"),
        ("timestamp,value\n1\n", 2, "found 1"),
    ] {
        std::fs::write(&f, body).unwrap();
        let o = run(&["score", "--input", p(&f)]);
        assert_error(
            &o,
            1,
            &[&format!("s.csv:{line}:"), "2 comma-separated", found],
        );
        assert!(o.stdout.is_empty() || !text(&o.stdout).contains("1,2,3"));
    }
}

#[test]
fn score_refuses_non_finite_and_out_of_range_values() {
    let dir = scratch("score_values");
    let f = dir.join("s.csv");
    for (value, needle) in [
        ("inf", "not a finite number"),
        ("-infinity", "not a finite number"),
        ("NaN", "not a finite number"),
        ("1e308", "beyond the supported magnitude 1e100"),
        ("-1e101", "beyond the supported magnitude"),
        ("", "not a number"),
        ("ten", "not a number"),
    ] {
        std::fs::write(&f, format!("timestamp,value\n1,2\n2,{value}\n3,4\n")).unwrap();
        let o = run(&["score", "--input", p(&f)]);
        assert_error(&o, 1, &["s.csv:3:", needle]);
    }
}

/// Peak resident memory of a process so far, from /proc (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn score_streams_in_bounded_memory() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("SKIPPED: no /proc to read the peak memory from");
        return;
    }
    // 400,000 rows (about 10 MB of text, and 20 MB as the timestamp strings and
    // values a whole-file reader keeps) through a pipe; the peak memory is read while
    // the last rows are still on their way, so the process has not exited.
    let rows = 400_000;
    let mut child = Command::new(BIN)
        .args(["score", "--input", "/dev/stdin", "--detector", "ewma"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let counter = std::thread::spawn(move || {
        let mut lines = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(0) | Err(_) => return lines,
                Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut chunk = String::from("timestamp,value\n");
    let mut peak_early = None;
    for i in 0..rows {
        chunk.push_str(&format!("2020-01-01 {i},{}\n", 100 + (i * 7919) % 13));
        if chunk.len() > 1 << 16 {
            stdin.write_all(chunk.as_bytes()).unwrap();
            chunk.clear();
        }
        if i == rows / 10 {
            peak_early = peak_rss_kib(child.id());
        }
    }
    stdin.write_all(chunk.as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let peak = peak_rss_kib(child.id()).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(
        counter.join().unwrap(),
        rows + 1,
        "one output row per input row"
    );
    let early = peak_early.unwrap();
    eprintln!("peak memory {early} KiB after 10 % of the rows, {peak} KiB near the end");
    assert!(
        peak < early + 4 * 1024,
        "memory grows with the input: {early} KiB, then {peak} KiB"
    );
}

#[test]
fn score_output_matches_the_whole_series_scorer() {
    // Longer than the look-ahead (5,001 rows): the streamed learning period must be
    // the one of the whole series.
    let dir = scratch("score_stream");
    let f = dir.join("s.csv");
    let mut body = String::from("timestamp,value\n");
    for i in 0..6000 {
        let v = 50.0 + ((i * 37) % 11) as f64 * 0.1 + if i == 5500 { 9.0 } else { 0.0 };
        body.push_str(&format!("{i},{v}\n"));
    }
    std::fs::write(&f, &body).unwrap();
    let o = run(&["score", "--input", p(&f), "--detector", "ewma"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let scores: Vec<f64> = out
        .lines()
        .skip(1)
        .map(|l| l.rsplit_once(',').unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(scores.len(), 6000);
    // NAB's learning period for 6,000 rows: min(750, 900) = 750 zero scores.
    assert!(scores[..750].iter().all(|&s| s == 0.0));
    assert!(scores[5500] > 0.9, "{}", scores[5500]);
}

// ---------------------------------------------------------------------------------
// The metrics CSV.

#[test]
fn metrics_csv_accepts_bom_crlf_quotes_and_offsets() {
    let dir = scratch("dialect");
    let plain = std::fs::read_to_string(fixture("live_bad.csv")).unwrap();
    let reference = analyze_live(&dir, "plain.csv", plain.as_bytes());
    // The same rows with a BOM, CRLF line ends, quoted names and RFC 3339 times with
    // an offset.
    let mut fancy = String::from("\u{feff}");
    for (i, line) in plain.lines().enumerate() {
        if i == 0 {
            fancy.push_str(line);
        } else {
            let f: Vec<&str> = line.split(',').collect();
            let secs: i64 = f[0].parse().unwrap();
            let local = secs + 3600;
            let days = local.div_euclid(86_400);
            let rem = local.rem_euclid(86_400);
            // 2026-01-07/08 only: the fixture's live days.
            let day = 7 + (days - 20_460);
            fancy.push_str(&format!(
                "2026-01-{day:02}T{:02}:{:02}:{:02}+01:00,\"{}\",\"{}\",{},{}",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                f[1],
                f[2],
                f[3],
                f[4]
            ));
        }
        fancy.push_str("\r\n");
    }
    let fancy_path = dir.join("fancy.csv");
    std::fs::write(&fancy_path, &fancy).unwrap();
    let json = |live: &Path| {
        run(&[
            "analyze",
            "--config",
            p(&config()),
            "--history",
            p(&fixture("history.csv")),
            "--live",
            p(live),
            "--json",
        ])
    };
    let (a, b) = (json(&dir.join("plain.csv")), json(&fancy_path));
    assert_eq!(code(&a), 4, "{}", text(&a.stderr));
    assert_eq!(code(&b), 4, "{}", text(&b.stderr));
    assert_eq!(
        text(&a.stdout),
        text(&b.stdout),
        "the same ticks, the same decisions"
    );
    // Timelines print RFC 3339 input back in RFC 3339 (UTC), Unix seconds as such.
    let o = analyze_live(&dir, "fancy.csv", fancy.as_bytes());
    assert_eq!(code(&o), code(&reference));
    let out = text(&o.stdout);
    assert!(out.starts_with("2026-01-07T00:00:00Z  share"), "{out}");
    assert!(
        out.contains("verdict: rollback at 2026-01-07T08:00:00Z:"),
        "{out}"
    );
    assert!(text(&reference.stdout).starts_with("    1767744000  share"));
}

#[test]
fn metrics_from_a_pipe_stream_in_time_order() {
    let config_path = config();
    let c = p(&config_path);
    let h = fixture("history.csv");
    // In time order through a pipe: the same verdict as from the file.
    let o = shell(&format!(
        "sort -t, -k1,1n {live} | \"$COALMINE\" analyze --config {c} --history {h} --live /dev/stdin --json | tail -1",
        live = p(&fixture("live_bad.csv")),
        h = p(&h)
    ));
    assert_eq!(code(&o), 4, "{}", text(&o.stderr));
    assert!(text_has(&o.stdout, "\"verdict\":\"rollback\""));
    // Out of order through a pipe: refused at the line that goes back in time.
    let o = shell(&format!(
        "cat {live} | \"$COALMINE\" analyze --config {c} --history {h} --live /dev/stdin",
        live = p(&fixture("live_healthy.csv")),
        h = p(&h)
    ));
    assert_error(&o, 1, &["/dev/stdin:", "goes back in time", "regular file"]);
    // The same shuffled rows from a regular file are gathered and analysed.
    let o = run(&[
        "analyze",
        "--config",
        c,
        "--history",
        p(&h),
        "--live",
        p(&fixture("live_healthy.csv")),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
}

#[test]
fn metrics_rows_with_bad_values_name_line_and_series() {
    let dir = scratch("metric_rows");
    let good = "1767814200,canary,free,latency_ms,150\n1767814200,control,free,latency_ms,150\n";
    for (name, row, needles) in [
        (
            "negative.csv",
            "1767814200,canary,free,checkout_calls,-3\n",
            vec![":4:", "series free/checkout_calls", "negative"],
        ),
        (
            "ratio.csv",
            "1767814200,canary,free,error_rate,1.5\n",
            vec![":4:", "series free/error_rate", "[0, 1]"],
        ),
        (
            "inf.csv",
            "1767814200,canary,free,error_rate,inf\n",
            vec![":4:", "series free/error_rate", "not a finite number"],
        ),
        (
            "fields.csv",
            "1767814200,canary,free,error_rate\n",
            vec![":4:", "5 comma-separated", "found 4"],
        ),
        (
            "far_future.csv",
            "99999999999999,canary,free,error_rate,0.1\n",
            vec![":4:", "outside the years"],
        ),
        (
            "no_offset.csv",
            "2026-01-07T10:00:00,canary,free,error_rate,0.1\n",
            vec![":4:", "with an offset"],
        ),
    ] {
        let o = analyze_live(&dir, name, format!("{HEADER}{good}{row}").as_bytes());
        let mut all = vec![name];
        all.extend(needles);
        assert_error(&o, 1, &all);
    }
    // A broken row after the rollback is still reported.
    let mut live = std::fs::read(fixture("live_bad.csv")).unwrap();
    live.extend_from_slice(b"1767900000,canary,free,error_rate,oops\n");
    let o = analyze_live(&dir, "late.csv", &live);
    assert_error(&o, 1, &["late.csv:722:", "`oops` is not a number"]);
    // Another header.
    let o = analyze_live(
        &dir,
        "other.csv",
        format!("time,cohort,segment,metric,value\n{good}").as_bytes(),
    );
    assert_error(
        &o,
        1,
        &["other.csv:1:", "expected the header", "`time,cohort"],
    );
    // A header only.
    let o = analyze_live(&dir, "header.csv", HEADER.as_bytes());
    assert_error(&o, 1, &["header.csv", "no data rows"]);
}

#[test]
fn corrupt_and_oversized_profiles_are_refused() {
    let dir = scratch("profiles");
    let profile = dir.join("p.json");
    std::fs::write(
        &profile,
        b"{\"format\":\"coalmine-profile\",\"version\":99}",
    )
    .unwrap();
    let args = |prof: &Path| {
        run(&[
            "analyze",
            "--config",
            p(&config()),
            "--profile",
            p(prof),
            "--live",
            p(&fixture("live_bad.csv")),
        ])
    };
    assert_error(&args(&profile), 1, &["p.json", "version"]);
    std::fs::write(&profile, b"\xff\xfe").unwrap();
    assert_error(&args(&profile), 1, &["p.json:1:", "UTF-8"]);
    assert_error(&args(&dir.join("missing.json")), 1, &["missing.json"]);
    // Beyond the size limit: refused before it is read (a sparse file costs nothing).
    let huge = dir.join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    assert_error(&args(&huge), 1, &["huge.json", "profile bytes", "limit"]);
}

#[test]
fn missing_values_are_skipped() {
    let dir = scratch("missing");
    // Every tenth value of the bad canary file left empty or written NaN.
    let live = std::fs::read_to_string(fixture("live_bad.csv")).unwrap();
    let mut holes = String::new();
    for (i, line) in live.lines().enumerate() {
        let (head, _) = line.rsplit_once(',').unwrap();
        match i {
            0 => holes.push_str(line),
            i if i % 20 == 1 => holes.push_str(&format!("{head},")),
            i if i % 20 == 11 => holes.push_str(&format!("{head},NaN")),
            _ => holes.push_str(line),
        }
        holes.push('\n');
    }
    let o = analyze_live(&dir, "holes.csv", holes.as_bytes());
    assert_eq!(code(&o), 4, "still rolled back: {}", text(&o.stderr));
    assert!(text(&o.stderr).is_empty());
}

#[test]
fn bad_configurations_name_the_file_and_line() {
    let dir = scratch("configs");
    let base = std::fs::read_to_string(config()).unwrap();
    let history = std::fs::read(fixture("history.csv")).unwrap();
    let many: String = (0..4100)
        .map(|i| format!("[[metrics]]\nname = \"m{i}\"\n"))
        .collect();
    for (toml, needles) in [
        (
            base.replacen("name = \"latency_ms\"", "name = \"error_rate\"", 1),
            vec!["config.toml", "duplicate metric name `error_rate`"],
        ),
        (
            base.replace("weight = 3.0", "weight = -1.0"),
            vec!["config.toml", "weight"],
        ),
        (
            base.replace("pause_at = 0.5", "pause_at = 1.5"),
            vec!["config.toml:", "pause_at"],
        ),
        (
            base.replace("[policy]", "[policy]\nhysteresis = 2"),
            vec!["config.toml:", "unknown field `hysteresis`"],
        ),
        // Durations in seconds: finite, not negative, at most a year.
        (
            base.replace("[policy]", "[policy]\nresume_seconds = nan"),
            vec!["config.toml:", "resume_seconds"],
        ),
        (
            format!("{base}\n[traffic]\nmin_dwell_seconds = -600.0\n"),
            vec!["config.toml:", "min_dwell_seconds"],
        ),
        (
            format!("{base}\n[risk]\nhorizon_seconds = 1e12\n"),
            vec!["config.toml:", "horizon_seconds"],
        ),
        (
            base.replace("[policy]", "[policy]\nmax_pause_seconds = \"5h\""),
            vec!["config.toml:30:", "\"5h\"", "expected f64"],
        ),
        (
            format!("{many}[[segments]]\nname = \"s\"\n"),
            vec!["config.toml", "`metrics` is 4100", "limit of 4096"],
        ),
        (
            base.replace("kind = \"ratio\"", "kind = \"percent\""),
            vec!["config.toml:4:", "percent"],
        ),
    ] {
        let o = learn_with(&dir, &history, Some(&toml));
        assert_error(&o, 1, &needles);
    }
}

// ---------------------------------------------------------------------------------
// Invocations that would lose data.

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = scratch("overwrite");
    let history = dir.join("h.csv");
    std::fs::copy(fixture("history.csv"), &history).unwrap();
    let before = std::fs::read(&history).unwrap();
    let link = dir.join("link.csv");
    std::fs::hard_link(&history, &link).unwrap();
    let config_path = config();
    let c = p(&config_path);
    for out in [&history, &link] {
        let o = run(&[
            "learn",
            "--config",
            c,
            "--history",
            p(&history),
            "--out",
            p(out),
        ]);
        assert_error(&o, 2, &["same file as --history", "refusing"]);
    }
    let o = run(&["learn", "--config", c, "--history", p(&history), "--out", c]);
    assert_error(&o, 2, &["same file as --config"]);
    assert_eq!(std::fs::read(&history).unwrap(), before);
    let live = dir.join("live.csv");
    std::fs::copy(fixture("live_bad.csv"), &live).unwrap();
    let o = run(&[
        "analyze",
        "--config",
        c,
        "--history",
        p(&history),
        "--live",
        p(&live),
        "--report",
        p(&live),
    ]);
    assert_error(&o, 2, &["same file as --live"]);
    let series = dir.join("s.csv");
    std::fs::copy(fixture("series.csv"), &series).unwrap();
    let o = run(&["score", "--input", p(&series), "--output", p(&series)]);
    assert_error(&o, 2, &["same file as --input"]);
    assert_eq!(
        std::fs::read(&series).unwrap(),
        std::fs::read(fixture("series.csv")).unwrap()
    );
}

#[test]
fn simulate_refuses_a_folder_that_is_not_empty() {
    let dir = scratch("simulate_folder");
    let keep = dir.join("notes.txt");
    std::fs::write(&keep, "mine").unwrap();
    let o = run(&["simulate", "--scenario", "error-spike", "--out", p(&dir)]);
    assert_error(&o, 2, &["not empty", "--force"]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let o = run(&[
        "simulate",
        "--scenario",
        "error-spike",
        "--out",
        p(&dir),
        "--force",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "mine");
    assert!(dir.join("live.csv").exists());
}

// ---------------------------------------------------------------------------------
// What analyze says.

#[test]
fn analyze_states_the_reason_and_the_source_of_contributors() {
    let args = |json: bool| {
        let mut a = vec![
            "analyze".to_string(),
            "--config".into(),
            p(&config()).into(),
            "--history".into(),
            p(&fixture("history.csv")).into(),
            "--live".into(),
            p(&fixture("live_bad.csv")).into(),
        ];
        if json {
            a.push("--json".into());
        }
        Command::new(BIN).args(&a).output().unwrap()
    };
    let o = args(false);
    assert_eq!(code(&o), 4);
    let out = text(&o.stdout);
    let verdict = out.lines().find(|l| l.starts_with("verdict:")).unwrap();
    assert!(
        verdict.starts_with("verdict: rollback at 1767772800: risk reached the rollback threshold"),
        "{verdict}"
    );
    assert!(
        out.contains("error_rate in enterprise (joint model):"),
        "{out}"
    );
    let o = args(true);
    let summary: serde_json::Value =
        serde_json::from_str(text(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["reason"], "risk_high");
    assert!(
        summary["reason_text"]
            .as_str()
            .unwrap()
            .contains("risk reached the rollback threshold")
    );
    assert_eq!(summary["decided_at_time"], "2026-01-07T08:00:00Z");
    let sources: Vec<(String, String, String)> = summary["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["source"].as_str().unwrap().to_string(),
                c["segment"].as_str().unwrap().to_string(),
                c["metric"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(sources.contains(&("series".into(), "enterprise".into(), "error_rate".into())));
    assert!(sources.contains(&("joint".into(), "enterprise".into(), "error_rate".into())));
    let mut unique = sources.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        sources.len(),
        "no two contributors alike: {sources:?}"
    );
    let first: serde_json::Value =
        serde_json::from_str(text(&o.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["time"], "2026-01-07T00:00:00Z");
    assert_eq!(first["reason"], "risk_low");
}

/// `analyze --json` on the healthy live fixture whose rows `edit` keeps, rewrites or
/// drops (the header stays).
fn analyze_edited(test: &str, edit: &dyn Fn(&str) -> Option<String>) -> (i32, serde_json::Value) {
    let dir = scratch(test);
    let live = std::fs::read_to_string(fixture("live_healthy.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in live.lines().enumerate() {
        let row = if i == 0 {
            Some(line.to_string())
        } else {
            edit(line)
        };
        if let Some(row) = row {
            out.push_str(&row);
            out.push('\n');
        }
    }
    let path = dir.join("live.csv");
    std::fs::write(&path, out).unwrap();
    let o = run(&[
        "analyze",
        "--config",
        p(&config()),
        "--history",
        p(&fixture("history.csv")),
        "--live",
        p(&path),
        "--json",
    ]);
    let stdout = text(&o.stdout);
    let summary = stdout.lines().last().unwrap_or_default();
    let json = serde_json::from_str(summary).unwrap_or_else(|e| panic!("{e}: {summary}"));
    (code(&o), json)
}

/// Rewrites (or drops, with `None`) one row of a metrics CSV.
type RowEdit<'a> = &'a dyn Fn(&str) -> Option<String>;

fn keep(pred: impl Fn(&str) -> bool) -> impl Fn(&str) -> Option<String> {
    move |l| pred(l).then(|| l.to_string())
}

#[test]
fn no_evidence_is_inconclusive_never_promote() {
    let blank_canary = |l: &str| {
        Some(match l.split_once(",canary,") {
            Some(_) => format!("{},", l.rsplit_once(',').unwrap().0),
            None => l.to_string(),
        })
    };
    let nan_canary = |l: &str| {
        Some(match l.split_once(",canary,") {
            Some(_) => format!("{},NaN", l.rsplit_once(',').unwrap().0),
            None => l.to_string(),
        })
    };
    let no_control = keep(|l| l.contains(",canary,"));
    let one_tick = keep(|l| l.starts_with("2026-01-07T10:30:00Z"));
    let no_latency = keep(|l| !l.contains(",latency_ms,"));
    // (A file without any canary row is refused as bad input instead: exit 1, see
    // `cli::bad_input_names_file_and_line_and_exits_1`.)
    let cases: [(&str, RowEdit, &str); 5] = [
        ("empty_canary", &blank_canary, "no_canary_data"),
        ("nan_canary", &nan_canary, "no_canary_data"),
        ("no_control", &no_control, "no_control_data"),
        ("one_tick", &one_tick, "ramp_incomplete"),
        ("no_latency", &no_latency, "series_never_observed"),
    ];
    for (name, edit, reason) in cases {
        let (status, json) = analyze_edited(name, edit);
        assert_eq!(status, 5, "{name}: {json}");
        assert_eq!(json["verdict"], "inconclusive", "{name}: {json}");
        assert_eq!(json["reason"], reason, "{name}: {json}");
    }
    // The missing metric is named for every segment.
    let (_, json) = analyze_edited("no_latency_named", &no_latency);
    let never = json["evidence"]["never_observed"].as_array().unwrap();
    assert_eq!(never.len(), 2, "{json}");
    assert!(
        never
            .iter()
            .all(|n| n.as_str().unwrap().starts_with("latency_ms/"))
    );
    assert!(
        json["reason_text"]
            .as_str()
            .unwrap()
            .contains("latency_ms in"),
        "{json}"
    );
}

/// The thresholds `analyze --json` reports for the healthy fixture with `policy` as
/// the configuration's `[policy]` table and `extra` appended, against a profile that
/// has recorded three outcomes, one of them a false alarm at risk 1.5.
fn thresholds_with(test: &str, policy: &str, extra: &str) -> Result<(f64, f64), String> {
    let dir = scratch(test);
    let base = std::fs::read_to_string(config()).unwrap();
    let schema_part = &base[..base.find("[policy]").unwrap()];
    let config_path = dir.join("config.toml");
    std::fs::write(
        &config_path,
        format!("{schema_part}[policy]\n{policy}\n{extra}"),
    )
    .unwrap();
    let profile = dir.join("profile.json");
    let o = run(&[
        "learn",
        "--config",
        p(&config_path),
        "--history",
        p(&fixture("history.csv")),
        "--out",
        p(&profile),
    ]);
    if code(&o) != 0 {
        return Err(text(&o.stderr));
    }
    let json = std::fs::read_to_string(&profile).unwrap();
    let json = json
        .replacen("\"healthy_peaks\":[]", "\"healthy_peaks\":[1.5,0.1,0.1]", 1)
        .replacen("\"false_alarm_peaks\":[]", "\"false_alarm_peaks\":[1.5]", 1)
        .replacen("\"counts\":[0,0,0,0]", "\"counts\":[0,1,2,0]", 1);
    std::fs::write(&profile, json).unwrap();
    let o = run(&[
        "analyze",
        "--config",
        p(&config_path),
        "--profile",
        p(&profile),
        "--live",
        p(&fixture("live_healthy.csv")),
        "--json",
    ]);
    let stdout = text(&o.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default())
            .map_err(|e| format!("{e}: {}", text(&o.stderr)))?;
    let t = &summary["thresholds"];
    Ok((t[0].as_f64().unwrap(), t[1].as_f64().unwrap()))
}

#[test]
fn explicit_thresholds_win_and_other_policy_keys_keep_learning() {
    // Explicit thresholds: used exactly, whatever the profile recorded.
    let t = thresholds_with("explicit", "pause_at = 0.5\nrollback_at = 1.0", "").unwrap();
    assert_eq!(t, (0.5, 1.0));
    // Another policy key only: learning stays on, and the false alarm at 1.5 raises t2
    // from the default policy's 0.8 to 1.55, keeping the ratio t1 / t2.
    let t = thresholds_with("resume_only", "resume_ticks = 3", "").unwrap();
    assert!((t.1 - 1.55).abs() < 1e-9, "{t:?}");
    assert!((t.0 / t.1 - 0.5 / 0.8).abs() < 1e-9, "{t:?}");
    // [feedback] is configurable: more outcomes needed, so nothing moves yet.
    let t = thresholds_with(
        "feedback",
        "resume_ticks = 3",
        "[feedback]\nmin_outcomes = 10\n",
    )
    .unwrap();
    assert!((t.1 - 0.8).abs() < 1e-12, "{t:?}");
    // ... and validated, naming the key.
    let e = thresholds_with(
        "bad_feedback",
        "resume_ticks = 3",
        "[feedback]\nmin_outcomes = 1\n",
    )
    .unwrap_err();
    assert!(
        e.contains("min_outcomes") && e.contains("config.toml"),
        "{e}"
    );
}

#[test]
fn exit_statuses_are_documented_in_help() {
    for args in [vec!["--help"], vec!["analyze", "--help"]] {
        let out = text(&run(&args).stdout);
        for needle in [
            "Exit status",
            "0  success; for analyze: promote",
            "1  bad input",
            "2  usage error",
            "3  analyze: the rollout ends paused",
            "4  analyze: roll back",
            "5  analyze: inconclusive",
        ] {
            assert!(out.contains(needle), "{args:?}: {needle}");
        }
    }
}

// ---------------------------------------------------------------------------------
// Progress bars.

/// Runs `script` under a pseudo-terminal (util-linux `script`), returning what the
/// terminal showed; `None` when `script` is not installed.
fn in_terminal(command: &str) -> Option<String> {
    let o = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env("COALMINE", BIN)
        .output()
        .ok()?;
    o.status.success().then(|| text(&o.stdout))
}

#[test]
fn progress_bars_only_on_a_terminal_and_never_with_quiet() {
    let dir = scratch("progress");
    let learn = format!(
        "\"$COALMINE\" {{}} learn --config {} --history {} --out {}",
        p(&config()),
        p(&fixture("history.csv")),
        p(&dir.join("p.json"))
    );
    let score = format!(
        "\"$COALMINE\" {{}} score --input {} --output {}",
        p(&fixture("series.csv")),
        p(&dir.join("s.csv"))
    );
    // Not a terminal: no bar, in any case.
    for cmd in [&learn, &score] {
        let o = shell(&cmd.replace("{}", ""));
        assert_eq!(code(&o), 0, "{}", text(&o.stderr));
        assert!(!text_has(&o.stderr, "learning") && !text_has(&o.stderr, "scoring"));
    }
    let Some(shown) = in_terminal(&learn.replace("{}", "")) else {
        eprintln!("SKIPPED: util-linux `script` is not installed, so no terminal to test in");
        return;
    };
    assert!(shown.contains("learning"), "{shown}");
    let shown = in_terminal(&score.replace("{}", "")).unwrap();
    assert!(shown.contains("scoring"), "{shown}");
    let shown =
        in_terminal("\"$COALMINE\" eval --seeds 1 --scenario aa-identical >/dev/null").unwrap();
    assert!(shown.contains("rollouts"), "{shown}");
    for cmd in [&learn, &score] {
        let shown = in_terminal(&cmd.replace("{}", "--quiet")).unwrap();
        assert!(
            !shown.contains("learning") && !shown.contains("scoring") && !shown.contains("learnt"),
            "{shown}"
        );
    }
}

/// A live file of `ticks` ticks in time order for the fixture schema, both cohorts
/// near the fixture history's levels (about 600 bytes a tick).
fn large_live(path: &Path, ticks: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(HEADER.as_bytes()).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for t in 0..ticks {
        let ts = 1_767_814_200 + 1800 * t;
        for cohort in ["control", "canary"] {
            for segment in ["enterprise", "free"] {
                for (metric, level, spread) in [
                    ("error_rate", 0.008, 0.001),
                    ("latency_ms", 141.0, 3.0),
                    ("checkout_calls", 200.0, 8.0),
                ] {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let u = (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                    writeln!(
                        f,
                        "{ts},{cohort},{segment},{metric},{:.6}",
                        level + spread * u
                    )
                    .unwrap();
                }
            }
        }
    }
    f.flush().unwrap();
}

#[test]
fn analyze_shows_a_bar_on_large_files_only_on_a_terminal_and_never_with_quiet() {
    let dir = scratch("analyze_progress");
    let live = dir.join("live.csv");
    large_live(&live, 2000);
    let size = std::fs::metadata(&live).unwrap().len();
    assert!(
        size >= 1 << 20,
        "the live file must be at least 1 MiB, is {size} bytes"
    );
    let analyze = format!(
        "\"$COALMINE\" {{}} analyze --config {} --history {} --live {} >/dev/null",
        p(&config()),
        p(&fixture("history.csv")),
        p(&live)
    );
    // Not a terminal: no bar.
    let o = shell(&format!("{}; echo status $?", analyze.replace("{}", "")));
    assert!(!text_has(&o.stderr, "analysing"), "{}", text(&o.stderr));
    let status = text(&o.stdout);
    assert!(
        ["status 0", "status 3", "status 4", "status 5"]
            .iter()
            .any(|s| status.contains(s)),
        "analyze must reach a verdict: {status} {}",
        text(&o.stderr)
    );
    let Some(shown) = in_terminal(&analyze.replace("{}", "")) else {
        eprintln!("SKIPPED: util-linux `script` is not installed, so no terminal to test in");
        return;
    };
    assert!(shown.contains("analysing"), "{shown}");
    let shown = in_terminal(&analyze.replace("{}", "--quiet")).unwrap();
    assert!(!shown.contains("analysing"), "{shown}");
    // A small live file gets no bar even on a terminal.
    let small = format!(
        "\"$COALMINE\" analyze --config {} --history {} --live {} >/dev/null",
        p(&config()),
        p(&fixture("history.csv")),
        p(&fixture("live_healthy.csv"))
    );
    let shown = in_terminal(&small).unwrap();
    assert!(!shown.contains("analysing"), "{shown}");
}

/// Peak resident memory (KiB) of `coalmine args`, from GNU time; `None` without it.
fn peak_rss_of(args: &[&str]) -> Option<u64> {
    if !Path::new("/usr/bin/time").exists() {
        return None;
    }
    let o = Command::new("/usr/bin/time")
        .args(["-f", "peak %M"])
        .arg(BIN)
        .args(args)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(
        matches!(code(&o), 0 | 3..=5),
        "coalmine {args:?} failed: {err}"
    );
    err.lines()
        .rev()
        .find_map(|l| l.strip_prefix("peak ")?.trim().parse().ok())
}

#[test]
fn analyze_memory_stays_flat_as_the_live_file_grows() {
    let dir = scratch("analyze_memory");
    let (config, history) = (config(), fixture("history.csv"));
    let mut peaks = Vec::new();
    for ticks in [2_000, 20_000] {
        let live = dir.join(format!("live-{ticks}.csv"));
        large_live(&live, ticks);
        let args = [
            "--quiet",
            "analyze",
            "--config",
            p(&config),
            "--history",
            p(&history),
            "--live",
            p(&live),
        ];
        let Some(peak) = peak_rss_of(&args) else {
            eprintln!("SKIPPED: GNU time (/usr/bin/time) is not installed, so no peak memory");
            return;
        };
        let size = std::fs::metadata(&live).unwrap().len();
        eprintln!("{ticks} ticks, {size} bytes: peak {peak} KiB");
        peaks.push(peak);
    }
    // Ten times the input may not cost more than a quarter more memory (a whole-file
    // reader would need about ten times as much).
    assert!(
        peaks[1] * 4 <= peaks[0] * 5,
        "memory grows with the live file: {} KiB, then {} KiB for ten times the input",
        peaks[0],
        peaks[1]
    );
}

// ---------------------------------------------------------------------------------
// The optional count column.

/// The fixture's healthy live file with a `count` column, each row's count from
/// `count(cohort, row)`.
fn live_with_counts(count: &dyn Fn(&str, usize) -> String) -> String {
    let live = std::fs::read_to_string(fixture("live_healthy.csv")).unwrap();
    let mut lines = live.lines();
    let mut out = format!("{},count\n", lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        let cohort = l.split(',').nth(1).unwrap();
        out.push_str(&format!("{l},{}\n", count(cohort, i)));
    }
    out
}

#[test]
fn counts_pass_through_to_the_analysis() {
    let dir = scratch("counts");
    let plain = analyze_live(
        &dir,
        "plain.csv",
        &std::fs::read(fixture("live_healthy.csv")).unwrap(),
    );
    // Unknown counts (empty) change nothing.
    let unknown = analyze_live(
        &dir,
        "unknown.csv",
        live_with_counts(&|_, _| String::new()).as_bytes(),
    );
    assert_eq!(code(&unknown), code(&plain), "{}", text(&unknown.stderr));
    assert_eq!(text(&unknown.stdout), text(&plain.stdout));
    // Counts that are known and non-zero leave the values in use: the same decisions.
    let known = analyze_live(
        &dir,
        "known.csv",
        live_with_counts(&|_, i| format!("{}", 100 + i % 7)).as_bytes(),
    );
    assert_eq!(code(&known), code(&plain), "{}", text(&known.stderr));
    // A count of 0 behind every canary value leaves the canary without evidence: the
    // core treats those values as missing, so the verdict is inconclusive.
    let zero = analyze_live(
        &dir,
        "zero.csv",
        live_with_counts(&|c, _| {
            if c == "canary" {
                "0".into()
            } else {
                "250".into()
            }
        })
        .as_bytes(),
    );
    assert_eq!(
        code(&zero),
        5,
        "{}{}",
        text(&zero.stdout),
        text(&zero.stderr)
    );
    // learn reads and checks the column, and ignores the counts.
    let history = std::fs::read_to_string(fixture("history.csv")).unwrap();
    let mut lines = history.lines();
    let mut with = format!("{},count\n", lines.next().unwrap());
    for l in lines {
        with.push_str(&format!("{l},12\n"));
    }
    let o = learn_with(&dir, with.as_bytes(), None);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
}

#[test]
fn bad_counts_name_file_line_and_series() {
    let dir = scratch("bad_counts");
    for (count, needle) in [
        ("-3", "count -3 is negative"),
        ("ten", "count `ten` is not a number"),
        ("NaN", "leave the count empty when it is unknown"),
        ("inf", "count `inf` is not a finite number"),
        (
            "1e101",
            "count 1e101 is beyond the supported magnitude 1e100",
        ),
    ] {
        let live = live_with_counts(&|_, i| if i == 3 { count.into() } else { "5".into() });
        let series = {
            let row = live.lines().nth(4).unwrap();
            let f: Vec<&str> = row.split(',').collect();
            format!("series {}/{}", f[2], f[3])
        };
        let o = analyze_live(&dir, "live.csv", live.as_bytes());
        assert_error(&o, 1, &["live.csv:5:", &series, needle]);
    }
    // With a count column every row has six fields.
    let live = format!("{HEADER_COUNT}1767814200,canary,enterprise,error_rate,0.01\n");
    let o = analyze_live(&dir, "short.csv", live.as_bytes());
    assert_error(
        &o,
        1,
        &["short.csv:2:", "expected 6 comma-separated fields"],
    );
    // A header that is neither form names the one it resembles.
    let o = analyze_live(&dir, "header.csv", b"timestamp,cohort,segment,metric\n");
    assert_error(&o, 1, &["header.csv:1:", "or with a sixth column, `count`"]);
    let o = analyze_live(
        &dir,
        "header6.csv",
        b"timestamp,cohort,segment,metric,value,weight\n",
    );
    assert_error(&o, 1, &["header6.csv:1:", "metric,value,count`"]);
}

const HEADER_COUNT: &str = "timestamp,cohort,segment,metric,value,count\n";
