//! Everything that can be wrong with a SAS token, an account key, or what a token allows.
//!
//! Every message is a sentence a user can act on. None contains the token or its signature: the
//! values quoted (times, letters, `sr`, `spr`) are never secret, and are shortened by [`shown`]
//! in case something else was pasted in their place.

use chrono::{DateTime, Utc};

use super::{Permissions, ResourceTypes, Services};

/// How to obtain an account SAS; appended to every "wrong kind of token" message.
const HOW_TO_GET_AN_ACCOUNT_SAS: &str = "Create an account SAS in the Azure portal (storage \
     account → Security + networking → Shared access signature, with the Blob service allowed) \
     or with `az storage account generate-sas --account-name <account> --services b \
     --resource-types sco --permissions rwlac --expiry <YYYY-MM-DDThh:mmZ> --https-only`.";

/// A problem with a SAS token (or an account key), found without contacting Azure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SasError {
    /// Nothing (or only whitespace) was entered.
    #[error(
        "No SAS token was entered. Paste the account SAS token (it starts with `sv=` or `?sv=`) \
         or the full SAS URL."
    )]
    Empty,

    /// The input starts like a URL but the part before `?` is not a valid URL.
    #[error(
        "The SAS URL could not be read ({reason}). Paste the complete SAS URL starting with \
         `https://`, or the token alone (starting with `sv=`)."
    )]
    InvalidUrl {
        /// Why the URL parser refused it.
        reason: String,
    },

    /// A URL was entered but it carries no token after `?`.
    #[error(
        "The URL contains no SAS token (nothing follows `?`). Paste the full SAS URL, or the \
         token itself."
    )]
    UrlWithoutToken,

    /// Whitespace inside the token, typically from a paste that wrapped lines.
    #[error(
        "The SAS token contains {} at character {position}. A token never contains whitespace, \
         so it was probably wrapped or split when it was copied; paste it again as one line.",
        whitespace_name(*.found)
    )]
    InteriorWhitespace {
        /// 1-based character position in the input as entered.
        position: usize,
        /// The whitespace character found.
        found: char,
    },

    /// A part of the query has no `=`.
    #[error(
        "The SAS token has a part without `=` at character {position}; every part must look \
         like `name=value`. Copy the token again from where it was generated."
    )]
    MissingEquals {
        /// 1-based character position of the part in the input as entered.
        position: usize,
    },

    /// A part of the query starts with `=`.
    #[error(
        "The SAS token has a value without a parameter name at character {position}. Copy the \
         token again from where it was generated."
    )]
    EmptyParameterName {
        /// 1-based character position of the part in the input as entered.
        position: usize,
    },

    /// A `%` not followed by two hexadecimal digits, or escapes that do not decode to UTF-8.
    #[error(
        "The SAS token has an invalid percent escape at character {position} (`%` must be \
         followed by two hexadecimal digits and encode UTF-8 text). Copy the token again from \
         where it was generated."
    )]
    InvalidPercentEncoding {
        /// 1-based character position (of the `%`, or of the parameter) in the input as entered.
        position: usize,
    },

    /// The same parameter appears twice.
    #[error(
        "The SAS token contains {} more than once; it was probably pasted twice or joined with \
         another token. Copy the token again.",
        parameter_phrase(.param)
    )]
    DuplicateParameter {
        /// The parameter's name if it is a known SAS parameter, else empty.
        param: String,
    },

    /// The input is a storage account key rather than a SAS token.
    #[error(
        "This looks like a storage account key, not a SAS token. writeback needs an account-level \
         SAS token, and never stores account keys. {HOW_TO_GET_AN_ACCOUNT_SAS}"
    )]
    LooksLikeAccountKey,

    /// The input is a storage connection string (`BlobEndpoint=...;SharedAccessSignature=...`).
    #[error(
        "This looks like a storage connection string, not a SAS token. Paste only the SAS token: \
         the value after `SharedAccessSignature=`, up to the next `;` (and give the \
         `BlobEndpoint` as the endpoint if it is not the default). A connection string without \
         `SharedAccessSignature=` holds an account key, which writeback does not use: \
         {HOW_TO_GET_AN_ACCOUNT_SAS}"
    )]
    ConnectionString,

    /// A user-delegation SAS (signed with Microsoft Entra credentials; has `skoid` etc.).
    #[error(
        "Only an account-level SAS token works here, but a user-delegation SAS was entered (a \
         container- or blob-level token signed with Microsoft Entra credentials). \
         {HOW_TO_GET_AN_ACCOUNT_SAS}"
    )]
    UserDelegationSas,

    /// A service SAS (has `sr`): container-level, blob-level, and so on.
    #[error(
        "Only an account-level SAS token works here, but a {} SAS token was entered (it has \
         `sr={resource}`). {HOW_TO_GET_AN_ACCOUNT_SAS}",
        service_sas_level(.resource)
    )]
    ServiceSas {
        /// The `sr` value, e.g. `c` (container) or `b` (blob).
        resource: String,
    },

    /// Neither a service SAS nor an account SAS: `ss` or `srt` is missing.
    #[error(
        "This is not an account SAS token: it has no {}. Only an account-level SAS token works \
         here. {HOW_TO_GET_AN_ACCOUNT_SAS}",
        missing_account_params(.missing)
    )]
    NotAccountSas {
        /// `"ss"`, `"srt"`, or `"ss and srt"`.
        missing: &'static str,
    },

    /// No `sig`.
    #[error(
        "The SAS token has no signature (`sig`); it was probably cut off when it was copied. \
         Copy the whole token again."
    )]
    MissingSignature,

    /// `sig` still percent-encoded after decoding (`%2B`, `%2F`, `%3D`).
    #[error(
        "The SAS token's signature (`sig`) is percent-encoded twice: it still contains `%2B`, \
         `%2F` or `%3D` after decoding, which happens when an already encoded token is encoded \
         again. Paste the token exactly as Azure generated it."
    )]
    DoubleEncodedSignature,

    /// `sig` is not standard base64 of a 32-byte HMAC-SHA256.
    #[error(
        "The SAS token's signature (`sig`) is not valid: it must be the base64 encoding of 32 \
         bytes, so it was probably truncated or altered when it was copied. Copy the whole token \
         again."
    )]
    MalformedSignature,

    /// No `se`.
    #[error(
        "The SAS token has no expiry time (`se`), which Azure requires. Generate a new account \
         SAS with an expiry date."
    )]
    MissingExpiry,

    /// A required parameter other than `sig` / `se` is missing (`sp`).
    #[error(
        "The SAS token has no `{param}` parameter ({}), which Azure requires. Generate a new \
         account SAS.",
        param_meaning(.param)
    )]
    MissingParameter {
        /// The missing parameter.
        param: &'static str,
    },

    /// `st` or `se` is not in one of the ISO 8601 forms Azure accepts.
    #[error(
        "The SAS token's {} (`{param}={value}`) is not in a format Azure accepts: use \
         `YYYY-MM-DD`, `YYYY-MM-DDThh:mmZ`, `YYYY-MM-DDThh:mm:ssZ` or \
         `YYYY-MM-DDThh:mm:ss.fffffffZ`, in UTC.",
        param_meaning(.param)
    )]
    InvalidTime {
        /// `"st"` or `"se"`.
        param: &'static str,
        /// The value found (shortened if long).
        value: String,
    },

    /// Letters Azure does not define in `ss`, `srt` or `sp`.
    #[error(
        "The {} (`{param}`) contain letters Azure does not define: `{letters}`. Valid letters \
         are `{}`.",
        param_meaning(.param),
        valid_letters(.param)
    )]
    UnknownLetters {
        /// `"ss"`, `"srt"` or `"sp"`.
        param: &'static str,
        /// Each unknown letter once, in the order found.
        letters: String,
    },

    /// `spr` other than `https` or `https,http`.
    #[error(
        "The protocol `{value}` is not valid: a SAS allows either `https` or `https,http` \
         (`spr`)."
    )]
    InvalidProtocol {
        /// The value found (shortened if long).
        value: String,
    },

    /// `se` is not in the future.
    #[error(
        "The SAS token expired at {}. Generate a new account SAS with a later expiry and save \
         it for this account.",
        utc(.expiry)
    )]
    Expired {
        /// The token's expiry (`se`).
        expiry: DateTime<Utc>,
    },

    /// `st` is further in the future than clock skew explains.
    #[error(
        "The SAS token only becomes valid at {}, more than 15 minutes from now (the most clock \
         skew Azure and writeback allow). Wait until then, check this machine's clock, or \
         generate a token with an earlier start time.",
        utc(.start)
    )]
    NotYetValid {
        /// The token's start (`st`).
        start: DateTime<Utc>,
    },

    /// `spr=https` but the endpoint is plain HTTP (and not the local emulator).
    #[error(
        "The SAS token only allows HTTPS (`spr=https`), but the endpoint uses plain HTTP. Use \
         an `https://` endpoint, or generate a token that allows HTTPS and HTTP."
    )]
    HttpsRequired,

    /// `ss` does not include `b`.
    #[error(
        "The SAS token does not cover the Blob service: it allows only `ss={services}` \
         ({}). Generate an account SAS with the Blob service (`b`) allowed.",
        services_phrase(.services)
    )]
    NoBlobService {
        /// The services the token does cover.
        services: Services,
    },

    /// The token lacks resource types or permissions an operation needs.
    #[error(
        "{}",
        missing_permissions_message(.operation, .missing_resource_types, .missing_permissions)
    )]
    MissingPermissions {
        /// What the letters are needed for, e.g. `"listing containers"`.
        operation: &'static str,
        /// Missing `srt` letters (empty if none).
        missing_resource_types: String,
        /// Missing `sp` letters (empty if none); `a|w` means either `a` or `w` would do.
        missing_permissions: String,
    },

    /// The account key is not base64 (or is empty).
    #[error(
        "The account key is not valid: it must be the base64 text shown under the storage \
         account's Access keys (or Azurite's well-known key). Copy it again."
    )]
    InvalidAccountKey,
}

impl SasError {
    /// Whether the token was rejected for being a service SAS (container-, blob-level, ...) or a
    /// user-delegation SAS rather than an account SAS.
    pub fn is_service_sas(&self) -> bool {
        matches!(
            self,
            SasError::ServiceSas { .. } | SasError::UserDelegationSas
        )
    }
}

/// Shortens a user-supplied value quoted in a message, so that a paste of something else (a
/// whole token in the wrong field) cannot end up in an error in full.
pub(crate) fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 32;
    let mut out: String = value
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

fn utc(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn whitespace_name(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        '\t' => "a tab".to_owned(),
        other => format!("a whitespace character (U+{:04X})", u32::from(other)),
    }
}

fn parameter_phrase(param: &str) -> String {
    if param.is_empty() {
        "a parameter".to_owned()
    } else {
        format!("the parameter `{param}`")
    }
}

fn service_sas_level(resource: &str) -> &'static str {
    match resource {
        "c" => "container-level",
        "b" => "blob-level",
        "bs" => "blob-snapshot-level",
        "bv" => "blob-version-level",
        "d" => "directory-level",
        "s" => "file-share-level",
        "f" => "file-level",
        _ => "service-level (container- or blob-level)",
    }
}

fn missing_account_params(missing: &str) -> &'static str {
    match missing {
        "ss" => "`ss` parameter (signed services)",
        "srt" => "`srt` parameter (signed resource types)",
        _ => "`ss` (signed services) and no `srt` (signed resource types)",
    }
}

fn param_meaning(param: &str) -> &'static str {
    match param {
        "ss" => "signed services",
        "srt" => "signed resource types",
        "sp" => "signed permissions",
        "st" => "start time",
        "se" => "expiry time",
        _ => "parameter",
    }
}

fn valid_letters(param: &str) -> &'static str {
    match param {
        "ss" => Services::ALPHABET,
        "srt" => ResourceTypes::ALPHABET,
        _ => Permissions::ALPHABET,
    }
}

fn services_phrase(services: &Services) -> String {
    let names: Vec<&str> = Services::ALPHABET
        .chars()
        .filter(|&c| services.contains(c))
        .filter_map(Services::letter_meaning)
        .collect();
    if names.is_empty() {
        "no service".to_owned()
    } else {
        names.join(", ")
    }
}

/// `'s' (service)`, `'s' (service) and 'o' (object)`, `'a' (add) or 'w' (write)`.
fn letters_phrase(letters: &str, meaning: fn(char) -> Option<&'static str>) -> (String, usize) {
    let alternatives = letters.contains('|');
    let items: Vec<&str> = if alternatives {
        letters.split('|').collect()
    } else {
        letters
            .char_indices()
            .map(|(i, c)| &letters[i..i + c.len_utf8()])
            .collect()
    };
    let joiner = if alternatives { " or " } else { " and " };
    let described: Vec<String> = items
        .iter()
        .map(|item| {
            let name = item.chars().next().and_then(meaning).unwrap_or("unknown");
            format!("'{item}' ({name})")
        })
        .collect();
    let phrase = match described.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}{joiner}{last}", init.join(", ")),
    };
    // Alternatives count as one thing to add.
    let count = if alternatives { 1 } else { items.len() };
    (phrase, count)
}

fn missing_permissions_message(operation: &str, srt: &str, sp: &str) -> String {
    let mut lacks = Vec::new();
    let mut count = 0;
    if !srt.is_empty() {
        let (phrase, n) = letters_phrase(srt, ResourceTypes::letter_meaning);
        let noun = if n > 1 {
            "resource types"
        } else {
            "resource type"
        };
        lacks.push(format!("{noun} {phrase} in srt"));
        count += n;
    }
    if !sp.is_empty() {
        let (phrase, n) = letters_phrase(sp, Permissions::letter_meaning);
        let noun = if n > 1 { "permissions" } else { "permission" };
        lacks.push(format!("{noun} {phrase} in sp"));
        count += n;
    }
    let pronoun = if count > 1 { "them" } else { "it" };
    format!(
        "The SAS token cannot be used for {operation}: it lacks {}. Generate an account SAS that \
         includes {pronoun}.",
        lacks.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_permissions_sentences() {
        let cases = [
            (
                ("listing containers", "s", "l"),
                "The SAS token cannot be used for listing containers: it lacks resource type 's' \
                 (service) in srt and permission 'l' (list) in sp. Generate an account SAS that \
                 includes them.",
            ),
            (
                ("writing blobs", "", "wc"),
                "The SAS token cannot be used for writing blobs: it lacks permissions 'w' (write) \
                 and 'c' (create) in sp. Generate an account SAS that includes them.",
            ),
            (
                ("appending to blobs", "", "a|w"),
                "The SAS token cannot be used for appending to blobs: it lacks permission 'a' \
                 (add) or 'w' (write) in sp. Generate an account SAS that includes it.",
            ),
            (
                ("creating the container", "c", ""),
                "The SAS token cannot be used for creating the container: it lacks resource type \
                 'c' (container) in srt. Generate an account SAS that includes it.",
            ),
        ];
        for ((operation, srt, sp), expected) in cases {
            let err = SasError::MissingPermissions {
                operation,
                missing_resource_types: srt.to_owned(),
                missing_permissions: sp.to_owned(),
            };
            assert_eq!(err.to_string(), expected);
        }
    }

    #[test]
    fn service_sas_messages_say_account_level_and_how_to_get_one() {
        let errors = [
            SasError::ServiceSas {
                resource: "c".to_owned(),
            },
            SasError::ServiceSas {
                resource: "b".to_owned(),
            },
            SasError::UserDelegationSas,
        ];
        for err in errors {
            let msg = err.to_string();
            assert!(err.is_service_sas());
            assert!(
                msg.contains("Only an account-level SAS token works"),
                "{msg}"
            );
            assert!(msg.contains("Shared access signature"), "{msg}");
            assert!(msg.contains("az storage account generate-sas"), "{msg}");
        }
        assert!(!SasError::MissingSignature.is_service_sas());
    }

    #[test]
    fn shown_truncates_and_strips_controls() {
        assert_eq!(shown("https"), "https");
        assert_eq!(shown("a\u{7}b"), "a?b");
        let long = "x".repeat(100);
        assert_eq!(shown(&long).chars().count(), 33);
    }
}
