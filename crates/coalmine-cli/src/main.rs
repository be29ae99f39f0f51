//! `coalmine`: learn behavioural profiles, judge canaries, score series, simulate
//! rollouts and evaluate the judge — from a shell or a pipeline step.

mod analyze;
mod output;
mod progress;
mod prom;
mod replay;
mod report;
mod score;
mod sim;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use coalmine::scoring::DetectorChoice;

// The readers live in the library; these names keep `crate::config` and the like
// working in the command's own modules.
use coalmine_cli::{CliError, config, error, input, score_input, timestamp};

use crate::output::note;
use crate::progress::Progress;

const EXIT_CODES: &str = "\
Exit status:
  0  success; for analyze: promote
  1  bad input or runtime error (the message names the file, line and series)
  2  usage error (unknown option or value, an output that would overwrite an input)
  3  analyze: the rollout ends paused
  4  analyze: roll back
  5  analyze: inconclusive (not enough evidence to promote: no canary or control
     data, a series never observed, a ramp that had not finished)

When the reader of standard output goes away (`coalmine … | head`), the command
stops writing quietly: score and eval end with status 0, analyze still ends with the
status of its verdict.";

/// Predictive canary analysis.
#[derive(Debug, Parser)]
#[command(name = "coalmine", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    /// No progress bars and no informational messages on standard error (errors are
    /// still reported).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// The detector of `score`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Detector {
    /// Exponential smoothing chosen from the data (season or not).
    Auto,
    /// EWMA only.
    Ewma,
    /// Holt-Winters with the best-correlated season.
    HoltWinters,
}

impl From<Detector> for DetectorChoice {
    fn from(d: Detector) -> Self {
        match d {
            Detector::Auto => DetectorChoice::Auto,
            Detector::Ewma => DetectorChoice::Ewma,
            Detector::HoltWinters => DetectorChoice::HoltWinters,
        }
    }
}

/// Reading metrics from Prometheus instead of CSV files.
#[derive(Debug, Args)]
struct PromArgs {
    /// Read metrics with `query_range` from the server of `[source.prometheus]` in the
    /// configuration, instead of CSV files.
    #[arg(long)]
    prometheus: bool,
    /// First tick: Unix seconds or RFC 3339 with an offset.
    #[arg(long, required_if_eq("prometheus", "true"))]
    from: Option<String>,
    /// Last tick (inclusive): Unix seconds or RFC 3339 with an offset.
    #[arg(long)]
    to: Option<String>,
    /// Seconds between ticks (default: `step` of `[source.prometheus]`).
    #[arg(long)]
    step: Option<f64>,
}

impl PromArgs {
    fn window(&self, follow: bool) -> Result<Option<prom::Window>, CliError> {
        if !self.prometheus {
            // clap's `requires` counts a flag that is off as present, hence the check.
            if self.from.is_some() || self.to.is_some() || self.step.is_some() || follow {
                return Err(CliError::Usage(
                    "--from, --to, --step and --follow read from Prometheus: they need --prometheus"
                        .into(),
                ));
            }
            return Ok(None);
        }
        let from = self.from.as_deref().unwrap_or_default();
        prom::Window::parse(from, self.to.as_deref(), follow, self.step).map(Some)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a healthy and a faulty release, print their timelines and verdicts and
    /// write an HTML report.
    Demo {
        /// Where to write the HTML report.
        #[arg(long, default_value = "coalmine-demo.html")]
        report: PathBuf,
    },
    /// Learn a behavioural profile from the stable version's history.
    Learn {
        /// The TOML configuration (metrics, segments, features, policy).
        #[arg(long)]
        config: PathBuf,
        /// History metrics CSV (`timestamp,cohort,segment,metric,value`, baseline only;
        /// an optional `count` column is checked and ignored).
        #[arg(
            long,
            required_unless_present = "prometheus",
            conflicts_with = "prometheus"
        )]
        history: Option<PathBuf>,
        #[command(flatten)]
        source: PromArgs,
        /// Where to write the profile (JSON); never one of the inputs.
        #[arg(long)]
        out: PathBuf,
    },
    /// Judge a canary: replay live ticks and decide.
    #[command(after_help = EXIT_CODES)]
    Analyze {
        /// The TOML configuration.
        #[arg(long)]
        config: PathBuf,
        /// History metrics CSV to learn the profile from.
        #[arg(long, conflicts_with_all = ["profile", "prometheus"], required_unless_present = "profile")]
        history: Option<PathBuf>,
        /// A profile written by `coalmine learn`.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Live metrics CSV (baseline and canary rows; an optional sixth column `count`
        /// gives the count behind each value, empty when unknown).
        #[arg(
            long,
            required_unless_present = "prometheus",
            conflicts_with = "prometheus"
        )]
        live: Option<PathBuf>,
        #[command(flatten)]
        source: PromArgs,
        /// With --prometheus: wait for each step to complete and observe it, until the
        /// verdict (promotion or rollback) or --to.
        #[arg(long)]
        follow: bool,
        /// Print one JSON object per tick and a summary object instead of a timeline.
        #[arg(long)]
        json: bool,
        /// Write a self-contained HTML report here; never one of the inputs.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Score a `timestamp,value` series: writes `timestamp,value,anomaly_score`.
    Score {
        /// Input CSV with the header `timestamp,value` (the NAB format).
        #[arg(long)]
        input: PathBuf,
        /// Detector.
        #[arg(long, value_enum, default_value_t = Detector::HoltWinters)]
        detector: Detector,
        /// Output CSV (default: standard output); never the input.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write a simulated rollout: config.toml, history.csv and live.csv.
    Simulate {
        /// Scenario.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(sim::scenario_names()))]
        scenario: String,
        /// Seed (the same seed gives the same files).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder: new or empty, unless --force.
        #[arg(long)]
        out: PathBuf,
        /// Replace config.toml, history.csv and live.csv in a folder that is not empty.
        #[arg(long)]
        force: bool,
        /// Give live.csv the sixth column `count`: the count behind each value
        /// (requests, users, instances).
        #[arg(long)]
        counts: bool,
    },
    /// Run the evaluation harness over every scenario type and print the table.
    Eval {
        /// Seeds per scenario type (1 to 10000).
        #[arg(long, default_value_t = 20,
              value_parser = clap::value_parser!(u64).range(1..=sim::MAX_SEEDS))]
        seeds: u64,
        /// Only these scenario types (repeat the option for several; default: all).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(sim::scenario_names()))]
        scenario: Vec<String>,
        /// Print JSON instead of Markdown.
        #[arg(long)]
        json: bool,
        /// Simulator configuration (repeat for several; `all` for every one): half-hour
        /// (the default), half-hour-wide, one-minute, uneven-segments.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(sim::config_names()))]
        config: Vec<String>,
        /// Also run held-out seeds 1001-1100 and report them beside the others.
        #[arg(long)]
        held_out: bool,
        /// Also run 100 A/A rollouts of 500 live ticks each.
        #[arg(long)]
        long_aa: bool,
        /// Give the analysis the count behind each value (requests, users, instances).
        #[arg(long)]
        counts: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(error::EXIT_USAGE),
            };
        }
    };
    let progress = Progress::new(cli.quiet);
    let result = match cli.command {
        Command::Demo { report } => sim::demo(&report).map(|()| 0),
        Command::Simulate {
            scenario,
            seed,
            out,
            force,
            counts,
        } => sim::simulate(&scenario, seed, &out, force, counts, progress).map(|()| 0),
        Command::Eval {
            seeds,
            scenario,
            json,
            config,
            held_out,
            long_aa,
            counts,
        } => sim::eval(
            &sim::EvalArgs {
                seeds,
                scenarios: scenario,
                json,
                configs: config,
                held_out,
                long_aa,
                counts,
            },
            progress,
        )
        .map(|()| 0),
        Command::Learn {
            config,
            history,
            source,
            out,
        } => (if source.prometheus && source.to.is_none() {
            Err(CliError::Usage(
                "learn --prometheus needs --to: a profile learns from a past range".into(),
            ))
        } else {
            source.window(false)
        })
        .and_then(|window| {
            let history = match (&window, &history) {
                (Some(w), _) => analyze::HistorySource::Prometheus(w),
                (None, Some(h)) => analyze::HistorySource::File(h),
                (None, None) => {
                    return Err(CliError::Usage(
                        "either --history or --prometheus is needed".into(),
                    ));
                }
            };
            analyze::learn(&config, history, &out, progress).map(|()| 0)
        }),
        Command::Analyze {
            config,
            history,
            profile,
            live,
            source,
            follow,
            json,
            report,
        } => source.window(follow).and_then(|window| {
            analyze::analyze(
                &analyze::AnalyzeArgs {
                    config: &config,
                    history: history.as_deref(),
                    profile: profile.as_deref(),
                    live: live.as_deref(),
                    prometheus: window.as_ref(),
                    json,
                    report: report.as_deref(),
                },
                progress,
            )
        }),
        Command::Score {
            input,
            detector,
            output,
        } => score::score(&input, detector.into(), output.as_deref(), progress).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            note(format_args!("coalmine: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}
