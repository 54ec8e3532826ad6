//! `modellix batch`: many jobs through one key within Modellix's limits.
//!
//! One loop owns every decision: it admits jobs while fewer than K tasks run (K falls
//! to what is running on "Concurrent limit exceeded" and climbs back by one per ended
//! task), waits for each task through the library's wait (its learning schedule, its
//! retries, and what it learns is kept in the ledger), and submits the next job as
//! soon as a task ends, so the team's slots stay busy. Every request waits for the
//! library client's limiter (`--rpm`, or the server's `X-RateLimit-*` numbers).
//! Results download in the background as each task ends. Jobs carry ledger markers of
//! their content (see `jobs.rs` and `prior.rs`), so a rerun continues; one shutdown
//! signal (`shutdown.rs`) stops it cleanly.

mod events;
mod jobs;
mod limit;
mod prior;
mod saved;
mod shutdown;
mod spend;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use modellix::{
    Backoff, Cost, LearningSchedule, MemoryLedger, SubmitOptions, TaskHandle, TaskLedger,
    TaskOutput, WaitOptions,
};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::args::{BatchArgs, Global};
use crate::failure::{Failure, Kind, Outcome};
use crate::output::Out;
use crate::results;
use crate::session::{Pacing, Session, save_words, shell_command};
use crate::submit;

use events::Events;
use jobs::Job;
use limit::RunningLimit;
use prior::{Found, Prior};
use saved::SavedLedger;
use shutdown::Shutdown;
use spend::Spend;

/// Requests in a row without an answer before the batch stops (rerun to continue).
const MAX_SILENCE: u32 = 10;

/// New jobs above which a batch on a terminal asks before sending (the number is in
/// `modellix batch --help`).
const CONFIRM_ABOVE: usize = 20;

/// The pause before claiming a shared team slot again after all were held (jittered,
/// so the batches sharing a ledger do not claim in step).
const SLOT_RETRY: Duration = Duration::from_millis(250);

/// How long an intent without an outcome on a shared ledger is taken for another
/// process's submit in flight (a submit's answer takes at most 60 s by default).
const SENDING_GRACE: Duration = Duration::from_secs(90);

/// How often jobs running in another process on the ledger are looked up, once this
/// batch has nothing else to do.
const ELSEWHERE_CHECK: Duration = Duration::from_millis(500);

/// The pause after a 429, a request never sent or a wait that failed, when no
/// `--poll-interval` is given.
const PAUSE: Duration = Duration::from_secs(2);

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
    /// Its unknown outcome was checked and dismissed by the user: not sent again.
    Dismissed,
    /// Ended well but its results could not be saved.
    SaveFailed,
    /// Succeeded without a single result file: left open in the ledger.
    EmptyResult,
    /// Taken by another process on the same ledger (its marker is held by that
    /// process's entry): not sent here; a rerun resumes or skips it.
    Elsewhere,
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ending {
    /// Nothing left to do (or to start).
    Done,
    /// The deadline passed, or the server stopped answering.
    CutShort,
    /// Ctrl-C.
    Interrupted,
}

type Waited = (usize, TaskHandle, Result<TaskOutput, modellix::Error>);

pub async fn run(global: &Global, args: &BatchArgs, out: &Out) -> Outcome {
    // First of all: a Ctrl-C from here on stops the batch cleanly.
    let stop = Shutdown::listen();
    let interval = args
        .poll_interval
        .map(|p| seconds(p, "--poll-interval"))
        .transpose()?;
    let window = args
        .rate_window
        .map(|w| seconds(w, "--rate-window"))
        .transpose()?;
    let jobs = jobs::load(&args.jobs)?;
    for name in &args.resend {
        if !jobs.iter().any(|j| &j.name == name) {
            return Err(Failure::bad_input(format!(
                "--resend {name}: {} has no job named {name:?} (a job's name is its \"id\", \
                 or line-N); nothing was sent",
                args.jobs.display()
            )));
        }
    }
    // The library's limiter paces every request of the client (queries, submits); the
    // batch decides only how many tasks run at once.
    let pacing = Pacing {
        per_minute: (!args.no_rate_limiter).then_some(args.rpm),
        window,
        shared: !args.no_rate_limiter,
    };
    let mut ledger = None;
    let session = Session::open_with(global, WaitOptions::default(), pacing, |builder| {
        let inner: Arc<dyn TaskLedger> = match crate::ledger_path(global) {
            // A SQLite file, or a PostgreSQL database shared with other batches.
            Some(path) => modellix::open_ledger(&path)
                .map_err(|e| Failure::bad_input(format!("the ledger: {}", e.message())))?,
            None => Arc::new(MemoryLedger::new()),
        };
        let saved = SavedLedger::new(inner);
        ledger = Some(saved.clone());
        let mut builder = builder
            .ledger(saved)
            .slot_lease(Duration::from_secs(args.slot_lease));
        if let Some(n) = args.concurrency {
            builder = builder.running_task_limit(n);
        }
        if args.no_learning {
            builder = match interval {
                Some(every) => builder.poll_schedule(Backoff::fixed(every)),
                None => builder.poll_schedule(Backoff::default()),
            };
        } else if let Some(every) = interval {
            // The learning schedule still plans around what it learned; `every` is its
            // pace until then.
            builder = builder
                .poll_schedule(LearningSchedule::new(Backoff::fixed(every)).min_interval(every));
        } else {
            builder = builder.poll_schedule(LearningSchedule::new(first_wave_pace()));
        }
        Ok(builder)
    })
    .await?;
    let Some(ledger) = ledger else {
        return Err(Failure::other("the batch's ledger was not set up"));
    };
    let mut batch = Batch {
        states: vec![State::Queued; jobs.len()],
        events: Events::new(out, jobs.len()),
        jobs,
        session: &session,
        ledger,
        args,
        queue: VecDeque::new(),
        resend: BTreeMap::new(),
        running: BTreeMap::new(),
        waits: FuturesUnordered::new(),
        taken_over: FuturesUnordered::new(),
        slots_full: 0,
        elsewhere_since: BTreeMap::new(),
        downloads: FuturesUnordered::new(),
        uploads: BTreeMap::new(),
        filled: BTreeMap::new(),
        deletions: Vec::new(),
        limit: if session.client.running_task_limit_is_set() {
            RunningLimit::told(session.client.running_task_limit())
        } else {
            let client = &session.client;
            let stored = client
                .ledger()
                .learned_limit(client.key_fingerprint())
                .await;
            RunningLimit::learned(stored.ok().flatten())
        },
        pause: interval.unwrap_or(PAUSE),
        // A huge --timeout means "no deadline", never an overflow.
        deadline: Instant::now()
            .checked_add(Duration::from_secs(args.timeout))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400)),
        refused_until: None,
        stop_admitting: false,
        stopped_after_unknown: false,
        concurrency_refusals: 0,
        silent_in_a_row: 0,
        slot_freed_at: None,
        gaps: Vec::new(),
        cost: Cost::ZERO,
        unpriced: 0,
        spend: Spend::new(args.max_cost),
        stop,
    };
    batch.sort_out_prior().await?;
    batch.check_cap()?;
    batch.confirm()?;
    if args.max_cost.is_some() {
        batch.spend.read_catalog(&session.client).await;
    }
    let ending = batch.drive().await;
    if let Some(learned) = batch.limit.to_keep() {
        let client = &session.client;
        let kept = client
            .ledger()
            .record_learned_limit(client.key_fingerprint(), learned)
            .await;
        if let Err(e) = kept {
            eprintln!("warning: the learned running-task limit was not kept: {e}");
        }
    }
    // Uploaded for jobs that never got a slot: no task reads them.
    for (_, (_, uploads)) in std::mem::take(&mut batch.filled) {
        if !args.keep_uploads {
            batch
                .deletions
                .push(delete_in_background(&session.client, uploads));
        }
    }
    for deletion in std::mem::take(&mut batch.deletions) {
        let _ = deletion.await;
    }
    batch.finish(ending)
}

/// How a batch polls tasks of a kind nothing is known of yet: sooner than the
/// library's default (1 s, growing by a tenth to 10 s), because in a batch the first
/// wave's lateness holds up every later job of its slot, while it teaches the schedule
/// for all of them. The client's limiter still paces it within the key's rate.
fn first_wave_pace() -> Backoff {
    Backoff::new(Duration::from_secs(1), 1.1, Duration::from_secs(10)).jitter(0.2)
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
    ledger: SavedLedger,
    args: &'a BatchArgs,
    events: Events,
    queue: VecDeque<usize>,
    /// The markers of the jobs sent again on `--resend` in this run.
    resend: BTreeMap<usize, String>,
    /// Task ids of the jobs whose task is running (or being saved).
    running: BTreeMap<usize, String>,
    /// The library's waits, one per running task; a slot each.
    waits: FuturesUnordered<BoxFuture<'a, Waited>>,
    /// Waits for tasks of other runs taken over (their holder died): watched only, so
    /// their team slots free when they end.
    taken_over: FuturesUnordered<BoxFuture<'a, ()>>,
    /// Submits that found every shared team slot held.
    slots_full: u64,
    /// Jobs taken by another process on the ledger, since when (`follow_elsewhere`).
    elsewhere_since: BTreeMap<usize, Instant>,
    /// Result downloads in progress; they advance whenever the loop waits.
    downloads: FuturesUnordered<BoxFuture<'a, (usize, Outcome<Value>)>>,
    /// Files uploaded for a running job's local paths, deleted once its task ends.
    uploads: BTreeMap<usize, Vec<modellix::UploadedFile>>,
    /// A queued job's body with its local files filled in, kept from a try that
    /// found every team slot held, so its files are not uploaded again.
    filled: BTreeMap<usize, (Value, Vec<modellix::UploadedFile>)>,
    /// Deletions of those files in progress; awaited before the batch returns.
    deletions: Vec<tokio::task::JoinHandle<()>>,
    /// K: tasks allowed to run at once, told or learned (`limit.rs`).
    limit: RunningLimit,
    /// After a 429, a request never sent or a failed wait.
    pause: Duration,
    deadline: Instant,
    /// After a 429, no submit before this.
    refused_until: Option<Instant>,
    /// A refusal that every job would meet (bad key, no balance), an unknown outcome,
    /// or no ledger.
    stop_admitting: bool,
    /// No job was started after an unknown outcome (no `--continue-on-unknown`).
    stopped_after_unknown: bool,
    concurrency_refusals: u64,
    /// Requests in a row that got no answer; the batch stops at `MAX_SILENCE`.
    silent_in_a_row: u32,
    /// When a task ended while jobs were waiting.
    slot_freed_at: Option<Instant>,
    /// From a freed slot to the next submit.
    gaps: Vec<Duration>,
    /// What the tasks that succeeded in this run were billed, exactly.
    cost: Cost,
    /// Tasks that succeeded in this run without a readable billed amount.
    unpriced: usize,
    /// `--max-cost` and what bounds a task of each model (see `spend.rs`).
    spend: Spend,
    stop: Shutdown,
}

impl<'a> Batch<'a> {
    /// Jobs the ledger knows: done ones are skipped, running ones resumed, unknown
    /// outcomes listed and never resent. A job whose id the ledger holds with another
    /// model or body stops the batch here, before anything is sent.
    async fn sort_out_prior(&mut self) -> Outcome {
        let mut found = Vec::with_capacity(self.jobs.len());
        for job in &self.jobs {
            found.push(prior::lookup(self.session, job).await?);
        }
        self.refuse_conflicts(&found)?;
        for (index, Found { prior, resends }) in found.into_iter().enumerate() {
            let job = &self.jobs[index];
            if self.args.resend.contains(&job.name) {
                // Knowingly sent again, under a marker of its own.
                self.resend
                    .insert(index, prior::resend_marker(job, resends + 1));
                self.queue.push_back(index);
            } else if prior == Prior::New {
                self.queue.push_back(index);
            } else {
                let prior = prior.settled(self.sending_grace());
                self.take_prior(index, prior)?;
            }
        }
        Ok(())
    }

    fn refuse_conflicts(&self, found: &[Found]) -> Outcome {
        let mut lines = Vec::new();
        let mut details = Vec::new();
        for (job, found) in self.jobs.iter().zip(found) {
            let Prior::Conflict {
                entry,
                model_id,
                body_digest,
            } = &found.prior
            else {
                continue;
            };
            if self.args.resend.contains(&job.name) {
                continue;
            }
            let digest = job.body_digest();
            lines.push(format!(
                "job {:?} (line {}): ledger entry {entry} holds id {:?} with model {model_id}, \
                 body {body_digest}; this line has model {}, body {digest}",
                job.name, job.line, job.name, job.model.model_id
            ));
            details.push(json!({
                "job": job.name, "line": job.line, "entry": entry,
                "recorded": {"model_id": model_id, "body_digest": body_digest},
                "this_line": {"model_id": job.model.model_id, "body_digest": digest},
            }));
        }
        if lines.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = details
            .iter()
            .filter_map(|d| d["job"].as_str())
            .flat_map(|n| ["--resend".to_owned(), n.to_owned()])
            .collect();
        let mut words = self.resume_words();
        words.extend(names);
        Err(Failure::bad_input(format!(
            "{} job id(s) already recorded with another request; nothing was sent:\n  {}\n\
             If a line is another job, give it a new \"id\". To send it anyway (a new paid \
             task, recorded in the ledger):\n  {}",
            lines.len(),
            lines.join("\n  "),
            shell_command(&self.session.global, &words)
        ))
        .detail("conflicts", Value::Array(details)))
    }

    /// A job the ledger already knows: skipped when it ended, resumed when it runs,
    /// listed when its outcome is unknown or was dismissed.
    fn take_prior(&mut self, index: usize, prior: Prior) -> Outcome {
        let job = &self.jobs[index];
        match prior {
            Prior::New | Prior::Conflict { .. } => {}
            Prior::Ended { task_id, status } => {
                self.states[index] = State::DoneBefore;
                let detail = json!({"task_id": task_id, "status": status});
                self.events.job("done_before", job, detail);
            }
            Prior::Running { task_id } => {
                let task = self.session.client.task(task_id.clone())?;
                self.states[index] = State::Running;
                self.events.job("resumed", job, json!({"task_id": task_id}));
                self.start_wait(index, task, Duration::ZERO);
            }
            // Being sent by another process on the shared ledger: followed.
            Prior::Sending { entry, .. } => {
                self.elsewhere(index, json!({"entry": entry}));
            }
            Prior::Unknown {
                task_id,
                entry,
                reason,
            } => {
                self.states[index] = State::Unknown;
                self.events.job(
                    "unknown",
                    job,
                    json!({"task_id": task_id, "entry": entry, "reason": reason}),
                );
            }
            Prior::Dismissed { entry } => {
                self.states[index] = State::Dismissed;
                let message = format!(
                    "dismissed after a check (entry {entry}); not sent again unless --resend {}",
                    job.name
                );
                self.events.job(
                    "dismissed",
                    job,
                    json!({"entry": entry, "message": message}),
                );
            }
        }
        Ok(())
    }

    /// `--max-tasks`: more new jobs than the cap refuse the batch before any POST.
    fn check_cap(&self) -> Outcome {
        let Some(cap) = self.args.max_tasks else {
            return Ok(());
        };
        let new = self.queue.len();
        if new <= cap as usize {
            return Ok(());
        }
        Err(Failure::bad_input(format!(
            "{new} new job(s) would create {new} paid task(s), more than --max-tasks {cap};              nothing was sent. Raise the cap (--max-tasks {new}) or split {}",
            self.args.jobs.display()
        ))
        .detail("new_jobs", json!(new))
        .detail("max_tasks", json!(cap)))
    }

    /// On a terminal, a large batch asks before its first paid POST (`--yes` skips
    /// the question; without a terminal nothing is asked).
    fn confirm(&self) -> Outcome {
        use std::io::{BufRead, IsTerminal, Write};
        let new = self.queue.len();
        if self.args.yes
            || new <= CONFIRM_ABOVE
            || !std::io::stdin().is_terminal()
            || !std::io::stderr().is_terminal()
        {
            return Ok(());
        }
        eprint!(
            "{new} new jobs will create up to {new} paid tasks, {} at once. Go on? [y/N] ",
            self.limit.most()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Failure::other(format!("cannot read the answer: {e}")))?;
        if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            return Ok(());
        }
        Err(Failure::bad_input(format!(
            "not confirmed; nothing was sent. To run without the question, add --yes:\n  {} --yes",
            self.resume_command()
        )))
    }

    /// Looks the job up again right before its POST: another process on the same
    /// ledger may have taken it since this run started. The ledger's refusal of a
    /// marker held by another entry closes the rest of the race: a job the other
    /// process records after this look-up is refused at this one's intent.
    async fn still_new(&mut self, index: usize) -> bool {
        let looked = match self.resend.get(&index) {
            Some(marker) => prior::is_free(self.session, marker).await.map(|free| {
                if free {
                    Prior::New
                } else {
                    Prior::Dismissed { entry: 0 }
                }
            }),
            None => prior::lookup(self.session, &self.jobs[index])
                .await
                .map(|found| found.prior),
        };
        match looked {
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
            Ok(Prior::Sending { entry, .. }) => {
                self.elsewhere(index, json!({"entry": entry}));
                false
            }
            Ok(Prior::Unknown { task_id, entry, .. }) => {
                self.elsewhere(index, json!({"task_id": task_id, "entry": entry}));
                false
            }
            Ok(Prior::Dismissed { .. } | Prior::Conflict { .. }) => {
                self.elsewhere(index, json!({}));
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

    /// Takes over the tasks whose team slot nobody renews (a batch or program on the
    /// same ledger died): one of this batch's jobs is resumed as its own (waited for,
    /// saved); any other task is waited for, so its slot frees when it ends.
    async fn take_over(&mut self) {
        let client = &self.session.client;
        let lease = Duration::from_secs(self.args.slot_lease);
        let orphans = match self
            .ledger
            .take_over_slots(client.key_fingerprint(), lease)
            .await
        {
            Ok(orphans) => orphans,
            Err(e) => {
                eprintln!("warning: could not look for tasks whose batch stopped: {e}");
                return;
            }
        };
        for entry in orphans {
            let Some(task_id) = entry.task_id().map(str::to_owned) else {
                continue;
            };
            let Ok(task) = client.task(task_id.clone()) else {
                continue;
            };
            let mine = entry.intent.marker.as_deref().and_then(|marker| {
                (0..self.jobs.len()).find(|&i| {
                    self.resend.get(&i).unwrap_or(&self.jobs[i].marker) == marker
                        && !self.running.contains_key(&i)
                })
            });
            match mine {
                Some(index) => {
                    self.queue.retain(|&i| i != index);
                    self.states[index] = State::Running;
                    self.events.job(
                        "resumed",
                        &self.jobs[index],
                        json!({"task_id": task_id, "taken_over": true, "entry": entry.id}),
                    );
                    self.start_wait(index, task, Duration::ZERO);
                }
                None => {
                    self.taken_over.push(
                        async move {
                            let _ = task.wait().await;
                        }
                        .boxed(),
                    );
                }
            }
        }
    }

    /// Jobs another process on the ledger took, looked up again once this batch has
    /// nothing else to do, so that the processes sharing a jobs file all end when
    /// every job has: ended there is done, freed there (refused, never sent) is sent
    /// here, and a task whose process died is taken over (its shared slot's lease ran
    /// out) or, on a ledger without shared slots, waited for here at once. A request
    /// in flight there for longer than a lease is listed as unknown. True while some
    /// are still running elsewhere.
    async fn follow_elsewhere(&mut self) -> bool {
        let pending: Vec<usize> = self.elsewhere_since.keys().copied().collect();
        if pending.is_empty() {
            return false;
        }
        let shared = self.ledger.shares_slots();
        if shared {
            self.take_over().await;
        }
        let lease = Duration::from_secs(self.args.slot_lease);
        for index in pending {
            let Some(&since) = self.elsewhere_since.get(&index) else {
                continue;
            };
            if self.states[index] != State::Elsewhere {
                // Taken over meanwhile.
                self.elsewhere_since.remove(&index);
                continue;
            }
            let Ok(found) = prior::lookup(self.session, &self.jobs[index]).await else {
                continue;
            };
            match found.prior {
                Prior::Running { task_id } if !shared => {
                    self.elsewhere_since.remove(&index);
                    // No lease tells whether its process lives: watching it twice
                    // costs queries, never a paid task.
                    self.take_prior(index, Prior::Running { task_id })
                        .unwrap_or_default();
                }
                // Watched there, and taken over here once its lease runs out; one
                // whose slot was freed unsaved (its process died after the end) is
                // waited for here after a lease.
                Prior::Running { task_id } => {
                    if since.elapsed() >= lease {
                        self.elsewhere_since.remove(&index);
                        self.take_prior(index, Prior::Running { task_id })
                            .unwrap_or_default();
                    }
                }
                Prior::New => {
                    self.elsewhere_since.remove(&index);
                    self.states[index] = State::Queued;
                    self.queue.push_back(index);
                }
                Prior::Unknown { task_id: None, .. } if since.elapsed() < lease => {}
                prior => match prior.settled(self.sending_grace()) {
                    Prior::Sending { .. } => {}
                    prior => {
                        self.elsewhere_since.remove(&index);
                        self.take_prior(index, prior).unwrap_or_default();
                    }
                },
            }
        }
        !self.elsewhere_since.is_empty() || !self.queue.is_empty() || !self.waits.is_empty()
    }

    /// How long an intent without an outcome may be another process's request in
    /// flight: on a ledger shared by several processes, longer than a submit's answer
    /// may take; on one of this machine only, no time (it is a crash's unknown outcome).
    fn sending_grace(&self) -> Duration {
        if self.ledger.shares_slots() {
            SENDING_GRACE
        } else {
            Duration::ZERO
        }
    }

    /// Another process on the same ledger is sending (or sent) this job.
    fn elsewhere(&mut self, index: usize, detail: Value) {
        self.states[index] = State::Elsewhere;
        self.elsewhere_since.insert(index, Instant::now());
        self.events.job("elsewhere", &self.jobs[index], detail);
    }

    /// Runs until every job has ended, the deadline passes, the server stops
    /// answering, or Ctrl-C.
    async fn drive(&mut self) -> Ending {
        loop {
            self.admit().await;
            if self.stop.requested() {
                return Ending::Interrupted;
            }
            if self.waits.is_empty()
                && self.downloads.is_empty()
                && (self.queue.is_empty() || self.stop_admitting)
                && (self.stop_admitting || !self.follow_elsewhere().await)
            {
                return Ending::Done;
            }
            if Instant::now() >= self.deadline || self.silent_in_a_row >= MAX_SILENCE {
                return Ending::CutShort;
            }
            let mut wake = self.deadline;
            if let Some(until) = self
                .refused_until
                .filter(|_| !self.queue.is_empty() && !self.stop_admitting)
            {
                wake = wake.min(until);
            }
            if !self.elsewhere_since.is_empty() {
                wake = wake.min(Instant::now() + ELSEWHERE_CHECK);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                Some(done) = self.waits.next(), if !self.waits.is_empty() => self.waited(done),
                Some(done) = self.downloads.next(), if !self.downloads.is_empty() => self.saved(done),
                Some(()) = self.taken_over.next(), if !self.taken_over.is_empty() => {}
                _ = self.stop.asked() => {}
            }
        }
    }

    /// Submits queued jobs while slots are free and no stop was asked for.
    async fn admit(&mut self) {
        while !self.stop_admitting
            && !self.stop.requested()
            && self.waits.len() < self.limit.now() as usize
            && self.refused_until.is_none_or(|t| Instant::now() >= t)
        {
            let Some(&index) = self.queue.front() else {
                return;
            };
            if !self
                .spend
                .may_start(self.cost, &self.jobs[index].model.model_id)
            {
                if self.spend.running() == 0 {
                    // Nothing running could free room under the cap: stop for good.
                    self.stop_for_cost();
                }
                return;
            }
            self.queue.pop_front();
            self.refused_until = None;
            if !self.still_new(index).await {
                continue;
            }
            if self.stop.requested() {
                // Asked while the ledger was read: this POST does not start.
                self.queue.push_front(index);
                return;
            }
            let job = &self.jobs[index];
            let marker = self.resend.get(&index).unwrap_or(&job.marker);
            let client = &self.session.client;
            // Local paths go through the library's one local-file path: inline where
            // the field takes it, uploaded otherwise.
            let filled = match self.filled.remove(&index) {
                // Filled (and uploaded) for a try that found the team's slots full.
                Some(filled) => Ok(filled),
                None => {
                    let mut body = job.body.clone();
                    client
                        .fill_local_files(&job.model.model_id, &mut body)
                        .await
                        .map(|uploads| (body, uploads))
                }
            };
            let sent = match filled {
                Ok((body, uploads)) => {
                    // One try for a team slot (with a ledger that shares them): a full
                    // team is tried again when a task ends, here or elsewhere.
                    let options = SubmitOptions::new()
                        .slot_wait(Duration::ZERO)
                        .running_task_limit(self.limit.now());
                    let sent = submit::submit(
                        client,
                        &job.model.model_id,
                        &body,
                        Some(marker),
                        self.args.webhook.as_deref(),
                        self.args.no_schema,
                        options,
                    )
                    .await;
                    // Refused or never sent: no task will read them. Kept for the
                    // next try when only the team's slots were full.
                    let unused = sent.as_ref().is_err_and(modellix::Error::nothing_created);
                    if matches!(sent, Err(modellix::Error::SlotsFull { .. })) {
                        self.filled.insert(index, (body, uploads));
                    } else if unused && !self.args.keep_uploads {
                        self.deletions.push(delete_in_background(client, uploads));
                    } else if !uploads.is_empty() {
                        self.uploads.insert(index, uploads);
                    }
                    sent
                }
                Err(e) => Err(e),
            };
            let sent = match sent {
                Err(modellix::Error::Ledger(e)) if e.held_by().is_some() => {
                    self.elsewhere(index, json!({"entry": e.held_by()}));
                    continue;
                }
                Err(modellix::Error::SlotsFull { .. }) => {
                    // Every team slot is held by this and the other batches on the
                    // ledger: nothing was recorded or sent. Tried again soon, and
                    // tasks whose holder stopped renewing are taken over meanwhile.
                    self.queue.push_front(index);
                    self.slots_full += 1;
                    self.refused_until =
                        Some(Instant::now() + SLOT_RETRY.mul_f64(0.5 + fastrand::f64()));
                    self.take_over().await;
                    return;
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
                    self.spend.started(index, &job.model.model_id);
                    self.limit.accepted(self.waits.len() as u32 + 1);
                    let resent = self.resend.get(&index);
                    self.events.job(
                        "submitted",
                        job,
                        json!({"task_id": task.id(), "resend": resent}),
                    );
                    self.start_wait(index, task, Duration::ZERO);
                }
                Err(f) if f.nothing_created && f.status == Some(429) => {
                    // Sent again later: nothing was created.
                    self.queue.push_front(index);
                    if f.message.contains("Concurrent limit exceeded") {
                        // A probe (or a slot taken elsewhere): the next ended task
                        // frees the slot, no pause needed.
                        self.concurrency_refusals += 1;
                        self.limit.refused(self.waits.len() as u32);
                    } else {
                        self.refused_until = Some(Instant::now() + self.pause);
                    }
                    self.events.job(
                        "refused",
                        job,
                        json!({"message": f.message, "limit": self.limit.now()}),
                    );
                }
                Err(f) if f.nothing_created && f.status.is_none() && f.kind != Kind::BadInput => {
                    // Never reached the server: safe to send again after a pause.
                    self.silent_in_a_row += 1;
                    self.queue.push_front(index);
                    self.refused_until = Some(Instant::now() + self.pause);
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
                    if !self.args.continue_on_unknown {
                        // The server or the network misbehaves: the next POST could
                        // meet the same fate. Running tasks are still waited for.
                        self.stop_admitting = true;
                        self.stopped_after_unknown = true;
                    }
                }
            }
        }
    }

    /// Waits for `task` through the library (its schedule, its retries, its record of
    /// run times), after `delay`, within the batch's deadline.
    fn start_wait(&mut self, index: usize, task: TaskHandle, delay: Duration) {
        self.running.insert(index, task.id().to_owned());
        let deadline = self.deadline;
        self.waits.push(
            async move {
                tokio::time::sleep(delay).await;
                let left = deadline.saturating_duration_since(Instant::now());
                let result = task
                    .wait_with(WaitOptions::deadline(left.max(Duration::from_millis(1))))
                    .await;
                (index, task, result)
            }
            .boxed(),
        );
    }

    /// A wait ended: the task ended, the deadline passed, or its queries failed.
    fn waited(&mut self, (index, task, result): Waited) {
        // The task ended (or its wait ends here for good): its uploads have served. A
        // task that may still run (the deadline, a failing query) keeps them.
        let ended = match &result {
            Ok(_) => true,
            Err(e) => e.is_task_failed() || e.is_empty_result(),
        };
        if ended {
            self.delete_uploads(index);
        }
        if ended || matches!(&result, Err(e) if e.is_timeout()) {
            self.spend.ended(index);
        }
        match result {
            Ok(output) => {
                self.silent_in_a_row = 0;
                self.slot_freed();
                self.succeeded(index, output);
            }
            // A success without result files: the library's wait says so with the id.
            Err(e) if e.is_empty_result() => {
                self.silent_in_a_row = 0;
                self.slot_freed();
                self.empty_result(index, task.id().to_owned());
            }
            Err(e) if e.is_task_failed() => {
                self.silent_in_a_row = 0;
                self.slot_freed();
                self.running.remove(&index);
                self.states[index] = State::Failed;
                self.events.job(
                    "failed",
                    &self.jobs[index],
                    json!({"task_id": task.id(), "status": "failed", "error": e.to_string()}),
                );
            }
            // The deadline: the task runs on; the summary names it and how to resume.
            // A wait ends a little before the batch's deadline (its last query must
            // answer in time), so no new job starts in what is left.
            Err(e) if e.is_timeout() => self.stop_admitting = true,
            Err(e) => {
                if e.status().is_none() {
                    self.silent_in_a_row += 1;
                }
                // Queries are safe to repeat: wait again after a pause.
                self.events.job(
                    "poll_error",
                    &self.jobs[index],
                    json!({"task_id": task.id(), "message": e.to_string()}),
                );
                self.start_wait(index, task, self.pause);
            }
        }
    }

    /// Deletes the files uploaded for a job, unless `--keep-uploads`.
    fn delete_uploads(&mut self, index: usize) {
        let Some(uploads) = self.uploads.remove(&index) else {
            return;
        };
        if self.args.keep_uploads {
            return;
        }
        self.deletions
            .push(delete_in_background(&self.session.client, uploads));
    }

    /// `--max-cost` keeps every queued job from starting: say so once, start none.
    fn stop_for_cost(&mut self) {
        if !self.spend.capped {
            self.spend.capped = true;
            self.events.note(
                "cost_cap",
                json!({"billed": self.cost, "max_cost": self.args.max_cost,
                       "not_started": self.queue.len()}),
            );
        }
        self.stop_admitting = true;
    }

    fn slot_freed(&mut self) {
        // The wait that ended is gone: every slot was busy if the rest fill K less one.
        let busy = !self.queue.is_empty() && self.waits.len() + 1 >= self.limit.now() as usize;
        self.limit.ended(busy);
        if !self.queue.is_empty() {
            self.slot_freed_at = Some(Instant::now());
        }
    }

    /// A task that ended well: its results are saved in the background, and only then
    /// is its success recorded. One without result files stays open.
    fn succeeded(&mut self, index: usize, output: TaskOutput) {
        let task_id = output.task.id().to_owned();
        match output.cost().and_then(|c| self.cost.checked_add(c)) {
            Some(total) => self.cost = total,
            None => self.unpriced += 1,
        }
        if let Some(cost) = output.cost() {
            self.spend.billed(&self.jobs[index].model.model_id, cost);
        }
        let job = &self.jobs[index];
        if output.resources().is_empty() {
            self.empty_result(index, task_id);
            return;
        }
        self.events.job(
            "finished",
            job,
            json!({"task_id": task_id, "cost": output.cost()}),
        );
        self.save_in_background(index, output);
    }

    /// A task that succeeded with no result file: the job stays open, the id is named.
    fn empty_result(&mut self, index: usize, task_id: String) {
        self.running.remove(&index);
        self.states[index] = State::EmptyResult;
        let message = format!(
            "task {task_id} succeeded without a single result file; the job stays open \
             in the ledger. Look at it: {}",
            shell_command(
                &self.session.global,
                &["task".into(), "get".into(), task_id.clone()]
            )
        );
        self.events.job(
            "empty_result",
            &self.jobs[index],
            json!({"task_id": task_id, "message": message}),
        );
    }

    /// Saves a task's results in the background; only then is its success recorded.
    fn save_in_background(&mut self, index: usize, output: TaskOutput) {
        let task_id = output.task.id().to_owned();
        let save = self.args.save.clone();
        // Quiet: the batch's own display shows the job.
        let quiet = Out {
            json: true,
            progress: false,
        };
        let session: &'a Session = self.session;
        let ledger = self.ledger.clone();
        self.downloads.push(
            async move {
                let mut saved =
                    results::save(session, &output.task, &output.info, &save, &quiet).await;
                if let Ok(value) = &mut saved {
                    results::add_cost(value, &output);
                    // Only once the results are saved: a rerun after a crash before
                    // this point downloads them again instead of skipping the job.
                    let _ = ledger.saved(&task_id).await;
                }
                (index, saved)
            }
            .boxed(),
        );
    }

    fn saved(&mut self, (index, result): (usize, Outcome<Value>)) {
        let job = &self.jobs[index];
        self.running.remove(&index);
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
    fn finish(self, ending: Ending) -> Outcome {
        let count = |s: State| self.states.iter().filter(|x| **x == s).count();
        let named = |s: State| -> Vec<&str> {
            self.jobs
                .iter()
                .zip(&self.states)
                .filter(|(_, x)| **x == s)
                .map(|(j, _)| j.name.as_str())
                .collect()
        };
        let unknown = named(State::Unknown);
        let empty = named(State::EmptyResult);
        let elsewhere = count(State::Elsewhere);
        let running: Vec<Value> = self
            .running
            .iter()
            .filter(|(i, _)| self.states[**i] == State::Running)
            .map(|(i, id)| json!({"job": self.jobs[*i].name, "task_id": id}))
            .collect();
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
            "dismissed": count(State::Dismissed),
            "save_failed": count(State::SaveFailed),
            "empty_result": empty,
            "unfinished": unfinished,
            "not_started": count(State::Queued),
            "running": running,
            "elsewhere": elsewhere,
            "interrupted": ending == Ending::Interrupted,
            "stopped_after_unknown": self.stopped_after_unknown,
            "concurrency_refusals": self.concurrency_refusals,
            "slots_full": self.slots_full,
            "mean_slot_gap_ms": mean_gap_ms,
            // Exact: the sum of the billed amounts of the tasks that succeeded in this
            // run (as a decimal string); `unpriced` of them gave no amount.
            "cost": self.cost,
            "unpriced": self.unpriced,
            "max_cost": self.args.max_cost,
            "stopped_at_max_cost": self.spend.capped,
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
            count(State::Rejected) + count(State::SaveFailed) + empty.len(),
        );
        note(Kind::TimedOut, unfinished);
        note(Kind::OutcomeUnknown, unknown.len());
        let Some(kind) = worst else { return Ok(()) };
        let running_ids: Vec<&str> = summary["running"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["task_id"].as_str())
            .collect();
        let still_running = if running_ids.is_empty() {
            String::new()
        } else {
            format!(" (tasks still running: {})", running_ids.join(", "))
        };
        let message = match kind {
            Kind::OutcomeUnknown => {
                let mut message = format!(
                    "{} job(s) may have created a task: {}. Check them in the Modellix \
                     console (`{}` lists them), then `modellix ledger dismiss ENTRY`",
                    unknown.len(),
                    unknown.join(", "),
                    shell_command(&self.session.global, &["recover".into()])
                );
                if self.stopped_after_unknown && unfinished > 0 {
                    message.push_str(&format!(
                        ".\nNo job was started after it ({unfinished} not finished{still_running}); \
                         rerun to continue, or add --continue-on-unknown:\n  {resume}"
                    ));
                }
                message
            }
            Kind::TimedOut if self.spend.capped => format!(
                "stopped at --max-cost ${}: ${} billed in this run, {} job(s) not started \
                 (starting one more could pass the cap){still_running}. The cap counts one \
                 run's spending: rerun to spend up to it again, or raise it:\n  {resume}",
                self.args.max_cost.unwrap_or(Cost::ZERO),
                self.cost,
                count(State::Queued),
            ),
            Kind::TimedOut => format!(
                "{}{unfinished} job(s) not finished{still_running}; rerun to continue:\n  {resume}",
                match ending {
                    Ending::Interrupted => "interrupted: ",
                    Ending::CutShort => "stopped: ",
                    Ending::Done => "",
                }
            ),
            _ if !empty.is_empty() => format!(
                "{} job(s) succeeded without result files and stay open: {}; see the summary",
                empty.len(),
                empty.join(", ")
            ),
            _ => "not every job ended well; see the summary".to_owned(),
        };
        Err(Failure::new(kind, message).detail("summary", summary))
    }

    /// The words after `modellix` (and its global options) that continue this batch.
    /// `--resend` is never among them: a resend is asked for once, knowingly.
    fn resume_words(&self) -> Vec<String> {
        let a = self.args;
        let mut words = vec!["batch".to_owned(), a.jobs.display().to_string()];
        if !self.limit.is_learning() {
            words.extend(["--concurrency".into(), self.limit.most().to_string()]);
        }
        if let Some(cap) = a.max_tasks {
            words.extend(["--max-tasks".into(), cap.to_string()]);
        }
        if let Some(cap) = a.max_cost {
            words.extend(["--max-cost".into(), cap.to_string()]);
        }
        if let Some(every) = a.poll_interval {
            words.extend(["--poll-interval".into(), every.to_string()]);
        }
        if a.continue_on_unknown {
            words.push("--continue-on-unknown".into());
        }
        words.extend(save_words(&a.save.out, a.save.no_download));
        words
    }

    /// The exact command that continues this batch.
    fn resume_command(&self) -> String {
        shell_command(&self.session.global, &self.resume_words())
    }
}

/// Deletes files uploaded for a job on their own task; awaited before the batch returns.
fn delete_in_background(
    client: &modellix::Client,
    uploads: Vec<modellix::UploadedFile>,
) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        if uploads.is_empty() {
            return;
        }
        if let Err(e) = client.delete_files(&uploads).await {
            eprintln!(
                "warning: could not delete the files uploaded for a job ({e}); Modellix \
                 deletes them after about 7 days"
            );
        }
    })
}
