//! CSV per RFC 4180, written straight into the caller's buffer.
//!
//! Rules, chosen so that a reader gets back exactly what was written:
//! - fields are separated by the delimiter and records end with the line ending (CRLF by
//!   default, as RFC 4180 §2 says; LF on request), the last record included;
//! - a field is quoted only when it must be: when it contains the delimiter, the quote
//!   character, CR or LF (RFC 4180), when it starts or ends with a space or tab (readers that
//!   trim unquoted fields would lose them), when it is empty (so `""` is an empty string and an
//!   empty unquoted field is a missing value), or when it equals the null text (so the string
//!   `NULL` stays a string when missing values are written as `NULL`); inside quotes the quote
//!   character is doubled;
//! - a missing value is the null text, unquoted (empty by default);
//! - numbers are written exactly: integers in full, decimals with every digit of their scale
//!   (`12.50`), floats in the shortest form that parses back to the same value (`0.1`, `1e21`),
//!   with `NaN`, `inf` and `-inf` for the non-finite values (the spellings Rust, Python, pandas
//!   and DuckDB all read back as floats);
//! - booleans are `true`/`false`; dates are `YYYY-MM-DD`; timestamps are ISO 8601 with as many
//!   fractional digits as their unit holds (3, 6 or 9), and `Z` when the column has a time zone
//!   (values are instants and are written in UTC, whatever the zone's name);
//! - other types (times, durations, intervals, binary, lists, structs, ...) use Arrow's display
//!   format, quoted when needed like any text.

use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, SchemaRef};

use super::Encoder;
use super::column::{Column, Values, check_schema, columns, prepare};
use super::error::EncodeError;
use super::text::{SpecialBytes, VecWriter, write_date, write_finite_float, write_timestamp};

/// The UTF-8 byte order mark, which spreadsheet programs need to read a CSV file as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How records end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    /// `\r\n`, as RFC 4180 specifies and Excel, Python's `csv` module and .NET write.
    #[default]
    CrLf,
    /// `\n`, as most Unix tools write.
    Lf,
}

impl LineEnding {
    /// The bytes that end a record.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            LineEnding::CrLf => b"\r\n",
            LineEnding::Lf => b"\n",
        }
    }
}

/// How CSV output is written.
///
/// ```
/// use writeback::encode::{CsvOptions, LineEnding};
///
/// let opts = CsvOptions { delimiter: b';', line_ending: LineEnding::Lf, ..CsvOptions::default() };
/// opts.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CsvOptions {
    /// Separates fields: an ASCII byte other than CR, LF and the quote. Default `,`.
    pub delimiter: u8,
    /// Encloses fields that need it: an ASCII byte other than CR, LF and the delimiter.
    /// Default `"`.
    pub quote: u8,
    /// Whether the first record names the columns. Default true.
    pub header: bool,
    /// Written for a missing value, unquoted. Default empty, which readers that follow RFC 4180
    /// and the catalog's importer read as missing (an empty string is written `""`).
    pub null_text: String,
    /// How records end. Default CRLF (RFC 4180); every common reader accepts both, and the
    /// extra byte per row costs under 1% of output size.
    pub line_ending: LineEnding,
    /// Whether the file starts with a UTF-8 byte order mark, which Excel needs to read non-ASCII
    /// text correctly. Default false: most other tools treat it as part of the first column's
    /// name.
    pub bom: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            quote: b'"',
            header: true,
            null_text: String::new(),
            line_ending: LineEnding::CrLf,
            bom: false,
        }
    }
}

/// How a byte is shown in an error: as it would be typed, with Rust-style escapes.
fn show_byte(b: u8) -> String {
    format!("{:?}", char::from(b))
}

impl CsvOptions {
    /// Checks that the options produce a file that can be read back unambiguously.
    pub fn validate(&self) -> Result<(), EncodeError> {
        let byte_rule = |option: &'static str, b: u8, other: u8| {
            let rule = if !b.is_ascii() {
                "it must be a single ASCII character"
            } else if b == b'\r' || b == b'\n' {
                "line breaks end records"
            } else if b == other {
                "the delimiter and the quote character must differ"
            } else {
                return Ok(());
            };
            Err(EncodeError::CsvOption {
                option,
                value: show_byte(b),
                rule,
            })
        };
        byte_rule("delimiter", self.delimiter, self.quote)?;
        byte_rule("quote character", self.quote, self.delimiter)?;
        let null = self.null_text.as_bytes();
        let rule = if null.contains(&self.delimiter) {
            "it cannot contain the delimiter"
        } else if null.contains(&self.quote) {
            "it cannot contain the quote character"
        } else if null.contains(&b'\r') || null.contains(&b'\n') {
            "it cannot contain a line break"
        } else {
            return Ok(());
        };
        Err(EncodeError::CsvOption {
            option: "null text",
            value: format!("{:?}", self.null_text),
            rule,
        })
    }
}

/// Bytes that the native writers of non-text types can produce: digits, signs, `.`, `:`, the
/// letters of `e`, `T`, `Z`, `NaN`, `inf`, `true` and `false`. When the delimiter or the quote
/// is one of them, or the null text is made of them only (`0`, `NaN`, `-`), those values too
/// must be checked for quoting.
fn typed_alphabet_contains(b: u8) -> bool {
    b.is_ascii_digit() || b"+-.:eTZNanifrulst".contains(&b)
}

/// Streams CSV records.
pub(crate) struct CsvEncoder {
    schema: SchemaRef,
    delimiter: u8,
    quote: u8,
    eol: &'static [u8],
    null_text: Vec<u8>,
    special: SpecialBytes,
    /// Whether values of non-text types must be checked for quoting too (see
    /// [`typed_alphabet_contains`]).
    scan_typed: bool,
    /// The BOM and header, written before the first record or at finish, whichever comes first.
    preamble: Option<Vec<u8>>,
    finished: bool,
    /// Holds a formatted value while it is rewritten with quotes.
    scratch: Vec<u8>,
}

impl CsvEncoder {
    pub(crate) fn new(
        opts: &CsvOptions,
        schema: SchemaRef,
        write_header: bool,
    ) -> Result<Self, EncodeError> {
        opts.validate()?;
        let mut enc = CsvEncoder {
            schema,
            delimiter: opts.delimiter,
            quote: opts.quote,
            eol: opts.line_ending.as_bytes(),
            null_text: opts.null_text.clone().into_bytes(),
            special: SpecialBytes::new([opts.delimiter, opts.quote, b'\r', b'\n']),
            scan_typed: typed_alphabet_contains(opts.delimiter)
                || typed_alphabet_contains(opts.quote)
                || (!opts.null_text.is_empty()
                    && opts.null_text.bytes().all(typed_alphabet_contains)),
            preamble: None,
            finished: false,
            scratch: Vec::new(),
        };
        if write_header {
            let mut pre = Vec::new();
            if opts.bom {
                pre.extend_from_slice(BOM);
            }
            if opts.header {
                let schema = enc.schema.clone();
                for (i, field) in schema.fields().iter().enumerate() {
                    if i > 0 {
                        pre.push(enc.delimiter);
                    }
                    enc.write_text(field.name().as_bytes(), &mut pre);
                }
                pre.extend_from_slice(enc.eol);
            }
            enc.preamble = Some(pre);
        }
        Ok(enc)
    }

    #[inline]
    fn needs_quotes(&self, s: &[u8]) -> bool {
        match s {
            [] => true,
            [first, .., last] | [first @ last] => {
                matches!(first, b' ' | b'\t')
                    || matches!(last, b' ' | b'\t')
                    || self.special.any_in(s)
                    || (!self.null_text.is_empty() && s == self.null_text.as_slice())
            }
        }
    }

    #[inline]
    fn write_text(&self, s: &[u8], out: &mut Vec<u8>) {
        if self.needs_quotes(s) {
            self.write_quoted(s, out);
        } else {
            out.extend_from_slice(s);
        }
    }

    #[cold]
    fn write_quoted(&self, s: &[u8], out: &mut Vec<u8>) {
        let q = self.quote;
        out.reserve(s.len() + 2);
        out.push(q);
        for part in s.split_inclusive(|&b| b == q) {
            out.extend_from_slice(part);
            if part.last() == Some(&q) {
                out.push(q);
            }
        }
        out.push(q);
    }

    /// Quotes the value just written at `out[start..]` if it needs it.
    #[inline]
    fn quote_written(&mut self, start: usize, out: &mut Vec<u8>) {
        if self.needs_quotes(&out[start..]) {
            self.scratch.clear();
            self.scratch.extend_from_slice(&out[start..]);
            out.truncate(start);
            let scratch = std::mem::take(&mut self.scratch);
            self.write_quoted(&scratch, out);
            self.scratch = scratch;
        }
    }

    #[inline]
    fn write_cell(
        &mut self,
        col: &Column,
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ArrowError> {
        if col.is_null(row) {
            out.extend_from_slice(&self.null_text);
            return Ok(());
        }
        let start = out.len();
        match &col.values {
            Values::Utf8(a) => {
                self.write_text(a.value(row).as_bytes(), out);
                return Ok(());
            }
            Values::LargeUtf8(a) => {
                self.write_text(a.value(row).as_bytes(), out);
                return Ok(());
            }
            Values::Utf8View(a) => {
                self.write_text(a.value(row).as_bytes(), out);
                return Ok(());
            }
            Values::F32(v) => write_csv_float(out, v[row]),
            Values::F64(v) => write_csv_float(out, v[row]),
            Values::Date32(v) => write_date(out, i64::from(v[row])),
            Values::Timestamp { values, unit, utc } => {
                write_timestamp(out, values[row], *unit, *utc)
            }
            Values::Other(f) => {
                f.value(row).write(&mut VecWriter(out))?;
                self.quote_written(start, out);
                return Ok(());
            }
            exact => exact.write_exact(row, out),
        }
        if self.scan_typed {
            self.quote_written(start, out);
        }
        Ok(())
    }

    fn write_preamble(&mut self, out: &mut Vec<u8>) {
        if let Some(pre) = self.preamble.take() {
            out.extend_from_slice(&pre);
        }
    }
}

#[inline]
fn write_csv_float<F: ryu::Float + Into<f64> + Copy>(out: &mut Vec<u8>, v: F) {
    let wide: f64 = v.into();
    if wide.is_finite() {
        write_finite_float(out, v);
    } else {
        write_non_finite(out, wide);
    }
}

#[cold]
fn write_non_finite(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(if v.is_nan() {
        b"NaN"
    } else if v > 0.0 {
        b"inf"
    } else {
        b"-inf"
    });
}

impl Encoder for CsvEncoder {
    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        check_schema(&self.schema, batch)?;
        self.write_preamble(out);
        let arrays = prepare(batch)?;
        let cols = columns(&self.schema, &arrays)?;
        let delimiter = self.delimiter;
        let eol = self.eol;
        for row in 0..batch.num_rows() {
            for (i, col) in cols.iter().enumerate() {
                if i > 0 {
                    out.push(delimiter);
                }
                self.write_cell(col, row, out).map_err(|source| {
                    let field = self.schema.field(i);
                    EncodeError::Format {
                        column: field.name().clone(),
                        data_type: arrays[i].data_type().clone(),
                        source,
                    }
                })?;
            }
            out.extend_from_slice(eol);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        self.write_preamble(out);
        self.finished = true;
        Ok(())
    }
}
