//! Validation results as `{"pointer","rule","message"}` objects.

use modellix::{Rule, ValidationError};
use serde_json::{Value, json};

/// A short machine name for a rule.
pub fn rule_name(rule: &Rule) -> &'static str {
    match rule {
        Rule::Required => "required",
        Rule::Type { .. } => "type",
        Rule::MinLength { .. } => "min_length",
        Rule::MaxLength { .. } => "max_length",
        Rule::Minimum { .. } => "minimum",
        Rule::Maximum { .. } => "maximum",
        Rule::MinItems { .. } => "min_items",
        Rule::MaxItems { .. } => "max_items",
        Rule::NotAllowed { .. } => "enum",
        Rule::UnknownField => "unknown_field",
        Rule::Prose { .. } => "prose",
        _ => "other",
    }
}

/// Every violation of `invalid`, in schema order.
pub fn to_json(invalid: &ValidationError) -> Value {
    invalid
        .violations()
        .iter()
        .map(|v| json!({"pointer": v.pointer, "rule": rule_name(&v.rule), "message": crate::hints::shell_hints(&v.rule.to_string())}))
        .collect()
}
