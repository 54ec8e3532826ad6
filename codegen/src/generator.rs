//! One generation run: fragments in, the client's Rust source and merged document out.

use std::collections::BTreeMap;
use std::path::Path;

use proc_macro2::{Group, Literal, TokenStream, TokenTree};
use progenitor::{GenerationSettings, Generator, InterfaceStyle};
use quote::{format_ident, quote};
use serde_json::Value;

use crate::checks::emit_checks;
use crate::fragment::{Fragment, SpecError, load_dir};
use crate::merge::{self, Merged, OperationMeta, SubmitMeta, TASK_STATUS, merge};
use crate::{builders, variant_names};

/// Name of the generated Rust file in `OUT_DIR` and in the snapshot folder.
pub const CODE_FILE: &str = "modellix_generated.rs";
/// Name of the merged OpenAPI document in `OUT_DIR` and in the snapshot folder.
pub const OPENAPI_FILE: &str = "openapi.json";

/// The outputs of one generation run.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Formatted Rust source: the types (with request builders and `validate()`) and the
    /// operation table.
    pub code: String,
    /// The merged OpenAPI 3.0.3 document, pretty-printed with a trailing newline.
    pub openapi: String,
    /// Per-operation facts, for tools that print what was generated.
    pub operations: Vec<OperationMeta>,
    /// What the build should warn about, one line each: keywords of a request body that
    /// no check enforces (`<file>: keyword "multipleOf" at … is not checked …`).
    pub warnings: Vec<String>,
}

/// The request schema `schema` as tools read it: a body that is one of several object
/// shapes (`oneOf`/`anyOf`) without top-level `properties` also gets `properties` (every
/// field of every shape, as the first shape that has it defines it), `required` (the
/// fields every shape requires) and, when the shapes share one, their `description`.
/// The shapes stay as published; any other schema is returned unchanged.
pub fn fields_of_shapes(schema: &Value) -> Value {
    let mut out = schema.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    if obj.contains_key("properties") {
        return out;
    }
    let Some(shapes) = ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array))
    else {
        return out;
    };
    let mut properties = serde_json::Map::new();
    let mut required: Option<Vec<Value>> = None;
    for shape in shapes {
        if let Some(props) = shape.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                properties
                    .entry(name.clone())
                    .or_insert_with(|| prop.clone());
            }
        }
        let own: Vec<Value> = shape
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        required = Some(match required {
            None => own,
            Some(all) => all.into_iter().filter(|r| own.contains(r)).collect(),
        });
    }
    if properties.is_empty() {
        return out;
    }
    obj.insert("properties".into(), Value::Object(properties));
    if let Some(required) = required.filter(|r| !r.is_empty()) {
        obj.insert("required".into(), Value::Array(required));
    }
    let descriptions: Vec<&Value> = shapes.iter().filter_map(|s| s.get("description")).collect();
    if !obj.contains_key("description")
        && descriptions.len() == shapes.len()
        && descriptions.windows(2).all(|w| w[0] == w[1])
        && let Some(first) = descriptions.first()
    {
        obj.insert("description".into(), (*first).clone());
    }
    out
}

/// Loads every fragment under `spec_dir` and generates the client.
pub fn generate_dir(spec_dir: &Path) -> Result<Generated, SpecError> {
    let fragments = load_dir(spec_dir)?;
    generate(&fragments)
}

/// The request and answer types of the merged document, from the type generator
/// (typify, through progenitor's type space); the contents of `mod types`.
///
/// Progenitor's own client is not generated into the crate: every request goes through
/// the handwritten transport, so its `Client`, its per-operation builders and typify's
/// `types::builder` structs would be public code nobody calls. Progenitor still reads
/// the operations (that is what adds their parameter and answer types); its output is
/// dropped and only the type space is kept. A panic in the type generator becomes an
/// error.
fn generate_types(document: &openapiv3::OpenAPI) -> Result<TokenStream, String> {
    let mut settings = GenerationSettings::default();
    settings
        // Positional: no typify builder structs (ours replace them for requests).
        .with_interface(InterfaceStyle::Positional)
        .with_derive("PartialEq")
        .with_replacement(TASK_STATUS, "crate::schema::TaskStatus", std::iter::empty());
    let run = || {
        let mut generator = Generator::new(&settings);
        generator
            .generate_tokens(document)
            .map(|_client| generator.get_type_space().to_stream())
            .map_err(|e| format!("progenitor rejected the merged document: {e}"))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "no message".to_owned());
        Err(format!("the type generator panicked: {message}"))
    })
}

/// The fragment to blame for a failure of the type generator on the whole spec: the
/// first that fails alone, else the spec folder.
fn blame(fragments: &[Fragment], problem: String) -> SpecError {
    for fragment in fragments {
        let alone = merge(std::slice::from_ref(fragment))
            .ok()
            .and_then(|merged| serde_json::from_value::<openapiv3::OpenAPI>(merged.document).ok());
        if let Some(document) = alone
            && let Err(own) = generate_types(&document)
        {
            return SpecError::new(
                &fragment.file,
                format!(
                    "{own}; teach codegen/src/merge.rs to hand this schema over in a shape it takes"
                ),
            );
        }
    }
    SpecError::new("spec", problem)
}

/// Generates the client from already loaded fragments.
pub fn generate(fragments: &[Fragment]) -> Result<Generated, SpecError> {
    generate_as(fragments, false)
}

/// [`generate`] for this crate (`downstream` false: the code names `crate::schema::…`)
/// or for a crate with its own models (it names `crate::schema::operation(…)`, which
/// `own_models` points at `::modellix::codegen_support`).
pub(crate) fn generate_as(
    fragments: &[Fragment],
    downstream: bool,
) -> Result<Generated, SpecError> {
    let merged = merge(fragments)?;
    let document: openapiv3::OpenAPI = serde_json::from_value(merged.document.clone())
        .map_err(|e| SpecError::new("spec", format!("merged document is not OpenAPI 3.0: {e}")))?;

    let types = match generate_types(&document) {
        Ok(types) => types,
        Err(problem) => return Err(blame(fragments, problem)),
    };

    let glue = glue(&merged.operations, downstream)?;
    let types = restore_stand_ins(types, &merged.enum_stand_ins);
    let mut file: syn::File = syn::parse2(quote! {
        /// Request and answer types of every operation in `spec/`.
        #[allow(clippy::all)]
        pub mod types {
            #types
        }

        #glue
    })
    .map_err(|e| SpecError::new("spec", format!("generated code does not parse: {e}")))?;
    let fields = struct_fields(&file, &owners(&merged.operations))?;
    let builders = request_builders(&merged, &fields)?;
    rework_types(&mut file, &merged.operations, builders)?;
    let header = "// @generated by modellix-codegen from spec/. Do not edit: change the \
                  fragments and rebuild, or run `cargo xtask codegen`.\n\n";
    let code = format!("{header}{}", prettyplease::unparse(&file));
    let openapi =
        serde_json::to_string_pretty(&merged.document).expect("JSON values serialize") + "\n";
    let warnings = fragments
        .iter()
        .flat_map(|f| {
            f.unenforced
                .iter()
                .map(move |u| format!("{}: {u}", f.file.display()))
        })
        .collect();
    Ok(Generated {
        code,
        openapi,
        operations: merged.operations,
        warnings,
    })
}

/// Puts the wire values back where the type generator wrote a stand-in (see
/// [`Merged::enum_stand_ins`]): in every string literal (serde renames, `Display`,
/// `FromStr`, docs).
fn restore_stand_ins(tokens: TokenStream, stand_ins: &BTreeMap<String, String>) -> TokenStream {
    if stand_ins.is_empty() {
        return tokens;
    }
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), restore_stand_ins(g.stream(), stand_ins));
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            TokenTree::Literal(lit) if lit.to_string().contains(merge::STAND_IN) => {
                let Ok(text) = syn::parse_str::<syn::LitStr>(&lit.to_string()) else {
                    return TokenTree::Literal(lit);
                };
                let mut value = text.value();
                for (stand_in, wire) in stand_ins {
                    value = value.replace(stand_in.as_str(), wire);
                }
                let mut restored = Literal::string(&value);
                restored.set_span(lit.span());
                TokenTree::Literal(restored)
            }
            other => other,
        })
        .collect()
}

/// Request (and branch) type names with their fragment, longest first, so an enum or
/// struct finds the request it belongs to by prefix.
fn owners(operations: &[OperationMeta]) -> Vec<(String, &str)> {
    let mut owners: Vec<(String, &str)> = Vec::new();
    for op in operations {
        if let Some(submit) = &op.submit {
            owners.push((submit.request_type.clone(), &op.file));
            owners.extend(
                submit
                    .branches
                    .iter()
                    .map(|b| (b.clone(), op.file.as_str())),
            );
        }
    }
    owners.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    owners
}

/// Struct name → its fields as `(wire name, Rust name)`, for every struct the type
/// generator made. Two wire names that got one Rust name (`""` and `x` both become
/// `x`, `3d` and `x3d` both `x3d`) stop the build, naming the fragment and both fields.
fn struct_fields(
    file: &syn::File,
    owners: &[(String, &str)],
) -> Result<BTreeMap<String, Vec<(String, String)>>, SpecError> {
    let mut all = BTreeMap::new();
    let items = file.items.iter().flat_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => {
            m.content.as_ref().map_or(&[][..], |(_, items)| &items[..])
        }
        _ => &[],
    });
    for item in items {
        let syn::Item::Struct(s) = item else { continue };
        let syn::Fields::Named(named) = &s.fields else {
            continue;
        };
        let name = s.ident.to_string();
        let mut fields: Vec<(String, String)> = Vec::new();
        for field in &named.named {
            let Some(ident) = &field.ident else { continue };
            let rust = ident.to_string();
            let wire = serde_rename(&field.attrs)
                .unwrap_or_else(|| rust.trim_start_matches("r#").to_owned());
            if let Some((other, _)) = fields.iter().find(|(_, r)| *r == rust) {
                let file = owners
                    .iter()
                    .find(|(ty, _)| name.starts_with(ty.as_str()))
                    .map_or("spec", |(_, file)| file);
                return Err(SpecError::new(
                    file,
                    format!(
                        "type {name}: fields {other:?} and {wire:?} both become the Rust field \
                         `{rust}`; rename one in the fragment or teach codegen/src/lib.rs to \
                         name them apart"
                    ),
                ));
            }
            fields.push((wire, rust));
        }
        all.insert(name, fields);
    }
    Ok(all)
}

/// The `…Builder` of every request type (and of every branch of a oneOf/anyOf body).
fn request_builders(
    merged: &Merged,
    fields: &BTreeMap<String, Vec<(String, String)>>,
) -> Result<Vec<syn::Item>, SpecError> {
    let mut tokens = TokenStream::new();
    for op in &merged.operations {
        let Some(submit) = &op.submit else { continue };
        let err = |e: String| SpecError::new(&op.file, format!("request builder: {e}"));
        let ty = &submit.request_type;
        let names = |ty: &str| fields.get(ty).map_or(&[][..], Vec::as_slice);
        if submit.branches.is_empty() {
            tokens.extend(
                builders::emit_builder(ty, &submit.request_schema, names(ty), ty, None)
                    .map_err(err)?,
            );
            continue;
        }
        let mut shapes = Vec::new();
        for branch in &submit.branches {
            let schema = &merged.document["components"]["schemas"][branch];
            let short = branch.strip_prefix(ty.as_str()).unwrap_or(branch);
            let mut ctor = heck::ToSnakeCase::to_snake_case(short);
            if ctor == "builder" {
                // `builder()` starts the builder that takes any shape.
                ctor.push('_');
            }
            let published = original_branch(submit, branch, schema);
            tokens.extend(
                builders::emit_builder(branch, &published, names(branch), ty, Some(&ctor))
                    .map_err(err)?,
            );
            shapes.push((published, names(branch)));
        }
        tokens.extend(builders::emit_union_builder(ty, &shapes).map_err(err)?);
    }
    let file: syn::File = syn::parse2(tokens)
        .map_err(|e| SpecError::new("spec", format!("generated builders do not parse: {e}")))?;
    Ok(file.items)
}

/// The published schema of a hoisted branch (its docs still hold the limits the type
/// generator's copy lost), found by position.
fn original_branch(submit: &SubmitMeta, branch: &str, fallback: &Value) -> Value {
    let index = submit.branches.iter().position(|b| b == branch);
    ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| submit.request_schema.get(*k)?.get(index?).cloned())
        .unwrap_or_else(|| fallback.clone())
}

/// Inside `mod types`: drops the type generator's `builder()` of request types (ours
/// replaces it), documents every enum variant with its wire value, and adds `builders`.
fn rework_types(
    file: &mut syn::File,
    operations: &[OperationMeta],
    builders: Vec<syn::Item>,
) -> Result<(), SpecError> {
    let owners = owners(operations);
    let requests: Vec<String> = owners.iter().map(|(name, _)| name.clone()).collect();
    let types = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
            _ => None,
        })
        .ok_or_else(|| SpecError::new("spec", "the generated code has no `mod types`"))?;
    types.1.retain(|item| {
        let syn::Item::Impl(imp) = item else {
            return true;
        };
        let syn::Type::Path(path) = &*imp.self_ty else {
            return true;
        };
        let is_request = path
            .path
            .get_ident()
            .is_some_and(|i| requests.contains(&i.to_string()));
        let only_builder = imp.trait_.is_none()
            && imp.items.len() == 1
            && matches!(&imp.items[0], syn::ImplItem::Fn(f) if f.sig.ident == "builder");
        !(is_request && only_builder)
    });
    let renames = rename_variants(&mut types.1, &owners)?;
    for item in types.1.iter_mut() {
        if let syn::Item::Impl(imp) = item
            && let syn::Type::Path(path) = &*imp.self_ty
            && let Some(ident) = path.path.get_ident()
            && renames.contains_key(&ident.to_string())
        {
            let enum_name = ident.to_string();
            let tokens =
                variant_names::rewrite_paths(quote!(#imp), &renames, Some(enum_name.as_str()));
            *item = syn::parse2(tokens).map_err(|e| {
                SpecError::new(
                    "spec",
                    format!("renamed impl of {enum_name} does not parse: {e}"),
                )
            })?;
        }
        if let syn::Item::Enum(e) = item {
            for variant in &mut e.variants {
                let has_doc = variant.attrs.iter().any(|a| a.path().is_ident("doc"));
                if let Some(wire) = serde_rename(&variant.attrs).filter(|_| !has_doc) {
                    let doc = format!(" Wire value `{wire}`.");
                    variant.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
                }
            }
        }
    }
    types.1.extend(builders);
    // Any `Enum::X…` left elsewhere in the file (defaults, other modules).
    if !renames.is_empty() {
        let tokens = variant_names::rewrite_paths(quote!(#file), &renames, None);
        *file = syn::parse2(tokens).map_err(|e| {
            SpecError::new(
                "spec",
                format!("code with renamed variants does not parse: {e}"),
            )
        })?;
    }
    Ok(())
}

/// Gives every variant whose wire value starts with a digit a readable name (see
/// [`variant_names`]) and returns the renames, enum name → old → new.
fn rename_variants(
    items: &mut [syn::Item],
    owners: &[(String, &str)],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, SpecError> {
    let mut all = BTreeMap::new();
    for item in items {
        let syn::Item::Enum(e) = item else { continue };
        let name = e.ident.to_string();
        let owner = owners
            .iter()
            .find(|(ty, _)| name.len() > ty.len() && name.starts_with(ty.as_str()));
        let property = match owner {
            Some((ty, _)) => &name[ty.len()..],
            None => name
                .rsplit_once("Request")
                .map_or(name.as_str(), |(_, p)| p),
        };
        let property = if property.is_empty() {
            name.as_str()
        } else {
            property
        };
        let variants: Vec<variant_names::Variant> = e
            .variants
            .iter()
            .map(|v| variant_names::Variant {
                ident: v.ident.to_string(),
                wire: serde_rename(&v.attrs),
            })
            .collect();
        let plan = variant_names::plan_renames(property, &variants).map_err(|problem| {
            let file = owner.map_or("spec", |(_, file)| file);
            SpecError::new(file, format!("enum {name}: {problem}"))
        })?;
        if plan.is_empty() {
            continue;
        }
        for variant in &mut e.variants {
            if let Some(new) = plan.get(&variant.ident.to_string()) {
                variant.ident = format_ident!("{new}");
            }
        }
        all.insert(name, plan);
    }
    Ok(all)
}

/// The `rename` of a `#[serde(rename = "…")]` attribute.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                found = Some(lit.value());
            }
            Ok(())
        });
    }
    found
}

/// The operation table, `validate()` for every request type and the `SubmitRequest` impls.
/// For a `downstream` crate the table is built with `operation(…)`/`output_file(…)`:
/// another crate cannot write the `#[non_exhaustive]` structs literally.
fn glue(operations: &[OperationMeta], downstream: bool) -> Result<TokenStream, SpecError> {
    let mut entries = Vec::new();
    let mut impls = Vec::new();
    for (index, op) in operations.iter().enumerate() {
        let OperationMeta {
            file,
            operation_id,
            method,
            path,
            summary,
            submit,
        } = op;
        let Some(submit) = submit else {
            entries.push(if downstream {
                quote! {
                    crate::schema::operation(
                        #operation_id, #method, #path, #file, #summary, None, None, None, &[], &[],
                    )
                }
            } else {
                quote! {
                    crate::schema::Operation {
                        operation_id: #operation_id, method: #method, path: #path, file: #file,
                        summary: #summary, model_id: None, request_type: None, validate_json: None,
                        outputs: &[], runtime_fields: &[],
                    }
                }
            });
            continue;
        };
        let SubmitMeta {
            model_id,
            request_type,
            request_schema,
            examples: _,
            branches: _,
            rules,
        } = submit;
        let prose = &rules.rules;
        let runtime_fields = &rules.runtime_fields;
        let outputs = rules.outputs.iter().map(|o| {
            let kind = &o.kind;
            let role = match &o.role {
                Some(r) => quote!(Some(#r)),
                None => quote!(None),
            };
            let when = match &o.when {
                Some(w) => quote!(Some(#w)),
                None => quote!(None),
            };
            if downstream {
                quote!(crate::schema::output_file(#kind, #role, #when))
            } else {
                quote!(crate::schema::OutputFile { kind: #kind, role: #role, when: #when })
            }
        });
        let ty = format_ident!("{request_type}");
        let checks = emit_checks(request_schema)
            .map_err(|e| SpecError::new(file, format!("request schema: {e}")))?;
        entries.push(if downstream {
            quote! {
                crate::schema::operation(
                    #operation_id, #method, #path, #file, #summary, Some(#model_id),
                    Some(#request_type), Some(types::#ty::validate_json),
                    &[#(#outputs),*], &[#(#runtime_fields),*],
                )
            }
        } else {
            quote! {
                crate::schema::Operation {
                    operation_id: #operation_id, method: #method, path: #path, file: #file,
                    summary: #summary, model_id: Some(#model_id), request_type: Some(#request_type),
                    validate_json: Some(types::#ty::validate_json),
                    outputs: &[#(#outputs),*], runtime_fields: &[#(#runtime_fields),*],
                }
            }
        });
        let validate_doc = format!(
            " Checks this request against every rule of the `{model_id}` schema and its prose \
             rules, without sending anything.\n\n Returns every violation at once, each with \
             its JSON pointer."
        );
        let validate_json_doc = format!(
            " Checks a JSON request body for `{model_id}` (as [`Self::validate`] does for a \
             typed request)."
        );
        impls.push(quote! {
            impl types::#ty {
                #[doc = #validate_doc]
                pub fn validate(&self) -> Result<crate::schema::Warnings, crate::schema::ValidationError> {
                    crate::schema::validate::validate_serialized(self, Self::validate_json)
                }

                #[doc = #validate_json_doc]
                pub fn validate_json(
                    value: &serde_json::Value,
                ) -> Result<crate::schema::Warnings, crate::schema::ValidationError> {
                    let mut checker = crate::schema::validate::Checker::default();
                    #checks
                    const PROSE_RULES: &[crate::schema::rules::ProseRule] = &[#(#prose),*];
                    crate::schema::rules::apply(PROSE_RULES, value, &mut checker);
                    checker.finish()
                }
            }


            impl crate::schema::SubmitRequest for types::#ty {
                const OPERATION: &'static crate::schema::Operation = &OPERATIONS[#index];

                fn validate(&self) -> Result<crate::schema::Warnings, crate::schema::ValidationError> {
                    types::#ty::validate(self)
                }
            }
        });
    }
    Ok(quote! {
        /// Every operation generated from `spec/`, in file order.
        pub const OPERATIONS: &[crate::schema::Operation] = &[#(#entries),*];

        #(#impls)*
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendored() -> Vec<Fragment> {
        load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")).unwrap()
    }

    #[test]
    fn digit_variants_get_readable_names_everywhere() {
        let code = generate(&vendored()).unwrap().code;
        for want in [
            "Resolution720p,",
            "Self::Resolution720p => f.write_str(\"720p\")",
            "\"720p\" => Ok(Self::Resolution720p)",
            "Ratio16x9,",
            "ImageSize1K,",
            "Size1024x1024,",
            "DurationSeconds8,",
            "/// Wire value `16:9`.",
        ] {
            assert!(code.contains(want), "{want}");
        }
        assert!(!regex::Regex::new(r"\bX[0-9]").unwrap().is_match(&code));
    }

    #[test]
    fn colliding_variant_names_are_spelled_out_in_a_vendored_enum() {
        let mut fragments = vendored();
        let v2v = fragments
            .iter_mut()
            .find(|f| f.model_id().as_deref() == Some("bytedance/seedance-2.0-v2v"))
            .unwrap();
        let values = v2v
            .operation
            .get_mut("requestBody")
            .and_then(|b| {
                b.pointer_mut("/content/application~1json/schema/properties/resolution/enum")
            })
            .and_then(Value::as_array_mut)
            .unwrap();
        values.push("720 p".into());
        let code = generate(&fragments).unwrap().code;
        for want in [
            "Self::Resolution720p => f.write_str(\"720p\")",
            "Self::Resolution720Spacep => f.write_str(\"720 p\")",
            "\"720 p\" => Ok(Self::Resolution720Spacep)",
        ] {
            assert!(code.contains(want), "{want}");
        }
    }
}
