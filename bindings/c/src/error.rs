//! Status codes, error messages and the per-thread last error.

use std::cell::RefCell;
use std::ffi::c_char;

use crate::core::Error;
use crate::guard;

/// The result of every fallible call: `COALMINE_OK` (0), one of the core's stable
/// error codes (1 to 999, see the `COALMINE_*` constants), or a condition of the ABI
/// itself (1000 and up). New codes may appear in later versions; treat an unknown one
/// as a failure and ask `coalmine_status_message` for its name.
pub type coalmine_status = u32;

/// Success.
pub const COALMINE_OK: coalmine_status = 0;
/// A configuration parameter is outside its valid range.
pub const COALMINE_INVALID_PARAMETER: coalmine_status = 1;
/// A NaN or infinite value where a finite one is needed.
pub const COALMINE_NON_FINITE: coalmine_status = 2;
/// An array of the wrong length.
pub const COALMINE_LENGTH_MISMATCH: coalmine_status = 3;
/// Not enough history for what was asked.
pub const COALMINE_INSUFFICIENT_DATA: coalmine_status = 4;
/// A finite value beyond the supported magnitude (1e100).
pub const COALMINE_OUT_OF_RANGE: coalmine_status = 5;
/// A tick's timestamp is not after the previous tick's.
pub const COALMINE_TIMESTAMP: coalmine_status = 6;
/// A name given twice where names must be unique.
pub const COALMINE_DUPLICATE: coalmine_status = 7;
/// A name that refers to nothing.
pub const COALMINE_UNKNOWN_NAME: coalmine_status = 8;
/// A value impossible for its metric's kind (a negative count, a ratio above 1).
pub const COALMINE_INVALID_VALUE: coalmine_status = 9;
/// A profile written by another format version.
pub const COALMINE_PROFILE_VERSION: coalmine_status = 10;
/// A truncated, malformed or inconsistent profile.
pub const COALMINE_CORRUPT_PROFILE: coalmine_status = 11;
/// A checkpoint written by another format version.
pub const COALMINE_CHECKPOINT_VERSION: coalmine_status = 12;
/// A truncated, malformed or inconsistent checkpoint.
pub const COALMINE_CORRUPT_CHECKPOINT: coalmine_status = 13;
/// Two things that must share a schema do not.
pub const COALMINE_SCHEMA_MISMATCH: coalmine_status = 14;
/// A size beyond coalmine's limits.
pub const COALMINE_TOO_LARGE: coalmine_status = 15;
/// A broken internal invariant: a bug in coalmine, please report it.
pub const COALMINE_INTERNAL: coalmine_status = 16;
/// The core's code for a batch refused as a whole. The ABI never returns it: a
/// refused batch returns the code of why its element was refused, and the message
/// names the element's index.
pub const COALMINE_BATCH: coalmine_status = 17;
/// The rollout was promoted: the analysis takes no more ticks (nothing was applied).
pub const COALMINE_FINISHED: coalmine_status = 18;
/// A count behind a tick's value is negative, infinite or beyond 1e100 (NaN, an
/// unknown count, is accepted).
pub const COALMINE_INVALID_COUNT: coalmine_status = 19;
/// A required pointer argument is NULL.
pub const COALMINE_NULL_POINTER: coalmine_status = 1000;
/// A text argument is not valid UTF-8.
pub const COALMINE_INVALID_UTF8: coalmine_status = 1001;
/// The call panicked inside the library (a bug, please report it); nothing unwound
/// into the caller.
pub const COALMINE_PANIC: coalmine_status = 1002;
/// An output buffer is too small; nothing was written.
pub const COALMINE_BUFFER_TOO_SMALL: coalmine_status = 1003;
/// An index beyond the end of what it indexes.
pub const COALMINE_INDEX_OUT_OF_RANGE: coalmine_status = 1004;
/// A JSON or TOML text (a schema or a configuration) could not be parsed: bad syntax,
/// an unknown key, a value of the wrong type.
pub const COALMINE_PARSE_ERROR: coalmine_status = 1005;
/// The handle is unusable because an earlier call on it panicked; free it.
pub const COALMINE_POISONED: coalmine_status = 1006;

/// The short name of every status this build knows, in code order.
pub(crate) const STATUS_NAMES: &[(coalmine_status, &str)] = &[
    (COALMINE_OK, "ok"),
    (COALMINE_INVALID_PARAMETER, "invalid parameter"),
    (COALMINE_NON_FINITE, "non-finite value"),
    (COALMINE_LENGTH_MISMATCH, "length mismatch"),
    (COALMINE_INSUFFICIENT_DATA, "insufficient data"),
    (COALMINE_OUT_OF_RANGE, "value out of range"),
    (
        COALMINE_TIMESTAMP,
        "timestamp not after the previous tick's",
    ),
    (COALMINE_DUPLICATE, "duplicate name"),
    (COALMINE_UNKNOWN_NAME, "unknown name"),
    (
        COALMINE_INVALID_VALUE,
        "invalid value for the metric's kind",
    ),
    (COALMINE_PROFILE_VERSION, "unsupported profile version"),
    (COALMINE_CORRUPT_PROFILE, "corrupt profile"),
    (
        COALMINE_CHECKPOINT_VERSION,
        "unsupported checkpoint version",
    ),
    (COALMINE_CORRUPT_CHECKPOINT, "corrupt checkpoint"),
    (COALMINE_SCHEMA_MISMATCH, "schema mismatch"),
    (COALMINE_TOO_LARGE, "size too large"),
    (COALMINE_INTERNAL, "internal error (a bug in coalmine)"),
    (COALMINE_BATCH, "batch refused"),
    (COALMINE_FINISHED, "rollout finished: no more ticks"),
    (COALMINE_INVALID_COUNT, "invalid count"),
    (COALMINE_NULL_POINTER, "null pointer"),
    (COALMINE_INVALID_UTF8, "invalid UTF-8"),
    (COALMINE_PANIC, "panic inside coalmine (a bug in coalmine)"),
    (COALMINE_BUFFER_TOO_SMALL, "buffer too small"),
    (COALMINE_INDEX_OUT_OF_RANGE, "index out of range"),
    (COALMINE_PARSE_ERROR, "parse error"),
    (COALMINE_POISONED, "handle poisoned by an earlier panic"),
];

/// The name of a status, or a generic one for codes newer than this build.
pub(crate) fn status_name(status: coalmine_status) -> &'static str {
    STATUS_NAMES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("unknown status", |(_, name)| name)
}

/// A failed call: the status it returns and the message it leaves behind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub status: coalmine_status,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(status: coalmine_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(what: &str) -> Self {
        Failure::new(COALMINE_NULL_POINTER, format!("`{what}` is NULL"))
    }

    /// Prefixes the message with where it happened (an index in a batch).
    pub(crate) fn context(mut self, context: impl std::fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl From<Error> for Failure {
    /// A refused batch reports the code of why its element was refused (a caller
    /// asks "what was wrong", not "was it a batch"); the message names the index.
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Batch { error, .. } => error.code(),
            other => other.code(),
        };
        Failure::new(status, e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records `message` as this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    // `try_with` fails only while the thread is being torn down; there is nobody left
    // to read the message then.
    let _ = LAST_ERROR.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            m.clear();
            m.push_str(message);
        }
    });
}

/// Turns a result into a status, recording the failure's message for the thread.
pub(crate) fn finish(result: Result<(), Failure>) -> coalmine_status {
    match result {
        Ok(()) => COALMINE_OK,
        Err(f) => {
            set_last_error(&f.message);
            f.status
        }
    }
}

/// Copies `text` and a terminating NUL into `buf` of `len` bytes.
///
/// `*written` receives the text's length in bytes, without the NUL. With `buf` NULL and
/// `len` 0 the call only measures: it writes `*written` and nothing else. A buffer
/// shorter than the text plus its NUL gets `COALMINE_BUFFER_TOO_SMALL` and is left
/// untouched.
pub(crate) fn copy_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> Result<(), Failure> {
    if written.is_null() {
        return Err(Failure::null("written"));
    }
    if buf.is_null() {
        if len != 0 {
            return Err(Failure::null("buf"));
        }
    } else {
        if len <= text.len() {
            return Err(Failure::new(
                COALMINE_BUFFER_TOO_SMALL,
                format!(
                    "the text needs {} bytes with its NUL, the buffer has {len}",
                    text.len() + 1
                ),
            ));
        }
        // SAFETY: `buf` is non-null and the caller promises `len` writable bytes, of
        // which we use `text.len() + 1 <= len`; a Rust string cannot overlap them.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
            *buf.add(text.len()) = 0;
        }
    }
    // SAFETY: checked non-null above; the caller promises it is writable.
    unsafe { *written = text.len() };
    Ok(())
}

/// Copies the short name of `status` (for example `"timestamp not after the previous
/// tick's"`) into `buf`, NUL-terminated; `*written` receives its length without the
/// NUL. Pass `buf` NULL and `len` 0 to only measure. Unknown codes get `"unknown
/// status"`. Returns `COALMINE_BUFFER_TOO_SMALL` (nothing written) when `len` is not
/// more than the length. Never changes the last error.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_status_message(
    status: coalmine_status,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| copy_message(status_name(status), buf, len, written))
}

/// Copies the detailed message of the most recent failed call made on this thread
/// (any function) into `buf`, as `coalmine_status_message` does; an empty text when
/// no call has failed yet. Successful calls leave it alone. Prefer the handle's own
/// `coalmine_<type>_last_error` where there is one: it does not depend on which thread
/// made the call, which matters to runtimes that move work between threads (Go).
/// Reading it never changes it, even when the buffer is too small.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_last_error(
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| {
        let text = LAST_ERROR
            .try_with(|m| m.try_borrow().map(|m| m.clone()).unwrap_or_default())
            .unwrap_or_default();
        copy_message(&text, buf, len, written)
    })
}

/// [`copy_text`] for the functions that report errors: a failure to copy must not
/// replace the message being read, so it is returned without being recorded.
pub(crate) fn copy_message(
    text: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    match copy_text(text, buf, len, written) {
        Ok(()) => COALMINE_OK,
        Err(f) => f.status,
    }
}
