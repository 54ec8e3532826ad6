//! A finished task's result, and saving its files.

use std::time::SystemTime;

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
///     // `type_` is "video" or "image"; width, height, format and role when given.
///     println!("{} {} {:?}", resource.type_, resource.url, resource.role);
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
    /// completion (24 hours for tasks before mid-2026; `info.extra["result_expires_at"]`,
    /// Unix milliseconds, gives the exact time when present): save the files before then.
    pub finished_at: SystemTime,
    /// Status queries this wait made.
    pub polls: u32,
}

impl TaskOutput {
    /// The output files (videos, images), with `url`, `type_` and the optional fields.
    pub fn resources(&self) -> &[Resource] {
        self.info
            .result
            .as_ref()
            .map_or(&[], |result| result.resources.as_slice())
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
    /// the model id becomes `_`): streamed, synced and
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

    /// Saves one of this task's resources to `path` (errors name this task).
    pub async fn download_resource(
        &self,
        downloader: &Downloader,
        resource: &Resource,
        path: impl AsRef<std::path::Path>,
    ) -> Result<SavedFile, DownloadError> {
        downloader
            .download_to(&resource.url, path, &self.download_context())
            .await
    }
}
