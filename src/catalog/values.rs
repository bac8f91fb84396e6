//! Recognizing and parsing single values: integers, decimals, floats, booleans, dates and
//! timestamps, written the way CSV and JSON files write them.
//!
//! These are the hot loops of an import (every field of every row goes through
//! [`classify`] once and through a parser once), so they work on bytes, never allocate and
//! reject early on the first byte that rules a type out.

use std::borrow::Cow;

/// The most digits a `Decimal128` holds.
pub(crate) const MAX_DECIMAL_PRECISION: u32 = 38;

/// One value read from a file, before it has a type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    /// A missing value: an empty unquoted CSV field, a JSON `null` or an absent key.
    Null,
    /// CSV text, which may turn out to be any type.
    Text(&'a str),
    /// A JSON string: text, or a date or timestamp (JSON has no types for those).
    JsonString(Cow<'a, str>),
    /// A JSON number, as written (so decimals stay exact).
    JsonNumber(&'a str),
    /// A JSON boolean.
    JsonBool(bool),
    /// A JSON array or object, kept as its JSON text.
    JsonNested(&'a str),
}

impl Cell<'_> {
    /// The cell's class: which types could hold it.
    pub(crate) fn class(&self) -> Class {
        match self {
            Cell::Null => Class::Null,
            Cell::Text(s) | Cell::JsonNumber(s) => classify(s),
            Cell::JsonString(s) => match classify(s) {
                c @ (Class::Date | Class::Timestamp { .. } | Class::TimestampTz { .. }) => c,
                _ => Class::Text,
            },
            Cell::JsonBool(_) => Class::Bool,
            Cell::JsonNested(_) => Class::Text,
        }
    }

    /// The cell as text, for a string column. `None` for a missing value.
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Null => None,
            Cell::Text(s) | Cell::JsonNumber(s) | Cell::JsonNested(s) => Some(s),
            Cell::JsonString(s) => Some(s),
            Cell::JsonBool(true) => Some("true"),
            Cell::JsonBool(false) => Some("false"),
        }
    }
}

/// What a single value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A missing value.
    Null,
    /// An integer without leading zeros, of at most 38 digits.
    Int {
        /// Digits, without the sign.
        digits: u32,
        /// Whether it fits in an `i64`.
        fits_i64: bool,
    },
    /// A number in positional notation with a fractional part (`12.50`, `-0.5`).
    Decimal {
        /// Digits before the point, without leading zeros (`0.5` has none).
        int_digits: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// A number with an exponent (`1e5`, `-3.5E-2`).
    Float,
    /// `true` or `false`, in any case.
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// A date and time without a zone.
    Timestamp {
        /// Digits of fractional seconds.
        frac_digits: u32,
        /// Whether it fits in an `i64` of nanoseconds (years 1677 to 2262).
        fits_nanos: bool,
    },
    /// A date and time with `Z` or a `±hh:mm` offset.
    TimestampTz {
        /// Digits of fractional seconds.
        frac_digits: u32,
        /// Whether it fits in an `i64` of nanoseconds (years 1677 to 2262).
        fits_nanos: bool,
    },
    /// Anything else.
    Text,
}

/// Classifies one value.
pub(crate) fn classify(s: &str) -> Class {
    let b = s.as_bytes();
    match b.first() {
        None => Class::Text,
        Some(b'0'..=b'9') if b.len() >= 10 && b[4] == b'-' => match parse_temporal(b) {
            Some(t) => {
                let frac_digits = t.frac_digits;
                match (t.time, t.offset_secs) {
                    (None, _) => Class::Date,
                    (Some(_), None) => Class::Timestamp {
                        frac_digits,
                        fits_nanos: t.to_nanos().is_some(),
                    },
                    (Some(_), Some(_)) => Class::TimestampTz {
                        frac_digits,
                        fits_nanos: t.to_nanos().is_some(),
                    },
                }
            }
            None => Class::Text,
        },
        Some(b'0'..=b'9' | b'-') => classify_number(b),
        Some(b't' | b'T' | b'f' | b'F') => match parse_bool(s) {
            Some(_) => Class::Bool,
            None => Class::Text,
        },
        _ => Class::Text,
    }
}

/// Splits a number into its parts, or `None` if it is not a number this module accepts.
struct NumberParts<'a> {
    negative: bool,
    int: &'a [u8],
    frac: Option<&'a [u8]>,
    exponent: Option<i64>,
}

fn split_number(b: &[u8]) -> Option<NumberParts<'_>> {
    let negative = b.first() == Some(&b'-');
    let mut i = usize::from(negative);
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int = &b[int_start..i];
    // `00123` is an identifier (a ZIP code, an account number), not the number 123: keeping it
    // as text keeps its zeros.
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return None;
    }
    let mut frac = None;
    if i < b.len() && b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        frac = Some(&b[start..i]);
    }
    let mut exponent = None;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let negative_exponent = b[i - 1] == b'-';
        let start = i;
        let mut value: i64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            value = value
                .saturating_mul(10)
                .saturating_add(i64::from(b[i] - b'0'));
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent = Some(if negative_exponent { -value } else { value });
    }
    (i == b.len()).then_some(NumberParts {
        negative,
        int,
        frac,
        exponent,
    })
}

fn classify_number(b: &[u8]) -> Class {
    let Some(n) = split_number(b) else {
        return Class::Text;
    };
    if let Some(exponent) = n.exponent {
        // Well inside f64's range (about 1e308) the value is finite without parsing it; only
        // near the edge is it worth asking the parser.
        let magnitude = exponent.saturating_add(n.int.len() as i64);
        if (-300..=300).contains(&magnitude) {
            return Class::Float;
        }
        // Safe to treat as UTF-8: split_number accepted only ASCII.
        let text = std::str::from_utf8(b).unwrap_or_default();
        return match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Class::Float,
            _ => Class::Text,
        };
    }
    let int_digits = if n.int == b"0" { 0 } else { n.int.len() as u32 };
    match n.frac {
        Some(frac) => Class::Decimal {
            int_digits,
            scale: frac.len() as u32,
        },
        None => {
            let digits = n.int.len() as u32;
            if digits > MAX_DECIMAL_PRECISION {
                return Class::Text;
            }
            Class::Int {
                digits,
                fits_i64: int_fits_i64(n.int, n.negative),
            }
        }
    }
}

fn int_fits_i64(digits: &[u8], negative: bool) -> bool {
    const MAX: &[u8] = b"9223372036854775807";
    const MIN_ABS: &[u8] = b"9223372036854775808";
    match digits.len().cmp(&MAX.len()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        // Same length: ASCII digits compare like the numbers they spell.
        std::cmp::Ordering::Equal => digits <= if negative { MIN_ABS } else { MAX },
    }
}

/// Parses an integer accepted by [`classify`] as fitting an `i64`.
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let n = split_number(b)?;
    if n.frac.is_some() || n.exponent.is_some() || n.int.len() > 19 {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses without overflow.
    let mut v: i64 = 0;
    for &d in n.int {
        v = v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if n.negative { Some(v) } else { v.checked_neg() }
}

/// Parses a number in positional notation into an unscaled `i128` with `scale` digits after the
/// point. `None` if it has more fractional digits than `scale`, an exponent, or too many digits.
pub(crate) fn parse_decimal(s: &str, scale: u32) -> Option<i128> {
    let n = split_number(s.as_bytes())?;
    let frac = n.frac.unwrap_or_default();
    if n.exponent.is_some() || frac.len() as u32 > scale {
        return None;
    }
    let mut v: i128 = 0;
    for &d in n.int.iter().chain(frac) {
        v = v.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
    }
    for _ in frac.len() as u32..scale {
        v = v.checked_mul(10)?;
    }
    if v >= 10i128.pow(MAX_DECIMAL_PRECISION) {
        return None;
    }
    Some(if n.negative { -v } else { v })
}

/// Parses a number accepted by [`classify`] (integer, decimal or exponent form) as an `f64`.
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    split_number(s.as_bytes())?;
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `true` or `false` in any case. `0`/`1` and `yes`/`no` are deliberately not booleans: a column
/// of flags written as digits stays an integer column.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A parsed date or date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Temporal {
    /// Days since 1970-01-01 of the written date (before applying any offset).
    pub(crate) days: i64,
    /// Seconds since midnight and nanoseconds, when a time was written.
    pub(crate) time: Option<(u32, u32)>,
    /// Digits of fractional seconds written.
    pub(crate) frac_digits: u32,
    /// The written UTC offset in seconds (`Z` is 0), when one was written.
    pub(crate) offset_secs: Option<i32>,
}

impl Temporal {
    /// Seconds since the Unix epoch in UTC (the offset applied), and nanoseconds.
    fn utc_seconds(&self) -> (i64, u32) {
        let (sod, nanos) = self.time.unwrap_or((0, 0));
        let secs = self.days * 86_400 + i64::from(sod) - i64::from(self.offset_secs.unwrap_or(0));
        (secs, nanos)
    }

    /// Microseconds since the epoch, UTC. Years 0000 to 9999 always fit.
    pub(crate) fn to_micros(self) -> i64 {
        let (secs, nanos) = self.utc_seconds();
        secs * 1_000_000 + i64::from(nanos / 1_000)
    }

    /// Nanoseconds since the epoch, UTC, if they fit in an `i64`.
    pub(crate) fn to_nanos(self) -> Option<i64> {
        let (secs, nanos) = self.utc_seconds();
        secs.checked_mul(1_000_000_000)?
            .checked_add(i64::from(nanos))
    }
}

fn digits2(b: &[u8], at: usize) -> Option<u32> {
    let (a, c) = (*b.get(at)?, *b.get(at + 1)?);
    (a.is_ascii_digit() && c.is_ascii_digit())
        .then(|| u32::from(a - b'0') * 10 + u32::from(c - b'0'))
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` (or a space) and `hh:mm[:ss[.fffffffff]]`,
/// optionally followed by `Z` or an offset `±hh:mm` / `±hhmm`.
pub(crate) fn parse_temporal(b: &[u8]) -> Option<Temporal> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits2(b, 0)? * 100 + digits2(b, 2)?;
    let month = digits2(b, 5)?;
    let day = digits2(b, 8)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    if b.len() == 10 {
        return Some(Temporal {
            days,
            time: None,
            frac_digits: 0,
            offset_secs: None,
        });
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let hour = digits2(b, 11)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits2(b, 14)?;
    let mut i = 16;
    let mut second = 0;
    let mut nanos = 0;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b':') {
        second = digits2(b, i + 1)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = (i - start) as u32;
            if frac_digits == 0 || frac_digits > 9 {
                return None;
            }
            for &d in &b[start..i] {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            nanos *= 10u32.pow(9 - frac_digits);
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset_secs = match &b[i..] {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _, b':', _, _] | [_, _, _, _] => {
                    (digits2(rest, 0)?, digits2(rest, rest.len() - 2)?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => return None,
    };
    Some(Temporal {
        days,
        time: Some((hour * 3600 + minute * 60 + second, nanos)),
        frac_digits,
        offset_secs,
    })
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
pub(crate) fn parse_date(s: &str) -> Option<i32> {
    let t = parse_temporal(s.as_bytes())?;
    if t.time.is_some() {
        return None;
    }
    i32::try_from(t.days).ok()
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        use Class::*;
        let cases: &[(&str, Class, &str)] = &[
            (
                "0",
                Int {
                    digits: 1,
                    fits_i64: true,
                },
                "zero",
            ),
            (
                "-17",
                Int {
                    digits: 2,
                    fits_i64: true,
                },
                "negative",
            ),
            ("00123", Text, "leading zeros are an identifier"),
            ("-007", Text, "leading zeros after a sign"),
            ("+5", Text, "a leading plus (phone numbers) stays text"),
            (
                "9223372036854775807",
                Int {
                    digits: 19,
                    fits_i64: true,
                },
                "i64::MAX",
            ),
            (
                "-9223372036854775808",
                Int {
                    digits: 19,
                    fits_i64: true,
                },
                "i64::MIN",
            ),
            (
                "9223372036854775808",
                Int {
                    digits: 19,
                    fits_i64: false,
                },
                "i64::MAX + 1",
            ),
            (
                "12345678901234567890",
                Int {
                    digits: 20,
                    fits_i64: false,
                },
                "20 digits",
            ),
            ("123456789012345678901234567890123456789", Text, "39 digits"),
            (
                "12.50",
                Decimal {
                    int_digits: 2,
                    scale: 2,
                },
                "money",
            ),
            (
                "-0.5",
                Decimal {
                    int_digits: 0,
                    scale: 1,
                },
                "negative fraction",
            ),
            ("1.", Text, "no fraction digits"),
            (".5", Text, "no integer digits"),
            ("1e5", Float, "exponent"),
            ("-3.5E-2", Float, "negative exponent"),
            ("1e+5", Float, "signed exponent"),
            ("1e999", Text, "overflows f64"),
            ("1e", Text, "empty exponent"),
            ("NaN", Text, "NaN is text"),
            ("1,000", Text, "thousands separator"),
            ("TRUE", Bool, "upper case"),
            ("false", Bool, "lower case"),
            ("yes", Text, "yes is text"),
            ("t", Text, "t is text"),
            ("2024-02-29", Date, "leap day"),
            ("2023-02-29", Text, "not a leap year"),
            ("2024-13-01", Text, "month 13"),
            ("2024-1-01", Text, "one-digit month"),
            (
                "2024-01-31T23:59:59",
                Timestamp {
                    frac_digits: 0,
                    fits_nanos: true,
                },
                "T",
            ),
            (
                "2024-01-31 23:59",
                Timestamp {
                    frac_digits: 0,
                    fits_nanos: true,
                },
                "space, no seconds",
            ),
            (
                "2024-01-31 23:59:59.123",
                Timestamp {
                    frac_digits: 3,
                    fits_nanos: true,
                },
                "millis",
            ),
            (
                "2024-01-31T23:59:59.123456789Z",
                TimestampTz {
                    frac_digits: 9,
                    fits_nanos: true,
                },
                "nanos Z",
            ),
            (
                "2024-01-31T23:59:59+02:00",
                TimestampTz {
                    frac_digits: 0,
                    fits_nanos: true,
                },
                "offset",
            ),
            (
                "2024-01-31T23:59:59-0530",
                TimestampTz {
                    frac_digits: 0,
                    fits_nanos: true,
                },
                "offset without colon",
            ),
            ("2024-01-31T24:00:00", Text, "hour 24"),
            ("2024-01-31T23:59:60", Text, "leap second"),
            ("2024-01-31T23:59:59+2", Text, "short offset"),
            ("2024-01-31T23:59:59 UTC", Text, "zone name"),
            (
                "3000-01-01T00:00:00",
                Timestamp {
                    frac_digits: 0,
                    fits_nanos: false,
                },
                "beyond 2262",
            ),
            ("", Text, "empty string"),
            ("hello", Text, "word"),
        ];
        for (input, want, why) in cases {
            assert_eq!(classify(input), *want, "{why}: {input:?}");
        }
    }

    #[test]
    fn json_strings_are_text_unless_temporal() {
        assert_eq!(Cell::JsonString("123".into()).class(), Class::Text);
        assert_eq!(Cell::JsonString("true".into()).class(), Class::Text);
        assert_eq!(Cell::JsonString("2024-01-02".into()).class(), Class::Date);
        assert_eq!(
            Cell::JsonNumber("12.50").class(),
            Class::Decimal {
                int_digits: 2,
                scale: 2
            }
        );
        assert_eq!(Cell::JsonNested("[1,2]").class(), Class::Text);
    }

    #[test]
    fn parses_integers_exactly() {
        assert_eq!(parse_i64("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64("9223372036854775808"), None);
        assert_eq!(parse_i64("-42"), Some(-42));
        assert_eq!(parse_i64("4.2"), None);
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_decimal("12.5", 2), Some(1250));
        assert_eq!(parse_decimal("-0.05", 2), Some(-5));
        assert_eq!(parse_decimal("7", 3), Some(7000));
        assert_eq!(
            parse_decimal("1.234", 2),
            None,
            "more digits than the scale"
        );
        assert_eq!(
            parse_decimal("12345678901234567890", 0),
            Some(12_345_678_901_234_567_890)
        );
        assert_eq!(
            parse_decimal("99999999999999999999999999999999999999", 0),
            Some(10i128.pow(38) - 1)
        );
        assert_eq!(parse_decimal("1e5", 0), None);
    }

    #[test]
    fn converts_timestamps_to_utc() {
        let t = |s: &str| parse_temporal(s.as_bytes()).unwrap();
        assert_eq!(t("1970-01-01T00:00:00Z").to_micros(), 0);
        assert_eq!(t("1970-01-01T02:00:00+02:00").to_micros(), 0);
        assert_eq!(t("1969-12-31T19:00:00-05:00").to_micros(), 0);
        assert_eq!(t("2000-01-01 00:00:00.5").to_micros(), 946_684_800_500_000);
        assert_eq!(
            t("2000-01-01T00:00:00.000000001Z").to_nanos(),
            Some(946_684_800_000_000_001)
        );
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(parse_date("0001-01-01"), Some(-719_162));
        assert_eq!(parse_date("9999-12-31"), Some(2_932_896));
    }
}
