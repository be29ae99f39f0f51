//! Integration tests of the NAB scoring pipeline, and the NAB runner.

use std::path::{Path, PathBuf};

use coalmine::scoring::{ScoringConfig, score_series};

fn csv_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            csv_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "csv") {
            out.push(p);
        }
    }
}

/// Scores every CSV under `$NAB_DIR/data` and writes
/// `$NAB_OUT/<detector>/<category>/<detector>_<file>.csv` (detector `$NAB_DETECTOR`,
/// default `coalmine`), with the configuration `$NAB_CONFIG` (JSON, optional).
#[test]
#[ignore = "needs the NAB data: NAB_DIR=... NAB_OUT=... cargo test --release --test scoring -- --ignored"]
fn nab_results() {
    let nab = PathBuf::from(std::env::var("NAB_DIR").expect("NAB_DIR"));
    let out = PathBuf::from(std::env::var("NAB_OUT").expect("NAB_OUT"));
    let det = std::env::var("NAB_DETECTOR").unwrap_or_else(|_| "coalmine".into());
    let config: ScoringConfig = match std::env::var("NAB_CONFIG") {
        Ok(json) => serde_json::from_str(&json).expect("NAB_CONFIG"),
        Err(_) => ScoringConfig::default(),
    };
    let data = nab.join("data");
    let mut files = Vec::new();
    csv_files(&data, &mut files);
    assert!(!files.is_empty(), "no CSV under {}", data.display());
    let mut elapsed = std::time::Duration::ZERO;
    let mut rows_total = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let mut rows = Vec::new();
        for line in text.lines().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let (ts, v) = line.split_once(',').expect("timestamp,value");
            rows.push((ts.to_string(), v.to_string(), v.trim().parse::<f64>().unwrap_or(f64::NAN)));
        }
        let values: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let start = std::time::Instant::now();
        let scores = score_series(&values, config).expect("score");
        elapsed += start.elapsed();
        rows_total += values.len();
        let rel = f.strip_prefix(&data).expect("under data");
        let cat = rel.parent().expect("category");
        let name = rel.file_name().expect("file").to_string_lossy();
        let dir = out.join(&det).join(cat);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut s = String::from("timestamp,value,anomaly_score\n");
        for ((ts, v, _), sc) in rows.iter().zip(&scores) {
            assert!((0.0..=1.0).contains(sc), "{sc}");
            s.push_str(&format!("{ts},{v},{sc}\n"));
        }
        std::fs::write(dir.join(format!("{det}_{name}")), s).expect("write");
    }
    eprintln!(
        "scored {} files, {rows_total} rows in {:.3} s",
        files.len(),
        elapsed.as_secs_f64()
    );
}

/// Development aid: prints the internal trace of one file (`NAB_FILE`).
#[test]
#[ignore = "development aid"]
fn nab_trace() {
    let f = std::env::var("NAB_FILE").expect("NAB_FILE");
    let config: ScoringConfig = match std::env::var("NAB_CONFIG") {
        Ok(json) => serde_json::from_str(&json).expect("NAB_CONFIG"),
        Err(_) => ScoringConfig::default(),
    };
    let text = std::fs::read_to_string(f).expect("read");
    let values: Vec<f64> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(',').and_then(|(_, v)| v.trim().parse().ok()))
        .collect();
    let mut cfg = config;
    if cfg.probation == 0 {
        cfg.probation = ((values.len() as f64 * 0.15) as usize).clamp(1, 750);
    }
    let mut s = coalmine::scoring::AnomalyScorer::new(cfg).expect("new");
    for (i, v) in values.iter().enumerate() {
        let sc = s.score(*v);
        let d = s.dbg;
        println!("{i} {v} {sc:.4} p={:.3e} raw={:.3} lm={:.3} lsd={:.3}", d[0], d[1], d[2], d[3]);
    }
}
