//! The Rust figure beside the Go benchmarks: `Analysis::observe` called directly on
//! the parity fixture's first rollout, replayed in a loop with increasing timestamps
//! exactly as `BenchmarkObserve` and `BenchmarkObserveMany` do through cgo (in shadow
//! mode, as they are: the same work per tick, but no promotion ends the replay). Prints the
//! median wall and thread-CPU nanoseconds per tick over several rounds, and what a
//! copy of the analysis costs (for comparison: the analysis batch checks every tick
//! before it applies any, and takes no copy).
//!
//! Run: `cargo run --release -p coalmine-ffi --example bench_ticks -- FIXTURE [TICKS]`

use std::io::Write as _;
use std::time::Instant;

use coalmine::{
    Analysis, AnalysisConfig, ProfileBuilder, ProfileConfig, Schema, SchemaSpec, Tick, TrafficMode,
};

struct Rollout {
    schema: SchemaSpec,
    profile: ProfileConfig,
    analysis: AnalysisConfig,
    cols: usize,
    history: Vec<f64>,
    timestamps: Vec<f64>,
    control: Vec<f64>,
    canary: Vec<f64>,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Reads the first rollout of the fixture (format in `parity_fixture.rs`).
fn read(path: &str) -> Res<Rollout> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let mut next = || lines.next().ok_or("fixture ends early");
    let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let num = |w: &str| -> Res<f64> { Ok(f64::from_bits(u64::from_str_radix(w, 16)?)) };
    for _ in 0..3 {
        next()?; // format, rollout count, rollout name
    }
    let mut json = || -> Res<String> {
        next()?;
        Ok(next()?.to_string())
    };
    let schema: SchemaSpec = serde_json::from_str(&json()?)?;
    let profile: ProfileConfig = serde_json::from_str(&json()?)?;
    let analysis: AnalysisConfig = serde_json::from_str(&json()?)?;
    let head = words(next()?);
    let (rows, cols): (usize, usize) = (head[1].parse()?, head[2].parse()?);
    let mut history = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        for w in words(next()?) {
            history.push(num(&w)?);
        }
    }
    let ticks: usize = words(next()?)[1].parse()?;
    let (mut timestamps, mut control, mut canary) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ticks {
        let w = words(next()?);
        timestamps.push(num(&w[0])?);
        for x in &w[1..=cols] {
            control.push(num(x)?);
        }
        for x in &w[cols + 1..] {
            canary.push(num(x)?);
        }
    }
    Ok(Rollout {
        schema,
        profile,
        analysis,
        cols,
        history,
        timestamps,
        control,
        canary,
    })
}

/// CPU time of the calling thread, in nanoseconds: on a shared machine wall time
/// also counts the time the thread waited for a core.
fn thread_cpu_ns() -> f64 {
    // SAFETY: `getrusage` fills the zero-initialised struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage`.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e9 + t.tv_usec as f64 * 1e3;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: bench_ticks FIXTURE [TICKS]")?;
    let ticks: usize = args.next().map_or(Ok(5000), |s| s.parse())?;
    let mut r = read(&path)?;
    r.analysis.traffic.mode = TrafficMode::Shadow;
    let mut builder = ProfileBuilder::new(Schema::new(r.schema.clone())?, r.profile.clone())?;
    for row in r.history.chunks(r.cols) {
        builder.push_tick(row)?;
    }
    let profile = builder.build()?;
    let n = r.timestamps.len();
    let span = r.timestamps[n - 1] - r.timestamps[0] + 1.0;
    let mut per_tick = Vec::new();
    let mut cpu_per_tick = Vec::new();
    let mut per_clone = Vec::new();
    for _ in 0..5 {
        let mut a = Analysis::new(&profile, r.analysis.clone())?;
        let start = Instant::now();
        let cpu = thread_cpu_ns();
        for i in 0..ticks {
            let k = i % n;
            a.observe(&Tick {
                timestamp: r.timestamps[k] + (i / n) as f64 * span,
                control: &r.control[k * r.cols..(k + 1) * r.cols],
                canary: &r.canary[k * r.cols..(k + 1) * r.cols],
                control_counts: None,
                canary_counts: None,
            })?;
        }
        per_tick.push(start.elapsed().as_nanos() as f64 / ticks as f64);
        cpu_per_tick.push((thread_cpu_ns() - cpu) / ticks as f64);
        let start = Instant::now();
        let copies: Vec<Analysis> = (0..100).map(|_| a.clone()).collect();
        per_clone.push(start.elapsed().as_nanos() as f64 / copies.len() as f64);
    }
    // A closed pipe is not worth a panic in a measuring tool.
    let _ = writeln!(
        std::io::stdout(),
        "rust_observe_ns_per_tick {:.0}\nrust_observe_cpu_ns_per_tick {:.0}\nrust_clone_ns {:.0}",
        median(per_tick),
        median(cpu_per_tick),
        median(per_clone)
    );
    Ok(())
}
