//! How a command ends badly: a kind (which picks the exit code), a message, and the
//! task id whenever one is known, printed as prose on stderr or as
//! `{"error":{"kind","message","task_id"?}}` on stdout with `--json`.

use std::fmt;
use std::process::ExitCode;

use serde_json::{Value, json};

/// The kinds of ending a script may want to tell apart, one exit code each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// 1: the task ended as failed.
    TaskFailed,
    /// 2: bad input or settings; nothing was sent.
    BadInput,
    /// 3: the wait gave up; the task may still be running.
    TimedOut,
    /// 4: a submission may or may not have created a (billed) task.
    OutcomeUnknown,
    /// 5: anything else (network, API, download, files).
    Other,
}

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::TaskFailed => 1,
            Kind::BadInput => 2,
            Kind::TimedOut => 3,
            Kind::OutcomeUnknown => 4,
            Kind::Other => 5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::TaskFailed => "task_failed",
            Kind::BadInput => "bad_input",
            Kind::TimedOut => "timed_out",
            Kind::OutcomeUnknown => "outcome_unknown",
            Kind::Other => "other",
        }
    }

    /// Which of two endings a command that handled many tasks reports: the one that
    /// asks the most of the caller (bad input over everything, then an unknown
    /// outcome, then other errors, then tasks still running, then failed tasks).
    pub fn worst(self, other: Kind) -> Kind {
        let rank = |k: Kind| match k {
            Kind::BadInput => 5,
            Kind::OutcomeUnknown => 4,
            Kind::Other => 3,
            Kind::TimedOut => 2,
            Kind::TaskFailed => 1,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

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
    if e.is_invalid_input() {
        Kind::BadInput
    } else if e.is_task_failed() {
        Kind::TaskFailed
    } else if e.is_timeout() {
        Kind::TimedOut
    } else if e.is_outcome_unknown() {
        Kind::OutcomeUnknown
    } else {
        Kind::Other
    }
}

impl From<modellix::Error> for Failure {
    fn from(e: modellix::Error) -> Self {
        let mut failure = Failure::new(kind_of(&e), e.to_string());
        failure.task_id = e.task_id().map(str::to_owned);
        failure.status = e.status();
        failure.nothing_created =
            e.is_rejected() || e.is_invalid_input() || matches!(e, modellix::Error::NotSent { .. });
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
