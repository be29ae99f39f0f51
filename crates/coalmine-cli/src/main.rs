//! `coalmine`: learn behavioural profiles, judge canaries, score series, simulate
//! rollouts and evaluate the judge — from a shell or a pipeline step.

mod analyze;
mod config;
mod input;
mod report;
mod score;
mod sim;
mod timestamp;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What went wrong, for the user.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: names the file and, when known, the line.
    Input {
        /// The file.
        file: String,
        /// The 1-based line, if known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Anything else that stops the command.
    Runtime(String),
}

impl CliError {
    fn io(path: &Path, e: std::io::Error) -> Self {
        CliError::Input {
            file: path.display().to_string(),
            line: None,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Input {
                file,
                line: Some(l),
                message,
            } => write!(f, "{file}:{l}: {message}"),
            CliError::Input {
                file,
                line: None,
                message,
            } => write!(f, "{file}: {message}"),
            CliError::Runtime(m) => f.write_str(m),
        }
    }
}

impl From<coalmine::Error> for CliError {
    fn from(e: coalmine::Error) -> Self {
        CliError::Runtime(e.to_string())
    }
}

/// Predictive canary analysis.
#[derive(Debug, Parser)]
#[command(name = "coalmine", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// History metrics CSV (`timestamp,cohort,segment,metric,value`, baseline only).
        #[arg(long)]
        history: PathBuf,
        /// Where to write the profile (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Judge a canary: replay live ticks and decide. Exit status: 0 promote, 3 ended
    /// paused, 4 rollback, 1 bad input, 2 usage error.
    Analyze {
        /// The TOML configuration.
        #[arg(long)]
        config: PathBuf,
        /// History metrics CSV to learn the profile from.
        #[arg(long, conflicts_with = "profile", required_unless_present = "profile")]
        history: Option<PathBuf>,
        /// A profile written by `coalmine learn`.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Live metrics CSV (baseline and canary rows).
        #[arg(long)]
        live: PathBuf,
        /// Print one JSON object per tick and a summary object instead of a timeline.
        #[arg(long)]
        json: bool,
        /// Write a self-contained HTML report here.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Score a `timestamp,value` series: writes `timestamp,value,anomaly_score`.
    Score {
        /// Input CSV (`timestamp,value`, the NAB format).
        #[arg(long)]
        input: PathBuf,
        /// Detector: auto, ewma or holt-winters.
        #[arg(long, default_value = "auto")]
        detector: String,
        /// Output CSV (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write a simulated rollout: config.toml, history.csv and live.csv.
    Simulate {
        /// Scenario name (e.g. error-spike, memory-leak, aa-identical; an unknown name
        /// lists them).
        #[arg(long)]
        scenario: String,
        /// Seed (the same seed gives the same files).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the evaluation harness over every scenario type and print the table.
    Eval {
        /// Seeds per scenario type.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// Print JSON instead of Markdown.
        #[arg(long)]
        json: bool,
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
                _ => ExitCode::from(2),
            };
        }
    };
    let result = match cli.command {
        Command::Demo { report } => sim::demo(&report).map(|()| 0),
        Command::Simulate {
            scenario,
            seed,
            out,
        } => sim::simulate(&scenario, seed, &out).map(|()| 0),
        Command::Eval { seeds, json } => sim::eval(seeds, json).map(|()| 0),
        Command::Learn {
            config,
            history,
            out,
        } => analyze::learn(&config, &history, &out).map(|()| 0),
        Command::Analyze {
            config,
            history,
            profile,
            live,
            json,
            report,
        } => analyze::analyze(
            &config,
            history.as_deref(),
            profile.as_deref(),
            &live,
            json,
            report.as_deref(),
        ),
        Command::Score {
            input,
            detector,
            output,
        } => score::score(&input, &detector, output.as_deref()).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("coalmine: {e}");
            ExitCode::from(1)
        }
    }
}
