//! When a writeback runs, and when a failed run is tried again: pure, table-tested code with no
//! I/O and no clock of its own (every function is given "now").
//!
//! A [`Schedule`] is parsed from what the user types:
//!
//! - `manual`: only when asked;
//! - `every <duration>`: `every 45s`, `every 15m`, `every 1h30m`, `every 2d` — an absolute
//!   duration from the previous fire, the same number of seconds whatever the clocks do;
//! - `cron <minute> <hour> <day-of-month> <month> <day-of-week>`: wall-clock times in a time zone
//!   (UTC unless given), with the DST rules of [`CronSchedule`] (Vixie cron's: a time skipped by
//!   spring-forward fires once right after the gap; a time repeated by fall-back fires once, at
//!   its first occurrence).
//!
//! The stored form is [`Schedule::to_text`], which [`Schedule::parse`] reads back; a cron
//! schedule outside UTC carries its zone as `cron TZ=Europe/Paris 0 2 * * *`.
//!
//! [`RetryPolicy`] is the run-level retry policy (attempts and delay) that shares the duration
//! syntax.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use writeback::schedule::Schedule;
//!
//! let nightly = Schedule::parse("cron 0 2 * * *", Some("Europe/Paris")).unwrap();
//! assert_eq!(nightly.describe(), "cron 0 2 * * * (Europe/Paris)");
//! assert_eq!(nightly.to_text(), "cron TZ=Europe/Paris 0 2 * * *");
//! let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
//! // 02:00 in Paris in summer is 00:00 UTC.
//! assert_eq!(nightly.next_fire(now), Some(Utc.with_ymd_and_hms(2026, 7, 2, 0, 0, 0).unwrap()));
//! ```

mod cron;
mod duration;
mod error;
mod retry;
mod timezone;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
pub use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use cron::CronSchedule;
pub use duration::{format_duration, parse_duration};
pub use error::{CronField, ScheduleError};
pub use retry::{RetryPolicy, parse_retry_attempts, parse_retry_delay};
pub use timezone::{DEFAULT_TIMEZONE, parse_timezone};

/// When a writeback runs by itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Schedule {
    /// Never by itself: only `writeback run` or the API's run button.
    #[default]
    Manual,
    /// A fixed absolute interval after the previous fire.
    Every(Interval),
    /// Wall-clock times from a cron expression, in a time zone.
    Cron(CronSchedule),
}

impl Schedule {
    /// Parses `manual`, `every <duration>` or `cron <expression>`; the keyword's case does not
    /// matter. `timezone` (e.g. `--timezone Europe/Paris`; UTC when `None`) is for cron
    /// schedules only: giving one with `manual` or `every` is an error rather than silently
    /// ignored, and so is giving one that differs from a `TZ=` inside the cron text.
    pub fn parse(text: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        let text = text.trim();
        let (keyword, rest) = match text.split_once(char::is_whitespace) {
            Some((keyword, rest)) => (keyword, rest.trim()),
            None => (text, ""),
        };
        let not_for_cron_only = || -> Result<(), ScheduleError> {
            match timezone {
                Some(_) => Err(ScheduleError::TimeZoneNotApplicable {
                    schedule: text.to_owned(),
                }),
                None => Ok(()),
            }
        };
        match keyword.to_ascii_lowercase().as_str() {
            "" => Err(ScheduleError::Empty),
            "manual" if rest.is_empty() => {
                not_for_cron_only()?;
                Ok(Schedule::Manual)
            }
            "manual" => Err(ScheduleError::TrailingWords {
                text: text.to_owned(),
            }),
            "every" if rest.is_empty() => Err(ScheduleError::MissingInterval),
            "every" => {
                let interval = Interval::parse_every(rest)?;
                not_for_cron_only()?;
                Ok(Schedule::Every(interval))
            }
            "cron" => {
                let (zone_in_text, expression) = split_zone(rest);
                let zone = match (zone_in_text, timezone) {
                    (None, None) => DEFAULT_TIMEZONE,
                    (Some(name), None) | (None, Some(name)) => parse_timezone(name)?,
                    (Some(in_schedule), Some(given)) => {
                        let zone = parse_timezone(in_schedule)?;
                        if parse_timezone(given)? != zone {
                            return Err(ScheduleError::TimeZoneConflict {
                                in_schedule: in_schedule.to_owned(),
                                given: given.to_owned(),
                            });
                        }
                        zone
                    }
                };
                Ok(Schedule::Cron(CronSchedule::parse(expression, zone)?))
            }
            _ => Err(ScheduleError::UnknownKind {
                text: text.to_owned(),
                hint: guess_intent(text),
            }),
        }
    }

    /// The first fire time strictly after `after`; `None` for [`Schedule::Manual`].
    ///
    /// For [`Schedule::Every`], `after` is the previous fire (or the anchor it counts from,
    /// such as when the schedule was set), and the result is exactly one interval later,
    /// whatever the clocks do; use [`Interval::next_aligned`] to skip fires missed while the
    /// service was down. For [`Schedule::Cron`], see [`CronSchedule::next_after`].
    pub fn next_fire(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Manual => None,
            Schedule::Every(interval) => after.checked_add_signed(interval.as_time_delta()),
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }

    /// For people: `manual`, `every 15 minutes`, `every hour`, `cron 0 2 * * * (Europe/Paris)`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Manual => "manual".to_owned(),
            Schedule::Every(interval) => format!("every {}", interval.describe()),
            Schedule::Cron(cron) => {
                format!("cron {} ({})", cron.expression(), cron.timezone().name())
            }
        }
    }

    /// The stable text form for storage, read back by [`Schedule::parse`] with no separate time
    /// zone: `manual`, `every 1h30m`, `cron 0 2 * * *` (UTC) or `cron TZ=Europe/Paris 0 2 * * *`.
    pub fn to_text(&self) -> String {
        match self {
            Schedule::Manual => "manual".to_owned(),
            Schedule::Every(interval) => format!("every {interval}"),
            Schedule::Cron(cron) if cron.timezone() == DEFAULT_TIMEZONE => {
                format!("cron {}", cron.expression())
            }
            Schedule::Cron(cron) => {
                format!("cron TZ={} {}", cron.timezone().name(), cron.expression())
            }
        }
    }

    /// The time zone of a cron schedule; `None` for the others, which do not read clocks.
    pub fn timezone(&self) -> Option<Tz> {
        match self {
            Schedule::Cron(cron) => Some(cron.timezone()),
            Schedule::Manual | Schedule::Every(_) => None,
        }
    }
}

/// Splits a leading `TZ=Area/City` (or cronie's `CRON_TZ=`) off a cron text.
fn split_zone(text: &str) -> (Option<&str>, &str) {
    let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    for prefix in ["TZ=", "CRON_TZ="] {
        if first.len() > prefix.len() && first[..prefix.len()].eq_ignore_ascii_case(prefix) {
            return (Some(&first[prefix.len()..]), rest.trim());
        }
    }
    (None, text)
}

/// What a schedule without a keyword was probably meant to be.
fn guess_intent(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "hourly" | "daily" | "weekly" | "monthly" | "yearly"
    ) {
        return Some(format!("cron @{lower}"));
    }
    let looks_like_cron = text.starts_with('@')
        || (text.split_whitespace().count() == 5
            && text.starts_with(|c: char| c.is_ascii_digit() || c == '*'));
    if looks_like_cron {
        return Some(format!("cron {text}"));
    }
    duration::parse_signed(text)
        .is_ok()
        .then(|| format!("every {text}"))
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    /// [`Schedule::parse`] with no separate time zone.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Schedule::parse(text, None)
    }
}

impl fmt::Display for Schedule {
    /// The stored form, [`Schedule::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Schedule::parse(&text, None).map_err(serde::de::Error::custom)
    }
}

/// The interval of an `every` schedule: whole seconds, from [`Interval::MIN`] to
/// [`Interval::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    seconds: u64,
}

impl Interval {
    /// One second: the duration syntax has no smaller unit, and the scheduler's own tests run a
    /// writeback every second.
    pub const MIN: Duration = Duration::from_secs(1);
    /// A leap year. Anything rarer is better said as a cron date.
    pub const MAX: Duration = Duration::from_secs(366 * 86_400);

    /// A validated interval.
    pub fn new(duration: Duration) -> Result<Self, ScheduleError> {
        if duration.subsec_nanos() != 0 {
            return Err(ScheduleError::DurationFraction {
                text: format!("{duration:?}"),
            });
        }
        Self::check(duration.as_secs(), &format_duration(duration))
    }

    /// Parses the duration after `every`, with errors that quote `every`.
    fn parse_every(text: &str) -> Result<Self, ScheduleError> {
        let parsed = duration::parse_signed(text)?;
        if parsed.negative && parsed.seconds > 0 {
            return Err(ScheduleError::IntervalNotPositive {
                text: text.trim().to_owned(),
            });
        }
        Self::check(parsed.seconds, text.trim())
    }

    fn check(seconds: u64, text: &str) -> Result<Self, ScheduleError> {
        if seconds < Self::MIN.as_secs() {
            return Err(ScheduleError::IntervalNotPositive {
                text: text.to_owned(),
            });
        }
        if seconds > Self::MAX.as_secs() {
            return Err(ScheduleError::IntervalTooLong {
                text: text.to_owned(),
                max: format_duration(Self::MAX),
            });
        }
        Ok(Interval { seconds })
    }

    /// The interval as a standard duration.
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.seconds)
    }

    fn as_time_delta(self) -> TimeDelta {
        // At most Interval::MAX, far inside TimeDelta's range.
        TimeDelta::seconds(self.seconds as i64)
    }

    /// The first of `anchor`, `anchor + interval`, `anchor + 2 × interval`, ... strictly after
    /// `after`. A scheduler that was down for several intervals fires once, then keeps the
    /// cadence it had, instead of running the backlog or drifting by its downtime.
    pub fn next_aligned(self, anchor: DateTime<Utc>, after: DateTime<Utc>) -> DateTime<Utc> {
        if anchor > after {
            return anchor;
        }
        let elapsed = (after - anchor).num_seconds();
        let steps = elapsed / self.seconds as i64 + 1;
        anchor + TimeDelta::seconds(steps * self.seconds as i64)
    }

    /// For people: `15 minutes`, `1 hour 30 minutes`; a single unit reads `hour`, `day`.
    pub fn describe(self) -> String {
        let text = duration::describe_duration(self.as_duration());
        match text.strip_prefix("1 ") {
            Some(unit) if !unit.contains(' ') => unit.to_owned(),
            _ => text,
        }
    }
}

impl fmt::Display for Interval {
    /// The canonical duration text, `1h30m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.as_duration()))
    }
}

impl FromStr for Interval {
    type Err = ScheduleError;

    /// Parses the duration of `every <duration>`, e.g. `15m`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Interval::parse_every(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_valid_schedules() {
        // (text, time zone, stored form, description, why)
        let cases: &[(&str, Option<&str>, &str, &str, &str)] = &[
            ("manual", None, "manual", "manual", "manual"),
            (
                "  MANUAL ",
                None,
                "manual",
                "manual",
                "keyword case and spaces",
            ),
            (
                "every 15m",
                None,
                "every 15m",
                "every 15 minutes",
                "minutes",
            ),
            (
                "every 1h30m",
                None,
                "every 1h30m",
                "every 1 hour 30 minutes",
                "two units",
            ),
            ("every 2d", None, "every 2d", "every 2 days", "days"),
            (
                "every 45s",
                None,
                "every 45s",
                "every 45 seconds",
                "seconds",
            ),
            (
                "every 1s",
                None,
                "every 1s",
                "every second",
                "the shortest interval",
            ),
            (
                "every 1h",
                None,
                "every 1h",
                "every hour",
                "one unit reads without the 1",
            ),
            (
                "every 90m",
                None,
                "every 1h30m",
                "every 1 hour 30 minutes",
                "normalized",
            ),
            (
                "Every 15 minutes",
                None,
                "every 15m",
                "every 15 minutes",
                "long unit name",
            ),
            (
                "every 366d",
                None,
                "every 366d",
                "every 366 days",
                "the longest interval",
            ),
            (
                "cron 0 2 * * *",
                None,
                "cron 0 2 * * *",
                "cron 0 2 * * * (UTC)",
                "UTC by default",
            ),
            (
                "cron 0 2 * * *",
                Some("Europe/Paris"),
                "cron TZ=Europe/Paris 0 2 * * *",
                "cron 0 2 * * * (Europe/Paris)",
                "separate time zone",
            ),
            (
                "cron  0   2 * *  * ",
                Some("europe/paris"),
                "cron TZ=Europe/Paris 0 2 * * *",
                "cron 0 2 * * * (Europe/Paris)",
                "spaces collapsed, zone name normalized",
            ),
            (
                "cron TZ=America/New_York */15 9-17 * * MON-FRI",
                None,
                "cron TZ=America/New_York */15 9-17 * * MON-FRI",
                "cron */15 9-17 * * MON-FRI (America/New_York)",
                "zone inside the text",
            ),
            (
                "cron CRON_TZ=Asia/Tokyo 0 9 * * *",
                Some("Asia/Tokyo"),
                "cron TZ=Asia/Tokyo 0 9 * * *",
                "cron 0 9 * * * (Asia/Tokyo)",
                "cronie's CRON_TZ, same zone given twice",
            ),
            (
                "cron @daily",
                None,
                "cron @daily",
                "cron @daily (UTC)",
                "shortcut",
            ),
        ];
        for (text, zone, stored, description, why) in cases {
            let schedule =
                Schedule::parse(text, *zone).unwrap_or_else(|e| panic!("{why}: {text}: {e}"));
            assert_eq!(schedule.to_text(), *stored, "{why}: stored form");
            assert_eq!(schedule.describe(), *description, "{why}: description");
            assert_eq!(
                stored.parse::<Schedule>().as_ref(),
                Ok(&schedule),
                "{why}: the stored form reads back"
            );
        }
    }

    #[test]
    fn rejects_invalid_schedules_naming_the_part() {
        let cases: &[(&str, Option<&str>, &str, &str)] = &[
            ("", None, "the schedule is empty", "empty"),
            ("   ", None, "the schedule is empty", "blank"),
            (
                "sometimes",
                None,
                "unknown schedule 'sometimes'; use 'manual'",
                "unknown keyword",
            ),
            (
                "0 2 * * *",
                None,
                "did you mean 'cron 0 2 * * *'?",
                "cron without keyword",
            ),
            (
                "15m",
                None,
                "did you mean 'every 15m'?",
                "interval without keyword",
            ),
            (
                "daily",
                None,
                "did you mean 'cron @daily'?",
                "a word for a shortcut",
            ),
            (
                "manual please",
                None,
                "extra words after 'manual'",
                "manual with extra words",
            ),
            ("every", None, "'every' needs a duration", "every alone"),
            (
                "every 0m",
                None,
                "'every 0m' must be longer than zero",
                "zero",
            ),
            (
                "every 0s",
                None,
                "'every 0s' must be longer than zero",
                "zero seconds",
            ),
            (
                "every -5m",
                None,
                "'every -5m' must be longer than zero",
                "negative",
            ),
            (
                "every 0.5s",
                None,
                "has a fraction",
                "shorter than a second",
            ),
            (
                "every 367d",
                None,
                "'every 367d' is longer than the longest interval, 366d",
                "too long",
            ),
            (
                "every 15",
                None,
                "'15' needs a unit: s, m, h or d (e.g. 15m)",
                "no unit",
            ),
            ("every 2w", None, "unknown unit 'w' in '2w'", "weeks"),
            (
                "every soon",
                None,
                "'soon' is not a duration",
                "not a duration",
            ),
            (
                "cron 0 25 * * *",
                None,
                "the hour field '25' is out of range 0-23",
                "cron hour",
            ),
            ("cron 0 2 * *", None, "needs 5 fields", "cron field count"),
            ("cron", None, "has 0", "cron alone"),
            (
                "cron 0 2 * * *",
                Some("Europe/Pariss"),
                "unknown time zone 'Europe/Pariss' — did you mean Europe/Paris?",
                "zone typo",
            ),
            (
                "cron TZ=Mars/Base 0 2 * * *",
                None,
                "unknown time zone 'Mars/Base'",
                "zone in text",
            ),
            (
                "cron TZ=Europe/Paris 0 2 * * *",
                Some("Europe/Berlin"),
                "two time zones given: 'Europe/Paris' in the schedule and 'Europe/Berlin' separately",
                "conflicting zones",
            ),
            (
                "every 15m",
                Some("Europe/Paris"),
                "a time zone only applies to cron schedules",
                "zone with every",
            ),
            (
                "manual",
                Some("UTC"),
                "a time zone only applies to cron schedules",
                "zone with manual",
            ),
        ];
        for (text, zone, fragment, why) in cases {
            let message = Schedule::parse(text, *zone).expect_err(why).to_string();
            assert!(
                message.contains(fragment),
                "{why}: '{text}' gave '{message}', expected '{fragment}'"
            );
        }
    }

    #[test]
    fn every_is_absolute_across_dst_changes() {
        // (schedule, previous fire, next fire, why). Europe/Berlin changes on 2026-03-29 at
        // 01:00 UTC and on 2026-10-25 at 01:00 UTC; none of that matters to `every`.
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "every 15m",
                "2026-03-29T00:50:00Z",
                "2026-03-29T01:05:00Z",
                "15 minutes over spring forward",
            ),
            (
                "every 1h",
                "2026-03-29T00:30:00Z",
                "2026-03-29T01:30:00Z",
                "an hour over spring forward",
            ),
            (
                "every 1d",
                "2026-03-28T23:00:00Z",
                "2026-03-29T23:00:00Z",
                "a day is 24 hours: 00:00 CET becomes 01:00 CEST",
            ),
            (
                "every 1h",
                "2026-10-25T00:30:00Z",
                "2026-10-25T01:30:00Z",
                "an hour over fall back",
            ),
            (
                "every 1d",
                "2026-10-24T22:00:00Z",
                "2026-10-25T22:00:00Z",
                "a day over fall back: 00:00 CEST becomes 23:00 CET",
            ),
            (
                "every 15m",
                "2026-11-01T05:50:00Z",
                "2026-11-01T06:05:00Z",
                "New York's repeated hour",
            ),
            (
                "every 45s",
                "2026-12-31T23:59:30Z",
                "2027-01-01T00:00:15Z",
                "seconds over the year end",
            ),
        ];
        for (text, previous, next, why) in cases {
            let schedule: Schedule = text.parse().unwrap();
            assert_eq!(schedule.next_fire(utc(previous)), Some(utc(next)), "{why}");
        }
        assert_eq!(
            Schedule::Manual.next_fire(utc("2026-01-01T00:00:00Z")),
            None,
            "manual never fires"
        );
    }

    #[test]
    fn cron_next_fire_through_schedule() {
        let schedule = Schedule::parse("cron 30 2 * * *", Some("Europe/Berlin")).unwrap();
        assert_eq!(
            schedule.next_fire(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z")),
            "02:30 on the spring-forward night runs at 03:00 CEST"
        );
        assert_eq!(schedule.timezone(), Some(Tz::Europe__Berlin));
    }

    #[test]
    fn next_aligned_keeps_the_cadence() {
        let every_15m: Interval = "15m".parse().unwrap();
        // (anchor, after, expected, why)
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:15:00Z",
                "at the anchor: one interval on",
            ),
            (
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:14:59Z",
                "2026-01-01T00:15:00Z",
                "just before a slot",
            ),
            (
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:15:00Z",
                "2026-01-01T00:30:00Z",
                "strictly after a slot",
            ),
            (
                "2026-01-01T00:00:00Z",
                "2026-01-01T05:07:00Z",
                "2026-01-01T05:15:00Z",
                "after downtime: the next slot, no backlog",
            ),
            (
                "2026-01-01T00:05:00Z",
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:05:00Z",
                "anchor in the future",
            ),
        ];
        for (anchor, after, expected, why) in cases {
            assert_eq!(
                every_15m.next_aligned(utc(anchor), utc(after)),
                utc(expected),
                "{why}"
            );
        }
    }

    #[test]
    fn interval_new_checks_limits() {
        assert!(Interval::new(Duration::from_secs(1)).is_ok(), "one second");
        assert!(Interval::new(Duration::ZERO).is_err(), "zero");
        assert!(
            Interval::new(Duration::from_millis(1500)).is_err(),
            "fractions"
        );
        assert!(
            Interval::new(Interval::MAX + Duration::from_secs(1)).is_err(),
            "too long"
        );
    }

    #[test]
    fn serializes_as_the_stored_text() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("manual", None, r#""manual""#),
            ("every 1h30m", None, r#""every 1h30m""#),
            (
                "cron 0 2 * * *",
                Some("Europe/Paris"),
                r#""cron TZ=Europe/Paris 0 2 * * *""#,
            ),
        ];
        for (text, zone, json) in cases {
            let schedule = Schedule::parse(text, *zone).unwrap();
            assert_eq!(serde_json::to_string(&schedule).unwrap(), *json, "{text}");
            assert_eq!(
                serde_json::from_str::<Schedule>(json).unwrap(),
                schedule,
                "{text}"
            );
        }
        let error = serde_json::from_str::<Schedule>(r#""every 0m""#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("must be longer than zero"), "{error}");
    }
}
