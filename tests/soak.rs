//! Soak: many tasks through one client against a sandbox that injects every fault at
//! once, then the promises checked from the sandbox's own records: no submit sent
//! twice, no task the server created lost to the caller, no partial file, no key in
//! any error, `Debug` output or log line. A third of the tasks go in as JSON
//! (`submit_json`), and every fifth feeds its video through an upload under faults of
//! its own: no upload sent twice, every stored file found by its caller (listing after
//! an unknown outcome) and deleted, the sandbox holding exactly the bytes sent.
//!
//! ```text
//! cargo test --test soak -- --nocapture                               # CI: 200 tasks
//! SOAK_SEED=42 SOAK_TASKS=1000 cargo test --test soak -- --nocapture  # another mix
//! cargo test --release --test soak -- --ignored --nocapture           # long: 5000 tasks
//! ```
//!
//! The seed fixes the sandbox's draws (faults, failures); the order in which
//! concurrent requests meet them still varies from run to run.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use modellix::types::Seedance20V2vRequest;
use modellix::{
    Backoff, Client, DownloadOptions, Downloader, Error, MAX_LIST_LIMIT, RetryPolicy, TaskHandle,
    WaitOptions,
};
use modellix_sandbox::{
    Failures, Fault, FaultKind, FaultPlan, Outcome, Route, SAMPLE_MP4, SAMPLE_PNG, Sandbox, Timing,
};

/// Distinctive, so a leak cannot hide behind a common substring.
const KEY: &str = "sk-soak-4be1d0c9a7f35e62";

/// Tasks between two 429 storms (and between two 5xx bursts, offset by half).
const STORM_EVERY: usize = 40;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak() {
    run(env_number("SOAK_TASKS", 200) as usize).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long soak (5000 tasks, a few minutes); run with --ignored"]
async fn soak_long() {
    run(env_number("SOAK_LONG_TASKS", 5000) as usize).await;
}

/// Every fault kind on every route where it means something, each a few percent; 429
/// storms and 5xx bursts are scripted on top while the soak runs.
fn fault_plan() -> FaultPlan {
    let slow = Fault::Slow(Duration::from_millis(40));
    let error = |status, task_created| Fault::ServerError {
        status,
        task_created,
    };
    let unknown = Fault::UnknownStatus("queued".into());
    let mut plan = FaultPlan::new();
    let routes: [(Route, &[(f64, Fault)]); 4] = [
        (
            Route::Submit,
            &[
                (0.04, Fault::Reset),
                (0.03, error(503, true)),
                (0.02, error(500, false)),
                (0.02, Fault::Html502),
                (0.03, Fault::Truncated),
                (0.03, Fault::Oversized),
                (0.03, slow.clone()),
                (0.03, Fault::ExtraFields),
                (0.02, unknown.clone()),
            ],
        ),
        (
            Route::Task,
            &[
                (0.03, error(500, false)),
                (0.02, error(504, false)),
                (0.035, Fault::Html502),
                (0.03, slow.clone()),
                (0.03, Fault::Reset),
                (0.03, Fault::Truncated),
                (0.035, Fault::Oversized),
                (0.05, unknown),
                (0.05, Fault::ExtraFields),
            ],
        ),
        (
            Route::Files,
            &[
                (0.07, Fault::Truncated),
                (0.05, Fault::Reset),
                (0.02, error(503, false)),
                (0.02, Fault::Html502),
                (0.03, slow.clone()),
            ],
        ),
        (
            // Stored then lost (unknown outcome), refused in front, or merely slow.
            Route::Upload,
            &[
                (0.06, Fault::Reset),
                (0.06, error(503, true)),
                (0.04, error(500, false)),
                (0.04, Fault::Html502),
                (0.06, Fault::Truncated),
                (0.04, Fault::RetryAfter(1)),
                (0.04, Fault::ExtraFields),
                (0.04, slow),
            ],
        ),
    ];
    for (route, faults) in routes {
        for (p, fault) in faults {
            plan = plan.random(route, *p, fault.clone());
        }
    }
    plan
}

/// Scripted on top of the random faults as task `index` starts: a 429 storm (the
/// shared pause of the client is under test), or half-way between storms a 5xx burst
/// (submits that create their task before failing, and failing queries).
fn storms(sandbox: &Sandbox, index: usize) {
    match index % STORM_EVERY {
        0 => {
            sandbox.script(Route::Task, 3, Fault::RetryAfter(1));
            sandbox.script(Route::Task, 3, Fault::RateLimitReset(1));
            sandbox.script(Route::Submit, 1, Fault::RetryAfter(1));
            sandbox.script(Route::Submit, 1, Fault::RateLimitReset(1));
        }
        h if h == STORM_EVERY / 2 => {
            let burst = |status, task_created| Fault::ServerError {
                status,
                task_created,
            };
            sandbox.script(Route::Submit, 2, burst(503, true));
            sandbox.script(Route::Submit, 1, burst(502, false));
            sandbox.script(Route::Task, 4, burst(503, false));
        }
        _ => {}
    }
}

/// Faults that damage a submit's answer, and so may hide the task id from the caller.
fn damages_the_answer(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::Reset
            | Fault::Truncated
            | Fault::Oversized
            | Fault::Html502
            | Fault::ServerError { .. }
    )
}

/// Fast retries (the server's hint wins), so the soak measures behaviour, not sleep.
#[derive(Debug)]
struct QuickRetry;

impl RetryPolicy for QuickRetry {
    fn retry_delay(&self, attempt: u32, hint: Option<Duration>) -> Option<Duration> {
        (attempt < 6).then(|| hint.unwrap_or(Duration::from_millis(20)))
    }
}

/// Every log line, scanned for the key as it is written (a long soak logs too much to
/// keep).
#[derive(Default)]
struct LogScan {
    lines: u64,
    leaks: Vec<String>,
}

#[derive(Clone)]
struct ScanWriter(Arc<Mutex<LogScan>>);

impl Write for ScanWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut scan = self.0.lock().unwrap();
        scan.lines += text.matches('\n').count() as u64;
        if text.contains(KEY) {
            scan.leaks.push(text.into_owned());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One process-wide TRACE subscriber (the runtime's worker threads log too), also fed
/// by the `log` records of the HTTP stack.
fn log_scan() -> Arc<Mutex<LogScan>> {
    static SCAN: OnceLock<Arc<Mutex<LogScan>>> = OnceLock::new();
    SCAN.get_or_init(|| {
        let scan = Arc::new(Mutex::new(LogScan::default()));
        let writer = ScanWriter(scan.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .expect("no other subscriber in this test binary");
        scan
    })
    .clone()
}

/// How one submit-wait-download ended, as the caller saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Downloaded,
    TaskFailed,
    TimedOut,
    /// The wait ended on an error that keeps the id (the harness never resumes).
    QueryError,
    DownloadFailed,
    Rejected,
    /// A submit whose answer never arrived intact, and showed no id.
    UnknownNoId,
}

#[derive(Debug)]
struct Record {
    ending: Ending,
    task_id: Option<String>,
    /// The submit's outcome was unknown, but its answer showed the id, which was used.
    via_unknown_id: bool,
    files: Vec<PathBuf>,
    took: Duration,
}

/// Texts that must not hold the key: checked as they are made.
#[derive(Default)]
struct Texts {
    checked: u64,
    leaks: Vec<String>,
}

impl Texts {
    fn check(&mut self, text: String) {
        self.checked += 1;
        if text.contains(KEY) {
            self.leaks.push(text);
        }
    }

    fn error(&mut self, e: &dyn std::fmt::Debug, display: String) {
        self.check(display);
        self.check(format!("{e:?}"));
    }
}

fn marker(index: usize) -> String {
    format!("soak#{index}")
}

/// The index a server-side task was created for, read back from its prompt.
fn index_of(body: &serde_json::Value) -> usize {
    let prompt = body["prompt"].as_str().expect("a prompt");
    let (_, tail) = prompt.split_once("soak#").expect("a marker");
    tail.trim_end_matches(')').parse().expect("an index")
}

/// A public source video, for tasks that upload nothing or whose upload was refused.
const SOURCE_URL: &str = "https://example.com/source.mp4";

/// The uploads of one soak run, and what became of them.
struct Uploads<'a> {
    sandbox: &'a Sandbox,
    dir: PathBuf,
    /// Holders of a stored file, kept under the team's quota of 10.
    slots: tokio::sync::Semaphore,
    calls: AtomicU64,
    stored: AtomicU64,
    /// Unknown outcome, then found by listing.
    found_by_listing: AtomicU64,
    /// Unknown outcome, and listing shows nothing was stored.
    not_stored: AtomicU64,
    refused: AtomicU64,
}

/// Uploads `soak-{index}.mp4` the way a careful caller does: never retried, and after
/// an unknown outcome, listed to find out. Returns the URL to use and the file to
/// delete once the task has ended.
async fn upload_source(
    client: &Client,
    uploads: &Uploads<'_>,
    index: usize,
    texts: &Mutex<Texts>,
) -> (String, Option<String>) {
    let name = format!("soak-{index}.mp4");
    let path = uploads.dir.join(&name);
    std::fs::write(&path, SAMPLE_MP4).unwrap();
    let held_by = |name: &str| -> Vec<modellix_sandbox::UploadRecord> {
        let files = uploads.sandbox.uploads();
        files.into_iter().filter(|f| f.filename == name).collect()
    };
    uploads.calls.fetch_add(1, Ordering::Relaxed);
    match client.upload(&path).await {
        Ok(file) => {
            texts.lock().unwrap().check(format!("{file:?}"));
            let stored = held_by(&name);
            assert_eq!(
                stored.len(),
                1,
                "upload {index} stored {} files",
                stored.len()
            );
            assert_eq!(stored[0].file_id, file.file_id, "upload {index}");
            assert!(
                stored[0].bytes == SAMPLE_MP4,
                "upload {index}: other bytes stored"
            );
            uploads.stored.fetch_add(1, Ordering::Relaxed);
            (file.url, Some(file.file_id))
        }
        Err(e) => {
            texts.lock().unwrap().error(&e, e.to_string());
            if matches!(e, Error::UploadUnknown { .. }) {
                let listed = client.list_files(MAX_LIST_LIMIT).await.unwrap();
                let mine: Vec<_> = listed
                    .into_iter()
                    .filter(|f| f.filename.as_deref() == Some(name.as_str()))
                    .collect();
                assert_eq!(mine.len(), held_by(&name).len(), "listing upload {index}");
                match mine.into_iter().next() {
                    Some(file) => {
                        uploads.found_by_listing.fetch_add(1, Ordering::Relaxed);
                        (file.url, Some(file.file_id))
                    }
                    None => {
                        uploads.not_stored.fetch_add(1, Ordering::Relaxed);
                        (SOURCE_URL.to_owned(), None)
                    }
                }
            } else {
                // A refusal (429 in front of the API): nothing may have been stored.
                assert!(e.status().is_some(), "upload {index}: {e}");
                assert!(
                    held_by(&name).is_empty(),
                    "refused upload {index} stored a file"
                );
                uploads.refused.fetch_add(1, Ordering::Relaxed);
                (SOURCE_URL.to_owned(), None)
            }
        }
    }
}

async fn one_task(
    client: &Client,
    downloader: &Downloader,
    dir: &Path,
    index: usize,
    texts: &Mutex<Texts>,
    uploads: &Uploads<'_>,
) -> Record {
    // Every fifth task feeds its video through an upload, deleted once the task ended.
    let _slot;
    let (source, uploaded) = if index % 5 == 2 {
        _slot = uploads.slots.acquire().await.unwrap();
        upload_source(client, uploads, index, texts).await
    } else {
        (SOURCE_URL.to_owned(), None)
    };
    let record = submit_wait_download(client, downloader, dir, index, texts, source).await;
    if let Some(file_id) = uploaded {
        // Listing and deleting meet no faults here; the quota must come back.
        client.delete_file(&file_id).await.unwrap();
    }
    record
}

async fn submit_wait_download(
    client: &Client,
    downloader: &Downloader,
    dir: &Path,
    index: usize,
    texts: &Mutex<Texts>,
    source: String,
) -> Record {
    let request = Seedance20V2vRequest::builder()
        .prompt(format!("Extend motion from [Video 1] ({})", marker(index)))
        .video_urls([source])
        .return_last_frame(index.is_multiple_of(2))
        .build()
        .unwrap();
    let mut record = Record {
        ending: Ending::UnknownNoId,
        task_id: None,
        via_unknown_id: false,
        files: Vec::new(),
        took: Duration::ZERO,
    };
    let check_error = |e: &Error| texts.lock().unwrap().error(e, e.to_string());

    // A third go in as JSON, by slug: the same contract as a typed submit.
    let submitted = if index % 3 == 1 {
        let body = serde_json::to_value(&request).unwrap();
        client
            .submit_json("bytedance/seedance-2.0-v2v", &body)
            .await
    } else {
        client.submit(&request).await
    };
    let task: TaskHandle = match submitted {
        Ok(task) => task,
        Err(e) => {
            check_error(&e);
            match (&e, e.task_id()) {
                (Error::OutcomeUnknown { .. }, Some(id)) => {
                    // What a careful caller does: follow the id the error carries.
                    record.via_unknown_id = true;
                    client.task(id).expect("the error's id is usable")
                }
                (Error::OutcomeUnknown { .. }, None) => return record,
                (Error::Rejected { .. }, _) => {
                    record.ending = Ending::Rejected;
                    return record;
                }
                _ => panic!("task {index}: unexpected submit error: {e}"),
            }
        }
    };
    texts.lock().unwrap().check(format!("{task:?}"));
    let id = task.id().to_owned();
    record.task_id = Some(id.clone());

    // One wait, never resumed by the harness: the client must ride out every fault
    // the plan injects on its own.
    let output = match task.wait().await {
        Ok(output) => output,
        Err(e) => {
            check_error(&e);
            assert_eq!(
                e.task_id(),
                Some(id.as_str()),
                "the error keeps the id: {e}"
            );
            record.ending = match &e {
                Error::TaskFailed { .. } => Ending::TaskFailed,
                Error::TimedOut { .. } => Ending::TimedOut,
                _ => Ending::QueryError,
            };
            return record;
        }
    };
    texts.lock().unwrap().check(format!("{output:?}"));
    match output.download_all(downloader, dir).await {
        Ok(saved) => {
            record.ending = Ending::Downloaded;
            record.files = saved.into_iter().map(|f| f.path).collect();
        }
        Err(e) => {
            texts.lock().unwrap().error(&e, e.to_string());
            assert_eq!(e.task_id(), id, "the download error names the task: {e}");
            record.ending = Ending::DownloadFailed;
        }
    }
    record
}

async fn run(tasks: usize) {
    let seed = env_number("SOAK_SEED", 0x5eed);
    println!("soak: {tasks} tasks, SOAK_SEED={seed}");
    let logs = log_scan();
    let lines_before = logs.lock().unwrap().lines;
    let started = Instant::now();

    let sandbox = Sandbox::builder()
        .api_key(KEY)
        .seed(seed)
        .timing(Timing::Polls {
            pending: 1,
            processing: 1,
        })
        .failures(Failures::Share(0.15))
        .faults(fault_plan())
        .start()
        .await
        .unwrap();
    let builder = Client::builder()
        .memory_ledger()
        .api_key(KEY)
        .base_url(sandbox.base_url())
        .poll_schedule(Backoff::fixed(Duration::from_millis(15)))
        .retry_policy(QuickRetry)
        .requests_per_minute(None)
        .wait_options(WaitOptions::deadline(Duration::from_secs(60)));
    let texts = Mutex::new(Texts::default());
    texts.lock().unwrap().check(format!("{builder:?}"));
    let client = builder.build().unwrap();
    texts.lock().unwrap().check(format!("{client:?}"));
    let downloader = Downloader::new(
        DownloadOptions::default()
            .allow_http(true)
            .allow_private_hosts(true)
            .retries(8)
            .retry_backoff(Duration::from_millis(10))
            .inactivity_timeout(Duration::from_secs(10)),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    let uploads = Uploads {
        sandbox: &sandbox,
        dir: sources.path().to_owned(),
        slots: tokio::sync::Semaphore::new(6),
        calls: AtomicU64::new(0),
        stored: AtomicU64::new(0),
        found_by_listing: AtomicU64::new(0),
        not_stored: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    };

    let records: Vec<(usize, Record)> = futures_util::stream::iter(0..tasks)
        .map(|index| {
            storms(&sandbox, index);
            let (client, downloader, texts, uploads) = (&client, &downloader, &texts, &uploads);
            let dir = out.path();
            async move {
                let started = Instant::now();
                let mut record = one_task(client, downloader, dir, index, texts, uploads).await;
                record.took = started.elapsed();
                (index, record)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let records: BTreeMap<usize, Record> = records.into_iter().collect();
    let elapsed = started.elapsed();

    // ---- What the server saw.
    let counts = sandbox.counts();
    let created = sandbox.tasks();
    let faults = sandbox.faults_injected();
    let mut endings = BTreeMap::<Ending, u64>::new();
    let mut slowest = BTreeMap::<Ending, Duration>::new();
    for r in records.values() {
        *endings.entry(r.ending).or_default() += 1;
        let max = slowest.entry(r.ending).or_default();
        *max = (*max).max(r.took);
    }
    println!(
        "soak: {:.1} s; server saw {} submits, {} task queries, {} file requests; {} tasks created ({} failed by design)",
        elapsed.as_secs_f64(),
        counts.submits(),
        counts.task,
        counts.files,
        created.len(),
        created
            .iter()
            .filter(|t| t.outcome == Outcome::Failed)
            .count()
    );
    println!(
        "soak: faults injected ({} in all): {:?}",
        faults.total(),
        faults.by_kind()
    );
    println!("soak: endings: {endings:?}");
    println!("soak: slowest task by ending: {slowest:?}");
    println!(
        "soak: {} submits with unknown outcome followed by their id",
        records.values().filter(|r| r.via_unknown_id).count(),
    );

    // ---- Every upload reached the server once; every stored file was found by its
    // caller and deleted.
    let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
    println!(
        "soak: {} uploads: {} stored, {} unknown then found by listing, {} unknown and not stored, {} refused",
        load(&uploads.calls),
        load(&uploads.stored),
        load(&uploads.found_by_listing),
        load(&uploads.not_stored),
        load(&uploads.refused),
    );
    assert_eq!(
        counts.uploads,
        load(&uploads.calls),
        "one request per upload call"
    );
    let left: Vec<String> = sandbox.uploads().into_iter().map(|f| f.filename).collect();
    assert!(left.is_empty(), "uploads nobody knew about: {left:?}");
    if tasks >= 200 {
        assert!(load(&uploads.stored) > 0 && load(&uploads.found_by_listing) > 0);
    }

    // ---- Every submit reached the server at most once (loopback: exactly once).
    assert_eq!(
        counts.submits(),
        tasks as u64,
        "one request per submit call"
    );
    let mut by_index = HashMap::<usize, &modellix_sandbox::TaskRecord>::new();
    for t in &created {
        let index = index_of(&t.body);
        assert!(
            by_index.insert(index, t).is_none(),
            "submit {index} created two tasks"
        );
    }

    // ---- Every task the server created is known to its caller.
    let mut unknown_without_id = 0;
    for (index, t) in &by_index {
        let r = &records[index];
        match &r.task_id {
            Some(id) => assert_eq!(id, &t.task_id, "submit {index} followed another task"),
            None => {
                assert_eq!(
                    r.ending,
                    Ending::UnknownNoId,
                    "submit {index} created {} but its caller thinks {:?}",
                    t.task_id,
                    r.ending
                );
                // Only a fault that damaged the answer excuses a missing id; a slow
                // answer, extra fields or an unknown status must not lose it.
                assert!(
                    t.submit_fault.as_ref().is_some_and(damages_the_answer),
                    "task {} was lost after a harmless submit fault {:?}",
                    t.task_id,
                    t.submit_fault
                );
                unknown_without_id += 1;
            }
        }
        match r.ending {
            Ending::Downloaded => assert_eq!(t.outcome, Outcome::Success, "{index}"),
            Ending::TaskFailed => assert_eq!(t.outcome, Outcome::Failed, "{index}"),
            _ => {}
        }
    }
    for (index, r) in &records {
        if r.task_id.is_some() {
            assert!(
                by_index.contains_key(index),
                "submit {index} reports a task the server never created"
            );
        }
        if r.ending == Ending::Rejected {
            assert!(
                !by_index.contains_key(index),
                "submit {index} was rejected, yet created a task"
            );
        }
    }
    let no_id_endings = endings.get(&Ending::UnknownNoId).copied().unwrap_or(0);
    println!(
        "soak: {unknown_without_id} server tasks unknown by id, {no_id_endings} outcome-unknown submits without id"
    );
    assert!(no_id_endings >= unknown_without_id);

    // ---- Liveness: every task ends the way the plan makes it end. No wait times out,
    // no query error survives the retries, no download fails after its retries (the
    // plan's fault rates make each of these far below one in a million per task).
    for ending in [Ending::TimedOut, Ending::QueryError, Ending::DownloadFailed] {
        assert_eq!(
            endings.get(&ending),
            None,
            "{ending:?} endings: {endings:?}"
        );
    }
    // Every task created without a damaging submit fault ended as the sandbox decided.
    for (index, t) in &by_index {
        if !t.submit_fault.as_ref().is_some_and(damages_the_answer) {
            let want = match t.outcome {
                Outcome::Failed => Ending::TaskFailed,
                _ => Ending::Downloaded,
            };
            assert_eq!(records[index].ending, want, "task {index} ({})", t.task_id);
        }
    }

    // ---- No partial or corrupt file, nothing left behind.
    let saved: HashMap<PathBuf, &Record> = records
        .values()
        .flat_map(|r| r.files.iter().map(move |f| (f.clone(), r)))
        .collect();
    let mut on_disk = 0;
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        assert!(saved.contains_key(&path), "stray file {}", path.display());
        let bytes = std::fs::read(&path).unwrap();
        let want = match path.extension().and_then(|e| e.to_str()) {
            Some("mp4") => SAMPLE_MP4,
            Some("png") => SAMPLE_PNG,
            _ => panic!("unexpected file {}", path.display()),
        };
        assert!(
            bytes == want,
            "{} differs from what was served",
            path.display()
        );
        on_disk += 1;
    }
    assert_eq!(on_disk, saved.len(), "every saved file is on disk");
    println!("soak: {on_disk} files saved, all identical to the served bytes");

    // ---- The key is nowhere.
    let texts = texts.into_inner().unwrap();
    let logs = logs.lock().unwrap();
    println!(
        "soak: key absent from {} error and Debug texts and {} log lines",
        texts.checked,
        logs.lines - lines_before
    );
    assert!(texts.leaks.is_empty(), "key leaked: {:?}", texts.leaks);
    assert!(logs.leaks.is_empty(), "key logged: {:?}", logs.leaks);
    assert!(logs.lines > lines_before, "the logs were captured");

    // ---- The mix really was hostile.
    if tasks >= 200 {
        for kind in [
            FaultKind::RetryAfter,
            FaultKind::RateLimitReset,
            FaultKind::ServerError,
            FaultKind::Html502,
            FaultKind::Slow,
            FaultKind::Reset,
            FaultKind::Truncated,
            FaultKind::Oversized,
            FaultKind::UnknownStatus,
            FaultKind::ExtraFields,
        ] {
            assert!(
                faults.count(kind) >= 10,
                "only {} faults of kind {kind:?}",
                faults.count(kind)
            );
        }
    }
}
