//! Saved accounts: rows of the `accounts` table, with the token sealed by [`super::Cipher`].

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Store, StoreError};
use crate::sas::SasToken;

const NOT_FOUND_HINT: &str = "; `writeback account list` shows the saved accounts";

/// What is stored about an account, without its token.
#[derive(Debug, Clone, Serialize)]
pub struct AccountRecord {
    /// The local name the user chose.
    pub name: String,
    /// The Azure storage account name.
    pub storage_account: String,
    /// The Blob service endpoint, without any query string.
    pub endpoint: String,
    /// The token's `ss` letters.
    pub services: String,
    /// The token's `srt` letters.
    pub resource_types: String,
    /// The token's `sp` letters.
    pub permissions: String,
    /// When the token expires (`se`).
    pub expiry: DateTime<Utc>,
    /// Who saved the account.
    pub created_by: String,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
    /// When it was last changed (token rotation).
    pub updated_at: DateTime<Utc>,
}

/// An account to save: the record's facts plus the token to seal.
#[derive(Debug)]
pub struct NewAccount<'a> {
    /// The facts stored in clear.
    pub record: AccountRecord,
    /// The token, sealed before it reaches the database.
    pub token: &'a SasToken,
}

const COLUMNS: &str = "name, storage_account, endpoint, services, resource_types, permissions, \
                       expiry, created_by, created_at, updated_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        name: row.get(0)?,
        storage_account: row.get(1)?,
        endpoint: row.get(2)?,
        services: row.get(3)?,
        resource_types: row.get(4)?,
        permissions: row.get(5)?,
        expiry: row.get(6)?,
        created_by: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

impl Store {
    /// Saves a new account; fails with [`StoreError::Duplicate`] if the name is taken.
    pub fn insert_account(&self, new: &NewAccount<'_>) -> Result<(), StoreError> {
        let r = &new.record;
        let (nonce, cipher) = self
            .cipher
            .seal(&r.name, new.token.expose_secret().as_bytes());
        let res = self.conn.execute(
            "INSERT INTO accounts (name, storage_account, endpoint, token_nonce, token_cipher, \
             services, resource_types, permissions, expiry, created_by, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                r.name,
                r.storage_account,
                r.endpoint,
                nonce,
                cipher,
                r.services,
                r.resource_types,
                r.permissions,
                r.expiry,
                r.created_by,
                r.created_at,
                r.updated_at
            ],
        );
        self.inserted(res, "account", &r.name)
    }

    /// One account's record.
    pub fn account(&self, name: &str) -> Result<AccountRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM accounts WHERE name = ?1"),
                [name],
                from_row,
            )
            .optional()
            .map_err(|e| self.sql_err(e))?
            .ok_or_else(|| StoreError::NotFound {
                kind: "account",
                name: name.to_owned(),
                hint: NOT_FOUND_HINT,
            })
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM accounts ORDER BY name"))
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt.query_map([], from_row).map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql_err(e))
    }

    /// The decrypted token of an account.
    pub fn account_token(&self, name: &str) -> Result<SasToken, StoreError> {
        let sealed: Option<(Vec<u8>, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT token_nonce, token_cipher FROM accounts WHERE name = ?1",
                [name],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let (nonce, cipher) = sealed.ok_or_else(|| StoreError::NotFound {
            kind: "account",
            name: name.to_owned(),
            hint: NOT_FOUND_HINT,
        })?;
        let undecryptable = || StoreError::Undecryptable {
            account: name.to_owned(),
        };
        let plain = self
            .cipher
            .open(name, &nonce, &cipher)
            .ok_or_else(undecryptable)?;
        let text = String::from_utf8(plain).map_err(|_| undecryptable())?;
        Ok(SasToken::from_canonical(text))
    }

    /// Replaces an account's token and the facts derived from it (rotation).
    pub fn update_account_token(&self, new: &NewAccount<'_>) -> Result<(), StoreError> {
        let r = &new.record;
        let (nonce, cipher) = self
            .cipher
            .seal(&r.name, new.token.expose_secret().as_bytes());
        let changed = self
            .conn
            .execute(
                "UPDATE accounts SET token_nonce = ?2, token_cipher = ?3, services = ?4, \
                 resource_types = ?5, permissions = ?6, expiry = ?7, updated_at = ?8 \
                 WHERE name = ?1",
                params![
                    r.name,
                    nonce,
                    cipher,
                    r.services,
                    r.resource_types,
                    r.permissions,
                    r.expiry,
                    r.updated_at
                ],
            )
            .map_err(|e| self.sql_err(e))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                kind: "account",
                name: r.name.clone(),
                hint: NOT_FOUND_HINT,
            });
        }
        Ok(())
    }

    /// Removes an account.
    pub fn remove_account(&self, name: &str) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute("DELETE FROM accounts WHERE name = ?1", [name])
            .map_err(|e| self.sql_err(e))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                kind: "account",
                name: name.to_owned(),
                hint: NOT_FOUND_HINT,
            });
        }
        Ok(())
    }
}
