//! Quick start: stream a synthetic service through coalmine's three detectors and see
//! when each one flags an injected fault.
//!
//! The service has a daily cycle of 288 five-minute ticks. Requests follow the cycle,
//! CPU follows requests, latency is flat. Three days of history train the detectors;
//! then a live day streams through them, and from tick 200 the new release burns 8
//! points of CPU in a background task — a fault that never leaves CPU's normal daily
//! range (17 % at night to 53 % at the peak), so a static threshold on CPU would not
//! see it at all.
//!
//! Run: `cargo run --release -p coalmine-examples --example quickstart`

use coalmine::ndarray::Array2;
use coalmine::{
    AnomalyDetector, Autoencoder, AutoencoderConfig, Ewma, EwmaConfig, FitOptions, HoltWinters,
    HoltWintersConfig,
};

/// Ticks per day.
const DAY: usize = 288;
/// Live tick at which the fault starts.
const ONSET: usize = 200;
/// A detector flags when its tail probability stays below this...
const ALARM_P: f64 = 0.01;
/// ...for this many consecutive ticks: a lone spike is not a fault, and three
/// independent chances of 1 % in a row happen once in a million ticks.
const PERSIST: usize = 3;

/// A tiny deterministic noise source (xorshift64*), so the example needs no crates.
struct Noise(u64);

impl Noise {
    fn normal(&mut self) -> f64 {
        // Sum of 12 uniforms minus 6: close enough to a standard normal for a demo.
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One tick of the service: [requests per second, CPU %, latency ms].
fn tick(t: usize, faulty: bool, noise: &mut Noise) -> [f64; 3] {
    let phase = std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64;
    let requests = 1000.0 + 600.0 * phase.sin() + 25.0 * noise.normal();
    let overhead = if faulty { 8.0 } else { 0.0 };
    let cpu = 5.0 + overhead + 0.03 * requests + 0.8 * noise.normal();
    let latency = 120.0 + 4.0 * noise.normal();
    [requests, cpu, latency]
}

/// When a detector first flagged, and how many alarms it raised before the onset.
#[derive(Debug, Default)]
struct Report {
    name: &'static str,
    first_flag: Option<usize>,
    false_alarms: usize,
}

impl Report {
    fn new(name: &'static str) -> Self {
        Report {
            name,
            ..Report::default()
        }
    }

    /// Tracks the run of unusual ticks and records the first persistent one.
    fn record(&mut self, t: usize, run: &mut usize, tail_probability: f64) {
        *run = if tail_probability < ALARM_P {
            *run + 1
        } else {
            0
        };
        if *run == PERSIST {
            if t < ONSET {
                self.false_alarms += 1;
            } else if self.first_flag.is_none() {
                self.first_flag = Some(t);
            }
        }
    }
}

fn run() -> Result<Vec<Report>, coalmine::Error> {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let history: Vec<[f64; 3]> = (0..3 * DAY).map(|t| tick(t, false, &mut noise)).collect();
    let cpu_history: Vec<f64> = history.iter().map(|v| v[1]).collect();

    let mut ewma = Ewma::new(EwmaConfig {
        alpha: 0.1,
        ..EwmaConfig::default()
    })?;
    for x in &cpu_history {
        ewma.observe(x)?;
    }
    let hw_config = HoltWintersConfig {
        season_length: DAY,
        ..HoltWintersConfig::default()
    };
    let mut hw = HoltWinters::fit(hw_config, &cpu_history, &FitOptions::default())?;
    let rows = Array2::from_shape_fn((history.len(), 3), |(r, c)| history[r][c]);
    let mut ae = Autoencoder::train(
        AutoencoderConfig {
            seed: 7,
            ..AutoencoderConfig::default()
        },
        rows.view(),
    )?;

    let mut reports = [
        Report::new("EWMA (cpu)"),
        Report::new("Holt-Winters (cpu)"),
        Report::new("Autoencoder (all)"),
    ];
    let mut runs = [0usize; 3];
    let mut shares = [0.0; 3];
    for t in 0..DAY {
        let x = tick(3 * DAY + t, t >= ONSET, &mut noise);
        let p = [
            ewma.observe(&x[1])?.tail_probability(),
            hw.observe(&x[1])?.tail_probability(),
            ae.score_into(&x, &mut shares)?.tail_probability(),
        ];
        for (i, report) in reports.iter_mut().enumerate() {
            let before = report.first_flag;
            report.record(t, &mut runs[i], p[i]);
            if before.is_none() && report.first_flag.is_some() {
                print!(
                    "tick {t:3}: {} flags the fault (p = {:.1e})",
                    report.name, p[i]
                );
                if i == 2 {
                    print!(
                        "; shares of the error: requests {:.0} %, cpu {:.0} %, latency {:.0} %",
                        100.0 * shares[0],
                        100.0 * shares[1],
                        100.0 * shares[2]
                    );
                }
                println!();
            }
        }
    }
    Ok(reports.into())
}

fn main() -> Result<(), coalmine::Error> {
    println!("fault injected at live tick {ONSET}: +8 points of CPU, inside its daily range");
    let reports = run()?;
    println!();
    for r in &reports {
        match r.first_flag {
            Some(t) => println!(
                "{:<20} flagged at tick {t} ({} ticks after onset), {} false alarms before it",
                r.name,
                t - ONSET,
                r.false_alarms
            ),
            None => println!(
                "{:<20} never flagged, {} false alarms",
                r.name, r.false_alarms
            ),
        }
    }
    Ok(())
}

#[test]
fn seasonal_and_joint_detectors_catch_the_fault_quickly_without_false_alarms() {
    let reports = run().unwrap();
    for r in &reports[1..] {
        assert_eq!(r.false_alarms, 0, "{r:?}");
        let t = r.first_flag.unwrap_or(usize::MAX);
        assert!((ONSET..ONSET + 10).contains(&t), "{r:?}");
    }
}
