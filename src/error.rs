//! The library's top-level error and the process exit codes it maps to.
//!
//! Each module has its own error enum with typed context; this type only gathers them so the CLI
//! and the server can turn any failure into one sentence and one exit code.

use crate::{azure, catalog, compress, encode, sas, source, store};

/// Process exit codes, shared by every command (see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Success.
    Ok = 0,
    /// Anything not covered below: I/O, an unreachable endpoint, an Azure server error.
    Failure = 1,
    /// Input rejected before contacting Azure: usage, validation, a malformed or unusable token.
    InputRejected = 2,
    /// Azure refused the credentials or their permissions.
    AzureRefused = 3,
    /// Something named on the command line does not exist locally, or the user may not use it.
    NotFound = 4,
}

/// Any failure of a library call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SAS token is unusable (detected offline, before any request).
    #[error(transparent)]
    Sas(#[from] sas::SasError),
    /// The endpoint or a name that goes into a URL is invalid.
    #[error(transparent)]
    Endpoint(#[from] azure::EndpointError),
    /// Azure (or the network between us) failed the request.
    #[error(transparent)]
    Azure(#[from] azure::AzureError),
    /// Local state could not be read or written, or a named object is missing.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A command-line or API value is invalid; the message names the value and the rule.
    #[error("{0}")]
    Invalid(String),
    /// The user may not do this to an object they do not own.
    #[error("{0}")]
    NotPermitted(String),
    /// A dataset operation failed: an unknown ID, no permission, an unusable file.
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    /// Reading a dataset's rows failed.
    #[error(transparent)]
    Source(#[from] source::SourceError),
    /// Encoding rows into the output format failed.
    #[error(transparent)]
    Encode(#[from] encode::EncodeError),
    /// Compressing the output failed.
    #[error(transparent)]
    Compress(#[from] compress::CompressError),
}

impl Error {
    /// The exit code this failure maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Sas(_) | Error::Endpoint(_) | Error::Invalid(_) => ExitCode::InputRejected,
            Error::NotPermitted(_) => ExitCode::NotFound,
            Error::Azure(e) if e.is_auth_failure() => ExitCode::AzureRefused,
            Error::Azure(_) => ExitCode::Failure,
            Error::Store(e) if e.is_not_found() => ExitCode::NotFound,
            Error::Store(e) if e.is_conflict() => ExitCode::InputRejected,
            Error::Store(_) => ExitCode::Failure,
            Error::Catalog(e) => e.exit_code(),
            Error::Source(_) | Error::Encode(_) | Error::Compress(_) => ExitCode::Failure,
        }
    }
}

impl Error {
    /// True when the same run may succeed if tried again later: a network failure, throttling,
    /// a server error. Authentication, permission, validation and not-found errors are not.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Azure(e) => e.is_retriable(),
            Error::Source(e) => e.is_retriable(),
            _ => false,
        }
    }
}

/// Shorthand for results of library calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
