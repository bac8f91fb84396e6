//! Offline checks of a parsed [`AccountSas`] against the situation it will be used in: the
//! clock, the endpoint's scheme, and the operations a writeback performs.

use chrono::{DateTime, Utc};

use super::{AccountSas, CLOCK_SKEW, Permissions, Protocol, ResourceTypes, SasError};

/// Something `writeback` does with a token, and therefore needs the token to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// List Containers (the live credential check, and the container picker).
    ListContainers,
    /// Put Blob / Put Block / Put Block List (a `replace` export).
    WriteBlob,
    /// Stage blocks and commit them after the existing ones (an `append` export).
    AppendBlob,
    /// Create Container, when the target container does not exist yet.
    CreateContainer,
    /// Get Block List / Get Blob Properties (reading what an `append` extends).
    ReadBlob,
}

impl Operation {
    /// What the operation needs: (`srt` letters, `sp` letters, what it is for).
    ///
    /// All `srt` letters are needed. In the `sp` string, plain letters are all needed, while
    /// letters separated by `|` are alternatives of which any one suffices (no operation needs
    /// that today; see below).
    ///
    /// | operation | srt | sp |
    /// |---|---|---|
    /// | list containers | `s` | `l` |
    /// | write blobs | `o` | `w` and `c` |
    /// | append to blobs | `o` | `w` |
    /// | create the container | `c` | `c` |
    /// | read blobs (block list, properties) | `o` | `r` |
    ///
    /// Appending needs `w`, not "`a` or `w`": `writeback` appends by staging blocks and
    /// committing the block list of a *block* blob, and Put Block / Put Block List accept only
    /// `w`. Add (`a`) authorizes Append Block on *append* blobs only (Azure's account-SAS
    /// permission table; Azurite 3.35 answers `AuthorizationPermissionMismatch` to Put Block
    /// with `sp=a`). Were append ever done with Append Block, the rule would become `a|w`.
    pub fn requirement(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Operation::ListContainers => ("s", "l", "listing containers"),
            Operation::WriteBlob => ("o", "wc", "writing blobs"),
            Operation::AppendBlob => ("o", "w", "appending to blobs"),
            Operation::CreateContainer => ("c", "c", "creating the container"),
            Operation::ReadBlob => ("o", "r", "reading blobs"),
        }
    }
}

/// The `sp` letters from `needed` (see [`Operation::requirement`]) that `granted` lacks, in the
/// same notation; empty when the requirement is met.
fn missing_permissions(granted: &Permissions, needed: &str) -> String {
    if needed.contains('|') {
        let any_granted = needed
            .split('|')
            .any(|alt| alt.chars().all(|c| granted.contains(c)));
        if any_granted {
            String::new()
        } else {
            needed.to_owned()
        }
    } else {
        needed.chars().filter(|&c| !granted.contains(c)).collect()
    }
}

fn missing_resource_types(granted: &ResourceTypes, needed: &str) -> String {
    needed.chars().filter(|&c| !granted.contains(c)).collect()
}

impl AccountSas {
    /// Fails if the token has expired (`se` ≤ `now`), or only becomes valid (`st`) more than
    /// [`CLOCK_SKEW`] after `now`.
    pub fn check_time(&self, now: DateTime<Utc>) -> Result<(), SasError> {
        if self.expiry <= now {
            return Err(SasError::Expired {
                expiry: self.expiry,
            });
        }
        match self.start {
            Some(start) if start > now + CLOCK_SKEW => Err(SasError::NotYetValid { start }),
            _ => Ok(()),
        }
    }

    /// Fails if the token is HTTPS-only (`spr=https`) but the endpoint is plain HTTP.
    ///
    /// `endpoint_is_loopback` does not exempt the local emulator: Azurite (3.35, as pinned)
    /// enforces `spr` over plain HTTP too, answering `AuthorizationProtocolMismatch`, so an
    /// HTTPS-only token against `http://127.0.0.1` is refused here with a clearer message rather
    /// than by the emulator. Sign emulator tokens with [`Protocol::HttpsOrHttp`].
    pub fn check_protocol(
        &self,
        endpoint_is_https: bool,
        endpoint_is_loopback: bool,
    ) -> Result<(), SasError> {
        // Kept in the signature so callers state where they connect; see above for why it
        // changes nothing today.
        let _ = endpoint_is_loopback;
        if self.protocol == Protocol::HttpsOnly && !endpoint_is_https {
            return Err(SasError::HttpsRequired);
        }
        Ok(())
    }

    /// Fails if the token does not cover the Blob service (`ss` without `b`).
    pub fn check_blob_service(&self) -> Result<(), SasError> {
        if self.services.contains('b') {
            Ok(())
        } else {
            Err(SasError::NoBlobService {
                services: self.services,
            })
        }
    }

    /// Fails, for the first operation in `ops` the token does not allow, naming exactly the
    /// resource types and permissions it lacks.
    pub fn require(&self, ops: &[Operation]) -> Result<(), SasError> {
        for &op in ops {
            let (srt, sp, operation) = op.requirement();
            let missing_resource_types = missing_resource_types(&self.resource_types, srt);
            let missing_permissions = missing_permissions(&self.permissions, sp);
            if !missing_resource_types.is_empty() || !missing_permissions.is_empty() {
                return Err(SasError::MissingPermissions {
                    operation,
                    missing_resource_types,
                    missing_permissions,
                });
            }
        }
        Ok(())
    }

    /// Every offline check, in the order a user fixes them: the Blob service, the validity
    /// period, the protocol, then the permissions `ops` need.
    pub fn check_offline(
        &self,
        now: DateTime<Utc>,
        endpoint_is_https: bool,
        endpoint_is_loopback: bool,
        ops: &[Operation],
    ) -> Result<(), SasError> {
        self.check_blob_service()?;
        self.check_time(now)?;
        self.check_protocol(endpoint_is_https, endpoint_is_loopback)?;
        self.require(ops)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::sas::parse;

    const SIG: &str = "TKb0bv2ujXiofg4mG9rECfubj0NtmiRJCIfV90sHuWc%3D";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    fn time(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%dT%H%%3A%M%%3A%SZ").to_string()
    }

    /// An account SAS with the given letters, valid from an hour ago for a day, HTTPS only.
    fn sas(ss: &str, srt: &str, sp: &str) -> AccountSas {
        token(
            ss,
            srt,
            sp,
            now() - Duration::hours(1),
            now() + Duration::days(1),
            "https",
        )
    }

    fn token(
        ss: &str,
        srt: &str,
        sp: &str,
        st: DateTime<Utc>,
        se: DateTime<Utc>,
        spr: &str,
    ) -> AccountSas {
        let input = format!(
            "sv=2021-12-02&ss={ss}&srt={srt}&sp={sp}&st={}&se={}&spr={spr}&sig={SIG}",
            time(st),
            time(se)
        );
        parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn time_window() {
        let day = Duration::days(1);
        let minute = Duration::minutes(1);
        let cases = [
            (now() - day, now() + day, Ok(()), "valid"),
            (
                now() - day,
                now() - minute,
                Err(SasError::Expired {
                    expiry: now() - minute,
                }),
                "expired",
            ),
            (
                now() - day,
                now(),
                Err(SasError::Expired { expiry: now() }),
                "expires now",
            ),
            (
                now() + Duration::minutes(14),
                now() + day,
                Ok(()),
                "start within skew",
            ),
            (
                now() + CLOCK_SKEW,
                now() + day,
                Ok(()),
                "start exactly at skew",
            ),
            (
                now() + Duration::minutes(16),
                now() + day,
                Err(SasError::NotYetValid {
                    start: now() + Duration::minutes(16),
                }),
                "start beyond skew",
            ),
        ];
        for (st, se, expected, why) in cases {
            let sas = token("b", "sco", "rwlac", st, se, "https");
            assert_eq!(sas.check_time(now()), expected, "{why}");
        }
        let msg = token("b", "o", "w", now() - day, now() - minute, "https")
            .check_time(now())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("expired at 2025-06-01T11:59:00Z"), "{msg}");
    }

    #[test]
    fn protocol() {
        let https_only = sas("b", "sco", "rwlac");
        let both = token(
            "b",
            "sco",
            "rwlac",
            now() - Duration::hours(1),
            now() + Duration::days(1),
            "https%2Chttp",
        );
        let cases = [
            (&https_only, true, false, Ok(()), "https endpoint"),
            (
                &https_only,
                false,
                false,
                Err(SasError::HttpsRequired),
                "plain http, remote",
            ),
            (
                &https_only,
                false,
                true,
                Err(SasError::HttpsRequired),
                "plain http, loopback: Azurite enforces spr too",
            ),
            (&both, false, false, Ok(()), "token allows http"),
        ];
        for (sas, https, loopback, expected, why) in cases {
            assert_eq!(sas.check_protocol(https, loopback), expected, "{why}");
        }
    }

    #[test]
    fn blob_service() {
        assert_eq!(sas("bfqt", "sco", "rwlac").check_blob_service(), Ok(()));
        let err = sas("qt", "sco", "rwlac").check_blob_service().unwrap_err();
        assert_eq!(
            err,
            SasError::NoBlobService {
                services: crate::sas::Services::from_letters("qt").unwrap()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("`ss=qt` (queue, table)"), "{msg}");
    }

    #[test]
    fn permissions_per_operation() {
        use Operation::*;
        // (srt, sp, operations, missing srt, missing sp, why); nothing missing means allowed.
        type Case = (
            &'static str,
            &'static str,
            &'static [Operation],
            &'static str,
            &'static str,
            &'static str,
        );
        let all: &[Operation] = &[
            ListContainers,
            WriteBlob,
            AppendBlob,
            CreateContainer,
            ReadBlob,
        ];
        let cases: &[Case] = &[
            ("sco", "rwdlac", all, "", "", "everything"),
            (
                "co",
                "rwac",
                &[ListContainers],
                "s",
                "l",
                "list needs s + l",
            ),
            ("sco", "rwac", &[ListContainers], "", "l", "list needs l"),
            ("co", "rwlac", &[ListContainers], "s", "", "list needs s"),
            ("sc", "rl", &[WriteBlob], "o", "wc", "write needs o + w + c"),
            ("o", "w", &[WriteBlob], "", "c", "write needs c too"),
            ("o", "wc", &[WriteBlob], "", "", "write ok"),
            ("o", "w", &[AppendBlob], "", "", "append with w"),
            (
                "o",
                "a",
                &[AppendBlob],
                "",
                "w",
                "add does not allow Put Block",
            ),
            ("s", "rl", &[AppendBlob], "o", "w", "append needs o and w"),
            (
                "so",
                "rwl",
                &[CreateContainer],
                "c",
                "c",
                "create needs c + c",
            ),
            ("sco", "c", &[CreateContainer], "", "", "create ok"),
            ("sc", "r", &[ReadBlob], "o", "", "read needs o"),
            ("o", "w", &[ReadBlob], "", "r", "read needs r"),
            (
                "sco",
                "rl",
                &[ListContainers, WriteBlob],
                "",
                "wc",
                "first failing op",
            ),
        ];
        for &(srt, sp, ops, missing_srt, missing_sp, why) in cases {
            let result = sas("b", srt, sp).require(ops);
            if missing_srt.is_empty() && missing_sp.is_empty() {
                assert_eq!(result, Ok(()), "{why}");
                continue;
            }
            match result {
                Err(SasError::MissingPermissions {
                    missing_resource_types,
                    missing_permissions,
                    ..
                }) => {
                    assert_eq!(missing_resource_types, missing_srt, "{why}");
                    assert_eq!(missing_permissions, missing_sp, "{why}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        let msg = sas("b", "co", "rwac")
            .require(&[ListContainers])
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "The SAS token cannot be used for listing containers: it lacks resource type 's' \
             (service) in srt and permission 'l' (list) in sp. Generate an account SAS that \
             includes them."
        );
    }

    #[test]
    fn offline_check_order() {
        let expired_no_blob = token(
            "q",
            "o",
            "r",
            now() - Duration::days(2),
            now() - Duration::days(1),
            "https",
        );
        let result = expired_no_blob.check_offline(now(), false, false, &[Operation::WriteBlob]);
        assert!(matches!(result, Err(SasError::NoBlobService { .. })));

        let expired = token(
            "b",
            "o",
            "r",
            now() - Duration::days(2),
            now() - Duration::days(1),
            "https",
        );
        let result = expired.check_offline(now(), false, false, &[Operation::WriteBlob]);
        assert!(matches!(result, Err(SasError::Expired { .. })));

        let https_only = sas("b", "o", "r");
        let result = https_only.check_offline(now(), false, false, &[Operation::WriteBlob]);
        assert_eq!(result, Err(SasError::HttpsRequired));
        let result = https_only.check_offline(now(), true, false, &[Operation::WriteBlob]);
        assert!(matches!(result, Err(SasError::MissingPermissions { .. })));
        let result = https_only.check_offline(now(), true, false, &[Operation::ReadBlob]);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn requirement_table() {
        assert_eq!(
            Operation::ListContainers.requirement(),
            ("s", "l", "listing containers")
        );
        assert_eq!(Operation::AppendBlob.requirement().1, "w");
    }

    #[test]
    fn alternative_permissions() {
        let cases = [
            ("a", "a|w", ""),
            ("w", "a|w", ""),
            ("aw", "a|w", ""),
            ("rl", "a|w", "a|w"),
            ("r", "wc", "wc"),
            ("rw", "wc", "c"),
        ];
        for (granted, needed, missing) in cases {
            let granted = Permissions::from_letters(granted).unwrap();
            assert_eq!(
                missing_permissions(&granted, needed),
                missing,
                "{granted} vs {needed}"
            );
        }
    }
}
