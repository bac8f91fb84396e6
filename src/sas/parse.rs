//! Parsing what a user pastes (a token, `?token`, or a SAS URL) into a validated [`AccountSas`].
//!
//! The order of the checks matters to users: first whether the input is a query string at all,
//! then which *kind* of SAS it is (so a container SAS is reported as such, not as "missing
//! `ss`"), then each required parameter in turn.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use percent_encoding::percent_decode_str;
use url::Url;

use super::error::shown;
use super::token::encode_query_value;
use super::{SasError, SasToken};

pub use super::letters::{Permissions, Protocol, ResourceTypes, Services};

/// Length in bytes of a SAS signature: an HMAC-SHA256 digest.
const SIGNATURE_LEN: usize = 32;

/// Length in bytes of a storage account key (Azure's and Azurite's keys are 512 bits), used only
/// to recognise a key pasted where a token was expected.
const ACCOUNT_KEY_LEN: usize = 64;

/// Parameters that only user-delegation SAS tokens carry, besides every `sk*` key.
const USER_DELEGATION_PARAMS: &[&str] = &["sduoid", "saoid", "suoid", "scid"];

/// Names that may be repeated back to the user in an error: the SAS parameters Azure defines.
/// Anything else is not named, in case it is a fragment of a secret pasted by mistake.
const KNOWN_PARAMS: &[&str] = &[
    "sv",
    "ss",
    "srt",
    "sp",
    "se",
    "st",
    "sip",
    "spr",
    "sig",
    "ses",
    "sr",
    "si",
    "sdd",
    "rscc",
    "rscd",
    "rsce",
    "rscl",
    "rsct",
    "api-version",
];

/// A validated account SAS: the token itself plus what it grants, as parsed from user input.
///
/// `Debug` and `Display` never show the token or its signature.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSas {
    /// The token, re-serialized canonically: parameters in their original order, every value
    /// percent-encoded as Azure does it (so `+`, `/`, `=`, `:` are encoded).
    pub token: SasToken,
    /// The signed version (`sv`), if present.
    pub version: Option<String>,
    /// The services covered (`ss`).
    pub services: Services,
    /// The resource types covered (`srt`).
    pub resource_types: ResourceTypes,
    /// The permissions granted (`sp`).
    pub permissions: Permissions,
    /// When the token becomes valid (`st`); `None` means "when it was issued".
    pub start: Option<DateTime<Utc>>,
    /// When the token stops being valid (`se`).
    pub expiry: DateTime<Utc>,
    /// The protocols allowed (`spr`); [`Protocol::HttpsOrHttp`] when absent, as in Azure.
    pub protocol: Protocol,
    /// The allowed client IP address or range (`sip`), if restricted.
    pub ip: Option<String>,
    /// When a full SAS URL was entered: its scheme, host and path without the query
    /// (e.g. `https://acct.blob.core.windows.net/`), to default the endpoint or check the account.
    pub url_base: Option<String>,
}

impl AccountSas {
    /// Whether the token stops being valid before `when` (e.g. the next scheduled run).
    pub fn expires_before(&self, when: DateTime<Utc>) -> bool {
        self.expiry <= when
    }
}

impl fmt::Display for AccountSas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "account SAS (ss={}, srt={}, sp={}, spr={}, expires {})",
            self.services,
            self.resource_types,
            self.permissions,
            self.protocol,
            self.expiry.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

/// One `key=value` pair, percent-decoded.
struct Param {
    key: String,
    value: String,
}

/// Parses and validates an account SAS token.
///
/// Accepts a bare token (`sv=...&ss=...&sig=...`), the same with a leading `?`, or a full SAS URL
/// (`https://acct.blob.core.windows.net/?sv=...`). Surrounding whitespace is ignored; whitespace
/// inside is rejected with its 1-based character position in `input`. Values are
/// percent-decoded, and `+` stays a literal plus (it is base64 in `sig`), never a space.
///
/// Service SAS (`sr=...`) and user-delegation SAS (`skoid=...`) tokens are recognised and
/// rejected first, with a message explaining that an account SAS is needed and how to get one.
/// Time, protocol and permission checks against the current situation live in
/// [`AccountSas::check_offline`].
///
/// ```
/// use writeback::sas::{parse, SasError};
///
/// let sas = parse("?sv=2021-12-02&ss=b&srt=sco&sp=rwlac&se=2030-01-01T00%3A00%3A00Z\
///                  &spr=https&sig=TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc%3D\n")?;
/// assert_eq!(sas.permissions.to_string(), "rwlac");
/// assert!(!format!("{sas:?}").contains("TKb0bv2u"));
///
/// let container_sas = parse("sv=2021-12-02&sr=c&sp=rl&se=2030-01-01&sig=abc");
/// assert!(container_sas.unwrap_err().is_service_sas());
/// # Ok::<(), SasError>(())
/// ```
pub fn parse(input: &str) -> Result<AccountSas, SasError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(SasError::Empty);
    }
    let lead = input.len() - input.trim_start().len();
    // Positions are reported in characters of the input as entered, counting from 1.
    let position = |byte: usize| input[..byte].chars().count() + 1;

    if let Some((i, found)) = trimmed.char_indices().find(|(_, c)| c.is_whitespace()) {
        return Err(SasError::InteriorWhitespace {
            position: position(lead + i),
            found,
        });
    }

    if looks_like_connection_string(trimmed) {
        return Err(SasError::ConnectionString);
    }
    let (url_base, query, query_offset) = split_input(trimmed)?;
    if query.is_empty() {
        return Err(match url_base {
            Some(_) => SasError::UrlWithoutToken,
            None => SasError::Empty,
        });
    }
    if url_base.is_none() && looks_like_account_key(query) {
        return Err(SasError::LooksLikeAccountKey);
    }
    let params = split_params(query, lead + query_offset, &position)?;
    let get = |key: &str| {
        params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    };

    classify(&params, get("sr"), get("ss"), get("srt"))?;

    let sig = get("sig").ok_or(SasError::MissingSignature)?;
    check_signature(sig)?;

    let expiry = get("se").ok_or(SasError::MissingExpiry)?;
    let expiry = parse_time(expiry).ok_or_else(|| SasError::InvalidTime {
        param: "se",
        value: shown(expiry),
    })?;
    let start = get("st")
        .map(|st| {
            parse_time(st).ok_or_else(|| SasError::InvalidTime {
                param: "st",
                value: shown(st),
            })
        })
        .transpose()?;

    // `classify` has established that `ss` and `srt` are present.
    let services = Services::from_letters(get("ss").unwrap_or_default())?;
    let resource_types = ResourceTypes::from_letters(get("srt").unwrap_or_default())?;
    let permissions = get("sp").ok_or(SasError::MissingParameter { param: "sp" })?;
    let permissions = Permissions::from_letters(permissions)?;

    let protocol = match get("spr") {
        Some(spr) => spr.parse()?,
        None => Protocol::HttpsOrHttp,
    };

    let canonical = params
        .iter()
        .map(|p| {
            format!(
                "{}={}",
                encode_query_value(&p.key),
                encode_query_value(&p.value)
            )
        })
        .collect::<Vec<_>>()
        .join("&");

    Ok(AccountSas {
        token: SasToken::from_canonical(canonical),
        version: get("sv").map(str::to_owned),
        services,
        resource_types,
        permissions,
        start,
        expiry,
        protocol,
        ip: get("sip").map(str::to_owned),
        url_base,
    })
}

/// Splits the trimmed input into (URL without query, query, byte offset of the query).
fn split_input(s: &str) -> Result<(Option<String>, &str, usize), SasError> {
    let is_url = ["https://", "http://"]
        .iter()
        .any(|scheme| s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme));
    if is_url {
        let Some(q) = s.find('?') else {
            return Err(SasError::UrlWithoutToken);
        };
        let mut url = Url::parse(&s[..q]).map_err(|e| SasError::InvalidUrl {
            reason: e.to_string(),
        })?;
        // Credentials in a URL are never part of a SAS; do not carry them to the endpoint.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        let rest = &s[q + 1..];
        let query = rest.split('#').next().unwrap_or_default();
        Ok((Some(url.to_string()), query, q + 1))
    } else if let Some(query) = s.strip_prefix('?') {
        Ok((None, query, 1))
    } else {
        Ok((None, s, 0))
    }
}

/// `DefaultEndpointsProtocol=https;AccountName=...;SharedAccessSignature=sv=...`: `;` never
/// occurs in a SAS token or its URL, but always separates a connection string's settings.
fn looks_like_connection_string(input: &str) -> bool {
    let lower = input.to_ascii_lowercase();
    input.contains(';')
        && [
            "sharedaccesssignature=",
            "accountkey=",
            "blobendpoint=",
            "accountname=",
        ]
        .iter()
        .any(|setting| lower.contains(setting))
}

/// An account key is 64 random bytes in base64, with no `&` and no `name=value` structure.
fn looks_like_account_key(query: &str) -> bool {
    !query.contains('&')
        && STANDARD
            .decode(query)
            .is_ok_and(|bytes| bytes.len() == ACCOUNT_KEY_LEN)
}

/// Splits `a=1&b=2` into decoded pairs; `offset` is the query's byte offset in the input.
fn split_params(
    query: &str,
    offset: usize,
    position: &dyn Fn(usize) -> usize,
) -> Result<Vec<Param>, SasError> {
    let mut params: Vec<Param> = Vec::new();
    let mut part_start = offset;
    for part in query.split('&') {
        let start = part_start;
        part_start += part.len() + 1;
        // `a=1&&b=2` or a trailing `&` carries nothing; Azure ignores it too.
        if part.is_empty() {
            continue;
        }
        let Some(eq) = part.find('=') else {
            return Err(SasError::MissingEquals {
                position: position(start),
            });
        };
        if eq == 0 {
            return Err(SasError::EmptyParameterName {
                position: position(start),
            });
        }
        let key = decode(&part[..eq], start, position)?;
        let value = decode(&part[eq + 1..], start + eq + 1, position)?;
        if params.iter().any(|p| p.key == key) {
            let param = if KNOWN_PARAMS.contains(&key.as_str()) {
                key
            } else {
                String::new()
            };
            return Err(SasError::DuplicateParameter { param });
        }
        params.push(Param { key, value });
    }
    Ok(params)
}

/// Percent-decodes one key or value, rejecting malformed escapes (which `percent_decode_str`
/// would silently keep) and escapes that do not form UTF-8. `+` is left alone on purpose.
fn decode(raw: &str, offset: usize, position: &dyn Fn(usize) -> usize) -> Result<String, SasError> {
    let bytes = raw.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%' {
            let valid = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !valid {
                return Err(SasError::InvalidPercentEncoding {
                    position: position(offset + i),
                });
            }
        }
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map(|value| value.into_owned())
        .map_err(|_| SasError::InvalidPercentEncoding {
            position: position(offset),
        })
}

/// Rejects every kind of SAS other than an account SAS, most specific kind first.
fn classify(
    params: &[Param],
    sr: Option<&str>,
    ss: Option<&str>,
    srt: Option<&str>,
) -> Result<(), SasError> {
    let user_delegation = params
        .iter()
        .any(|p| p.key.starts_with("sk") || USER_DELEGATION_PARAMS.contains(&p.key.as_str()));
    if user_delegation {
        return Err(SasError::UserDelegationSas);
    }
    if let Some(resource) = sr {
        return Err(SasError::ServiceSas {
            resource: shown(resource),
        });
    }
    match (ss, srt) {
        (Some(_), Some(_)) => Ok(()),
        (None, Some(_)) => Err(SasError::NotAccountSas { missing: "ss" }),
        (Some(_), None) => Err(SasError::NotAccountSas { missing: "srt" }),
        (None, None) => Err(SasError::NotAccountSas {
            missing: "ss and srt",
        }),
    }
}

fn check_signature(sig: &str) -> Result<(), SasError> {
    let upper = sig.to_ascii_uppercase();
    if ["%2B", "%2F", "%3D"].iter().any(|e| upper.contains(e)) {
        return Err(SasError::DoubleEncodedSignature);
    }
    match STANDARD.decode(sig) {
        Ok(bytes) if bytes.len() == SIGNATURE_LEN => Ok(()),
        _ => Err(SasError::MalformedSignature),
    }
}

/// Parses the ISO 8601 forms Azure accepts for `st` and `se` (all UTC): `YYYY-MM-DD`,
/// `YYYY-MM-DDThh:mmZ`, `YYYY-MM-DDThh:mm:ssZ` and `YYYY-MM-DDThh:mm:ss.fffffffZ` (1 to 7
/// fractional digits, .NET's tick precision).
pub(crate) fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    // chrono alone would accept more (signs, extra year digits), so the shape is checked first.
    fn digits(s: &str) -> bool {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
    }
    let (date, time) = match value.split_once('T') {
        Some((date, time)) => (date, Some(time.strip_suffix('Z')?)),
        None => (value, None),
    };
    let date_ok = date.len() == 10
        && digits(&date[..4])
        && &date[4..5] == "-"
        && digits(&date[5..7])
        && &date[7..8] == "-"
        && digits(&date[8..]);
    if !date_ok {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let time = match time {
        None => NaiveTime::MIN,
        Some(t) => {
            let (hms, fraction) = match t.split_once('.') {
                Some((hms, fraction)) => (hms, Some(fraction)),
                None => (t, None),
            };
            let parts: Vec<&str> = hms.split(':').collect();
            let shape_ok = matches!(parts.len(), 2 | 3)
                && parts.iter().all(|p| p.len() == 2 && digits(p))
                && (fraction.is_none()
                    || (parts.len() == 3 && fraction.is_some_and(|f| f.len() <= 7 && digits(f))));
            if !shape_ok {
                return None;
            }
            let hour = parts[0].parse().ok()?;
            let minute = parts[1].parse().ok()?;
            let second = parts.get(2).map_or(Some(0), |s| s.parse().ok())?;
            let nanos = fraction.map_or(Some(0), |f| format!("{f:0<9}").parse::<u32>().ok())?;
            // `from_hms_nano_opt` would read a second of 60 as a leap second; Azure would not.
            if second > 59 {
                return None;
            }
            NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?
        }
    };
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// A real account SAS signed by Microsoft's Python SDK with Azurite's public key (see
    /// `sign.rs`): `ss=b`, `srt=sco`, `sp=rwdlac`, `spr=https`.
    const VALID: &str = "st=2024-01-01T00%3A00%3A00Z&se=2030-12-31T23%3A59%3A59Z&sp=rwdlac\
        &spr=https&sv=2021-12-02&ss=b&srt=sco&sig=TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc%3D";
    const SIG_DECODED: &str = "TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc=";

    /// `VALID` with `key` replaced by `value` (appended if absent), or removed when `None`.
    fn with(key: &str, value: Option<&str>) -> String {
        let mut parts: Vec<String> = VALID
            .split('&')
            .filter(|p| p.split('=').next() != Some(key))
            .map(str::to_owned)
            .collect();
        if let Some(value) = value {
            parts.push(format!("{key}={value}"));
        }
        parts.join("&")
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn accepted_input_forms() {
        let cases = [
            (VALID.to_owned(), None, "bare token"),
            (format!("?{VALID}"), None, "leading ?"),
            (format!("{VALID}\n"), None, "trailing newline from a paste"),
            (format!("  ?{VALID}\r\n"), None, "surrounding whitespace"),
            (format!("{VALID}&"), None, "trailing &"),
            (
                format!("https://acct.blob.core.windows.net/?{VALID}"),
                Some("https://acct.blob.core.windows.net/"),
                "full SAS URL",
            ),
            (
                format!("https://acct.blob.core.windows.net?{VALID}"),
                Some("https://acct.blob.core.windows.net/"),
                "SAS URL without a path",
            ),
            (
                format!("HTTP://127.0.0.1:10000/devstoreaccount1?{VALID}"),
                Some("http://127.0.0.1:10000/devstoreaccount1"),
                "emulator URL, scheme in capitals",
            ),
        ];
        for (input, url_base, why) in cases {
            let sas = parse(&input).unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!(sas.url_base.as_deref(), url_base, "{why}");
            assert_eq!(sas.token.expose_secret(), VALID, "{why}");
            assert_eq!(sas.version.as_deref(), Some("2021-12-02"), "{why}");
            assert_eq!(sas.services.to_string(), "b", "{why}");
            assert_eq!(sas.resource_types.to_string(), "sco", "{why}");
            assert_eq!(sas.permissions.to_string(), "rwdlac", "{why}");
            assert_eq!(sas.start, Some(utc(2024, 1, 1, 0, 0, 0)), "{why}");
            assert_eq!(sas.expiry, utc(2030, 12, 31, 23, 59, 59), "{why}");
            assert_eq!(sas.protocol, Protocol::HttpsOnly, "{why}");
            assert_eq!(sas.ip, None, "{why}");
        }
    }

    #[test]
    fn interior_whitespace_is_rejected_with_its_position() {
        let cases = [
            ("sv=2021-12-02&ss=b &srt=sco", 19, ' '),
            ("sv=2021-12-02&ss=b\n&srt=sco", 19, '\n'),
            ("sv=2021\t-12-02", 8, '\t'),
            // Leading whitespace is trimmed but still counted, so the position matches the paste.
            ("  ?sv=2021-12-02&s s=b", 19, ' '),
            (
                "https://a.blob.core.windows.net/?sv=1&sig=ab\r\ncd",
                45,
                '\r',
            ),
        ];
        for (input, position, found) in cases {
            assert_eq!(
                parse(input).unwrap_err(),
                SasError::InteriorWhitespace { position, found },
                "{input:?}"
            );
        }
        let msg = parse("sv=1\n&ss=b").unwrap_err().to_string();
        assert!(msg.contains("a line break at character 5"), "{msg}");
    }

    #[test]
    fn wrong_kinds_of_token_are_rejected_first() {
        let container = "sv=2021-12-02&sr=c&sp=rl&se=2030-01-01&spr=https&sig=abc%3D";
        let blob = "sv=2021-12-02&sr=b&sp=r&se=2030-01-01&sig=abc%3D";
        let delegation = "sv=2021-12-02&sr=c&sp=rl&se=2030-01-01&skoid=1234&sktid=5678\
                          &skt=2024-01-01&ske=2024-01-02&sks=b&skv=2021-12-02&sig=abc";
        let delegation_no_sr = "sv=2021-12-02&skoid=1&ss=b&srt=sco&se=2030-01-01&sig=abc";
        let cases = [
            (
                container,
                SasError::ServiceSas {
                    resource: "c".into(),
                },
                "container-level",
            ),
            (
                blob,
                SasError::ServiceSas {
                    resource: "b".into(),
                },
                "blob-level",
            ),
            (delegation, SasError::UserDelegationSas, "user-delegation"),
            (
                delegation_no_sr,
                SasError::UserDelegationSas,
                "user-delegation",
            ),
        ];
        for (input, expected, level) in cases {
            let err = parse(input).unwrap_err();
            assert_eq!(err, expected);
            assert!(err.is_service_sas());
            let msg = err.to_string();
            assert!(
                msg.contains("Only an account-level SAS token works"),
                "{msg}"
            );
            assert!(msg.contains(level), "{msg}");
            assert!(
                msg.contains("Security + networking → Shared access signature"),
                "{msg}"
            );
            assert!(msg.contains("az storage account generate-sas"), "{msg}");
            assert!(!msg.contains("abc"), "{msg}");
        }
    }

    #[test]
    fn invalid_tokens() {
        let double = with(
            "sig",
            Some("TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc%253D"),
        );
        let double_plus = with("sig", Some("a%252Bb%252Fc%253D"));
        const ACCT: &str = "https://acct.blob.core.windows.net";
        // Positions of errors in a part appended after `VALID&`.
        let n = VALID.len();
        let cases: Vec<(String, SasError, &str)> = vec![
            (
                with("ss", None),
                SasError::NotAccountSas { missing: "ss" },
                "no ss",
            ),
            (
                with("srt", None),
                SasError::NotAccountSas { missing: "srt" },
                "no srt",
            ),
            (
                "sv=2021-12-02&sp=r&se=2030-01-01&sig=abc".into(),
                SasError::NotAccountSas {
                    missing: "ss and srt",
                },
                "neither",
            ),
            (with("sig", None), SasError::MissingSignature, "no sig"),
            (
                double,
                SasError::DoubleEncodedSignature,
                "double-encoded sig",
            ),
            (
                double_plus,
                SasError::DoubleEncodedSignature,
                "double-encoded +/",
            ),
            (
                with("sig", Some("not-base64!")),
                SasError::MalformedSignature,
                "non-base64",
            ),
            (
                with("sig", Some("YWJj")),
                SasError::MalformedSignature,
                "3 bytes, not 32",
            ),
            (
                with("sig", Some("TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc")),
                SasError::MalformedSignature,
                "padding lost",
            ),
            (with("se", None), SasError::MissingExpiry, "no se"),
            (
                with("sp", None),
                SasError::MissingParameter { param: "sp" },
                "no sp",
            ),
            (
                with("se", Some("tomorrow")),
                SasError::InvalidTime {
                    param: "se",
                    value: "tomorrow".into(),
                },
                "se not a time",
            ),
            (
                with("se", Some("2030-13-01")),
                SasError::InvalidTime {
                    param: "se",
                    value: "2030-13-01".into(),
                },
                "month 13",
            ),
            (
                with("se", Some("2030-01-01T00%3A00%3A00")),
                SasError::InvalidTime {
                    param: "se",
                    value: "2030-01-01T00:00:00".into(),
                },
                "no Z",
            ),
            (
                with("st", Some("2030-01-01T00%3A00%3A00%2B01%3A00")),
                SasError::InvalidTime {
                    param: "st",
                    value: "2030-01-01T00:00:00+01:00".into(),
                },
                "offset instead of Z",
            ),
            (
                with("st", Some("2030-01-01T00%3A00%3A00.12345678Z")),
                SasError::InvalidTime {
                    param: "st",
                    value: "2030-01-01T00:00:00.12345678Z".into(),
                },
                "8 fractional digits",
            ),
            (
                with("st", Some("2030-1-01")),
                SasError::InvalidTime {
                    param: "st",
                    value: "2030-1-01".into(),
                },
                "one-digit month",
            ),
            (
                with("ss", Some("bz")),
                SasError::UnknownLetters {
                    param: "ss",
                    letters: "z".into(),
                },
                "ss letter",
            ),
            (
                with("srt", Some("scox")),
                SasError::UnknownLetters {
                    param: "srt",
                    letters: "x".into(),
                },
                "srt letter",
            ),
            (
                with("sp", Some("rwlqQ")),
                SasError::UnknownLetters {
                    param: "sp",
                    letters: "qQ".into(),
                },
                "sp letters",
            ),
            (
                with("spr", Some("http")),
                SasError::InvalidProtocol {
                    value: "http".into(),
                },
                "spr=http",
            ),
            (
                with("spr", Some("http%2Chttps")),
                SasError::InvalidProtocol {
                    value: "http,https".into(),
                },
                "spr reversed",
            ),
            (
                format!("{VALID}&sv=2020-01-01"),
                SasError::DuplicateParameter { param: "sv".into() },
                "dup sv",
            ),
            (
                format!("{VALID}&secret=1&secret=2"),
                SasError::DuplicateParameter {
                    param: String::new(),
                },
                "unknown dup is not named",
            ),
            (
                format!("{VALID}&=x"),
                SasError::EmptyParameterName { position: n + 2 },
                "empty key",
            ),
            (
                format!("{VALID}&foo"),
                SasError::MissingEquals { position: n + 2 },
                "no =",
            ),
            (
                format!("{VALID}&x=%zz"),
                SasError::InvalidPercentEncoding { position: n + 4 },
                "bad escape",
            ),
            (
                format!("{VALID}&x=%4"),
                SasError::InvalidPercentEncoding { position: n + 4 },
                "short escape",
            ),
            (
                format!("{VALID}&x=%FF"),
                SasError::InvalidPercentEncoding { position: n + 4 },
                "not UTF-8",
            ),
            ("".into(), SasError::Empty, "empty"),
            (" \n".into(), SasError::Empty, "blank"),
            ("?".into(), SasError::Empty, "only ?"),
            (format!("{ACCT}/"), SasError::UrlWithoutToken, "URL, no ?"),
            (format!("{ACCT}/?"), SasError::UrlWithoutToken, "URL, empty"),
            (
                "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFP\
                 TOtr/KBHBeksoGMGw=="
                    .into(),
                SasError::LooksLikeAccountKey,
                "account key",
            ),
            (
                format!("BlobEndpoint={ACCT}/;SharedAccessSignature={VALID}"),
                SasError::ConnectionString,
                "connection string with a SAS",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc==;".into(),
                SasError::ConnectionString,
                "connection string with a key",
            ),
        ];
        for (input, expected, why) in cases {
            assert_eq!(parse(&input).unwrap_err(), expected, "{why}: {input}");
        }
        assert!(matches!(
            parse("https://[::1/?sv=1").unwrap_err(),
            SasError::InvalidUrl { .. }
        ));
    }

    #[test]
    fn error_messages_never_contain_the_signature() {
        let inputs = [
            with("ss", None),
            with("se", None),
            with("se", Some("tomorrow")),
            with("sp", Some("rq")),
            with("spr", Some("http")),
            format!("{VALID}&sig=x"),
            format!("{VALID}&=x"),
            format!("{VALID}&x=%zz"),
            format!("{VALID} &x=1"),
            format!("{VALID}\n&x=1"),
            format!("BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature={VALID}"),
            format!("{VALID}&sr=c"),
        ];
        for input in inputs {
            let err = parse(&input).unwrap_err();
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("TKb0bv2u"), "{shown}");
            }
        }
    }

    #[test]
    fn time_formats_azure_accepts() {
        let cases = [
            ("2030-01-02", utc(2030, 1, 2, 0, 0, 0), 0),
            ("2030-01-02T03:04Z", utc(2030, 1, 2, 3, 4, 0), 0),
            ("2030-01-02T03:04:05Z", utc(2030, 1, 2, 3, 4, 5), 0),
            (
                "2030-01-02T03:04:05.1Z",
                utc(2030, 1, 2, 3, 4, 5),
                100_000_000,
            ),
            (
                "2030-01-02T03:04:05.1234567Z",
                utc(2030, 1, 2, 3, 4, 5),
                123_456_700,
            ),
        ];
        for (value, expected, nanos) in cases {
            let expected = expected + chrono::Duration::nanoseconds(nanos);
            assert_eq!(parse_time(value), Some(expected), "{value}");
            // Both encoded and literal colons are accepted in a token.
            for se in [value.to_owned(), value.replace(':', "%3A")] {
                let sas = parse(&with("se", Some(&se))).unwrap_or_else(|e| panic!("{se}: {e}"));
                assert_eq!(sas.expiry, expected, "{se}");
            }
        }
        for bad in [
            "2030-01-02T",
            "2030-01-02T03Z",
            "2030-01-02T03:04:60Z",
            "2030-01-02T24:00Z",
            "2030-02-30",
            "+2030-01-02",
            "2030-01-02T03:04.5Z",
            "2030-01-02T03:04:05.Z",
            "2030-01-02 03:04:05Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_reencoding() {
        // The same token as Python's SDK writes it (`/` left as is, `:` and `=` encoded), with
        // every character literal, and with `+` written literally versus as `%2B`.
        let plus_sig = "ab+cdefghijklmnopqrstuvwxyz/ABCDEFGHIJKLMNQ=";
        let literal =
            format!("sv=2021-12-02&ss=b&srt=o&sp=w&se=2030-01-01T00:00:00Z&sig={plus_sig}");
        let encoded = "sv=2021-12-02&ss=b&srt=o&sp=w&se=2030-01-01T00%3A00%3A00Z\
                       &sig=ab%2Bcdefghijklmnopqrstuvwxyz%2FABCDEFGHIJKLMNQ%3D";
        let mixed = "sv=2021-12-02&ss=b&srt=o&sp=w&se=2030-01-01T00%3a00:00Z\
                     &sig=ab+cdefghijklmnopqrstuvwxyz/ABCDEFGHIJKLMNQ%3d";
        for input in [literal.as_str(), encoded, mixed] {
            let sas = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(sas.token.expose_secret(), encoded, "{input}");
        }
        // Unknown parameters are kept, in their original place.
        let with_extra = format!("api-version=2021-12-02&{VALID}&ses=scope-1");
        let sas = parse(&with_extra).unwrap();
        assert_eq!(sas.token.expose_secret(), with_extra);
    }

    #[test]
    fn optional_parameters() {
        let sas = parse(&with("sip", Some("168.1.5.60-168.1.5.70"))).unwrap();
        assert_eq!(sas.ip.as_deref(), Some("168.1.5.60-168.1.5.70"));
        let sas = parse(&with("spr", None)).unwrap();
        assert_eq!(sas.protocol, Protocol::HttpsOrHttp, "Azure's default");
        let sas = parse(&with("spr", Some("https%2Chttp"))).unwrap();
        assert_eq!(sas.protocol, Protocol::HttpsOrHttp);
        let sas = parse(&with("st", None)).unwrap();
        assert_eq!(sas.start, None);
        let sas = parse(&with("sv", None)).unwrap();
        assert_eq!(sas.version, None);
    }

    #[test]
    fn debug_and_display_redact_the_token() {
        let sas = parse(&format!("https://acct.blob.core.windows.net/?{VALID}")).unwrap();
        for shown in [
            format!("{sas:?}"),
            format!("{sas:#?}"),
            format!("{sas}"),
            format!("{}", sas.token),
            format!("{:?}", sas.token),
        ] {
            assert!(!shown.contains(SIG_DECODED), "{shown}");
            assert!(!shown.contains("TKb0bv2u"), "{shown}");
        }
        assert_eq!(
            sas.to_string(),
            "account SAS (ss=b, srt=sco, sp=rwdlac, spr=https, expires 2030-12-31T23:59:59Z)"
        );
    }

    #[test]
    fn expires_before() {
        let sas = parse(VALID).unwrap();
        assert!(sas.expires_before(utc(2031, 1, 1, 0, 0, 0)));
        assert!(!sas.expires_before(utc(2030, 12, 31, 23, 59, 58)));
    }
}
