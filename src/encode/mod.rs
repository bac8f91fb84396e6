//! Turns Arrow record batches into the bytes of a CSV, JSON Lines or Parquet file.
//!
//! Pure and synchronous: an [`Encoder`] appends each batch's bytes to a buffer the caller owns
//! and reuses, so the engine can cut that buffer into upload blocks without copying it again.
//! The caller drives it: `write_batch` for every batch, then `finish` once.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use writeback::encode::{CsvOptions, Format, encoder};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("id", DataType::Int64, false),
//!     Field::new("name", DataType::Utf8, true),
//! ]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![
//!     Arc::new(Int64Array::from(vec![1, 2])),
//!     Arc::new(StringArray::from(vec![Some("a, b"), None])),
//! ]).unwrap();
//!
//! let mut enc = encoder(Format::Csv, &CsvOptions::default(), schema, true).unwrap();
//! let mut out = Vec::new();
//! enc.write_batch(&batch, &mut out).unwrap();
//! enc.finish(&mut out).unwrap();
//! assert_eq!(out, b"id,name\r\n1,\"a, b\"\r\n2,\r\n");
//! ```

mod column;
mod csv;
mod error;
mod jsonl;
mod parquet;
mod text;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

pub use self::csv::{CsvOptions, LineEnding};
pub use self::error::EncodeError;
pub use self::parquet::PARQUET_ROW_GROUP_BYTES;

/// An output file format. Serialized as its name (`"csv"`, `"jsonl"`, `"parquet"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values (RFC 4180), configured by [`CsvOptions`].
    #[default]
    Csv,
    /// JSON Lines: one JSON object per row.
    Jsonl,
    /// Apache Parquet, Snappy-compressed inside, with the Arrow schema embedded.
    Parquet,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 3] = [Format::Csv, Format::Jsonl, Format::Parquet];

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    /// The blob's `Content-Type`: `text/csv` with its charset (RFC 7111), `application/x-ndjson`
    /// (the type JSON Lines tools send; there is no registered one), and
    /// `application/vnd.apache.parquet` (registered with IANA in 2024).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// The name users type: `csv`, `jsonl`, `parquet`.
    pub fn as_str(self) -> &'static str {
        self.extension()
    }

    /// Whether rows can be added to an existing file of this format by appending bytes. Parquet
    /// cannot: its footer indexes the whole file.
    pub fn supports_append(self) -> bool {
        !matches!(self, Format::Parquet)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of `csv`, `jsonl`, `parquet`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format '{0}': use csv, jsonl or parquet")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses a format name, in any case; `ndjson` and `json` are taken as JSON Lines.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            "parquet" => Ok(Format::Parquet),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// Turns record batches into file bytes, appended to a buffer the caller owns.
///
/// Call [`write_batch`](Encoder::write_batch) for every batch and then
/// [`finish`](Encoder::finish) exactly once, even when there were no batches: `finish` writes
/// what an empty dataset still needs (a CSV header, a Parquet file with zero rows). Neither call
/// clears `out`; the caller may drain it between calls (e.g. into upload blocks).
pub trait Encoder: Send {
    /// Appends the encoding of `batch`. The batch must have the schema the encoder was made
    /// with. CSV and JSON Lines append the batch's rows; Parquet appends nothing until a row
    /// group is complete and then the whole group at once (up to about
    /// [`PARQUET_ROW_GROUP_BYTES`]; when `out` is empty it takes over the encoder's buffer, whose
    /// capacity is then that large).
    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Appends whatever ends the file (everything still buffered, the Parquet footer).
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

/// Makes an encoder for `format` and `schema`.
///
/// `write_header` says whether the output starts a new file: when false (appending to an
/// existing blob) the CSV header and byte order mark are left out whatever `csv` asks for.
/// `csv` is used, and validated (see [`CsvOptions::validate`]), only for CSV.
pub fn encoder(
    format: Format,
    csv: &CsvOptions,
    schema: SchemaRef,
    write_header: bool,
) -> Result<Box<dyn Encoder>, EncodeError> {
    Ok(match format {
        Format::Csv => Box::new(csv::CsvEncoder::new(csv, schema, write_header)?),
        Format::Jsonl => Box::new(jsonl::JsonlEncoder::new(schema)),
        Format::Parquet => Box::new(parquet::ParquetEncoder::new(schema)?),
    })
}
