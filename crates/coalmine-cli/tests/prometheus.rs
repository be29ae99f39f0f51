//! `--prometheus` without a real server: the configuration is checked at load with
//! errors naming the file and the key, the options are checked as usage errors, a
//! server that does not answer is a clear error naming its URL, and a scripted
//! stand-in on loopback shows that the `count` queries reach the analysis. The tests against a real
//! Prometheus are in `scripts/prometheus-test.sh` (`make prometheus-test`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prometheus-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(args)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const QUERY: &str = "rate(x{version=\"{cohort}\",segment=\"{segment}\"}[1m])";

/// The fixture configuration with a `[source.prometheus]` table: `server` lines, then
/// one `[[source.prometheus.metrics]]` per `(metric, query)`.
fn config(name: &str, server: &str, queries: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(fixture("config.toml")).unwrap();
    text.push_str("\n[source.prometheus]\n");
    text.push_str(server);
    for (metric, query) in queries {
        text.push_str(&format!(
            "\n[[source.prometheus.metrics]]\nmetric = \"{metric}\"\nquery = '{query}'\n"
        ));
    }
    let path = scratch(name);
    std::fs::write(&path, text).unwrap();
    path
}

const SERVER: &str = "url = \"http://127.0.0.1:9\"\ncontrol = \"stable\"\ncanary = \"new\"\n";

fn all_metrics() -> Vec<(&'static str, &'static str)> {
    vec![
        ("error_rate", QUERY),
        ("latency_ms", QUERY),
        ("checkout_calls", QUERY),
    ]
}

/// `learn --prometheus` on `cfg`: fails at load, before any request.
fn learn(cfg: &Path) -> Output {
    let out = scratch("never.json");
    run(&[
        "learn",
        "--config",
        cfg.to_str().unwrap(),
        "--prometheus",
        "--from",
        "0",
        "--to",
        "600",
        "--step",
        "60",
        "--out",
        out.to_str().unwrap(),
    ])
}

/// A configuration case: file name, server lines, queries, expected message.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

#[test]
fn the_configuration_is_checked_at_load_naming_file_and_key() {
    let cases: Vec<Case> = vec![
        (
            "unknown.toml",
            SERVER.into(),
            [all_metrics(), vec![("cpu", QUERY)]].concat(),
            "unknown metric `cpu`",
        ),
        (
            "twice.toml",
            SERVER.into(),
            [all_metrics(), vec![("latency_ms", QUERY)]].concat(),
            "metric `latency_ms` has 2 queries",
        ),
        (
            "missing.toml",
            SERVER.into(),
            all_metrics()[..2].to_vec(),
            "metric `checkout_calls` has no query",
        ),
        (
            "no-cohort.toml",
            SERVER.into(),
            vec![
                ("error_rate", QUERY),
                ("latency_ms", "x{segment=\"{segment}\"}"),
                ("checkout_calls", QUERY),
            ],
            "the `query` of metric `latency_ms` has no {cohort} placeholder",
        ),
        (
            "no-segment.toml",
            SERVER.into(),
            vec![
                ("error_rate", "x{v=\"{cohort}\"}"),
                ("latency_ms", QUERY),
                ("checkout_calls", QUERY),
            ],
            "the `query` of metric `error_rate` has no {segment} placeholder",
        ),
        (
            "url.toml",
            SERVER.replace("http://127.0.0.1:9", "127.0.0.1:9090"),
            all_metrics(),
            "`url` must start with http:// or https://",
        ),
        (
            "same-cohorts.toml",
            SERVER.replace("\"new\"", "\"stable\""),
            all_metrics(),
            "two different, non-empty label values",
        ),
        (
            "timeout.toml",
            format!("{SERVER}timeout_seconds = -1\n"),
            all_metrics(),
            "`timeout_seconds` must be in [0.001, 3600]",
        ),
        (
            "unknown-key.toml",
            format!("{SERVER}password = \"x\"\n"),
            all_metrics(),
            "unknown field `password`",
        ),
    ];
    for (name, server, queries, expected) in cases {
        let cfg = config(name, &server, &queries);
        let o = learn(&cfg);
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{name}: {err}");
        assert!(err.contains(name), "{name}: the file is not named: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    // The line of a key that appears once is given.
    let cfg = config(
        "url-line.toml",
        &SERVER.replace("http://127.0.0.1:9", "ftp://x"),
        &all_metrics(),
    );
    let err = stderr(&learn(&cfg));
    let line = std::fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("url ="))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("url-line.toml:{line}:")), "{err}");
}

#[test]
fn a_valid_source_leaves_the_csv_path_alone() {
    // The token variable is only read when --prometheus is used.
    let cfg = config(
        "valid.toml",
        &format!("{SERVER}bearer_token_env = \"COALMINE_TEST_UNSET_TOKEN\"\nstep = 60\n"),
        &all_metrics(),
    );
    let out = scratch("csv-profile.json");
    let o = run(&[
        "learn",
        "--config",
        cfg.to_str().unwrap(),
        "--history",
        fixture("history.csv").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // With --prometheus the unset variable is an error naming it, before any request.
    let o = learn(&cfg);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("COALMINE_TEST_UNSET_TOKEN, which is not set"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn options_are_usage_errors() {
    let cfg = config("usage.toml", SERVER, &all_metrics());
    let cfg = cfg.to_str().unwrap();
    let history = fixture("history.csv");
    let live = fixture("live_healthy.csv");
    let (history, live) = (history.to_str().unwrap(), live.to_str().unwrap());
    let out = scratch("usage.json");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--prometheus",
                "--history",
                history,
                "--from",
                "0",
                "--to",
                "1",
                "--out",
                out,
            ],
            "cannot be used with",
        ),
        (
            vec![
                "analyze",
                "--config",
                cfg,
                "--profile",
                out,
                "--prometheus",
                "--live",
                live,
                "--from",
                "0",
                "--to",
                "1",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "analyze",
                "--config",
                cfg,
                "--history",
                history,
                "--prometheus",
                "--from",
                "0",
                "--to",
                "1",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "analyze",
                "--config",
                cfg,
                "--profile",
                out,
                "--prometheus",
                "--from",
                "0",
            ],
            "needs --to (a past range) or --follow",
        ),
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--prometheus",
                "--from",
                "yesterday",
                "--to",
                "1",
                "--out",
                out,
            ],
            "--from: `yesterday` is neither Unix seconds nor an RFC 3339 timestamp",
        ),
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--prometheus",
                "--from",
                "100",
                "--to",
                "1",
                "--out",
                out,
            ],
            "--to 1 is before --from 100",
        ),
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--prometheus",
                "--from",
                "0",
                "--to",
                "600",
                "--out",
                out,
            ],
            "needs --step, or `step` in [source.prometheus]",
        ),
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--prometheus",
                "--from",
                "0",
                "--to",
                "600",
                "--step",
                "0",
                "--out",
                out,
            ],
            "--step must be at least 0.001 seconds",
        ),
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--from",
                "0",
                "--to",
                "600",
                "--history",
                history,
                "--out",
                out,
            ],
            "need --prometheus",
        ),
        (
            vec![
                "analyze",
                "--config",
                cfg,
                "--profile",
                out,
                "--live",
                live,
                "--follow",
            ],
            "need --prometheus",
        ),
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--prometheus",
                "--to",
                "600",
                "--out",
                out,
            ],
            "--from",
        ),
        (
            vec![
                "learn",
                "--config",
                cfg,
                "--prometheus",
                "--from",
                "0",
                "--out",
                out,
            ],
            "learn --prometheus needs --to",
        ),
    ];
    for (args, expected) in cases {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn without_a_source_table_prometheus_is_refused() {
    let cfg = fixture("config.toml");
    let o = learn(&cfg);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("--prometheus needs a [source.prometheus] table"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_unreachable_server_is_named_and_nothing_is_written() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let server = format!("url = \"{url}\"\ncontrol = \"stable\"\ncanary = \"new\"\nretries = 0\n");
    let cfg = config("unreachable.toml", &server, &all_metrics());
    let out = scratch("unreachable.json");
    let _ = std::fs::remove_file(&out);
    let o = run(&[
        "learn",
        "--config",
        cfg.to_str().unwrap(),
        "--prometheus",
        "--from",
        "2024-01-01T00:00:00Z",
        "--to",
        "1704070800",
        "--step",
        "60",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(
        err.contains(&format!("prometheus at {url} is unreachable")),
        "{err}"
    );
    assert!(err.contains("query: rate(x{version=\"stable\""), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists());
}

/// Percent-decodes a query-string component (`+` is a space).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A stand-in for Prometheus on loopback: every `query_range` is answered with one
/// series holding `answer(query)` at every step of the requested range. Serves until
/// the test process ends.
fn serve(answer: fn(&str) -> f64) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let target = request.split(' ').nth(1).unwrap_or("");
            let params: Vec<(String, String)> = target
                .split_once('?')
                .map_or("", |x| x.1)
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), decode(v)))
                .collect();
            let get = |k: &str| {
                params
                    .iter()
                    .find(|p| p.0 == k)
                    .map(|p| p.1.clone())
                    .unwrap_or_default()
            };
            let (start, end, step): (f64, f64, f64) = (
                get("start").parse().unwrap(),
                get("end").parse().unwrap(),
                get("step").parse().unwrap(),
            );
            let v = answer(&get("query"));
            let n = ((end - start) / step).round() as usize + 1;
            let values: Vec<String> = (0..n)
                .map(|k| format!("[{},\"{v}\"]", start + step * k as f64))
                .collect();
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
                values.join(",")
            );
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Values near the fixture history's, whatever the cohort.
fn value_of(query: &str) -> f64 {
    if query.contains("error_rate") {
        0.008
    } else if query.contains("latency_ms") {
        140.0
    } else {
        200.0
    }
}

/// `analyze --prometheus` over three days of half-hour ticks against the fixture history's
/// profile, with one `count` query per metric when `counts`.
fn analyze_served(name: &str, answer: fn(&str) -> f64, counts: bool) -> Output {
    let url = serve(answer);
    let mut text = std::fs::read_to_string(fixture("config.toml")).unwrap();
    text.push_str(&format!(
        "\n[source.prometheus]\nurl = \"{url}\"\ncontrol = \"stable\"\ncanary = \"new\"\nstep = 1800\nretries = 0\n"
    ));
    for m in ["error_rate", "latency_ms", "checkout_calls"] {
        text.push_str(&format!(
            "\n[[source.prometheus.metrics]]\nmetric = \"{m}\"\nquery = 'value{{metric=\"{m}\",v=\"{{cohort}}\",s=\"{{segment}}\"}}'\n"
        ));
        if counts {
            text.push_str(&format!(
                "count = 'requests{{metric=\"{m}\",v=\"{{cohort}}\",s=\"{{segment}}\"}}'\n"
            ));
        }
    }
    let cfg = scratch(&format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let profile = scratch(&format!("{name}-profile.json"));
    let o = run(&[
        "learn",
        "--config",
        fixture("config.toml").to_str().unwrap(),
        "--history",
        fixture("history.csv").to_str().unwrap(),
        "--out",
        profile.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    run(&[
        "-q",
        "analyze",
        "--config",
        cfg.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--prometheus",
        "--from",
        "2026-01-07T00:00:00Z",
        "--to",
        "2026-01-09T23:30:00Z",
        "--json",
    ])
}

#[test]
fn counts_from_prometheus_reach_the_analysis() {
    // Known, non-zero counts behind both cohorts.
    let counted = analyze_served(
        "counted",
        |q| {
            if q.starts_with("requests") {
                500.0
            } else {
                value_of(q)
            }
        },
        true,
    );
    let plain = analyze_served("plain", value_of, false);
    assert_eq!(code(&plain), 0, "{}", stderr(&plain));
    assert_eq!(code(&counted), code(&plain), "{}", stderr(&counted));
    // A count of 0 behind every canary value makes those values missing, as the CSV's
    // count column does: no canary evidence, inconclusive.
    let zero = analyze_served(
        "zero",
        |q| {
            if q.starts_with("requests") {
                if q.contains("v=\"new\"") { 0.0 } else { 500.0 }
            } else {
                value_of(q)
            }
        },
        true,
    );
    assert_eq!(
        code(&zero),
        5,
        "{}{}",
        stderr(&zero),
        String::from_utf8_lossy(&zero.stdout)
    );
    let last = String::from_utf8_lossy(&zero.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    assert!(
        last.contains("\"reason\":\"no_canary_data\"") && last.contains("\"canary_ticks\":0"),
        "{last}"
    );
}

#[test]
fn a_negative_count_from_prometheus_names_its_query() {
    let o = analyze_served(
        "negative",
        |q| {
            if q.starts_with("requests") && q.contains("checkout_calls") && q.contains("v=\"new\"")
            {
                -3.0
            } else if q.starts_with("requests") {
                500.0
            } else {
                value_of(q)
            }
        },
        true,
    );
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("count -3 is negative"), "{err}");
    assert!(err.contains("(canary)"), "{err}");
    assert!(
        err.contains("query: requests{metric=\"checkout_calls\",v=\"new\""),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
