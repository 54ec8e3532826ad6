//! Time helpers: RFC 3339 for everything this crate serializes
//! (`2026-11-27T19:12:02.123Z`), and deadlines that cannot overflow.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// `time` as RFC 3339 in UTC, nanosecond precision, so a record reads back equal.
///
/// RFC 3339 covers 1970 to 9999 here (humantime panics outside it); a time from a
/// hostile answer or a damaged ledger is clamped into that range instead.
pub(crate) fn format_rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_nanos(clamp_rfc3339(time)).to_string()
}

/// `time` moved into the range RFC 3339 timestamps can show (1970 to 9999).
pub(crate) fn clamp_rfc3339(time: SystemTime) -> SystemTime {
    // 9999-12-31T23:59:59Z, the last second humantime formats.
    const LAST: Duration = Duration::from_secs(253_402_300_799);
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Err(_) => SystemTime::UNIX_EPOCH,
        Ok(since) if since > LAST => SystemTime::UNIX_EPOCH + LAST,
        Ok(_) => time,
    }
}

/// Serde glue: `#[serde(with = "crate::time::rfc3339")]` on a `SystemTime`.
pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*time))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde glue for `Option<SystemTime>`.
pub(crate) mod rfc3339_option {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::rfc3339::serialize(time, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => humantime::parse_rfc3339_weak(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// `Duration::MAX` means "never": instants are capped instead of overflowing.
pub(crate) fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .unwrap_or_else(|| at + Duration::from_secs(30 * 365 * 24 * 3600))
}

/// [`later`] from now.
pub(crate) fn after(d: Duration) -> Instant {
    later(Instant::now(), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_rfc3339_are_clamped_not_panicking() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(format_rfc3339(far), "9999-12-31T23:59:59.000000000Z");
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(format_rfc3339(before), "1970-01-01T00:00:00.000000000Z");
    }
}
