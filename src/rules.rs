//! The rules Modellix states only in prose, per endpoint.
//!
//! [`ENDPOINTS`] is the one place to read or extend: a model-id prefix and the rules
//! for every model it matches. The rules are data (field names and limits), so a new
//! model's rules are a few lines, and the Seedance family shares one list.

use std::io;

use serde_json::Value;
use url::Url;

use crate::validate::{Checker, Rule};

/// Largest request body Modellix accepts, serialized: 64 MiB. Every generated
/// `validate()` checks it, so an oversized body is refused before it is sent.
///
/// ```
/// assert_eq!(modellix::MAX_REQUEST_BYTES, 64 * 1024 * 1024);
/// ```
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024 * 1024;

/// Prose rules by model-id prefix; every matching entry applies, in order.
const ENDPOINTS: &[(&str, &[ProseRule])] = &[("", EVERY_MODEL), ("bytedance/seedance-", SEEDANCE)];

const EVERY_MODEL: &[ProseRule] = &[ProseRule::MaxBytes(MAX_REQUEST_BYTES)];

/// Every Seedance fragment (2.0 V2V and I2V, the fast variants, 1.5 Pro) uses these
/// field names and states these rules.
const SEEDANCE: &[ProseRule] = &[
    ProseRule::NotTogether {
        fields: &["first_frame_image", "last_frame_image"],
        with: "reference_images",
    },
    ProseRule::Placeholders {
        prompt: "prompt",
        inputs: &[
            ("Video", "video_urls"),
            ("Image", "reference_images"),
            ("Audio", "audio_urls"),
        ],
    },
    ProseRule::MediaUrls {
        fields: &["video_urls", "audio_urls"],
    },
    ProseRule::Images {
        fields: &["first_frame_image", "last_frame_image", "reference_images"],
    },
    ProseRule::MaxWords {
        field: "prompt",
        max: 1000,
    },
];

/// One kind of prose rule, with the fields it is about. A field may hold one string or
/// an array of them; values of the wrong type are left to the schema checks.
enum ProseRule {
    /// None of `fields` may be sent together with `with`.
    NotTogether {
        fields: &'static [&'static str],
        with: &'static str,
    },
    /// `[Label n]` in the `prompt` field must name an existing item (1-based) of the
    /// array field paired with `Label`.
    Placeholders {
        prompt: &'static str,
        inputs: &'static [(&'static str, &'static str)],
    },
    /// Each value is an http(s) URL with a host.
    MediaUrls { fields: &'static [&'static str] },
    /// Each value is an http(s) URL or base64 image data (`data:` URI or bare).
    Images { fields: &'static [&'static str] },
    /// Advice: the field should hold at most `max` words.
    MaxWords { field: &'static str, max: usize },
    /// The whole request serializes to at most this many bytes.
    MaxBytes(u64),
}

/// Applies the prose rules of `model_id` to a request body.
pub(crate) fn apply(model_id: &str, request: &Value, checker: &mut Checker) {
    let rules = ENDPOINTS
        .iter()
        .filter(|(prefix, _)| model_id.starts_with(prefix))
        .flat_map(|(_, rules)| rules.iter());
    for rule in rules {
        rule.check(request, checker);
    }
}

impl ProseRule {
    fn check(&self, request: &Value, checker: &mut Checker) {
        match *self {
            ProseRule::NotTogether { fields, with } => not_together(request, fields, with, checker),
            ProseRule::Placeholders { prompt, inputs } => {
                placeholders(request, prompt, inputs, checker)
            }
            ProseRule::MediaUrls { fields } => {
                for (pointer, value) in strings(request, fields) {
                    media_url(&pointer, value, checker);
                }
            }
            ProseRule::Images { fields } => {
                for (pointer, value) in strings(request, fields) {
                    image(&pointer, value, checker);
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
            ProseRule::MaxBytes(max) => {
                let size = serialized_len(request);
                if size > max {
                    prose(
                        checker,
                        "",
                        format!(
                            "is {size} bytes as JSON, over Modellix's limit of {max} bytes; \
                             pass large media as https URLs instead of base64"
                        ),
                    );
                }
            }
        }
    }
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

fn not_together(request: &Value, fields: &[&str], with: &str, checker: &mut Checker) {
    if request.get(with).is_none() {
        return;
    }
    for field in fields.iter().filter(|f| request.get(**f).is_some()) {
        prose(
            checker,
            &format!("/{field}"),
            format!("cannot be sent together with `{with}`: remove `{field}` or remove `{with}`"),
        );
    }
}

fn placeholders(request: &Value, prompt: &str, inputs: &[(&str, &str)], checker: &mut Checker) {
    let Some(text) = request.get(prompt).and_then(Value::as_str) else {
        return;
    };
    let mut reported: Vec<&str> = Vec::new();
    for (placeholder, label, n) in find_placeholders(text, inputs.iter().map(|(l, _)| *l)) {
        let Some((_, field)) = inputs.iter().find(|(l, _)| *l == label) else {
            continue;
        };
        let count = request
            .get(field)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if (1..=count as u64).contains(&n) || reported.contains(&placeholder) {
            continue;
        }
        reported.push(placeholder);
        prose(
            checker,
            &format!("/{prompt}"),
            format!(
                "mentions `{placeholder}`, but `{field}` has {count} item(s); placeholders \
                 count from 1: add the input or fix the placeholder"
            ),
        );
    }
}

/// `[Label n]` placeholders in `text`: the placeholder, its label and its number (a
/// number too large for `u64` is `u64::MAX`, which no input can match).
fn find_placeholders<'t, 'l>(
    text: &'t str,
    labels: impl Iterator<Item = &'l str> + Clone,
) -> impl Iterator<Item = (&'t str, &'l str, u64)> {
    text.match_indices('[').filter_map(move |(start, _)| {
        let rest = &text[start + 1..];
        labels.clone().find_map(|label| {
            let digits = rest.strip_prefix(label)?.strip_prefix(' ')?;
            let len = digits.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 || !digits[len..].starts_with(']') {
                return None;
            }
            let n = digits[..len].parse().unwrap_or(u64::MAX);
            let end = start + 1 + label.len() + 1 + len + 1;
            Some((&text[start..end], label, n))
        })
    })
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
    if let Err(problem) = crate::media::check_base64_image(payload) {
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
fn serialized_len(value: &Value) -> u64 {
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
