//! The one duration syntax shared by `every <duration>` and `--retry-delay`: whole numbers with
//! the units `s`, `m`, `h`, `d`, largest first (`45s`, `15m`, `1h30m`, `2d`).
//!
//! Fractions are refused rather than rounded (`1.5h` → "use 1h30m"), so a duration always means
//! exactly what it says and the shortest one is one second.

use std::time::Duration;

use super::ScheduleError;

/// Seconds in each unit, largest first; the order is also the order units must be written in.
const UNITS: [(char, u64, &str); 4] = [
    ('d', 86_400, "day"),
    ('h', 3_600, "hour"),
    ('m', 60, "minute"),
    ('s', 1, "second"),
];

/// A parsed duration before the caller's own limits are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SignedSeconds {
    /// The text started with `-`.
    pub negative: bool,
    /// The magnitude in whole seconds.
    pub seconds: u64,
}

/// Parses `text` (`45s`, `15m`, `1h30m`, `1h 30m`, `2d`; long unit names such as `15 minutes`
/// are accepted too) into a sign and a number of seconds; the caller decides which are allowed.
pub(super) fn parse_signed(text: &str) -> Result<SignedSeconds, ScheduleError> {
    let trimmed = text.trim();
    let syntax = || ScheduleError::DurationSyntax {
        text: trimmed.to_owned(),
    };
    let (negative, body) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let mut rest = body.trim_start();
    if rest.is_empty() {
        return Err(syntax());
    }
    let mut seconds: u64 = 0;
    // Index into UNITS of the last unit seen; the next must be strictly smaller.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(syntax());
        }
        let number = &rest[..digits_end];
        rest = &rest[digits_end..];
        if rest.starts_with(['.', ',']) {
            return Err(ScheduleError::DurationFraction {
                text: trimmed.to_owned(),
            });
        }
        rest = rest.trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = rest[unit_end..].trim_start();
        if unit.is_empty() {
            return Err(ScheduleError::DurationMissingUnit {
                text: trimmed.to_owned(),
                number: number.to_owned(),
            });
        }
        let index = unit_index(unit).ok_or_else(|| ScheduleError::DurationUnknownUnit {
            text: trimmed.to_owned(),
            unit: unit.to_owned(),
        })?;
        if last_unit.is_some_and(|last| index <= last) {
            return Err(ScheduleError::DurationUnitOrder {
                text: trimmed.to_owned(),
            });
        }
        last_unit = Some(index);
        let overflow = || ScheduleError::DurationOverflow {
            text: trimmed.to_owned(),
        };
        let value: u64 = number.parse().map_err(|_| overflow())?;
        seconds = value
            .checked_mul(UNITS[index].1)
            .and_then(|part| seconds.checked_add(part))
            .ok_or_else(overflow)?;
    }
    Ok(SignedSeconds { negative, seconds })
}

/// Which of [`UNITS`] a unit word means: the letter itself, or the English word, singular or
/// plural, with the usual abbreviations (`sec`, `min`, `hr`).
fn unit_index(unit: &str) -> Option<usize> {
    let letter = match unit {
        "d" | "day" | "days" => 'd',
        "h" | "hr" | "hrs" | "hour" | "hours" => 'h',
        "m" | "min" | "mins" | "minute" | "minutes" => 'm',
        "s" | "sec" | "secs" | "second" | "seconds" => 's',
        _ => return None,
    };
    UNITS.iter().position(|(c, _, _)| *c == letter)
}

/// Parses a non-negative duration (`0s`, `30s`, `5m`, `1h30m`) as used by `--retry-delay`.
///
/// Only the syntax is checked here; limits belong to the caller.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(writeback::schedule::parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert!(writeback::schedule::parse_duration("1.5h").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ScheduleError> {
    let parsed = parse_signed(text)?;
    if parsed.negative && parsed.seconds > 0 {
        return Err(ScheduleError::DurationSyntax {
            text: text.trim().to_owned(),
        });
    }
    Ok(Duration::from_secs(parsed.seconds))
}

/// Writes a duration in the canonical form [`parse_duration`] reads back: largest unit first,
/// zero parts left out (`1h30m`, `2d`, `45s`; zero is `0s`). Sub-second parts are dropped.
pub fn format_duration(duration: Duration) -> String {
    let mut seconds = duration.as_secs();
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (letter, size, _) in UNITS {
        let count = seconds / size;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push(letter);
            seconds %= size;
        }
    }
    out
}

/// Writes a duration for people: `15 minutes`, `1 hour 30 minutes`, `2 days`.
pub(super) fn describe_duration(duration: Duration) -> String {
    let mut seconds = duration.as_secs();
    if seconds == 0 {
        return "0 seconds".to_owned();
    }
    let mut parts = Vec::new();
    for (_, size, word) in UNITS {
        let count = seconds / size;
        if count > 0 {
            let plural = if count == 1 { "" } else { "s" };
            parts.push(format!("{count} {word}{plural}"));
            seconds %= size;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_durations() {
        let cases: &[(&str, u64, &str)] = &[
            ("45s", 45, "seconds"),
            ("15m", 900, "minutes"),
            ("1h", 3600, "hours"),
            ("2d", 172_800, "days"),
            ("1h30m", 5400, "two units"),
            ("1d2h3m4s", 93_784, "all units"),
            ("1h 30m", 5400, "space between parts"),
            ("  5m  ", 300, "surrounding space"),
            ("15 minutes", 900, "long unit name"),
            ("1 hour 30 mins", 5400, "long names, two parts"),
            ("0s", 0, "zero is syntactically fine"),
            ("90m", 5400, "more than 60 minutes is fine"),
        ];
        for (text, seconds, why) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(*seconds)),
                "{why}: {text}"
            );
        }
    }

    #[test]
    fn rejects_invalid_durations_with_a_reason() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "is not a duration", "empty"),
            ("15", "needs a unit: s, m, h or d (e.g. 15m)", "bare number"),
            ("1h30", "needs a unit", "last part without unit"),
            ("2w", "unknown unit 'w'", "weeks are not a unit"),
            (
                "5M",
                "unknown unit 'M'",
                "units are lowercase (M could mean months)",
            ),
            ("1.5h", "has a fraction", "decimal"),
            ("0.5s", "has a fraction", "sub-second"),
            ("30m1h", "largest to smallest", "wrong order"),
            ("1h1h", "largest to smallest", "repeated unit"),
            ("m", "is not a duration", "unit without number"),
            ("abc", "is not a duration", "word"),
            ("-5m", "is not a duration", "negative retry delay"),
            ("99999999999999999999d", "far too long", "overflow"),
            ("5m!", "is not a duration", "trailing junk"),
        ];
        for (text, fragment, why) in cases {
            let message = parse_duration(text).expect_err(why).to_string();
            assert!(
                message.contains(fragment),
                "{why}: '{text}' gave '{message}', expected '{fragment}'"
            );
        }
    }

    #[test]
    fn formats_canonically_and_round_trips() {
        let cases: &[(u64, &str, &str)] = &[
            (0, "0s", "zero"),
            (45, "45s", "seconds"),
            (900, "15m", "minutes"),
            (5400, "1h30m", "hours and minutes"),
            (86_400, "1d", "a day"),
            (93_784, "1d2h3m4s", "every unit"),
        ];
        for (seconds, text, why) in cases {
            let duration = Duration::from_secs(*seconds);
            assert_eq!(format_duration(duration), *text, "{why}");
            assert_eq!(parse_duration(text), Ok(duration), "{why}: round trip");
        }
    }

    #[test]
    fn describes_for_people() {
        let cases: &[(u64, &str)] = &[
            (1, "1 second"),
            (900, "15 minutes"),
            (5400, "1 hour 30 minutes"),
            (172_800, "2 days"),
        ];
        for (seconds, text) in cases {
            assert_eq!(describe_duration(Duration::from_secs(*seconds)), *text);
        }
    }
}
