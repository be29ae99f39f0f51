//! What saved documents share: a format name and version checked before anything else
//! is parsed, a size limit, and errors that say which document is at fault.
//!
//! Profiles (`coalmine-profile`) and analysis checkpoints (`coalmine-analysis`) are
//! JSON objects whose `format` and `version` fields come first in meaning if not in
//! order: [`check_header_versions`] reads only those two, so a document of another version is
//! refused by number ([`Error::ProfileVersion`], [`Error::CheckpointVersion`]) rather
//! than half-parsed into a confusing message.

use std::ops::RangeInclusive;

use serde::Deserialize;

use crate::Error;

/// The largest saved document (profile or checkpoint) accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 512 << 20;

/// The fields every saved document starts with, read before the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u64>,
}

/// The kinds of saved document, so that errors say which one is at fault.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Document {
    Profile,
    Checkpoint,
}

impl Document {
    pub(crate) fn corrupt(self, reason: String) -> Error {
        match self {
            Document::Profile => Error::CorruptProfile { reason },
            Document::Checkpoint => Error::CorruptCheckpoint { reason },
        }
    }

    fn version(self, found: u64, supported: u64) -> Error {
        match self {
            Document::Profile => Error::ProfileVersion { found, supported },
            Document::Checkpoint => Error::CheckpointVersion { found, supported },
        }
    }
}

/// Checks a serialised document's size and its `format` and `version` fields before
/// the whole of it is parsed (shared by profiles and analysis checkpoints); `versions`
/// are the versions still read, the last one the version written, and the one named
/// when another is refused.
pub(crate) fn check_header_versions(
    text: &str,
    document: Document,
    format: &str,
    versions: RangeInclusive<u64>,
    what: &'static str,
) -> Result<(), Error> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge {
            what,
            got: text.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let header: Header = serde_json::from_str(text)
        .map_err(|e| document.corrupt(format!("not a {format} document: {e}")))?;
    if header.format.as_deref() != Some(format) {
        return Err(document.corrupt(format!(
            "format is {:?}, expected {format:?}",
            header.format
        )));
    }
    match header.version {
        Some(v) if versions.contains(&v) => Ok(()),
        Some(found) => Err(document.version(found, *versions.end())),
        None => Err(document.corrupt("no format version".into())),
    }
}
