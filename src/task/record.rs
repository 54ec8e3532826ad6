//! The task record: what identifies a submitted task and survives a restart.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::task::kind::TaskKind;

/// A submitted Modellix task: its id, model and submit time.
///
/// Plain data: it serializes (store it, send it to another process; times are
/// RFC 3339); [`Client::resume`](crate::client::Client::resume) binds it to a client again, and
/// [`Client::task`](crate::client::Client::task) rebuilds one from the id alone. Waiting on a
/// rebuilt task works exactly like waiting on the original. Modellix has no cancel
/// endpoint: dropping a wait stops polling only, the task keeps running (and is billed).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = modellix::Client::builder().api_key("sk-example").build()?;
/// let task = client.task("task-abc123")?;
/// let saved = serde_json::to_string(task.task())?;
/// let again: modellix::Task = serde_json::from_str(&saved)?;
/// assert_eq!(again.id(), "task-abc123");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::rfc3339_option"
    )]
    submitted_at: Option<SystemTime>,
    #[serde(default)]
    kind: TaskKind,
}

/// Any id Modellix may issue: not empty, no control characters, and not a path's
/// `.` or `..` (which no URL can carry as a segment). Others are percent-encoded.
pub(crate) fn is_usable_task_id(id: &str) -> bool {
    !id.is_empty() && !id.chars().any(char::is_control) && id != "." && id != ".."
}

impl Task {
    pub(crate) fn submitted(
        id: String,
        model_id: &str,
        submitted_at: SystemTime,
        kind: TaskKind,
    ) -> Task {
        Task {
            id,
            model_id: Some(model_id.to_owned()),
            submitted_at: Some(submitted_at),
            kind,
        }
    }

    /// The task id Modellix issued.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `provider/model`, when known (not for a task rebuilt from its id alone).
    pub fn model_id(&self) -> Option<&str> {
        self.model_id.as_deref()
    }

    /// When the submission was sent, when known.
    pub fn submitted_at(&self) -> Option<SystemTime> {
        self.submitted_at
    }

    /// The model and run-time parameters, as polling schedules see them.
    pub fn kind(&self) -> &TaskKind {
        &self.kind
    }
}

impl Task {
    /// A task known by its id alone (checked by the caller).
    pub(crate) fn from_id(id: String) -> Task {
        Task {
            id,
            model_id: None,
            submitted_at: None,
            kind: TaskKind::default(),
        }
    }
}

impl AsRef<Task> for Task {
    fn as_ref(&self) -> &Task {
        self
    }
}
