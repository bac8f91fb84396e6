//! JSON Lines: one JSON object per row, each followed by `\n`.
//!
//! Rules:
//! - every column is a key, in schema order, present in every row (`null` when missing);
//! - integers and decimals are JSON numbers with every digit (`9223372036854775807`, `12.50`),
//!   floats the shortest form that parses back to the same value; JSON has no NaN or infinity,
//!   so those are `null`;
//! - strings are escaped per RFC 8259 (`"`, `\` and control characters); other characters,
//!   non-ASCII included, are written as UTF-8;
//! - booleans are `true`/`false`; dates and timestamps are ISO 8601 strings, as in CSV;
//! - other types are strings in Arrow's display format.
//!
//! Hand-written rather than serde per row: the keys are escaped once, and values go straight
//! from Arrow's buffers into the output.

use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, SchemaRef};

use super::Encoder;
use super::column::{Column, Values, check_schema, columns, prepare};
use super::error::EncodeError;
use super::text::{VecWriter, write_date, write_finite_float, write_json_str, write_timestamp};

/// Streams JSON objects.
pub(crate) struct JsonlEncoder {
    schema: SchemaRef,
    /// `{"a":`, `,"b":`, ...: each column's escaped key with the punctuation before it.
    keys: Vec<Vec<u8>>,
    finished: bool,
    /// Holds a fallback value's display text before it is escaped.
    scratch: Vec<u8>,
}

impl JsonlEncoder {
    pub(crate) fn new(schema: SchemaRef) -> Self {
        let keys = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut key = vec![if i == 0 { b'{' } else { b',' }];
                write_json_str(&mut key, f.name().as_bytes());
                key.push(b':');
                key
            })
            .collect();
        JsonlEncoder {
            schema,
            keys,
            finished: false,
            scratch: Vec::new(),
        }
    }
}

/// Appends row `row` of `col`; `scratch` holds a fallback value's display text.
#[inline]
fn write_value(
    col: &Column,
    row: usize,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Result<(), ArrowError> {
    if col.is_null(row) {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    match &col.values {
        Values::Utf8(a) => write_json_str(out, a.value(row).as_bytes()),
        Values::LargeUtf8(a) => write_json_str(out, a.value(row).as_bytes()),
        Values::Utf8View(a) => write_json_str(out, a.value(row).as_bytes()),
        Values::F32(v) => write_json_float(out, v[row]),
        Values::F64(v) => write_json_float(out, v[row]),
        Values::Date32(v) => {
            out.push(b'"');
            write_date(out, i64::from(v[row]));
            out.push(b'"');
        }
        Values::Timestamp { values, unit, utc } => {
            out.push(b'"');
            write_timestamp(out, values[row], *unit, *utc);
            out.push(b'"');
        }
        Values::Other(f) => {
            scratch.clear();
            f.value(row).write(&mut VecWriter(scratch))?;
            write_json_str(out, scratch);
        }
        exact => exact.write_exact(row, out),
    }
    Ok(())
}

#[inline]
fn write_json_float<F: ryu::Float + Into<f64> + Copy>(out: &mut Vec<u8>, v: F) {
    if v.into().is_finite() {
        write_finite_float(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

impl Encoder for JsonlEncoder {
    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        check_schema(&self.schema, batch)?;
        let arrays = prepare(batch)?;
        let cols = columns(&self.schema, &arrays)?;
        for row in 0..batch.num_rows() {
            if cols.is_empty() {
                out.push(b'{');
            }
            for (i, (col, key)) in cols.iter().zip(&self.keys).enumerate() {
                out.extend_from_slice(key);
                write_value(col, row, out, &mut self.scratch).map_err(|source| {
                    EncodeError::Format {
                        column: self.schema.field(i).name().clone(),
                        data_type: arrays[i].data_type().clone(),
                        source,
                    }
                })?;
            }
            out.extend_from_slice(b"}\n");
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        self.finished = true;
        Ok(())
    }
}
