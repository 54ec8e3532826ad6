//! One shutdown signal for the whole batch, listened to from its first line.
//!
//! The first Ctrl-C (SIGINT) asks the batch to stop: no new submission starts, the one
//! being sent is finished and recorded, and the summary names what still runs. A
//! second one exits at once with 130: the ledger already holds everything sent.

use tokio::sync::watch;

/// Exit code of a second Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_AT_ONCE: i32 = 130;

pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

impl Shutdown {
    /// Installs the handler now (not when first awaited), so that a Ctrl-C during the
    /// first submission is not lost.
    pub fn listen() -> Shutdown {
        let (tell, requested) = watch::channel(false);
        let mut signals = Signals::install();
        tokio::spawn(async move {
            if !signals.next().await {
                return;
            }
            let _ = tell.send(true);
            eprintln!(
                "stopping: no new job is sent; the one being sent is finished and recorded. \
                 Ctrl-C again to exit at once"
            );
            if signals.next().await {
                eprintln!("exiting at once; the ledger holds every job sent (`modellix recover`)");
                std::process::exit(EXIT_AT_ONCE);
            }
        });
        Shutdown { requested }
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Resolves once a stop is asked for.
    pub async fn asked(&mut self) {
        if self.requested.wait_for(|stop| *stop).await.is_err() {
            // The listener is gone (no signal support): never.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(unix)]
struct Signals(Option<tokio::signal::unix::Signal>);

#[cfg(unix)]
impl Signals {
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Signals(signal(SignalKind::interrupt()).ok())
    }

    async fn next(&mut self) -> bool {
        match &mut self.0 {
            Some(signal) => signal.recv().await.is_some(),
            None => false,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Self {
        Signals
    }

    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
