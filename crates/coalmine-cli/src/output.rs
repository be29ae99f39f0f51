//! Where results go: standard output or a file, through one handle whose every error is
//! handled.
//!
//! - A closed pipe (`coalmine … | head -1`) is not an error: the handle notes that the
//!   reader has gone, drops whatever else is written, and the command ends quietly
//!   (see [`Out::closed`]).
//! - Any other write error (a full disk, `/dev/full`) is an error naming the output.
//! - A file is written beside its final name and renamed over it only once complete,
//!   so a failed run never leaves a truncated file nor destroys the previous one. A
//!   target that exists and is not a regular file (`/dev/stdout`, a FIFO) is written
//!   in place.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

use crate::CliError;

/// Bytes gathered before they are handed to the system.
const BUFFER: usize = 64 << 10;

enum Sink {
    Stdout(io::Stdout),
    File {
        file: File,
        /// The temporary file renamed to `path` by [`Out::finish`], if any.
        temporary: Option<PathBuf>,
        path: PathBuf,
    },
}

/// A buffered output. See the [module documentation](self).
pub struct Out {
    sink: Sink,
    name: String,
    buf: Vec<u8>,
    closed: bool,
    finished: bool,
    /// Hidden while bytes go out, when the bar and the output share a terminal.
    progress: Option<ProgressBar>,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Out").field("name", &self.name).finish()
    }
}

impl Out {
    /// Standard output.
    pub fn stdout() -> Out {
        Out::new(Sink::Stdout(io::stdout()), stdout_name())
    }

    /// A file at `path`, created or replaced when [`Out::finish`] succeeds.
    pub fn create(path: &Path) -> Result<Out, CliError> {
        let name = path.display().to_string();
        let fail = |e: io::Error| CliError::Output {
            target: name.clone(),
            message: e.to_string(),
        };
        let in_place = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
        // Through a symbolic link, the file it points to is replaced, not the link.
        let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let (file, temporary) = if in_place {
            let file = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .map_err(fail)?;
            (file, None)
        } else {
            let tmp = temporary_name(&target);
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(fail)?;
            (file, Some(tmp))
        };
        Ok(Out::new(
            Sink::File {
                file,
                temporary,
                path: target,
            },
            name,
        ))
    }

    fn new(sink: Sink, name: String) -> Out {
        Out {
            sink,
            name,
            buf: Vec::with_capacity(BUFFER),
            closed: false,
            finished: false,
            progress: None,
        }
    }

    /// Whether this is standard output and standard output is a terminal.
    pub fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        matches!(&self.sink, Sink::Stdout(s) if s.is_terminal())
    }

    /// Hides `bar` while writing, if the output goes to the same terminal.
    pub fn attach(&mut self, bar: Option<&ProgressBar>) {
        if self.is_terminal() {
            self.progress = bar.cloned();
        }
    }

    /// True once the reader of a pipe has gone: nothing more will be delivered.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// The error for a failed write.
    pub fn error(&self, e: io::Error) -> CliError {
        CliError::Output {
            target: self.name.clone(),
            message: e.to_string(),
        }
    }

    /// Writes formatted text (use with `format_args!`).
    pub fn print(&mut self, args: std::fmt::Arguments<'_>) -> Result<(), CliError> {
        self.write_fmt(args).map_err(|e| self.error(e))
    }

    /// Writes bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        self.write_all(bytes).map_err(|e| self.error(e))
    }

    fn drain(&mut self) -> io::Result<()> {
        if self.buf.is_empty() || self.closed {
            self.buf.clear();
            return Ok(());
        }
        let Out {
            sink,
            buf,
            progress,
            ..
        } = self;
        let mut write = || match sink {
            Sink::Stdout(s) => {
                let mut lock = s.lock();
                lock.write_all(buf)?;
                lock.flush()
            }
            Sink::File { file, .. } => file.write_all(buf),
        };
        let result = match progress {
            Some(bar) => bar.suspend(write),
            None => write(),
        };
        buf.clear();
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }

    /// Delivers everything written and, for a file, puts it in place.
    pub fn finish(mut self) -> Result<(), CliError> {
        self.drain().map_err(|e| self.error(e))?;
        if let Sink::File {
            file,
            temporary,
            path,
        } = &mut self.sink
        {
            file.flush().map_err(|e| CliError::Output {
                target: self.name.clone(),
                message: e.to_string(),
            })?;
            if let Some(tmp) = temporary.take() {
                if let Err(e) = std::fs::rename(&tmp, &*path) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(CliError::Output {
                        target: self.name.clone(),
                        message: e.to_string(),
                    });
                }
            }
        }
        self.finished = true;
        Ok(())
    }
}

impl Write for Out {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(data.len());
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BUFFER {
            self.drain()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        // An unfinished file is an abandoned one: its temporary copy goes.
        if let Sink::File {
            temporary: Some(tmp),
            ..
        } = &self.sink
        {
            if !self.finished {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

/// `.NAME.PID.tmp` beside `path`.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// "standard output", with what it is connected to when the system says.
fn stdout_name() -> String {
    match std::fs::read_link("/proc/self/fd/1") {
        Ok(target) if target.is_absolute() => {
            format!("standard output ({})", target.display())
        }
        _ => "standard output".to_string(),
    }
}

/// Writes a whole file through [`Out`].
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    let mut out = Out::create(path)?;
    out.bytes(contents)?;
    out.finish()
}

/// Whether `a` and `b` name the same existing file (the same path, or links to one).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Refuses to write `output` (given as `flag`) over any of `inputs` (flag, path).
pub fn refuse_overwrite(
    flag: &str,
    output: &Path,
    inputs: &[(&str, &Path)],
) -> Result<(), CliError> {
    for (input_flag, input) in inputs {
        if same_file(output, input) {
            return Err(CliError::Usage(format!(
                "{flag} {} is the same file as {input_flag} {}: refusing to overwrite an input",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// A message on standard error. Errors are ignored: a diagnostic that cannot be shown
/// must not turn into a failure (nor a panic, as `eprintln!` would).
pub fn note(args: std::fmt::Arguments<'_>) {
    let mut e = io::stderr().lock();
    let _ = e.write_fmt(args);
    let _ = e.write_all(b"\n");
}
