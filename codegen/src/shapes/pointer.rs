//! JSON pointers (RFC 6901) as they appear in a `$ref`: a URI fragment, percent-encoded,
//! with `~1` for `/` and `~0` for `~`.

use serde_json::Value;

/// The reference tokens of the fragment `fragment` (the part after `#`), decoded.
/// `""` is the whole document.
pub(super) fn parse(fragment: &str) -> Result<Vec<String>, String> {
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = decoded.strip_prefix('/') else {
        return Err(format!(
            "{decoded:?} is not a JSON pointer (it must start with '/'; named anchors are not \
             supported)"
        ));
    };
    rest.split('/').map(unescape).collect()
}

/// One reference token with `~1` and `~0` decoded, in that order (RFC 6901 §4).
fn unescape(token: &str) -> Result<String, String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            Some(other) => {
                return Err(format!(
                    "\"~{other}\" in {token:?} is not an escape (only ~0 for '~' and ~1 for '/')"
                ));
            }
            None => return Err(format!("{token:?} ends with a lone '~' (write ~0 for '~')")),
        }
    }
    Ok(out)
}

fn percent_decode(text: &str) -> Result<String, String> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("'%' in {text:?} is not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} decodes to bytes that are not UTF-8"))
}

/// One token escaped for a pointer (`~` → `~0`, `/` → `~1`).
pub(super) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The pointer `/a/b` of decoded tokens.
pub(super) fn join(tokens: &[String]) -> String {
    tokens.iter().map(|t| format!("/{}", escape(t))).collect()
}

/// The value at `tokens` in `root`, if there is one. An array index is decimal without a
/// leading zero.
pub(super) fn get<'a>(root: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(root, |value, token| match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => {
            let plain = token == "0" || (!token.starts_with('0') && !token.is_empty());
            token
                .parse::<usize>()
                .ok()
                .filter(|_| plain && token.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|i| items.get(i))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_decode_as_rfc_6901_says() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("", Ok(&[])),
            ("/$defs/shared~1type", Ok(&["$defs", "shared/type"])),
            ("/a~0b", Ok(&["a~b"])),
            // ~01 is "~1" literally, not "/": ~1 is decoded before ~0 would be.
            ("/a~01", Ok(&["a~1"])),
            ("/a%20b/%7E1", Ok(&["a b", "/"])),
            ("/", Ok(&[""])),
            ("/a~2", Err("not an escape")),
            ("/a~", Err("lone '~'")),
            ("/a%2", Err("two hex digits")),
            ("/a%ff", Err("not UTF-8")),
            ("anchor", Err("not a JSON pointer")),
        ];
        for (fragment, want) in cases {
            let got = parse(fragment);
            match (want, &got) {
                (Ok(tokens), Ok(got)) => assert_eq!(got, tokens, "{fragment}"),
                (Err(part), Err(got)) => assert!(got.contains(part), "{fragment}: {got}"),
                _ => panic!("{fragment}: {got:?}"),
            }
        }
    }

    #[test]
    fn escape_and_parse_round_trip() {
        let tokens = vec!["a/b".to_owned(), "~x~1".to_owned(), String::new()];
        assert_eq!(parse(&join(&tokens)).unwrap(), tokens);
    }

    #[test]
    fn array_indexes_are_plain_decimals() {
        let doc = serde_json::json!({"a": [10, 11]});
        let at = |p: &str| get(&doc, &parse(p).unwrap()).cloned();
        assert_eq!(at("/a/1"), Some(11.into()));
        assert_eq!(at("/a/01"), None);
        assert_eq!(at("/a/+1"), None);
        assert_eq!(at("/a/2"), None);
        assert_eq!(at("/b"), None);
    }
}
