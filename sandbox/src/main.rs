//! `modellix-sandbox`: runs a local Modellix until interrupted.
//!
//! ```text
//! cargo run -p modellix-sandbox -- [--port 8080] [--key KEY] [--timing SPEC]
//!                                  [--fail-share 0.1] [--spread 0.2] [--seed 7]
//!                                  [--rpm 100] [--concurrency-limit 3] [--time-scale 1]
//! ```
//! `--timing`: `instant` (default), `polls:P,Q`, `fixed:MILLIS` or `scaled:FACTOR`.

use std::process::ExitCode;
use std::time::Duration;

use modellix_sandbox::{Failures, Sandbox, SandboxConfig, Timing};

const USAGE: &str = "usage: modellix-sandbox [--port N] [--key KEY] \
[--timing instant|polls:P,Q|fixed:MILLIS|scaled:FACTOR] [--fail-share F] [--spread F] [--seed N] \
[--rpm N (default 100)] [--concurrency-limit N (default 3)] [--time-scale F (default 1)]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("A local Modellix API on 127.0.0.1.\n{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match parse(args.iter().cloned()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let key_given = args.iter().any(|a| a == "--key");
    let sandbox = match config.start().await {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("cannot start the sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sandbox.base_url());
    // The sandbox's default key is a public, fake one: printing it is the point. A key
    // given with --key may be a real one reused by mistake, so that one stays hidden.
    let key = if key_given {
        "the value of --key".to_owned()
    } else {
        sandbox.api_key().to_owned()
    };
    eprintln!(
        "Modellix sandbox listening on {} (API key: {key}); Ctrl-C stops it",
        sandbox.base_url()
    );
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<SandboxConfig, String> {
    // Modellix's own limits unless told otherwise.
    let mut config = Sandbox::builder().rpm(100).concurrency_limit(3);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag}: {what}");
        config = match flag.as_str() {
            "--port" => config.port(value.parse().map_err(|_| bad("not a port"))?),
            "--key" => config.api_key(value),
            "--timing" => config.timing(parse_timing(&value).ok_or_else(|| bad("unknown timing"))?),
            "--fail-share" => config.failures(Failures::Share(
                value.parse().map_err(|_| bad("not a number"))?,
            )),
            "--spread" => config.spread(value.parse().map_err(|_| bad("not a number"))?),
            "--seed" => config.seed(value.parse().map_err(|_| bad("not a number"))?),
            "--rpm" => config.rpm(value.parse().map_err(|_| bad("not a number"))?),
            "--concurrency-limit" => {
                config.concurrency_limit(value.parse().map_err(|_| bad("not a number"))?)
            }
            "--time-scale" => config.time_scale(value.parse().map_err(|_| bad("not a number"))?),
            _ => return Err(format!("unknown flag {flag}")),
        };
    }
    Ok(config)
}

fn parse_timing(spec: &str) -> Option<Timing> {
    let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
    Some(match kind {
        "instant" => Timing::Instant,
        "polls" => {
            let (p, q) = arg.split_once(',')?;
            Timing::Polls {
                pending: p.parse().ok()?,
                processing: q.parse().ok()?,
            }
        }
        "fixed" => Timing::Fixed(Duration::from_millis(arg.parse().ok()?)),
        "scaled" => Timing::Scaled(arg.parse().ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_parse() {
        assert_eq!(parse_timing("instant"), Some(Timing::Instant));
        assert_eq!(
            parse_timing("polls:1,2"),
            Some(Timing::Polls {
                pending: 1,
                processing: 2
            })
        );
        assert_eq!(
            parse_timing("fixed:1500"),
            Some(Timing::Fixed(Duration::from_millis(1500)))
        );
        assert_eq!(parse_timing("scaled:0.1"), Some(Timing::Scaled(0.1)));
        assert_eq!(parse_timing("polls:1"), None);
        assert_eq!(parse_timing("soon"), None);
    }

    #[test]
    fn flags_parse_and_errors_name_the_flag() {
        let args = |s: &str| {
            s.split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert!(parse(args("--port 8080 --key k --seed 3 --fail-share 0.5")).is_ok());
        assert!(parse(args("--rpm 50 --concurrency-limit 2 --time-scale 0.01")).is_ok());
        assert_eq!(parse(args("--rpm x")).unwrap_err(), "--rpm: not a number");
        assert_eq!(parse(args("--port x")).unwrap_err(), "--port: not a port");
        assert_eq!(parse(args("--seed")).unwrap_err(), "--seed needs a value");
        assert_eq!(parse(args("--what 1")).unwrap_err(), "unknown flag --what");
    }
}
