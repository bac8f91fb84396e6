//! One batch's columns, downcast once to their concrete types so the per-cell loops of the text
//! encoders do a single `match` and a slice index instead of a dynamic downcast per value.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal32Type, Decimal64Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, GenericStringArray, RecordBatch, StringViewArray,
};
use arrow_buffer::NullBuffer;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, SchemaRef, TimeUnit};

use super::error::EncodeError;
use super::text::{write_decimal, write_i64, write_u64};

/// A column's values, by the representation the encoders write natively.
pub(crate) enum Values<'a> {
    Utf8(&'a GenericStringArray<i32>),
    LargeUtf8(&'a GenericStringArray<i64>),
    Utf8View(&'a StringViewArray),
    Bool(&'a BooleanArray),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    D32(&'a [i32], i8),
    D64(&'a [i64], i8),
    D128(&'a [i128], i8),
    Date32(&'a [i32]),
    Timestamp {
        values: &'a [i64],
        unit: TimeUnit,
        utc: bool,
    },
    /// Every other type, through arrow-cast's display (exact for all of them, but slower and
    /// able to produce any byte, so its output is always checked for quoting).
    Other(ArrayFormatter<'a>),
}

impl Values<'_> {
    /// Writes a boolean, integer or decimal cell, which every text format spells the same way
    /// (`true`, `-42`, `12.50`). Callers handle the other types first.
    #[inline(always)]
    pub(crate) fn write_exact(&self, row: usize, out: &mut Vec<u8>) {
        match self {
            Values::Bool(a) => out.extend_from_slice(if a.value(row) { b"true" } else { b"false" }),
            Values::I8(v) => write_i64(out, i64::from(v[row])),
            Values::I16(v) => write_i64(out, i64::from(v[row])),
            Values::I32(v) => write_i64(out, i64::from(v[row])),
            Values::I64(v) => write_i64(out, v[row]),
            Values::U8(v) => write_u64(out, u64::from(v[row])),
            Values::U16(v) => write_u64(out, u64::from(v[row])),
            Values::U32(v) => write_u64(out, u64::from(v[row])),
            Values::U64(v) => write_u64(out, v[row]),
            Values::D32(v, s) => write_decimal(out, i128::from(v[row]), *s),
            Values::D64(v, s) => write_decimal(out, i128::from(v[row]), *s),
            Values::D128(v, s) => write_decimal(out, v[row], *s),
            Values::Utf8(_)
            | Values::LargeUtf8(_)
            | Values::Utf8View(_)
            | Values::F32(_)
            | Values::F64(_)
            | Values::Date32(_)
            | Values::Timestamp { .. }
            | Values::Other(_) => unreachable!("format-specific types are written by the encoder"),
        }
    }
}

/// One column of one batch.
pub(crate) struct Column<'a> {
    nulls: Option<NullBuffer>,
    pub(crate) values: Values<'a>,
}

impl Column<'_> {
    /// Whether row `i` is missing.
    #[inline(always)]
    pub(crate) fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
}

/// Checks that `batch` has the schema's column types, so a caller mixing datasets gets an error
/// instead of a file whose rows disagree with its header.
pub(crate) fn check_schema(schema: &SchemaRef, batch: &RecordBatch) -> Result<(), EncodeError> {
    if std::sync::Arc::ptr_eq(schema, batch.schema_ref()) {
        return Ok(());
    }
    let expected = schema.fields();
    let found = batch.schema_ref().fields();
    if expected.len() != found.len() {
        return Err(EncodeError::ColumnCount {
            expected: expected.len(),
            found: found.len(),
        });
    }
    for (e, f) in expected.iter().zip(found.iter()) {
        if e.data_type() != f.data_type() {
            return Err(EncodeError::ColumnType {
                column: e.name().clone(),
                expected: e.data_type().clone(),
                found: f.data_type().clone(),
            });
        }
    }
    Ok(())
}

/// The arrays to encode: dictionary-encoded columns (common in Parquet files) are expanded to
/// their value type first, so that they reach the fast paths. Costs one copy per such column.
pub(crate) fn prepare(batch: &RecordBatch) -> Result<Vec<ArrayRef>, EncodeError> {
    batch
        .columns()
        .iter()
        .zip(batch.schema_ref().fields())
        .map(|(array, field)| match array.data_type() {
            DataType::Dictionary(_, value_type) => {
                arrow_cast::cast(array, value_type).map_err(|source| EncodeError::Format {
                    column: field.name().clone(),
                    data_type: array.data_type().clone(),
                    source,
                })
            }
            _ => Ok(array.clone()),
        })
        .collect()
}

/// Arrow-cast options for the fallback: errors are reported, never written into the data.
static FALLBACK_OPTIONS: FormatOptions<'static> = FormatOptions::new().with_display_error(false);

/// Views `arrays` (from [`prepare`]) as typed columns.
pub(crate) fn columns<'a>(
    schema: &SchemaRef,
    arrays: &'a [ArrayRef],
) -> Result<Vec<Column<'a>>, EncodeError> {
    arrays
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| {
            let a = array.as_ref();
            let values = match a.data_type() {
                DataType::Utf8 => Values::Utf8(a.as_string::<i32>()),
                DataType::LargeUtf8 => Values::LargeUtf8(a.as_string::<i64>()),
                DataType::Utf8View => Values::Utf8View(a.as_string_view()),
                DataType::Boolean => Values::Bool(a.as_boolean()),
                DataType::Int8 => Values::I8(a.as_primitive::<Int8Type>().values()),
                DataType::Int16 => Values::I16(a.as_primitive::<Int16Type>().values()),
                DataType::Int32 => Values::I32(a.as_primitive::<Int32Type>().values()),
                DataType::Int64 => Values::I64(a.as_primitive::<Int64Type>().values()),
                DataType::UInt8 => Values::U8(a.as_primitive::<UInt8Type>().values()),
                DataType::UInt16 => Values::U16(a.as_primitive::<UInt16Type>().values()),
                DataType::UInt32 => Values::U32(a.as_primitive::<UInt32Type>().values()),
                DataType::UInt64 => Values::U64(a.as_primitive::<UInt64Type>().values()),
                DataType::Float32 => Values::F32(a.as_primitive::<Float32Type>().values()),
                DataType::Float64 => Values::F64(a.as_primitive::<Float64Type>().values()),
                DataType::Decimal32(_, s) => {
                    Values::D32(a.as_primitive::<Decimal32Type>().values(), *s)
                }
                DataType::Decimal64(_, s) => {
                    Values::D64(a.as_primitive::<Decimal64Type>().values(), *s)
                }
                DataType::Decimal128(_, s) => {
                    Values::D128(a.as_primitive::<Decimal128Type>().values(), *s)
                }
                DataType::Date32 => {
                    Values::Date32(a.as_primitive::<arrow_array::types::Date32Type>().values())
                }
                DataType::Timestamp(unit, zone) => {
                    use arrow_array::types::{
                        TimestampMicrosecondType, TimestampMillisecondType,
                        TimestampNanosecondType, TimestampSecondType,
                    };
                    let values: &[i64] = match unit {
                        TimeUnit::Second => a.as_primitive::<TimestampSecondType>().values(),
                        TimeUnit::Millisecond => {
                            a.as_primitive::<TimestampMillisecondType>().values()
                        }
                        TimeUnit::Microsecond => {
                            a.as_primitive::<TimestampMicrosecondType>().values()
                        }
                        TimeUnit::Nanosecond => {
                            a.as_primitive::<TimestampNanosecondType>().values()
                        }
                    };
                    Values::Timestamp {
                        values,
                        unit: *unit,
                        utc: zone.is_some(),
                    }
                }
                other => Values::Other(ArrayFormatter::try_new(a, &FALLBACK_OPTIONS).map_err(
                    |source| EncodeError::Format {
                        column: field.name().clone(),
                        data_type: other.clone(),
                        source,
                    },
                )?),
            };
            Ok(Column {
                nulls: a.logical_nulls(),
                values,
            })
        })
        .collect()
}
