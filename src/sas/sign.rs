//! Signing account and container SAS tokens with an account key, byte for byte as Azure,
//! Azurite and Microsoft's SDKs compute them.
//!
//! The strings to sign follow Microsoft's "Create an account SAS" and "Create a service SAS"
//! REST documentation for signed versions 2020-12-06 and later (which added the encryption
//! scope, `ses`). The unit tests compare our signatures with ones produced by Microsoft's Python
//! SDK (`azure-storage-blob` 12.31.1) for the same inputs.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::token::encode_query_value;
use super::{Permissions, Protocol, ResourceTypes, SasError, SasToken, Services};

/// The signed version (`sv`) of every token we sign.
///
/// The rest of the program sends `x-ms-version: 2021-12-02` too: it is at least 2020-12-06 (so
/// the string to sign below, with `ses`, applies) and Azurite 3.35 accepts it without
/// `--skipApiVersionCheck`.
pub const SAS_VERSION: &str = "2021-12-02";

/// A storage account key (the secret that signs SAS tokens), decoded from base64.
///
/// `Debug` prints `AccountKey(REDACTED)`; there is no `Display` and no way to read the key back.
#[derive(Clone)]
pub struct AccountKey(Vec<u8>);

impl AccountKey {
    /// Decodes a key as shown under the storage account's Access keys (standard base64, e.g.
    /// Azurite's well-known key). Surrounding whitespace is ignored.
    pub fn from_base64(key: &str) -> Result<AccountKey, SasError> {
        match STANDARD.decode(key.trim()) {
            Ok(bytes) if !bytes.is_empty() => Ok(AccountKey(bytes)),
            _ => Err(SasError::InvalidAccountKey),
        }
    }

    /// HMAC-SHA256 of `string_to_sign` under this key, in base64.
    fn sign(&self, string_to_sign: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(string_to_sign.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountKey(REDACTED)")
    }
}

/// What an account SAS should grant; see [`sign_account_sas`].
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSasSpec {
    /// The storage account name (e.g. `devstoreaccount1`).
    pub account: String,
    /// `ss`.
    pub services: Services,
    /// `srt`.
    pub resource_types: ResourceTypes,
    /// `sp`.
    pub permissions: Permissions,
    /// `st`; `None` leaves it out (valid from when Azure receives a request).
    pub start: Option<DateTime<Utc>>,
    /// `se`.
    pub expiry: DateTime<Utc>,
    /// `spr`.
    pub protocol: Protocol,
    /// `sip`: an address or an inclusive range such as `168.1.5.60-168.1.5.70`.
    pub ip: Option<String>,
}

/// What a container (service) SAS should grant; see [`sign_container_sas`].
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSasSpec {
    /// The storage account name.
    pub account: String,
    /// The container the token is for.
    pub container: String,
    /// `sp`, written in the service-SAS order (`racwdxyltf...`); account-only letters such as
    /// `u` make Azure refuse the token.
    pub permissions: Permissions,
    /// `st`; `None` leaves it out.
    pub start: Option<DateTime<Utc>>,
    /// `se`.
    pub expiry: DateTime<Utc>,
    /// `spr`.
    pub protocol: Protocol,
    /// `sip`.
    pub ip: Option<String>,
}

/// Times in a SAS we sign: whole seconds, `YYYY-MM-DDThh:mm:ssZ`, identical in the string to
/// sign and in the query (Azure compares the query value as written).
fn sas_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Joins `key=value` pairs, skipping absent optional values, with values encoded canonically.
fn query(params: &[(&str, Option<&str>)]) -> SasToken {
    let query = params
        .iter()
        .filter_map(|&(key, value)| value.map(|v| format!("{key}={}", encode_query_value(v))))
        .collect::<Vec<_>>()
        .join("&");
    SasToken::from_canonical(query)
}

/// "Create an account SAS", version 2020-12-06 and later:
/// `account \n sp \n ss \n srt \n st \n se \n sip \n spr \n sv \n ses \n` (`ses` empty: we never
/// set an encryption scope).
fn account_string_to_sign(spec: &AccountSasSpec) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        spec.account,
        spec.permissions,
        spec.services,
        spec.resource_types,
        spec.start.map(sas_time).unwrap_or_default(),
        sas_time(spec.expiry),
        spec.ip.as_deref().unwrap_or_default(),
        spec.protocol.as_str(),
        SAS_VERSION,
        "", // ses
    )
}

/// Signs an account SAS. Parameters come out in the order the Azure portal uses:
/// `sv, ss, srt, sp, se, st, sip, spr, sig`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use writeback::sas::{parse, sign_account_sas, AccountKey, AccountSasSpec, Permissions,
///                      Protocol, ResourceTypes, Services};
///
/// // Azurite's well-known key.
/// let key = AccountKey::from_base64(
///     "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
/// )?;
/// let spec = AccountSasSpec {
///     account: "devstoreaccount1".into(),
///     services: Services::from_letters("b")?,
///     resource_types: ResourceTypes::from_letters("sco")?,
///     permissions: Permissions::from_letters("rwlac")?,
///     start: None,
///     expiry: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
///     protocol: Protocol::HttpsOnly,
///     ip: None,
/// };
/// let token = sign_account_sas(&spec, &key);
/// assert_eq!(parse(token.expose_secret())?.permissions.to_string(), "rwlac");
/// # Ok::<(), writeback::sas::SasError>(())
/// ```
pub fn sign_account_sas(spec: &AccountSasSpec, key: &AccountKey) -> SasToken {
    let sig = key.sign(&account_string_to_sign(spec));
    let (ss, srt, sp) = (
        spec.services.to_string(),
        spec.resource_types.to_string(),
        spec.permissions.to_string(),
    );
    let (st, se) = (spec.start.map(sas_time), sas_time(spec.expiry));
    query(&[
        ("sv", Some(SAS_VERSION)),
        ("ss", Some(&ss)),
        ("srt", Some(&srt)),
        ("sp", Some(&sp)),
        ("se", Some(&se)),
        ("st", st.as_deref()),
        ("sip", spec.ip.as_deref()),
        ("spr", Some(spec.protocol.as_str())),
        ("sig", Some(&sig)),
    ])
}

/// "Create a service SAS" for Blob storage, version 2020-12-06 and later:
/// `sp \n st \n se \n /blob/{account}/{container} \n si \n sip \n spr \n sv \n sr \n
/// snapshottime \n ses \n rscc \n rscd \n rsce \n rscl \n rsct` — no trailing newline. We use no
/// stored policy (`si`), snapshot, encryption scope or response-header overrides, so those are
/// empty.
fn container_string_to_sign(spec: &ContainerSasSpec, sp: &str) -> String {
    [
        sp,
        &spec.start.map(sas_time).unwrap_or_default(),
        &sas_time(spec.expiry),
        &format!("/blob/{}/{}", spec.account, spec.container),
        "", // si
        spec.ip.as_deref().unwrap_or_default(),
        spec.protocol.as_str(),
        SAS_VERSION,
        "c", // sr
        "",  // snapshot time
        "",  // ses
        "",  // rscc
        "",  // rscd
        "",  // rsce
        "",  // rscl
        "",  // rsct
    ]
    .join("\n")
}

/// Signs a container SAS (a service SAS with `sr=c`).
///
/// `writeback` refuses such tokens from users; it signs them only so tests can prove that
/// refusal, and Azurite's own answer to them, with real tokens.
pub fn sign_container_sas(spec: &ContainerSasSpec, key: &AccountKey) -> SasToken {
    let sp = spec.permissions.service_sas_letters();
    let sig = key.sign(&container_string_to_sign(spec, &sp));
    let (st, se) = (spec.start.map(sas_time), sas_time(spec.expiry));
    query(&[
        ("sv", Some(SAS_VERSION)),
        ("sr", Some("c")),
        ("sp", Some(&sp)),
        ("se", Some(&se)),
        ("st", st.as_deref()),
        ("sip", spec.ip.as_deref()),
        ("spr", Some(spec.protocol.as_str())),
        ("sig", Some(&sig)),
    ])
}

#[cfg(test)]
mod tests {
    //! Interop vectors: produced by `azure.storage.blob.generate_account_sas` /
    //! `generate_container_sas` from `azure-storage-blob` 12.31.1 (Python 3, 2026), with
    //! `version` pinned to `2021-12-02` (the SDK's `SharedAccessSignature` default and the
    //! blob module's `X_MS_VERSION` patched, as the functions take no version argument),
    //! account `devstoreaccount1` and Azurite's published key. Permissions, services and
    //! resource types were passed as strings so the SDK signs them in the order given. The SDK
    //! writes parameters in a different order and leaves `/` unencoded, so the tests compare the
    //! string to sign and the decoded `sig`, which is what Azure verifies.

    use chrono::TimeZone;

    use super::*;
    use crate::sas::{SasError, parse};

    const AZURITE_ACCOUNT: &str = "devstoreaccount1";
    /// Azurite's well-known key, public and documented.
    const AZURITE_KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    fn key() -> AccountKey {
        AccountKey::from_base64(AZURITE_KEY).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn account_spec(
        ss: &str,
        srt: &str,
        sp: &str,
        start: Option<DateTime<Utc>>,
        expiry: DateTime<Utc>,
        protocol: Protocol,
        ip: Option<&str>,
    ) -> AccountSasSpec {
        AccountSasSpec {
            account: AZURITE_ACCOUNT.to_owned(),
            services: Services::from_letters(ss).unwrap(),
            resource_types: ResourceTypes::from_letters(srt).unwrap(),
            permissions: Permissions::from_letters(sp).unwrap(),
            start,
            expiry,
            protocol,
            ip: ip.map(str::to_owned),
        }
    }

    fn sig_of(token: &SasToken) -> String {
        let sig = token
            .expose_secret()
            .split('&')
            .find_map(|p| p.strip_prefix("sig="))
            .unwrap();
        percent_encoding::percent_decode_str(sig)
            .decode_utf8()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn account_sas_matches_python_sdk() {
        // (spec, SDK string to sign, SDK sig)
        let cases = [
            (
                account_spec(
                    "b",
                    "sco",
                    "rwdlac",
                    Some(utc(2024, 1, 1, 0, 0, 0)),
                    utc(2030, 12, 31, 23, 59, 59),
                    Protocol::HttpsOnly,
                    None,
                ),
                "devstoreaccount1\nrwdlac\nb\nsco\n2024-01-01T00:00:00Z\n2030-12-31T23:59:59Z\n\n\
                 https\n2021-12-02\n\n",
                "TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc=",
            ),
            (
                account_spec(
                    "bfqt",
                    "sco",
                    "rwdxylacuptfi",
                    None,
                    utc(2026, 6, 15, 8, 30, 0),
                    Protocol::HttpsOrHttp,
                    Some("168.1.5.60-168.1.5.70"),
                ),
                "devstoreaccount1\nrwdxylacuptfi\nbfqt\nsco\n\n2026-06-15T08:30:00Z\n\
                 168.1.5.60-168.1.5.70\nhttps,http\n2021-12-02\n\n",
                "SRFQ/tG7yYXmXcY39RBlhhOH9BL7OHju6ltDnJjUAb8=",
            ),
            (
                account_spec(
                    "b",
                    "o",
                    "wc",
                    Some(utc(2025, 3, 4, 5, 6, 7)),
                    utc(2025, 3, 5, 5, 6, 7),
                    Protocol::HttpsOnly,
                    Some("127.0.0.1"),
                ),
                "devstoreaccount1\nwc\nb\no\n2025-03-04T05:06:07Z\n2025-03-05T05:06:07Z\n\
                 127.0.0.1\nhttps\n2021-12-02\n\n",
                "0EvA58tVWG0ICNREW8PlXPbJuW6ej2eoDIXw4lzY7nA=",
            ),
        ];
        for (spec, string_to_sign, sig) in cases {
            assert_eq!(account_string_to_sign(&spec), string_to_sign);
            let token = sign_account_sas(&spec, &key());
            assert_eq!(sig_of(&token), sig, "{string_to_sign:?}");
        }
    }

    #[test]
    fn container_sas_matches_python_sdk() {
        let cases = [
            (
                ContainerSasSpec {
                    account: AZURITE_ACCOUNT.to_owned(),
                    container: "exports".to_owned(),
                    permissions: Permissions::from_letters("racwdl").unwrap(),
                    start: Some(utc(2024, 1, 1, 0, 0, 0)),
                    expiry: utc(2030, 12, 31, 23, 59, 59),
                    protocol: Protocol::HttpsOnly,
                    ip: None,
                },
                "racwdl\n2024-01-01T00:00:00Z\n2030-12-31T23:59:59Z\n\
                 /blob/devstoreaccount1/exports\n\n\nhttps\n2021-12-02\nc\n\n\n\n\n\n\n",
                "UBQH8xFzykBGy6gLuGiRykuM3P266FwW//UV59xctAY=",
            ),
            (
                ContainerSasSpec {
                    account: AZURITE_ACCOUNT.to_owned(),
                    container: "nightly-data".to_owned(),
                    // Given in account order; signed in the service-SAS order, like the SDK.
                    permissions: Permissions::from_letters("lr").unwrap(),
                    start: None,
                    expiry: utc(2026, 6, 15, 8, 30, 0),
                    protocol: Protocol::HttpsOrHttp,
                    ip: Some("168.1.5.60-168.1.5.70".to_owned()),
                },
                "rl\n\n2026-06-15T08:30:00Z\n/blob/devstoreaccount1/nightly-data\n\n\
                 168.1.5.60-168.1.5.70\nhttps,http\n2021-12-02\nc\n\n\n\n\n\n\n",
                "VE8GQGat0FudZJM0dtHhFVAywzsruphHr6b23zZhyFo=",
            ),
        ];
        for (spec, string_to_sign, sig) in cases {
            let sp = spec.permissions.service_sas_letters();
            assert_eq!(container_string_to_sign(&spec, &sp), string_to_sign);
            let token = sign_container_sas(&spec, &key());
            assert_eq!(sig_of(&token), sig, "{string_to_sign:?}");
            assert!(token.expose_secret().contains("&sr=c&"));
        }
    }

    #[test]
    fn account_sas_output_format_and_round_trip() {
        let spec = account_spec(
            "b",
            "sco",
            "rwdlac",
            Some(utc(2024, 1, 1, 0, 0, 0)),
            utc(2030, 12, 31, 23, 59, 59),
            Protocol::HttpsOnly,
            None,
        );
        let token = sign_account_sas(&spec, &key());
        assert_eq!(
            token.expose_secret(),
            "sv=2021-12-02&ss=b&srt=sco&sp=rwdlac&se=2030-12-31T23%3A59%3A59Z\
             &st=2024-01-01T00%3A00%3A00Z&spr=https\
             &sig=TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc%3D"
        );

        let specs = [
            spec,
            account_spec(
                "bfqt",
                "sco",
                "rwdxylacuptfi",
                None,
                utc(2026, 6, 15, 8, 30, 0),
                Protocol::HttpsOrHttp,
                Some("168.1.5.60-168.1.5.70"),
            ),
        ];
        for spec in specs {
            let token = sign_account_sas(&spec, &key());
            let sas = parse(token.expose_secret()).unwrap();
            assert_eq!(sas.token, token, "signing output is already canonical");
            assert_eq!(sas.version.as_deref(), Some(SAS_VERSION));
            assert_eq!(sas.services, spec.services);
            assert_eq!(sas.resource_types, spec.resource_types);
            assert_eq!(sas.permissions, spec.permissions);
            assert_eq!(sas.start, spec.start);
            assert_eq!(sas.expiry, spec.expiry);
            assert_eq!(sas.protocol, spec.protocol);
            assert_eq!(sas.ip, spec.ip);
            assert_eq!(sas.url_base, None);
        }
    }

    #[test]
    fn signed_container_sas_is_rejected_by_parse() {
        let spec = ContainerSasSpec {
            account: AZURITE_ACCOUNT.to_owned(),
            container: "exports".to_owned(),
            permissions: Permissions::from_letters("rwl").unwrap(),
            start: None,
            expiry: utc(2030, 1, 1, 0, 0, 0),
            protocol: Protocol::HttpsOnly,
            ip: None,
        };
        let token = sign_container_sas(&spec, &key());
        assert_eq!(
            parse(token.expose_secret()).unwrap_err(),
            SasError::ServiceSas {
                resource: "c".to_owned()
            }
        );
    }

    #[test]
    fn account_key() {
        assert!(AccountKey::from_base64(&format!("{AZURITE_KEY}\n")).is_ok());
        for bad in ["", "not base64!", "abc"] {
            assert_eq!(
                AccountKey::from_base64(bad).unwrap_err(),
                SasError::InvalidAccountKey,
                "{bad:?}"
            );
        }
        let shown = format!("{:?}", key());
        assert_eq!(shown, "AccountKey(REDACTED)");
        let msg = AccountKey::from_base64("x!").unwrap_err().to_string();
        assert!(!msg.contains("x!"));
    }
}
