//! Containers and block blobs: the operations an export needs.
//!
//! Uploads are block blobs: a small output is one `Put Blob`; a larger one is staged with
//! `Put Block` calls and made visible all at once by `Put Block List`, so readers see the old blob
//! or the new one, never a part.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::client::{Reply, header};
use super::{AzureError, AzureErrorKind, BlobService};

/// Slowest transfer rate we wait for before calling a block upload stuck: 1 MiB/s, so an 8 MiB
/// block gets the general timeout and a 100 MiB block more.
const SLOWEST_RATE: u64 = 1 << 20;

/// The properties of an existing blob that an export cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobProperties {
    /// `BlockBlob`, `AppendBlob` or `PageBlob`.
    pub blob_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag, for conditional writes.
    pub etag: String,
    /// `Content-Encoding` (gzip, zstd), if set.
    pub content_encoding: Option<String>,
    /// User metadata (`x-ms-meta-*`), names lowercased.
    pub metadata: BTreeMap<String, String>,
}

/// Headers that describe a blob's content, sent with `Put Blob` or `Put Block List`.
#[derive(Debug, Clone, Default)]
pub struct BlobHeaders {
    /// `Content-Type`.
    pub content_type: String,
    /// `Content-Encoding`, if compressed.
    pub content_encoding: Option<String>,
    /// MD5 of the whole blob, stored as its `Content-MD5` property (unknown when appending).
    pub content_md5: Option<[u8; 16]>,
    /// User metadata; names must be valid C# identifiers, values ASCII.
    pub metadata: Vec<(String, String)>,
    /// Commit only if the blob still has this ETag (appends), or only if it does not exist
    /// (`"*"` with `if_none_match`).
    pub if_match: Option<String>,
}

/// What a successful write returns.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The new blob's ETag.
    pub etag: String,
}

/// A block of an existing blob's committed block list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedBlock {
    /// The block ID, base64 as Azure reports it.
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
}

impl BlobService {
    /// Whether a container exists.
    pub async fn container_exists(&self, container: &str) -> Result<bool, AzureError> {
        let (url, shown) = self.url(&format!("/{container}"), &[("restype", "container".into())]);
        match self
            .execute("Get Container Properties", &shown, || {
                self.http.head(url.clone())
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates a container; an existing one is fine (another run may have made it). Returns
    /// whether this call created it.
    pub async fn create_container(&self, container: &str) -> Result<bool, AzureError> {
        let (url, shown) = self.url(&format!("/{container}"), &[("restype", "container".into())]);
        let put = || self.http.put(url.clone()).header("content-length", "0");
        match self.execute("Create Container", &shown, put).await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ContainerAlreadyExists") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A blob's properties, or `None` if it does not exist.
    pub async fn blob_properties(
        &self,
        container: &str,
        blob: &str,
    ) -> Result<Option<BlobProperties>, AzureError> {
        let (url, shown) = self.url(&blob_path(container, blob), &[]);
        let reply = match self
            .execute("Get Blob Properties", &shown, || {
                self.http.head(url.clone())
            })
            .await
        {
            Ok(r) => r,
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(e),
        };
        let h = &reply.headers;
        let invalid = |detail: String| AzureError {
            operation: "Get Blob Properties",
            target: shown.clone(),
            kind: AzureErrorKind::InvalidResponse { detail },
        };
        let metadata = h
            .iter()
            .filter_map(|(k, v)| {
                let name = k.as_str().strip_prefix("x-ms-meta-")?;
                Some((name.to_owned(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        Ok(Some(BlobProperties {
            blob_type: header(h, "x-ms-blob-type")
                .ok_or_else(|| invalid("no x-ms-blob-type".into()))?,
            size: header(h, "content-length")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| invalid("no Content-Length".into()))?,
            etag: header(h, "etag").ok_or_else(|| invalid("no ETag".into()))?,
            content_encoding: header(h, "content-encoding"),
            metadata,
        }))
    }

    /// Writes a whole blob in one request (`Put Blob`), replacing any block blob of that name.
    pub async fn put_blob(
        &self,
        container: &str,
        blob: &str,
        body: Bytes,
        headers: &BlobHeaders,
    ) -> Result<Committed, AzureError> {
        let (url, shown) = self.url(&blob_path(container, blob), &[]);
        let md5 = BASE64.encode(md5_of(&body));
        let timeout = self.body_timeout(body.len());
        let put = || {
            let req = self
                .http
                .put(url.clone())
                .timeout(timeout)
                .header("x-ms-blob-type", "BlockBlob")
                .header("content-md5", &md5)
                .header("content-length", body.len())
                .header("x-ms-blob-content-type", &headers.content_type);
            describe(req, headers).body(body.clone())
        };
        let reply = self.execute("Put Blob", &shown, put).await?;
        Ok(Committed { etag: etag(&reply) })
    }

    /// Stages one block (`Put Block`) with its `Content-MD5`, which Azure checks on arrival.
    pub async fn put_block(
        &self,
        container: &str,
        blob: &str,
        block_id: &str,
        body: Bytes,
        md5: [u8; 16],
    ) -> Result<(), AzureError> {
        let params = [
            ("comp", "block".to_owned()),
            ("blockid", block_id.to_owned()),
        ];
        let (url, shown) = self.url(&blob_path(container, blob), &params);
        let md5 = BASE64.encode(md5);
        let timeout = self.body_timeout(body.len());
        let put = || {
            self.http
                .put(url.clone())
                .timeout(timeout)
                .header("content-md5", &md5)
                .header("content-length", body.len())
                .body(body.clone())
        };
        self.execute("Put Block", &shown, put).await?;
        Ok(())
    }

    /// Commits a block list (`Put Block List`): `committed` are IDs already in the blob (kept, for
    /// appends), `latest` the newly staged ones, in order. Atomic: the blob changes all at once.
    pub async fn put_block_list(
        &self,
        container: &str,
        blob: &str,
        committed: &[String],
        latest: &[String],
        headers: &BlobHeaders,
    ) -> Result<Committed, AzureError> {
        let (url, shown) = self.url(&blob_path(container, blob), &[("comp", "blocklist".into())]);
        let mut xml = String::with_capacity(64 + (committed.len() + latest.len()) * 60);
        xml.push_str(r#"<?xml version="1.0" encoding="utf-8"?><BlockList>"#);
        for id in committed {
            xml.push_str("<Committed>");
            xml.push_str(id);
            xml.push_str("</Committed>");
        }
        for id in latest {
            xml.push_str("<Latest>");
            xml.push_str(id);
            xml.push_str("</Latest>");
        }
        xml.push_str("</BlockList>");
        let body = Bytes::from(xml);
        let body_md5 = BASE64.encode(md5_of(&body));
        let put = || {
            let mut req = self
                .http
                .put(url.clone())
                .header("content-md5", &body_md5)
                .header("content-type", "application/xml")
                .header("x-ms-blob-content-type", &headers.content_type);
            if let Some(md5) = headers.content_md5 {
                req = req.header("x-ms-blob-content-md5", BASE64.encode(md5));
            }
            describe(req, headers).body(body.clone())
        };
        let reply = self.execute("Put Block List", &shown, put).await?;
        Ok(Committed { etag: etag(&reply) })
    }

    /// The committed blocks of a blob, in order, and the ETag the list belongs to.
    pub async fn committed_blocks(
        &self,
        container: &str,
        blob: &str,
    ) -> Result<(Vec<CommittedBlock>, String), AzureError> {
        let params = [
            ("comp", "blocklist".to_owned()),
            ("blocklisttype", "committed".to_owned()),
        ];
        let (url, shown) = self.url(&blob_path(container, blob), &params);
        let reply = self
            .execute("Get Block List", &shown, || self.http.get(url.clone()))
            .await?;
        let blocks = parse_block_list(&reply.body).map_err(|detail| AzureError {
            operation: "Get Block List",
            target: shown.clone(),
            kind: AzureErrorKind::InvalidResponse { detail },
        })?;
        Ok((blocks, etag(&reply)))
    }

    /// The first `len` bytes of a blob (for reading an existing CSV header).
    pub async fn read_prefix(
        &self,
        container: &str,
        blob: &str,
        len: u64,
    ) -> Result<Vec<u8>, AzureError> {
        self.read_range(container, blob, 0, len).await
    }

    /// `len` bytes of a blob from `offset` (fewer at its end).
    pub async fn read_range(
        &self,
        container: &str,
        blob: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, AzureError> {
        let (url, shown) = self.url(&blob_path(container, blob), &[]);
        let range = format!("bytes={}-{}", offset, offset + len.max(1) - 1);
        let timeout = self.body_timeout(len as usize);
        let get = || {
            self.http
                .get(url.clone())
                .timeout(timeout)
                .header("x-ms-range", &range)
        };
        Ok(self.execute("Get Blob", &shown, get).await?.body)
    }

    /// The URL of a blob, without any query string: safe to print and store.
    pub fn blob_url(&self, container: &str, blob: &str) -> String {
        format!("{}{}", self.endpoint.as_str(), blob_path(container, blob))
    }

    fn body_timeout(&self, len: usize) -> Duration {
        self.options_timeout()
            .max(Duration::from_secs(len as u64 / SLOWEST_RATE))
    }
}

/// Adds the content headers and metadata shared by `Put Blob` and `Put Block List`.
fn describe(mut req: reqwest::RequestBuilder, h: &BlobHeaders) -> reqwest::RequestBuilder {
    if let Some(enc) = &h.content_encoding {
        req = req.header("x-ms-blob-content-encoding", enc);
    }
    for (k, v) in &h.metadata {
        req = req.header(format!("x-ms-meta-{k}"), v);
    }
    if let Some(tag) = &h.if_match {
        req = req.header(
            if tag == "*" {
                "if-none-match"
            } else {
                "if-match"
            },
            tag,
        );
    }
    req
}

fn etag(reply: &Reply) -> String {
    header(&reply.headers, "etag").unwrap_or_default()
}

/// `/container/blob`, with the blob name percent-encoded segment by segment: `/` stays a
/// separator (virtual folders); everything but RFC 3986 unreserved characters is escaped,
/// including `+`, which some layers would otherwise read as a space.
pub fn blob_path(container: &str, blob: &str) -> String {
    let mut path = String::with_capacity(container.len() + blob.len() * 3 + 2);
    path.push('/');
    path.push_str(container);
    for segment in blob.split('/') {
        path.push('/');
        path.extend(percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT));
    }
    path
}

const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn parse_block_list(body: &[u8]) -> Result<Vec<CommittedBlock>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    let doc = roxmltree::Document::parse(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("not XML: {e}"))?;
    let Some(list) = doc
        .descendants()
        .find(|n| n.has_tag_name("CommittedBlocks"))
    else {
        return Ok(Vec::new());
    };
    list.children()
        .filter(|n| n.has_tag_name("Block"))
        .map(|b| {
            let field = |name| {
                b.children()
                    .find(|n| n.has_tag_name(name))
                    .and_then(|n| n.text())
            };
            let id = field("Name").ok_or("a block without a Name")?.to_owned();
            let size = field("Size")
                .and_then(|s| s.parse().ok())
                .ok_or("a block without a Size")?;
            Ok(CommittedBlock { id, size })
        })
        .collect()
}

/// MD5 of `data`, as Azure's `Content-MD5` wants it (before base64).
pub fn md5_of(data: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_are_encoded_per_segment() {
        let cases = [
            ("plain.csv", "/c/plain.csv"),
            ("folder/sub/file.csv", "/c/folder/sub/file.csv"),
            ("with space.csv", "/c/with%20space.csv"),
            ("hash#1.csv", "/c/hash%231.csv"),
            ("q?.csv", "/c/q%3F.csv"),
            ("100%.csv", "/c/100%25.csv"),
            ("a+b.csv", "/c/a%2Bb.csv"),
            ("données/é.csv", "/c/donn%C3%A9es/%C3%A9.csv"),
        ];
        for (blob, want) in cases {
            assert_eq!(blob_path("c", blob), want, "{blob}");
        }
    }

    #[test]
    fn parses_committed_block_lists() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><BlockList><CommittedBlocks>
            <Block><Name>QUFB</Name><Size>10</Size></Block><Block><Name>QkJC</Name><Size>4</Size></Block>
            </CommittedBlocks><UncommittedBlocks/></BlockList>"#;
        let blocks = parse_block_list(xml.as_bytes()).unwrap();
        assert_eq!(
            blocks,
            vec![
                CommittedBlock {
                    id: "QUFB".into(),
                    size: 10
                },
                CommittedBlock {
                    id: "QkJC".into(),
                    size: 4
                },
            ]
        );
        assert!(parse_block_list(b"<BlockList/>").unwrap().is_empty());
    }
}
