//! Schema inference: one small state per column, updated with every value of the file, then
//! resolved into an Arrow type.
//!
//! The state is a set of types that could still hold every value seen so far, plus the few
//! numbers needed to size them (digits, scale, fractional-second precision). It is O(1) per
//! column whatever the file's size, so inference can look at *every* row of a file larger than
//! memory instead of guessing from a sample.
//!
//! Rules (the ones users notice):
//! - integers are `Int64`; integers beyond `i64` are `Decimal128(38, 0)` (up to 38 digits);
//!   integers with leading zeros (`00123`) are text;
//! - numbers with a fractional part are `Decimal128` sized to fit every value when their scales
//!   are consistent (within [`MAX_SCALE_SPREAD`] digits of each other, integers counting as
//!   scale 0) and the precision fits 38 digits; otherwise `Float64`; an exponent means `Float64`;
//! - `true`/`false` in any case are booleans, `0`/`1` are not;
//! - `YYYY-MM-DD` is a date; a date and time is a timestamp, "with time zone" (normalized to UTC)
//!   when every value carries `Z` or an offset; microseconds unless a value has more than six
//!   fractional digits, then nanoseconds (text if such a value lies outside 1677–2262);
//! - any mixture of these (including an empty quoted string among numbers) is text, and so is a
//!   column with no values at all.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::values::{Class, MAX_DECIMAL_PRECISION};

/// How far apart the number of fractional digits may be for a column to stay decimal: `12.5` and
/// `3.75` (money whose trailing zeros a spreadsheet dropped) are decimal; `0.1`, `2.71828` and
/// `1.4142135` are measurements, better served by a float.
pub(crate) const MAX_SCALE_SPREAD: u32 = 2;

/// The time zone stored on timestamps that had a zone: every value is normalized to UTC.
pub(crate) const UTC: &str = "UTC";

const INT: u8 = 1;
const DEC: u8 = 1 << 1;
const FLOAT: u8 = 1 << 2;
const BOOL: u8 = 1 << 3;
const DATE: u8 = 1 << 4;
const TS: u8 = 1 << 5;
const TSTZ: u8 = 1 << 6;
const ALL: u8 = INT | DEC | FLOAT | BOOL | DATE | TS | TSTZ;

/// What has been learned about one column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnStats {
    /// Types that can still hold every value seen.
    candidates: u8,
    non_null: u64,
    ints_fit_i64: bool,
    max_int_digits: u32,
    max_scale: u32,
    min_scale: u32,
    max_frac_digits: u32,
    all_fit_nanos: bool,
}

impl Default for ColumnStats {
    fn default() -> Self {
        ColumnStats {
            candidates: ALL,
            non_null: 0,
            ints_fit_i64: true,
            max_int_digits: 0,
            max_scale: 0,
            min_scale: u32::MAX,
            max_frac_digits: 0,
            all_fit_nanos: true,
        }
    }
}

impl ColumnStats {
    /// Whether classifying more values can still change the outcome; once a column is text, the
    /// caller may skip classifying its values.
    pub(crate) fn is_settled_text(&self) -> bool {
        self.candidates == 0 && self.non_null > 0
    }

    /// Counts a value that is already known to be present, without classifying it (used once
    /// the column is settled as text).
    pub(crate) fn count_present(&mut self) {
        self.non_null += 1;
    }

    /// Takes one value into account.
    pub(crate) fn observe(&mut self, class: Class) {
        let allowed = match class {
            Class::Null => return,
            Class::Int { digits, fits_i64 } => {
                self.ints_fit_i64 &= fits_i64;
                self.max_int_digits = self.max_int_digits.max(digits);
                self.min_scale = 0;
                INT | DEC | FLOAT
            }
            Class::Decimal { int_digits, scale } => {
                self.max_int_digits = self.max_int_digits.max(int_digits);
                self.max_scale = self.max_scale.max(scale);
                self.min_scale = self.min_scale.min(scale);
                DEC | FLOAT
            }
            Class::Float => FLOAT,
            Class::Bool => BOOL,
            Class::Date => DATE,
            Class::Timestamp {
                frac_digits,
                fits_nanos,
            } => {
                self.max_frac_digits = self.max_frac_digits.max(frac_digits);
                self.all_fit_nanos &= fits_nanos;
                TS
            }
            Class::TimestampTz {
                frac_digits,
                fits_nanos,
            } => {
                self.max_frac_digits = self.max_frac_digits.max(frac_digits);
                self.all_fit_nanos &= fits_nanos;
                TSTZ
            }
            Class::Text => 0,
        };
        self.non_null += 1;
        self.candidates &= allowed;
    }

    /// Values seen that were present.
    pub(crate) fn non_null(&self) -> u64 {
        self.non_null
    }

    /// The narrowest type that holds every value seen, exactly where possible.
    pub(crate) fn data_type(&self) -> DataType {
        let c = self.candidates;
        if self.non_null == 0 || c == 0 {
            return DataType::Utf8;
        }
        if c & INT != 0 {
            return if self.ints_fit_i64 {
                DataType::Int64
            } else {
                DataType::Decimal128(MAX_DECIMAL_PRECISION as u8, 0)
            };
        }
        if c & DEC != 0 {
            let precision = (self.max_int_digits + self.max_scale).max(1);
            if precision <= MAX_DECIMAL_PRECISION
                && self.max_scale - self.min_scale <= MAX_SCALE_SPREAD
            {
                return DataType::Decimal128(precision as u8, self.max_scale as i8);
            }
        }
        if c & FLOAT != 0 {
            return DataType::Float64;
        }
        if c & BOOL != 0 {
            return DataType::Boolean;
        }
        if c & DATE != 0 {
            return DataType::Date32;
        }
        let zone = if c & TS != 0 {
            None
        } else if c & TSTZ != 0 {
            Some(Arc::from(UTC))
        } else {
            return DataType::Utf8;
        };
        let unit = if self.max_frac_digits <= 6 {
            TimeUnit::Microsecond
        } else if self.all_fit_nanos {
            TimeUnit::Nanosecond
        } else {
            // Nanosecond precision outside the years an i64 of nanoseconds covers: only text
            // keeps every digit.
            return DataType::Utf8;
        };
        DataType::Timestamp(unit, zone)
    }
}

/// The schema for named columns and what was learned about them over `rows` rows.
pub(crate) fn schema(names: &[String], stats: &[ColumnStats], rows: u64) -> Schema {
    let fields: Vec<Field> = names
        .iter()
        .zip(stats)
        .map(|(name, s)| Field::new(name, s.data_type(), s.non_null() < rows || rows == 0))
        .collect();
    Schema::new(fields)
}

#[cfg(test)]
mod tests {
    use super::super::values::classify;
    use super::*;

    fn infer(values: &[Option<&str>]) -> DataType {
        let mut s = ColumnStats::default();
        for v in values {
            s.observe(v.map_or(Class::Null, classify));
        }
        s.data_type()
    }

    #[test]
    fn inference_table() {
        let us = TimeUnit::Microsecond;
        let cases: &[(&[Option<&str>], DataType, &str)] = &[
            (
                &[Some("1"), Some("-2"), None],
                DataType::Int64,
                "integers with a null",
            ),
            (
                &[Some("00123"), Some("456")],
                DataType::Utf8,
                "leading zeros keep the column text",
            ),
            (
                &[Some("9223372036854775807")],
                DataType::Int64,
                "19 digits within i64",
            ),
            (
                &[Some("1"), Some("12345678901234567890")],
                DataType::Decimal128(38, 0),
                "beyond i64",
            ),
            (
                &[Some("123456789012345678901234567890123456789")],
                DataType::Utf8,
                "39 digits",
            ),
            (
                &[Some("12.50"), Some("3.99"), Some("100")],
                DataType::Decimal128(5, 2),
                "money",
            ),
            (
                &[Some("12.5"), Some("3.75")],
                DataType::Decimal128(4, 2),
                "dropped trailing zero",
            ),
            (&[Some("-0.5")], DataType::Decimal128(1, 1), "fraction only"),
            (
                &[Some("0.1"), Some("2.71828")],
                DataType::Float64,
                "inconsistent scales",
            ),
            (
                &[Some("1"), Some("0.001")],
                DataType::Float64,
                "integer and 3-digit scale",
            ),
            (
                &[Some("1.5"), Some("1e5")],
                DataType::Float64,
                "exponent makes floats",
            ),
            (&[Some("-3.5E-2")], DataType::Float64, "negative exponent"),
            (
                &[Some("12345678901234567890123456789012345678.5")],
                DataType::Float64,
                "precision beyond 38",
            ),
            (
                &[Some("True"), Some("false"), None],
                DataType::Boolean,
                "booleans",
            ),
            (
                &[Some("0"), Some("1")],
                DataType::Int64,
                "0 and 1 are integers",
            ),
            (
                &[Some("true"), Some("1")],
                DataType::Utf8,
                "booleans and integers",
            ),
            (&[Some("2024-01-02"), None], DataType::Date32, "dates"),
            (
                &[Some("2024-01-02"), Some("2024-01-02T00:00:00")],
                DataType::Utf8,
                "date and timestamp",
            ),
            (
                &[Some("2024-01-02 10:00:00.5")],
                DataType::Timestamp(us, None),
                "timestamp",
            ),
            (
                &[
                    Some("2024-01-02T10:00:00Z"),
                    Some("2024-01-02T10:00:00+01:00"),
                ],
                DataType::Timestamp(us, Some(UTC.into())),
                "timestamps with zones",
            ),
            (
                &[Some("2024-01-02T10:00:00Z"), Some("2024-01-02T10:00:00")],
                DataType::Utf8,
                "with and without zone",
            ),
            (
                &[Some("2024-01-02T10:00:00.123456789")],
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                "nanoseconds",
            ),
            (
                &[Some("3000-01-02T10:00:00.123456789")],
                DataType::Utf8,
                "nanoseconds out of range",
            ),
            (
                &[Some("1"), Some("")],
                DataType::Utf8,
                "an empty string among integers",
            ),
            (&[None, None], DataType::Utf8, "all null"),
            (&[], DataType::Utf8, "no rows"),
            (&[Some("a"), Some("1")], DataType::Utf8, "mixed"),
        ];
        for (values, want, why) in cases {
            assert_eq!(&infer(values), want, "{why}: {values:?}");
        }
    }

    #[test]
    fn nullability_follows_the_data() {
        let mut a = ColumnStats::default();
        a.observe(classify("1"));
        a.observe(classify("2"));
        let mut b = ColumnStats::default();
        b.observe(Class::Null);
        b.observe(classify("x"));
        let s = schema(&["a".into(), "b".into()], &[a, b], 2);
        assert!(!s.field(0).is_nullable());
        assert!(s.field(1).is_nullable());
    }
}
