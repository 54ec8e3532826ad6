//! `modellix batch`: many jobs through one key within Modellix's limits.
//!
//! One loop owns every decision: it admits jobs while fewer than K tasks run (K falls
//! to what is running on "Concurrent limit exceeded" and climbs back by one per ended
//! task), polls each running task once per poll interval, and submits the next job as
//! soon as a poll finds a task ended, so the team's slots stay busy. Every request
//! waits for the library client's limiter (`--rpm`, or the server's `X-RateLimit-*`
//! numbers). Results download in the background as each task ends. Jobs carry ledger
//! markers (see `prior.rs`), so a rerun continues.

mod events;
mod jobs;
mod prior;

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use modellix::{TaskHandle, TaskStatus, WaitOptions};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::args::{BatchArgs, Global};
use crate::failure::{Failure, Kind, Outcome};
use crate::output::Out;
use crate::results;
use crate::session::{Pacing, Session};
use crate::submit;

use events::Events;
use jobs::Job;
use prior::Prior;

/// Requests in a row without an answer before the batch stops (rerun to continue).
const MAX_SILENCE: u32 = 10;

/// Where a job stands.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Queued,
    Running,
    /// Finished and saved (or listed, with --no-download).
    Done,
    /// Done in an earlier run.
    DoneBefore,
    Failed,
    /// Refused by Modellix for good (400, 401, 402, …): nothing was created.
    Rejected,
    /// May or may not have created a task: listed, never resent.
    Unknown,
    /// Ended well but its results could not be saved.
    SaveFailed,
    /// Taken by another process on the same ledger (its marker is held by that
    /// process's entry): not sent here; a rerun resumes or skips it.
    Elsewhere,
}

struct Running {
    job: usize,
    task: TaskHandle,
    next_poll: Instant,
}

pub async fn run(global: &Global, args: &BatchArgs, out: &Out) -> Outcome {
    let interval = seconds(args.poll_interval, "--poll-interval")?;
    let window = args
        .rate_window
        .map(|w| seconds(w, "--rate-window"))
        .transpose()?;
    let jobs = jobs::load(&args.jobs)?;
    // The library's limiter paces every request of the client (polls, submits); the
    // batch decides only how many tasks run at once.
    let pacing = Pacing {
        per_minute: (!args.no_rate_limiter).then_some(args.rpm),
        window,
        shared: !args.no_rate_limiter,
    };
    let session = Session::open_paced(global, WaitOptions::default(), pacing).await?;
    let mut batch = Batch {
        states: vec![State::Queued; jobs.len()],
        events: Events::new(out, jobs.len()),
        jobs,
        session: &session,
        args,
        queue: VecDeque::new(),
        running: Vec::new(),
        limit: args.max_tasks,
        interval,
        downloads: FuturesUnordered::new(),
        finished: FuturesUnordered::new(),
        refused_until: None,
        stop_admitting: false,
        concurrency_refusals: 0,
        silent_in_a_row: 0,
        slot_freed_at: None,
        gaps: Vec::new(),
    };
    batch.sort_out_prior().await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let interrupted = batch.drive(deadline).await;
    batch.finish(interrupted)
}

fn seconds(value: f64, flag: &str) -> Outcome<Duration> {
    if value.is_finite() && value > 0.0 && value < 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Failure::bad_input(format!(
            "{flag}: {value} is not a positive number of seconds"
        )))
    }
}

struct Batch<'a> {
    jobs: Vec<Job>,
    states: Vec<State>,
    session: &'a Session,
    args: &'a BatchArgs,
    events: Events,
    queue: VecDeque<usize>,
    running: Vec<Running>,
    /// K: tasks allowed to run at once now.
    limit: u32,
    interval: Duration,
    /// Result downloads in progress; they advance whenever the loop waits.
    downloads: FuturesUnordered<BoxFuture<'a, (usize, Outcome<Value>)>>,
    /// Ledger writes of failed tasks' final state.
    finished: FuturesUnordered<BoxFuture<'a, ()>>,
    /// After a 429, no submit before this.
    refused_until: Option<Instant>,
    /// A refusal that every job would meet (bad key, no balance).
    stop_admitting: bool,
    concurrency_refusals: u64,
    /// Requests in a row that got no answer; the batch stops at `MAX_SILENCE`.
    silent_in_a_row: u32,
    /// When a poll found a slot freed while jobs were waiting.
    slot_freed_at: Option<Instant>,
    /// From a freed slot to the next submit.
    gaps: Vec<Duration>,
}

impl<'a> Batch<'a> {
    /// Jobs the ledger knows: done ones are skipped, running ones resumed, unknown
    /// outcomes listed and never resent.
    async fn sort_out_prior(&mut self) -> Outcome {
        for index in 0..self.jobs.len() {
            let prior = prior::lookup(self.session, &self.jobs[index]).await?;
            if prior == Prior::New {
                self.queue.push_back(index);
            } else {
                self.take_prior(index, prior)?;
            }
        }
        Ok(())
    }

    /// A job the ledger already knows: skipped when it ended, resumed when it runs,
    /// listed when its outcome is unknown.
    fn take_prior(&mut self, index: usize, prior: Prior) -> Outcome {
        let job = &self.jobs[index];
        match prior {
            Prior::New => {}
            Prior::Ended { task_id, status } => {
                self.states[index] = State::DoneBefore;
                let detail = json!({"task_id": task_id, "status": status});
                self.events.job("done_before", job, detail);
            }
            Prior::Running { task_id } => {
                let task = self.session.client.task(task_id.clone())?;
                self.states[index] = State::Running;
                self.events.job("resumed", job, json!({"task_id": task_id}));
                self.running.push(Running {
                    job: index,
                    task,
                    next_poll: Instant::now(),
                });
            }
            Prior::Unknown { task_id, reason } => {
                self.states[index] = State::Unknown;
                self.events.job(
                    "unknown",
                    job,
                    json!({"task_id": task_id, "reason": reason}),
                );
            }
        }
        Ok(())
    }

    /// Looks the job up again right before its POST: another process on the same
    /// ledger may have taken it since this run started. The ledger's refusal of a
    /// marker held by another entry closes the rest of the race: a job the other
    /// process records after this look-up is refused at this one's intent.
    async fn still_new(&mut self, index: usize) -> bool {
        match prior::lookup(self.session, &self.jobs[index]).await {
            Ok(Prior::New) => true,
            Ok(Prior::Ended { task_id, status }) => {
                self.take_prior(index, Prior::Ended { task_id, status })
                    .unwrap_or_default();
                false
            }
            // New when this run started: the entry is another process's, live.
            Ok(Prior::Running { task_id }) => {
                self.elsewhere(index, json!({"task_id": task_id}));
                false
            }
            Ok(Prior::Unknown { task_id, .. }) => {
                self.elsewhere(index, json!({"task_id": task_id}));
                false
            }
            Err(f) => {
                // Without the ledger nothing can be sent safely: stop admitting.
                self.stop_admitting = true;
                self.queue.push_front(index);
                let detail = json!({"message": f.message});
                self.events.job("not_sent", &self.jobs[index], detail);
                false
            }
        }
    }

    /// Another process on the same ledger is sending (or sent) this job.
    fn elsewhere(&mut self, index: usize, detail: Value) {
        self.states[index] = State::Elsewhere;
        self.events.job("elsewhere", &self.jobs[index], detail);
    }

    /// Runs until every job has ended, the deadline passes or Ctrl-C; true when cut
    /// short.
    async fn drive(&mut self, deadline: Instant) -> bool {
        loop {
            self.admit().await;
            self.poll_due().await;
            while let Some(Some(done)) = self.downloads.next().now_or_never() {
                self.saved(done);
            }
            while let Some(Some(())) = self.finished.next().now_or_never() {}
            if self.running.is_empty()
                && self.downloads.is_empty()
                && self.finished.is_empty()
                && (self.queue.is_empty() || self.stop_admitting)
            {
                return false;
            }
            let now = Instant::now();
            if now >= deadline || self.silent_in_a_row >= MAX_SILENCE {
                return true;
            }
            let mut wake = deadline;
            if let Some(next) = self.running.iter().map(|r| r.next_poll).min() {
                wake = wake.min(next);
            }
            if let Some(until) = self.refused_until.filter(|_| !self.queue.is_empty()) {
                wake = wake.min(until);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                Some(done) = self.downloads.next(), if !self.downloads.is_empty() => self.saved(done),
                Some(()) = self.finished.next(), if !self.finished.is_empty() => {}
                _ = tokio::signal::ctrl_c() => return true,
            }
        }
    }

    /// Submits queued jobs while slots are free.
    async fn admit(&mut self) {
        while !self.stop_admitting
            && self.running.len() < self.limit as usize
            && self.refused_until.is_none_or(|t| Instant::now() >= t)
        {
            let Some(index) = self.queue.pop_front() else {
                return;
            };
            self.refused_until = None;
            if !self.still_new(index).await {
                continue;
            }
            let job = &self.jobs[index];
            let sent = submit::submit(
                &self.session.client,
                &job.model.model_id,
                &job.body,
                Some(&job.marker),
            )
            .await;
            let sent = match sent {
                Err(modellix::Error::Ledger(e)) if e.held_by().is_some() => {
                    self.elsewhere(index, json!({"entry": e.held_by()}));
                    continue;
                }
                other => other.map_err(Failure::from),
            };
            match sent {
                Ok(task) => {
                    self.silent_in_a_row = 0;
                    if let Some(freed) = self.slot_freed_at.take() {
                        self.gaps.push(freed.elapsed());
                    }
                    self.states[index] = State::Running;
                    self.events
                        .job("submitted", job, json!({"task_id": task.id()}));
                    self.running.push(Running {
                        job: index,
                        task,
                        next_poll: Instant::now() + self.interval,
                    });
                }
                Err(f) if f.nothing_created && f.status == Some(429) => {
                    // Sent again later: nothing was created.
                    self.queue.push_front(index);
                    if f.message.contains("Concurrent limit exceeded") {
                        self.concurrency_refusals += 1;
                        self.limit = (self.running.len() as u32).max(1);
                    }
                    self.refused_until = Some(Instant::now() + self.interval);
                    self.events.job(
                        "refused",
                        job,
                        json!({"message": f.message, "limit": self.limit}),
                    );
                }
                Err(f) if f.nothing_created && f.status.is_none() && f.kind != Kind::BadInput => {
                    // Never reached the server: safe to send again after a pause.
                    self.silent_in_a_row += 1;
                    self.queue.push_front(index);
                    self.refused_until = Some(Instant::now() + self.interval);
                    self.events
                        .job("not_sent", job, json!({"message": f.message}));
                }
                Err(f) if f.nothing_created => {
                    self.states[index] = State::Rejected;
                    if matches!(f.status, Some(401..=403)) {
                        self.stop_admitting = true;
                    }
                    self.events.job(
                        "rejected",
                        job,
                        json!({"message": f.message, "status": f.status}),
                    );
                }
                Err(f) => {
                    self.states[index] = State::Unknown;
                    self.events.job(
                        "unknown",
                        job,
                        json!({"task_id": f.task_id, "reason": f.message}),
                    );
                }
            }
        }
    }

    /// Polls every running task whose turn has come.
    async fn poll_due(&mut self) {
        let mut at = 0;
        while at < self.running.len() {
            if self.running[at].next_poll > Instant::now() {
                at += 1;
                continue;
            }
            let answer = self.running[at].task.status().await;
            let job = self.running[at].job;
            if answer.is_ok() {
                self.silent_in_a_row = 0;
            }
            match answer {
                Ok(info) if info.status.is_terminal() => {
                    let ended = self.running.swap_remove(at);
                    self.ended(ended, info);
                    // The freed slot is filled before any other poll.
                    if !self.queue.is_empty() {
                        return;
                    }
                }
                Ok(_) => {
                    self.running[at].next_poll = Instant::now() + self.interval;
                    at += 1;
                }
                Err(e) => {
                    if e.status().is_none() {
                        self.silent_in_a_row += 1;
                    }
                    // Queries are safe to repeat: the next turn tries again.
                    self.events.job(
                        "poll_error",
                        &self.jobs[job],
                        json!({"message": e.to_string()}),
                    );
                    self.running[at].next_poll = Instant::now() + self.interval;
                    at += 1;
                }
            }
        }
    }

    fn ended(&mut self, ended: Running, info: modellix::types::TaskInfo) {
        let job = &self.jobs[ended.job];
        if self.limit < self.args.max_tasks {
            self.limit += 1;
        }
        if !self.queue.is_empty() {
            self.slot_freed_at = Some(Instant::now());
        }
        let session: &'a Session = self.session;
        if info.status != TaskStatus::Success {
            let (task_id, status) = (ended.task.id().to_owned(), info.status.to_string());
            self.finished.push(
                async move {
                    // A failed task is done with; a rerun does not send it again.
                    let _ = session
                        .client
                        .ledger()
                        .record_finished(&task_id, &status)
                        .await;
                }
                .boxed(),
            );
            self.states[ended.job] = State::Failed;
            self.events.job(
                "failed",
                job,
                json!({"task_id": ended.task.id(), "status": info.status.as_str(), "error": info.error}),
            );
            return;
        }
        self.events
            .job("finished", job, json!({"task_id": ended.task.id()}));
        let save = self.args.save.clone();
        // Quiet: the batch's own display shows the job.
        let quiet = Out {
            json: true,
            progress: false,
        };
        let index = ended.job;
        self.downloads.push(
            async move {
                let saved = results::save(session, ended.task.task(), &info, &save, &quiet).await;
                if saved.is_ok() {
                    // Only once the results are saved: a rerun after a crash before
                    // this point downloads them again instead of skipping the job.
                    let id = ended.task.id();
                    let _ = session.client.ledger().record_finished(id, "success").await;
                }
                (index, saved)
            }
            .boxed(),
        );
    }

    fn saved(&mut self, (index, result): (usize, Outcome<Value>)) {
        let job = &self.jobs[index];
        match result {
            Ok(value) => {
                self.states[index] = State::Done;
                self.events.job("saved", job, value);
            }
            Err(f) => {
                self.states[index] = State::SaveFailed;
                self.events.job(
                    "save_failed",
                    job,
                    json!({"task_id": f.task_id, "message": f.message}),
                );
            }
        }
    }

    /// The summary, and the exit: the worst ending of any job.
    fn finish(self, cut_short: bool) -> Outcome {
        let count = |s: State| self.states.iter().filter(|x| **x == s).count();
        let unknown: Vec<&str> = self
            .jobs
            .iter()
            .zip(&self.states)
            .filter(|(_, s)| **s == State::Unknown)
            .map(|(j, _)| j.name.as_str())
            .collect();
        let elsewhere = count(State::Elsewhere);
        // Jobs another process was sending count as not finished here: a rerun
        // resumes or skips them.
        let unfinished = count(State::Queued) + count(State::Running) + elsewhere;
        let mean_gap_ms = (!self.gaps.is_empty()).then(|| {
            self.gaps.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0
                / self.gaps.len() as f64
        });
        let resume = self.resume_command();
        let summary = json!({
            "jobs": self.jobs.len(),
            "done": count(State::Done),
            "done_before": count(State::DoneBefore),
            "failed": count(State::Failed),
            "rejected": count(State::Rejected),
            "unknown": unknown,
            "save_failed": count(State::SaveFailed),
            "unfinished": unfinished,
            "elsewhere": elsewhere,
            "concurrency_refusals": self.concurrency_refusals,
            "mean_slot_gap_ms": mean_gap_ms,
            "resume": (unfinished > 0).then_some(resume.as_str()),
        });
        self.events.summary(&summary);
        let mut worst: Option<Kind> = None;
        let mut note = |kind: Kind, n: usize| {
            if n > 0 {
                worst = Some(worst.map_or(kind, |w| w.worst(kind)));
            }
        };
        note(Kind::TaskFailed, count(State::Failed));
        note(
            Kind::Other,
            count(State::Rejected) + count(State::SaveFailed),
        );
        note(Kind::TimedOut, unfinished);
        note(Kind::OutcomeUnknown, unknown.len());
        let Some(kind) = worst else { return Ok(()) };
        let mut message = match kind {
            Kind::OutcomeUnknown => format!(
                "{} job(s) may have created a task: check them (`modellix recover`) before \
                 sending them again: {}",
                unknown.len(),
                unknown.join(", ")
            ),
            Kind::TimedOut => format!(
                "{} {unfinished} job(s) not finished; rerun to continue:\n  {resume}",
                if cut_short { "stopped:" } else { "" }
            ),
            _ => "not every job ended well; see the summary".to_owned(),
        };
        message = message.trim_start().to_owned();
        Err(Failure::new(kind, message).detail("summary", summary))
    }

    /// The exact command that continues this batch.
    fn resume_command(&self) -> String {
        let g = &self.session.global;
        let a = self.args;
        let mut words = vec!["modellix".to_owned()];
        if let Some(url) = g.base_url.as_ref().filter(|_| !self.session.is_sandbox()) {
            words.extend(["--base-url".into(), crate::session::quote(url)]);
        }
        if let Some(ledger) = &g.ledger {
            words.extend([
                "--ledger".into(),
                crate::session::quote(&ledger.display().to_string()),
            ]);
        }
        words.extend([
            "batch".into(),
            crate::session::quote(&a.jobs.display().to_string()),
        ]);
        words.extend(["--max-tasks".into(), a.max_tasks.to_string()]);
        if a.save.no_download {
            words.push("--no-download".into());
        } else if a.save.out != std::path::Path::new("out") {
            words.extend([
                "--out".into(),
                crate::session::quote(&a.save.out.display().to_string()),
            ]);
        }
        words.join(" ")
    }
}
