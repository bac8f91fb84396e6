//! `writeback containers`: every container of an account, across pages.

use crate::accounts::our_sas;
use crate::support::{self, TestHome, python};

#[test]
fn every_container_is_listed_across_pages() {
    let home = TestHome::new();
    let prefix = support::unique_name("paging");
    let mut names: Vec<String> = (0..7).map(|i| format!("{prefix}-{i}")).collect();
    python::create_containers(&names);
    // One more that the prefix must leave out.
    support::create_container(&support::unique_name("other"));
    home.add_azurite_account("emu", &our_sas(&home, &[]))
        .assert_ok();

    // A page size of 2 forces four requests and three continuation markers.
    let out = home
        .cmd([
            "containers",
            "--account",
            "emu",
            "--prefix",
            &prefix,
            "--page-size",
            "2",
            "--json",
        ])
        .assert_ok()
        .json();
    let listed: Vec<String> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(listed, names);
    for c in out.as_array().unwrap() {
        assert!(c["last_modified"].as_str().unwrap().ends_with('Z'), "{c}");
    }

    let text = home
        .cmd([
            "containers",
            "--account",
            "emu",
            "--prefix",
            &prefix,
            "--page-size",
            "3",
        ])
        .assert_ok()
        .stdout
        .clone();
    assert!(text.starts_with("NAME"), "{text}");
    for n in &names {
        assert!(text.contains(n.as_str()), "{n} missing from:\n{text}");
    }
}

#[test]
fn all_containers_without_a_prefix() {
    let home = TestHome::new();
    let name = support::unique_name("all");
    support::create_container(&name);
    home.add_azurite_account("emu", &our_sas(&home, &[]))
        .assert_ok();
    let out = home
        .cmd(["containers", "--account", "emu", "--json"])
        .assert_ok()
        .json();
    assert!(
        out.as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == name.as_str())
    );
}
