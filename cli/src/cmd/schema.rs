//! `modellix schema`: a model's fragment, as this build vendors it or as its live
//! schema page gives it (`--live`, and always for a model this build does not vendor).

use modellix::{LiveSchema, Operation, SchemaSource};
use serde_json::Value;

use crate::args::{Global, SchemaArgs};
use crate::catalog;
use crate::failure::{Failure, Outcome};
use crate::output::Out;
use crate::session::Session;

/// The live schema page of `model` (read without the key), with the session that read
/// it, for redacting what the page says.
pub async fn live_page(global: &Global, model: &str) -> Outcome<(Session, LiveSchema)> {
    let session = Session::for_schema_pages(global).await?;
    let live = session
        .client
        .live_schema(model)
        .await
        .map_err(|e| session.redact_failure(e.into()))?;
    Ok((session, live))
}

pub async fn run(global: &Global, args: &SchemaArgs, out: &Out) -> Outcome {
    if !catalog::is_well_formed(&args.model) {
        catalog::require(&args.model)?;
    }
    let vendored = Operation::for_model(&args.model).and_then(Operation::fragment_json);
    let page: Value = match vendored {
        Some(text) if !args.live => {
            out.note(format!("{}: the fragment this build vendors", args.model));
            serde_json::from_str(text)
                .map_err(|e| Failure::other(format!("the vendored fragment: {e}")))?
        }
        _ => {
            let (session, live) = live_page(global, &args.model).await?;
            out.note(format!(
                "{}: its live schema page ({})",
                args.model,
                source_text(live.source())
            ));
            session.redact_value(live.page().clone())
        }
    };
    out.data(&page, || {
        println!(
            "{}",
            serde_json::to_string_pretty(&page).unwrap_or_default()
        );
    });
    Ok(())
}

/// Where a live schema came from, for a note.
pub fn source_text(source: &SchemaSource) -> String {
    match source {
        SchemaSource::Fetched => "fetched now".to_owned(),
        SchemaSource::Cache => "cached".to_owned(),
        SchemaSource::StaleCache { reason } => {
            format!("a stale cached copy, because {reason}")
        }
        _ => "live".to_owned(),
    }
}
