//! The SAS token as a secret: a canonical query string that never reaches `Debug` or `Display`.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters left as they are in a canonical query value: RFC 3986 "unreserved" characters.
///
/// Everything else is percent-encoded, as Azure's own tooling does (`az storage ... generate-sas`,
/// the .NET SDK's `Uri.EscapeDataString`): `+`, `/` and `=` in a base64 signature become `%2B`,
/// `%2F` and `%3D`, and `:` in a time becomes `%3A`. A literal `+` left in a query string is read
/// as a space by some HTTP stacks, which would silently break the signature.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one query key or value with the set Azure uses (see [`QUERY_VALUE`]).
pub(crate) fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A shared access signature token: the canonical query string (no leading `?`), e.g.
/// `sv=2021-12-02&ss=b&srt=sco&sp=rwlac&se=...&spr=https&sig=...`.
///
/// It is a secret: `Debug` prints `SasToken(REDACTED)`, `Display` prints `REDACTED`, and it
/// deliberately implements no `Serialize`, so it cannot leak into logs, errors, API bodies or
/// run records by accident. Use [`SasToken::expose_secret`] only where a request URL is built.
///
/// ```
/// use writeback::sas::SasToken;
///
/// let token = SasToken::from_canonical("sv=2021-12-02&sig=c2VjcmV0".to_owned());
/// assert_eq!(format!("{token:?}"), "SasToken(REDACTED)");
/// assert_eq!(token.to_string(), "REDACTED");
/// assert!(token.expose_secret().ends_with("sig=c2VjcmV0"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken(String);

impl SasToken {
    /// Wraps a canonical query string, as returned earlier by [`SasToken::expose_secret`] (for
    /// example when loading a stored token). It is not parsed again; call
    /// [`parse`](super::parse) on untrusted input instead.
    pub fn from_canonical(s: String) -> SasToken {
        SasToken(s)
    }

    /// The canonical query string (no leading `?`), for appending to a request URL.
    ///
    /// Every value in it is already percent-encoded, so it can be appended after `?` (or after
    /// `&` when the URL has other query parameters) verbatim.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SasToken(REDACTED)")
    }
}

impl fmt::Display for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_token() {
        let token = SasToken::from_canonical("sv=2021-12-02&sig=TOPSECRET%3D".to_owned());
        for shown in [
            format!("{token:?}"),
            format!("{token}"),
            format!("{token:#?}"),
        ] {
            assert!(!shown.contains("TOPSECRET"), "{shown}");
            assert!(!shown.contains("sv="), "{shown}");
            assert!(shown.contains("REDACTED"), "{shown}");
        }
        assert_eq!(token.expose_secret(), "sv=2021-12-02&sig=TOPSECRET%3D");
    }

    #[test]
    fn encoding_matches_azure() {
        let cases = [
            ("abc+/=", "abc%2B%2F%3D", "base64 punctuation is encoded"),
            (
                "2024-01-01T00:00:00Z",
                "2024-01-01T00%3A00%3A00Z",
                "colons are encoded",
            ),
            ("https,http", "https%2Chttp", "commas are encoded"),
            ("a-b.c_d~e", "a-b.c_d~e", "unreserved characters stay"),
            ("a b", "a%20b", "a space is %20, never +"),
        ];
        for (input, expected, why) in cases {
            assert_eq!(encode_query_value(input), expected, "{why}");
        }
    }
}
