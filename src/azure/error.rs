//! One error type for every Blob service call, with the retry classifier and the plain-language
//! sentence for each Azure error code.

use std::time::Duration;

/// A failed Blob service call. Its text names the operation and the URL *without* its query
/// string, so it is safe to print, log and store.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {target} failed: {kind}")]
pub struct AzureError {
    /// What we were doing ("List Containers", "Put Block", ...).
    pub operation: &'static str,
    /// The URL of the request, never with its query string.
    pub target: String,
    /// What went wrong.
    pub kind: AzureErrorKind,
}

/// The ways a Blob service call fails.
#[derive(Debug)]
pub enum AzureErrorKind {
    /// Azure answered with an error status.
    Service {
        /// HTTP status.
        status: u16,
        /// Azure's error code (`x-ms-error-code` or the XML body's `Code`).
        code: Option<String>,
        /// The first line of Azure's message, secrets removed.
        message: Option<String>,
        /// The `Retry-After` the service asked for.
        retry_after: Option<Duration>,
    },
    /// No answer within the timeout.
    Timeout {
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The connection could not be made (refused, DNS, TLS).
    Connect {
        /// What the network layer said.
        detail: String,
    },
    /// The connection broke during the exchange (reset, closed early).
    Transport {
        /// What the network layer said.
        detail: String,
    },
    /// Azure answered 2xx with a body we could not understand.
    InvalidResponse {
        /// What was wrong with it.
        detail: String,
    },
}

impl AzureError {
    /// Azure's error code, if it sent one.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            AzureErrorKind::Service { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// HTTP status, if Azure answered.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            AzureErrorKind::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when trying the same request again may succeed: throttling, server errors, timeouts
    /// and broken connections. Authentication, permission, validation and not-found errors are
    /// never retried: they would fail the same way.
    pub fn is_retriable(&self) -> bool {
        match &self.kind {
            AzureErrorKind::Service { status, code, .. } => {
                // The emulator's memory limit is a 409 that no retry will clear.
                if code.as_deref() == Some("MemoryExtentStoreAtSizeLimit") {
                    return false;
                }
                matches!(
                    code.as_deref(),
                    Some("ServerBusy" | "OperationTimedOut" | "InternalError")
                ) || matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
            }
            AzureErrorKind::Timeout { .. }
            | AzureErrorKind::Connect { .. }
            | AzureErrorKind::Transport { .. } => true,
            AzureErrorKind::InvalidResponse { .. } => false,
        }
    }

    /// True when Azure refused the credentials or their permissions.
    pub fn is_auth_failure(&self) -> bool {
        match &self.kind {
            AzureErrorKind::Service { status, code, .. } => {
                matches!(status, 401 | 403)
                    || code.as_deref().is_some_and(|c| {
                        c.starts_with("Authentication") || c.starts_with("Authorization")
                    })
            }
            _ => false,
        }
    }

    /// The delay the service asked for with `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            AzureErrorKind::Service { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl std::fmt::Display for AzureErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AzureErrorKind::Service {
                status,
                code,
                message,
                ..
            } => {
                let code_text = code.as_deref().unwrap_or("no error code");
                match explain(*status, code.as_deref()) {
                    Some(sentence) => write!(f, "{sentence} (HTTP {status} {code_text})")?,
                    None => write!(f, "HTTP {status} {code_text}")?,
                }
                if let Some(m) = message {
                    write!(f, "; Azure said: {m}")?;
                }
                Ok(())
            }
            AzureErrorKind::Timeout { after } => write!(
                f,
                "no answer within {}s; check that the endpoint is right and reachable from this \
                 machine",
                after.as_secs_f64()
            ),
            AzureErrorKind::Connect { detail } => write!(
                f,
                "cannot connect ({detail}); check the endpoint and the storage account name"
            ),
            AzureErrorKind::Transport { detail } => {
                write!(f, "the connection broke during the request ({detail})")
            }
            AzureErrorKind::InvalidResponse { detail } => {
                write!(f, "the service sent a response we cannot read ({detail})")
            }
        }
    }
}

/// Plain sentences for the error codes a user of a SAS token meets.
/// <https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes>
fn explain(status: u16, code: Option<&str>) -> Option<&'static str> {
    Some(match code {
        Some("AuthenticationFailed") => {
            "Azure rejected the SAS token's signature: the token was altered or truncated, or \
             the account key that signed it has been rotated; generate a new account SAS and \
             save it with `writeback account update`"
        }
        Some("AuthorizationFailure") => {
            "Azure refused the request: either the token's signature does not match (it was \
             altered or truncated, or the account key that signed it was rotated; the local \
             emulator reports a wrong signature this way), or the storage account's firewall or \
             the token's allowed IP range (sip) excludes this machine"
        }
        Some("AuthorizationResourceTypeMismatch") => {
            "the token's allowed resource types (srt) do not cover this operation; generate an \
             account SAS with the resource types service, container and object (srt=sco)"
        }
        Some("AuthorizationPermissionMismatch") => {
            "the token's permissions (sp) do not cover this operation; generate an account SAS \
             with the permissions it needs"
        }
        Some("AuthorizationServiceMismatch") => {
            "the token is not valid for the Blob service; generate an account SAS whose allowed \
             services (ss) include b"
        }
        Some("AuthorizationProtocolMismatch") => {
            "the token allows only HTTPS but the request used plain HTTP"
        }
        Some("AuthorizationSourceIPMismatch") => {
            "the token's allowed IP range (sip) does not include this machine's address"
        }
        Some("AccountIsDisabled") => "the storage account is disabled",
        Some("ContainerNotFound") => "the container does not exist",
        Some("ContainerBeingDeleted") => "the container is being deleted; try again in a minute",
        Some("ContainerAlreadyExists") => "the container already exists",
        Some("BlobNotFound") => "the blob does not exist",
        Some("ConditionNotMet") => {
            "the blob changed while this export was writing to it (another writer got there \
             first); nothing was committed, so run the export again"
        }
        Some("InvalidBlobType") => {
            "a blob of that name exists as an append or page blob, which a block blob cannot \
             replace; choose another name or delete it first"
        }
        Some("ResourceNotFound") => {
            "the resource does not exist; check the storage account name and endpoint"
        }
        Some("InvalidQueryParameterValue") => {
            "Azure rejected a query parameter; if it is part of the token, the token is malformed"
        }
        Some("ServerBusy") => "the storage account is throttling requests",
        Some("OperationTimedOut") => "the operation timed out inside Azure",
        Some("InternalError") => "Azure had an internal error",
        Some("MemoryExtentStoreAtSizeLimit") => {
            "the local emulator ran out of the memory it may use; restart it or give it more \
             (--inMemoryPersistence keeps every blob in RAM)"
        }
        _ => match status {
            401 | 403 => "Azure refused the credentials",
            404 => "not found; check the storage account name and endpoint",
            429 | 503 => "the storage account is throttling requests",
            500..=599 => "the service failed",
            _ => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: Option<&str>) -> AzureError {
        AzureError {
            operation: "List Containers",
            target: "https://a.blob.core.windows.net/".into(),
            kind: AzureErrorKind::Service {
                status,
                code: code.map(str::to_owned),
                message: None,
                retry_after: None,
            },
        }
    }

    #[test]
    fn classification() {
        // (status, code, retriable, auth)
        let cases: &[(u16, Option<&str>, bool, bool)] = &[
            (403, Some("AuthenticationFailed"), false, true),
            (403, Some("AuthorizationPermissionMismatch"), false, true),
            (403, Some("AuthorizationResourceTypeMismatch"), false, true),
            (404, Some("ContainerNotFound"), false, false),
            (400, Some("InvalidQueryParameterValue"), false, false),
            (409, Some("MemoryExtentStoreAtSizeLimit"), false, false),
            (503, Some("ServerBusy"), true, false),
            (500, Some("OperationTimedOut"), true, false),
            (500, Some("InternalError"), true, false),
            (502, None, true, false),
            (408, None, true, false),
            (429, None, true, false),
            (501, None, false, false),
        ];
        for (status, code, retriable, auth) in cases {
            let e = service(*status, *code);
            assert_eq!(e.is_retriable(), *retriable, "{status} {code:?} retriable");
            assert_eq!(e.is_auth_failure(), *auth, "{status} {code:?} auth");
        }
    }

    #[test]
    fn sentences_name_the_fix() {
        let text = service(403, Some("AuthorizationPermissionMismatch")).to_string();
        assert!(text.contains("permissions (sp)"), "{text}");
        assert!(
            text.contains("List Containers https://a.blob.core.windows.net/"),
            "{text}"
        );
    }
}
