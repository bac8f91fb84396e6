//! `writeback sas create`: sign an account SAS, or a container SAS with `--container`.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;

use super::{Context, output, read_secret};
use crate::error::Error;
use crate::sas::{
    AccountKey, AccountSasSpec, ContainerSasSpec, Permissions, Protocol, ResourceTypes, Services,
    sign_account_sas, sign_container_sas,
};

#[derive(Debug, Subcommand)]
pub(crate) enum SasCommand {
    /// Sign a SAS token with the storage account key and print it.
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// The Azure storage account name.
    #[arg(long, value_name = "ACCT")]
    storage_account: String,
    /// The storage account key (base64); '-' reads it from standard input.
    #[arg(
        long,
        env = "WRITEBACK_ACCOUNT_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    account_key: String,
    /// Services the token may use (ss): b blob, f file, q queue, t table.
    #[arg(long, default_value = "b", value_name = "LETTERS")]
    services: String,
    /// Resource types the token may reach (srt): s service, c container, o object.
    #[arg(long, default_value = "sco", value_name = "LETTERS")]
    resource_types: String,
    /// Permissions (sp): r read, w write, d delete, l list, a add, c create, ...
    #[arg(long, default_value = "rwlac", value_name = "LETTERS")]
    permissions: String,
    /// When the token becomes valid: an RFC 3339 time, a date, or an offset like -15m.
    #[arg(long, value_name = "WHEN")]
    start: Option<String>,
    /// When the token expires: an RFC 3339 time, a date, or an offset like 30d or 12h.
    #[arg(long, value_name = "WHEN")]
    expiry: String,
    /// Allowed protocols (spr): https, or https,http.
    #[arg(long, default_value = "https", value_name = "PROTO")]
    protocol: String,
    /// Allowed client IP address or range (sip), e.g. 203.0.113.5 or 203.0.113.0-203.0.113.255.
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// Sign a container (service) SAS for this container instead of an account SAS.
    #[arg(long, value_name = "NAME")]
    container: Option<String>,
}

pub(crate) fn run(cmd: SasCommand, ctx: &Context) -> Result<(), Error> {
    let SasCommand::Create(a) = cmd;
    let key = AccountKey::from_base64(read_secret(a.account_key, "account key")?.trim())?;
    let now = Utc::now();
    let start = a
        .start
        .as_deref()
        .map(|s| parse_when(s, "--start", now))
        .transpose()?;
    let expiry = parse_when(&a.expiry, "--expiry", now)?;
    if start.is_some_and(|s| s >= expiry) {
        return Err(Error::Invalid("--start must be before --expiry".into()));
    }
    let permissions = Permissions::from_letters(&a.permissions)?;
    let protocol = Protocol::from_str(&a.protocol)?;
    let token = match a.container {
        Some(container) => {
            crate::azure::validate_container_name(&container)?;
            let spec = ContainerSasSpec {
                account: a.storage_account,
                container,
                permissions,
                start,
                expiry,
                protocol,
                ip: a.ip,
            };
            sign_container_sas(&spec, &key)
        }
        None => {
            let spec = AccountSasSpec {
                account: a.storage_account,
                services: Services::from_letters(&a.services)?,
                resource_types: ResourceTypes::from_letters(&a.resource_types)?,
                permissions,
                start,
                expiry,
                protocol,
                ip: a.ip,
            };
            sign_account_sas(&spec, &key)
        }
    };
    // Printing the token is this command's purpose; it goes to stdout only.
    if ctx.json {
        output::json(&serde_json::json!({ "token": token.expose_secret(), "expiry": expiry }));
    } else {
        println!("{}", token.expose_secret());
    }
    Ok(())
}

/// Parses an absolute time (RFC 3339 or a date, taken as midnight UTC) or an offset from now
/// (`30d`, `12h`, `15m`, `-15m`).
fn parse_when(s: &str, flag: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let unit_at = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let (digits, unit) = body.split_at(unit_at);
    let n: i64 = digits.parse().map_err(|_| bad_when(s, flag))?;
    let span = match unit {
        "d" => chrono::Duration::try_days(n),
        "h" => chrono::Duration::try_hours(n),
        "m" => chrono::Duration::try_minutes(n),
        "s" => chrono::Duration::try_seconds(n),
        _ => None,
    }
    .ok_or_else(|| bad_when(s, flag))?;
    now.checked_add_signed(span * sign)
        .ok_or_else(|| bad_when(s, flag))
}

fn bad_when(s: &str, flag: &str) -> Error {
    Error::Invalid(format!(
        "{flag} '{s}' is not a time: give an RFC 3339 time (2027-01-31T00:00:00Z), a date \
         (2027-01-31), or an offset from now (30d, 12h, 15m, -15m)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            ("2027-01-31T00:00:00Z", Some("2027-01-31T00:00:00+00:00")),
            (
                "2027-01-31T02:00:00+02:00",
                Some("2027-01-31T00:00:00+00:00"),
            ),
            ("2027-01-31", Some("2027-01-31T00:00:00+00:00")),
            ("30d", Some("2026-12-28T12:00:00+00:00")),
            ("+12h", Some("2026-11-29T00:00:00+00:00")),
            ("-15m", Some("2026-11-28T11:45:00+00:00")),
            ("tomorrow", None),
            ("12x", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = parse_when(input, "--expiry", now)
                .ok()
                .map(|t| t.to_rfc3339());
            assert_eq!(got.as_deref(), want, "{input}");
        }
    }
}
