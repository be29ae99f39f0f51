//! Progress bars on standard error: only when it is a terminal, never with `--quiet`,
//! so logs and pipelines see nothing of them.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether bars are drawn at all.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
    quiet: bool,
}

impl Progress {
    /// Bars when standard error is a terminal and `quiet` is off.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            quiet,
        }
    }

    /// Whether informational messages (not errors) may be printed.
    pub fn chatty(&self) -> bool {
        !self.quiet
    }

    /// A bar over `total` bytes of the file `what`.
    pub fn bytes(&self, total: u64, what: &str) -> Option<ProgressBar> {
        self.bar(
            total,
            &format!("{{spinner}} {what} [{{bar:30}}] {{bytes}}/{{total_bytes}} ({{eta}})"),
        )
    }

    /// A bar over `total` items called `unit`.
    pub fn count(&self, total: u64, unit: &str) -> Option<ProgressBar> {
        self.bar(
            total,
            &format!("{{spinner}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{eta}})"),
        )
    }

    fn bar(&self, total: u64, template: &str) -> Option<ProgressBar> {
        if !self.enabled {
            return None;
        }
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        Some(
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style),
        )
    }
}
