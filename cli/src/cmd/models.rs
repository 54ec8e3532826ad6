//! `modellix models`: Modellix's catalog (`GET /api/v1/models`, through
//! `client.models()`), filtered by its entries' own type, provider and text, whenever
//! a key (or `--sandbox`) is at hand. Without one, the models this build can run, from
//! the operation table: a fragment has no type, so `--type` then matches the model's
//! description.

use modellix::{ModelFilter, WaitOptions};
use serde_json::{Value, json};

use crate::args::{Global, ModelsArgs};
use crate::catalog;
use crate::failure::Outcome;
use crate::output::Out;
use crate::session::Session;

pub async fn run(global: &Global, args: &ModelsArgs, out: &Out) -> Outcome {
    let online = global.sandbox || crate::session::credentials(global).is_ok();
    if !online {
        offline(args, out);
        return Ok(());
    }
    let session = Session::open(global, WaitOptions::default()).await?;
    let entries = session.client.models().await?;
    let mut filter = ModelFilter::new();
    if let Some(kind) = &args.kind {
        filter = filter.model_type(kind);
    }
    if let Some(provider) = &args.provider {
        filter = filter.provider(provider);
    }
    if let Some(search) = &args.search {
        filter = filter.text(search);
    }
    let models: Vec<Value> = filter
        .apply(&entries)
        .into_iter()
        .map(|m| {
            json!({
                "slug": m.slug,
                "type": m.model_type,
                "description": m.description,
                "price": m.price,
                "pricing": m.pricing.as_ref().map(|p| json!({
                    "fixed": p.fixed, "min": p.min, "max": p.max, "unit": p.unit,
                })),
                "docs_url": m.docs_url,
                "typed": m.typed,
            })
        })
        .collect();
    print(
        out,
        &json!({ "models": models, "source": "catalog" }),
        &["price", "description"],
    );
    Ok(())
}

/// The listing, or "no model matches"; `texts` name the fields shown beside a slug
/// (all but the last in a column of their own).
fn print(out: &Out, answer: &Value, texts: &[&str]) {
    let models = answer["models"].as_array().cloned().unwrap_or_default();
    out.data(answer, || {
        for m in &models {
            let mut line = format!("{:<40}", m["slug"].as_str().unwrap_or_default());
            for (i, text) in texts.iter().enumerate() {
                let value = m[*text].as_str().unwrap_or_default();
                if i + 1 < texts.len() {
                    line.push_str(&format!(" {value:<22}"));
                } else {
                    line.push_str(&format!(" {value}"));
                }
            }
            println!("{}", line.trim_end());
        }
        if models.is_empty() {
            eprintln!("no model matches");
        }
    });
}

/// The build's operation table, when no key says which catalog to read.
fn offline(args: &ModelsArgs, out: &Out) {
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
    print(
        out,
        &json!({ "models": models, "source": "build" }),
        &["summary"],
    );
}
