//! The command line: global options, commands and their help texts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The help after `modellix --help`: examples, exit codes and the environment, named
/// by the library's constants.
fn root_help() -> String {
    format!(
        "\
Examples:
  modellix --sandbox run bytedance/seedance-2.0-v2v --set prompt='A calm sea' \\
      --set video_urls=https://example.com/in.mp4      # offline, no key, saves an MP4
  modellix run bytedance/seedance-2.0-v2v --set prompt='Extend [Video 1]' \\
      --set video_urls=./clip.mp4                      # a local clip, uploaded
  modellix run bytedance/seedance-2.0-v2v --help       # the model's fields as flags
  modellix validate bytedance/seedance-2.0-v2v --body @request.json
  modellix batch jobs.jsonl --concurrency 2            # rerun the same command to resume
  modellix task wait task-abc123 task-def456 --out results/
  modellix recover                                     # ids to resume, outcomes to check
  modellix ledger dismiss 42                           # entry 42 checked in the console

{codes}

Environment variables:
  {key:<18} the API key (never printed); not needed with --sandbox
  {url:<18} another API origin (same as --base-url); results from it may be
  {blank:<18} downloaded over http or from a private address
  {ledger:<18} the task ledger file (same as --ledger)
  {profile:<18} the stored profile to use (same as --profile; see `modellix auth`)",
        codes = crate::failure::EXIT_CODES,
        key = modellix::API_KEY_ENV,
        url = modellix::BASE_URL_ENV,
        ledger = modellix::LEDGER_ENV,
        profile = modellix::PROFILE_ENV,
        blank = "",
    )
}

/// The `modellix` command.
#[derive(Parser, Debug)]
#[command(
    name = "modellix",
    version,
    about = "Run Modellix models, wait for their tasks and save the results",
    after_help = root_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

/// Options of every command.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Machine-readable output on stdout (errors too: {"error":{…}}); no progress.
    #[arg(long, global = true)]
    pub json: bool,
    /// Use a local Modellix started in this process: no key, no cost.
    #[arg(long, global = true, conflicts_with = "base_url")]
    pub sandbox: bool,
    /// The API origin.
    #[arg(long, global = true, env = modellix::BASE_URL_ENV, value_name = "URL")]
    pub base_url: Option<String>,
    /// The task ledger, where every submission is recorded before it is sent
    /// [default: modellix/ledger.sqlite in the platform's data directory; in memory
    /// with --sandbox].
    #[arg(long, global = true, env = modellix::LEDGER_ENV, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// The stored profile whose key (and origin) to use when MODELLIX_API_KEY is not
    /// set [default: default]; see `modellix auth login`.
    #[arg(long, global = true, env = modellix::PROFILE_ENV, value_name = "NAME")]
    pub profile: Option<String>,
    /// Allow result downloads over plain http.
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
    /// Allow result downloads from private, loopback and link-local addresses.
    #[arg(long, global = true)]
    pub allow_private_network: bool,
    #[command(flatten)]
    pub sandbox_options: SandboxOptions,
}

/// How the in-process sandbox behaves (for tests and demos; hidden).
#[derive(Args, Debug, Clone)]
pub struct SandboxOptions {
    /// Seconds each sandbox task runs.
    #[arg(long, global = true, default_value_t = 2.0, hide = true)]
    pub sandbox_task_seconds: f64,
    /// Make every sandbox task fail.
    #[arg(long, global = true, hide = true)]
    pub sandbox_fail: bool,
    /// Drop the connection after the sandbox read the first submit.
    #[arg(long, global = true, hide = true)]
    pub sandbox_reset_submit: bool,
    /// The sandbox's requests per minute per key.
    #[arg(long, global = true, default_value_t = 100, hide = true)]
    pub sandbox_rpm: u32,
    /// The sandbox's running-task limit.
    #[arg(long, global = true, default_value_t = 3, hide = true)]
    pub sandbox_concurrency_limit: u32,
    /// The sandbox's time scale for its limits.
    #[arg(long, global = true, default_value_t = 1.0, hide = true)]
    pub sandbox_time_scale: f64,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Submit one task, wait for it and save its results.
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Check a request body against the model's schema and rules; sends nothing.
    #[command(after_help = VALIDATE_HELP)]
    Validate(ValidateArgs),
    /// Print a model's schema fragment: vendored, or its live schema page.
    #[command(
        after_help = "Examples:\n  modellix schema bytedance/seedance-2.0-v2v\n  \
        modellix schema xai/grok-imagine-video        # not vendored: its live page\n  \
        modellix schema openai/gpt-image-2 --live\n\n\
        Live pages come from $MODELLIX_SCHEMA_URL (default https://www.modellix.ai), \
        without the key, and are cached for a day."
    )]
    Schema(SchemaArgs),
    /// Status, wait and download for tasks by id.
    #[command(subcommand)]
    Task(TaskCmd),
    /// Submit many jobs from a JSON Lines file within Modellix's limits; resumable.
    #[command(after_help = BATCH_HELP)]
    Batch(BatchArgs),
    /// The models this build can run.
    #[command(
        after_help = "Examples:\n  modellix models\n  modellix models --provider bytedance --search v2v --json"
    )]
    Models(ModelsArgs),
    /// Check the key, the API, the clock and the ledger.
    #[command(after_help = "Examples:\n  modellix doctor\n  modellix doctor --json")]
    Doctor,
    /// Recent submissions from the ledger.
    #[command(after_help = "Examples:\n  modellix history\n  modellix history --limit 5 --json")]
    History(HistoryArgs),
    /// Upload local files (image, video, audio; 16 MB each) for a model's URL fields.
    #[command(after_help = "Examples:\n  modellix upload clip.mp4\n  \
        modellix upload a.png b.png --json\n\n\
        Each upload counts against the team's 10 files (kept about 7 days) and is never \
        retried: after an unknown outcome, check the team's files before uploading again.")]
    Upload(UploadArgs),
    /// Submissions not finished: ids to resume and unknown outcomes to check.
    #[command(after_help = "Examples:\n  modellix recover\n  modellix recover --json")]
    Recover,
    /// Change what the ledger records (after a check in the Modellix console).
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Run a local Modellix until interrupted; prints its URL and its key.
    #[command(after_help = "Examples:\n  modellix sandbox --port 8080\n  \
        MODELLIX_BASE_URL=http://127.0.0.1:8080 MODELLIX_API_KEY=sk-sandbox-local modellix doctor")]
    Sandbox(SandboxArgs),
    /// Store, show or remove a profile's key (`auth login`, `auth status`, `auth logout`).
    #[command(subcommand)]
    Auth(AuthCmd),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  modellix completions bash > ~/.local/share/bash-completion/completions/modellix\n  \
        modellix completions zsh > ~/.zfunc/_modellix"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

const RUN_HELP: &str = "\
Examples:
  modellix run bytedance/seedance-2.0-v2v --prompt 'Extend [Video 1]' \\
      --video-urls https://example.com/in.mp4 --duration 8
  modellix run bytedance/seedance-2.0-v2v --body @request.json --set duration=10
  modellix run bytedance/seedance-2.0-v2v --body - --no-wait < request.json
  modellix run bytedance/seedance-2.0-v2v --set prompt='Extend [Video 1]' \\
      --set video_urls=./clip.mp4           # a local file: uploaded, deleted after
  modellix run MODEL --help                 # that model's fields as flags

A local path (./clip.mp4, /abs/path.png or file://…) in a URL or media field goes
inline where the field takes base64 and it is a small image, and is uploaded otherwise;
uploads are deleted once the task has ended unless --keep-uploads.

The request is validated before anything is sent, then sent exactly once and recorded
in the ledger. Exit codes: 0 ok, 1 failed or no result, 2 bad input, 3 timed out,
4 outcome unknown, 5 other, 6 key refused, 7 rate limited, 8 network, 9 API error
(see `modellix --help`).";

const VALIDATE_HELP: &str = "\
Examples:
  modellix validate bytedance/seedance-2.0-v2v --body @request.json
  modellix validate bytedance/seedance-2.0-v2v --body '{\"prompt\":\"x\"}' --json

Exit code 0 when valid, 2 when not. With --json:
  {\"valid\": bool, \"violations\": [{\"pointer\", \"rule\", \"message\"}]}";

const BATCH_HELP: &str = "\
One job per line: {\"model\": \"provider/model\", \"body\": {…}, \"id\": \"optional name\"}.
Every line is validated before the first submission; a bad line stops the batch with its
line number and nothing is sent.

A job is its content: it is recorded in the ledger under its id, or without one under
the digest of its model and body (the 2nd identical line is its own job). Inserting,
moving or deleting lines, or copying the file elsewhere, changes nothing: running the
same command again after Ctrl-C or a crash continues, done jobs are not sent again and
unknown outcomes are listed, never resent. A job whose id the ledger holds with another
model or body stops the batch before anything is sent (exit 2): give the job a new id,
or send it anyway with --resend ID (recorded in the ledger as a new request).

At most --concurrency tasks run at once (fewer while Modellix answers \"Concurrent limit
exceeded\"), every request stays under the key's rate limit, tasks are waited for with
the library's (learning) poll schedule, and results are saved as each task ends. The
schedule learns each kind's run time from the answers' `duration` and the ledger keeps
it, so a later batch polls near the end from its first task (on a fresh ledger the
first tasks are polled after 2 s, then with growing gaps; --poll-interval 1 suits short
tasks). After a submission whose outcome is unknown no new job is started (exit 4)
unless --continue-on-unknown; check it in the Modellix console, then
`modellix ledger dismiss ENTRY` (see `modellix recover`).

Modellix's limits come in tiers, set by the team's largest single top-up and kept for
good (the console's \"Entitlements\" page shows yours):
  top-up      running tasks   requests a minute
  under $10         2               100
  $10              10               100
  $100             20               200
  $200             30               300
  $500             50               500
  $1,000          100             1,000
Running tasks are shared by every key of the team; requests a minute (polls included)
are per key. Without --concurrency a batch learns the running-task limit: it starts from
what the ledger learned for this key (else 2), probes one slot higher while Modellix never
answered \"Concurrent limit exceeded\" (such a 429 creates nothing; the job is sent again
once a slot frees) and keeps what it learned for the next run. Or set --concurrency to
your tier's running tasks, and --rpm to its requests a minute (the server's
X-RateLimit-* headers win when present). Older guides that speak of
\"about 3 running tasks\" are out of date.

--max-tasks N caps the paid tasks this run may create: with more new jobs than N the
batch refuses before sending anything and names both numbers (exit 2). --max-cost USD
caps what this run spends: no new job starts once the billed total plus a bound for the
running tasks would pass it (exit 3, the summary says what was billed and how to go on).
Each task's billed amount (`billing.amount`, an exact decimal) is in the `finished` and
`saved` events, the summary's `cost` totals them exactly (`unpriced` counts the tasks
that gave no amount, never as $0), and `modellix history` lists them. On a terminal a
batch of more than 20 new jobs asks for confirmation first; --yes skips it.

Ctrl-C: no new submission starts, the one being sent is finished and recorded, and the
summary lists the tasks still running and the command that resumes (exit 3). A second
Ctrl-C exits at once (exit 130); the ledger holds everything sent.

Exit codes: 0 every job done, 1 a task failed, 2 bad input (nothing sent), 3 timed out
or stopped (rerun to continue), 4 an outcome is unknown, 5 other (a result not saved,
a task that succeeded without result files).

Examples:
  modellix batch jobs.jsonl --concurrency 10 --rpm 100 --out results/   # a $10 tier
  modellix batch jobs.jsonl --max-tasks 50 --yes     # refuse if more than 50 would be paid
  modellix batch jobs.jsonl --max-cost 20            # start no job that could pass $20
  modellix batch jobs.jsonl --json > events.jsonl
  modellix batch jobs.jsonl --resend job-7           # send job-7 again, knowingly";

/// `modellix run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The model, as provider/model.
    pub model: String,
    /// Set one field: FIELD=VALUE (repeat for arrays); converted to the field's type.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// The request body: JSON, @FILE or - for stdin; fields given as flags go on top.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub body: Option<String>,
    /// Print the task id once submitted and exit.
    #[arg(long)]
    pub no_wait: bool,
    /// Ask Modellix to POST to this https URL when the task ends (X-Webhook-URL;
    /// documented in Modellix's articles). Recorded in the ledger with the request.
    #[arg(long, value_name = "URL", value_parser = webhook_url)]
    pub webhook: Option<String>,
    /// Keep the files uploaded for local paths after the task ends (deleted by
    /// default; kept anyway while the task may still be running).
    #[arg(long)]
    pub keep_uploads: bool,
    /// Send a body for a model this build does not vendor without checking it against
    /// the model's live schema page (refused otherwise when no schema can be had).
    #[arg(long)]
    pub no_schema: bool,
    #[command(flatten)]
    pub save: SaveArgs,
    /// Give up waiting after this many seconds (the task keeps running).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..), value_name = "SECS")]
    pub timeout: u64,
}

/// Where results go.
#[derive(Args, Debug, Clone)]
pub struct SaveArgs {
    /// Print the result URLs instead of downloading.
    #[arg(long)]
    pub no_download: bool,
    /// Where to save results.
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
}

/// `modellix validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The model, as provider/model.
    pub model: String,
    /// The request body: JSON, @FILE or - for stdin.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub body: String,
}

/// `modellix schema`.
#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// The model, as provider/model.
    pub model: String,
    /// Read the model's public schema page (cached) even when this build vendors it.
    #[arg(long)]
    pub live: bool,
}

#[derive(Subcommand, Debug)]
pub enum TaskCmd {
    /// The current status of each task.
    #[command(
        after_help = "Examples:\n  modellix task get task-abc123\n  modellix task get task-abc123 task-def456 --json"
    )]
    Get(TaskIds),
    /// Wait for every task, saving results as each ends; partial results on timeout.
    #[command(
        after_help = "Examples:\n  modellix task wait task-abc123 --out results/\n  \
        modellix task wait task-abc123 task-def456 --timeout 120 --no-download --json"
    )]
    Wait(TaskWaitArgs),
    /// Save the results of finished tasks.
    #[command(after_help = "Examples:\n  modellix task download task-abc123 --out results/")]
    Download(TaskDownloadArgs),
}

#[derive(Args, Debug)]
pub struct TaskIds {
    /// Task ids (up to 1000).
    #[arg(required = true, num_args = 1..=1000, value_name = "TASK_ID")]
    pub ids: Vec<String>,
    /// Tasks handled at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

#[derive(Args, Debug)]
pub struct TaskWaitArgs {
    #[command(flatten)]
    pub tasks: TaskIds,
    #[command(flatten)]
    pub save: SaveArgs,
    /// Give up after this many seconds; finished tasks are still reported.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..), value_name = "SECS")]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct TaskDownloadArgs {
    #[command(flatten)]
    pub tasks: TaskIds,
    /// Where to save results.
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
}

/// `modellix batch`.
#[derive(Args, Debug)]
pub struct BatchArgs {
    /// The jobs, one JSON object per line.
    pub jobs: PathBuf,
    /// Send bodies for models this build does not vendor without checking them against
    /// their live schema pages (refused otherwise when no schema can be had).
    #[arg(long)]
    pub no_schema: bool,
    /// Tasks running at once: the team's running-task limit, set by its tier (2 under
    /// a $10 top-up, up to 100; see below). Fewer run while Modellix answers
    /// "Concurrent limit exceeded" [default: learned, from the ledger's value for
    /// this key or 2, the lowest tier's].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100), value_name = "N")]
    pub concurrency: Option<u32>,
    /// The most paid tasks this run may create: a batch with more new jobs refuses
    /// before sending anything (exit 2). A safety cap on spending, as in Modellix's
    /// own CLI.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub max_tasks: Option<u32>,
    /// The most this run may spend, in USD (`5`, `12.50`): no new job starts once the
    /// amount billed so far plus a bound for the running tasks and the next one (the
    /// largest amount billed so far for its model, or the catalog's highest per-item
    /// price) would pass it. A model with no known bound runs one task at a time until
    /// its first is billed. Counts this run only (exit 3 when it stops jobs).
    #[arg(long, value_parser = parse_usd, value_name = "USD")]
    pub max_cost: Option<modellix::Cost>,
    /// Do not ask for confirmation before a large batch on a terminal (without a
    /// terminal nothing is asked).
    #[arg(long)]
    pub yes: bool,
    /// Requests per minute for this key, polls included, when the server does not say.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub rpm: u32,
    /// Seconds between status queries of one running task, until the learning
    /// schedule knows tasks of its kind [default: 1 s growing by a tenth to 10 s,
    /// then what the schedule learned].
    #[arg(long, value_name = "SECS")]
    pub poll_interval: Option<f64>,
    /// Send this job again although the ledger holds it (done, unknown, dismissed, or
    /// its id recorded with another body); JOB is its id, or line-N. Repeatable. Each
    /// resend is a new paid task, recorded as `<marker>#resend-N`.
    #[arg(long, value_name = "JOB")]
    pub resend: Vec<String>,
    /// Ask Modellix to POST to this https URL when each task ends (X-Webhook-URL;
    /// documented in Modellix's articles). Recorded in the ledger with each request.
    #[arg(long, value_name = "URL", value_parser = webhook_url)]
    pub webhook: Option<String>,
    /// Go on starting jobs after a submission whose outcome is unknown (by default the
    /// batch stops starting new ones: the server or the network is misbehaving).
    #[arg(long)]
    pub continue_on_unknown: bool,
    /// Keep the files uploaded for local paths after each task ends (deleted by
    /// default; kept anyway while a task may still be running).
    #[arg(long)]
    pub keep_uploads: bool,
    #[command(flatten)]
    pub save: SaveArgs,
    /// Give up after this many seconds; rerun the command to continue.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..), value_name = "SECS")]
    pub timeout: u64,
    /// With a PostgreSQL ledger shared by several batches: seconds a running task's
    /// team slot stays held without a status query before another batch takes the
    /// task over and waits for it (a batch that was killed, say). Keep it well above
    /// the pause between two polls.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECS")]
    pub slot_lease: u64,
    /// Send without the client-side rate limiter: no pacing, no client-wide pause
    /// after a 429 (to measure what the limiter prevents).
    #[arg(long, hide = true)]
    pub no_rate_limiter: bool,
    /// Poll every --poll-interval (else by the library's default backoff) without
    /// learning run times, as Modellix's own CLI does every 2 s (to measure what the
    /// learning schedule saves).
    #[arg(long, hide = true)]
    pub no_learning: bool,
    /// The length of the server's minute for the rate limiter, in seconds (tests
    /// against a time-scaled sandbox; default: a real minute, or the in-process
    /// sandbox's scaled one).
    #[arg(long, hide = true, value_name = "SECS")]
    pub rate_window: Option<f64>,
}

#[derive(Subcommand, Debug)]
pub enum LedgerCmd {
    /// Mark an entry as checked: its outcome is no longer unknown for `recover` and
    /// `batch` (which does not send its job again unless told `--resend`).
    #[command(
        after_help = "Examples:\n  modellix recover                   # the entries to check\n  \
        modellix ledger dismiss 42          # asks for confirmation\n  \
        modellix ledger dismiss 42 --yes --json\n\n\
        Check the Modellix console first: an entry whose outcome is unknown may have \
        created a billed task. Exit codes: 0 dismissed, 2 no such open entry or not \
        confirmed, 5 the ledger cannot be written."
    )]
    Dismiss(DismissArgs),
}

/// `modellix ledger dismiss`.
#[derive(Args, Debug)]
pub struct DismissArgs {
    /// The entry's number, as `modellix recover` lists it.
    pub entry: i64,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// `modellix models`.
#[derive(Args, Debug)]
pub struct ModelsArgs {
    /// Only this type (text-to-video, video-to-video, …), as Modellix's catalog gives
    /// it when a key is set (without one, matched in this build's descriptions).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only models whose id or description contains this text.
    #[arg(long)]
    pub search: Option<String>,
}

/// `modellix upload`.
#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The files to upload.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
}

/// `modellix history`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// How many entries, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// `modellix sandbox`.
#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Requests per minute per key.
    #[arg(long, default_value_t = 100)]
    pub rpm: u32,
    /// Tasks that may run at once.
    #[arg(long, default_value_t = 3)]
    pub concurrency_limit: u32,
    /// Seconds each task runs.
    #[arg(long, default_value_t = 10.0)]
    pub task_seconds: f64,
    /// Scales the clock of the limits (0.01: a minute lasts 0.6 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

/// `--webhook`: refused before anything is sent (https, or http to a loopback host).
fn webhook_url(raw: &str) -> Result<String, String> {
    modellix::check_webhook_url(raw)
        .map(|()| raw.to_owned())
        .map_err(|e| e.problem)
}

/// A positive amount of US dollars for `--max-cost` (`5`, `12.50`), exact.
fn parse_usd(text: &str) -> Result<modellix::Cost, String> {
    let cost: modellix::Cost = text
        .trim()
        .trim_start_matches('$')
        .parse()
        .map_err(|e: modellix::CostParseError| e.to_string())?;
    if cost <= modellix::Cost::ZERO {
        return Err(format!(
            "{text:?} is not a positive amount of dollars, e.g. --max-cost 5"
        ));
    }
    Ok(cost)
}

#[derive(Subcommand, Debug)]
pub enum AuthCmd {
    /// Check a key with Modellix (free) and store it under the profile.
    #[command(after_help = AUTH_LOGIN_HELP)]
    Login {
        /// Read the key from standard input instead of a hidden prompt.
        #[arg(long)]
        with_token: bool,
    },
    /// The profile in use, its origin and where its key is kept (never the key).
    #[command(
        after_help = "Examples:\n  modellix auth status\n  modellix --profile work auth status --json"
    )]
    Status,
    /// Remove the profile's stored key.
    #[command(
        after_help = "Examples:\n  modellix auth logout\n  modellix --profile work auth logout"
    )]
    Logout,
}

const AUTH_LOGIN_HELP: &str = "\
Examples:
  modellix auth login                               # asks for the key, input hidden
  modellix --profile work auth login --with-token < key.txt
  modellix --profile local --base-url http://127.0.0.1:8080 auth login --with-token

The key is checked with Modellix's free key validation first; a refused key is not
stored. It is kept in a file of mode 0600 in the configuration directory (`auth
status` says where), with the origin when --base-url or MODELLIX_BASE_URL is given.
MODELLIX_API_KEY, when set, is used instead of any profile.";
