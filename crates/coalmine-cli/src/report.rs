//! A self-contained HTML report (no network fetches) with inline SVG charts: the risk
//! over time with both thresholds, decisions and canary share; and, for the top
//! contributing metrics, canary and control against the profile's expected band.

use std::fmt::Write;

use coalmine::policy::Level;

use crate::replay::Replay;
use crate::timestamp;

const W: f64 = 900.0;
const H: f64 = 220.0;
const PAD: f64 = 40.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Maps data to the plot area.
struct Frame {
    n: usize,
    lo: f64,
    hi: f64,
}

impl Frame {
    fn new(n: usize, values: impl Iterator<Item = f64>) -> Frame {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-12 {
            hi = lo + 1.0;
        }
        let margin = 0.05 * (hi - lo);
        Frame {
            n: n.max(2),
            lo: lo - margin,
            hi: hi + margin,
        }
    }

    fn x(&self, i: usize) -> f64 {
        PAD + (W - 2.0 * PAD) * i as f64 / (self.n - 1) as f64
    }

    fn y(&self, v: f64) -> f64 {
        H - PAD + (PAD * 2.0 - H) * (v - self.lo) / (self.hi - self.lo)
    }

    /// A polyline path over the finite points, breaking at gaps.
    fn path(&self, values: &[f64]) -> String {
        let mut d = String::new();
        let mut pen = false;
        for (i, &v) in values.iter().enumerate() {
            if v.is_finite() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if pen { "L" } else { "M" },
                    self.x(i),
                    self.y(v)
                );
                pen = true;
            } else {
                pen = false;
            }
        }
        d
    }

    fn axes(&self, out: &mut String, label: &str) {
        let _ = write!(
            out,
            r##"<line x1="{p}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{p}" y1="{t}" x2="{p}" y2="{b}" stroke="#888"/><text x="{p}" y="{ty}" class="lab">{label}</text><text x="4" y="{b}" class="tick">{lo:.3}</text><text x="4" y="{tt}" class="tick">{hi:.3}</text>"##,
            p = PAD,
            b = H - PAD,
            r = W - PAD,
            t = PAD,
            ty = PAD - 10.0,
            tt = PAD + 4.0,
            label = esc(label),
            lo = self.lo,
            hi = self.hi,
        );
    }
}

fn risk_chart(r: &Replay) -> String {
    let risks: Vec<f64> = r.records.iter().map(|x| x.risk).collect();
    let predicted: Vec<f64> = r.records.iter().map(|x| x.predicted).collect();
    let (t1, t2) = r.thresholds;
    let f = Frame::new(
        risks.len(),
        risks
            .iter()
            .chain(&predicted)
            .copied()
            .chain([0.0, t2 * 1.1]),
    );
    let mut s = format!(
        r#"<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="risk over time">"#
    );
    f.axes(
        &mut s,
        "risk (solid), predicted (dashed), canary share (green, 0–100 %)",
    );
    for (t, colour, name) in [(t1, "#e69f00", "t1 pause"), (t2, "#d55e00", "t2 roll back")] {
        let y = f.y(t);
        let _ = write!(
            s,
            r##"<line x1="{a}" y1="{y:.1}" x2="{b}" y2="{y:.1}" stroke="{colour}" stroke-dasharray="6 4"/><text x="{tx}" y="{ty:.1}" class="tick" fill="{colour}">{name}</text>"##,
            a = PAD,
            b = W - PAD,
            tx = W - PAD - 70.0,
            ty = y - 4.0
        );
    }
    let share: Vec<f64> = r
        .records
        .iter()
        .map(|x| f.lo + x.share * (f.hi - f.lo))
        .collect();
    let _ = write!(
        s,
        r##"<path d="{}" fill="none" stroke="#009e73" stroke-width="1.5"/>"##,
        f.path(&share)
    );
    let _ = write!(
        s,
        r##"<path d="{}" fill="none" stroke="#0072b2" stroke-dasharray="3 3"/>"##,
        f.path(&predicted)
    );
    let _ = write!(
        s,
        r##"<path d="{}" fill="none" stroke="#000" stroke-width="2"/>"##,
        f.path(&risks)
    );
    for (i, rec) in r.records.iter().enumerate() {
        let (x, y) = (f.x(i), f.y(rec.risk));
        match rec.level {
            Level::Pause => {
                let _ = write!(
                    s,
                    r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#e69f00"><title>pause</title></circle>"##
                );
            }
            Level::Rollback => {
                let _ = write!(
                    s,
                    r##"<circle cx="{x:.1}" cy="{y:.1}" r="7" fill="#d55e00"><title>roll back</title></circle>"##
                );
            }
            Level::Continue => {}
        }
    }
    s.push_str("</svg>");
    s
}

fn metric_chart(r: &Replay, index: usize, title: &str) -> String {
    let col = |k: usize| -> Vec<f64> {
        r.records
            .iter()
            .map(|x| x.series.get(index).map_or(f64::NAN, |v| v[k]))
            .collect()
    };
    let (control, canary, expected, band) = (col(0), col(1), col(2), col(3));
    let upper: Vec<f64> = expected.iter().zip(&band).map(|(e, b)| e + b).collect();
    let lower: Vec<f64> = expected.iter().zip(&band).map(|(e, b)| e - b).collect();
    let f = Frame::new(
        control.len(),
        control
            .iter()
            .chain(&canary)
            .chain(&upper)
            .chain(&lower)
            .copied(),
    );
    let mut s = format!(
        r#"<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        esc(title)
    );
    f.axes(&mut s, title);
    // The expected band: forward along the upper edge, back along the lower one.
    let mut band_path = String::new();
    for (i, v) in upper.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let _ = write!(
            band_path,
            "{}{:.1},{:.1} ",
            if band_path.is_empty() { "M" } else { "L" },
            f.x(i),
            f.y(*v)
        );
    }
    for (i, v) in lower
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, v)| v.is_finite())
    {
        let _ = write!(band_path, "L{:.1},{:.1} ", f.x(i), f.y(*v));
    }
    if !band_path.is_empty() {
        let _ = write!(
            s,
            r##"<path d="{band_path}Z" fill="#ccc" fill-opacity="0.6" stroke="none"/>"##
        );
    }
    let _ = write!(
        s,
        r##"<path d="{}" fill="none" stroke="#0072b2" stroke-width="1.5"/>"##,
        f.path(&control)
    );
    let _ = write!(
        s,
        r##"<path d="{}" fill="none" stroke="#d55e00" stroke-width="1.5"/>"##,
        f.path(&canary)
    );
    s.push_str("</svg>");
    s
}

/// Renders the replay as one HTML page.
pub fn html(r: &Replay, title: &str) -> String {
    html_pages(&[(title, r.clone())], title)
}

/// Renders several replays, one section each, into one HTML page.
pub fn html_pages(pages: &[(&str, Replay)], title: &str) -> String {
    let mut out = head(title);
    for (heading, r) in pages {
        if pages.len() > 1 {
            let _ = write!(out, "<h1>{}</h1>", esc(heading));
        }
        body(&mut out, r);
    }
    out.push_str("</body></html>\n");
    out
}

fn head(title: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}}
h1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}}
.verdict{{font-size:18px;padding:8px 12px;display:inline-block;border-radius:4px;color:#fff}}
.promote{{background:#009e73}} .pause{{background:#e69f00}} .rollback{{background:#d55e00}} .inconclusive{{background:#6b6b6b}}
.lab{{font-size:12px;fill:#333}} .tick{{font-size:10px;fill:#666}}
table{{border-collapse:collapse;font-size:13px}} td,th{{border:1px solid #ddd;padding:3px 8px;text-align:left}}
.legend span{{margin-right:16px}}
</style></head><body><h1>{t}</h1>"#,
        t = esc(title)
    );
    out
}

fn body(out: &mut String, r: &Replay) {
    let _ = write!(
        out,
        r#"<p><span class="verdict {v}">{v}</span> &nbsp; max risk {m:.2} &nbsp; thresholds: pause at {t1:.2}, roll back at {t2:.2} &nbsp; ticks {n}</p>"#,
        v = r.verdict.name(),
        m = r.max_risk,
        t1 = r.thresholds.0,
        t2 = r.thresholds.1,
        n = r.records.len()
    );
    let why = r.report.explain(&r.schema);
    let why = why
        .strip_prefix(r.verdict.name())
        .and_then(|w| w.strip_prefix(": "))
        .unwrap_or(&why);
    let _ = write!(out, "<p>Why: {}.</p>", esc(why));
    out.push_str("<h2>Risk, decisions and canary share</h2>");
    out.push_str(&risk_chart(r));
    out.push_str(r#"<p class="legend"><span style="color:#d55e00">● rollback</span><span style="color:#e69f00">● pause</span><span style="color:#009e73">— canary share</span></p>"#);
    let nm = r.schema.metrics.len().max(1);
    let mut shown: Vec<(usize, usize)> = Vec::new();
    for c in &r.contributors {
        if !shown.contains(&(c.segment, c.metric)) && shown.len() < 3 {
            shown.push((c.segment, c.metric));
        }
    }
    if !shown.is_empty() {
        out.push_str("<h2>Top contributing metrics: canary (red), control (blue), expected band from the profile (grey)</h2>");
    }
    for (s, m) in shown {
        let title = format!(
            "{} in {}",
            r.schema.metrics.get(m).map_or("?", |x| x.name.as_str()),
            r.schema.segments.get(s).map_or("?", |x| x.name.as_str())
        );
        out.push_str(&metric_chart(r, s * nm + m, &title));
    }
    out.push_str("<h2>Decisions</h2><table><tr><th>#</th><th>timestamp</th><th>share</th><th>decision</th></tr>");
    for (i, rec) in r.records.iter().enumerate() {
        if rec.level != Level::Continue || i % 10 == 0 || i + 1 == r.records.len() {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.2} %</td><td>{}</td></tr>",
                i + 1,
                timestamp::format(rec.timestamp, rec.style),
                100.0 * rec.share,
                esc(&rec.summary)
            );
        }
    }
    out.push_str("</table>");
}
