//! The rules Modellix states only in prose, interpreted from data.
//!
//! Each fragment in `spec/` has a rules file beside it (`<model>.rules.json`); the build
//! script checks it against the fragment and turns it into a static list of
//! [`ProseRule`]s, which the generated `validate()` hands to [`apply`]. No model is named
//! here: this file only knows the kinds of rules.

use std::io;

use serde_json::Value;
use url::Url;

use crate::schema::validate::{Checker, Rule};

/// Largest request body Modellix accepts, serialized: 64 MiB. Every generated
/// `validate()` checks it, so an oversized body is refused before it is sent.
///
/// ```
/// assert_eq!(modellix::MAX_REQUEST_BYTES, 64 * 1024 * 1024);
/// ```
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024 * 1024;

/// Whether a broken rule stops the request or only advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The request is refused.
    Error,
    /// The request is sent; the advice comes back as a [`crate::schema::validate::Warning`].
    Warning,
}

/// A limit on one field that a [`ProseRule::Conditional`] applies.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // which kinds are built depends on the rules files in spec/
pub enum Limit {
    /// The value, as JSON text, must be one of these.
    In(&'static [&'static str]),
    /// The number must be at most this.
    Maximum(f64),
    /// The number must be at least this.
    Minimum(f64),
    /// The field must not be sent.
    Absent,
}

/// What a media field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// An http(s) URL with a host.
    Url,
    /// An `oss://` object-storage URL.
    Oss,
    /// A `data:image/<type>;base64,` URI of a real image.
    DataUri,
    /// Bare base64 image data.
    Base64,
}

/// One rule a fragment states in prose, with the fields it is about. A field may hold
/// one string or an array of them; values of the wrong type are left to the schema.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // which kinds are built depends on the rules files in spec/
pub enum ProseRule {
    /// None of `fields` may be sent together with any of `with`.
    NotTogether {
        /// One side.
        fields: &'static [&'static str],
        /// The other side.
        with: &'static [&'static str],
    },
    /// At least one of the fields must be sent.
    AtLeastOneOf(&'static [&'static str]),
    /// Exactly one of the fields must be sent.
    ExactlyOneOf(&'static [&'static str]),
    /// Fields the model documents as unsupported (not in its schema) must not be sent.
    Unsupported(&'static [&'static str]),
    /// Placeholders in a text field, written `prefix label infix n suffix`
    /// (`[Image 1]`, `<<<image_1>>>`), must name an existing item (1-based) of the array
    /// field paired with the label.
    Placeholders {
        /// The text field.
        field: &'static str,
        /// Text before the label.
        prefix: &'static str,
        /// Text between the label and the number.
        infix: &'static str,
        /// Text after the number.
        suffix: &'static str,
        /// `(label, array field)` pairs.
        inputs: &'static [(&'static str, &'static str)],
    },
    /// When `if_field` (or its schema default, when absent) is one of `if_in` (JSON
    /// text), the sent `then_field` must keep `limit`.
    Conditional {
        /// The field the condition reads.
        if_field: &'static str,
        /// Values, as JSON text, that trigger the limit.
        if_in: &'static [&'static str],
        /// The schema default of `if_field`, as JSON text.
        if_default: Option<&'static str>,
        /// The field that is limited.
        then_field: &'static str,
        /// The limit.
        limit: Limit,
        /// What the fragment says, for the message.
        note: &'static str,
        /// Refusal or advice.
        severity: Severity,
    },
    /// The number of values across `fields` (a string counts 1, an array its length).
    Total {
        /// The fields counted together.
        fields: &'static [&'static str],
        /// Fewest values in all.
        min: Option<u64>,
        /// Most values in all.
        max: Option<u64>,
    },
    /// Every value of the fields is one of the media kinds.
    Media {
        /// The media fields.
        fields: &'static [&'static str],
        /// What they may hold.
        kinds: &'static [MediaKind],
    },
    /// `WIDTHxHEIGHT` (with the given separator) or one of the presets, within a range of
    /// pixels per side.
    Dimensions {
        /// The size field.
        field: &'static str,
        /// Named sizes (`2K`).
        presets: &'static [&'static str],
        /// Between width and height (`x`, `*`).
        separator: &'static str,
        /// Smallest side in pixels.
        min_side: Option<u64>,
        /// Largest side in pixels.
        max_side: Option<u64>,
    },
    /// Advice: the text should hold at most `max` words.
    MaxWords {
        /// The text field.
        field: &'static str,
        /// Most words recommended.
        max: usize,
    },
}

/// Applies the request-size limit every model shares, then `rules`.
pub fn apply(rules: &[ProseRule], request: &Value, checker: &mut Checker) {
    let size = serialized_len(request);
    if size > MAX_REQUEST_BYTES {
        prose(
            checker,
            "",
            format!(
                "is {size} bytes as JSON, over Modellix's limit of {MAX_REQUEST_BYTES} bytes; \
                 pass large media as https URLs instead of base64"
            ),
        );
    }
    for rule in rules {
        rule.check(request, checker);
    }
}

fn present(request: &Value, field: &str) -> bool {
    request.get(field).is_some_and(|v| !v.is_null())
}

impl ProseRule {
    fn check(&self, request: &Value, checker: &mut Checker) {
        match *self {
            ProseRule::NotTogether { fields, with } => not_together(request, fields, with, checker),
            ProseRule::AtLeastOneOf(fields) => {
                if !fields.iter().any(|f| present(request, f)) {
                    prose(
                        checker,
                        "",
                        format!("needs at least one of {}: add one", list(fields)),
                    );
                }
            }
            ProseRule::ExactlyOneOf(fields) => {
                let sent: Vec<&str> = fields
                    .iter()
                    .copied()
                    .filter(|f| present(request, f))
                    .collect();
                match sent.as_slice() {
                    [_] => {}
                    [] => prose(
                        checker,
                        "",
                        format!("needs exactly one of {}: add one", list(fields)),
                    ),
                    [_, more @ ..] => {
                        for field in more {
                            prose(
                                checker,
                                &format!("/{field}"),
                                format!(
                                    "cannot be sent with `{}`: send exactly one of {}",
                                    sent[0],
                                    list(fields)
                                ),
                            );
                        }
                    }
                }
            }
            ProseRule::Unsupported(fields) => {
                for field in fields.iter().filter(|f| present(request, f)) {
                    prose(
                        checker,
                        &format!("/{field}"),
                        format!("is not supported by this model: remove `{field}`"),
                    );
                }
            }
            ProseRule::Placeholders {
                field,
                prefix,
                infix,
                suffix,
                inputs,
            } => placeholders(request, field, (prefix, infix, suffix), inputs, checker),
            ProseRule::Conditional {
                if_field,
                if_in,
                if_default,
                then_field,
                limit,
                note,
                severity,
            } => {
                let condition = match request.get(if_field) {
                    Some(v) => Some(v.to_string()),
                    None => if_default.map(str::to_owned),
                };
                if !condition.is_some_and(|c| if_in.contains(&c.as_str())) {
                    return;
                }
                let Some(value) = request.get(then_field) else {
                    return;
                };
                let kept = match limit {
                    Limit::In(values) => values.contains(&value.to_string().as_str()),
                    Limit::Maximum(max) => value.as_f64().is_none_or(|v| v <= max),
                    Limit::Minimum(min) => value.as_f64().is_none_or(|v| v >= min),
                    Limit::Absent => false,
                };
                if kept {
                    return;
                }
                let pointer = format!("/{then_field}");
                let message = format!(
                    "{} when `{if_field}` is {}: {note}",
                    match limit {
                        Limit::In(values) => format!("must be one of {}", values.join(", ")),
                        Limit::Maximum(max) => format!("must be at most {max}"),
                        Limit::Minimum(min) => format!("must be at least {min}"),
                        Limit::Absent => "has no effect".to_owned(),
                    },
                    if_in.join(" or ")
                );
                match severity {
                    Severity::Error => prose(checker, &pointer, message),
                    Severity::Warning => checker.warn(&pointer, message),
                }
            }
            ProseRule::Total { fields, min, max } => {
                let total: u64 = fields
                    .iter()
                    .map(|f| match request.get(f) {
                        Some(Value::Array(items)) => items.len() as u64,
                        Some(Value::Null) | None => 0,
                        Some(_) => 1,
                    })
                    .sum();
                let low = min.is_some_and(|m| total < m);
                let high = max.is_some_and(|m| total > m);
                if low || high {
                    let range = match (min, max) {
                        (Some(a), Some(b)) => format!("{a} to {b}"),
                        (Some(a), None) => format!("at least {a}"),
                        (None, Some(b)) => format!("at most {b}"),
                        (None, None) => String::new(),
                    };
                    prose(
                        checker,
                        "",
                        format!(
                            "has {total} item(s) across {}, which must hold {range} in all: \
                             {} some",
                            list(fields),
                            if low { "add" } else { "remove" }
                        ),
                    );
                }
            }
            ProseRule::Media { fields, kinds } => {
                for (pointer, value) in strings(request, fields) {
                    media(&pointer, value, kinds, checker);
                }
            }
            ProseRule::Dimensions {
                field,
                presets,
                separator,
                min_side,
                max_side,
            } => {
                let Some(value) = request.get(field).and_then(Value::as_str) else {
                    return;
                };
                if presets.contains(&value) {
                    return;
                }
                let sides = value
                    .split_once(separator)
                    .and_then(|(w, h)| Some((w.parse::<u64>().ok()?, h.parse::<u64>().ok()?)));
                let fits =
                    |n: u64| min_side.is_none_or(|m| n >= m) && max_side.is_none_or(|m| n <= m);
                if !sides.is_some_and(|(w, h)| fits(w) && fits(h)) {
                    let range = match (min_side, max_side) {
                        (Some(a), Some(b)) => format!(", each side {a} to {b} pixels"),
                        _ => String::new(),
                    };
                    let presets = if presets.is_empty() {
                        String::new()
                    } else {
                        format!(" or one of {}", presets.join(", "))
                    };
                    prose(
                        checker,
                        &format!("/{field}"),
                        format!(
                            "must be WIDTH{separator}HEIGHT{range}{presets} (found {})",
                            excerpt(value)
                        ),
                    );
                }
            }
            ProseRule::MaxWords { field, max } => {
                let text = request.get(field).and_then(Value::as_str).unwrap_or("");
                let words = text.split_whitespace().count();
                if words > max {
                    checker.warn(
                        &format!("/{field}"),
                        format!(
                            "has {words} words; Modellix recommends at most {max}, as the \
                             model drops details of longer prompts: shorten it"
                        ),
                    );
                }
            }
        }
    }
}

fn list(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn prose(checker: &mut Checker, pointer: &str, message: String) {
    checker.violation(pointer, Rule::Prose { message });
}

/// The non-empty strings in `fields`, with their pointers (`/f` or `/f/i`).
fn strings<'v>(
    request: &'v Value,
    fields: &'static [&'static str],
) -> impl Iterator<Item = (String, &'v str)> {
    fields.iter().flat_map(move |field| {
        let (one, many) = match request.get(field) {
            Some(Value::String(s)) => (Some((format!("/{field}"), s.as_str())), None),
            Some(Value::Array(items)) => (None, Some(items)),
            _ => (None, None),
        };
        let items = many
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(move |(i, item)| item.as_str().map(|s| (format!("/{field}/{i}"), s)));
        one.into_iter().chain(items).filter(|(_, s)| !s.is_empty())
    })
}

fn not_together(request: &Value, fields: &[&str], with: &[&str], checker: &mut Checker) {
    for with in with.iter().filter(|w| present(request, w)) {
        for field in fields.iter().filter(|f| present(request, f)) {
            prose(
                checker,
                &format!("/{field}"),
                format!(
                    "cannot be sent together with `{with}`: remove `{field}` or remove `{with}`"
                ),
            );
        }
    }
}

fn placeholders(
    request: &Value,
    field: &str,
    syntax: (&str, &str, &str),
    inputs: &[(&str, &str)],
    checker: &mut Checker,
) {
    let Some(text) = request.get(field).and_then(Value::as_str) else {
        return;
    };
    let mut reported: Vec<&str> = Vec::new();
    for (placeholder, label, n) in find_placeholders(text, syntax, inputs.iter().map(|(l, _)| *l)) {
        let Some((_, input)) = inputs.iter().find(|(l, _)| *l == label) else {
            continue;
        };
        let count = request
            .get(input)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if (1..=count as u64).contains(&n) || reported.contains(&placeholder) {
            continue;
        }
        reported.push(placeholder);
        prose(
            checker,
            &format!("/{field}"),
            format!(
                "mentions `{placeholder}`, but `{input}` has {count} item(s); placeholders \
                 count from 1: add the input or fix the placeholder"
            ),
        );
    }
}

/// `prefix label infix n suffix` placeholders in `text`: the placeholder, its label and
/// its number (a number too large for `u64` is `u64::MAX`, which no input can match).
fn find_placeholders<'t, 'l>(
    text: &'t str,
    (prefix, infix, suffix): (&'t str, &'t str, &'t str),
    labels: impl Iterator<Item = &'l str> + Clone + 't,
) -> impl Iterator<Item = (&'t str, &'l str, u64)> {
    text.match_indices(prefix).filter_map(move |(start, _)| {
        let rest = &text[start + prefix.len()..];
        labels.clone().find_map(|label| {
            let digits = rest.strip_prefix(label)?.strip_prefix(infix)?;
            let len = digits.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 || !digits[len..].starts_with(suffix) {
                return None;
            }
            let n = digits[..len].parse().unwrap_or(u64::MAX);
            let end = start + prefix.len() + label.len() + infix.len() + len + suffix.len();
            Some((&text[start..end], label, n))
        })
    })
}

/// Checks one media value against the kinds its field accepts.
fn media(pointer: &str, value: &str, kinds: &[MediaKind], checker: &mut Checker) {
    let web =
        starts_with_ignore_case(value, "http://") || starts_with_ignore_case(value, "https://");
    if web && kinds.contains(&MediaKind::Url) {
        return media_url(pointer, value, checker);
    }
    if kinds.contains(&MediaKind::Oss)
        && let Some(key) = value.strip_prefix("oss://")
    {
        if key.is_empty() || key.contains(char::is_whitespace) {
            prose(
                checker,
                pointer,
                format!("must be an oss://bucket/key URL (found {})", excerpt(value)),
            );
        }
        return;
    }
    let data_uri = kinds.contains(&MediaKind::DataUri);
    let base64 = kinds.contains(&MediaKind::Base64);
    let is_data = starts_with_ignore_case(value, "data:");
    if (data_uri && is_data) || (base64 && !is_data) {
        return image(pointer, value, checker);
    }
    if kinds == [MediaKind::Url] {
        return media_url(pointer, value, checker);
    }
    let names: Vec<&str> = kinds
        .iter()
        .map(|k| match k {
            MediaKind::Url => "an http(s) URL",
            MediaKind::Oss => "an oss:// URL",
            MediaKind::DataUri => "a data:image/…;base64, URI",
            MediaKind::Base64 => "base64 image data",
        })
        .collect();
    prose(
        checker,
        pointer,
        format!("must be {} (found {})", names.join(" or "), excerpt(value)),
    );
}

/// Checks an http(s) URL with a host; warns about plain http.
fn media_url(pointer: &str, value: &str, checker: &mut Checker) {
    // Stricter than the URL standard, which would repair `https:/x`, `https:///x` or
    // surrounding spaces into some other URL than the one a server sees.
    let plain = starts_with_ignore_case(value, "http://");
    let literal = (plain || starts_with_ignore_case(value, "https://"))
        && !value[value.find("//").unwrap_or(0) + 2..].starts_with(['/', '\\'])
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    let host = Url::parse(value)
        .ok()
        .filter(|url| url.host_str().is_some());
    if !literal || host.is_none() {
        return prose(
            checker,
            pointer,
            format!(
                "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
                 (found {})",
                excerpt(value)
            ),
        );
    }
    if plain {
        checker.warn(
            pointer,
            "is a plain http URL: the media travels unencrypted and may be altered on the \
             way; use https if the host supports it",
        );
    }
}

fn starts_with_ignore_case(value: &str, prefix: &str) -> bool {
    value
        .as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Checks an image field: an http(s) URL, a `data:image/…;base64,` URI or bare base64
/// that decodes to a known image format.
fn image(pointer: &str, value: &str, checker: &mut Checker) {
    if starts_with_ignore_case(value, "http://") || starts_with_ignore_case(value, "https://") {
        return media_url(pointer, value, checker);
    }
    let payload = if starts_with_ignore_case(value, "data:") {
        match value.split_once(',') {
            Some((header, payload))
                if starts_with_ignore_case(header, "data:image/")
                    && header.len() > "data:image/;base64".len()
                    && header.to_ascii_lowercase().ends_with(";base64") =>
            {
                payload
            }
            _ => {
                return prose(
                    checker,
                    pointer,
                    "is a data: URI but not `data:image/<type>;base64,<data>`: encode the \
                     image with modellix::Image or pass an https URL"
                        .to_owned(),
                );
            }
        }
    } else {
        value
    };
    if let Err(problem) = crate::media::image::check_base64_image(payload) {
        prose(
            checker,
            pointer,
            format!(
                "must be an http(s) URL or base64 image data, but {problem} (found {}); \
                 encode local files with modellix::Image",
                excerpt(value)
            ),
        );
    }
}

/// The start of a value for a message: values can be megabytes of base64.
fn excerpt(value: &str) -> String {
    const MAX: usize = 40;
    match value.char_indices().nth(MAX) {
        Some((end, _)) => format!("`{}…`", &value[..end]),
        None => format!("`{value}`"),
    }
}

/// Serialized size of `value`, counted without building the JSON text.
pub(crate) fn serialized_len(value: &Value) -> u64 {
    struct Count(u64);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}
