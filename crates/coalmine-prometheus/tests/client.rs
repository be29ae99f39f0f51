//! The client against a scripted HTTP server on loopback: what it sends, how it
//! retries, and how each kind of failure reads.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

use coalmine_prometheus::{
    Cohorts, MetricQuery, Plan, Prometheus, Range, ServerConfig, SourceError,
};

/// Answers each connection with the next scripted `(status, body)` and records the
/// request line and headers it received.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve(script: Vec<(u16, String)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    thread::spawn(move || {
        for (status, body) in script {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            seen.lock().unwrap().push(head);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Server { url, requests }
}

fn config(url: &str) -> ServerConfig {
    ServerConfig {
        url: url.to_string(),
        bearer_token_env: None,
        timeout_seconds: 5.0,
        retries: 2,
    }
}

fn matrix(values: &[(f64, &str)]) -> String {
    let v: Vec<String> = values
        .iter()
        .map(|(t, x)| format!("[{t},\"{x}\"]"))
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
        v.join(",")
    )
}

const EMPTY: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;

/// A plan of cohorts `v1` (control) and `v2` (canary) over the one segment `pro`.
fn one_segment(metrics: Vec<MetricQuery>) -> Plan {
    Plan {
        cohorts: Cohorts {
            control: "v1".into(),
            canary: "v2".into(),
        },
        segments: vec!["pro".into()],
        metrics,
    }
}

fn query(metric: &str, query: &str, count: Option<&str>) -> MetricQuery {
    MetricQuery {
        metric: metric.into(),
        query: query.into(),
        count: count.map(Into::into),
    }
}

/// Minute steps from 0 to `end` seconds.
fn minutes(end: f64) -> Range {
    Range {
        start: 0.0,
        end,
        step: 60.0,
    }
}

#[test]
fn a_plan_becomes_a_grid_with_missing_data_kept_missing() {
    // 1 segment x 2 metrics x 2 cohorts = 4 queries, in cohort, segment, metric order.
    let server = serve(vec![
        (200, matrix(&[(0.0, "1"), (60.0, "2"), (120.0, "3")])),
        (200, matrix(&[(0.0, "10"), (120.0, "NaN")])),
        (200, matrix(&[(0.0, "4"), (60.0, "+Inf"), (120.0, "6")])),
        (200, EMPTY.to_string()),
    ]);
    let client = Prometheus::new(&config(&server.url)).unwrap();
    let plan = one_segment(vec![
        query("errors", r#"e{v="{cohort}",s="{segment}"}"#, None),
        query("latency", r#"l{v="{cohort}",s="{segment}"}"#, None),
    ]);
    let grid = client.fetch(&plan, &minutes(120.0)).unwrap();
    assert_eq!(grid.timestamps, vec![0.0, 60.0, 120.0]);
    assert_eq!(grid.width, 2);
    let (ts, control, canary) = grid.tick(0).unwrap();
    assert_eq!((ts, control, canary[0]), (0.0, &[1.0, 10.0][..], 4.0));
    assert!(
        grid.control[3].is_nan() && grid.control[5].is_nan(),
        "gap and NaN stay missing"
    );
    assert!(
        grid.canary[2].is_nan(),
        "an infinite sample is missing, not a value"
    );
    assert_eq!(grid.gaps.len(), 2);
    assert_eq!(grid.empty.len(), 1);
    assert_eq!(grid.empty[0].metric, "latency");
    assert!(grid.empty[0].query.contains(r#"v="v2""#));
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 4);
    assert!(
        requests[0].starts_with("GET /api/v1/query_range?query="),
        "{}",
        requests[0]
    );
    assert!(
        requests[0].contains("start=0&end=120&step=60"),
        "{}",
        requests[0]
    );
}

#[test]
fn count_queries_fill_the_counts_of_their_metric_only() {
    // 1 segment x 2 metrics, a count query for the second only: per cohort the value
    // of `errors`, the value of `ratio`, then the count of `ratio`.
    let server = serve(vec![
        (200, matrix(&[(0.0, "1"), (60.0, "2")])),
        (200, matrix(&[(0.0, "0.01"), (60.0, "0.02")])),
        (200, matrix(&[(0.0, "200"), (60.0, "250.5")])),
        (200, matrix(&[(0.0, "3"), (60.0, "4")])),
        (200, matrix(&[(0.0, "0.05"), (60.0, "0.5")])),
        (200, matrix(&[(0.0, "40")])),
    ]);
    let client = Prometheus::new(&config(&server.url)).unwrap();
    let plan = one_segment(vec![
        query("errors", r#"e{v="{cohort}",s="{segment}"}"#, None),
        query(
            "ratio",
            r#"r{v="{cohort}",s="{segment}"}"#,
            Some(r#"n{v="{cohort}",s="{segment}"}"#),
        ),
    ]);
    let grid = client.fetch(&plan, &minutes(60.0)).unwrap();
    let (control, canary) = grid.tick_counts(0).unwrap();
    assert!(control[0].is_nan() && canary[0].is_nan(), "no count query");
    assert_eq!((control[1], canary[1]), (200.0, 40.0));
    let (control, canary) = grid.tick_counts(1).unwrap();
    assert_eq!(control[1], 250.5);
    assert!(canary[1].is_nan(), "a missing count sample is unknown");
    assert_eq!(grid.tick(1).unwrap().2, &[4.0, 0.5][..]);
    assert!(grid.tick_counts(2).is_none());
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 6);
    assert!(
        requests[2].contains("query=n%7Bv%3D%22v1%22"),
        "{}",
        requests[2]
    );
    assert!(
        requests[5].contains("query=n%7Bv%3D%22v2%22"),
        "{}",
        requests[5]
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    let server = serve(vec![(503, "busy".into()), (200, matrix(&[(0.0, "1")]))]);
    let client = Prometheus::new(&config(&server.url)).unwrap();
    let s = client
        .query_range(
            "up",
            &Range {
                start: 0.0,
                end: 0.0,
                step: 60.0,
            },
        )
        .unwrap();
    assert_eq!(s, vec![(0.0, 1.0)]);

    let server = serve(vec![
        (500, "a".into()),
        (500, "b".into()),
        (500, "boom".into()),
    ]);
    let client = Prometheus::new(&config(&server.url)).unwrap();
    let e = client
        .query_range(
            "up",
            &Range {
                start: 0.0,
                end: 0.0,
                step: 60.0,
            },
        )
        .unwrap_err();
    assert!(matches!(e, SourceError::Http { status: 500, .. }), "{e}");
    assert!(
        e.to_string().contains("boom") && e.to_string().contains("query: up"),
        "{e}"
    );
}

#[test]
fn a_bad_query_reports_prometheus_own_message() {
    let body = r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}"#;
    let server = serve(vec![(400, body.into())]);
    let client = Prometheus::new(&config(&server.url)).unwrap();
    let e = client
        .query_range(
            "sum(x",
            &Range {
                start: 0.0,
                end: 0.0,
                step: 60.0,
            },
        )
        .unwrap_err();
    assert!(matches!(e, SourceError::Query { .. }), "{e}");
    assert!(e.to_string().contains("unclosed left parenthesis") && e.to_string().contains("sum(x"));
}

#[test]
fn an_unreachable_server_is_named() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let client = Prometheus::new(&ServerConfig {
        retries: 1,
        ..config(&url)
    })
    .unwrap();
    let e = client
        .query_range(
            "up",
            &Range {
                start: 0.0,
                end: 0.0,
                step: 60.0,
            },
        )
        .unwrap_err();
    match &e {
        SourceError::Unreachable {
            url: u, attempts, ..
        } => {
            assert_eq!((u.as_str(), *attempts), (url.as_str(), 2));
        }
        other => panic!("{other}"),
    }
}

#[test]
#[allow(unsafe_code)]
fn long_ranges_are_split_and_the_token_is_sent() {
    // SAFETY: no other test reads or writes this variable.
    unsafe { std::env::set_var("COALMINE_TEST_PROM_TOKEN", "s3cret") };
    let server = serve(vec![
        (200, matrix(&[(0.0, "1")])),
        (200, matrix(&[(600000.0, "2")])),
    ]);
    let client = Prometheus::new(&ServerConfig {
        bearer_token_env: Some("COALMINE_TEST_PROM_TOKEN".into()),
        ..config(&server.url)
    })
    .unwrap();
    // 10,001 steps: one request of 10,000 and one of 1.
    let s = client
        .query_range(
            "up",
            &Range {
                start: 0.0,
                end: 600000.0,
                step: 60.0,
            },
        )
        .unwrap();
    assert_eq!(s, vec![(0.0, 1.0), (600000.0, 2.0)]);
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].contains("end=599940"), "{}", requests[0]);
    assert!(requests[1].contains("start=600000"), "{}", requests[1]);
    assert!(
        requests
            .iter()
            .all(|r| r.to_lowercase().contains("authorization: bearer s3cret"))
    );

    let missing = ServerConfig {
        bearer_token_env: Some("COALMINE_TEST_UNSET_VARIABLE".into()),
        ..config("http://x")
    };
    assert!(matches!(
        Prometheus::new(&missing),
        Err(SourceError::Config(_))
    ));
}
