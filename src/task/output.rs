//! A finished task's result, and saving its files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cost::Cost;
use crate::task::record::Task;
use crate::types::{Resource, TaskInfo};
use crate::{
    download::DownloadContext, download::DownloadError, download::Downloader, download::SavedFile,
};

/// A finished task's result.
///
/// ```no_run
/// # async fn run(task: modellix::TaskHandle) -> Result<(), modellix::Error> {
/// let output = task.wait().await?;
/// for resource in output.resources() {
///     // `type_` is "video", "image", "audio" or "text"; width, height, format and
///     // role when given. A transcript has text instead of a URL.
///     match (&resource.url, resource.text()) {
///         (Some(url), _) => println!("{} {url} {:?}", resource.type_, resource.role),
///         (None, Some(text)) => println!("{}: {text}", resource.type_),
///         (None, None) => println!("{}: {:?}", resource.type_, resource.extra),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskOutput {
    /// The task.
    pub task: Task,
    /// The final answer, unknown fields kept (`info.extra`).
    pub info: TaskInfo,
    /// When this client saw the task finished. Result links expire 7 days after
    /// completion (24 hours for tasks before mid-2026); [`TaskOutput::result_expires_at`]
    /// gives the time the server says, when it says: save the files before then.
    pub finished_at: SystemTime,
    /// Status queries this wait made.
    pub polls: u32,
}

/// The billed amount of a task's answer (`billing.amount`), when readable.
pub(crate) fn billed(info: &TaskInfo) -> Option<Cost> {
    Cost::from_json(info.billing.as_ref()?.amount.as_ref()?)
}

/// The billing status of a task's answer (`billing.status`), when a string.
pub(crate) fn billing_status(info: &TaskInfo) -> Option<&str> {
    info.billing.as_ref()?.status.as_ref()?.as_str()
}

/// How long result URLs work after a task ends when its answer does not say
/// (Modellix documents 7 days).
pub const RESULT_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

impl TaskOutput {
    /// What the task was billed, in USD, exactly as the answer's `billing.amount` says
    /// (a decimal string such as `"0.2400"`); `None` when the answer carries no
    /// readable amount. Add amounts with [`Cost::checked_add`].
    ///
    /// ```no_run
    /// # async fn run(tasks: Vec<modellix::TaskHandle>) -> Result<(), modellix::Error> {
    /// let mut total = modellix::Cost::ZERO;
    /// for task in tasks {
    ///     let output = task.wait().await?;
    ///     if let Some(cost) = output.cost() {
    ///         total = total.checked_add(cost).unwrap_or(total);
    ///     }
    /// }
    /// println!("billed: ${total}");
    /// # Ok(()) }
    /// ```
    pub fn cost(&self) -> Option<Cost> {
        billed(&self.info)
    }

    /// The billing status the answer gives (`"succeeded"`, …; an open string).
    pub fn billing_status(&self) -> Option<&str> {
        billing_status(&self.info)
    }

    /// When the result URLs stop working: the answer's `result_expires_at` (Unix
    /// milliseconds; on the task, its result or, the earliest, its resources), else
    /// [`RESULT_LIFETIME`] after [`finished_at`](TaskOutput::finished_at).
    pub fn result_expires_at(&self) -> SystemTime {
        self.server_expiry()
            .unwrap_or(self.finished_at + RESULT_LIFETIME)
    }

    /// The expiry the answer states, if any (see [`TaskOutput::result_expires_at`]).
    pub fn server_expiry(&self) -> Option<SystemTime> {
        let key = "result_expires_at";
        let result = self.info.result.as_ref();
        let stated = self
            .info
            .result_expires_at
            .or_else(|| result?.extra.get(key)?.as_i64())
            .or_else(|| {
                self.resources()
                    .iter()
                    .filter_map(|r| r.extra.get(key)?.as_i64())
                    .min()
            })?;
        let ms = u64::try_from(stated).ok().filter(|ms| *ms > 0)?;
        UNIX_EPOCH.checked_add(Duration::from_millis(ms))
    }

    /// How long the task ran on the server, from the answer's `duration`
    /// (milliseconds), when given.
    pub fn server_duration(&self) -> Option<Duration> {
        let ms = self.info.duration?;
        (0.0..1e12)
            .contains(&ms)
            .then(|| Duration::from_secs_f64(ms / 1000.0))
    }

    /// The outputs: files (videos, images, audio) with `url`, `type_` and the optional
    /// fields, and resources that carry text instead (a transcript, see
    /// [`Resource::text`]); unknown fields are kept in each one's `extra`.
    pub fn resources(&self) -> &[Resource] {
        self.info
            .result
            .as_ref()
            .map_or(&[], |result| result.resources.as_slice())
    }

    /// The text the resources carry (a speech-to-text transcript), joined by newlines;
    /// `None` when no resource carries text.
    ///
    /// ```no_run
    /// # async fn run(task: modellix::TaskHandle) -> Result<(), modellix::Error> {
    /// let output = task.wait().await?;
    /// if let Some(transcript) = output.text() {
    ///     println!("{transcript}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn text(&self) -> Option<String> {
        let texts: Vec<&str> = self.resources().iter().filter_map(Resource::text).collect();
        (!texts.is_empty()).then(|| texts.join("\n"))
    }

    /// Who the files belong to, for downloads and their error messages.
    pub fn download_context(&self) -> DownloadContext {
        let mut context = DownloadContext::new(self.task.id()).finished_at(self.finished_at);
        let model = self.task.model_id().or(self.info.model_id.as_deref());
        if let Some(model) = model {
            context = context.model_id(model);
        }
        context
    }

    /// Saves every resource into `dir` under names derived from the task id, model and
    /// resource type (`task-abc123_bytedance_seedance-2.0-v2v_video.mp4`: the `/` of
    /// the model id becomes `_`; a transcript without a URL becomes `…_text.txt`, see
    /// [`Downloader::download_all`]): streamed, synced and
    /// renamed into place, never overwriting unless the downloader allows it. The
    /// downloader has its own HTTP client: the API key never reaches the file host.
    ///
    /// ```no_run
    /// # async fn run(task: modellix::TaskHandle) -> Result<(), Box<dyn std::error::Error>> {
    /// use modellix::{DownloadOptions, Downloader};
    ///
    /// let downloader = Downloader::new(DownloadOptions::default())?;
    /// let output = task.wait().await?;
    /// for file in output.download_all(&downloader, "out").await? {
    ///     println!("saved {} ({} bytes)", file.path.display(), file.bytes);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn download_all(
        &self,
        downloader: &Downloader,
        dir: impl AsRef<std::path::Path>,
    ) -> Result<Vec<SavedFile>, DownloadError> {
        downloader
            .download_all(self.resources(), dir, &self.download_context())
            .await
    }

    /// Saves one of this task's resources to `path` (errors name this task). A
    /// resource without a URL is refused here: [`TaskOutput::download_all`] saves its
    /// text or fields.
    pub async fn download_resource(
        &self,
        downloader: &Downloader,
        resource: &Resource,
        path: impl AsRef<std::path::Path>,
    ) -> Result<SavedFile, DownloadError> {
        let url = resource.url.as_deref().unwrap_or_default();
        downloader
            .download_to(url, path, &self.download_context())
            .await
    }
}
