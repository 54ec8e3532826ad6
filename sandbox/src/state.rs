//! The state one sandbox shares between its connections: tasks, counters, the fault
//! plan and the seeded generators.

use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use modellix::{Operation, OutputFile, ValidateJson};
use serde_json::Value;

use crate::config::{Failures, SandboxConfig};
use crate::faults::{Fault, FaultPlan, Route};
use crate::records::{Counts, FaultLog, InjectedFault, Outcome, TaskRecord, WebhookAttempt};
use crate::tasks::{Tasks, simulated_duration};

/// What a submit creates a task of: a vendored operation or a model without a fragment.
#[derive(Debug, Clone)]
pub(crate) struct SubmitTarget {
    /// The key of [`Counts::submit`](crate::Counts::submit): the operationId, or the
    /// model id of a model without a fragment.
    pub(crate) operation_id: String,
    /// `provider/model`.
    pub(crate) model_id: String,
    /// The body check of a vendored operation.
    pub(crate) validate: Option<ValidateJson>,
    /// What its task answers with.
    pub(crate) outputs: &'static [OutputFile],
}

impl SubmitTarget {
    /// A vendored submit operation.
    pub(crate) fn vendored(op: &'static Operation) -> Self {
        SubmitTarget {
            operation_id: op.operation_id.to_owned(),
            model_id: op.model_id.unwrap_or_default().to_owned(),
            validate: op.validate_json,
            outputs: op.outputs,
        }
    }
}

/// What a request was aimed at, for counting.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hit<'a> {
    Submit(&'a str),
    Task,
    Files,
    Other,
    Upload,
    Media,
    Account,
    SchemaPage,
}

pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    pub(crate) base_url: String,
    pub(crate) media: crate::records::MediaStore,
    inner: Mutex<Inner>,
}

struct Inner {
    plan: FaultPlan,
    // Separate streams, so that adding random faults does not change which tasks fail.
    fault_rng: fastrand::Rng,
    task_rng: fastrand::Rng,
    tasks: Tasks,
    counts: Counts,
    faults: FaultLog,
    webhooks: Vec<WebhookAttempt>,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig, base_url: String) -> Self {
        let inner = Inner {
            plan: config.faults.clone(),
            fault_rng: fastrand::Rng::with_seed(config.seed),
            task_rng: fastrand::Rng::with_seed(config.seed ^ 0x5EED_7A5C),
            tasks: Tasks::default(),
            counts: Counts::default(),
            faults: FaultLog::default(),
            webhooks: Vec::new(),
        };
        Shared {
            config,
            base_url,
            media: Default::default(),
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in another request must not take the whole sandbox down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn count(&self, hit: Hit<'_>) {
        let mut inner = self.lock();
        let counts = &mut inner.counts;
        counts.total += 1;
        match hit {
            Hit::Submit(operation_id) => {
                *counts.submit.entry(operation_id.to_owned()).or_default() += 1;
            }
            Hit::Task => counts.task += 1,
            Hit::Files => counts.files += 1,
            Hit::Other => counts.other += 1,
            Hit::Upload => counts.uploads += 1,
            Hit::Media => counts.media += 1,
            Hit::Account => counts.account += 1,
            Hit::SchemaPage => counts.schema_pages += 1,
        }
    }

    pub(crate) fn next_fault(&self, route: Route) -> Option<Fault> {
        let inner = &mut *self.lock();
        let rng = &mut inner.fault_rng;
        inner.plan.next(route, || rng.f64())
    }

    pub(crate) fn script(&self, route: Route, times: usize, fault: Fault) {
        self.lock().plan.push_script(route, times, fault);
    }

    pub(crate) fn record_fault(&self, route: Route, fault: &Fault) {
        self.lock().faults.0.push(InjectedFault {
            route,
            fault: fault.clone(),
        });
    }

    /// Creates a task of `target` and returns its id.
    pub(crate) fn create_task(
        &self,
        target: &SubmitTarget,
        body: Value,
        submit_fault: Option<Fault>,
        webhook_url: Option<String>,
    ) -> String {
        let (operation_id, model_id) = (target.operation_id.as_str(), target.model_id.as_str());
        let config = &self.config;
        let inner = &mut *self.lock();
        let rng = &mut inner.task_rng;
        let outcome = match config.failures {
            Failures::Never => Outcome::Success,
            Failures::Always => Outcome::Failed,
            Failures::Share(share) if rng.f64() < share => Outcome::Failed,
            Failures::Share(_) => Outcome::Success,
        };
        let duration = simulated_duration(&config.timing, config.spread, &body, || rng.f64());
        // Ids come from an unseeded generator: unique across sandboxes, whatever the seed.
        let task_id = format!("task-{:016x}", fastrand::u64(..));
        let record = TaskRecord {
            task_id: task_id.clone(),
            operation_id: operation_id.to_owned(),
            model_id: model_id.to_owned(),
            body,
            created_at: SystemTime::now(),
            outcome,
            submit_fault,
            queries: 0,
            webhook_url,
        };
        inner.tasks.insert(record, duration, target.outputs);
        task_id
    }

    /// The task's `data` after one more query, or `None` when it does not exist.
    pub(crate) fn query_task(&self, task_id: &str) -> Option<Value> {
        let mut inner = self.lock();
        let task = inner.tasks.get_mut(task_id)?;
        Some(task.query(&self.config.timing, &self.base_url))
    }

    /// The task's final `data` once it has ended (not counted as a query); `None`
    /// while it runs or when it does not exist.
    pub(crate) fn final_data(&self, task_id: &str) -> Option<Value> {
        let mut inner = self.lock();
        let task = inner.tasks.get_mut(task_id)?;
        task.final_data(&self.config.timing, &self.base_url)
    }

    pub(crate) fn record_webhook(&self, attempt: WebhookAttempt) {
        self.lock().webhooks.push(attempt);
    }

    pub(crate) fn webhooks(&self) -> Vec<WebhookAttempt> {
        self.lock().webhooks.clone()
    }

    pub(crate) fn has_file(&self, task_id: &str, name: &str) -> bool {
        self.lock()
            .tasks
            .get_mut(task_id)
            .is_some_and(|t| t.has_file(name))
    }

    /// Tasks created and not finished yet, for the running-task limit.
    pub(crate) fn running_tasks(&self) -> usize {
        self.lock().tasks.running(&self.config.timing)
    }

    pub(crate) fn counts(&self) -> Counts {
        self.lock().counts.clone()
    }

    pub(crate) fn tasks(&self) -> Vec<TaskRecord> {
        self.lock().tasks.records()
    }

    pub(crate) fn faults(&self) -> FaultLog {
        self.lock().faults.clone()
    }
}
