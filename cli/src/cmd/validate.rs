//! `modellix validate`: every rule of the model, checked locally; nothing is sent.

use serde_json::json;

use crate::args::ValidateArgs;
use crate::failure::{Failure, Outcome};
use crate::output::Out;
use crate::{catalog, fields, violations};

pub fn run(args: &ValidateArgs, out: &Out) -> Outcome {
    let model = catalog::require(&args.model)?;
    let body = fields::read_body(&args.body)?;
    match model.validate(&body) {
        Ok(warnings) => {
            let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
            let answer = json!({"valid": true, "violations": [], "warnings": warnings});
            out.data(&answer, || {
                warnings.iter().for_each(|w| eprintln!("warning: {w}"));
                println!("valid: {} accepts this body", model.model_id);
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
