//! Waits woken by a webhook: each wait of a client registers its task id here, and
//! `Client::notify` wakes every wait of that task, which then makes its confirming
//! query at once instead of sleeping until its next scheduled poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Per client: task id → one [`Notify`] per wait of that task.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    waits: Mutex<HashMap<String, Vec<Arc<Notify>>>>,
}

impl Wakers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Arc<Notify>>>> {
        self.waits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers one wait of `task_id`; it stays registered until the guard drops.
    pub(crate) fn register(self: &Arc<Self>, task_id: &str) -> WakeGuard {
        let notify = Arc::new(Notify::new());
        self.lock()
            .entry(task_id.to_owned())
            .or_default()
            .push(Arc::clone(&notify));
        WakeGuard {
            wakers: Arc::clone(self),
            task_id: task_id.to_owned(),
            notify,
        }
    }

    /// Wakes every wait of `task_id`; how many there were. A wait busy with a query
    /// keeps the wake-up for its next sleep (a stored permit), so none is lost.
    pub(crate) fn wake(&self, task_id: &str) -> usize {
        let waits = self.lock();
        let woken = waits.get(task_id).map_or(&[][..], Vec::as_slice);
        for notify in woken {
            notify.notify_one();
        }
        woken.len()
    }
}

/// One registered wait; unregisters on drop, so the map holds only waits in progress.
#[derive(Debug)]
pub(crate) struct WakeGuard {
    wakers: Arc<Wakers>,
    task_id: String,
    notify: Arc<Notify>,
}

impl WakeGuard {
    /// Completes when the task was reported by a webhook since the last wake-up.
    pub(crate) async fn woken(&self) {
        self.notify.notified().await;
    }
}

impl Drop for WakeGuard {
    fn drop(&mut self) {
        let mut waits = self.wakers.lock();
        if let Some(list) = waits.get_mut(&self.task_id) {
            list.retain(|n| !Arc::ptr_eq(n, &self.notify));
            if list.is_empty() {
                waits.remove(&self.task_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_before_the_sleep_is_kept_and_guards_clean_up() {
        let wakers = Arc::new(Wakers::default());
        let guard = wakers.register("task-1");
        let other = wakers.register("task-1");
        assert_eq!(wakers.wake("task-1"), 2);
        assert_eq!(wakers.wake("task-2"), 0);
        guard.woken().await; // the stored permit: returns at once
        drop(guard);
        drop(other);
        assert!(wakers.lock().is_empty());
    }
}
