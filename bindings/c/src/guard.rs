//! The panic boundary, handles, and the checked conversions of C pointers.
//!
//! Every exported function's body is one call to [`guard`] (a test parses the source to
//! keep it so). Inside, arguments are checked before anything is done, handles are
//! reached through [`call_mut`], [`call_ref`] or [`get`], and outputs are written last,
//! so that a failed call leaves the caller's outputs untouched.

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{
    COALMINE_INVALID_UTF8, COALMINE_NULL_POINTER, COALMINE_OK, COALMINE_PANIC,
    COALMINE_PARSE_ERROR, COALMINE_POISONED, COALMINE_TOO_LARGE, Failure, coalmine_status,
    copy_message, finish, set_last_error,
};

/// What an exported function returns when its body panicked.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for coalmine_status {
    fn on_panic() -> Self {
        COALMINE_PANIC
    }
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}

impl OnPanic for usize {
    fn on_panic() -> Self {
        0
    }
}

impl OnPanic for u64 {
    fn on_panic() -> Self {
        0
    }
}

impl OnPanic for f64 {
    fn on_panic() -> Self {
        f64::NAN
    }
}

impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

/// Runs an exported function's body, turning a panic into `COALMINE_PANIC` (or NULL,
/// 0, NaN for functions without a status) with the panic's message as the thread's
/// last error. Unwinding into C is undefined behaviour; this is the only way out.
pub(crate) fn guard<R: OnPanic>(body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            set_last_error(&format!("panic inside coalmine: {message}"));
            // Dropping the payload runs foreign code that could panic again, outside
            // any boundary; leaking a few bytes on a path that is already a bug is the
            // safer choice.
            std::mem::forget(payload);
            R::on_panic()
        }
    }
}

/// The state behind every opaque handle: the wrapped value, the message of the last
/// failed mutating call, and whether a call panicked half-way.
#[derive(Debug)]
pub(crate) struct Handle<T> {
    inner: T,
    last_error: String,
    poisoned: bool,
}

impl<T> Handle<T> {
    pub(crate) fn new(inner: T) -> Self {
        Handle {
            inner,
            last_error: String::new(),
            poisoned: false,
        }
    }

    pub(crate) fn last_error(&self) -> &str {
        &self.last_error
    }

    fn poisoned_failure() -> Failure {
        Failure::new(
            COALMINE_POISONED,
            "an earlier call on this handle panicked; it cannot be used any more",
        )
    }
}

/// The opaque types of the header, each a [`Handle`] around its Rust state.
pub(crate) trait AsHandle {
    type Inner;
    const NAME: &'static str;
    fn handle(&self) -> &Handle<Self::Inner>;
    fn handle_mut(&mut self) -> &mut Handle<Self::Inner>;
    fn wrap(inner: Self::Inner) -> Self;
}

/// Declares that `$ty` (an opaque struct with one field `h: Handle<$inner>`) is a
/// handle named `$name` in messages.
macro_rules! as_handle {
    ($ty:ident, $inner:ty, $name:literal) => {
        impl $crate::guard::AsHandle for $ty {
            type Inner = $inner;
            const NAME: &'static str = $name;
            fn handle(&self) -> &$crate::guard::Handle<$inner> {
                &self.h
            }
            fn handle_mut(&mut self) -> &mut $crate::guard::Handle<$inner> {
                &mut self.h
            }
            fn wrap(inner: $inner) -> Self {
                $ty {
                    h: $crate::guard::Handle::new(inner),
                }
            }
        }
    };
}
pub(crate) use as_handle;

/// Runs a mutating call on the handle behind `ptr`. The handle counts as poisoned
/// while the call runs, so a panic leaves it poisoned for good; a failure is recorded
/// as the handle's and the thread's last error.
pub(crate) fn call_mut<H: AsHandle>(
    ptr: *mut H,
    body: impl FnOnce(&mut H::Inner) -> Result<(), Failure>,
) -> coalmine_status {
    // SAFETY: a non-null handle pointer came from `Box::into_raw` in `new_handle` and
    // has not been freed (the header's contract); no other call uses it concurrently.
    let Some(h) = (unsafe { ptr.as_mut() }) else {
        return finish(Err(Failure::null(H::NAME)));
    };
    let h = h.handle_mut();
    if h.poisoned {
        return finish(Err(Handle::<H::Inner>::poisoned_failure()));
    }
    h.poisoned = true;
    let result = body(&mut h.inner);
    h.poisoned = false;
    match result {
        Ok(()) => COALMINE_OK,
        Err(f) => {
            set_last_error(&f.message);
            h.last_error = f.message;
            f.status
        }
    }
}

/// Runs a non-mutating call on the handle behind `ptr`; a failure is recorded as the
/// thread's last error only (the handle is `const`).
pub(crate) fn call_ref<H: AsHandle>(
    ptr: *const H,
    body: impl FnOnce(&H::Inner) -> Result<(), Failure>,
) -> coalmine_status {
    finish(borrow(ptr).and_then(body))
}

pub(crate) fn borrow<'a, H: AsHandle + 'a>(ptr: *const H) -> Result<&'a H::Inner, Failure> {
    // SAFETY: as in `call_mut`; shared access only.
    let h = unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(H::NAME))?;
    let h = h.handle();
    if h.poisoned {
        return Err(Handle::<H::Inner>::poisoned_failure());
    }
    Ok(&h.inner)
}

/// An infallible getter: `fallback` for a NULL or poisoned handle.
pub(crate) fn get<H: AsHandle, R>(
    ptr: *const H,
    fallback: R,
    body: impl FnOnce(&H::Inner) -> R,
) -> R {
    borrow(ptr).map_or(fallback, body)
}

/// Copies the handle's last error, for the `coalmine_<type>_last_error` functions;
/// like every message reader it records nothing itself.
pub(crate) fn copy_last_error<H: AsHandle>(
    ptr: *const H,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    // SAFETY: as in `call_mut`; shared access only. A poisoned handle's message is
    // still readable: it is a plain string, untouched by the call that panicked.
    match unsafe { ptr.as_ref() } {
        None => COALMINE_NULL_POINTER,
        Some(h) => copy_message(h.handle().last_error(), buf, len, written),
    }
}

/// Creates a handle: checks `out` first, then builds, then writes `*out`.
pub(crate) fn new_handle<H: AsHandle>(
    out: *mut *mut H,
    build: impl FnOnce() -> Result<H::Inner, Failure>,
) -> coalmine_status {
    finish(make_handle(out, build))
}

/// [`new_handle`] inside a call that reports its own failure.
pub(crate) fn make_handle<H: AsHandle>(
    out: *mut *mut H,
    build: impl FnOnce() -> Result<H::Inner, Failure>,
) -> Result<(), Failure> {
    let out = out_ptr(out, "out")?;
    let inner = build()?;
    write(out, Box::into_raw(Box::new(H::wrap(inner))));
    Ok(())
}

/// Parses a JSON configuration; NULL with length 0 (or an empty text) gives the
/// defaults.
pub(crate) fn json_config<T: serde::de::DeserializeOwned + Default>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<T, Failure> {
    let json = text(ptr, len, what)?;
    if json.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(json)
        .map_err(|e| Failure::new(COALMINE_PARSE_ERROR, format!("{what} JSON: {e}")))
}

/// Releases a handle; NULL is ignored.
pub(crate) fn free_handle<H: AsHandle>(ptr: *mut H) {
    if !ptr.is_null() {
        // SAFETY: a non-null handle came from `Box::into_raw` in `new_handle` and is
        // freed once (the caller's contract).
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// A non-null output pointer.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(ptr)
    }
}

/// Writes `value` through an output pointer checked by [`out_ptr`].
pub(crate) fn write<T>(ptr: *mut T, value: T) {
    // SAFETY: every caller passes a pointer checked by `out_ptr`, which the caller of
    // the exported function promises is writable and properly aligned.
    unsafe { ptr.write(value) }
}

/// No array in memory can hold more than `isize::MAX` bytes; a larger length is a
/// caller's mistake that must not reach `from_raw_parts`.
fn check_len<T>(len: usize, what: &str) -> Result<(), Failure> {
    let limit = isize::MAX as usize / std::mem::size_of::<T>().max(1);
    if len > limit {
        return Err(Failure::new(
            COALMINE_TOO_LARGE,
            format!("`{what}` claims {len} elements, more than memory can hold"),
        ));
    }
    Ok(())
}

/// An input array; NULL is accepted only with length 0.
pub(crate) fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    check_len::<T>(len, what)?;
    // SAFETY: non-null, and the caller promises `len` readable, initialised elements
    // that stay unchanged for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// An output array the caller provides: written element by element through the raw
/// pointer, never read and never viewed as a Rust slice (C memory need not hold valid
/// `bool` or enum values before we write them).
#[derive(Debug)]
pub(crate) struct OutArray<T> {
    ptr: *mut T,
    len: usize,
}

impl<T> OutArray<T> {
    /// NULL is accepted only with length 0.
    pub(crate) fn new(ptr: *mut T, len: usize, what: &str) -> Result<Self, Failure> {
        if ptr.is_null() && len != 0 {
            return Err(Failure::null(what));
        }
        check_len::<T>(len, what)?;
        Ok(OutArray { ptr, len })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn set(&mut self, i: usize, value: T) {
        assert!(i < self.len, "output index {i} beyond length {}", self.len);
        // SAFETY: in bounds of the `len` writable elements the caller promised.
        unsafe { self.ptr.add(i).write(value) }
    }
}

/// A UTF-8 text given as bytes and a length (no NUL needed).
pub(crate) fn text<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a str, Failure> {
    let bytes = slice(ptr.cast::<u8>(), len, what)?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            COALMINE_INVALID_UTF8,
            format!("`{what}` is not valid UTF-8: {e}"),
        )
    })
}
