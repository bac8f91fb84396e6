//! Time zone names: IANA names through `chrono-tz`, whose zone database is compiled into the
//! binary (no system tzdata and no download at build or run time).

use chrono_tz::{TZ_VARIANTS, Tz};

use super::ScheduleError;

/// The time zone used when none is given.
pub const DEFAULT_TIMEZONE: Tz = Tz::UTC;

/// A suggestion further than this many single-letter edits away is more likely noise than the
/// name that was meant.
const MAX_SUGGESTION_DISTANCE: usize = 3;

/// Looks up an IANA time zone name (`Europe/Paris`, `America/New_York`, `UTC`).
///
/// Letter case is forgiven (`europe/paris` is `Europe/Paris`), and so are spaces for
/// underscores (`America/New York`). An unknown name gets the closest known one as a suggestion
/// when there is a likely one: the same city under another area, or a name a few typos away.
///
/// ```
/// use writeback::schedule::parse_timezone;
/// assert_eq!(parse_timezone("europe/paris").unwrap().name(), "Europe/Paris");
/// let error = parse_timezone("Europe/Pariss").unwrap_err().to_string();
/// assert!(error.contains("did you mean Europe/Paris?"), "{error}");
/// ```
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    let name = name.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let wanted = name.replace(' ', "_");
    if let Some(tz) = TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(&wanted))
    {
        return Ok(*tz);
    }
    Err(ScheduleError::UnknownTimeZone {
        name: name.to_owned(),
        suggestion: closest(&wanted).map(str::to_owned),
    })
}

/// The known name most likely meant by `wanted`, if any is close.
fn closest(wanted: &str) -> Option<&'static str> {
    if wanted.is_empty() {
        return None;
    }
    let wanted = wanted.to_ascii_lowercase();
    // A bare city ("paris") or a city under the wrong area ("Asia/Paris").
    let city = wanted.rsplit('/').next().unwrap_or(&wanted);
    if let Some(tz) = TZ_VARIANTS.iter().find(|tz| {
        let lower = tz.name().to_ascii_lowercase();
        lower.rsplit('/').next() == Some(city) && lower.contains('/')
    }) {
        return Some(tz.name());
    }
    TZ_VARIANTS
        .iter()
        .map(|tz| {
            let distance = strsim::levenshtein(&wanted, &tz.name().to_ascii_lowercase());
            (distance, tz.name())
        })
        .filter(|(distance, _)| *distance <= MAX_SUGGESTION_DISTANCE)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iana_names() {
        let cases: &[(&str, &str, &str)] = &[
            ("UTC", "UTC", "the default"),
            ("Europe/Paris", "Europe/Paris", "exact"),
            ("europe/paris", "Europe/Paris", "case is forgiven"),
            (
                "America/New York",
                "America/New_York",
                "space for underscore",
            ),
            (" Asia/Tokyo ", "Asia/Tokyo", "surrounding space"),
            (
                "Australia/Lord_Howe",
                "Australia/Lord_Howe",
                "half-hour DST zone",
            ),
        ];
        for (name, canonical, why) in cases {
            let tz = parse_timezone(name).unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!(tz.name(), *canonical, "{why}");
        }
    }

    #[test]
    fn rejects_unknown_names_with_a_suggestion_when_one_is_close() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("Europe/Pariss", Some("Europe/Paris"), "one letter too many"),
            (
                "Amrica/New_York",
                Some("America/New_York"),
                "one letter missing",
            ),
            ("Paris", Some("Europe/Paris"), "bare city"),
            (
                "Asia/Berlin",
                Some("Europe/Berlin"),
                "city under the wrong area",
            ),
            ("Mars/Olympus_Mons", None, "nothing close"),
            ("", None, "empty"),
        ];
        for (name, suggestion, why) in cases {
            match parse_timezone(name) {
                Err(ScheduleError::UnknownTimeZone {
                    suggestion: got, ..
                }) => assert_eq!(got.as_deref(), *suggestion, "{why}"),
                other => panic!("{why}: expected UnknownTimeZone, got {other:?}"),
            }
        }
        let message = parse_timezone("Europe/Pariss").unwrap_err().to_string();
        assert!(
            message.contains("unknown time zone 'Europe/Pariss' — did you mean Europe/Paris?"),
            "{message}"
        );
    }
}
