//! The run-level retry policy: how many times a writeback's run is attempted in all, and how
//! long to wait after a failed attempt.
//!
//! This is the second level of retries (see DESIGN.md, "Retries"): each request already retries
//! transient failures within seconds, so a run that still failed met an outage of minutes, and
//! the policy waits minutes, not seconds. Whether a failure is worth retrying at all is the
//! error's own `is_retriable()`; this type only counts and times.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::ScheduleError;
use super::duration::{format_duration, parse_signed};

/// A retry policy: `attempts` in all (the first included), `delay` apart.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use writeback::schedule::RetryPolicy;
///
/// let policy = RetryPolicy::default(); // 3 attempts, 5 minutes apart
/// let failed_at = Utc.with_ymd_and_hms(2026, 1, 1, 2, 0, 0).unwrap();
/// assert_eq!(policy.next_attempt(1, failed_at), Some(failed_at + chrono::TimeDelta::minutes(5)));
/// assert_eq!(policy.next_attempt(3, failed_at), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct RetryPolicy {
    /// Total attempts including the first, from [`RetryPolicy::MIN_ATTEMPTS`] to
    /// [`RetryPolicy::MAX_ATTEMPTS`]; 1 means a failed run is not retried.
    pub attempts: u32,
    /// How long after a failed attempt the next one starts. Stored as text such as `5m`.
    #[serde(with = "duration_text")]
    pub delay: Duration,
}

impl RetryPolicy {
    /// At least one attempt: the run itself.
    pub const MIN_ATTEMPTS: u32 = 1;
    /// Twenty attempts cover a long outage at any sensible delay; more would mostly hammer a
    /// target that is down for good and bury the run history in failures.
    pub const MAX_ATTEMPTS: u32 = 20;
    /// A retry more than a day late is no longer a retry of that run: by then the next
    /// scheduled run of a nightly writeback is due.
    pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

    /// A validated policy.
    pub fn new(attempts: u32, delay: Duration) -> Result<Self, ScheduleError> {
        check_attempts(attempts, &attempts.to_string())?;
        if delay > Self::MAX_DELAY {
            return Err(ScheduleError::RetryDelayOutOfRange {
                value: format_duration(delay),
                max: format_duration(Self::MAX_DELAY),
            });
        }
        Ok(RetryPolicy { attempts, delay })
    }

    /// Builds a policy from the texts of `--retry-attempts` and `--retry-delay`; a missing one
    /// takes its default.
    pub fn parse(attempts: Option<&str>, delay: Option<&str>) -> Result<Self, ScheduleError> {
        let default = RetryPolicy::default();
        Ok(RetryPolicy {
            attempts: attempts.map_or(Ok(default.attempts), parse_retry_attempts)?,
            delay: delay.map_or(Ok(default.delay), parse_retry_delay)?,
        })
    }

    /// When to start the attempt after attempt number `attempt` (counted from 1) failed at
    /// `failed_at`; `None` when that was the last attempt.
    ///
    /// The caller asks only for failures that are worth retrying; permanent ones (authentication,
    /// permission, validation, not found) are never retried, whatever attempts are left.
    pub fn next_attempt(&self, attempt: u32, failed_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if attempt >= self.attempts {
            return None;
        }
        let delay = TimeDelta::from_std(self.delay).ok()?;
        failed_at.checked_add_signed(delay)
    }

    /// For people: `3 attempts, 5m apart`, or `no retries`.
    pub fn describe(&self) -> String {
        if self.attempts <= 1 {
            "no retries".to_owned()
        } else {
            format!(
                "{} attempts, {} apart",
                self.attempts,
                format_duration(self.delay)
            )
        }
    }
}

impl Default for RetryPolicy {
    /// Three attempts, five minutes apart. Request-level retries already ride out blips of
    /// seconds, so a failed run met something longer (throttling, a restarting gateway, a
    /// network outage); five minutes outlasts most such incidents, and the last attempt still
    /// starts about ten minutes after the first failure, long before an hourly schedule's next
    /// run.
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            delay: Duration::from_secs(5 * 60),
        }
    }
}

/// A policy as read from storage, checked by [`RetryPolicy::new`] before use.
#[derive(Deserialize)]
struct Unchecked {
    attempts: u32,
    #[serde(with = "duration_text")]
    delay: Duration,
}

impl TryFrom<Unchecked> for RetryPolicy {
    type Error = ScheduleError;

    fn try_from(unchecked: Unchecked) -> Result<Self, Self::Error> {
        RetryPolicy::new(unchecked.attempts, unchecked.delay)
    }
}

/// Parses `--retry-attempts`: a whole number from 1 to 20. Usable as a clap `value_parser`.
pub fn parse_retry_attempts(text: &str) -> Result<u32, ScheduleError> {
    let trimmed = text.trim();
    let attempts = trimmed
        .parse::<u32>()
        .map_err(|_| attempts_error(trimmed))?;
    check_attempts(attempts, trimmed)?;
    Ok(attempts)
}

/// Parses `--retry-delay`: a duration from `0s` to 24 hours (`30s`, `5m`, `1h`), the syntax of
/// `every`. Usable as a clap `value_parser`.
pub fn parse_retry_delay(text: &str) -> Result<Duration, ScheduleError> {
    let trimmed = text.trim();
    let parsed = parse_signed(trimmed)?;
    let delay = Duration::from_secs(parsed.seconds);
    if (parsed.negative && parsed.seconds > 0) || delay > RetryPolicy::MAX_DELAY {
        return Err(ScheduleError::RetryDelayOutOfRange {
            value: trimmed.to_owned(),
            max: format_duration(RetryPolicy::MAX_DELAY),
        });
    }
    Ok(delay)
}

fn check_attempts(attempts: u32, text: &str) -> Result<(), ScheduleError> {
    if (RetryPolicy::MIN_ATTEMPTS..=RetryPolicy::MAX_ATTEMPTS).contains(&attempts) {
        Ok(())
    } else {
        Err(attempts_error(text))
    }
}

fn attempts_error(text: &str) -> ScheduleError {
    ScheduleError::RetryAttempts {
        value: text.to_owned(),
        min: RetryPolicy::MIN_ATTEMPTS,
        max: RetryPolicy::MAX_ATTEMPTS,
    }
}

/// Serde adapter storing a delay as duration text (`5m`), the form users write.
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(delay: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*delay))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_retry_delay(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn next_attempt_counts_and_times_attempts() {
        /// (attempts, delay seconds, attempt that failed, failed at, expected next, why)
        type Case = (
            u32,
            u64,
            u32,
            &'static str,
            Option<&'static str>,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                3,
                300,
                1,
                "2026-01-01T02:00:00Z",
                Some("2026-01-01T02:05:00Z"),
                "first failure of three",
            ),
            (
                3,
                300,
                2,
                "2026-01-01T02:07:00Z",
                Some("2026-01-01T02:12:00Z"),
                "delay counts from the failure",
            ),
            (
                3,
                300,
                3,
                "2026-01-01T02:14:00Z",
                None,
                "third of three: used up",
            ),
            (
                3,
                300,
                4,
                "2026-01-01T02:14:00Z",
                None,
                "beyond the limit stays used up",
            ),
            (
                1,
                300,
                1,
                "2026-01-01T02:00:00Z",
                None,
                "one attempt: never retried",
            ),
            (
                20,
                3600,
                19,
                "2026-03-29T00:30:00Z",
                Some("2026-03-29T01:30:00Z"),
                "absolute time across a DST change",
            ),
            (
                2,
                0,
                1,
                "2026-01-01T02:00:00Z",
                Some("2026-01-01T02:00:00Z"),
                "zero delay retries at once",
            ),
            (
                2,
                86_400,
                1,
                "2026-12-31T23:00:00Z",
                Some("2027-01-01T23:00:00Z"),
                "a day across the year end",
            ),
        ];
        for (attempts, delay, attempt, failed_at, expected, why) in cases {
            let policy = RetryPolicy::new(*attempts, Duration::from_secs(*delay)).unwrap();
            assert_eq!(
                policy.next_attempt(*attempt, at(failed_at)),
                expected.map(at),
                "{why}"
            );
        }
    }

    #[test]
    fn parses_flags() {
        /// (--retry-attempts, --retry-delay, attempts, delay seconds, why)
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            u32,
            u64,
            &'static str,
        );
        let cases: &[Case] = &[
            (None, None, 3, 300, "defaults"),
            (Some("1"), None, 1, 300, "no retries"),
            (Some("20"), Some("1h"), 20, 3600, "the maximum attempts"),
            (Some(" 5 "), Some("30s"), 5, 30, "spaces"),
            (None, Some("0s"), 3, 0, "zero delay"),
            (None, Some("24h"), 3, 86_400, "the maximum delay"),
            (None, Some("1h30m"), 3, 5400, "the `every` syntax"),
        ];
        for (attempts, delay, want_attempts, want_delay, why) in cases {
            let policy =
                RetryPolicy::parse(*attempts, *delay).unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!(policy.attempts, *want_attempts, "{why}");
            assert_eq!(policy.delay, Duration::from_secs(*want_delay), "{why}");
        }
    }

    #[test]
    fn rejects_bad_flags_with_a_reason() {
        let cases: &[(Option<&str>, Option<&str>, &str, &str)] = &[
            (
                Some("0"),
                None,
                "retry attempts '0' must be a whole number from 1 to 20",
                "zero attempts",
            ),
            (Some("21"), None, "from 1 to 20", "too many attempts"),
            (Some("-1"), None, "retry attempts '-1'", "negative attempts"),
            (
                Some("three"),
                None,
                "retry attempts 'three'",
                "not a number",
            ),
            (Some("2.5"), None, "whole number", "fraction"),
            (
                None,
                Some("25h"),
                "retry delay '25h' must be from 0s to 1d",
                "delay too long",
            ),
            (
                None,
                Some("-5m"),
                "retry delay '-5m' must be from 0s",
                "negative delay",
            ),
            (None, Some("5"), "'5' needs a unit", "delay without unit"),
            (None, Some("1.5m"), "has a fraction", "fractional delay"),
        ];
        for (attempts, delay, fragment, why) in cases {
            let message = RetryPolicy::parse(*attempts, *delay)
                .expect_err(why)
                .to_string();
            assert!(
                message.contains(fragment),
                "{why}: got '{message}', expected '{fragment}'"
            );
        }
        assert!(
            RetryPolicy::new(0, Duration::ZERO).is_err(),
            "new checks attempts"
        );
        assert!(
            RetryPolicy::new(3, Duration::from_secs(90_000)).is_err(),
            "new checks the delay"
        );
    }

    #[test]
    fn serializes_the_delay_as_text() {
        let policy = RetryPolicy::new(4, Duration::from_secs(90)).unwrap();
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(json, r#"{"attempts":4,"delay":"1m30s"}"#);
        assert_eq!(serde_json::from_str::<RetryPolicy>(&json).unwrap(), policy);
        let stored_wrong = r#"{"attempts":0,"delay":"5m"}"#;
        assert!(
            serde_json::from_str::<RetryPolicy>(stored_wrong).is_err(),
            "checked on load"
        );
        assert_eq!(policy.describe(), "4 attempts, 1m30s apart");
        assert_eq!(
            RetryPolicy::new(1, Duration::ZERO).unwrap().describe(),
            "no retries"
        );
    }
}
