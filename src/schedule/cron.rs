//! Five-field cron expressions evaluated in an IANA time zone, with Vixie cron's rules for the
//! days clocks change.
//!
//! # Why our own evaluator and not `croner`
//!
//! `croner` implements the same DST rules, but its errors are strings that do not name the field
//! ("Position x is out of bounds"), so we would parse every field ourselves anyway to say
//! "the hour field '25' is out of range 0-23"; once the fields are parsed into bit sets,
//! finding the next match is a short loop over days. `croner` would also bring
//! `derive_builder` (`darling`) and `strum` proc-macros into the build for extensions
//! (seconds, years, `L`, `W`, `#`) that we do not offer.
//!
//! # Syntax
//!
//! `minute hour day-of-month month day-of-week`, each field `*`, a number, a name (`JAN`-`DEC`,
//! `SUN`-`SAT`, any case), a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the end),
//! or a comma-separated list of those. Day-of-week 0 and 7 are both Sunday. The shortcuts
//! `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) stand for
//! their usual expressions. As in Vixie cron, when both day fields are restricted (neither
//! starts with `*`) a day matches if *either* matches; otherwise both must.
//!
//! # Days the clocks change
//!
//! We follow Vixie cron (and cronie, and `croner`'s OCPS rules), which splits jobs in two:
//! a *fixed-time* job names its minutes and hours (neither field starts with `*`, e.g.
//! `30 2 * * *`); a *wildcard* job does not (`*/15 * * * *`, `0 * * * *`).
//!
//! - **Spring forward** (a wall-clock time that does not exist, e.g. 02:30 on 2026-03-29 in
//!   Europe/Berlin, whose clocks jump from 02:00 to 03:00): a fixed-time job fires once, at the
//!   first instant after the gap (03:00 local); a wildcard job simply has no fires during the
//!   gap, since those minutes never happen.
//! - **Fall back** (a wall-clock time that happens twice, e.g. 02:30 on 2026-10-25 in
//!   Europe/Berlin): a fixed-time job fires once, at the first occurrence; a wildcard job fires
//!   at both, so `*/15 * * * *` keeps firing every 15 real minutes through the repeated hour.
//!
//! We follow Vixie cron rather than systemd because its rule is stated per job and is what users
//! of "run at 02:30 every night" expect: that night's run happens, exactly once.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::{CronField, ScheduleError};

/// How many days ahead a search may look. Any expression that passes the never-fires check
/// matches within 8 years (29 February after a skipped century leap year) or, with a weekday
/// also required, within one 28-year weekday cycle; past that there is no match to find.
const MAX_SEARCH_DAYS: u32 = 366 * 29;

/// How far past a spring-forward gap to look for the first valid wall-clock time. Real gaps are
/// 30 minutes to an hour; the longest ever was a whole day (Pacific/Apia skipping 2011-12-30).
const MAX_GAP_MINUTES: i64 = 48 * 60;

/// The shortcuts, and the expressions they stand for.
const SHORTCUTS: [(&str, &str); 7] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The values one field may hold.
struct FieldSpec {
    field: CronField,
    min: u32,
    /// The end of `*`: 6 for day-of-week, so Sunday is not counted twice.
    star_max: u32,
    /// The largest value accepted: 7 for day-of-week (Sunday again).
    max: u32,
    /// Names for the values from `min` on.
    names: &'static [&'static str],
}

impl FieldSpec {
    fn of(field: CronField) -> FieldSpec {
        let (min, star_max, max, names): (u32, u32, u32, &'static [&'static str]) = match field {
            CronField::Minute => (0, 59, 59, &[]),
            CronField::Hour => (0, 23, 23, &[]),
            CronField::DayOfMonth => (1, 31, 31, &[]),
            CronField::Month => (1, 12, 12, &MONTH_NAMES),
            CronField::DayOfWeek => (0, 6, 7, &WEEKDAY_NAMES),
        };
        FieldSpec {
            field,
            min,
            star_max,
            max,
            names,
        }
    }
}

/// One parsed field: the set of values as bits, and whether it was written starting with `*`
/// (which is what Vixie cron's day-matching and DST rules look at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Field {
    bits: u64,
    star: bool,
}

impl Field {
    fn contains(self, value: u32) -> bool {
        self.bits & (1 << value) != 0
    }

    /// The values in ascending order.
    fn values(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |v| self.bits & (1u64 << v) != 0)
    }
}

/// A validated cron expression and the time zone its wall-clock times are read in.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use writeback::schedule::CronSchedule;
///
/// let nightly = CronSchedule::parse("30 2 * * *", "Europe/Berlin".parse().unwrap()).unwrap();
/// // The night clocks jump from 02:00 to 03:00, the 02:30 run happens at 03:00 local time.
/// let before = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
/// assert_eq!(nightly.next_after(before), Some(Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronSchedule {
    /// The expression as written, with runs of spaces collapsed (a shortcut stays a shortcut).
    expression: String,
    timezone: Tz,
    minutes: Field,
    hours: Field,
    days_of_month: Field,
    months: Field,
    days_of_week: Field,
}

impl CronSchedule {
    /// Parses a five-field expression (or a shortcut such as `@daily`) to be read in `timezone`.
    pub fn parse(expression: &str, timezone: Tz) -> Result<Self, ScheduleError> {
        let words: Vec<&str> = expression.split_whitespace().collect();
        let normalized = words.join(" ");
        let (expression, fields_text) = match words.as_slice() {
            [shortcut] if shortcut.starts_with('@') => {
                let lower = shortcut.to_ascii_lowercase();
                let (name, fields) = SHORTCUTS
                    .iter()
                    .find(|(name, _)| *name == lower)
                    .ok_or_else(|| ScheduleError::CronUnknownShortcut {
                        name: (*shortcut).to_owned(),
                    })?;
                ((*name).to_owned(), *fields)
            }
            _ => (normalized.clone(), normalized.as_str()),
        };
        let parts: Vec<&str> = fields_text.split(' ').filter(|p| !p.is_empty()).collect();
        if parts.len() != CronField::ALL.len() {
            return Err(ScheduleError::CronFieldCount {
                expression: normalized.clone(),
                found: parts.len(),
            });
        }
        let mut fields = [Field {
            bits: 0,
            star: false,
        }; 5];
        for ((slot, field), text) in fields.iter_mut().zip(CronField::ALL).zip(&parts) {
            *slot = parse_field(&FieldSpec::of(field), text)?;
        }
        let [minutes, hours, days_of_month, months, days_of_week] = fields;
        let schedule = CronSchedule {
            expression,
            timezone,
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
        };
        if !schedule.can_fire() {
            return Err(ScheduleError::CronNeverFires {
                expression: schedule.expression,
            });
        }
        Ok(schedule)
    }

    /// The expression as written (runs of spaces collapsed), e.g. `0 2 * * *` or `@daily`.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone the expression's wall-clock times are read in.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// Whether this is a fixed-time job (minute and hour both named, e.g. `30 2 * * *`), which
    /// fires once on the days clocks change, rather than a wildcard job (`*/15 * * * *`). See the
    /// module documentation.
    pub fn is_fixed_time(&self) -> bool {
        !(self.minutes.star || self.hours.star)
    }

    /// The first fire time strictly after `after`, or `None` if there is none before the end of
    /// the calendar `chrono` can represent.
    ///
    /// The search resolves each matching wall-clock time of a few days in the zone, so its cost
    /// grows with the number of fires a day: microseconds for a daily job, a few milliseconds in
    /// a debug build for `* * * * *`. It is called once per fire, so that is cheap enough to keep
    /// the exact rules simple.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Start a day early: where clocks go back across midnight, a wall-clock time of the
        // previous day can still lie ahead.
        let mut date = after
            .with_timezone(&self.timezone)
            .date_naive()
            .pred_opt()?;
        let mut best: Option<DateTime<Utc>> = None;
        let mut found_on: Option<NaiveDate> = None;
        for _ in 0..MAX_SEARCH_DAYS {
            if self.matches_date(date) {
                for fire in self.fires_on(date) {
                    if fire > after && best.is_none_or(|b| fire < b) {
                        best = Some(fire);
                    }
                }
            }
            match found_on {
                // One more day is scanned after the first match, in case a gap pushed a fire
                // past midnight or an overlap made the next day's first fire the earlier one.
                Some(day) if date > day => break,
                None if best.is_some() => found_on = Some(date),
                _ => {}
            }
            date = date.succ_opt()?;
        }
        best
    }

    /// Whether the day fields (Vixie rule: either, when both are restricted) and the month
    /// match `date`.
    fn matches_date(&self, date: NaiveDate) -> bool {
        if !self.months.contains(date.month()) {
            return false;
        }
        let dom = self.days_of_month.contains(date.day());
        let dow = self
            .days_of_week
            .contains(date.weekday().num_days_from_sunday());
        if self.days_of_month.star || self.days_of_week.star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Every fire instant of the wall-clock times on `date`, by the DST rules of the module
    /// documentation; not in order where an overlap repeats times.
    fn fires_on(&self, date: NaiveDate) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let fixed = self.is_fixed_time();
        self.hours.values().flat_map(move |hour| {
            self.minutes.values().flat_map(move |minute| {
                let wall = date
                    .and_hms_opt(hour, minute, 0)
                    .expect("hour and minute are in range by construction");
                let (first, second) = match self.timezone.from_local_datetime(&wall) {
                    LocalResult::Single(t) => (Some(t), None),
                    LocalResult::Ambiguous(earlier, later) => {
                        (Some(earlier), (!fixed).then_some(later))
                    }
                    LocalResult::None if fixed => (self.first_after_gap(wall), None),
                    LocalResult::None => (None, None),
                };
                first
                    .into_iter()
                    .chain(second)
                    .map(|t| t.with_timezone(&Utc))
            })
        })
    }

    /// The first instant whose wall-clock time is after `wall`, which lies in a spring-forward
    /// gap: the instant the clocks jumped. Minutes are enough: every transition since 1970
    /// happens on a whole minute.
    fn first_after_gap(&self, wall: NaiveDateTime) -> Option<DateTime<Tz>> {
        (1..=MAX_GAP_MINUTES).find_map(|minutes| {
            match self
                .timezone
                .from_local_datetime(&(wall + TimeDelta::minutes(minutes)))
            {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
                LocalResult::None => None,
            }
        })
    }

    /// Whether some month has one of the days named. Only the day-of-month field can make an
    /// expression impossible (`0 0 31 2 *`); a weekday happens in every month.
    fn can_fire(&self) -> bool {
        let only_day_of_month = !self.days_of_month.star && self.days_of_week.star;
        if !only_day_of_month {
            return true;
        }
        self.months.values().any(|month| {
            // February counts 29: leap years come.
            let longest = match month {
                2 => 29,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            self.days_of_month.values().any(|day| day <= longest)
        })
    }
}

/// Parses one field: a comma-separated list of `*`, values, ranges and steps.
fn parse_field(spec: &FieldSpec, text: &str) -> Result<Field, ScheduleError> {
    let mut bits: u64 = 0;
    for item in text.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => {
                let step = step
                    .parse::<u32>()
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| ScheduleError::CronBadStep {
                        field: spec.field,
                        value: item.to_owned(),
                    })?;
                (base, Some(step))
            }
            None => (item, None),
        };
        let (low, high) = if base == "*" {
            (spec.min, spec.star_max)
        } else if let Some((low, high)) = base.split_once('-') {
            let (low, high) = (
                parse_value(spec, low, item)?,
                parse_value(spec, high, item)?,
            );
            if high < low {
                return Err(ScheduleError::CronBackwardRange {
                    field: spec.field,
                    value: item.to_owned(),
                });
            }
            (low, high)
        } else {
            let value = parse_value(spec, base, item)?;
            // `5/15` means from 5 to the end of the range in steps of 15.
            match step {
                Some(_) => (value, spec.star_max.max(value)),
                None => (value, value),
            }
        };
        for value in (low..=high).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << value;
        }
    }
    if spec.field == CronField::DayOfWeek && bits & (1 << 7) != 0 {
        bits = (bits & !(1 << 7)) | 1;
    }
    Ok(Field {
        bits,
        star: text.starts_with('*'),
    })
}

/// Parses one value: a number in the field's range, or a name.
fn parse_value(spec: &FieldSpec, text: &str, item: &str) -> Result<u32, ScheduleError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let out_of_range = || ScheduleError::CronOutOfRange {
            field: spec.field,
            value: text.to_owned(),
            min: spec.min,
            max: spec.max,
        };
        let value: u32 = text.parse().map_err(|_| out_of_range())?;
        return if (spec.min..=spec.max).contains(&value) {
            Ok(value)
        } else {
            Err(out_of_range())
        };
    }
    spec.names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text))
        .map(|index| spec.min + index as u32)
        .ok_or_else(|| ScheduleError::CronBadValue {
            field: spec.field,
            value: if item.is_empty() { text } else { item }.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_fields_into_value_sets() {
        let cases: &[(&str, [&[u32]; 5], &str)] = &[
            ("0 2 * * *", [&[0], &[2], &[], &[], &[]], "daily at 02:00"),
            (
                "*/15 9-17 * * MON-FRI",
                [
                    &[0, 15, 30, 45],
                    &[9, 10, 11, 12, 13, 14, 15, 16, 17],
                    &[],
                    &[],
                    &[1, 2, 3, 4, 5],
                ],
                "steps, ranges, weekday names",
            ),
            (
                "5/20 * * * *",
                [&[5, 25, 45], &[], &[], &[], &[]],
                "a/step runs to the end",
            ),
            (
                "0-30/10 * * * *",
                [&[0, 10, 20, 30], &[], &[], &[], &[]],
                "range with step",
            ),
            (
                "0 0 1,15 jan,Jul *",
                [&[0], &[0], &[1, 15], &[1, 7], &[]],
                "lists, names in any case",
            ),
            ("0 0 * * 7", [&[0], &[0], &[], &[], &[0]], "7 is Sunday"),
            (
                "0 0 * * 5-7",
                [&[0], &[0], &[], &[], &[0, 5, 6]],
                "range through 7",
            ),
            (
                "0 0 * * */2",
                [&[0], &[0], &[], &[], &[0, 2, 4, 6]],
                "* on weekdays ends at 6",
            ),
        ];
        for (expression, expected, why) in cases {
            let cron =
                CronSchedule::parse(expression, Tz::UTC).unwrap_or_else(|e| panic!("{why}: {e}"));
            let got = [
                cron.minutes,
                cron.hours,
                cron.days_of_month,
                cron.months,
                cron.days_of_week,
            ];
            for (index, (field, want)) in got.iter().zip(expected).enumerate() {
                if !want.is_empty() {
                    assert_eq!(
                        field.values().collect::<Vec<_>>(),
                        *want,
                        "{why}: field {index}"
                    );
                }
            }
        }
    }

    #[test]
    fn rejects_bad_expressions_naming_the_part() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "0 25 * * *",
                "the hour field '25' is out of range 0-23",
                "hour too big",
            ),
            (
                "60 * * * *",
                "the minute field '60' is out of range 0-59",
                "minute too big",
            ),
            (
                "0 0 0 * *",
                "the day-of-month field '0' is out of range 1-31",
                "day zero",
            ),
            (
                "0 0 * 13 *",
                "the month field '13' is out of range 1-12",
                "month 13",
            ),
            (
                "0 0 * * 8",
                "the day-of-week field '8' is out of range 0-7",
                "weekday 8",
            ),
            (
                "0 0 * * 1-9",
                "the day-of-week field '9' is out of range 0-7",
                "range end too big",
            ),
            (
                "0 0 * * MOX",
                "the day-of-week field 'MOX' is not valid",
                "unknown weekday name",
            ),
            (
                "0 0 * FOO *",
                "or a name (JAN-DEC)",
                "unknown month name names the choices",
            ),
            (
                "0 0 L * *",
                "the day-of-month field 'L' is not valid",
                "L is not supported",
            ),
            (
                "0 0 * * 1#2",
                "the day-of-week field '1#2' is not valid",
                "# is not supported",
            ),
            (
                "a * * * *",
                "the minute field 'a' is not valid",
                "letters in minute",
            ),
            (
                "1,,2 * * * *",
                "the minute field '' is not valid",
                "empty list item",
            ),
            (
                "30-10 * * * *",
                "the minute field range '30-10' goes backwards",
                "backward range",
            ),
            (
                "*/0 * * * *",
                "the minute field step in '*/0' must be",
                "zero step",
            ),
            (
                "*/x * * * *",
                "the minute field step in '*/x' must be",
                "non-numeric step",
            ),
            (
                "0 2 * *",
                "needs 5 fields (minute hour day-of-month month day-of-week); '0 2 * *' has 4",
                "4 fields",
            ),
            (
                "0 0 2 * * *",
                "has 6 (seconds and years are not supported)",
                "6 fields",
            ),
            ("", "has 0", "empty"),
            (
                "@reboot",
                "unknown cron shortcut '@reboot'",
                "reboot makes no sense here",
            ),
            ("0 0 31 2 *", "'0 0 31 2 *' never fires", "31 February"),
            ("0 0 31 4,6,9,11 *", "never fires", "31st of 30-day months"),
            ("0 0 30,31 FEB *", "never fires", "30th of February"),
        ];
        for (expression, fragment, why) in cases {
            let message = CronSchedule::parse(expression, Tz::UTC)
                .expect_err(why)
                .to_string();
            assert!(
                message.contains(fragment),
                "{why}: '{expression}' gave '{message}', expected '{fragment}'"
            );
        }
    }

    #[test]
    fn accepts_expressions_that_fire_only_sometimes() {
        let cases: &[(&str, &str)] = &[
            ("0 0 29 2 *", "29 February: leap years"),
            (
                "0 0 31 2 MON",
                "31 February or any Monday: either day field matches",
            ),
            ("0 0 31 1-12 *", "31st of the months that have one"),
            ("@daily", "shortcut"),
            ("@WEEKLY", "shortcut in capitals"),
        ];
        for (expression, why) in cases {
            assert!(CronSchedule::parse(expression, Tz::UTC).is_ok(), "{why}");
        }
    }

    /// `(expression, zone, after, [next fires...], why)`: each fire is the next after the
    /// previous one, so a row checks a run of consecutive fires.
    type FireCase = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static str,
    );

    #[test]
    fn next_fire_times() {
        let cases: &[FireCase] = &[
            (
                "0 2 * * *",
                "UTC",
                "2026-01-01T00:00:00Z",
                &["2026-01-01T02:00:00Z", "2026-01-02T02:00:00Z"],
                "daily 02:00 UTC",
            ),
            (
                "0 2 * * *",
                "UTC",
                "2026-01-01T02:00:00Z",
                &["2026-01-02T02:00:00Z"],
                "strictly after: a fire at `after` itself is not returned",
            ),
            (
                "*/15 * * * *",
                "UTC",
                "2026-01-01T09:40:00Z",
                &[
                    "2026-01-01T09:45:00Z",
                    "2026-01-01T10:00:00Z",
                    "2026-01-01T10:15:00Z",
                ],
                "*/15 across an hour boundary",
            ),
            (
                "*/15 * * * *",
                "UTC",
                "2026-12-31T23:50:00Z",
                &["2027-01-01T00:00:00Z", "2027-01-01T00:15:00Z"],
                "*/15 across a year boundary",
            ),
            (
                "*/15 * * * *",
                "UTC",
                "2026-01-01T10:07:30Z",
                &["2026-01-01T10:15:00Z"],
                "from between minutes",
            ),
            (
                "0 9 * * MON",
                "UTC",
                "2026-03-04T12:00:00Z",
                &["2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z"],
                "weekly on Monday (2026-03-04 is a Wednesday)",
            ),
            (
                "0 9 * * MON",
                "Europe/Berlin",
                "2026-03-24T12:00:00Z",
                &["2026-03-30T07:00:00Z"],
                "weekly keeps 09:00 local across the change to summer time",
            ),
            (
                "0 0 31 * *",
                "UTC",
                "2026-01-31T00:00:00Z",
                &[
                    "2026-03-31T00:00:00Z",
                    "2026-05-31T00:00:00Z",
                    "2026-07-31T00:00:00Z",
                    "2026-08-31T00:00:00Z",
                ],
                "the 31st skips the months without one",
            ),
            (
                "0 0 29 2 *",
                "UTC",
                "2026-01-01T00:00:00Z",
                &["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
                "29 February waits for a leap year",
            ),
            (
                "0 0 29 2 *",
                "UTC",
                "2096-03-01T00:00:00Z",
                &["2104-02-29T00:00:00Z"],
                "2100 is not a leap year",
            ),
            (
                "0 0 13 * FRI",
                "UTC",
                "2026-01-01T00:00:00Z",
                &[
                    "2026-01-02T00:00:00Z",
                    "2026-01-09T00:00:00Z",
                    "2026-01-13T00:00:00Z",
                ],
                "both day fields restricted: either matches (Vixie)",
            ),
            (
                "0 0 */10 * FRI",
                "UTC",
                "2026-01-01T00:00:00Z",
                &["2026-05-01T00:00:00Z", "2026-07-31T00:00:00Z"],
                "day-of-month starting with *: both must match (Vixie): a Friday on the 1st, 11th, 21st or 31st",
            ),
            (
                "@hourly",
                "UTC",
                "2026-01-01T10:00:00Z",
                &["2026-01-01T11:00:00Z"],
                "shortcut",
            ),
            (
                "0 2 * * *",
                "Asia/Kolkata",
                "2026-01-01T00:00:00Z",
                &["2026-01-01T20:30:00Z"],
                "a half-hour offset zone",
            ),
            // Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
            (
                "30 2 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00:00Z",
                &["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
                "spring forward: 02:30 does not exist, fires once at 03:00 CEST, then 02:30 CEST",
            ),
            (
                "0 2 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00:00Z",
                &["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"],
                "spring forward: 02:00 itself is in the gap",
            ),
            (
                "0,30 2 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00:00Z",
                &["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"],
                "spring forward: two times in the gap fire once",
            ),
            (
                "30 2,3 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00:00Z",
                &[
                    "2026-03-29T01:00:00Z",
                    "2026-03-29T01:30:00Z",
                    "2026-03-30T00:30:00Z",
                ],
                "spring forward: the gap's fire at 03:00, then 03:30 as usual",
            ),
            (
                "30 1 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00:00Z",
                &["2026-03-29T00:30:00Z", "2026-03-29T23:30:00Z"],
                "spring forward: 01:30 is before the gap, unaffected",
            ),
            (
                "*/30 * * * *",
                "Europe/Berlin",
                "2026-03-29T00:15:00Z",
                &[
                    "2026-03-29T00:30:00Z",
                    "2026-03-29T01:00:00Z",
                    "2026-03-29T01:30:00Z",
                ],
                "spring forward, wildcard job: 01:30 CET, then 03:00 CEST (02:xx never happens)",
            ),
            (
                "30 2 * * *",
                "Europe/Berlin",
                "2026-10-24T12:00:00Z",
                &["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
                "fall back: 02:30 happens twice, fires once at the first (CEST)",
            ),
            (
                "30 2 * * *",
                "Europe/Berlin",
                "2026-10-25T00:45:00Z",
                &["2026-10-26T01:30:00Z"],
                "fall back: from inside the repeated hour, the second 02:30 does not fire again",
            ),
            (
                "30 1 * * *",
                "Europe/Berlin",
                "2026-10-24T12:00:00Z",
                &["2026-10-24T23:30:00Z", "2026-10-26T00:30:00Z"],
                "fall back: 01:30 is before the overlap, once, in CEST",
            ),
            (
                "30 * * * *",
                "Europe/Berlin",
                "2026-10-24T23:45:00Z",
                &[
                    "2026-10-25T00:30:00Z",
                    "2026-10-25T01:30:00Z",
                    "2026-10-25T02:30:00Z",
                ],
                "fall back, wildcard job: 02:30 CEST and 02:30 CET both fire, then 03:30 CET",
            ),
            // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
            (
                "30 2 * * *",
                "America/New_York",
                "2026-03-07T12:00:00Z",
                &["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
                "spring forward: 02:30 fires at 03:00 EDT",
            ),
            (
                "30 1 * * *",
                "America/New_York",
                "2026-10-31T12:00:00Z",
                &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
                "fall back: 01:30 happens twice, fires once at 01:30 EDT",
            ),
            (
                "30 2 * * *",
                "America/New_York",
                "2026-10-31T12:00:00Z",
                &["2026-11-01T07:30:00Z"],
                "fall back: 02:30 happens once, in EST",
            ),
            (
                "*/30 1 * * *",
                "America/New_York",
                "2026-11-01T05:15:00Z",
                &[
                    "2026-11-01T05:30:00Z",
                    "2026-11-01T06:00:00Z",
                    "2026-11-01T06:30:00Z",
                    "2026-11-02T06:00:00Z",
                ],
                "fall back, wildcard minutes: 01:30 EDT, 01:00 EST, 01:30 EST",
            ),
            // Australia/Lord_Howe moves by 30 minutes: 2026-04-05 02:00 +11 → 01:30 +10:30;
            // 2026-10-04 02:00 +10:30 → 02:30 +11.
            (
                "15 2 * * *",
                "Australia/Lord_Howe",
                "2026-10-03T00:00:00Z",
                &["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"],
                "Lord Howe spring forward: 02:15 is in the 30-minute gap, fires at 02:30 +11",
            ),
            (
                "45 1 * * *",
                "Australia/Lord_Howe",
                "2026-04-04T00:00:00Z",
                &["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"],
                "Lord Howe fall back: 01:45 happens twice, fires at the first (+11)",
            ),
        ];
        for (expression, zone, after, fires, why) in cases {
            let cron =
                CronSchedule::parse(expression, tz(zone)).unwrap_or_else(|e| panic!("{why}: {e}"));
            let mut after = utc(after);
            for (index, want) in fires.iter().enumerate() {
                let got = cron.next_after(after);
                assert_eq!(got, Some(utc(want)), "{why}: fire #{}", index + 1);
                after = got.unwrap();
            }
        }
    }

    #[test]
    fn classifies_fixed_time_and_wildcard_jobs() {
        let cases: &[(&str, bool)] = &[
            ("30 2 * * *", true),
            ("0,30 1-3 * * *", true),
            ("*/15 * * * *", false),
            ("0 * * * *", false),
            ("* 2 * * *", false),
            ("@daily", true),
            ("@hourly", false),
        ];
        for (expression, fixed) in cases {
            let cron = CronSchedule::parse(expression, Tz::UTC).unwrap();
            assert_eq!(cron.is_fixed_time(), *fixed, "{expression}");
        }
    }
}
