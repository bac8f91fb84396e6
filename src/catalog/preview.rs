//! The first rows of a dataset, as JSON values for scripts and as short text cells for people.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, TimeUnit};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use super::schema::ColumnInfo;

/// Longest cell shown in the text table; longer text is cut with an ellipsis.
const MAX_CELL_CHARS: usize = 48;

/// The first rows of a dataset.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The dataset's ID.
    pub id: String,
    /// Its columns.
    pub columns: Vec<ColumnInfo>,
    /// The rows shown, each value as JSON: numbers for integers and floats, `true`/`false`,
    /// strings for text, decimals (exact), dates and timestamps (ISO 8601, `Z` when zoned),
    /// `null` for a missing value.
    pub rows: Vec<Vec<Value>>,
    /// All rows of the dataset.
    pub total_rows: Option<u64>,
}

impl Serialize for Preview {
    /// `{"id", "columns", "total_rows", "rows": [{"column": value, ...}, ...]}` with each row's
    /// keys in column order.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [ColumnInfo], &'a [Value]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (c, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(&c.name, v)?;
                }
                m.end()
            }
        }
        let rows: Vec<Row<'_>> = self.rows.iter().map(|r| Row(&self.columns, r)).collect();
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("columns", &self.columns)?;
        m.serialize_entry("total_rows", &self.total_rows)?;
        m.serialize_entry("rows", &rows)?;
        m.end()
    }
}

impl Preview {
    /// The rows as text cells for a table: a missing value is blank, an empty string is `""`,
    /// line breaks and tabs are shown escaped, and long text is cut.
    pub fn text_rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| r.iter().map(text_cell).collect())
            .collect()
    }
}

fn text_cell(v: &Value) -> String {
    let s = match v {
        Value::Null => return String::new(),
        Value::String(s) if s.is_empty() => return "\"\"".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i == MAX_CELL_CHARS {
            out.push('…');
            break;
        }
        match ch {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

/// Appends the rows of `batch` (up to `limit` rows in all) to `rows`.
pub(crate) fn append_rows(
    batch: &RecordBatch,
    limit: usize,
    rows: &mut Vec<Vec<Value>>,
) -> Result<(), String> {
    let take = batch.num_rows().min(limit.saturating_sub(rows.len()));
    let columns: Vec<Vec<Value>> = batch
        .columns()
        .iter()
        .map(|a| {
            (0..take)
                .map(|i| json_value(a.as_ref(), i))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    for i in 0..take {
        rows.push(columns.iter().map(|c| c[i].clone()).collect());
    }
    Ok(())
}

fn json_value(a: &dyn Array, i: usize) -> Result<Value, String> {
    if a.is_null(i) {
        return Ok(Value::Null);
    }
    macro_rules! int {
        ($t:ty) => {
            Value::from(a.as_primitive::<$t>().value(i))
        };
    }
    Ok(match a.data_type() {
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_owned()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_owned()),
        DataType::Utf8View => Value::String(a.as_string_view().value(i).to_owned()),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float32 => float(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Date32 => Value::String(format_date(i64::from(
            a.as_primitive::<Date32Type>().value(i),
        ))),
        DataType::Timestamp(unit, tz) => {
            let (v, per_sec) = match unit {
                TimeUnit::Second => (a.as_primitive::<TimestampSecondType>().value(i), 1),
                TimeUnit::Millisecond => {
                    (a.as_primitive::<TimestampMillisecondType>().value(i), 1_000)
                }
                TimeUnit::Microsecond => (
                    a.as_primitive::<TimestampMicrosecondType>().value(i),
                    1_000_000,
                ),
                TimeUnit::Nanosecond => (
                    a.as_primitive::<TimestampNanosecondType>().value(i),
                    1_000_000_000,
                ),
            };
            Value::String(format_timestamp(v, per_sec, tz.is_some()))
        }
        // Decimals (as exact text) and anything else a Parquet file may hold, as Arrow prints it.
        _ => {
            let f =
                ArrayFormatter::try_new(a, &FormatOptions::default()).map_err(|e| e.to_string())?;
            Value::String(f.value(i).try_to_string().map_err(|e| e.to_string())?)
        }
    })
}

fn float(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number)
}

/// `YYYY-MM-DD` of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub(crate) fn format_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// ISO 8601 of a count of `1/per_sec` seconds since the epoch: fractional seconds only when
/// present (in groups of three digits), and `Z` for a zoned (UTC-normalized) value.
pub(crate) fn format_timestamp(v: i64, per_sec: i64, zoned: bool) -> String {
    let secs = v.div_euclid(per_sec);
    let frac = v.rem_euclid(per_sec);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{}T{:02}:{:02}:{:02}",
        format_date(days),
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac != 0 {
        let nanos = frac * (1_000_000_000 / per_sec);
        if nanos % 1_000_000 == 0 {
            s.push_str(&format!(".{:03}", nanos / 1_000_000));
        } else if nanos % 1_000 == 0 {
            s.push_str(&format!(".{:06}", nanos / 1_000));
        } else {
            s.push_str(&format!(".{nanos:09}"));
        }
    }
    if zoned {
        s.push('Z');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_and_timestamps() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_date(19_782), "2024-02-29");
        assert_eq!(format_timestamp(0, 1_000_000, true), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_timestamp(-1, 1_000_000, false),
            "1969-12-31T23:59:59.999999"
        );
        assert_eq!(
            format_timestamp(946_684_800_500_000, 1_000_000, false),
            "2000-01-01T00:00:00.500"
        );
        assert_eq!(
            format_timestamp(1, 1_000_000_000, false),
            "1970-01-01T00:00:00.000000001"
        );
    }

    #[test]
    fn text_cells_show_what_json_would_hide() {
        assert_eq!(text_cell(&Value::Null), "");
        assert_eq!(text_cell(&Value::String(String::new())), "\"\"");
        assert_eq!(text_cell(&Value::String("a\nb".into())), "a\\nb");
        assert_eq!(
            text_cell(&Value::String("x".repeat(60))).chars().count(),
            MAX_CELL_CHARS + 1
        );
        assert_eq!(text_cell(&Value::from(5)), "5");
    }
}
