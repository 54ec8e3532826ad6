//! Readable names for enum variants whose wire value starts with a digit.
//!
//! The type generator names `"16:9"` `X169` and `"720p"` `X720p`. We name them after the
//! property and the wire value instead: `Ratio16x9`, `Resolution720p`, `ImageSize1K`,
//! `Size1024x1024`, and rename every `Self::X…`/`Enum::X…` the generated code holds.

use std::collections::BTreeMap;

use proc_macro2::{Group, Ident, Spacing, TokenStream, TokenTree};

/// The readable variant name of `wire` for the property `property` (PascalCase, the
/// enum's name after its request type), or `None` when the wire value does not start
/// with a digit (then the type generator's name is already readable).
///
/// `:` and `*` become `x` (`16:9` → `16x9`, `1024*1024` → `1024x1024`), `.` becomes `p`
/// (`1.5` → `1p5`), other characters that are not ASCII letters or digits are dropped;
/// the wire value's case is kept.
pub fn readable_variant(property: &str, wire: &str) -> Option<String> {
    if !wire.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut name = property.to_owned();
    for c in wire.chars() {
        match c {
            ':' | '*' => name.push('x'),
            '.' => name.push('p'),
            c if c.is_ascii_alphanumeric() => name.push(c),
            _ => {}
        }
    }
    Some(name)
}

/// One variant of a generated enum: its Rust name and its wire value, if renamed by serde.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The name the type generator gave it.
    pub ident: String,
    /// The `#[serde(rename = "…")]` value, if any (else the wire value is the name).
    pub wire: Option<String>,
}

/// The exact spelling of `wire` after `property`, for values the readable names cannot
/// tell apart (`16:9` and `16*9`, `fast` and `Fast`): letters and digits as they are
/// (case kept), every other character by its name (`Ratio16Colon9`, `Ratio16Star9`,
/// `Modefast`, `ModeFast`).
pub fn spelled_variant(property: &str, wire: &str) -> String {
    let mut name = property.to_owned();
    for c in wire.chars() {
        match c {
            c if c.is_ascii_alphanumeric() => name.push(c),
            ':' => name.push_str("Colon"),
            '*' => name.push_str("Star"),
            '.' => name.push_str("Dot"),
            '-' => name.push_str("Dash"),
            '_' => name.push_str("Underscore"),
            ' ' => name.push_str("Space"),
            '/' => name.push_str("Slash"),
            '+' => name.push_str("Plus"),
            c => name.push_str(&format!("U{:04X}", u32::from(c))),
        }
    }
    name
}

/// The type generator's kind of name for a value that starts with a letter, for
/// variants named after a stand-in value (see `merge::STAND_IN`).
fn pascal_variant(property: &str, wire: &str) -> String {
    let name = heck::ToUpperCamelCase::to_upper_camel_case(wire);
    match name.chars().next() {
        Some(c) if c.is_ascii_alphabetic() && syn::parse_str::<syn::Ident>(&name).is_ok() => name,
        _ => spelled_variant(property, wire),
    }
}

/// True for a variant the type generator named after a stand-in value.
fn is_stand_in(ident: &str) -> bool {
    ident
        .to_ascii_lowercase()
        .starts_with(crate::merge::STAND_IN)
}

/// The renames (`old → new`) of one enum's variants. Values whose readable names
/// collide are spelled out exactly ([`spelled_variant`]); two variants that still end
/// up with one name are an error naming both wire values.
pub fn plan_renames(
    property: &str,
    variants: &[Variant],
) -> Result<BTreeMap<String, String>, String> {
    let wire = |v: &Variant| v.wire.clone().unwrap_or_else(|| v.ident.clone());
    let readable: Vec<String> = variants
        .iter()
        .map(|v| {
            let wire = wire(v);
            readable_variant(property, &wire).unwrap_or_else(|| {
                if is_stand_in(&v.ident) {
                    pascal_variant(property, &wire)
                } else {
                    v.ident.clone()
                }
            })
        })
        .collect();
    let names: Vec<String> = variants
        .iter()
        .zip(&readable)
        .map(|(v, name)| {
            if readable.iter().filter(|n| *n == name).count() > 1 {
                spelled_variant(property, &wire(v))
            } else {
                name.clone()
            }
        })
        .collect();
    let mut renames = BTreeMap::new();
    let mut taken: BTreeMap<&str, String> = BTreeMap::new();
    for (v, name) in variants.iter().zip(&names) {
        let wire = wire(v);
        if let Some(other) = taken.insert(name, wire.clone()) {
            return Err(format!(
                "wire values {other:?} and {wire:?} both become the variant `{name}`: teach \
                 codegen/src/variant_names.rs to name them apart"
            ));
        }
        if *name != v.ident {
            renames.insert(v.ident.clone(), name.clone());
        }
    }
    Ok(renames)
}

/// Rewrites `Self::Old` (when `self_is` names a renamed enum) and `Enum::Old` paths in
/// `tokens` after `renames` (enum name → old variant → new variant).
pub fn rewrite_paths(
    tokens: TokenStream,
    renames: &BTreeMap<String, BTreeMap<String, String>>,
    self_is: Option<&str>,
) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    for (i, tree) in trees.iter().enumerate() {
        let tree = match tree {
            TokenTree::Group(g) => {
                let inner = rewrite_paths(g.stream(), renames, self_is);
                let mut group = Group::new(g.delimiter(), inner);
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            TokenTree::Ident(ident) if i >= 3 => {
                let owner = path_owner(&trees[i - 3..i]);
                let owner = match owner.as_deref() {
                    Some("Self") => self_is,
                    other => other,
                };
                let renamed = owner
                    .and_then(|owner| renames.get(owner))
                    .and_then(|variants| variants.get(&ident.to_string()));
                match renamed {
                    Some(new) => TokenTree::Ident(Ident::new(new, ident.span())),
                    None => tree.clone(),
                }
            }
            _ => tree.clone(),
        };
        out.push(tree);
    }
    out.into_iter().collect()
}

/// The `Owner` of the tokens `Owner ::` (the three trees before a path segment).
fn path_owner(before: &[TokenTree]) -> Option<String> {
    match before {
        [
            TokenTree::Ident(owner),
            TokenTree::Punct(a),
            TokenTree::Punct(b),
        ] if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':' => {
            Some(owner.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn names_come_from_the_property_and_the_wire_value() {
        let cases = [
            ("Ratio", "16:9", Some("Ratio16x9")),
            ("Resolution", "720p", Some("Resolution720p")),
            ("Resolution", "1080P", Some("Resolution1080P")),
            ("ImageSize", "1K", Some("ImageSize1K")),
            ("Size", "1024x1024", Some("Size1024x1024")),
            ("Size", "1024*1024", Some("Size1024x1024")),
            ("Version", "1.5", Some("Version1p5")),
            ("DurationSeconds", "8", Some("DurationSeconds8")),
            ("Mode", "4 k / fast", Some("Mode4kfast")),
            ("Ratio", "adaptive", None),
            ("Ratio", "", None),
            ("Ratio", "x16:9", None),
        ];
        for (property, wire, want) in cases {
            assert_eq!(
                readable_variant(property, wire).as_deref(),
                want,
                "{property} {wire:?}"
            );
        }
    }

    fn variant(ident: &str, wire: Option<&str>) -> Variant {
        Variant {
            ident: ident.into(),
            wire: wire.map(Into::into),
        }
    }

    #[test]
    fn plans_renames_and_keeps_letter_names() {
        let plan = plan_renames(
            "Ratio",
            &[
                variant("X169", Some("16:9")),
                variant("Adaptive", Some("adaptive")),
                variant("X11", Some("1:1")),
            ],
        )
        .unwrap();
        let want: BTreeMap<String, String> = [("X169", "Ratio16x9"), ("X11", "Ratio1x1")]
            .into_iter()
            .map(|(a, b)| (a.into(), b.into()))
            .collect();
        assert_eq!(plan, want);
    }

    #[test]
    fn colliding_readable_names_are_spelled_out() {
        type Case<'a> = (&'a [Variant], &'a [(&'a str, &'a str)]);
        let cases: [Case; 5] = [
            (
                &[
                    variant("X169", Some("16:9")),
                    variant("X169x", Some("16x9")),
                ],
                &[("X169", "Ratio16Colon9"), ("X169x", "Ratio16x9")],
            ),
            (
                &[variant("X15", Some("1.5")), variant("X1p5", Some("1p5"))],
                &[("X15", "Ratio1Dot5"), ("X1p5", "Ratio1p5")],
            ),
            (
                &[variant("Ratio1x1", None), variant("X11", Some("1:1"))],
                &[("Ratio1x1", "RatioRatio1x1"), ("X11", "Ratio1Colon1")],
            ),
            // Stand-ins (values the type generator cannot name apart).
            (
                &[
                    variant("Zzmodellixstandin0zz", Some("16:9")),
                    variant("Zzmodellixstandin1zz", Some("16*9")),
                    variant("Zzmodellixstandin2zz", Some("auto")),
                ],
                &[
                    ("Zzmodellixstandin0zz", "Ratio16Colon9"),
                    ("Zzmodellixstandin1zz", "Ratio16Star9"),
                    ("Zzmodellixstandin2zz", "Auto"),
                ],
            ),
            (
                &[
                    variant("Zzmodellixstandin3zz", Some("fast")),
                    variant("Zzmodellixstandin4zz", Some("Fast")),
                ],
                &[
                    ("Zzmodellixstandin3zz", "Ratiofast"),
                    ("Zzmodellixstandin4zz", "RatioFast"),
                ],
            ),
        ];
        for (variants, want) in cases {
            let got = plan_renames("Ratio", variants).unwrap();
            let want: BTreeMap<String, String> = want
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect();
            assert_eq!(got, want);
        }
        // Spelled names that still meet are refused, naming both values.
        let got = plan_renames(
            "Ratio",
            &[
                variant("Zzmodellixstandin0zz", Some("a:")),
                variant("Zzmodellixstandin1zz", Some("aColon")),
                variant("Zzmodellixstandin2zz", Some("A:")),
                variant("Zzmodellixstandin3zz", Some("a-colon")),
            ],
        )
        .unwrap_err();
        assert!(
            got.contains("wire values \"a:\" and \"aColon\" both become the variant `RatioaColon`"),
            "{got}"
        );
        // Close but distinct names are fine.
        let ok = [variant("Ratio11", None), variant("X11", Some("1:1"))];
        assert!(plan_renames("Ratio", &ok).is_ok());
    }

    #[test]
    fn rewrites_self_and_enum_paths_only_of_renamed_enums() {
        let renames: BTreeMap<String, BTreeMap<String, String>> = [(
            "E".to_owned(),
            [("X169".to_owned(), "Ratio16x9".to_owned())].into(),
        )]
        .into();
        let code = quote! {
            match v { Self::X169 => 1, E::X169 => 2, F::X169 => 3, X169 => 4 }
        };
        let got = rewrite_paths(code.clone(), &renames, Some("E")).to_string();
        let want = quote! {
            match v { Self::Ratio16x9 => 1, E::Ratio16x9 => 2, F::X169 => 3, X169 => 4 }
        };
        assert_eq!(got, want.to_string());
        let got = rewrite_paths(code, &renames, None).to_string();
        let want = quote! {
            match v { Self::X169 => 1, E::Ratio16x9 => 2, F::X169 => 3, X169 => 4 }
        };
        assert_eq!(got, want.to_string());
    }
}
