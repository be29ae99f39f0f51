//! Bytes the library hands out (saved profiles, checkpoints).

use crate::guard;
use crate::guard::{Handle, as_handle, free_handle, get};

/// An immutable byte buffer owned by the library: read it with `coalmine_bytes_data`
/// and `coalmine_bytes_len`, release it with `coalmine_bytes_free`.
#[derive(Debug)]
pub struct coalmine_bytes {
    h: Handle<Vec<u8>>,
}
as_handle!(coalmine_bytes, Vec<u8>, "bytes");

/// The bytes (not NUL-terminated), valid until `coalmine_bytes_free`; read
/// `coalmine_bytes_len` of them. NULL for a NULL handle.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_bytes_data(bytes: *const coalmine_bytes) -> *const u8 {
    guard(|| get(bytes, std::ptr::null(), |b| b.as_ptr()))
}

/// The number of bytes; 0 for a NULL handle.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_bytes_len(bytes: *const coalmine_bytes) -> usize {
    guard(|| get(bytes, 0, |b| b.len()))
}

/// Releases the bytes; NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_bytes_free(bytes: *mut coalmine_bytes) {
    guard(|| free_handle(bytes))
}
