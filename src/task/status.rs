//! The forward-compatible task status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Status of a Modellix task.
///
/// Modellix documents `pending`, `processing`, `success` and `failed`. Synonyms that
/// Modellix's own command-line client accepts map to the same variants (`completed`,
/// `succeeded` → [`Success`](Self::Success); `error`, `canceled`, `cancelled` →
/// [`Failed`](Self::Failed)). Any other value is kept in [`Other`](Self::Other) instead
/// of failing to decode, and counts as not finished.
///
/// ```
/// use modellix::TaskStatus;
///
/// let status: TaskStatus = serde_json::from_str(r#""succeeded""#).unwrap();
/// assert_eq!(status, TaskStatus::Success);
/// assert!(status.is_terminal());
///
/// let status: TaskStatus = "queued".parse().unwrap();
/// assert_eq!(status, TaskStatus::Other("queued".into()));
/// assert!(!status.is_terminal());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Accepted, not started.
    Pending,
    /// Running.
    Processing,
    /// Finished with a result.
    Success,
    /// Finished without a result.
    Failed,
    /// A value this version of the crate does not know, exactly as the server sent it.
    Other(String),
}

impl TaskStatus {
    /// Maps a status string, synonyms included (case-insensitive).
    pub fn from_wire(value: &str) -> TaskStatus {
        match value.to_ascii_lowercase().as_str() {
            "pending" => TaskStatus::Pending,
            "processing" => TaskStatus::Processing,
            "success" | "succeeded" | "completed" => TaskStatus::Success,
            "failed" | "error" | "canceled" | "cancelled" => TaskStatus::Failed,
            _ => TaskStatus::Other(value.to_owned()),
        }
    }

    /// The canonical string (`"success"`), or the unknown value as received.
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Processing => "processing",
            TaskStatus::Success => "success",
            TaskStatus::Failed => "failed",
            TaskStatus::Other(s) => s,
        }
    }

    /// True once the task has finished, successfully or not.
    pub fn is_terminal(&self) -> bool {
        matches!(self, TaskStatus::Success | TaskStatus::Failed)
    }

    /// True for [`TaskStatus::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, TaskStatus::Success)
    }

    /// True for [`TaskStatus::Failed`].
    pub fn is_failure(&self) -> bool {
        matches!(self, TaskStatus::Failed)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(TaskStatus::from_wire(s))
    }
}

impl Serialize for TaskStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(TaskStatus::from_wire(&value))
    }
}

#[cfg(test)]
mod tests {
    use super::TaskStatus::{self, *};

    #[test]
    fn wire_values_map_to_variants() {
        let table = [
            ("pending", Pending),
            ("processing", Processing),
            ("success", Success),
            ("completed", Success),
            ("succeeded", Success),
            ("SUCCESS", Success),
            ("failed", Failed),
            ("error", Failed),
            ("canceled", Failed),
            ("cancelled", Failed),
            ("queued", Other("queued".into())),
            ("", Other(String::new())),
        ];
        for (wire, want) in table {
            assert_eq!(TaskStatus::from_wire(wire), want, "{wire}");
            let json = serde_json::to_string(wire).unwrap();
            assert_eq!(serde_json::from_str::<TaskStatus>(&json).unwrap(), want);
        }
    }

    #[test]
    fn unknown_values_round_trip_unchanged() {
        let s = TaskStatus::from_wire("Queued-X");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"Queued-X\"");
        assert_eq!(serde_json::to_string(&Success).unwrap(), "\"success\"");
    }
}
