//! The shape of the core, checked on its source: the pipeline's modules import only
//! the layers below them (so there is no import circle), and no function outside the
//! unit tests is longer than 100 lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The top-level modules from the bottom layer up: a module may use only modules
/// before it in this list. `docs/architecture.md` draws the same picture.
const LAYERS: [&str; 15] = [
    "error", "math", "schema", "duration", "persist", "feedback", "detect", "profile", "compare",
    "risk", "policy", "traffic", "verdict", "analysis", "scoring",
];

/// The longest function allowed, in lines from its signature to its closing brace.
const MAX_FUNCTION_LINES: usize = 100;

/// Every source file of the crate with the top-level module it belongs to (`None` for
/// `lib.rs`) and its text before the unit tests.
fn sources() -> Vec<(Option<String>, PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("the source folder is readable")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    walk(&src, &mut paths);
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a component");
            let first = first.as_os_str().to_string_lossy().into_owned();
            let module = (first != "lib.rs").then(|| first.trim_end_matches(".rs").to_string());
            let text = std::fs::read_to_string(&p).expect("a readable source file");
            let code = match text.find("\n#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            (module, p, code)
        })
        .collect()
}

/// Code without comments, so that prose naming a path is not taken for an import.
fn without_comments(code: &str) -> String {
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of every `crate::` path in `code`, braces expanded one
/// level: `crate::{a::B, c}` gives `a` and `c`.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut end) = (1, group.len());
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = k;
                    break;
                }
            }
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(group[start..k].trim()));
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            out.push(ident(group[start..end].trim()));
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The names the crate root re-exports, each with the module it comes from.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut rest = lib;
    while let Some(i) = rest.find("pub use ") {
        rest = &rest[i + "pub use ".len()..];
        let end = rest.find(';').expect("a use ends with a semicolon");
        let item = &rest[..end];
        if let Some((module, names)) = item.split_once("::") {
            let names = names.trim_start_matches('{').trim_end_matches('}');
            for name in names.split(',') {
                let name = name.trim();
                if !name.is_empty() {
                    map.insert(name.to_string(), module.trim().to_string());
                }
            }
        }
    }
    map
}

#[test]
fn modules_import_only_the_layers_below_them() {
    let files = sources();
    let lib = &files
        .iter()
        .find(|(m, _, _)| m.is_none())
        .expect("lib.rs")
        .2;
    let exports = root_exports(lib);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut violations = Vec::new();
    for (module, path, code) in &files {
        let Some(module) = module else { continue };
        let Some(own) = rank(module) else {
            violations.push(format!("{module} is not in LAYERS: place it in a layer"));
            continue;
        };
        for first in crate_paths(&without_comments(code)) {
            let target = match rank(&first) {
                Some(_) => first.clone(),
                None => match exports.get(&first) {
                    Some(m) => m.clone(),
                    // Defined at the root itself (MAX_ABS_VALUE, Interval).
                    None => continue,
                },
            };
            match rank(&target) {
                Some(r) if r > own => violations.push(format!(
                    "{} uses crate::{first} from `{target}`, a layer above `{module}`",
                    path.display()
                )),
                _ => {}
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn no_function_is_longer_than_a_screenful() {
    let mut long = Vec::new();
    for (_, path, code) in sources() {
        let lines: Vec<&str> = code.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let indent = &line[..line.len() - t.len()];
            let t = t
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub(super) ")
                .trim_start_matches("pub ")
                .trim_start_matches("const ");
            if !t.starts_with("fn ") || line.trim_end().ends_with(';') {
                continue;
            }
            let close = format!("{indent}}}");
            if let Some(j) = lines[i + 1..].iter().position(|l| *l == close) {
                let n = j + 2;
                if n > MAX_FUNCTION_LINES {
                    long.push(format!("{}:{}: {n} lines", path.display(), i + 1));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    assert_eq!(
        crate_paths("use crate::{a::B, c, d::{E, F}};\nlet x = crate::g::h();"),
        ["a", "c", "d", "g"]
    );
    let exports = root_exports("pub use detect::{Anomaly, Ewma};\npub use error::Error;\n");
    assert_eq!(exports.get("Ewma").map(String::as_str), Some("detect"));
    assert_eq!(exports.get("Error").map(String::as_str), Some("error"));
    assert_eq!(
        without_comments("a // crate::x\n/// crate::y\nb"),
        "a \n\nb"
    );
    assert!(sources().len() > 30, "the walk finds the sources");
}
