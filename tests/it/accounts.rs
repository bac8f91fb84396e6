//! The Credentials pane: saving, listing, testing, rotating and removing accounts, against a
//! real Azurite, with tokens signed by our `sas create` and by Microsoft's SDK.

use crate::support::{self, ACCOUNT, ACCOUNT_KEY, TestHome, azurite, python};

/// An account SAS signed by our CLI for the emulator (plain http, so `spr=https,http`).
pub fn our_sas(home: &TestHome, extra: &[&str]) -> String {
    let mut args = vec![
        "sas",
        "create",
        "--storage-account",
        ACCOUNT,
        "--account-key",
        ACCOUNT_KEY,
        "--protocol",
        "https,http",
    ];
    if !extra.contains(&"--expiry") {
        args.extend(["--expiry", "30d"]);
    }
    args.extend_from_slice(extra);
    home.cmd(args).assert_ok().stdout_trimmed().to_owned()
}

/// The token with the value of one parameter replaced.
pub fn with_param(token: &str, key: &str, value: &str) -> String {
    token
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k == key => format!("{k}={value}"),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The `sig` parameter as it appears in the token (percent-encoded).
pub fn sig_of(token: &str) -> String {
    token
        .split('&')
        .find_map(|kv| kv.strip_prefix("sig="))
        .expect("token has sig")
        .to_owned()
}

fn account_names(home: &TestHome) -> Vec<String> {
    let list = home.cmd(["account", "list", "--json"]).assert_ok().json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_account_is_saved_listed_shown_tested_and_removed() {
    let home = TestHome::new();
    let token = our_sas(&home, &[]);
    home.add_azurite_account("emu", &token)
        .assert_ok()
        .assert_stdout_contains("saved account 'emu'");

    let list = home.cmd(["account", "list", "--json"]).assert_ok().json();
    let a = &list[0];
    assert_eq!(a["name"], "emu");
    assert_eq!(a["storage_account"], ACCOUNT);
    assert_eq!(a["endpoint"], azurite().blob_endpoint.as_str());
    assert_eq!(a["permissions"], "rwlac");
    assert_eq!(a["resource_types"], "sco");
    assert_eq!(a["created_by"], "tester");
    assert!(a["expiry"].as_str().unwrap().ends_with('Z'), "{a}");
    assert!(
        a.get("token").is_none() && a.get("sas_token").is_none(),
        "{a}"
    );

    home.cmd(["account", "list"])
        .assert_ok()
        .assert_stdout_contains("emu")
        .assert_stdout_contains("rwlac");
    home.cmd(["account", "show", "emu"])
        .assert_ok()
        .assert_stdout_contains("permissions (sp)")
        .assert_stdout_contains(&azurite().blob_endpoint);
    let tested = home
        .cmd(["account", "test", "emu", "--json"])
        .assert_ok()
        .json();
    let days = tested["days_until_expiry"].as_i64().unwrap();
    assert!((29..=30).contains(&days), "{tested}");
    home.cmd(["account", "test", "emu"])
        .assert_ok()
        .assert_stdout_contains("in 30 days");

    home.cmd(["account", "remove", "emu"]).assert_ok();
    assert!(account_names(&home).is_empty());
    home.cmd(["account", "show", "emu"])
        .assert_code(4)
        .assert_stderr_contains("no account named 'emu'");
}

#[test]
fn a_token_signed_by_microsofts_sdk_is_accepted() {
    let home = TestHome::new();
    let token = python::sdk_account_sas("b", "sco", "rwlac", 3600);
    home.add_azurite_account("sdk", &token).assert_ok();
    home.cmd(["account", "test", "sdk"]).assert_ok();
}

#[test]
fn a_token_we_sign_is_accepted_by_microsofts_sdk() {
    let home = TestHome::new();
    let name = support::unique_name("interop");
    support::create_container(&name);
    let token = our_sas(&home, &["--permissions", "rl"]);
    assert!(python::list_containers_via_sdk(&token).contains(&name));
}

#[test]
fn a_token_is_accepted_bare_with_question_mark_as_a_url_or_from_stdin() {
    let home = TestHome::new();
    let token = our_sas(&home, &[]);
    home.add_azurite_account("q", &format!("?{token}"))
        .assert_ok();
    home.add_azurite_account("nl", &format!("  {token}\n"))
        .assert_ok();
    // A full SAS URL names the endpoint itself.
    let url = format!("{}?{token}", azurite().blob_endpoint);
    home.cmd([
        "account",
        "add",
        "url",
        "--storage-account",
        ACCOUNT,
        "--sas-token",
        &url,
    ])
    .assert_ok();
    let shown = home
        .cmd(["account", "show", "url", "--json"])
        .assert_ok()
        .json();
    assert_eq!(shown["endpoint"], azurite().blob_endpoint.as_str());
    let endpoint = &azurite().blob_endpoint;
    home.cmd_stdin(
        [
            "account",
            "add",
            "stdin",
            "--storage-account",
            ACCOUNT,
            "--sas-token",
            "-",
            "--endpoint",
            endpoint,
        ],
        &token,
    )
    .assert_ok();
    assert_eq!(account_names(&home), ["nl", "q", "stdin", "url"]);
}

/// Rejections that need no request: each gets its own sentence, exit code 2, and changes
/// nothing. The endpoint is a listener that never answers and counts connections, which proves
/// no request was made.
#[test]
fn unusable_tokens_are_rejected_offline_with_their_own_message() {
    let home = TestHome::new();
    let (endpoint, hole) = support::blackhole();
    let good = our_sas(&home, &[]);
    let sig = sig_of(&good);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "container SAS",
            python::sdk_container_sas("somecontainer", "rwl", 3600),
            "container-level",
        ),
        (
            "no srt s",
            our_sas(&home, &["--resource-types", "co"]),
            "'s' (service)",
        ),
        (
            "no sp l",
            our_sas(&home, &["--permissions", "rwac"]),
            "'l' (list)",
        ),
        (
            "expired",
            python::sdk_account_sas("b", "sco", "rwlac", -3600),
            "expired",
        ),
        (
            "future start",
            our_sas(&home, &["--start", "2h"]),
            "only becomes valid",
        ),
        (
            "no blob service",
            our_sas(&home, &["--services", "qt"]),
            "Blob service",
        ),
        (
            "no sig",
            good.split("&sig=").next().unwrap().to_owned(),
            "sig",
        ),
        (
            "double-encoded sig",
            with_param(&good, "sig", &sig.replace('%', "%25")),
            "encoded twice",
        ),
        (
            "space inside",
            format!("{} {}", &good[..20], &good[20..]),
            "character 21",
        ),
        (
            "newline inside",
            format!("{}\n{}", &good[..30], &good[30..]),
            "character 31",
        ),
        ("garbage", "hello world".to_owned(), "character 6"),
        ("not a SAS", "sv=2021-12-02&foo=bar".to_owned(), "account"),
    ];
    for (what, token, needle) in &cases {
        let out = home.cmd([
            "account",
            "add",
            "x",
            "--storage-account",
            ACCOUNT,
            "--sas-token",
            token,
            "--endpoint",
            &endpoint,
        ]);
        out.assert_code(2);
        assert!(
            out.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "{what}: expected {needle:?} in: {}",
            out.stderr
        );
        out.assert_not_printed(&sig);
    }
    assert_eq!(
        hole.connections(),
        0,
        "an offline rejection must not contact the endpoint"
    );
    assert!(account_names(&home).is_empty());
}

#[test]
fn container_sas_message_says_an_account_level_token_is_needed() {
    let home = TestHome::new();
    let token = python::sdk_container_sas("exports", "rwl", 3600);
    home.add_azurite_account("c", &token)
        .assert_code(2)
        .assert_stderr_contains("Only an account-level SAS token works")
        .assert_stderr_contains("container-level SAS token was entered");
}

#[test]
fn a_tampered_signature_is_refused_by_azure_with_exit_code_3() {
    let home = TestHome::new();
    let good = our_sas(&home, &[]);
    let sig = sig_of(&good);
    // Same length and alphabet, so it passes every offline check; only Azure can tell.
    let first = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = with_param(&good, "sig", &format!("{first}{}", &sig[1..]));
    home.add_azurite_account("t", &tampered)
        .assert_code(3)
        .assert_stderr_contains("signature does not match")
        .assert_not_printed(&sig_of(&tampered));
    assert!(account_names(&home).is_empty());
}

#[test]
fn a_duplicate_name_is_refused_and_the_saved_account_kept() {
    let home = TestHome::new();
    let token = our_sas(&home, &[]);
    home.add_azurite_account("dup", &token).assert_ok();
    let other = our_sas(&home, &["--permissions", "rl"]);
    home.add_azurite_account("dup", &other)
        .assert_code(2)
        .assert_stderr_contains("account 'dup' already exists");
    let shown = home
        .cmd(["account", "show", "dup", "--json"])
        .assert_ok()
        .json();
    assert_eq!(shown["permissions"], "rwlac");
}

#[test]
fn unknown_account_names_exit_4() {
    let home = TestHome::new();
    for args in [
        vec!["account", "show", "nope"],
        vec!["account", "test", "nope"],
        vec!["account", "remove", "nope"],
        vec!["account", "update", "nope", "--sas-token", "sv=x"],
        vec!["containers", "--account", "nope"],
    ] {
        home.cmd(&args)
            .assert_code(4)
            .assert_stderr_contains("no account named 'nope'");
    }
}

#[test]
fn an_endpoint_that_never_answers_times_out_and_saves_nothing() {
    let home = TestHome::new();
    let token = our_sas(&home, &[]);
    let (endpoint, hole) = support::blackhole();
    let out = home.cmd([
        "--timeout",
        "1",
        "account",
        "add",
        "slow",
        "--storage-account",
        ACCOUNT,
        "--sas-token",
        &token,
        "--endpoint",
        &format!("{endpoint}/{ACCOUNT}"),
    ]);
    out.assert_code(1)
        .assert_stderr_contains("no answer within 1s");
    assert!(hole.connections() >= 1);
    assert!(account_names(&home).is_empty());

    let refused = support::refused_endpoint();
    home.cmd([
        "account",
        "add",
        "down",
        "--storage-account",
        ACCOUNT,
        "--sas-token",
        &token,
        "--endpoint",
        &refused,
    ])
    .assert_code(1)
    .assert_stderr_contains("cannot connect");
    assert!(account_names(&home).is_empty());
}

#[test]
fn bad_endpoints_and_names_are_rejected() {
    let home = TestHome::new();
    let token = our_sas(&home, &[]);
    let cases = [
        (
            ["bad name!", ACCOUNT, "http://127.0.0.1:1/x"],
            "not a valid account name",
        ),
        (
            ["ok", "Not_Valid", "http://127.0.0.1:1/x"],
            "not a valid storage account name",
        ),
        (
            ["ok", ACCOUNT, "http://example.com/devstoreaccount1"],
            "plain http",
        ),
        (["ok", ACCOUNT, "ftp://127.0.0.1/"], "scheme"),
    ];
    for ([name, acct, endpoint], needle) in cases {
        home.cmd([
            "account",
            "add",
            name,
            "--storage-account",
            acct,
            "--sas-token",
            &token,
            "--endpoint",
            endpoint,
        ])
        .assert_code(2)
        .assert_stderr_contains(needle);
    }
    assert!(account_names(&home).is_empty());
}

#[test]
fn a_token_is_rotated_with_the_same_checks() {
    let home = TestHome::new();
    let first = our_sas(&home, &["--permissions", "rl"]);
    home.add_azurite_account("rot", &first).assert_ok();

    // A container SAS is refused and the saved token keeps working.
    let container = python::sdk_container_sas("c", "rwl", 3600);
    home.cmd(["account", "update", "rot", "--sas-token", &container])
        .assert_code(2)
        .assert_stderr_contains("account-level");
    home.cmd(["account", "test", "rot"]).assert_ok();

    let second = our_sas(&home, &["--permissions", "rwlac", "--expiry", "90d"]);
    home.cmd(["account", "update", "rot", "--sas-token", &second])
        .assert_ok()
        .assert_stdout_contains("updated account 'rot'");
    let shown = home
        .cmd(["account", "show", "rot", "--json"])
        .assert_ok()
        .json();
    assert_eq!(shown["permissions"], "rwlac");
    assert!(
        (89..=90).contains(&shown["days_until_expiry"].as_i64().unwrap()),
        "{shown}"
    );
    home.cmd(["account", "test", "rot"]).assert_ok();
}

#[test]
fn a_read_only_token_is_saved_with_a_warning_about_exports() {
    let home = TestHome::new();
    let token = our_sas(&home, &["--permissions", "rl"]);
    home.add_azurite_account("ro", &token)
        .assert_ok()
        .assert_stderr_contains("warning: exports will fail with this token")
        .assert_stderr_contains("'w'");
}
