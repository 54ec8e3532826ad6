//! Request builders a Rust user expects, generated from the published request schema:
//! `Seedance20V2vRequest::builder()` returns a `Seedance20V2vRequestBuilder` whose setters
//! take `&str`/`String` for text, any iterator of `Into<String>` for lists, the wire value
//! for enums (`.resolution("720p")`, checked when built), plain numbers and booleans, and
//! anything `Serialize` for objects. Every setter is documented from the schema.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{Map, Value};

/// The builder type of a request struct.
pub fn builder_name(ty: &str) -> String {
    format!("{ty}Builder")
}

/// Methods every builder has besides its setters: a field of that name gets a setter
/// with a `_` after it (`build` → `.build_(…)`).
const BUILDER_METHODS: &[&str] = &["build"];

/// The setter of the field sent as `wire`: the Rust name the type generator gave the
/// struct's field (`3d_mode` → `x3d_mode`, `self` → `self_`, `""` → `x`), with a `_`
/// after names the builder already uses.
pub fn setter_name(wire: &str, fields: &[(String, String)]) -> Result<String, String> {
    let rust = fields
        .iter()
        .find(|(w, _)| w == wire)
        .map(|(_, rust)| rust.clone())
        .ok_or_else(|| format!("field {wire:?} has no Rust field in the generated type"))?;
    let rust = if BUILDER_METHODS.contains(&rust.as_str()) {
        format!("{rust}_")
    } else {
        rust
    };
    if fields.iter().any(|(w, r)| r == &rust && w != wire) {
        return Err(format!(
            "field {wire:?} would get the setter `{rust}`, which field {:?} has",
            fields
                .iter()
                .find(|(_, r)| r == &rust)
                .map_or("", |(w, _)| w.as_str())
        ));
    }
    syn::parse_str::<syn::Ident>(&rust)
        .map_err(|e| format!("field {wire:?}: `{rust}` is no Rust name: {e}"))?;
    Ok(rust)
}

/// Emits `TyBuilder`, `Ty::builder()` (or, with `ctor`, a named constructor on
/// `build_into`) and `build()` for the object schema `schema` of the struct `ty`, whose
/// fields the type generator named `fields` (`(wire, rust)`). `build_into` is the type
/// `build()` returns (the struct itself, or the oneOf enum it converts into).
pub fn emit_builder(
    ty: &str,
    schema: &Value,
    fields: &[(String, String)],
    build_into: &str,
    ctor: Option<&str>,
) -> Result<TokenStream, String> {
    let empty = Map::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let ty_ident = format_ident!("{ty}");
    let into_ident = format_ident!("{build_into}");
    let builder = format_ident!("{}", builder_name(ty));
    let mut setters = Vec::new();
    for (wire, prop) in props {
        let rust = setter_name(wire, fields)?;
        let rule = requirement(wire, required.contains(&wire.as_str()));
        setters.push(setter(wire, &rust, prop, &rule));
    }
    // In the schema's order, so `build()` reports missing fields as the schema lists them.
    let mut required_pairs = Vec::new();
    for wire in required.iter().filter(|w| props.contains_key(**w)) {
        let rust = setter_name(wire, fields)?;
        required_pairs.push(quote!((#wire, #rust)));
    }
    let builder_doc = format!(
        " Builds a [`{ty}`] field by field. Start with [`{build_into}::{}`]; finish with \
         [`{}::build`].",
        ctor.unwrap_or("builder"),
        builder_name(ty)
    );
    let ctor_fn = match ctor {
        None => {
            let doc = format!(" Starts a [`{ty}`]; set the fields, then call `build()`.");
            quote! {
                impl #ty_ident {
                    #[doc = #doc]
                    pub fn builder() -> #builder {
                        #builder::default()
                    }
                }
            }
        }
        Some(name) => {
            let name = format_ident!("{name}");
            let doc = format!(
                " Starts a request of the shape [`{ty}`] (one branch of the request's \
                 alternatives); `build()` returns the whole request."
            );
            quote! {
                impl #into_ident {
                    #[doc = #doc]
                    pub fn #name() -> #builder {
                        #builder::default()
                    }
                }
            }
        }
    };
    let build_doc = format!(
        " Finishes the [`{build_into}`]. Fails when a required field is missing or a value \
         is not allowed, listing every problem at once with its JSON pointer, as \
         `validate()` does; the other schema rules are checked by `validate()` (and by \
         `submit`)."
    );
    Ok(quote! {
        #[doc = #builder_doc]
        #[derive(Debug, Clone, Default)]
        pub struct #builder {
            fields: crate::schema::builder_fields::BuilderFields,
        }

        #ctor_fn

        impl #builder {
            #(#setters)*

            #[doc = #build_doc]
            pub fn build(self) -> Result<#into_ident, crate::schema::ValidationError> {
                let value: #ty_ident = self.fields.finish(&[#(#required_pairs),*])?;
                Ok(value.into())
            }
        }
    })
}

/// One setter named `rust`, documented with the field's description and limits.
fn setter(wire: &str, rust: &str, prop: &Value, requirement: &str) -> TokenStream {
    let name = format_ident!("{rust}");
    let doc = setter_doc(wire, prop, requirement);
    let ty = prop.get("type").and_then(Value::as_str);
    let string_enum = ty == Some("string") && prop.get("enum").and_then(Value::as_array).is_some();
    let item_ty = prop
        .get("items")
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str);
    let body = if string_enum {
        let values = prop["enum"].as_array().map_or(&[][..], Vec::as_slice);
        let allowed: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        let rendered = values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        quote! {
            pub fn #name(mut self, value: impl ::std::fmt::Display) -> Self {
                self.fields.set_choice(#wire, value.to_string(), &[#(#allowed),*], #rendered);
                self
            }
        }
    } else {
        match (ty, item_ty) {
            (Some("string"), _) => quote! {
                pub fn #name(mut self, value: impl Into<String>) -> Self {
                    self.fields.set(#wire, ::serde_json::Value::String(value.into()));
                    self
                }
            },
            (Some("integer"), _) => quote! {
                pub fn #name<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<i64> + ::std::string::ToString,
                {
                    self.fields.set_integer(#wire, value);
                    self
                }
            },
            (Some("number"), _) => quote! {
                pub fn #name(mut self, value: f64) -> Self {
                    self.fields.set_serialized(#wire, value);
                    self
                }
            },
            (Some("boolean"), _) => quote! {
                pub fn #name(mut self, value: bool) -> Self {
                    self.fields.set(#wire, ::serde_json::Value::Bool(value));
                    self
                }
            },
            (Some("array"), Some("string")) => quote! {
                pub fn #name<I>(mut self, values: I) -> Self
                where
                    I: IntoIterator,
                    I::Item: Into<String>,
                {
                    let items = values
                        .into_iter()
                        .map(|v| ::serde_json::Value::String(v.into()))
                        .collect();
                    self.fields.set(#wire, ::serde_json::Value::Array(items));
                    self
                }
            },
            (Some("array"), _) => quote! {
                pub fn #name<I>(mut self, values: I) -> Self
                where
                    I: IntoIterator,
                    I::Item: ::serde::Serialize,
                {
                    self.fields
                        .set_serialized(#wire, values.into_iter().collect::<Vec<_>>());
                    self
                }
            },
            _ => quote! {
                pub fn #name(mut self, value: impl ::serde::Serialize) -> Self {
                    self.fields.set_serialized(#wire, value);
                    self
                }
            },
        }
    };
    quote! {
        #[doc = #doc]
        #body
    }
}

/// The first sentence of a setter's facts: whether the field is required.
fn requirement(wire: &str, required: bool) -> String {
    if required {
        format!("Required; sent as `{wire}`.")
    } else {
        format!("Optional; sent as `{wire}` only when set.")
    }
}

fn setter_doc(wire: &str, prop: &Value, requirement: &str) -> String {
    let mut lines = Vec::new();
    let description = prop
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    lines.push(if description.is_empty() {
        format!("Sets `{wire}`.")
    } else {
        description.to_owned()
    });
    let mut facts = vec![requirement.to_owned()];
    if let Some(d) = prop.get("default") {
        facts.push(format!("Default: `{d}`."));
    }
    if let Some(Value::Array(values)) = prop.get("enum") {
        let list: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        facts.push(format!("Allowed: {}.", list.join(", ")));
    }
    let pairs = [
        ("minimum", "maximum", "Range"),
        ("minLength", "maxLength", "Length"),
        ("minItems", "maxItems", "Items"),
    ];
    for (lo, hi, label) in pairs {
        match (prop.get(lo), prop.get(hi)) {
            (Some(a), Some(b)) => facts.push(format!("{label}: {a} to {b}.")),
            (Some(a), None) => facts.push(format!("{label}: at least {a}.")),
            (None, Some(b)) => facts.push(format!("{label}: at most {b}.")),
            _ => {}
        }
    }
    if let Some(Value::String(p)) = prop.get("pattern") {
        facts.push(format!("Pattern: `{p}`."));
    }
    if let Some(Value::String(f)) = prop.get("format") {
        facts.push(format!("Format: {f}."));
    }
    lines.push(String::new());
    lines.push(facts.join(" "));
    lines
        .iter()
        .map(|l| format!(" {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Emits `TyBuilder` and `Ty::builder()` for a request `ty` whose body is one of the
/// object shapes `branches` (`(schema, fields)` as for [`emit_builder`]): the builder
/// has a setter for every field of every shape, and `build()` takes the first shape
/// whose required fields are all set (the request type decides, as it does when
/// reading JSON).
pub fn emit_union_builder(
    ty: &str,
    branches: &[(Value, &[(String, String)])],
) -> Result<TokenStream, String> {
    let ty_ident = format_ident!("{ty}");
    let builder = format_ident!("{}", builder_name(ty));
    let mut setters = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut shapes = Vec::new();
    for (schema, fields) in branches {
        let empty = Map::new();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (wire, prop) in props {
            let rust = setter_name(wire, fields)?;
            match seen.iter().find(|(w, r)| w == wire || *r == rust) {
                Some((w, _)) if w == wire => continue,
                Some((w, _)) => {
                    return Err(format!(
                        "fields {w:?} and {wire:?} of different shapes would both get the \
                         setter `{rust}`"
                    ));
                }
                None => {}
            }
            seen.push((wire.clone(), rust.clone()));
            // Which shapes require the field: the setter's doc says so.
            let requiring = branches
                .iter()
                .filter(|(b, _)| {
                    b.get("required")
                        .and_then(Value::as_array)
                        .is_some_and(|r| r.iter().any(|w| w == wire.as_str()))
                })
                .count();
            let rule = match requiring {
                0 => requirement(wire, false),
                n if n == branches.len() => requirement(wire, true),
                n => format!(
                    "Required by {n} of the request's {} shapes (set it to make one of \
                     them); sent as `{wire}` only when set.",
                    branches.len()
                ),
            };
            setters.push(setter(wire, &rust, prop, &rule));
        }
        let mut pairs = Vec::new();
        for wire in required.iter().filter(|w| props.contains_key(**w)) {
            let rust = setter_name(wire, fields)?;
            pairs.push(quote!((#wire, #rust)));
        }
        shapes.push(quote!(&[#(#pairs),*]));
    }
    let builder_doc = format!(
        " Builds a [`{ty}`], whichever of its shapes the fields you set make. Start with \
         [`{ty}::builder`]; finish with [`{}::build`]. Each shape also has a builder of \
         its own.",
        builder_name(ty)
    );
    let ctor_doc = format!(
        " Starts a [`{ty}`] of any of its shapes; set the fields, then call `build()`, which \
         picks the shape whose required fields you set."
    );
    let build_doc = format!(
        " Finishes the [`{ty}`]: the first shape whose required fields are all set. Fails \
         when no shape is complete or a value is not allowed, listing every problem at once \
         with its JSON pointer; the other schema rules are checked by `validate()` (and by \
         `submit`)."
    );
    Ok(quote! {
        #[doc = #builder_doc]
        #[derive(Debug, Clone, Default)]
        pub struct #builder {
            fields: crate::schema::builder_fields::BuilderFields,
        }

        impl #ty_ident {
            #[doc = #ctor_doc]
            pub fn builder() -> #builder {
                #builder::default()
            }
        }

        impl #builder {
            #(#setters)*

            #[doc = #build_doc]
            pub fn build(self) -> Result<#ty_ident, crate::schema::ValidationError> {
                self.fields.finish_any(&[#(#shapes),*])
            }
        }
    })
}
