//! Scores every series of a NAB-format folder under many scoring configurations, for
//! the cross-validation in `scripts/nab_cv.py`.
//!
//!     cargo run --release -p coalmine --example nab_scores -- CONFIGS NAB_DIR OUT_DIR
//!
//! CONFIGS holds one JSON `ScoringConfig` per line (missing fields take the defaults).
//! For configuration `i` (0-based line number) the scores of all files, in the order
//! of `OUT_DIR/files.txt` (`<category>/<file>.csv`, sorted), are written one after
//! another as little-endian f64 to `OUT_DIR/<i>.f64`: exactly what
//! `score_series(values, config)` returns, as `coalmine score` would write it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use coalmine::scoring::{ScoringConfig, score_series};

fn fail(message: String) -> ! {
    eprintln!("nab_scores: {message}");
    std::process::exit(1)
}

/// The `value` column of a NAB `timestamp,value` file.
fn read_values(path: &Path) -> Vec<f64> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            l.rsplit(',')
                .next()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| fail(format!("{}: line {}: no value", path.display(), i + 2)))
        })
        .collect()
}

/// `data/<category>/<file>.csv` under `nab`, sorted, as (relative name, path).
fn data_files(nab: &Path) -> Vec<(String, PathBuf)> {
    let data = nab.join("data");
    let mut files = Vec::new();
    let read =
        |dir: &Path| fs::read_dir(dir).unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
    for category in read(&data).filter_map(Result::ok) {
        if !category.path().is_dir() {
            continue;
        }
        for file in read(&category.path()).filter_map(Result::ok) {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "csv") {
                let name = format!(
                    "{}/{}",
                    category.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                );
                files.push((name, path));
            }
        }
    }
    files.sort();
    files
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [configs, nab, out] = args.as_slice() else {
        fail("usage: nab_scores CONFIGS NAB_DIR OUT_DIR".into())
    };
    let configs: Vec<ScoringConfig> = fs::read_to_string(configs)
        .unwrap_or_else(|e| fail(format!("{configs}: {e}")))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| fail(format!("configuration {}: {e}", i + 1)))
        })
        .collect();
    let files = data_files(Path::new(nab));
    let series: Vec<Vec<f64>> = files.iter().map(|(_, p)| read_values(p)).collect();
    let out = Path::new(out);
    fs::create_dir_all(out).unwrap_or_else(|e| fail(format!("{}: {e}", out.display())));
    let names: String = files.iter().map(|(n, _)| format!("{n}\n")).collect();
    fs::write(out.join("files.txt"), names).unwrap_or_else(|e| fail(e.to_string()));
    for (i, config) in configs.iter().enumerate() {
        let mut bytes = Vec::new();
        for values in &series {
            let scores = score_series(values, *config)
                .unwrap_or_else(|e| fail(format!("configuration {}: {e}", i + 1)));
            for s in scores {
                bytes.write_all(&s.to_le_bytes()).unwrap_or_default();
            }
        }
        let path = out.join(format!("{i}.f64"));
        fs::write(&path, bytes).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    }
}
