//! The token is a secret: it never appears in output, logs, errors or files in plain text.

use crate::accounts::{our_sas, sig_of, with_param};
use crate::support::{ACCOUNT, TestHome};

/// Every form in which the signature could leak: as in the token, and percent-decoded.
fn forms(token: &str) -> Vec<String> {
    let sig = sig_of(token);
    let decoded = sig
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    // A long enough piece of the signature to catch a partial leak too.
    let piece = decoded.trim_end_matches('=')[..24].to_owned();
    vec![sig, decoded, piece]
}

#[test]
fn the_token_never_appears_in_output_logs_or_files() {
    let home = TestHome::new();
    let token = our_sas(&home, &[]);
    let debug = [("WRITEBACK_LOG", "debug")];
    let mut outputs = vec![
        home.cmd_env(
            [
                "-vv",
                "account",
                "add",
                "emu",
                "--storage-account",
                ACCOUNT,
                "--sas-token",
                &token,
                "--endpoint",
                &crate::support::azurite().blob_endpoint,
            ],
            &debug,
        )
        .assert_ok()
        .clone(),
        home.cmd_env(["-vv", "account", "list", "--json"], &debug)
            .assert_ok()
            .clone(),
        home.cmd_env(["-vv", "account", "show", "emu", "--json"], &debug)
            .assert_ok()
            .clone(),
        home.cmd_env(["-vv", "account", "test", "emu", "--json"], &debug)
            .assert_ok()
            .clone(),
        home.cmd_env(["-vv", "containers", "--account", "emu", "--json"], &debug)
            .assert_ok()
            .clone(),
        home.cmd_env(
            ["-vv", "account", "update", "emu", "--sas-token", &token],
            &debug,
        )
        .assert_ok()
        .clone(),
    ];
    // Failures print the most: a tampered token refused by Azure, an expired one refused offline.
    let sig = sig_of(&token);
    let tampered = with_param(
        &token,
        "sig",
        &format!(
            "{}{}",
            if sig.starts_with('A') { "B" } else { "A" },
            &sig[1..]
        ),
    );
    outputs.push(
        home.cmd_env(
            ["-vv", "account", "update", "emu", "--sas-token", &tampered],
            &debug,
        )
        .assert_code(3)
        .clone(),
    );
    outputs.push(
        home.cmd_env(
            [
                "-vv",
                "--json",
                "account",
                "update",
                "emu",
                "--sas-token",
                &tampered,
            ],
            &debug,
        )
        .assert_code(3)
        .clone(),
    );

    assert!(
        outputs.iter().any(|o| o.stderr.contains("DEBUG")),
        "the debug log must be on for this test to mean anything"
    );
    for leak in forms(&token).iter().chain(forms(&tampered).iter()) {
        for out in &outputs {
            out.assert_not_printed(leak);
        }
        let files = home.files_containing(leak.as_bytes());
        assert!(
            files.is_empty(),
            "the signature is stored in clear in {files:?}"
        );
    }
    assert!(
        !home.files().is_empty(),
        "the home directory must hold the saved state"
    );
}

#[test]
fn the_key_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let home = TestHome::new();
    home.add_azurite_account("emu", &our_sas(&home, &[]))
        .assert_ok();
    let key = home.path().join("token.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", key.display());
}
