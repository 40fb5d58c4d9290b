//! RFC 3339 timestamps, the form of the metrics API's `start`, `end` and sample times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ObserveError;

/// Parses an RFC 3339 / ISO 8601 date-time such as `2023-06-06T12:09:18.211Z`.
///
/// Also accepted, because Run:ai's own examples use them: a space instead of the `T`, and no
/// zone at all (read as UTC). A numeric offset such as `+02:00` is applied. Times before
/// 1970 are refused: no metric sample is that old.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use runai_serve::observe::parse_timestamp;
///
/// let at = parse_timestamp("2023-06-06T12:09:18.211Z")?;
/// assert_eq!(at, UNIX_EPOCH + Duration::from_millis(1_686_053_358_211));
/// assert_eq!(parse_timestamp("2023-06-06T14:09:18.211+02:00")?, at);
/// # Ok::<(), runai_serve::observe::ObserveError>(())
/// ```
pub fn parse_timestamp(text: &str) -> Result<SystemTime, ObserveError> {
    parse(text.trim()).ok_or_else(|| ObserveError::InvalidTimestamp {
        value: text.to_owned(),
    })
}

/// `at` as RFC 3339 UTC with milliseconds (`2023-06-06T12:09:18.211Z`); times before 1970
/// print as the epoch.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use runai_serve::observe::format_timestamp;
///
/// let at = UNIX_EPOCH + Duration::from_millis(1_686_053_358_211);
/// assert_eq!(format_timestamp(at), "2023-06-06T12:09:18.211Z");
/// ```
pub fn format_timestamp(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::store::rfc3339(since.as_secs(), since.subsec_millis())
}

fn parse(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let digits = |from: usize, to: usize| -> Option<u64> {
        let part = text.get(from..to)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        // 60 is a leap second; it reads as the next second's start.
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0_u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return None;
        }
        // Digits past nanoseconds cannot change the result.
        let kept = &fraction[..end.min(9)];
        nanos = kept.parse::<u32>().ok()? * 10_u32.pow(9 - kept.len() as u32);
        rest = &fraction[end..];
    }
    let offset_seconds: i64 = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &rest[1..];
            if zone.len() != 5 || zone.as_bytes()[2] != b':' {
                return None;
            }
            let hours: i64 = zone[..2].parse().ok()?;
            let minutes: i64 = zone[3..].parse().ok()?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour * 3600 + minute * 60 + second;
    let utc = i64::try_from(local).ok()? - offset_seconds;
    let utc = u64::try_from(utc).ok()?;
    Some(UNIX_EPOCH + Duration::new(utc, nanos))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm, the
/// inverse of the one `store::rfc3339` uses); valid for years from 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_inverts_parsing() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "2000-02-29T23:59:59.999Z",
            "2026-11-26T00:00:00.042Z",
            "2100-03-01T12:00:00.000Z",
        ] {
            assert_eq!(format_timestamp(parse_timestamp(text).unwrap()), text);
        }
    }

    #[test]
    fn the_spec_example_forms_are_accepted() {
        let utc = parse_timestamp("2023-06-06T12:09:18.211Z").unwrap();
        assert_eq!(parse_timestamp("2023-06-06 12:09:18.211").unwrap(), utc);
        assert_eq!(parse_timestamp("2023-06-06T10:09:18.211-02:00").unwrap(), utc);
        assert_eq!(parse_timestamp("2023-06-06T12:09:18.211000000123Z").unwrap(), utc);
    }

    #[test]
    fn malformed_timestamps_are_refused_without_panicking() {
        for text in [
            "",
            "2023-06-06",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-06-06T24:00:00Z",
            "2023-06-06T12:09:18.Z",
            "2023-06-06T12:09:18+2:00",
            "2023-06-06T12:09:18Q",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+01:00",
            "２０２３-06-06T12:09:18Z",
            "+023-06-06T12:09:18Z",
        ] {
            assert!(
                matches!(parse_timestamp(text), Err(ObserveError::InvalidTimestamp { .. })),
                "{text}"
            );
        }
    }
}
