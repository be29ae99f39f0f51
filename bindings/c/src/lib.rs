//! # coalmine's C ABI
//!
//! The library `libcoalmine` (static and shared) and its header `include/coalmine.h`,
//! generated from this crate by cbindgen. The conventions are those of rustls-ffi:
//!
//! - **Opaque handles** (`coalmine_schema`, `coalmine_profile_builder`,
//!   `coalmine_profile`, `coalmine_analysis`, `coalmine_ewma`, `coalmine_holt_winters`,
//!   `coalmine_bytes`), each created by a `coalmine_<type>_new` (or a parsing or
//!   building function) and released by exactly one `coalmine_<type>_free`, which
//!   accepts NULL.
//! - **Status codes**: every fallible function returns a `coalmine_status`: 0 is
//!   `COALMINE_OK`, 1 to 999 are the core's stable `Error::code()` numbers, 1000 and up
//!   are conditions of the ABI itself (a NULL pointer, invalid UTF-8, a caught panic,
//!   a buffer too small...). `coalmine_status_message` names a status; the detailed
//!   message of a failed call is kept per handle (`coalmine_<type>_last_error`, for
//!   the handles that calls mutate) and per thread (`coalmine_last_error`).
//! - **Outputs** go through pointers the caller provides and are written only when the
//!   call returns `COALMINE_OK`; every buffer is a pointer and a length.
//! - **No panic unwinds into C**: every exported function runs inside `guard`, and
//!   a test parses this crate's source to check that none is missing. A handle whose
//!   call panicked is poisoned and refuses further calls.
//! - **Thread safety**: a handle may be used from any thread, but not from two at once
//!   when either call takes a non-`const` pointer.
#![allow(non_camel_case_types)]
// Exported functions take raw pointers from C and check them; marking them `unsafe`
// would change nothing for C callers, whose contract is written in the header.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod analysis;
mod bytes;
mod core;
mod detectors;
mod error;
mod guard;
mod profile;
mod schema;
mod types;

pub use analysis::*;
pub use bytes::*;
pub use detectors::*;
pub use error::*;
pub use profile::*;
pub use schema::*;
pub use types::*;

use std::ffi::c_char;

pub(crate) use guard::guard;

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version, `"MAJOR.MINOR.PATCH"`, as a NUL-terminated static string
/// (never freed). NULL only if the call panicked.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_version() -> *const c_char {
    guard(|| VERSION.as_ptr().cast())
}

#[cfg(test)]
mod boundary_test;
#[cfg(test)]
mod tests;
