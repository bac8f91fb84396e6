//! What can go wrong while turning record batches into file bytes.

use arrow_schema::{ArrowError, DataType};
use parquet::errors::ParquetError;

/// An encoding failure, with the option, column or type at fault.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// A CSV option cannot be used; the message names the option, its value and the rule.
    #[error("invalid CSV {option} {value}: {rule}")]
    CsvOption {
        /// The option: `delimiter`, `quote character` or `null text`.
        option: &'static str,
        /// The rejected value, as the user would type it (`","`, `"\t"`).
        value: String,
        /// Why it cannot be used.
        rule: &'static str,
    },
    /// A batch has a different number of columns than the schema the encoder was made for.
    #[error("a batch has {found} columns but the output was started with {expected}")]
    ColumnCount {
        /// Columns in the encoder's schema.
        expected: usize,
        /// Columns in the batch.
        found: usize,
    },
    /// A batch's column has a different type than the schema the encoder was made for.
    #[error("column '{column}' is {found} in a batch but the output was started with {expected}")]
    ColumnType {
        /// The column's name in the encoder's schema.
        column: String,
        /// Its type in the encoder's schema.
        expected: DataType,
        /// Its type in the batch.
        found: DataType,
    },
    /// A value of a type without a native writer could not be formatted as text.
    #[error("cannot write column '{column}' of type {data_type} as text: {source}")]
    Format {
        /// The column's name.
        column: String,
        /// Its Arrow type.
        data_type: DataType,
        /// Arrow's reason.
        #[source]
        source: ArrowError,
    },
    /// The Parquet writer failed (for example on a type Parquet cannot store).
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] ParquetError),
    /// `write_batch` or `finish` was called after `finish`.
    #[error("the encoder was used after it finished the file")]
    Finished,
}

impl EncodeError {
    /// Always false: encoding is deterministic, so the same input fails the same way again.
    pub fn is_retriable(&self) -> bool {
        false
    }
}
