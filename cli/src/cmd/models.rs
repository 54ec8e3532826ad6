//! `modellix models`: the models this build can run, from the operation table.
//!
//! Modellix's catalog (`GET /api/v1/models`) lists many more; until the library reads
//! it, this lists what `spec/` vendors. The type is not in a fragment, so `--type`
//! matches the model's description.

use serde_json::{Value, json};

use crate::args::ModelsArgs;
use crate::catalog;
use crate::output::Out;

pub fn run(args: &ModelsArgs, out: &Out) {
    let lower = |s: &str| s.to_lowercase();
    let models: Vec<Value> = catalog::all()
        .iter()
        .filter(|m| {
            let provider = m.model_id.split('/').next().unwrap_or_default();
            let text = lower(&format!("{} {} {}", m.model_id, m.summary, m.description()));
            args.provider
                .as_ref()
                .is_none_or(|p| lower(p) == lower(provider))
                && args.kind.as_ref().is_none_or(|k| text.contains(&lower(k)))
                && args
                    .search
                    .as_ref()
                    .is_none_or(|s| text.contains(&lower(s)))
        })
        .map(|m| {
            json!({
                "slug": m.model_id,
                "summary": m.summary,
                "description": m.description(),
                "typed": m.operation().is_some(),
                "fields": m.fields().iter().map(|f| f.name).collect::<Vec<_>>(),
            })
        })
        .collect();
    out.data(&json!({ "models": models }), || {
        for m in &models {
            println!(
                "{:<40} {}",
                m["slug"].as_str().unwrap_or_default(),
                m["summary"].as_str().unwrap_or_default()
            );
        }
        if models.is_empty() {
            eprintln!("no model matches");
        }
    });
}
