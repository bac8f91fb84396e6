//! The local dataset catalog: input datasets imported from CSV, JSON Lines or Parquet files,
//! identified by GUIDs, stored as Parquet under `<home>/datasets/`, with one owner and any
//! number of co-owners.
//!
//! Rules every command follows:
//! - only the owner and co-owners may read a dataset's rows or schema, or replace its data; only
//!   the owner may share, unshare or remove it;
//! - bad input changes nothing: an import or replace writes to a temporary file and renames it
//!   into place only after the metadata is committed, so a failure leaves no trace;
//! - a dataset in use by a writeback cannot be removed.
//!
//! [`crate::source`] reads datasets for exports; [`crate::store`] holds their metadata.

mod convert;
mod csv;
mod error;
mod import;
mod infer;
mod preview;
mod schema;
mod storage;
mod values;

pub use error::{Action, CatalogError, InputError};
pub use preview::Preview;
pub use schema::{ColumnInfo, SchemaChanges, TypeChange, columns, type_name};
pub use storage::{DATASETS_DIR, data_path};

use std::path::Path;
use std::str::FromStr;

use chrono::Utc;
use serde::Serialize;

use crate::error::Result;
use crate::store::{DatasetRecord, Home, Store};

/// Longest dataset name: names are shown in tables and typed on command lines.
const MAX_NAME_CHARS: usize = 200;

/// Longest user name accepted as a co-owner.
const MAX_USER_CHARS: usize = 256;

/// A dataset's ID: a GUID, always shown lower-case and hyphenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatasetId(uuid::Uuid);

impl DatasetId {
    /// A new random (version 4) ID.
    pub fn random() -> DatasetId {
        DatasetId(uuid::Uuid::new_v4())
    }
}

impl FromStr for DatasetId {
    type Err = CatalogError;

    /// Accepts a GUID in any of its usual spellings (hyphenated, braced, upper-case, `urn:uuid:`).
    fn from_str(s: &str) -> Result<DatasetId, CatalogError> {
        uuid::Uuid::try_parse(s.trim())
            .map(DatasetId)
            .map_err(|_| CatalogError::InvalidId {
                given: s.to_owned(),
            })
    }
}

impl std::fmt::Display for DatasetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The formats a dataset can be imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values (RFC 4180) with a header row; gzip-compressed files are accepted.
    Csv,
    /// JSON Lines: one JSON object per line; gzip-compressed files are accepted.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format's name, as stored and as typed after `--format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    /// The format a file name implies, and for CSV the delimiter it implies (tab for `.tsv`).
    pub fn from_file_name(path: &Path) -> Option<(Format, u8)> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        Some(match ext {
            "csv" | "txt" => (Format::Csv, b','),
            "tsv" | "tab" => (Format::Csv, b'\t'),
            "jsonl" | "ndjson" => (Format::Jsonl, b','),
            "parquet" | "pq" => (Format::Parquet, b','),
            _ => return None,
        })
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!("unknown format '{s}': use csv, jsonl or parquet")),
        }
    }
}

/// What `dataset import` and `dataset replace` take besides the file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The dataset's name (import only); defaults to the file name without its extensions.
    pub name: Option<String>,
    /// The file's format; defaults to the one its extension implies.
    pub format: Option<Format>,
    /// The CSV field delimiter; defaults to tab for `.tsv` files and `,` otherwise.
    pub delimiter: Option<char>,
}

/// A dataset as shown to its owners: its record and its co-owners.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetView {
    /// What is stored.
    #[serde(flatten)]
    pub record: DatasetRecord,
    /// Users who may read and replace it besides its owner.
    pub co_owners: Vec<String>,
}

/// The result of `dataset replace`.
#[derive(Debug, Clone, Serialize)]
pub struct Replaced {
    /// The dataset with its new data.
    pub dataset: DatasetView,
    /// How its schema changed.
    pub changes: SchemaChanges,
    /// Rows before the replacement.
    pub previous_rows: u64,
}

/// The result of `dataset share` and `dataset unshare`.
#[derive(Debug, Clone, Serialize)]
pub struct Sharing {
    /// The dataset as it is now.
    pub dataset: DatasetView,
    /// The user added or removed.
    pub co_owner: String,
    /// False when nothing changed (already a co-owner).
    pub changed: bool,
}

/// The catalog of one home directory, seen through its database.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    store: &'a Store,
    home: &'a Home,
}

impl<'a> Catalog<'a> {
    /// The catalog whose metadata is in `store` and whose files are under `home`.
    pub fn new(store: &'a Store, home: &'a Home) -> Catalog<'a> {
        Catalog { store, home }
    }

    /// Imports a file as a new dataset owned by `user`.
    pub fn import(&self, path: &Path, opts: &ImportOptions, user: &str) -> Result<DatasetView> {
        let name = match &opts.name {
            Some(n) => validate_name(n)?,
            None => default_name(path),
        };
        let (format, delimiter) = resolve_format(path, opts)?;
        let dir = storage::datasets_dir(self.home)?;
        storage::sweep_stale_temp_files(&dir);
        let id = DatasetId::random().to_string();
        let (tmp, file) = storage::TempFile::create(&dir, &id)?;
        let ingested = import::ingest(path, format, delimiter, file, tmp.path())?;
        let now = Utc::now();
        let record = DatasetRecord {
            id: id.clone(),
            name,
            format: format.as_str().to_owned(),
            source_file: file_name(path),
            rows: ingested.rows,
            bytes: ingested.bytes,
            columns: schema::columns(&ingested.schema),
            owner: user.to_owned(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_dataset(&record)?;
        if let Err(e) = tmp.persist(&data_path(self.home, &id)) {
            // Without its file the row would be a dataset nobody can read: take it back.
            let _ = self.store.delete_dataset(&id);
            return Err(e.into());
        }
        Ok(DatasetView {
            record,
            co_owners: Vec::new(),
        })
    }

    /// Replaces a dataset's data with a file's, keeping its ID, name, owner and co-owners.
    /// Readers see the old data or the new, never a mixture.
    pub fn replace(
        &self,
        id: &DatasetId,
        path: &Path,
        opts: &ImportOptions,
        user: &str,
    ) -> Result<Replaced> {
        let old = self.authorize(id, user, Action::Replace)?;
        let (format, delimiter) = resolve_format(path, opts)?;
        let dir = storage::datasets_dir(self.home)?;
        let (tmp, file) = storage::TempFile::create(&dir, &old.id)?;
        let ingested = import::ingest(path, format, delimiter, file, tmp.path())?;
        let record = DatasetRecord {
            format: format.as_str().to_owned(),
            source_file: file_name(path),
            rows: ingested.rows,
            bytes: ingested.bytes,
            columns: schema::columns(&ingested.schema),
            updated_at: Utc::now(),
            ..old.clone()
        };
        self.store.update_dataset_data(&record)?;
        if let Err(e) = tmp.persist(&data_path(self.home, &old.id)) {
            // The old file is still in place: put its metadata back.
            let _ = self.store.update_dataset_data(&old);
            return Err(e.into());
        }
        let changes = SchemaChanges::between(&old.columns, &record.columns);
        let co_owners = self.store.dataset_co_owners(&record.id)?;
        Ok(Replaced {
            dataset: DatasetView { record, co_owners },
            changes,
            previous_rows: old.rows,
        })
    }

    /// The datasets `user` owns or co-owns.
    pub fn list(&self, user: &str) -> Result<Vec<DatasetRecord>> {
        Ok(self.store.datasets_of(user)?)
    }

    /// A dataset's metadata, schema and co-owners, for its owners.
    pub fn show(&self, id: &DatasetId, user: &str) -> Result<DatasetView> {
        let record = self.authorize(id, user, Action::Read)?;
        let co_owners = self.store.dataset_co_owners(&record.id)?;
        Ok(DatasetView { record, co_owners })
    }

    /// The first `rows` rows of a dataset, for its owners.
    pub fn preview(&self, id: &DatasetId, user: &str, rows: usize) -> Result<Preview> {
        let source = crate::source::open_dataset(self.store, self.home, id, user)?;
        let total_rows = source.row_count();
        let columns = schema::columns(&source.schema());
        let mut out = Vec::with_capacity(rows.min(10_000));
        if rows > 0 {
            for batch in source.batches()? {
                let batch = batch?;
                preview::append_rows(&batch, rows, &mut out).map_err(|message| {
                    CatalogError::Storage {
                        path: data_path(self.home, &id.to_string()),
                        message,
                    }
                })?;
                if out.len() >= rows {
                    break;
                }
            }
        }
        Ok(Preview {
            id: id.to_string(),
            columns,
            rows: out,
            total_rows,
        })
    }

    /// Makes `co_owner` a co-owner; only the owner may.
    pub fn share(&self, id: &DatasetId, user: &str, co_owner: &str) -> Result<Sharing> {
        let co_owner = validate_user(co_owner)?;
        let record = self.authorize(id, user, Action::Share)?;
        if co_owner == record.owner {
            return Err(CatalogError::Sharing(format!(
                "'{co_owner}' owns dataset {}; an owner already has every right a co-owner would",
                record.id
            ))
            .into());
        }
        let changed = self
            .store
            .add_dataset_co_owner(&record.id, &co_owner, user, Utc::now())?;
        let co_owners = self.store.dataset_co_owners(&record.id)?;
        Ok(Sharing {
            dataset: DatasetView { record, co_owners },
            co_owner,
            changed,
        })
    }

    /// Removes `co_owner` from the co-owners; the owner may remove anyone, and a co-owner may
    /// remove themselves.
    pub fn unshare(&self, id: &DatasetId, user: &str, co_owner: &str) -> Result<Sharing> {
        let co_owner = validate_user(co_owner)?;
        let action = if co_owner == user {
            Action::Read
        } else {
            Action::Share
        };
        let record = self.authorize(id, user, action)?;
        if !self.store.remove_dataset_co_owner(&record.id, &co_owner)? {
            return Err(CatalogError::Sharing(format!(
                "'{co_owner}' is not a co-owner of dataset {}; `writeback dataset show {}` lists \
                 its co-owners",
                record.id, record.id
            ))
            .into());
        }
        let co_owners = self.store.dataset_co_owners(&record.id)?;
        Ok(Sharing {
            dataset: DatasetView { record, co_owners },
            co_owner,
            changed: true,
        })
    }

    /// Removes a dataset and its data file; only the owner may, and not while a writeback uses
    /// it.
    pub fn remove(&self, id: &DatasetId, user: &str) -> Result<DatasetRecord> {
        let record = self.authorize(id, user, Action::Remove)?;
        let writebacks = self.store.writebacks_using_dataset(&record.id)?;
        if !writebacks.is_empty() {
            return Err(CatalogError::InUse {
                id: record.id,
                writebacks,
            }
            .into());
        }
        self.store.delete_dataset(&record.id)?;
        let path = data_path(self.home, &record.id);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            // The dataset is gone from the catalog; a leftover file is only wasted space.
            tracing::warn!(path = %path.display(), error = %e, "cannot delete a removed dataset's file");
        }
        Ok(record)
    }

    /// The dataset's record if `user` may do `action` to it; otherwise a not-found or
    /// not-permitted error that says who can grant access.
    pub fn authorize(&self, id: &DatasetId, user: &str, action: Action) -> Result<DatasetRecord> {
        let record = self
            .store
            .find_dataset(&id.to_string())?
            .ok_or_else(|| CatalogError::UnknownDataset { id: id.to_string() })?;
        let allowed = record.owner == user
            || (matches!(action, Action::Read | Action::Replace)
                && self.store.is_dataset_co_owner(&record.id, user)?);
        if !allowed {
            return Err(CatalogError::NotPermitted {
                id: record.id,
                user: user.to_owned(),
                owner: record.owner,
                action,
            }
            .into());
        }
        Ok(record)
    }
}

fn resolve_format(path: &Path, opts: &ImportOptions) -> Result<(Format, u8), CatalogError> {
    let implied = Format::from_file_name(path);
    let format = match (opts.format, implied) {
        (Some(f), _) => f,
        (None, Some((f, _))) => f,
        (None, None) => return Err(CatalogError::input(path, InputError::UnknownFormat)),
    };
    let delimiter = match opts.delimiter {
        Some(c) if c.is_ascii() && !matches!(c, '"' | '\r' | '\n') => c as u8,
        Some(c) => {
            return Err(CatalogError::input(
                path,
                InputError::Option(format!(
                    "the delimiter {c:?} cannot be used: pick one ASCII character other than a \
                     quote or a line break"
                )),
            ));
        }
        None => implied
            .filter(|(f, _)| *f == Format::Csv)
            .map_or(b',', |(_, d)| d),
    };
    Ok((format, delimiter))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file name without its directory and known extensions: `sales.csv.gz` → `sales`.
fn default_name(path: &Path) -> String {
    let mut name = file_name(path);
    for ext in [
        ".gz", ".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".parquet", ".pq",
    ] {
        if name.len() > ext.len() && name.to_ascii_lowercase().ends_with(ext) {
            name.truncate(name.len() - ext.len());
        }
    }
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if name.trim().is_empty() {
        "dataset".into()
    } else {
        name
    }
}

fn validate_name(name: &str) -> Result<String, CatalogError> {
    let trimmed = name.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_NAME_CHARS
        || trimmed.chars().any(char::is_control)
    {
        return Err(CatalogError::InvalidValue(format!(
            "'{name}' is not a usable dataset name: use 1 to {MAX_NAME_CHARS} characters, no \
             line breaks or control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

fn validate_user(user: &str) -> Result<String, CatalogError> {
    let trimmed = user.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_USER_CHARS
        || trimmed.chars().any(char::is_control)
    {
        return Err(CatalogError::InvalidValue(format!(
            "'{user}' is not a user name: use 1 to {MAX_USER_CHARS} characters without control \
             characters"
        )));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_guids() {
        let id: DatasetId = "845305D8-DA3D-4107-A9D6-13EF3F86D4A4".parse().unwrap();
        assert_eq!(id.to_string(), "845305d8-da3d-4107-a9d6-13ef3f86d4a4");
        assert!("845305d8".parse::<DatasetId>().is_err());
        assert!("../../etc/passwd".parse::<DatasetId>().is_err());
        assert_ne!(DatasetId::random(), DatasetId::random());
    }

    #[test]
    fn formats_from_file_names() {
        let f = |n: &str| Format::from_file_name(Path::new(n));
        assert_eq!(f("a/sales.csv"), Some((Format::Csv, b',')));
        assert_eq!(f("sales.CSV.gz"), Some((Format::Csv, b',')));
        assert_eq!(f("sales.tsv"), Some((Format::Csv, b'\t')));
        assert_eq!(f("events.jsonl.gz"), Some((Format::Jsonl, b',')));
        assert_eq!(f("t.parquet"), Some((Format::Parquet, b',')));
        assert_eq!(f("data.xlsx"), None);
        assert_eq!(f("noext"), None);
    }

    #[test]
    fn default_names_drop_extensions() {
        assert_eq!(default_name(Path::new("/tmp/sales.csv.gz")), "sales");
        assert_eq!(default_name(Path::new("q1.report.parquet")), "q1.report");
        assert_eq!(default_name(Path::new(".csv")), ".csv");
    }
}
