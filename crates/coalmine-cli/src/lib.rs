//! The readers of the `coalmine` command, as a library: the metrics CSV
//! ([`input`]), the TOML configuration ([`config`]) and the input of `coalmine score`
//! ([`score_input`]), with the errors they report ([`error`]) and the timestamps they
//! accept ([`timestamp`]). The command is built on them; they are a library so that
//! they can be tested and fuzzed on their own. Nothing here is a stable API beyond
//! the command's file formats.

pub mod config;
pub mod error;
pub mod input;
pub mod score_input;
pub mod timestamp;

pub use error::CliError;
