//! Byte-level formatting shared by the CSV and JSON Lines encoders: numbers, dates, timestamps,
//! and the scans that decide whether a string needs quoting or escaping.
//!
//! Everything here appends to a caller's `Vec<u8>` and never allocates: these functions run once
//! per cell, hundreds of millions of times per export.

use arrow_schema::TimeUnit;

/// `"00" "01" ... "99"`: two digits per lookup instead of two divisions.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes two digits of `v` (< 100) at `buf[at..at + 2]`.
#[inline(always)]
fn put2(buf: &mut [u8], at: usize, v: u32) {
    let i = (v as usize) * 2;
    buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
}

/// Appends the first `len` bytes of `b`. Copying the whole fixed-size buffer compiles to a few
/// register moves, where a copy of a variable length is a call to `memcpy`; the surplus is cut
/// off again, which only sets the length. This matters at several values per row.
#[inline(always)]
fn append_prefix<const N: usize>(out: &mut Vec<u8>, b: &[u8; N], len: usize) {
    let start = out.len();
    out.extend_from_slice(b);
    out.truncate(start + len);
}

/// `n` in decimal, after a `-` when `negative`, left-aligned in a fixed buffer; and its length.
#[inline(always)]
fn int_bytes(mut n: u64, negative: bool) -> ([u8; 24], usize) {
    let mut b = [b'-'; 24];
    let len = n.checked_ilog10().unwrap_or(0) as usize + 1 + usize::from(negative);
    let mut pos = len;
    while n >= 100 {
        pos -= 2;
        put2(&mut b, pos, (n % 100) as u32);
        n /= 100;
    }
    if n >= 10 {
        put2(&mut b, pos - 2, n as u32);
    } else {
        b[pos - 1] = b'0' + n as u8;
    }
    (b, len)
}

/// Appends a signed integer in decimal.
#[inline]
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    let (b, len) = int_bytes(v.unsigned_abs(), v < 0);
    append_prefix(out, &b, len);
}

/// Appends an unsigned integer in decimal.
#[inline]
pub(crate) fn write_u64(out: &mut Vec<u8>, v: u64) {
    let (b, len) = int_bytes(v, false);
    append_prefix(out, &b, len);
}

/// Appends any integer in decimal (the slow path, for 128-bit values).
fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a finite float in its shortest form that parses back to the same value (`0.1`,
/// `1.0`, `1e21`, `-3.5e-7`); non-finite values are the caller's business.
#[inline]
pub(crate) fn write_finite_float<F: ryu::Float>(out: &mut Vec<u8>, v: F) {
    out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
}

/// Appends a decimal's unscaled value `v` with `scale` digits after the point, exactly: every
/// fractional digit is written, trailing zeros included (`12.50` for scale 2), so a reader sees
/// the column's scale. A negative scale multiplies by a power of ten (`12300` for 123, -2).
pub(crate) fn write_decimal(out: &mut Vec<u8>, v: i128, scale: i8) {
    // Nearly every value fits in 64 bits with a scale below 20: format those digit by digit
    // from the right, the point included, in a fixed buffer.
    if let (Ok(mut n), 1..=19) = (u64::try_from(v.unsigned_abs()), scale) {
        let scale = scale as usize;
        let digits = (n.checked_ilog10().unwrap_or(0) as usize + 1).max(scale + 1);
        let len = usize::from(v < 0) + digits + 1;
        let mut b = [b'-'; 48];
        let mut pos = len;
        for k in 0..digits {
            if k == scale {
                pos -= 1;
                b[pos] = b'.';
            }
            pos -= 1;
            b[pos] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        append_prefix(out, &b, len);
        return;
    }
    write_decimal_wide(out, v, scale);
}

#[cold]
fn write_decimal_wide(out: &mut Vec<u8>, v: i128, scale: i8) {
    if scale <= 0 {
        write_int(out, v);
        if v != 0 {
            out.resize(out.len() + usize::from(scale.unsigned_abs()), b'0');
        }
        return;
    }
    if v < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(v.unsigned_abs()).as_bytes();
    let scale = usize::from(scale.unsigned_abs());
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

/// Day counts (since 1970-01-01) of 0000-01-01 and 9999-12-31: the years with four digits.
const FOUR_DIGIT_YEARS: std::ops::RangeInclusive<i64> = -719_528..=2_932_896;

/// The date of a day count in [`FOUR_DIGIT_YEARS`], by Neri and Schneider's algorithm
/// ("Euclidean affine functions and their application to calendar algorithms", 2022): 32-bit
/// multiplications and shifts only, about twice as fast as [`civil_from_days`].
#[inline(always)]
fn civil_from_days_fast(days: i64) -> (u32, u32, u32) {
    // Shifted by 82 eras of 400 years so every value is positive.
    const SHIFT_DAYS: i64 = 719_468 + 146_097 * 82;
    const SHIFT_YEARS: u32 = 400 * 82;
    let n = (days + SHIFT_DAYS) as u32;
    let n1 = 4 * n + 3;
    let century = n1 / 146_097;
    let n_c = n1 % 146_097 / 4;
    let n2 = 4 * n_c + 3;
    let p2 = 2_939_745u64 * u64::from(n2);
    let z = (p2 >> 32) as u32;
    let n_y = (p2 as u32) / 2_939_745 / 4;
    let year = 100 * century + z;
    let n3 = 2141 * n_y + 197_913;
    let month = n3 >> 16;
    let day = (n3 & 0xffff) / 2141 + 1;
    let january_or_february = u32::from(n_y >= 306);
    let month = if january_or_february == 1 {
        month - 12
    } else {
        month
    };
    (year + january_or_february - SHIFT_YEARS, month, day)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact for every `i64` day count an Arrow value can produce).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `YYYY-MM-DD` for a day count since 1970-01-01. Years outside 0000–9999 use ISO 8601's
/// expanded form, as chrono prints them: `+10000-01-01`, `-0001-12-31`.
#[inline]
pub(crate) fn write_date(out: &mut Vec<u8>, days: i64) {
    if FOUR_DIGIT_YEARS.contains(&days) {
        let (year, month, day) = civil_from_days_fast(days);
        // Formatted in place and copied once: a fixed-size copy compiles to two moves, where
        // five small appends each check the capacity.
        out.extend_from_slice(&date_bytes(year, month, day));
    } else {
        write_date_expanded(out, days);
    }
}

#[cold]
fn write_date_expanded(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    write_expanded_year(out, year);
    out.extend_from_slice(&date_bytes(0, month, day)[4..]);
}

/// `YYYY-MM-DD` for a year of at most four digits.
#[inline(always)]
fn date_bytes(year: u32, month: u32, day: u32) -> [u8; 10] {
    let mut b = *b"0000-00-00";
    put2(&mut b, 0, year / 100);
    put2(&mut b, 2, year % 100);
    put2(&mut b, 5, month);
    put2(&mut b, 8, day);
    b
}

#[cold]
fn write_expanded_year(out: &mut Vec<u8>, year: i64) {
    out.push(if year < 0 { b'-' } else { b'+' });
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(year.unsigned_abs()).as_bytes();
    out.resize(out.len() + 4usize.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits);
}

/// Units per second and digits of fractional seconds written for each time unit. The width is
/// fixed per unit (`.123000` for microseconds, never `.123`) so that a reader can tell the
/// column's precision: the catalog's importer picks nanoseconds only for more than six digits.
#[inline]
fn unit_scale(unit: TimeUnit) -> (i64, usize) {
    match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    }
}

/// Appends `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]` for a count of `unit`s since the Unix
/// epoch, followed by `Z` when `utc` (values of a zoned column are instants, stored in UTC).
#[inline]
pub(crate) fn write_timestamp(out: &mut Vec<u8>, v: i64, unit: TimeUnit, utc: bool) {
    let (per_sec, frac_digits) = unit_scale(unit);
    let secs = v.div_euclid(per_sec);
    let mut frac = v.rem_euclid(per_sec) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // The time part, fraction and zone formatted in one fixed-size buffer: `THH:MM:SS` is 9
    // bytes, a fraction at most 10, `Z` 1.
    let mut b = *b"T00:00:00.000000000Z";
    put2(&mut b, 1, sod / 3600);
    put2(&mut b, 4, sod / 60 % 60);
    put2(&mut b, 7, sod % 60);
    let mut len = 9;
    if frac_digits > 0 {
        for at in (10..10 + frac_digits).rev() {
            b[at] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        len += 1 + frac_digits;
    }
    if utc {
        b[len] = b'Z';
        len += 1;
    }
    write_date(out, days);
    append_prefix(out, &b, len);
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `w` equals the byte repeated in `pattern` (exact, no false positives).
#[inline(always)]
fn has_byte(w: u64, pattern: u64) -> bool {
    let x = w ^ pattern;
    x.wrapping_sub(LO) & !x & HI != 0
}

/// Whether any byte of `w` is below 0x20 (exact).
#[inline(always)]
fn has_control(w: u64) -> bool {
    w.wrapping_sub(LO * 0x20) & !w & HI != 0
}

/// Four bytes to look for, scanning eight at a time: the CSV delimiter, the quote character,
/// CR and LF. A lookup table per byte is simpler, but this is about three times faster on text
/// columns, which dominate typical exports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpecialBytes {
    bytes: [u8; 4],
    patterns: [u64; 4],
}

impl SpecialBytes {
    pub(crate) fn new(bytes: [u8; 4]) -> Self {
        SpecialBytes {
            bytes,
            patterns: bytes.map(|b| LO * u64::from(b)),
        }
    }

    /// Whether `s` holds any of the four bytes.
    #[inline]
    pub(crate) fn any_in(&self, s: &[u8]) -> bool {
        let [a, b, c, d] = self.patterns;
        let mut chunks = s.chunks_exact(8);
        for chunk in &mut chunks {
            let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            if has_byte(w, a) | has_byte(w, b) | has_byte(w, c) | has_byte(w, d) {
                return true;
            }
        }
        chunks.remainder().iter().any(|x| self.bytes.contains(x))
    }
}

/// Whether `s` needs escaping inside a JSON string: a control character, `"` or `\`.
#[inline]
fn needs_json_escape(s: &[u8]) -> bool {
    let quote = LO * u64::from(b'"');
    let backslash = LO * u64::from(b'\\');
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if has_control(w) | has_byte(w, quote) | has_byte(w, backslash) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&x| x < 0x20 || x == b'"' || x == b'\\')
}

/// Appends `s` as a JSON string, quotes included. Only `"`, `\` and control characters are
/// escaped; everything else, non-ASCII included, passes through as UTF-8 (RFC 8259 §7).
#[inline]
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    if needs_json_escape(s) {
        write_json_escaped(out, s);
    } else {
        out.extend_from_slice(s);
    }
    out.push(b'"');
}

#[cold]
fn write_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// A `fmt::Write` that appends to a byte vector, for arrow-cast's display fallback.
pub(crate) struct VecWriter<'a>(pub(crate) &'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimals_are_exact_with_their_scale() {
        let cases: &[(i128, i8, &str)] = &[
            (0, 2, "0.00"),
            (1250, 2, "12.50"),
            (-1250, 2, "-12.50"),
            (5, 3, "0.005"),
            (-5, 3, "-0.005"),
            (123, 0, "123"),
            (123, -2, "12300"),
            (0, -2, "0"),
            (
                -99_999_999_999_999_999_999_999_999_999_999_999_999,
                38,
                "-0.99999999999999999999999999999999999999",
            ),
            (
                99_999_999_999_999_999_999_999_999_999_999_999_999,
                0,
                "99999999999999999999999999999999999999",
            ),
            (i128::from(i64::MAX) + 1, 1, "922337203685477580.8"),
            (i128::from(u64::MAX), 19, "1.8446744073709551615"),
            (-i128::from(u64::MAX), 19, "-1.8446744073709551615"),
            (1, 19, "0.0000000000000000001"),
            (-1, 20, "-0.00000000000000000001"),
        ];
        for &(v, scale, want) in cases {
            assert_eq!(s(|o| write_decimal(o, v, scale)), want, "{v} scale {scale}");
        }
    }

    #[test]
    fn integers_match_std() {
        let mut cases: Vec<i64> = vec![0, 1, -1, 9, 10, 99, 100, -100, i64::MIN, i64::MAX];
        for p in 0..19 {
            let t = 10i64.pow(p);
            cases.extend([t - 1, t, t + 1, -t + 1, -t, -t - 1]);
        }
        for v in cases {
            assert_eq!(s(|o| write_i64(o, v)), v.to_string());
        }
        for v in [
            0,
            1,
            10,
            u64::MAX,
            u64::MAX / 10,
            10_000_000_000_000_000_000,
        ] {
            assert_eq!(s(|o| write_u64(o, v)), v.to_string());
        }
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..100_000 {
            let v = rng.i64(..) >> rng.u32(0..63);
            assert_eq!(s(|o| write_i64(o, v)), v.to_string());
        }
    }

    #[test]
    fn decimals_agree_with_the_wide_path() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..100_000 {
            let v = i128::from(rng.i64(..) >> rng.u32(0..63));
            let scale = rng.i8(-3..=22);
            let mut wide = Vec::new();
            write_decimal_wide(&mut wide, v, scale);
            assert_eq!(
                s(|o| write_decimal(o, v, scale)).into_bytes(),
                wide,
                "{v} {scale}"
            );
        }
    }

    #[test]
    fn both_date_algorithms_agree_on_every_four_digit_year() {
        for days in FOUR_DIGIT_YEARS {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(civil_from_days_fast(days), (y as u32, m, d), "{days}");
        }
    }

    #[test]
    fn dates_cover_the_calendar() {
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01"),
            (-1, "1969-12-31"),
            (19_723, "2024-01-01"),
            (19_782, "2024-02-29"),
            (11_016, "2000-02-29"),
            (-719_528, "0000-01-01"),
            (-719_529, "-0001-12-31"),
            (2_932_896, "9999-12-31"),
            (2_932_897, "+10000-01-01"),
            (i64::from(i32::MAX), "+5881580-07-11"),
            (i64::from(i32::MIN), "-5877641-06-23"),
        ];
        for &(days, want) in cases {
            assert_eq!(s(|o| write_date(o, days)), want, "{days}");
        }
        // Every day of four centuries agrees with chrono.
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in -200_000..200_000i64 {
            let want = (epoch + chrono::Duration::days(days)).to_string();
            assert_eq!(s(|o| write_date(o, days)), want, "{days}");
        }
    }

    #[test]
    fn timestamps_have_fixed_fraction_width_per_unit() {
        use TimeUnit::*;
        let cases: &[(i64, TimeUnit, bool, &str)] = &[
            (0, Second, false, "1970-01-01T00:00:00"),
            (1_704_164_645, Second, true, "2024-01-02T03:04:05Z"),
            (
                1_704_164_645_123,
                Millisecond,
                false,
                "2024-01-02T03:04:05.123",
            ),
            (
                1_704_164_645_123_456,
                Microsecond,
                false,
                "2024-01-02T03:04:05.123456",
            ),
            (
                1_704_164_645_000_000,
                Microsecond,
                true,
                "2024-01-02T03:04:05.000000Z",
            ),
            (
                1_704_164_645_000_000_007,
                Nanosecond,
                true,
                "2024-01-02T03:04:05.000000007Z",
            ),
            (-1, Microsecond, false, "1969-12-31T23:59:59.999999"),
            (-1, Nanosecond, true, "1969-12-31T23:59:59.999999999Z"),
            (i64::MIN, Nanosecond, false, "1677-09-21T00:12:43.145224192"),
            (i64::MAX, Nanosecond, false, "2262-04-11T23:47:16.854775807"),
            (253_402_300_800, Second, false, "+10000-01-01T00:00:00"),
        ];
        for &(v, unit, utc, want) in cases {
            assert_eq!(
                s(|o| write_timestamp(o, v, unit, utc)),
                want,
                "{v} {unit:?}"
            );
        }
    }

    #[test]
    fn floats_are_shortest_round_trip() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (1e21, "1e21"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e16"),
            (-3.5e-7, "-3.5e-7"),
            (0.30000000000000004, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e308"),
            (5e-324, "5e-324"),
        ];
        for &(v, want) in cases {
            let got = s(|o| write_finite_float(o, v));
            assert_eq!(got, want);
            assert_eq!(got.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{want}");
        }
        assert_eq!(s(|o| write_finite_float(o, 0.1f32)), "0.1");
    }

    #[test]
    fn special_byte_scan_finds_every_position() {
        let special = SpecialBytes::new([b',', b'"', b'\r', b'\n']);
        for len in 0..40 {
            let clean = vec![b'a'; len];
            assert!(!special.any_in(&clean), "clean {len}");
            for at in 0..len {
                for &b in b",\"\r\n" {
                    let mut dirty = clean.clone();
                    dirty[at] = b;
                    assert!(special.any_in(&dirty), "{len} {at} {b}");
                }
            }
        }
        // Bytes next to the special ones (and high bytes) are not mistaken for them.
        assert!(!special.any_in("+-./\u{e9}\u{2028}\u{1f600}\x0b\x0c\t".as_bytes()));
    }

    #[test]
    fn json_escapes() {
        let cases: &[(&str, &str)] = &[
            ("", r#""""#),
            ("plain text, long enough", r#""plain text, long enough""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("line1\nline2\r\n\ttab", r#""line1\nline2\r\n\ttab""#),
            (
                "\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}",
                "\"\\u0000\\u0001\\b\\f\\u001f\u{7f}\"",
            ),
            ("héllo ✓ 😀 \u{2028}", "\"héllo ✓ 😀 \u{2028}\""),
        ];
        for &(input, want) in cases {
            let got = s(|o| write_json_str(o, input.as_bytes()));
            assert_eq!(got, want);
            let back: String = serde_json::from_str(&got).unwrap();
            assert_eq!(back, input);
        }
        for len in 0..20 {
            for at in 0..len {
                for b in [b'"', b'\\', 0u8, 0x1f] {
                    let mut v = vec![b'x'; len];
                    v[at] = b;
                    assert!(needs_json_escape(&v), "{len} {at} {b}");
                }
                assert!(!needs_json_escape(&vec![b' '; len]));
            }
        }
    }
}
