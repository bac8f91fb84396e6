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
//! - [`catalog`] holds input datasets (imported files stored as Parquet, with owners) and
//!   [`source`] streams any input, such as a catalog dataset, as Arrow record batches;
//! - [`encode`] turns record batches into CSV, JSON Lines or Parquet bytes (pure code);
//! - [`compress`] gzips or zstd-compresses those bytes in independent chunks (pure code);
//! - [`schedule`] says when a writeback runs (manual, every, cron in a time zone, DST-correct)
//!   and when a failed run is retried (pure code);
//! - [`cli`] is a thin shell over the library.
#![warn(missing_docs)]

pub mod accounts;
pub mod azure;
pub mod blocks;
pub mod catalog;
pub mod cli;
pub mod compress;
pub mod encode;
pub mod engine;
pub mod error;
pub mod identity;
pub mod naming;
pub mod sas;
pub mod schedule;
pub mod scheduler;
pub mod server;
pub mod source;
pub mod store;
pub mod writebacks;

pub use error::{Error, ExitCode};
