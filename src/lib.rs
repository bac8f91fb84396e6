//! `writeback` exports tabular datasets into Azure Blob Storage containers using a storage
//! account name and an account-level SAS token.
//!
//! Data flows one way: source → encode → compress → blocks → azure → run record. Each stage is a
//! module that knows only its neighbours' types:
//!
//! - [`sas`] parses, classifies, checks and signs shared access signatures (pure code);
//! - [`azure`] speaks the Blob service REST API with one retry mechanism and redacted URLs;
//! - [`store`] is the only code that speaks SQL: accounts (tokens encrypted at rest);
//! - [`accounts`] is the library call behind `writeback account ...`;
//! - [`cli`] is a thin shell over the library.
#![warn(missing_docs)]

pub mod accounts;
pub mod azure;
pub mod cli;
pub mod error;
pub mod identity;
pub mod sas;
pub mod store;

pub use error::{Error, ExitCode};
