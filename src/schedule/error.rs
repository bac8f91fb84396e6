//! The one error type of the schedule module: every variant names the part of the input that is
//! wrong and says what would be accepted instead.

use std::fmt;

/// The five fields of a cron expression, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    /// Minute of the hour, 0-59.
    Minute,
    /// Hour of the day, 0-23.
    Hour,
    /// Day of the month, 1-31.
    DayOfMonth,
    /// Month of the year, 1-12 or JAN-DEC.
    Month,
    /// Day of the week, 0-7 (0 and 7 are Sunday) or SUN-SAT.
    DayOfWeek,
}

impl CronField {
    /// All fields in the order they are written in an expression.
    pub const ALL: [CronField; 5] = [
        CronField::Minute,
        CronField::Hour,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
    ];

    /// The name used in messages: `minute`, `hour`, `day-of-month`, `month`, `day-of-week`.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A schedule, an interval, a time zone or a retry policy that cannot be accepted.
///
/// These are all input-validation failures: none is ever worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Nothing was given.
    #[error(
        "the schedule is empty; use 'manual', 'every <duration>' (e.g. every 15m) or \
         'cron <minute> <hour> <day-of-month> <month> <day-of-week>' (e.g. cron 0 2 * * *)"
    )]
    Empty,
    /// The first word is none of `manual`, `every`, `cron`.
    #[error(
        "unknown schedule '{text}'; use 'manual', 'every <duration>' (e.g. every 15m) or \
         'cron <minute> <hour> <day-of-month> <month> <day-of-week>' (e.g. cron 0 2 * * *){}",
        hint.as_deref().map(|h| format!(" — did you mean '{h}'?")).unwrap_or_default()
    )]
    UnknownKind {
        /// The whole text given.
        text: String,
        /// A likely intended schedule, when the text looks like one without its keyword.
        hint: Option<String>,
    },
    /// `manual` followed by something else.
    #[error("'{text}' has extra words after 'manual'")]
    TrailingWords {
        /// The whole text given.
        text: String,
    },

    /// `every` without a duration.
    #[error("'every' needs a duration, e.g. 'every 15m', 'every 1h30m' or 'every 2d'")]
    MissingInterval,
    /// A duration is not made of `<whole number><unit>` parts.
    #[error("'{text}' is not a duration; write it like 30s, 15m, 1h30m or 2d")]
    DurationSyntax {
        /// The duration text.
        text: String,
    },
    /// A number without its unit.
    #[error("'{text}' needs a unit: s, m, h or d (e.g. {number}m)")]
    DurationMissingUnit {
        /// The duration text.
        text: String,
        /// The number that lacks a unit.
        number: String,
    },
    /// A unit other than seconds, minutes, hours or days.
    #[error("unknown unit '{unit}' in '{text}'; use s, m, h or d (seconds, minutes, hours, days)")]
    DurationUnknownUnit {
        /// The duration text.
        text: String,
        /// The unit as written.
        unit: String,
    },
    /// A decimal number such as `1.5h`.
    #[error("'{text}' has a fraction; use whole numbers, e.g. 1h30m instead of 1.5h")]
    DurationFraction {
        /// The duration text.
        text: String,
    },
    /// A unit repeated, or smaller units before larger ones (`30m1h`).
    #[error("the units in '{text}' must go from largest to smallest, each once (e.g. 1h30m)")]
    DurationUnitOrder {
        /// The duration text.
        text: String,
    },
    /// A number too big to be a duration at all.
    #[error("'{text}' is far too long a duration")]
    DurationOverflow {
        /// The duration text.
        text: String,
    },
    /// `every 0m`, `every -5m`.
    #[error("'every {text}' must be longer than zero")]
    IntervalNotPositive {
        /// The duration text after `every`.
        text: String,
    },
    /// Longer than [`super::Interval::MAX`].
    #[error(
        "'every {text}' is longer than the longest interval, {max}; use a cron schedule instead"
    )]
    IntervalTooLong {
        /// The duration text after `every`.
        text: String,
        /// The longest interval, written as a duration.
        max: String,
    },

    /// A cron expression without exactly five fields.
    #[error(
        "a cron expression needs 5 fields (minute hour day-of-month month day-of-week); \
         '{expression}' has {found}{}",
        if *found == 6 { " (seconds and years are not supported)" } else { "" }
    )]
    CronFieldCount {
        /// The expression as given.
        expression: String,
        /// How many fields it has.
        found: usize,
    },
    /// An `@name` shortcut that does not exist (or that makes no sense here, like `@reboot`).
    #[error(
        "unknown cron shortcut '{name}'; use @hourly, @daily, @midnight, @weekly, @monthly, \
         @yearly or @annually"
    )]
    CronUnknownShortcut {
        /// The shortcut as written.
        name: String,
    },
    /// A value outside the field's range.
    #[error("the {field} field '{value}' is out of range {min}-{max}")]
    CronOutOfRange {
        /// The field.
        field: CronField,
        /// The value as written.
        value: String,
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
    },
    /// A value that is neither a number nor a known name.
    #[error(
        "the {field} field '{value}' is not valid; a field is a number{}, *, a range (1-5), \
         a step (*/15, 0-30/10) or a list of those (1,15)",
        names_hint(*field)
    )]
    CronBadValue {
        /// The field.
        field: CronField,
        /// The offending part as written.
        value: String,
    },
    /// A range whose end comes before its start.
    #[error("the {field} field range '{value}' goes backwards; write the smaller value first")]
    CronBackwardRange {
        /// The field.
        field: CronField,
        /// The range as written.
        value: String,
    },
    /// A step of zero or a step that is not a number.
    #[error("the {field} field step in '{value}' must be a whole number of at least 1")]
    CronBadStep {
        /// The field.
        field: CronField,
        /// The stepped part as written.
        value: String,
    },
    /// A day of month that no selected month has (`0 0 31 2 *`).
    #[error("'{expression}' never fires: none of its months has the days it names")]
    CronNeverFires {
        /// The expression.
        expression: String,
    },

    /// A time zone that is not in the IANA database.
    #[error(
        "unknown time zone '{name}'{}; use an IANA name such as Europe/Paris, \
         America/New_York or UTC",
        suggestion.as_deref().map(|s| format!(" — did you mean {s}?")).unwrap_or_default()
    )]
    UnknownTimeZone {
        /// The name as given.
        name: String,
        /// The closest known name, when one is close enough to be a likely typo.
        suggestion: Option<String>,
    },
    /// A time zone given both inside the schedule (`TZ=`) and separately, and they differ.
    #[error("two time zones given: '{in_schedule}' in the schedule and '{given}' separately")]
    TimeZoneConflict {
        /// The zone written in the schedule text.
        in_schedule: String,
        /// The zone given separately (e.g. `--timezone`).
        given: String,
    },
    /// A time zone given for a schedule that has no wall-clock times.
    #[error(
        "a time zone only applies to cron schedules; '{schedule}' does not use the clock \
         of any time zone"
    )]
    TimeZoneNotApplicable {
        /// The schedule text.
        schedule: String,
    },

    /// `--retry-attempts` not a whole number from 1 to 20.
    #[error(
        "retry attempts '{value}' must be a whole number from {min} to {max} \
         (the total number of attempts, the first included; 1 means never retry)"
    )]
    RetryAttempts {
        /// The value as given.
        value: String,
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
    },
    /// `--retry-delay` negative or longer than the maximum.
    #[error("retry delay '{value}' must be from 0s to {max}")]
    RetryDelayOutOfRange {
        /// The value as given.
        value: String,
        /// The longest delay, written as a duration.
        max: String,
    },
}

fn names_hint(field: CronField) -> &'static str {
    match field {
        CronField::Month => " or a name (JAN-DEC)",
        CronField::DayOfWeek => " or a name (SUN-SAT)",
        _ => "",
    }
}

impl ScheduleError {
    /// Always `false`: a schedule that is wrong stays wrong. Present so callers can treat every
    /// module error alike.
    pub fn is_retriable(&self) -> bool {
        false
    }
}
