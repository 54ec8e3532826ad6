//! The string `format`s a fragment may name (JSON Schema's `format` keyword), checked by
//! every generated `validate()`. The build refuses any other format, so none is skipped.

use url::Url;

/// True when `value` is in `format`: `uri` (absolute, with a scheme), `email`, `uuid`,
/// `date` (`YYYY-MM-DD`) or `date-time` (RFC 3339). Unknown formats match anything; the
/// build script only emits the known ones.
pub(crate) fn matches(format: &str, value: &str) -> bool {
    match format {
        "uri" => !value.contains(char::is_whitespace) && Url::parse(value).is_ok(),
        "email" => email(value),
        "uuid" => uuid(value),
        "date" => date(value),
        "date-time" => date_time(value),
        _ => true,
    }
}

fn email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn digits(value: &str) -> Option<u32> {
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse().ok())
        .flatten()
}

fn date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (digits(y), digits(m), digits(d)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y.len() == 4 && m.len() == 2 && d.len() == 2 && (1..=days).contains(&day)
}

fn date_time(value: &str) -> bool {
    let Some((day, time)) = value.split_once(['T', 't']) else {
        return false;
    };
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, "00:00")
    } else {
        match time.rfind(['+', '-']) {
            Some(at) => (&time[..at], &time[at + 1..]),
            None => return false,
        }
    };
    let clock = clock.split_once('.').map_or(clock, |(whole, fraction)| {
        if digits(fraction).is_some() {
            whole
        } else {
            ""
        }
    });
    let hms = |text: &str, parts: usize, hour_max: u32| {
        let fields: Vec<&str> = text.split(':').collect();
        fields.len() == parts
            && fields.iter().all(|f| f.len() == 2)
            && fields
                .iter()
                .zip([hour_max, 59, 60])
                .all(|(f, max)| digits(f).is_some_and(|n| n <= max))
    };
    date(day) && hms(clock, 3, 23) && hms(offset, 2, 23)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn formats() {
        let cases = [
            ("uri", "https://example.com/a.png", true),
            ("uri", "oss://bucket/key", true),
            ("uri", "example.com/a.png", false),
            ("uri", "https://exa mple.com", false),
            ("email", "a@b.c", true),
            ("email", "a.b.c", false),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", true),
            ("uuid", "123e4567-e89b-12d3-a456", false),
            ("date", "2026-02-29", false),
            ("date", "2028-02-29", true),
            ("date-time", "2026-11-27T19:15:00Z", true),
            ("date-time", "2026-11-27T19:15:00.25+01:00", true),
            ("date-time", "2026-11-27 19:15:00Z", false),
            ("date-time", "2026-11-27T25:15:00Z", false),
        ];
        for (format, value, want) in cases {
            assert_eq!(matches(format, value), want, "{format} {value}");
        }
    }
}
