//! The setting most feature tests start from: a fresh home with an emulator account `emu` that
//! may do everything, a place for input files, and accounts behind a fault proxy on demand.

use super::{ACCOUNT, TestHome, proxy, unique_name};
use crate::accounts::our_sas;

/// A home with the account `emu` (all permissions) and a folder for input files outside it.
pub struct Fixture {
    pub home: TestHome,
    pub inputs: tempfile::TempDir,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let home = TestHome::new();
        home.add_azurite_account("emu", &our_sas(&home, &["--permissions", "rwdlac"]))
            .assert_ok();
        Fixture {
            home,
            inputs: tempfile::tempdir().unwrap(),
        }
    }

    /// Imports `csv` as a dataset and returns its ID.
    #[track_caller]
    pub fn import(&self, csv: &str) -> String {
        let path = self
            .inputs
            .path()
            .join(format!("{}.csv", unique_name("in")));
        std::fs::write(&path, csv).unwrap();
        self.home
            .cmd(["dataset", "import", path.to_str().unwrap()])
            .assert_ok()
            .stdout_trimmed()
            .to_owned()
    }

    /// Saves account `name` (all permissions) whose endpoint is a new fault proxy, and returns
    /// the proxy.
    pub fn proxied(&self, name: &str) -> proxy::Proxy {
        let p = proxy::Proxy::start();
        let token = our_sas(&self.home, &["--permissions", "rwdlac"]);
        self.home
            .cmd([
                "account",
                "add",
                name,
                "--storage-account",
                ACCOUNT,
                "--sas-token",
                &token,
                "--endpoint",
                &p.endpoint,
            ])
            .assert_ok();
        p
    }
}
