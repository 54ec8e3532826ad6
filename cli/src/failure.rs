//! How a command ends badly: a kind (which picks the exit code), a message, and the
//! task id whenever one is known, printed as prose on stderr or as
//! `{"error":{"kind","message","task_id"?}}` on stdout with `--json`.

use std::fmt;
use std::process::ExitCode;

use serde_json::{Value, json};

/// The kinds of ending a script may want to tell apart, one exit code each (listed in
/// `modellix --help`; `no_result` shares 1 with a failed task: no result either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// 1: the task ended as failed.
    TaskFailed,
    /// 1: the task succeeded but gave no result file.
    NoResult,
    /// 2: bad input or settings; nothing was sent.
    BadInput,
    /// 3: the wait gave up; the task may still be running.
    TimedOut,
    /// 4: a submission may or may not have created a (billed) task.
    OutcomeUnknown,
    /// 5: anything else (download, local files, ledger).
    Other,
    /// 6: the key was refused (401/403); nothing was created.
    Auth,
    /// 7: a rate or running-task limit (429); nothing was created, safe to retry later.
    RateLimited,
    /// 8: the API could not be reached (before anything was sent, or a safe query).
    Network,
    /// 9: the API answered with another error.
    Api,
}

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::TaskFailed | Kind::NoResult => 1,
            Kind::BadInput => 2,
            Kind::TimedOut => 3,
            Kind::OutcomeUnknown => 4,
            Kind::Other => 5,
            Kind::Auth => 6,
            Kind::RateLimited => 7,
            Kind::Network => 8,
            Kind::Api => 9,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::TaskFailed => "task_failed",
            Kind::NoResult => "no_result",
            Kind::BadInput => "bad_input",
            Kind::TimedOut => "timed_out",
            Kind::OutcomeUnknown => "outcome_unknown",
            Kind::Other => "other",
            Kind::Auth => "auth",
            Kind::RateLimited => "rate_limited",
            Kind::Network => "network",
            Kind::Api => "api",
        }
    }

    /// Which of two endings a command that handled many tasks reports: the one that
    /// asks the most of the caller (bad input over everything, then an unknown
    /// outcome, then a refused key, then other errors, then tasks still running, then
    /// failed tasks).
    pub fn worst(self, other: Kind) -> Kind {
        let rank = |k: Kind| match k {
            Kind::BadInput => 9,
            Kind::OutcomeUnknown => 8,
            Kind::Auth => 7,
            Kind::Network => 6,
            Kind::RateLimited => 5,
            Kind::Api => 4,
            Kind::Other => 3,
            Kind::TimedOut => 2,
            Kind::NoResult => 1,
            Kind::TaskFailed => 0,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// The exit codes, for `--help`.
pub const EXIT_CODES: &str = "\
Exit codes (--json: {\"error\":{\"kind\",…}}):
  0  success
  1  task_failed: a task failed; no_result: it succeeded with no result file
  2  bad_input: bad input or settings; nothing was sent
  3  timed_out: the task may still be running (the hint prints the resume command)
  4  outcome_unknown: a task may exist; check before submitting again
  5  other: download, local files, ledger
  6  auth: the key was refused (401/403); nothing was created
  7  rate_limited: rate or running-task limit (429); nothing was created, retry later
  8  network: the API could not be reached; nothing was created (or a safe query)
  9  api: the API answered with another error
  130 interrupted: a second Ctrl-C stopped a batch at once (the ledger holds every send)";

/// A command's failure.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
    pub task_id: Option<String>,
    /// Extra JSON fields of the error object (`violations`, `resume`).
    pub details: serde_json::Map<String, Value>,
    /// The command already printed its answer (like `validate --json`); only the exit
    /// code is left to give.
    pub printed: bool,
    /// The HTTP status of the answer, when one came.
    pub status: Option<u16>,
    /// The answer proves no task was created (rejected, or never sent): safe to send
    /// again.
    pub nothing_created: bool,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            task_id: None,
            details: serde_json::Map::new(),
            printed: false,
            status: None,
            nothing_created: false,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Kind::BadInput, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }

    pub fn task(mut self, task_id: impl Into<String>) -> Self {
        self.task_id = Some(task_id.into());
        self
    }

    pub fn detail(mut self, name: &str, value: Value) -> Self {
        self.details.insert(name.to_owned(), value);
        self
    }

    pub fn already_printed(mut self) -> Self {
        self.printed = true;
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.code())
    }

    /// `{"error":{"kind","message","task_id"?,…}}`.
    pub fn to_json(&self) -> Value {
        let mut error = json!({"kind": self.kind.name(), "message": self.message});
        if let (Some(id), Value::Object(map)) = (&self.task_id, &mut error) {
            map.insert("task_id".into(), Value::from(id.as_str()));
        }
        if let Value::Object(map) = &mut error {
            map.extend(self.details.clone());
        }
        json!({ "error": error })
    }

    /// Prints the failure where it belongs for the output mode.
    pub fn print(&self, json: bool) {
        if self.printed {
            return;
        }
        if json {
            println!("{}", self.to_json());
        } else {
            eprintln!("error: {self}");
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kind of a library error.
pub fn kind_of(e: &modellix::Error) -> Kind {
    use modellix::Error as E;
    if e.is_invalid_input() {
        return Kind::BadInput;
    }
    if e.is_task_failed() {
        return Kind::TaskFailed;
    }
    if e.is_empty_result() {
        return Kind::NoResult;
    }
    if e.is_timeout() {
        return Kind::TimedOut;
    }
    if e.is_outcome_unknown() {
        return Kind::OutcomeUnknown;
    }
    match e {
        E::NotSent { .. } | E::Transport { .. } | E::Network { .. } => Kind::Network,
        E::Rejected { .. }
        | E::Api { .. }
        | E::Endpoint { .. }
        | E::UploadQuota { .. }
        | E::FileNotFound { .. }
        | E::Malformed { .. } => match e.status() {
            Some(401 | 403) => Kind::Auth,
            Some(429) => Kind::RateLimited,
            _ => Kind::Api,
        },
        _ => Kind::Other,
    }
}

/// The library's message, with hints for a shell user where the library gives Rust.
fn shell_message(e: &modellix::Error) -> String {
    use modellix::Error as E;
    match e {
        E::OutcomeUnknown {
            model_id,
            task_id: Some(id),
            reason,
            ..
        } => format!(
            "outcome unknown for the {model_id} submission: {reason}. Do not resubmit: task \
             {id} may exist and be billed; check it with `modellix task get {id}` and wait \
             for it with `modellix task wait {id}`"
        ),
        E::UploadQuota { api } => format!(
            "the team's file quota is full ({api}); delete uploaded files in the Modellix \
             console or wait for them to expire (about 7 days)"
        ),
        E::UploadUnknown { reason, .. } => format!(
            "outcome unknown for the upload: {reason}. The file may be stored and count \
             against the quota: check the team's files in the Modellix console before \
             uploading again"
        ),
        E::SlotsFull { limit, .. } => format!(
            "all {limit} of the team's running-task slots are held by runs sharing this \
             ledger, so nothing was sent; run the command again once their tasks end \
             (`modellix recover` lists them), or give the team's real limit with \
             --concurrency N if its tier allows more"
        ),
        E::EmptyResult { task_id, .. } => format!(
            "task {task_id} succeeded but Modellix listed no result files, so nothing was \
             saved; query it again later with `modellix task get {task_id}`, or quote the \
             task id to Modellix support"
        ),
        E::LedgerUnrecorded { ledger, .. } if e.task_id().is_some() => {
            let id = e.task_id().unwrap_or_default();
            format!(
                "task {id} was created, but the ledger could not record it ({ledger}). Keep \
                 this id: wait for it with `modellix task wait {id}`; `modellix recover` \
                 will list the entry as unknown until then"
            )
        }
        other => crate::hints::shell_hints(&other.to_string()),
    }
}

impl From<modellix::Error> for Failure {
    fn from(e: modellix::Error) -> Self {
        let mut failure = Failure::new(kind_of(&e), shell_message(&e));
        failure.task_id = e.task_id().map(str::to_owned);
        failure.status = e.status();
        failure.nothing_created = e.nothing_created();
        if let modellix::Error::Validation(invalid) = &e {
            failure = failure.detail("violations", crate::violations::to_json(invalid));
        }
        failure
    }
}

impl From<modellix::ConfigError> for Failure {
    fn from(e: modellix::ConfigError) -> Self {
        Failure::bad_input(e.to_string())
    }
}

pub type Outcome<T = ()> = Result<T, Failure>;
