//! Turning rows of [`Cell`]s into Arrow record batches of an inferred schema.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder, TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, SchemaRef, TimeUnit};

use super::values::{
    Cell, parse_bool, parse_date, parse_decimal, parse_f64, parse_i64, parse_temporal,
};

/// Rows per record batch: large enough that per-batch overhead vanishes, small enough that a
/// batch of wide rows stays a few megabytes.
pub(crate) const BATCH_ROWS: usize = 8192;

/// A batch is also cut once its values reach this many bytes, so a file of very long fields
/// still converts in bounded memory.
pub(crate) const BATCH_BYTES: usize = 16 * 1024 * 1024;

enum Column {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Decimal(Decimal128Builder, u32),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Date32(Date32Builder),
    TimestampMicros(TimestampMicrosecondBuilder, bool),
    TimestampNanos(TimestampNanosecondBuilder, bool),
}

/// A value that does not fit the type inferred for its column: the file changed between the
/// inference pass and the conversion pass.
#[derive(Debug)]
pub(crate) struct Mismatch {
    /// The column's position.
    pub(crate) column: usize,
    /// The value, shortened.
    pub(crate) value: String,
}

/// Accumulates rows and hands them out as record batches.
pub(crate) struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<Column>,
    rows: usize,
    bytes: usize,
}

impl BatchBuilder {
    /// A builder for a schema made by [`super::infer`].
    pub(crate) fn new(schema: SchemaRef) -> Result<Self, ArrowError> {
        let cap = BATCH_ROWS;
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                Ok(match f.data_type() {
                    DataType::Utf8 => Column::Utf8(StringBuilder::with_capacity(cap, cap * 16)),
                    DataType::Int64 => Column::Int64(Int64Builder::with_capacity(cap)),
                    DataType::Decimal128(p, s) => Column::Decimal(
                        Decimal128Builder::with_capacity(cap).with_precision_and_scale(*p, *s)?,
                        u32::try_from(*s).map_err(|_| {
                            ArrowError::SchemaError(format!("negative decimal scale {s}"))
                        })?,
                    ),
                    DataType::Float64 => Column::Float64(Float64Builder::with_capacity(cap)),
                    DataType::Boolean => Column::Boolean(BooleanBuilder::with_capacity(cap)),
                    DataType::Date32 => Column::Date32(Date32Builder::with_capacity(cap)),
                    DataType::Timestamp(TimeUnit::Microsecond, tz) => Column::TimestampMicros(
                        TimestampMicrosecondBuilder::with_capacity(cap)
                            .with_timezone_opt(tz.clone()),
                        tz.is_some(),
                    ),
                    DataType::Timestamp(TimeUnit::Nanosecond, tz) => Column::TimestampNanos(
                        TimestampNanosecondBuilder::with_capacity(cap)
                            .with_timezone_opt(tz.clone()),
                        tz.is_some(),
                    ),
                    other => {
                        return Err(ArrowError::SchemaError(format!(
                            "cannot build a column of type {other}"
                        )));
                    }
                })
            })
            .collect::<Result<_, ArrowError>>()?;
        Ok(BatchBuilder {
            schema,
            columns,
            rows: 0,
            bytes: 0,
        })
    }

    /// Appends one value to column `i` of the current row.
    pub(crate) fn append(&mut self, i: usize, cell: &Cell<'_>) -> Result<(), Mismatch> {
        let mismatch = || Mismatch {
            column: i,
            value: cell
                .as_text()
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect(),
        };
        if *cell == Cell::Null {
            self.bytes += 1;
            match &mut self.columns[i] {
                Column::Utf8(b) => b.append_null(),
                Column::Int64(b) => b.append_null(),
                Column::Decimal(b, _) => b.append_null(),
                Column::Float64(b) => b.append_null(),
                Column::Boolean(b) => b.append_null(),
                Column::Date32(b) => b.append_null(),
                Column::TimestampMicros(b, _) => b.append_null(),
                Column::TimestampNanos(b, _) => b.append_null(),
            }
            return Ok(());
        }
        let text = cell.as_text().unwrap_or_default();
        let numeric = matches!(
            self.columns[i],
            Column::Int64(_) | Column::Decimal(..) | Column::Float64(_) | Column::Boolean(_)
        );
        if numeric && matches!(cell, Cell::JsonString(_)) {
            // Inference never makes a JSON string a number or a boolean; if one shows up here,
            // the file changed between the passes.
            return Err(mismatch());
        }
        match &mut self.columns[i] {
            Column::Utf8(b) => {
                self.bytes += text.len() + 4;
                b.append_value(text);
                return Ok(());
            }
            Column::Int64(b) => b.append_value(parse_i64(text).ok_or_else(mismatch)?),
            Column::Decimal(b, scale) => {
                b.append_value(parse_decimal(text, *scale).ok_or_else(mismatch)?)
            }
            Column::Float64(b) => b.append_value(parse_f64(text).ok_or_else(mismatch)?),
            Column::Boolean(b) => {
                let v = match cell {
                    Cell::JsonBool(v) => Some(*v),
                    Cell::Text(s) => parse_bool(s),
                    _ => None,
                };
                b.append_value(v.ok_or_else(mismatch)?)
            }
            Column::Date32(b) => b.append_value(parse_date(text).ok_or_else(mismatch)?),
            Column::TimestampMicros(b, zoned) => {
                let t = parse_temporal(text.as_bytes())
                    .filter(|t| {
                        t.time.is_some() && t.offset_secs.is_some() == *zoned && t.frac_digits <= 6
                    })
                    .ok_or_else(mismatch)?;
                b.append_value(t.to_micros())
            }
            Column::TimestampNanos(b, zoned) => {
                let t = parse_temporal(text.as_bytes())
                    .filter(|t| t.time.is_some() && t.offset_secs.is_some() == *zoned)
                    .and_then(|t| t.to_nanos())
                    .ok_or_else(mismatch)?;
                b.append_value(t)
            }
        }
        self.bytes += 16;
        Ok(())
    }

    /// Ends the current row.
    pub(crate) fn end_row(&mut self) {
        self.rows += 1;
    }

    /// Rows buffered.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Whether the buffered rows should be handed out now.
    pub(crate) fn is_full(&self) -> bool {
        self.rows >= BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    /// The buffered rows as a record batch; the builder starts over empty.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Utf8(b) => Arc::new(b.finish()),
                    Column::Int64(b) => Arc::new(b.finish()),
                    Column::Decimal(b, _) => Arc::new(b.finish()),
                    Column::Float64(b) => Arc::new(b.finish()),
                    Column::Boolean(b) => Arc::new(b.finish()),
                    Column::Date32(b) => Arc::new(b.finish()),
                    Column::TimestampMicros(b, _) => Arc::new(b.finish()),
                    Column::TimestampNanos(b, _) => Arc::new(b.finish()),
                }
            })
            .collect();
        let rows = self.rows;
        self.rows = 0;
        self.bytes = 0;
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Int64Type, TimestampMicrosecondType};
    use arrow_schema::{Field, Schema};

    use super::*;

    #[test]
    fn builds_typed_columns() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("i", DataType::Int64, true),
            Field::new("d", DataType::Decimal128(5, 2), true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let mut b = BatchBuilder::new(schema).unwrap();
        let rows: [[Cell<'_>; 4]; 2] = [
            [
                Cell::Text(""),
                Cell::Text("-5"),
                Cell::Text("12.5"),
                Cell::Text("1970-01-01T01:00:00+01:00"),
            ],
            [Cell::Null, Cell::Null, Cell::JsonNumber("3"), Cell::Null],
        ];
        for row in &rows {
            for (i, c) in row.iter().enumerate() {
                b.append(i, c).unwrap();
            }
            b.end_row();
        }
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        let s = batch.column(0).as_string::<i32>();
        assert!(
            s.is_valid(0) && s.value(0).is_empty() && s.is_null(1),
            "empty string versus null"
        );
        assert_eq!(batch.column(1).as_primitive::<Int64Type>().value(0), -5);
        let d = batch.column(2).as_primitive::<Decimal128Type>();
        assert_eq!((d.value(0), d.value(1)), (1250, 300));
        assert_eq!(
            batch
                .column(3)
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            0
        );
        assert_eq!(b.len(), 0, "finish starts over");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_reported() {
        let schema = Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, true)]));
        let mut b = BatchBuilder::new(schema).unwrap();
        let err = b.append(0, &Cell::Text("abc")).unwrap_err();
        assert_eq!((err.column, err.value.as_str()), (0, "abc"));
    }
}
