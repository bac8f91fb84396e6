//! Tests of the test harness itself: if these fail, nothing else can be trusted.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{self, TestHome, azurite, python};

#[test]
fn azurite_starts_once_on_a_free_port() {
    let a = azurite();
    let b = azurite();
    assert!(std::ptr::eq(a, b), "one Azurite per test binary");
    assert_ne!(a.port, 10000, "must not use Azurite's default port");
    assert_eq!(
        a.blob_endpoint,
        format!("http://127.0.0.1:{}/devstoreaccount1", a.port)
    );
}

#[test]
fn containers_created_with_the_sdk_are_listed() {
    let names = [
        support::unique_name("harness-a"),
        support::unique_name("harness-b"),
    ];
    python::create_containers(&names);
    let listed = support::list_container_names();
    for name in &names {
        assert!(listed.contains(name), "{name} missing from {listed:?}");
    }
}

#[test]
fn sdk_accepts_an_account_sas_and_rejects_a_tampered_one() {
    let name = support::unique_name("harness-sas");
    support::create_container(&name);
    let token = python::sdk_account_sas("b", "sco", "rl", 3600);
    assert!(token.contains("srt=sco"), "{token}");
    assert!(python::list_containers_via_sdk(&token).contains(&name));
    assert!(python::list_containers_via_sdk(&format!("?{token}")).contains(&name));

    let tampered = token.replacen("sig=", "sig=AAAA", 1);
    let out = python::py(
        "list(service(sys.argv[1]).list_containers())",
        [tampered.as_str()],
    );
    // Real Azure says AuthenticationFailed; Azurite 3.35 says AuthorizationFailure (403).
    out.assert_code(1)
        .assert_stderr_contains("ErrorCode:AuthorizationFailure");
}

#[test]
fn blobs_round_trip_through_the_sdk() {
    let container = support::unique_name("harness-blob");
    support::create_container(&container);
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    python::upload_blob(&container, "dir/a b#c.bin", &data);
    assert_eq!(python::list_blobs(&container), ["dir/a b#c.bin"]);
    assert_eq!(python::download_blob(&container, "dir/a b#c.bin"), data);
    let props = python::blob_properties(&container, "dir/a b#c.bin");
    assert_eq!(props["size"], 100_000);
}

#[test]
fn unique_names_are_valid_container_names() {
    let mut seen = std::collections::HashSet::new();
    for prefix in ["", "a", "Accounts_List", "--x--", &"long".repeat(40), "ünï"] {
        for _ in 0..50 {
            let name = support::unique_name(prefix);
            assert!(support::is_valid_container_name(&name), "{name:?}");
            assert!(seen.insert(name.clone()), "duplicate {name}");
        }
    }
    assert!(support::unique_name("Accounts_List").starts_with("accounts-list-"));
}

#[test]
fn cli_runs_in_a_sandboxed_home() {
    let home = TestHome::new();
    home.cmd(["--help"])
        .assert_ok()
        .assert_stdout_contains("Usage");
    home.cmd(["no-such-command"]).assert_code(2);
}

#[test]
fn blackhole_accepts_and_never_answers() {
    let (url, hole) = support::blackhole();
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to blackhole");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let err = stream.read(&mut [0u8; 16]).expect_err("blackhole answered");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while hole.connections() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(hole.connections(), 1);
}

#[test]
fn refused_endpoint_refuses() {
    let url = support::refused_endpoint();
    let addr = url.trim_start_matches("http://");
    let err = TcpStream::connect(addr).expect_err("something listens there");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
}
