//! Shared access signatures: parsing what a user pastes, checking it offline, and signing.
//!
//! `writeback` works with an **account-level** SAS only. [`parse`] turns a token, `?token` or SAS
//! URL into an [`AccountSas`] (or says exactly what is wrong, including "this is a container
//! SAS"); [`AccountSas::check_offline`] checks it against the clock, the endpoint and the
//! [`Operation`]s a writeback needs; [`sign_account_sas`] and [`sign_container_sas`] make real
//! tokens from an account key (for tests against Azurite). The token itself is a [`SasToken`],
//! whose `Debug` and `Display` are redacted.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use writeback::sas::{parse, Operation, SasError};
//!
//! let sas = parse("https://acct.blob.core.windows.net/?sv=2021-12-02&ss=b&srt=co&sp=rwac\
//!                  &se=2030-01-01T00%3A00%3A00Z&spr=https\
//!                  &sig=TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc%3D")?;
//! assert_eq!(sas.url_base.as_deref(), Some("https://acct.blob.core.windows.net/"));
//!
//! let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
//! assert!(sas.check_offline(now, true, false, &[Operation::WriteBlob]).is_ok());
//! let err = sas.check_offline(now, true, false, &[Operation::ListContainers]).unwrap_err();
//! let msg = err.to_string();
//! assert!(msg.contains("lacks resource type 's' (service) in srt and permission 'l' (list)"));
//! # Ok::<(), SasError>(())
//! ```

mod check;
mod error;
mod letters;
mod parse;
mod sign;
mod token;

pub use check::Operation;
pub use error::SasError;
pub use parse::{AccountSas, Permissions, Protocol, ResourceTypes, Services, parse};
pub use sign::{
    AccountKey, AccountSasSpec, ContainerSasSpec, SAS_VERSION, sign_account_sas, sign_container_sas,
};
pub use token::SasToken;

/// How far in the future a token's start time (`st`) may be before it is reported as not yet
/// valid: clocks on this machine and Azure's may disagree by this much. Azure's own guidance is
/// to back-date `st` by 15 minutes for the same reason.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(15);
