//! Simulated tasks: how long they take, what they answer at each stage of their life.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use modellix::OutputFile;
use serde_json::{Value, json};

use crate::config::Timing;
use crate::records::{Outcome, TaskRecord};

/// The output kind of a transcript: served in the resource itself, not as a file.
const TEXT: &str = "text";

/// Real-world seconds of generation per second of 720p video; a 5 s 720p clip takes
/// about a minute, in line with what Seedance takes.
const SECONDS_PER_VIDEO_SECOND: f64 = 12.0;

/// The duration Modellix would plausibly take for this request, from its `duration`
/// (seconds of video, default 5) and `resolution` (cost grows with the pixel count;
/// 720p is the reference). [`Timing::Scaled`] multiplies it.
///
/// ```
/// use std::time::Duration;
/// use serde_json::json;
///
/// let short = modellix_sandbox::realistic_duration(&json!({"duration": 4, "resolution": "480p"}));
/// let long = modellix_sandbox::realistic_duration(&json!({"duration": 15, "resolution": "1080p"}));
/// assert!(short < long);
/// assert_eq!(modellix_sandbox::realistic_duration(&json!({})), Duration::from_secs(60));
/// ```
pub fn realistic_duration(body: &Value) -> Duration {
    let seconds = body.get("duration").and_then(Value::as_f64).unwrap_or(5.0);
    let lines = short_side(body) as f64;
    let pixels_factor = (lines / 720.0).powi(2);
    Duration::from_secs_f64((seconds.max(1.0)) * SECONDS_PER_VIDEO_SECOND * pixels_factor)
}

/// Lines of the short side, from `resolution` ("720p"); 720 when absent or unknown.
fn short_side(body: &Value) -> u32 {
    body.get("resolution")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_suffix('p'))
        .and_then(|n| n.parse().ok())
        .filter(|&n| (100..=4320).contains(&n))
        .unwrap_or(720)
}

/// Width and height of the video the request asks for, from `resolution` and `ratio`
/// (16:9 when absent or `adaptive`); both even, as encoders want.
fn frame_size(body: &Value) -> (u32, u32) {
    let short = short_side(body);
    let (a, b) = body
        .get("ratio")
        .and_then(Value::as_str)
        .and_then(|r| r.split_once(':'))
        .and_then(|(a, b)| Some((a.parse::<f64>().ok()?, b.parse::<f64>().ok()?)))
        .filter(|&(a, b)| a > 0.0 && b > 0.0)
        .unwrap_or((16.0, 9.0));
    let long = |ratio: f64| ((short as f64 * ratio / 2.0).round() as u32) * 2;
    if a >= b {
        (long(a / b), short)
    } else {
        (short, long(b / a))
    }
}

/// How long result URLs work after a task ends (Modellix: 7 days).
const RESULT_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// `time` in Unix milliseconds, as Modellix writes `result_expires_at`.
fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Pending,
    Processing,
    Done,
}

/// A task and its simulated clock.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) record: TaskRecord,
    started: Instant,
    duration: Duration,
    /// What the model answers with, from its rules file.
    outputs: &'static [OutputFile],
}

impl Task {
    /// The files this task produces, as `(name, output)`: every declared output whose
    /// `when` field the request set to `true`, named `<role or kind>.<extension>`.
    fn files(&self) -> Vec<(String, &'static OutputFile)> {
        self.outputs
            .iter()
            .filter(|o| {
                o.when
                    .is_none_or(|f| self.record.body.get(f).and_then(Value::as_bool) == Some(true))
            })
            .filter_map(|o| {
                let ext = match o.kind {
                    TEXT => "txt",
                    kind => crate::files::for_kind(kind)?.0,
                };
                Some((format!("{}.{ext}", o.role.unwrap_or(o.kind)), o))
            })
            .collect()
    }

    /// Files this task serves once it succeeded, by name.
    pub(crate) fn has_file(&self, name: &str) -> bool {
        self.record.outcome == Outcome::Success
            && self.stage_now() == Stage::Done
            && self.files().iter().any(|(n, _)| n == name)
    }

    /// Not at its final status yet; an instant task never runs, a counted one runs
    /// until the query that finds it done.
    fn is_running(&self, timing: &Timing) -> bool {
        match timing {
            Timing::Instant => false,
            Timing::Polls {
                pending,
                processing,
            } => self.record.queries <= u64::from(*pending) + u64::from(*processing),
            Timing::Fixed(_) | Timing::Scaled(_) => self.stage_now() != Stage::Done,
        }
    }

    /// Counts one query and answers the task as it stands after it.
    pub(crate) fn query(&mut self, timing: &Timing, base_url: &str) -> Value {
        self.record.queries += 1;
        let stage = match timing {
            Timing::Instant => Stage::Done,
            Timing::Polls {
                pending,
                processing,
            } => {
                let n = self.record.queries;
                if n <= u64::from(*pending) {
                    Stage::Pending
                } else if n <= u64::from(*pending) + u64::from(*processing) {
                    Stage::Processing
                } else {
                    Stage::Done
                }
            }
            Timing::Fixed(_) | Timing::Scaled(_) => self.stage_now(),
        };
        self.data(stage, base_url)
    }

    /// The final answer, once the task has ended; not counted as a query.
    pub(crate) fn final_data(&self, timing: &Timing, base_url: &str) -> Option<Value> {
        (!self.is_running(timing)).then(|| self.data(Stage::Done, base_url))
    }

    /// The stage by the clock alone: the first fifth of the time is spent queued.
    fn stage_now(&self) -> Stage {
        let elapsed = self.started.elapsed();
        if elapsed >= self.duration {
            Stage::Done
        } else if elapsed < self.duration / 5 {
            Stage::Pending
        } else {
            Stage::Processing
        }
    }

    fn data(&self, stage: Stage, base_url: &str) -> Value {
        let r = &self.record;
        let mut data = json!({"task_id": r.task_id, "model_id": r.model_id});
        let fields = match (stage, r.outcome) {
            (Stage::Pending, _) => json!({"status": "pending"}),
            (Stage::Processing, _) => json!({"status": "processing"}),
            (Stage::Done, Outcome::Failed) => json!({
                "status": "failed",
                "error": {
                    "code": "generation_failed",
                    "message": "the model could not generate this video (simulated failure)",
                },
            }),
            (Stage::Done, Outcome::Success) => json!({
                "status": "success",
                "result": {"resources": self.resources(base_url)},
                "billing": {
                    "status": "succeeded",
                    "amount": crate::prices::billed(&r.model_id, &r.body, self.files().len()),
                },
                "result_expires_at": unix_ms(r.created_at + self.duration + RESULT_LIFETIME),
            }),
        };
        if let (Value::Object(data), Value::Object(fields)) = (&mut data, fields) {
            data.extend(fields);
        }
        if stage == Stage::Done {
            // Like Modellix: the run time in milliseconds on a finished task.
            data["duration"] = json!(self.duration.as_millis() as u64);
        }
        data
    }

    fn resources(&self, base_url: &str) -> Vec<Value> {
        let r = &self.record;
        let (width, height) = frame_size(&r.body);
        self.files()
            .into_iter()
            .map(|(name, output)| {
                if output.kind == TEXT {
                    // A transcript: its text in the resource, no URL, and a field no
                    // client knows, as an undocumented shape may well have.
                    let audio = r.body.get("url").and_then(Value::as_str);
                    let text = crate::files::transcript(audio);
                    return json!({"type": TEXT, "text": text, "format": "txt", "language": "en"});
                }
                let mut resource = json!({
                    "type": output.kind,
                    "url": format!("{base_url}/files/{}/{name}", r.task_id),
                    "format": name.rsplit('.').next().unwrap_or_default(),
                });
                if output.kind != "audio" {
                    resource["width"] = json!(width);
                    resource["height"] = json!(height);
                }
                if let Some(role) = output.role {
                    resource["role"] = json!(role);
                }
                resource
            })
            .collect()
    }
}

/// Every task, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Tasks {
    list: Vec<Task>,
    index: HashMap<String, usize>,
}

impl Tasks {
    pub(crate) fn insert(
        &mut self,
        record: TaskRecord,
        duration: Duration,
        outputs: &'static [OutputFile],
    ) {
        self.index.insert(record.task_id.clone(), self.list.len());
        self.list.push(Task {
            record,
            started: Instant::now(),
            duration,
            outputs,
        });
    }

    pub(crate) fn get_mut(&mut self, task_id: &str) -> Option<&mut Task> {
        self.index.get(task_id).map(|&i| &mut self.list[i])
    }

    /// How many tasks are still running.
    pub(crate) fn running(&self, timing: &Timing) -> usize {
        self.list.iter().filter(|t| t.is_running(timing)).count()
    }

    pub(crate) fn records(&self) -> Vec<TaskRecord> {
        self.list.iter().map(|t| t.record.clone()).collect()
    }
}

/// How long a new task takes under `timing`, stretched by `spread` using `draw`
/// (uniform in [0, 1)).
pub(crate) fn simulated_duration(
    timing: &Timing,
    spread: f64,
    body: &Value,
    draw: impl FnOnce() -> f64,
) -> Duration {
    let base = match timing {
        Timing::Instant | Timing::Polls { .. } => return Duration::ZERO,
        Timing::Fixed(d) => *d,
        Timing::Scaled(factor) => realistic_duration(body).mul_f64(factor.max(0.0)),
    };
    if spread == 0.0 {
        return base;
    }
    base.mul_f64(1.0 + spread * (2.0 * draw() - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_size_follows_resolution_and_ratio() {
        assert_eq!(frame_size(&json!({})), (1280, 720));
        assert_eq!(
            frame_size(&json!({"resolution": "480p", "ratio": "9:16"})),
            (480, 854)
        );
        assert_eq!(
            frame_size(&json!({"resolution": "1080p", "ratio": "1:1"})),
            (1080, 1080)
        );
    }

    #[test]
    fn spread_stays_within_bounds() {
        let fixed = Timing::Fixed(Duration::from_secs(10));
        let low = simulated_duration(&fixed, 0.2, &json!({}), || 0.0);
        let high = simulated_duration(&fixed, 0.2, &json!({}), || 0.999_999);
        assert_eq!(low, Duration::from_secs(8));
        assert!(high > Duration::from_millis(11_999) && high <= Duration::from_secs(12));
    }
}
