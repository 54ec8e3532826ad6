//! The provenance table of spec/README.md: one row per vendored fragment.

use std::path::Path;

/// Heading of the table's section.
const SECTION: &str = "## Where each fragment comes from";

/// What [`upsert_row`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum RowChange {
    Added,
    Replaced,
}

/// The row of a fragment fetched from `url` on `date`.
pub fn row(file: &str, model_id: &str, kind: &str, url: &str, date: &str) -> String {
    format!(
        "| `{file}` | `{model_id}` | {kind} | fetched from <{url}> by `cargo xtask fetch`, \
         vendored unchanged (byte for byte) | {date} |"
    )
}

/// Adds the row of `file` to the table in `readme`, or replaces its row (keeping the kind
/// column of the old row). Rows stay sorted by file name; `modellix/` rows stay last.
pub fn upsert_row(
    readme: &Path,
    file: &str,
    make_row: impl Fn(Option<&str>) -> String,
) -> Result<RowChange, String> {
    let text = std::fs::read_to_string(readme).map_err(|e| format!("{}: {e}", readme.display()))?;
    let (updated, change) = upsert_in(&text, file, make_row).ok_or_else(|| {
        format!(
            "{}: no table under {SECTION:?}: add the row by hand",
            readme.display()
        )
    })?;
    std::fs::write(readme, updated).map_err(|e| format!("{}: {e}", readme.display()))?;
    Ok(change)
}

/// The file cell of a table row, if `line` is one.
fn row_file(line: &str) -> Option<&str> {
    line.strip_prefix("| `")?.split('`').next()
}

/// The kind cell (third column) of a row.
fn row_kind(line: &str) -> Option<&str> {
    line.split('|').nth(3).map(str::trim)
}

fn upsert_in(
    text: &str,
    file: &str,
    make_row: impl Fn(Option<&str>) -> String,
) -> Option<(String, RowChange)> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let start = lines.iter().position(|l| l.trim() == SECTION)?;
    let rows: Vec<usize> = (start..lines.len())
        .skip_while(|&i| row_file(&lines[i]).is_none())
        .take_while(|&i| row_file(&lines[i]).is_some())
        .collect();
    let first = *rows.first()?;
    let change = match rows.iter().find(|&&i| row_file(&lines[i]) == Some(file)) {
        Some(&i) => {
            let kind = row_kind(&lines[i]).map(str::to_owned);
            lines[i] = make_row(kind.as_deref());
            RowChange::Replaced
        }
        None => {
            let after = rows
                .iter()
                .rfind(|&&i| {
                    row_file(&lines[i]).is_some_and(|f| !f.starts_with("modellix/") && f < file)
                })
                .map_or(first, |&i| i + 1);
            lines.insert(after, make_row(None));
            RowChange::Added
        }
    };
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Some((out, change))
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    date_of_day((secs / 86_400) as i64)
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn date_of_day(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "# x\n\n## Where each fragment comes from\n\n| file | model id | kind | source | taken |\n|---|---|---|---|---|\n| `a/one.json` | `a/one` | image | old | 2026-01-01 |\n| `c/three.json` | `c/three` | video | old | 2026-01-01 |\n| `modellix/tasks.json` | (none) | | ours | 2026-01-01 |\n\n## Next\n";

    fn make(kind: Option<&str>) -> String {
        format!(
            "| `b/two.json` | `b/two` | {} | new | 2026-02-02 |",
            kind.unwrap_or("guess")
        )
    }

    #[test]
    fn rows_are_added_in_order_and_replaced_in_place() {
        let (text, change) = upsert_in(README, "b/two.json", make).unwrap();
        assert_eq!(change, RowChange::Added);
        let rows: Vec<&str> = text.lines().filter_map(row_file).collect();
        assert_eq!(
            rows,
            [
                "a/one.json",
                "b/two.json",
                "c/three.json",
                "modellix/tasks.json"
            ]
        );
        assert!(text.ends_with("## Next\n"));

        let replace = |kind: Option<&str>| {
            format!(
                "| `c/three.json` | `c/three` | {} | new | 2026-02-02 |",
                kind.unwrap_or("?")
            )
        };
        let (again, change) = upsert_in(&text, "c/three.json", replace).unwrap();
        assert_eq!(change, RowChange::Replaced);
        assert!(again.contains("| `c/three.json` | `c/three` | video | new | 2026-02-02 |"));
        assert!(!again.contains("| `c/three.json` | `c/three` | video | old"));
        assert_eq!(again.lines().count(), text.lines().count());

        let (last, _) = upsert_in(README, "z/last.json", make).unwrap();
        let rows: Vec<&str> = last.lines().filter_map(row_file).collect();
        assert_eq!(rows[3], "modellix/tasks.json");
        assert!(upsert_in("# no table\n", "b/two.json", make).is_none());
    }

    #[test]
    fn dates_are_civil_utc() {
        let cases = [
            (0, "1970-01-01"),
            (20_454, "2026-01-01"),
            (20_784, "2026-11-27"),
            (11_016, "2000-02-29"),
        ];
        for (days, want) in cases {
            assert_eq!(date_of_day(days), want, "{days}");
        }
    }
}
