//! Blob service endpoints and the names that go into their URLs, validated before any request.

use std::net::IpAddr;

use url::Url;

/// A Blob service endpoint we are willing to send a SAS token to.
///
/// Plain `http` is allowed only for loopback addresses (the local emulator): anywhere else it
/// would put the token on the wire in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Scheme, host, port and path, without a trailing slash or query.
    base: String,
    https: bool,
    loopback: bool,
}

/// An endpoint, account name or container name that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    /// The storage account name breaks Azure's naming rule.
    #[error(
        "'{name}' is not a valid storage account name: Azure requires 3 to 24 lowercase letters \
         and digits"
    )]
    InvalidAccountName {
        /// The name given.
        name: String,
    },
    /// The endpoint is not an absolute http(s) URL.
    #[error("the endpoint '{shown}' is not a valid URL: {reason}")]
    InvalidUrl {
        /// The URL as given, with any query string removed.
        shown: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain http to a non-loopback host.
    #[error(
        "the endpoint '{shown}' uses plain http, which would send the SAS token in clear; use \
         https (plain http is allowed only for the local emulator on a loopback address)"
    )]
    InsecureHttp {
        /// The URL as given.
        shown: String,
    },
    /// The endpoint carries a query string (often a SAS URL pasted into the wrong field).
    #[error(
        "the endpoint '{shown}' has a query string; give the bare service URL as --endpoint and \
         the token with --sas-token"
    )]
    HasQuery {
        /// The URL as given, query removed.
        shown: String,
    },
    /// A container name breaks Azure's naming rule.
    #[error(
        "'{name}' is not a valid container name: {rule} (Azure requires 3 to 63 characters: \
         lowercase letters, digits and single hyphens, starting and ending with a letter or digit)"
    )]
    InvalidContainerName {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        rule: &'static str,
    },
}

impl Endpoint {
    /// Validates the storage account name and the endpoint; without an explicit endpoint, the
    /// public cloud's `https://ACCOUNT.blob.core.windows.net`.
    pub fn new(storage_account: &str, endpoint: Option<&str>) -> Result<Endpoint, EndpointError> {
        validate_account_name(storage_account)?;
        let Some(raw) = endpoint else {
            return Endpoint::parse(&format!("https://{storage_account}.blob.core.windows.net"));
        };
        Endpoint::parse(raw)
    }

    /// Parses and validates an endpoint URL.
    pub fn parse(raw: &str) -> Result<Endpoint, EndpointError> {
        let raw = raw.trim();
        let shown = raw.split('?').next().unwrap_or_default().to_owned();
        let invalid = |reason: &str| EndpointError::InvalidUrl {
            shown: shown.clone(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
        if url.query().is_some() {
            return Err(EndpointError::HasQuery { shown });
        }
        if url.fragment().is_some() {
            return Err(invalid("it has a #fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it carries a user name or password"));
        }
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => {
                return Err(invalid(
                    "the scheme must be https (or http for the local emulator)",
                ));
            }
        };
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => return Err(invalid("it has no host")),
        };
        if !https && !loopback {
            return Err(EndpointError::InsecureHttp { shown });
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        Ok(Endpoint {
            base,
            https,
            loopback,
        })
    }

    /// The endpoint URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// True for https.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// True when the host is a loopback address (the local emulator).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)
    }
}

fn validate_account_name(name: &str) -> Result<(), EndpointError> {
    // https://learn.microsoft.com/azure/storage/common/storage-account-overview#storage-account-name
    let ok = (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(EndpointError::InvalidAccountName {
            name: name.to_owned(),
        })
    }
}

/// Checks a container name against Azure's rules.
/// <https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata#container-names>
pub fn validate_container_name(name: &str) -> Result<(), EndpointError> {
    let fail = |rule| {
        Err(EndpointError::InvalidContainerName {
            name: name.to_owned(),
            rule,
        })
    };
    if !(3..=63).contains(&name.len()) {
        return fail("it must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return fail("it may contain only lowercase letters, digits and hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return fail("it must start and end with a letter or digit");
    }
    if name.contains("--") {
        return fail("it must not contain consecutive hyphens");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let cases: &[(&str, Option<&str>, Result<&str, &str>)] = &[
            ("acct", None, Ok("https://acct.blob.core.windows.net")),
            (
                "acct",
                Some("https://acct.blob.core.chinacloudapi.cn/"),
                Ok("https://acct.blob.core.chinacloudapi.cn"),
            ),
            (
                "devstoreaccount1",
                Some("http://127.0.0.1:10000/devstoreaccount1"),
                Ok("http://127.0.0.1:10000/devstoreaccount1"),
            ),
            (
                "devstoreaccount1",
                Some("http://localhost:10000/devstoreaccount1/"),
                Ok("http://localhost:10000/devstoreaccount1"),
            ),
            (
                "devstoreaccount1",
                Some("http://[::1]:10000/devstoreaccount1"),
                Ok("http://[::1]:10000/devstoreaccount1"),
            ),
            (
                "acct",
                Some("http://acct.blob.core.windows.net"),
                Err("plain http"),
            ),
            (
                "acct",
                Some("https://acct.blob.core.windows.net/?sv=2021&sig=SECRET"),
                Err("query string"),
            ),
            ("acct", Some("ftp://x"), Err("scheme")),
            ("acct", Some("not a url"), Err("not a valid URL")),
            ("Acct", None, Err("not a valid storage account name")),
            ("ab", None, Err("not a valid storage account name")),
            ("acct_1", None, Err("not a valid storage account name")),
        ];
        for (account, endpoint, want) in cases {
            let got = Endpoint::new(account, *endpoint);
            match (want, got) {
                (Ok(base), Ok(e)) => assert_eq!(e.as_str(), *base, "{account} {endpoint:?}"),
                (Err(msg), Err(e)) => {
                    let text = e.to_string();
                    assert!(text.contains(msg), "{endpoint:?}: {text}");
                    assert!(!text.contains("SECRET"), "error leaks the query: {text}");
                }
                (want, got) => panic!("{account} {endpoint:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn container_names() {
        let cases: &[(&str, Option<&str>)] = &[
            ("abc", None),
            ("my-container-1", None),
            (&"a".repeat(63), None),
            ("ab", Some("3 to 63")),
            (&"a".repeat(64), Some("3 to 63")),
            ("My-container", Some("lowercase")),
            ("my_container", Some("lowercase")),
            ("-abc", Some("start and end")),
            ("abc-", Some("start and end")),
            ("a--b", Some("consecutive")),
        ];
        for (name, want) in cases {
            match (validate_container_name(name), want) {
                (Ok(()), None) => {}
                (Err(e), Some(rule)) => assert!(e.to_string().contains(rule), "{name}: {e}"),
                (got, want) => panic!("{name}: want {want:?}, got {got:?}"),
            }
        }
    }
}
