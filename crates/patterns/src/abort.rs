//! Cooperative cancellation: stopping an execution aborts every branch and task it runs.

use tokio::sync::watch;

/// The sending side: call [`AbortHandle::abort`] to stop everything that holds a matching [`AbortSignal`].
#[derive(Debug, Clone)]
pub struct AbortHandle {
    tx: std::sync::Arc<watch::Sender<bool>>,
}

/// The receiving side, cheap to clone; [`AbortSignal::aborted`] resolves once aborted.
#[derive(Debug, Clone)]
pub struct AbortSignal {
    rx: watch::Receiver<bool>,
}

impl AbortHandle {
    /// A new, not yet aborted, handle and its signal.
    pub fn new() -> (AbortHandle, AbortSignal) {
        let (tx, rx) = watch::channel(false);
        (AbortHandle { tx: std::sync::Arc::new(tx) }, AbortSignal { rx })
    }

    /// Aborts: every signal resolves.
    pub fn abort(&self) {
        self.tx.send_replace(true);
    }

    /// A fresh signal for this handle.
    pub fn signal(&self) -> AbortSignal {
        AbortSignal { rx: self.tx.subscribe() }
    }
}

impl AbortSignal {
    /// A signal that never fires.
    pub fn never() -> AbortSignal {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx);
        AbortSignal { rx }
    }

    /// True once aborted.
    pub fn is_aborted(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when aborted (never, if the handle is dropped without aborting).
    pub async fn aborted(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|a| *a).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
