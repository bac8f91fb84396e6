//! Saved accounts: the Credentials pane. Each call checks everything it can offline first, then
//! once against Azure, and only then changes local state, so a rejected token changes nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::azure::{BlobService, ClientOptions, ContainerItem, Endpoint, MAX_LIST_RESULTS};
use crate::error::{Error, Result};
use crate::sas::{self, AccountSas, Operation};
use crate::store::{AccountRecord, NewAccount, Store};

/// Tokens expiring sooner than this are flagged when saved or tested.
const EXPIRY_WARNING_DAYS: i64 = 7;

/// What `account add` needs.
#[derive(Debug, Clone)]
pub struct NewAccountInput {
    /// The local name to save it under.
    pub name: String,
    /// The Azure storage account name.
    pub storage_account: String,
    /// The SAS token as pasted: bare, with `?`, or a full SAS URL. Treated as a secret.
    pub sas_token: String,
    /// The Blob service endpoint, if not the public cloud's default.
    pub endpoint: Option<String>,
}

/// An account as shown to the user: its record plus what we can say about the token.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    /// What is stored.
    #[serde(flatten)]
    pub record: AccountRecord,
    /// Whole days until the token expires (negative once expired).
    pub days_until_expiry: i64,
    /// Things the user should know: an expiry soon, permissions missing for exports.
    pub warnings: Vec<String>,
}

/// A token and endpoint that passed every offline check.
struct Checked {
    sas: AccountSas,
    endpoint: Endpoint,
}

/// Checks a local account name: what the user types to refer to a saved account.
pub fn validate_name(name: &str) -> Result<()> {
    crate::naming::validate_local_name("account", name).map_err(Error::Invalid)
}

/// Parses the token and endpoint and runs every offline check for listing containers.
fn check_offline(
    storage_account: &str,
    sas_input: &str,
    endpoint: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Checked> {
    let sas = sas::parse(sas_input)?;
    let endpoint = match (endpoint, sas.url_base.as_deref()) {
        (Some(given), Some(from_url)) => {
            let given = Endpoint::new(storage_account, Some(given))?;
            let from_url = Endpoint::parse(from_url)?;
            if given != from_url {
                return Err(Error::Invalid(format!(
                    "the SAS URL is for {from_url} but the endpoint is {given}; pass one of them"
                )));
            }
            given
        }
        (Some(given), None) => Endpoint::new(storage_account, Some(given))?,
        (None, Some(from_url)) => Endpoint::new(storage_account, Some(from_url))?,
        (None, None) => Endpoint::new(storage_account, None)?,
    };
    sas.check_offline(
        now,
        endpoint.is_https(),
        endpoint.is_loopback(),
        &[Operation::ListContainers],
    )?;
    Ok(Checked { sas, endpoint })
}

/// Lists one container to prove the token works against the live service.
async fn probe(checked: &Checked, options: &ClientOptions) -> Result<()> {
    let client = BlobService::new(
        checked.endpoint.clone(),
        checked.sas.token.clone(),
        options.for_probe(),
    );
    client.list_containers_page(None, None, 1).await?;
    Ok(())
}

fn record(
    name: &str,
    storage_account: &str,
    checked: &Checked,
    user: &str,
    now: DateTime<Utc>,
) -> AccountRecord {
    let sas = &checked.sas;
    AccountRecord {
        name: name.to_owned(),
        storage_account: storage_account.to_owned(),
        endpoint: checked.endpoint.as_str().to_owned(),
        services: sas.services.to_string(),
        resource_types: sas.resource_types.to_string(),
        permissions: sas.permissions.to_string(),
        expiry: sas.expiry,
        created_by: user.to_owned(),
        created_at: now,
        updated_at: now,
    }
}

/// Builds the view of a record, with warnings about its token.
fn view(record: AccountRecord, sas: Option<&AccountSas>, now: DateTime<Utc>) -> AccountView {
    let days = (record.expiry - now).num_days();
    let mut warnings = Vec::new();
    let left = record.expiry - now;
    if left <= chrono::Duration::zero() {
        warnings.push(format!(
            "the token expired on {}; save a new one with `writeback account update {} --sas-token ...`",
            record.expiry.format("%Y-%m-%d %H:%M UTC"),
            record.name
        ));
    } else if left < chrono::Duration::days(EXPIRY_WARNING_DAYS) {
        warnings.push(format!(
            "the token expires on {} (in {}); rotate it with `writeback account update`",
            record.expiry.format("%Y-%m-%d %H:%M UTC"),
            human_span(record.expiry - now)
        ));
    }
    if let Some(Err(e)) = sas.map(|s| s.require(&[Operation::WriteBlob])) {
        warnings.push(format!("exports will fail with this token: {e}"));
    }
    AccountView {
        record,
        days_until_expiry: days,
        warnings,
    }
}

/// A span rounded to what a person wants to read: "6 days", "5 hours", "12 minutes".
pub fn human_span(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(0);
    match (minutes + 720) / 1440 {
        days if days >= 2 => format!("{days} days"),
        _ if minutes >= 120 => format!("{} hours", (minutes + 30) / 60),
        _ => format!("{minutes} minutes"),
    }
}

/// Saves a new account after checking the token offline and once against Azure.
pub async fn add(
    store: &Store,
    input: &NewAccountInput,
    user: &str,
    options: &ClientOptions,
) -> Result<AccountView> {
    validate_name(&input.name)?;
    // A duplicate name is refused before any request: the user should not wait on Azure to
    // learn about a local conflict.
    if store.account(&input.name).is_ok() {
        return Err(crate::store::StoreError::Duplicate {
            kind: "account",
            name: input.name.clone(),
        }
        .into());
    }
    let now = Utc::now();
    let checked = check_offline(
        &input.storage_account,
        &input.sas_token,
        input.endpoint.as_deref(),
        now,
    )?;
    probe(&checked, options).await?;
    let rec = record(&input.name, &input.storage_account, &checked, user, now);
    store.insert_account(&NewAccount {
        record: rec.clone(),
        token: &checked.sas.token,
    })?;
    Ok(view(rec, Some(&checked.sas), now))
}

/// Replaces an account's token (rotation), with the same checks as [`add`].
pub async fn update_token(
    store: &Store,
    name: &str,
    sas_input: &str,
    options: &ClientOptions,
) -> Result<AccountView> {
    let old = store.account(name)?;
    let now = Utc::now();
    let checked = check_offline(&old.storage_account, sas_input, Some(&old.endpoint), now)?;
    probe(&checked, options).await?;
    let rec = AccountRecord {
        created_at: old.created_at,
        created_by: old.created_by,
        ..record(name, &old.storage_account, &checked, "", now)
    };
    store.update_account_token(&NewAccount {
        record: rec.clone(),
        token: &checked.sas.token,
    })?;
    Ok(view(rec, Some(&checked.sas), now))
}

/// Every saved account.
pub fn list(store: &Store) -> Result<Vec<AccountView>> {
    let now = Utc::now();
    let records = store.accounts()?;
    Ok(records.into_iter().map(|r| view(r, None, now)).collect())
}

/// One saved account.
pub fn show(store: &Store, name: &str) -> Result<AccountView> {
    let record = store.account(name)?;
    let sas = stored_sas(store, name)?;
    Ok(view(record, Some(&sas), Utc::now()))
}

/// Checks a saved account against Azure now.
pub async fn test(store: &Store, name: &str, options: &ClientOptions) -> Result<AccountView> {
    let conn = connect(
        store,
        name,
        &[Operation::ListContainers],
        &options.for_probe(),
    )?;
    conn.service.list_containers_page(None, None, 1).await?;
    Ok(view(conn.record, Some(&conn.sas), Utc::now()))
}

/// Removes a saved account, unless a writeback still writes with it.
pub fn remove(store: &Store, name: &str) -> Result<()> {
    store.account(name)?;
    let users = store.writebacks_using_account(name)?;
    if !users.is_empty() {
        return Err(Error::Invalid(format!(
            "account '{name}' is used by the writeback(s) {}; point them at another account \
             (`writeback edit NAME --account ...`) or delete them first",
            users.join(", ")
        )));
    }
    store.remove_account(name)?;
    Ok(())
}

/// Every container of a saved account (optionally under a prefix), following continuation
/// markers; `page_size` is the number asked for per request (Azure caps it at 5,000).
pub async fn containers(
    store: &Store,
    name: &str,
    prefix: Option<&str>,
    page_size: Option<u32>,
    options: &ClientOptions,
) -> Result<Vec<ContainerItem>> {
    let conn = connect(store, name, &[Operation::ListContainers], options)?;
    Ok(conn
        .service
        .list_containers(prefix, page_size.unwrap_or(MAX_LIST_RESULTS))
        .await?)
}

fn stored_sas(store: &Store, name: &str) -> Result<AccountSas> {
    let token = store.account_token(name)?;
    Ok(sas::parse(token.expose_secret())?)
}

/// A saved account, ready for requests.
#[derive(Debug)]
pub struct Connected {
    /// What is stored about it.
    pub record: AccountRecord,
    /// Its token, parsed.
    pub sas: AccountSas,
    /// A client for its endpoint.
    pub service: BlobService,
}

/// A client for a saved account, after the offline checks for `ops` pass.
pub fn connect(
    store: &Store,
    name: &str,
    ops: &[Operation],
    options: &ClientOptions,
) -> Result<Connected> {
    let record = store.account(name)?;
    let sas = stored_sas(store, name)?;
    let endpoint = Endpoint::parse(&record.endpoint)?;
    sas.check_offline(Utc::now(), endpoint.is_https(), endpoint.is_loopback(), ops)?;
    let service = BlobService::new(endpoint, sas.token.clone(), options.clone());
    Ok(Connected {
        record,
        sas,
        service,
    })
}
