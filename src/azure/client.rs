//! The HTTP client for one Blob service endpoint and one SAS token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::Serialize;

use super::{API_VERSION, AzureError, AzureErrorKind, Endpoint, MAX_LIST_RESULTS, RetryPolicy};
use crate::sas::SasToken;

/// Timeouts and retries of a [`BlobService`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Longest wait for one whole request (connect, send, answer, body).
    pub timeout: Duration,
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Request-level retries.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            // Listing 5,000 containers or staging an 8 MiB block takes well under this on any
            // link a scheduled export can use; past it the endpoint is effectively down.
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientOptions {
    /// Options for a quick interactive check (`account add`, `account test`): a user waiting at
    /// a prompt should hear within seconds that an endpoint does not answer, not after the
    /// patient retries a scheduled export deserves.
    pub fn for_probe(&self) -> ClientOptions {
        let timeout = self.timeout.min(PROBE_TIMEOUT);
        ClientOptions {
            timeout,
            connect_timeout: self.connect_timeout.min(timeout),
            retry: RetryPolicy {
                max_retries: 2,
                deadline: timeout * 2,
                ..self.retry.clone()
            },
        }
    }
}

/// Longest wait for one request of an interactive credentials check.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// One container, as List Containers reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerItem {
    /// The container's name.
    pub name: String,
    /// When the container or its properties last changed.
    pub last_modified: DateTime<Utc>,
}

/// One page of List Containers.
#[derive(Debug, Clone)]
pub struct ContainerPage {
    /// The containers on this page.
    pub items: Vec<ContainerItem>,
    /// The marker of the next page, if there is one.
    pub next_marker: Option<String>,
}

/// A client of one Blob service endpoint, authorised by one account SAS.
///
/// The token goes into request URLs only; every URL this type reports (errors, logs) is built
/// without the query string, and anything the network layer or the service says is scrubbed of
/// the token before it is kept.
#[derive(Clone)]
pub struct BlobService {
    pub(super) http: reqwest::Client,
    pub(super) endpoint: Endpoint,
    token: SasToken,
    options: ClientOptions,
}

impl std::fmt::Debug for BlobService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobService")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A successful answer: headers and the whole body.
pub(super) struct Reply {
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

impl BlobService {
    /// A client for `endpoint` authorised by `token`.
    pub fn new(endpoint: Endpoint, token: SasToken, options: ClientOptions) -> BlobService {
        // rustls needs a process-wide crypto provider; a second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("writeback/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            // A SAS URL must never be replayed to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client configuration is static and valid");
        BlobService {
            http,
            endpoint,
            token,
            options,
        }
    }

    pub(super) fn options_timeout(&self) -> Duration {
        self.options.timeout
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// One page of List Containers.
    pub async fn list_containers_page(
        &self,
        prefix: Option<&str>,
        marker: Option<&str>,
        max_results: u32,
    ) -> Result<ContainerPage, AzureError> {
        let mut params = vec![("comp", "list".to_owned())];
        if let Some(p) = prefix {
            params.push(("prefix", p.to_owned()));
        }
        if let Some(m) = marker {
            params.push(("marker", m.to_owned()));
        }
        params.push((
            "maxresults",
            max_results.clamp(1, MAX_LIST_RESULTS).to_string(),
        ));
        let (url, shown) = self.url("/", &params);
        let op = "List Containers";
        let reply = self
            .execute(op, &shown, || self.http.get(url.clone()))
            .await?;
        parse_container_page(&reply.body).map_err(|detail| AzureError {
            operation: op,
            target: shown.clone(),
            kind: AzureErrorKind::InvalidResponse { detail },
        })
    }

    /// Every container (optionally under `prefix`), following continuation markers.
    pub async fn list_containers(
        &self,
        prefix: Option<&str>,
        page_size: u32,
    ) -> Result<Vec<ContainerItem>, AzureError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .list_containers_page(prefix, marker.as_deref(), page_size)
                .await?;
            all.extend(page.items);
            match page.next_marker {
                Some(m) if !m.is_empty() => marker = Some(m),
                _ => return Ok(all),
            }
        }
    }

    /// Builds the request URL (with the token) and the URL we may show (without any query).
    pub(super) fn url(&self, path: &str, params: &[(&str, String)]) -> (reqwest::Url, String) {
        let shown = format!("{}{}", self.endpoint.as_str(), path);
        let mut query = String::new();
        for (k, v) in params {
            query.push_str(k);
            query.push('=');
            query.extend(percent_encoding::utf8_percent_encode(v, QUERY_VALUE));
            query.push('&');
        }
        query.push_str(self.token.expose_secret());
        let url = reqwest::Url::parse(&format!("{shown}?{query}"))
            .expect("endpoint was validated and the query is percent-encoded");
        (url, shown)
    }

    /// Sends a request through the retry policy and reads the whole answer.
    pub(super) async fn execute(
        &self,
        operation: &'static str,
        shown: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, AzureError> {
        self.options
            .retry
            .run(|attempt| {
                let req = build().header("x-ms-version", API_VERSION);
                async move {
                    tracing::debug!(operation, url = shown, attempt, "request");
                    let fail = |kind| AzureError {
                        operation,
                        target: shown.to_owned(),
                        kind,
                    };
                    let resp = req.send().await.map_err(|e| fail(self.network_error(e)))?;
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = resp
                        .bytes()
                        .await
                        .map_err(|e| fail(self.network_error(e)))?;
                    tracing::debug!(
                        operation,
                        url = shown,
                        status = status.as_u16(),
                        request_id = header(&headers, "x-ms-request-id").unwrap_or_default(),
                        "response"
                    );
                    if status.is_success() {
                        Ok(Reply {
                            headers,
                            body: body.to_vec(),
                        })
                    } else {
                        Err(fail(self.service_error(status.as_u16(), &headers, &body)))
                    }
                }
            })
            .await
    }

    fn network_error(&self, e: reqwest::Error) -> AzureErrorKind {
        let timeout = e.is_timeout();
        let connect = e.is_connect();
        let e = e.without_url();
        let mut detail = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if !detail.is_empty() {
                detail.push_str(": ");
            }
            detail.push_str(&s.to_string());
            source = s.source();
        }
        let detail = self.scrub(&detail);
        if timeout {
            AzureErrorKind::Timeout {
                after: self.options.timeout,
            }
        } else if connect {
            AzureErrorKind::Connect { detail }
        } else {
            AzureErrorKind::Transport { detail }
        }
    }

    fn service_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> AzureErrorKind {
        let text = String::from_utf8_lossy(body);
        let doc = roxmltree::Document::parse(text.trim_start_matches('\u{feff}')).ok();
        let element = |name: &str| {
            doc.as_ref().and_then(|d| {
                d.descendants()
                    .find(|n| n.has_tag_name(name))
                    .and_then(|n| n.text())
                    .map(str::trim)
            })
        };
        let code =
            header(headers, "x-ms-error-code").or_else(|| element("Code").map(str::to_owned));
        // Azure's message carries "RequestId:...\nTime:..." after the first line; keep the
        // sentence only.
        let message = element("Message")
            .and_then(|m| m.lines().next())
            .map(|m| self.scrub(m))
            .filter(|m| !m.is_empty());
        let retry_after = header(headers, "retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        AzureErrorKind::Service {
            status,
            code,
            message,
            retry_after,
        }
    }

    /// Removes the token and its signature from text that came from elsewhere.
    fn scrub(&self, text: &str) -> String {
        let secret = self.token.expose_secret();
        let mut out = text.replace(secret, "REDACTED");
        if let Some(sig) = secret.split('&').find_map(|kv| kv.strip_prefix("sig="))
            && !sig.is_empty()
        {
            out = out.replace(sig, "REDACTED");
            let decoded = percent_encoding::percent_decode_str(sig).decode_utf8_lossy();
            out = out.replace(decoded.as_ref(), "REDACTED");
        }
        out
    }
}

/// Characters escaped in query values: everything but RFC 3986 unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(super) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn parse_container_page(body: &[u8]) -> Result<ContainerPage, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    let doc = roxmltree::Document::parse(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name("EnumerationResults") {
        return Err(format!(
            "expected EnumerationResults, got {}",
            root.tag_name().name()
        ));
    }
    let child_text = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.children()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .map(str::to_owned)
    };
    let mut items = Vec::new();
    if let Some(list) = root.children().find(|n| n.has_tag_name("Containers")) {
        for c in list.children().filter(|n| n.has_tag_name("Container")) {
            let name = child_text(c, "Name").ok_or("a container without a Name")?;
            let props = c.children().find(|n| n.has_tag_name("Properties"));
            let modified = props
                .and_then(|p| child_text(p, "Last-Modified"))
                .ok_or_else(|| format!("container {name} has no Last-Modified"))?;
            let last_modified = DateTime::parse_from_rfc2822(&modified)
                .map_err(|e| format!("container {name}: bad Last-Modified {modified:?}: {e}"))?
                .with_timezone(&Utc);
            items.push(ContainerItem {
                name,
                last_modified,
            });
        }
    }
    let next_marker = child_text(root, "NextMarker").filter(|m| !m.is_empty());
    Ok(ContainerPage { items, next_marker })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_list_containers_page() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:1/devstoreaccount1"><Prefix>ex</Prefix><MaxResults>2</MaxResults>
<Containers><Container><Name>exports</Name><Properties><Last-Modified>Sat, 28 Nov 2026 10:00:00 GMT</Last-Modified><Etag>"0x1"</Etag></Properties></Container>
<Container><Name>extra</Name><Properties><Last-Modified>Sun, 29 Nov 2026 10:00:00 GMT</Last-Modified></Properties></Container></Containers>
<NextMarker>/devstoreaccount1/f</NextMarker></EnumerationResults>"#;
        let page = parse_container_page(xml.as_bytes()).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].name, "exports");
        assert_eq!(
            page.items[1].last_modified.to_rfc3339(),
            "2026-11-29T10:00:00+00:00"
        );
        assert_eq!(page.next_marker.as_deref(), Some("/devstoreaccount1/f"));

        let last = "<EnumerationResults><Containers/><NextMarker/></EnumerationResults>";
        let page = parse_container_page(last.as_bytes()).unwrap();
        assert!(page.items.is_empty() && page.next_marker.is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_container_page(b"<html>").is_err());
        assert!(parse_container_page(b"<Other/>").is_err());
    }
}
