//! Learning a behavioural profile, and saving and loading it.

use std::ffi::c_char;

use crate::core::{BehaviorProfile, Error, ProfileBuilder, ProfileConfig, Schema};
use crate::error::coalmine_status;
use crate::guard;
use crate::guard::{
    Handle, as_handle, borrow, call_mut, call_ref, copy_last_error, free_handle, get, json_config,
    make_handle, new_handle, slice,
};
use crate::{coalmine_bytes, coalmine_schema};

/// Learns a profile from the stable version's history, one tick at a time.
#[derive(Debug)]
pub struct coalmine_profile_builder {
    h: Handle<ProfileBuilder>,
}
as_handle!(coalmine_profile_builder, ProfileBuilder, "profile builder");

/// What "normal" looks like for every (segment, metric) and segment: fitted detectors,
/// robust location and scale, seasonal shape, the joint model.
#[derive(Debug)]
pub struct coalmine_profile {
    h: Handle<BehaviorProfile>,
}
as_handle!(coalmine_profile, BehaviorProfile, "profile");

/// Starts learning a profile over `schema` (which is copied: free it whenever you
/// like). `config_json` (`config_len` bytes) holds the profile settings as JSON, for
/// example `{"season_length": 24}` or `{"candidate_periods": [96, 672]}`; NULL with
/// length 0 takes the defaults.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_builder_new(
    schema: *const coalmine_schema,
    config_json: *const c_char,
    config_len: usize,
    out: *mut *mut coalmine_profile_builder,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            let schema: Schema = borrow(schema)?.clone();
            let config: ProfileConfig = json_config(config_json, config_len, "profile config")?;
            Ok(ProfileBuilder::new(schema, config)?)
        })
    })
}

/// Adds one tick of history: `values[segment * n_metrics + metric]`, `len` of them
/// (the schema's tick length), NaN for a missing value. A rejected tick (wrong length,
/// +-infinity, a value impossible for its metric's kind) is not added.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_builder_push_tick(
    builder: *mut coalmine_profile_builder,
    values: *const f64,
    len: usize,
) -> coalmine_status {
    guard(|| {
        call_mut(builder, |b| {
            let values = slice(values, len, "values")?;
            Ok(b.push_tick(values)?)
        })
    })
}

/// Adds one tick of history taken at `timestamp` (seconds, any epoch), its values as
/// for `coalmine_profile_builder_push_tick`. With timestamps the builder learns the
/// tick interval (`coalmine_profile_tick_interval`) and tries a day and a week at that
/// interval as seasons. Timestamps must be finite (`COALMINE_NON_FINITE`) and strictly
/// increasing (`COALMINE_TIMESTAMP`); a timestamped tick after ticks without one is
/// `COALMINE_INVALID_VALUE` (every tick has a timestamp, or none does). A rejected tick
/// is not added.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_builder_push_tick_at(
    builder: *mut coalmine_profile_builder,
    timestamp: f64,
    values: *const f64,
    len: usize,
) -> coalmine_status {
    guard(|| {
        call_mut(builder, |b| {
            let values = slice(values, len, "values")?;
            Ok(b.push_tick_at(timestamp, values)?)
        })
    })
}

/// History ticks added so far; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_builder_ticks(
    builder: *const coalmine_profile_builder,
) -> usize {
    guard(|| get(builder, 0, |b| b.ticks()))
}

/// Learns the profile from the history so far; `*out` receives it. The builder stays
/// usable (more history, another build). It takes a non-`const` builder only so that
/// a failure (for example too little history) is kept as the builder's last error.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_builder_build(
    builder: *mut coalmine_profile_builder,
    out: *mut *mut coalmine_profile,
) -> coalmine_status {
    guard(|| call_mut(builder, |b| make_handle(out, || Ok(b.build()?))))
}

/// Copies the message of the builder's last failed call (empty if none) into `buf`:
/// NUL-terminated, `*written` gets its length without the NUL, `buf` NULL and `len` 0
/// only measure. Never changes the message.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_builder_last_error(
    builder: *const coalmine_profile_builder,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| copy_last_error(builder, buf, len, written))
}

/// Releases a builder; NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_builder_free(builder: *mut coalmine_profile_builder) {
    guard(|| free_handle(builder))
}

/// Loads a profile saved by `coalmine_profile_to_bytes` (`len` bytes). Another format
/// version is `COALMINE_PROFILE_VERSION`; truncated, corrupt or inconsistent bytes
/// (including invalid UTF-8) are `COALMINE_CORRUPT_PROFILE`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut coalmine_profile,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            let bytes = slice(bytes, len, "bytes")?;
            let text = std::str::from_utf8(bytes).map_err(|e| Error::CorruptProfile {
                reason: format!("not UTF-8: {e}"),
            })?;
            Ok(BehaviorProfile::from_json(text)?)
        })
    })
}

/// Saves the profile (JSON with a format name and version); `*out` receives new bytes
/// to release with `coalmine_bytes_free`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_to_bytes(
    profile: *const coalmine_profile,
    out: *mut *mut coalmine_bytes,
) -> coalmine_status {
    guard(|| {
        call_ref(profile, |p| {
            make_handle(out, || Ok(p.to_json().into_bytes()))
        })
    })
}

/// The profile's schema, as a new schema handle in `*out` (for metric and segment
/// names and the tick layout).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_schema(
    profile: *const coalmine_profile,
    out: *mut *mut coalmine_schema,
) -> coalmine_status {
    guard(|| call_ref(profile, |p| make_handle(out, || Ok(p.schema()?))))
}

/// Seconds between the history's ticks, learnt from the timestamps of
/// `coalmine_profile_builder_push_tick_at`; NaN when the history had no timestamps (or
/// a single tick), and for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_tick_interval(profile: *const coalmine_profile) -> f64 {
    guard(|| get(profile, f64::NAN, |p| p.tick_interval().unwrap_or(f64::NAN)))
}

/// Releases a profile; NULL is ignored. Analyses made from it keep working.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_profile_free(profile: *mut coalmine_profile) {
    guard(|| free_handle(profile))
}
