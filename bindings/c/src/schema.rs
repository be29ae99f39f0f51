//! Schemas: what is measured, parsed from a JSON or TOML spec.

use std::ffi::c_char;

use crate::core::{Schema, SchemaSpec};
use crate::error::{
    COALMINE_INDEX_OUT_OF_RANGE, COALMINE_PARSE_ERROR, Failure, coalmine_status, copy_text,
};
use crate::guard;
use crate::guard::{
    Handle, as_handle, call_ref, free_handle, get, new_handle, out_ptr, text, write,
};

/// A validated schema: metrics, segments and features, addressed by dense indices.
/// A tick's values are laid out `values[segment * n_metrics + metric]`.
#[derive(Debug)]
pub struct coalmine_schema {
    h: Handle<Schema>,
}
as_handle!(coalmine_schema, Schema, "schema");

fn parse_spec(
    spec: *const c_char,
    len: usize,
    parse: impl FnOnce(&str) -> Result<SchemaSpec, String>,
) -> Result<Schema, Failure> {
    let spec = text(spec, len, "spec")?;
    let spec = parse(spec).map_err(|e| Failure::new(COALMINE_PARSE_ERROR, e))?;
    Ok(Schema::new(spec)?)
}

/// Parses and validates a schema from JSON text of `len` bytes (UTF-8, no NUL needed):
/// `{"metrics": [{"name": ..., "direction": ..., "kind": ..., "weight": ...,
/// "feature": ..., "critical": ..., "limit": ...}], "segments": [{"name": ...,
/// "weight": ...}], "features": [...]}`. On success `*out` receives a new schema.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_from_json(
    spec: *const c_char,
    len: usize,
    out: *mut *mut coalmine_schema,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            parse_spec(spec, len, |s| {
                serde_json::from_str(s).map_err(|e| format!("schema JSON: {e}"))
            })
        })
    })
}

/// Parses and validates a schema from TOML text (`[[metrics]]`, `[[segments]]`,
/// `[[features]]` tables, the same keys as the JSON form).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_from_toml(
    spec: *const c_char,
    len: usize,
    out: *mut *mut coalmine_schema,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            parse_spec(spec, len, |s| {
                toml::from_str(s).map_err(|e| format!("schema TOML: {e}"))
            })
        })
    })
}

/// Releases a schema; NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_free(schema: *mut coalmine_schema) {
    guard(|| free_handle(schema))
}

/// Number of metrics; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_n_metrics(schema: *const coalmine_schema) -> usize {
    guard(|| get(schema, 0, |s| s.n_metrics()))
}

/// Number of segments; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_n_segments(schema: *const coalmine_schema) -> usize {
    guard(|| get(schema, 0, |s| s.n_segments()))
}

/// Values per tick and cohort (`n_segments * n_metrics`); 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_tick_len(schema: *const coalmine_schema) -> usize {
    guard(|| get(schema, 0, |s| s.tick_len()))
}

/// Copies the name of metric `index` into `buf` (NUL-terminated; `*written` gets its
/// length without the NUL; `buf` NULL and `len` 0 only measure).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_metric_name(
    schema: *const coalmine_schema,
    index: usize,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_ref(schema, |s| {
            let m = s
                .spec()
                .metrics
                .get(index)
                .ok_or_else(|| out_of_range("metric", index, s.n_metrics()))?;
            copy_text(&m.name, buf, len, written)
        })
    })
}

/// Copies the name of segment `index` into `buf`, as `coalmine_schema_metric_name`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_segment_name(
    schema: *const coalmine_schema,
    index: usize,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_ref(schema, |s| {
            let seg = s
                .spec()
                .segments
                .get(index)
                .ok_or_else(|| out_of_range("segment", index, s.n_segments()))?;
            copy_text(&seg.name, buf, len, written)
        })
    })
}

/// The index of the metric called `name` (`name_len` bytes of UTF-8): `*out` on
/// success, `COALMINE_UNKNOWN_NAME` when there is none.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_metric_index(
    schema: *const coalmine_schema,
    name: *const c_char,
    name_len: usize,
    out: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_ref(schema, |s| {
            let out = out_ptr(out, "out")?;
            let i = s.metric_index(text(name, name_len, "name")?)?;
            write(out, i);
            Ok(())
        })
    })
}

/// The index of the segment called `name`, as `coalmine_schema_metric_index`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_schema_segment_index(
    schema: *const coalmine_schema,
    name: *const c_char,
    name_len: usize,
    out: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_ref(schema, |s| {
            let out = out_ptr(out, "out")?;
            let i = s.segment_index(text(name, name_len, "name")?)?;
            write(out, i);
            Ok(())
        })
    })
}

pub(crate) fn out_of_range(what: &str, index: usize, len: usize) -> Failure {
    Failure::new(
        COALMINE_INDEX_OUT_OF_RANGE,
        format!("{what} index {index} is out of range (there are {len})"),
    )
}
