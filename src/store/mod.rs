//! Local state: one SQLite database under the home directory, plus the key file that encrypts
//! tokens at rest. This is the only module that speaks SQL.
//!
//! Schema changes are append-only [`MIGRATIONS`], applied in order and tracked with SQLite's
//! `user_version`, so a home directory made by an older build upgrades itself on open.

mod accounts;
mod crypto;
mod datasets;
mod writebacks;

pub use accounts::{AccountRecord, NewAccount};
pub use crypto::Cipher;
pub use datasets::DatasetRecord;
pub use writebacks::{Busy, RunRecord, RunStatus, Trigger, WritebackRecord};

use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// File name of the database inside the home directory.
pub const DB_FILE: &str = "writeback.db";

/// Schema migrations, applied in order; never edit one that has shipped, append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: saved accounts. The token is stored only as ciphertext; the columns beside it are the
    // token's non-secret facts, kept so `account list` never needs to decrypt.
    "CREATE TABLE accounts (
        name            TEXT PRIMARY KEY NOT NULL,
        storage_account TEXT NOT NULL,
        endpoint        TEXT NOT NULL,
        token_nonce     BLOB NOT NULL,
        token_cipher    BLOB NOT NULL,
        services        TEXT NOT NULL,
        resource_types  TEXT NOT NULL,
        permissions     TEXT NOT NULL,
        expiry          TEXT NOT NULL,
        created_by      TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    ) STRICT;",
    // 2: catalog datasets. The data is a Parquet file named after the ID under
    // `<home>/datasets/`; `schema` is the JSON list of column descriptions, kept here so that
    // listing and diffing schemas never opens a data file. Co-owners go with their dataset.
    "CREATE TABLE datasets (
        id          TEXT PRIMARY KEY NOT NULL,
        name        TEXT NOT NULL,
        format      TEXT NOT NULL,
        source_file TEXT NOT NULL,
        rows        INTEGER NOT NULL,
        bytes       INTEGER NOT NULL,
        schema      TEXT NOT NULL,
        owner       TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    ) STRICT;
    CREATE INDEX datasets_by_owner ON datasets (owner);
    CREATE TABLE dataset_co_owners (
        dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
        user       TEXT NOT NULL,
        added_by   TEXT NOT NULL,
        added_at   TEXT NOT NULL,
        PRIMARY KEY (dataset_id, user)
    ) STRICT;
    CREATE INDEX dataset_co_owners_by_user ON dataset_co_owners (user);",
    // 3: writebacks (saved exports) and their runs. An account or dataset in use cannot be
    // deleted (RESTRICT); run history outlives its writeback, so runs keep the name, not a key.
    "CREATE TABLE writebacks (
        name            TEXT PRIMARY KEY NOT NULL,
        description     TEXT NOT NULL,
        owner           TEXT NOT NULL,
        account         TEXT NOT NULL REFERENCES accounts (name) ON DELETE RESTRICT,
        container       TEXT NOT NULL,
        dataset_id      TEXT NOT NULL REFERENCES datasets (id) ON DELETE RESTRICT,
        output          TEXT NOT NULL,
        schedule        TEXT NOT NULL,
        retry_attempts  INTEGER NOT NULL,
        retry_delay_s   INTEGER NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX writebacks_by_account ON writebacks (account);
    CREATE INDEX writebacks_by_dataset ON writebacks (dataset_id);
    CREATE TABLE runs (
        id          TEXT PRIMARY KEY NOT NULL,
        writeback   TEXT NOT NULL,
        trigger     TEXT NOT NULL,
        attempt     INTEGER NOT NULL,
        status      TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        ended_at    TEXT,
        rows        INTEGER,
        bytes       INTEGER,
        blob        TEXT,
        url         TEXT,
        etag        TEXT,
        md5         TEXT,
        error       TEXT,
        retriable   INTEGER NOT NULL DEFAULT 0,
        process     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX runs_by_writeback ON runs (writeback, started_at);
    CREATE INDEX runs_by_status ON runs (status);",
];

/// Errors reading or writing local state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("the local database at {path} failed: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A file or directory of the home directory could not be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The key file exists but is not a key this program wrote.
    #[error(
        "the key file {path} is damaged ({reason}); restore it from a backup, or remove it and \
         the database to start afresh"
    )]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A stored secret could not be decrypted with the key file.
    #[error(
        "the saved token of account '{account}' cannot be decrypted with the key file in this \
         home directory; save it again with `writeback account update {account} --sas-token ...`"
    )]
    Undecryptable {
        /// The account whose token failed.
        account: String,
    },
    /// A named object does not exist.
    #[error("no {kind} named '{name}' exists{hint}")]
    NotFound {
        /// What was looked up ("account", "dataset", ...).
        kind: &'static str,
        /// The name or ID given.
        name: String,
        /// A hint such as "; `writeback account list` shows the saved ones".
        hint: &'static str,
    },
    /// A name is already taken.
    #[error("{kind} '{name}' already exists; choose another name or remove the existing one first")]
    Duplicate {
        /// What was being created.
        kind: &'static str,
        /// The name given.
        name: String,
    },
}

impl StoreError {
    /// True when a named object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    /// True when the request conflicts with existing state (a duplicate name).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Duplicate { .. })
    }
}

/// The home directory: where the database, the key file and dataset files live.
#[derive(Debug, Clone)]
pub struct Home {
    dir: PathBuf,
}

impl Home {
    /// The home directory given explicitly (`--home`, `WRITEBACK_HOME`), else the user's XDG data
    /// directory (`~/.local/share/writeback` on Linux).
    pub fn resolve(explicit: Option<PathBuf>) -> Home {
        let dir = explicit
            .or_else(|| dirs::data_dir().map(|d| d.join("writeback")))
            .unwrap_or_else(|| PathBuf::from(".writeback"));
        Home { dir }
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory (owner-only) if it does not exist yet.
    pub fn ensure(&self) -> Result<(), StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        if self.dir.is_dir() {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| StoreError::Io {
                path: self.dir.clone(),
                source,
            })
    }
}

/// An open connection to the local state.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    cipher: Cipher,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database and key file under `home`, applying migrations.
    pub fn open(home: &Home) -> Result<Store, StoreError> {
        home.ensure()?;
        let path = home.dir().join(DB_FILE);
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(sql)?;
        // WAL lets `serve` and a CLI command use the database at the same time; the busy
        // timeout turns their brief write overlaps into waits instead of errors.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        migrate(&mut conn).map_err(sql)?;
        let cipher = Cipher::load_or_create(home.dir())?;
        Ok(Store { conn, path, cipher })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
    /// The outcome of an INSERT: a clash on the primary key is [`StoreError::Duplicate`] for the
    /// `kind` named `name`; other constraint failures (foreign keys) stay database errors.
    fn inserted(
        &self,
        res: rusqlite::Result<usize>,
        kind: &'static str,
        name: &str,
    ) -> Result<(), StoreError> {
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Err(StoreError::Duplicate {
                    kind,
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(self.sql_err(e)),
        }
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
