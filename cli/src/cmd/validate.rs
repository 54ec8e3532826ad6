//! `modellix validate`: every rule of the model, checked locally; nothing is sent. A
//! model this build does not vendor is checked by its live schema page (read without
//! the key, cached).

use serde_json::{Value, json};

use crate::args::{Global, ValidateArgs};
use crate::failure::{Failure, Outcome};
use crate::output::Out;
use crate::{catalog, fields, violations};

pub async fn run(global: &Global, args: &ValidateArgs, out: &Out) -> Outcome {
    let vendored = catalog::find(&args.model);
    if vendored.is_none() && !catalog::is_well_formed(&args.model) {
        catalog::require(&args.model)?;
    }
    let body = fields::read_body(&args.body)?;
    let checked = match vendored {
        Some(model) => model.validate(&body),
        None => {
            let (_session, live) = crate::cmd::schema::live_page(global, &args.model).await?;
            out.note(format!(
                "checked by the live schema page of {} ({})",
                args.model,
                crate::cmd::schema::source_text(live.source())
            ));
            live.validate(&body)
        }
    };
    report(&args.model, &body, checked, out)
}

fn report(
    model_id: &str,
    _body: &Value,
    checked: Result<modellix::Warnings, modellix::ValidationError>,
    out: &Out,
) -> Outcome {
    match checked {
        Ok(warnings) => {
            let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
            let answer = json!({"valid": true, "violations": [], "warnings": warnings});
            out.data(&answer, || {
                warnings.iter().for_each(|w| eprintln!("warning: {w}"));
                println!("valid: {model_id} accepts this body");
            });
            Ok(())
        }
        Err(invalid) => {
            let answer = json!({"valid": false, "violations": violations::to_json(&invalid)});
            if out.json {
                println!("{answer}");
                // The answer is the JSON above; the exit code says invalid.
                return Err(Failure::bad_input("invalid").already_printed());
            }
            Err(Failure::bad_input(crate::hints::shell_hints(
                &invalid.to_string(),
            )))
        }
    }
}
