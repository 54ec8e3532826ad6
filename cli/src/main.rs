//! `modellix`: run Modellix models from the command line, built on the `modellix`
//! library. Everything model-specific comes from the fragments in `spec/`.

mod args;
mod batch;
mod catalog;
mod cmd;
mod failure;
mod fields;
mod hints;
mod output;
mod results;
mod session;
mod submit;
mod violations;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Cmd, Global};
use crate::failure::{Failure, Outcome};
use crate::output::Out;

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let json = argv.iter().any(|a| a == "--json");
    let mut command = Cli::command();
    let (model, unread) = fields_model(&argv).await;
    if let Some(model) = model {
        command = command.mut_subcommand("run", |run| fields::add_flags(run, model));
    }
    let matches = match command.try_get_matches_from(&argv) {
        Ok(matches) => matches,
        Err(e) => {
            // Help without the fields, or a field flag unknown: say why they are missing.
            if let Some(note) = unread {
                Out::new(json).note(note);
            }
            return usage_error(e, json);
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, json),
    };
    let out = Out::new(cli.global.json);
    match dispatch(&cli, &matches, model, &out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print(out.json);
            failure.exit_code()
        }
    }
}

/// `model`: the model of `run` whose fields are flags, if [`fields_model`] found it.
async fn dispatch(
    cli: &Cli,
    matches: &clap::ArgMatches,
    model: Option<&'static catalog::Model>,
    out: &Out,
) -> Outcome {
    let global = &cli.global;
    match &cli.command {
        Cmd::Run(args) => {
            let run = matches.subcommand_matches("run").unwrap_or(matches);
            cmd::run::run(global, args, run, model, out).await
        }
        Cmd::Validate(args) => cmd::validate::run(global, args, out).await,
        Cmd::Schema(args) => cmd::schema::run(global, args, out).await,
        Cmd::Task(command) => cmd::task::run(global, command, out).await,
        Cmd::Batch(args) => cmd::batch::run(global, args, out).await,
        Cmd::Models(args) => cmd::models::run(global, args, out).await,
        Cmd::Doctor => cmd::doctor::run(global, out).await,
        Cmd::History(args) => cmd::ledger::history(global, args, out).await,
        Cmd::Recover => cmd::ledger::recover(global, out).await,
        Cmd::Ledger(command) => cmd::ledger::run(global, command, out).await,
        Cmd::Upload(args) => cmd::upload::run(global, &args.files, out).await,
        Cmd::Sandbox(args) => cmd::sandbox::run(args, out).await,
        Cmd::Auth(command) => cmd::auth::run(global, command, out).await,
        Cmd::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "modellix",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// Help and version go out as clap prints them (exit 0); anything else is bad input
/// (exit 2), as `{"error":…}` with --json.
fn usage_error(e: clap::Error, json: bool) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ if json => {
            // clap's text without its "error: " prefix and the trailing usage hint.
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let message = text.split("\n\n").next().unwrap_or(text).trim_end();
            Failure::bad_input(message).print(true);
            ExitCode::from(failure::Kind::BadInput.code())
        }
        _ => {
            let _ = e.print();
            ExitCode::from(failure::Kind::BadInput.code())
        }
    }
}

/// The model named after `run`, so that its fields become flags before parsing.
fn run_model(argv: &[OsString]) -> Option<&str> {
    const TAKES_VALUE: &[&str] = &[
        "--base-url",
        "--ledger",
        "--profile",
        "--set",
        "--body",
        "--out",
        "--timeout",
    ];
    let words: Vec<&str> = argv.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let at = words.iter().position(|w| *w == "run")?;
    let mut rest = words[at + 1..].iter();
    while let Some(word) = rest.next() {
        if TAKES_VALUE.contains(word) || word.starts_with("--sandbox-") {
            rest.next();
        } else if !word.starts_with('-') {
            return Some(word);
        }
    }
    None
}

/// The model of `run` whose fields become flags: a vendored one, or one read from its
/// live schema page (not with `--no-schema`, which skips that page on purpose). A page
/// that cannot be had leaves the fields to `--set` and `--body`, with a note saying why
/// (shown when the line then does not parse or asks for help; otherwise `run` itself
/// refuses, naming the same reason).
async fn fields_model(argv: &[OsString]) -> (Option<&'static catalog::Model>, Option<String>) {
    let Some(slug) = run_model(argv) else {
        return (None, None);
    };
    if let Some(model) = catalog::find(slug) {
        return (Some(model), None);
    }
    if !catalog::is_well_formed(slug) || argv.iter().any(|a| a == "--no-schema") {
        return (None, None);
    }
    let Some(global) = globals(argv) else {
        return (None, None);
    };
    match cmd::schema::live_page(&global, slug).await {
        Ok((session, live)) => {
            let schema = session.redact_value(live.request_schema().clone());
            (Some(catalog::from_live(live, schema)), None)
        }
        Err(failure) => {
            let note = format!(
                "note: {slug} is not vendored and its live schema page could not be read, \
                 so its fields are not flags here (give them with --set FIELD=VALUE or \
                 --body): {}",
                failure.message
            );
            (None, Some(note))
        }
    }
}

/// The global options alone, read before the model's fields are flags (so the rest of
/// the line may not parse yet); `--help` is left out here so that it is not answered
/// before the fields are known.
fn globals(argv: &[OsString]) -> Option<Global> {
    let argv = argv
        .iter()
        .filter(|a| !matches!(a.to_str(), Some("--help" | "-h")));
    let matches = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(argv)
        .ok()?;
    Global::from_arg_matches(&matches).ok()
}

/// Where the ledger lives: `--ledger`/`MODELLIX_LEDGER`, else in memory for the
/// in-process sandbox (its tasks vanish with it), else the platform's data directory.
pub fn ledger_path(global: &Global) -> Option<PathBuf> {
    if let Some(path) = &global.ledger {
        return Some(path.clone());
    }
    if global.sandbox {
        return None;
    }
    // The library's default (MODELLIX_LEDGER, else the data directory), one path for both.
    Some(modellix::default_ledger_path().unwrap_or_else(|| PathBuf::from("modellix-ledger.sqlite")))
}

#[cfg(test)]
mod tests {
    use super::run_model;

    #[test]
    fn the_model_of_run_is_found_among_options() {
        let argv = |s: &str| s.split(' ').map(Into::into).collect::<Vec<_>>();
        assert_eq!(run_model(&argv("modellix run a/b --set x=1")), Some("a/b"));
        assert_eq!(
            run_model(&argv(
                "modellix --base-url u --json run --set x=1 --no-wait a/b"
            )),
            Some("a/b")
        );
        assert_eq!(run_model(&argv("modellix models")), None);
    }
}
