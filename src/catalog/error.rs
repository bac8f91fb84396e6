//! What can go wrong in the catalog, with the context a user needs to fix it.

use std::path::PathBuf;

use crate::error::ExitCode;

/// A failure of a catalog operation.
///
/// Every message is one sentence that names the dataset, file, line or column at fault. The
/// variants are grouped by what the user can do about them: fix the input
/// ([`CatalogError::Input`], [`CatalogError::InvalidId`], ...), ask someone for access
/// ([`CatalogError::NotPermitted`]), or look at the machine ([`CatalogError::Io`]).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A dataset ID that is not a GUID.
    #[error(
        "'{given}' is not a dataset ID: a dataset ID is a GUID such as \
         845305d8-da3d-4107-a9d6-13ef3f86d4a4; `writeback dataset list` shows yours"
    )]
    InvalidId {
        /// What was given.
        given: String,
    },
    /// No dataset has this ID.
    #[error(
        "no dataset has the ID {id}; `writeback dataset list` shows the datasets you own or co-own"
    )]
    UnknownDataset {
        /// The ID looked up.
        id: String,
    },
    /// The user may not do this to the dataset.
    #[error("{}", not_permitted_message(.id, .user, .owner, *.action))]
    NotPermitted {
        /// The dataset.
        id: String,
        /// Who asked.
        user: String,
        /// Who owns the dataset (and so may grant access).
        owner: String,
        /// What was refused.
        action: Action,
    },
    /// Writebacks read this dataset, so it cannot be removed.
    #[error(
        "dataset {id} is used by the writeback(s) {}; remove them or point them at another \
         dataset first",
        .writebacks.join(", ")
    )]
    InUse {
        /// The dataset.
        id: String,
        /// The writebacks that use it.
        writebacks: Vec<String>,
    },
    /// A sharing request that makes no sense (sharing with the owner, unsharing a stranger).
    #[error("{0}")]
    Sharing(String),
    /// A dataset name or user name is not acceptable.
    #[error("{0}")]
    InvalidValue(String),
    /// The file to import cannot be used; nothing was changed.
    #[error("cannot import {}: {kind}", .path.display())]
    Input {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        kind: InputError,
    },
    /// Local files (the dataset directory, a stored data file) could not be read or written.
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Writing or reading a stored Parquet file failed.
    #[error("the dataset file {} could not be processed: {message}", .path.display())]
    Storage {
        /// The stored file.
        path: PathBuf,
        /// What the Parquet or Arrow library said.
        message: String,
    },
}

/// What a user tried to do to a dataset, for permission errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read its rows or schema (show, preview, export).
    Read,
    /// Replace its data.
    Replace,
    /// Add or remove co-owners.
    Share,
    /// Remove it.
    Remove,
}

fn not_permitted_message(id: &str, user: &str, owner: &str, action: Action) -> String {
    match action {
        Action::Read | Action::Replace => format!(
            "user '{user}' may not {} dataset {id}: only its owner and co-owners may; its owner \
             '{owner}' can grant access with `writeback dataset share {id} --co-owner {user}`",
            if action == Action::Read {
                "read"
            } else {
                "replace the data of"
            }
        ),
        Action::Share => format!(
            "user '{user}' may not change who shares dataset {id}: only its owner '{owner}' may"
        ),
        Action::Remove => {
            format!("user '{user}' may not remove dataset {id}: only its owner '{owner}' may")
        }
    }
}

/// Why a file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be opened or read.
    #[error("{0}")]
    Unreadable(std::io::Error),
    /// The format cannot be told from the file name.
    #[error(
        "cannot tell its format from the file name; pass --format csv, --format jsonl or \
         --format parquet"
    )]
    UnknownFormat,
    /// Nothing to import: no bytes, or no header and no rows.
    #[error("the file is empty{0}")]
    Empty(&'static str),
    /// The bytes are not UTF-8 text.
    #[error("invalid UTF-8 at byte offset {offset}; save the file as UTF-8 and import it again")]
    InvalidUtf8 {
        /// Offset of the first invalid byte from the start of the (decompressed) file.
        offset: u64,
    },
    /// A CSV row has more or fewer fields than the header.
    #[error("line {line} has {found} field(s) but the header has {expected}")]
    Ragged {
        /// The physical line the row starts on (1-based).
        line: u64,
        /// Fields in the row.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A quoted CSV field is never closed.
    #[error("the quoted field that starts on line {line} is never closed")]
    UnclosedQuote {
        /// The line the field starts on.
        line: u64,
    },
    /// Text follows the closing quote of a CSV field.
    #[error(
        "line {line}: field {field} has text after its closing quote (a quote inside a quoted \
         field must be doubled: \"\")"
    )]
    TextAfterQuote {
        /// The line of the offending character.
        line: u64,
        /// The field's position in its row (1-based).
        field: usize,
    },
    /// Two columns have the same name.
    #[error("duplicate column name(s): {}", quote_list(.0))]
    DuplicateColumns(Vec<String>),
    /// A column has no name.
    #[error("column(s) {} have an empty name", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "))]
    EmptyColumnNames(Vec<usize>),
    /// A JSON Lines line is not valid JSON.
    #[error("line {line} is not valid JSON: {message}")]
    Json {
        /// The line (1-based).
        line: u64,
        /// What the parser said.
        message: String,
    },
    /// A JSON Lines line is valid JSON but not an object.
    #[error("line {line} is not a JSON object; JSON Lines needs one object per line")]
    NotAnObject {
        /// The line (1-based).
        line: u64,
    },
    /// A JSON object names a key twice.
    #[error("line {line} has the key '{key}' more than once")]
    DuplicateKey {
        /// The line (1-based).
        line: u64,
        /// The repeated key.
        key: String,
    },
    /// The file is not a Parquet file this program can read.
    #[error("not a readable Parquet file: {0}")]
    Parquet(String),
    /// The delimiter option is unusable.
    #[error("{0}")]
    Option(String),
    /// The file's content differed between the two passes over it.
    #[error("the file changed while it was being imported ({0}); import it again")]
    Changed(String),
}

fn quote_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CatalogError {
    /// The exit code this failure maps to: 4 for an unknown dataset or missing permission, 2 for
    /// bad input, 1 for local I/O failures.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CatalogError::UnknownDataset { .. } | CatalogError::NotPermitted { .. } => {
                ExitCode::NotFound
            }
            CatalogError::InvalidId { .. }
            | CatalogError::InUse { .. }
            | CatalogError::Sharing(_)
            | CatalogError::InvalidValue(_)
            | CatalogError::Input { .. } => ExitCode::InputRejected,
            CatalogError::Io { .. } | CatalogError::Storage { .. } => ExitCode::Failure,
        }
    }

    pub(crate) fn input(path: &std::path::Path, kind: InputError) -> CatalogError {
        CatalogError::Input {
            path: path.to_owned(),
            kind,
        }
    }
}
