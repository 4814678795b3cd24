//! Cooperative cancellation: stopping an execution aborts every branch and task it runs.
//!
//! Signals nest: a Map or Parallel state derives a child handle so a failing iteration can abort its
//! siblings, while an abort of the whole execution still reaches every child.

use std::sync::Arc;

use tokio::sync::watch;

/// The sending side: call [`AbortHandle::abort`] to stop everything that holds one of its signals.
#[derive(Debug, Clone)]
pub struct AbortHandle {
    tx: Arc<watch::Sender<bool>>,
    parents: Vec<watch::Receiver<bool>>,
}

/// The receiving side, cheap to clone; [`AbortSignal::aborted`] resolves once this handle or any
/// ancestor aborts.
#[derive(Debug, Clone)]
pub struct AbortSignal {
    rxs: Vec<watch::Receiver<bool>>,
}

impl AbortHandle {
    /// A new, not yet aborted, handle and its signal.
    pub fn new() -> (AbortHandle, AbortSignal) {
        let (tx, rx) = watch::channel(false);
        (AbortHandle { tx: Arc::new(tx), parents: Vec::new() }, AbortSignal { rxs: vec![rx] })
    }

    /// Aborts: every signal of this handle (and of its children) resolves.
    pub fn abort(&self) {
        self.tx.send_replace(true);
    }

    /// A fresh signal for this handle.
    pub fn signal(&self) -> AbortSignal {
        let mut rxs = self.parents.clone();
        rxs.push(self.tx.subscribe());
        AbortSignal { rxs }
    }
}

impl AbortSignal {
    /// A signal that never fires.
    pub fn never() -> AbortSignal {
        AbortSignal { rxs: Vec::new() }
    }

    /// A child handle: its signals fire when it aborts or when this signal fires.
    pub fn child(&self) -> (AbortHandle, AbortSignal) {
        let (tx, rx) = watch::channel(false);
        let handle = AbortHandle { tx: Arc::new(tx), parents: self.rxs.clone() };
        let mut rxs = self.rxs.clone();
        rxs.push(rx);
        (handle, AbortSignal { rxs })
    }

    /// True once aborted.
    pub fn is_aborted(&self) -> bool {
        self.rxs.iter().any(|rx| *rx.borrow())
    }

    /// Resolves when aborted (never, if no handle can abort any more).
    pub async fn aborted(&self) {
        if self.rxs.is_empty() {
            return std::future::pending().await;
        }
        let waits = self.rxs.iter().map(|rx| {
            let mut rx = rx.clone();
            Box::pin(async move {
                if rx.wait_for(|a| *a).await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
        });
        futures_util::future::select_all(waits).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn children_see_parent_aborts_but_not_the_reverse() {
        let (root, root_signal) = AbortHandle::new();
        let (child, child_signal) = root_signal.child();
        child.abort();
        assert!(child_signal.is_aborted());
        assert!(!root_signal.is_aborted());
        let (_other, other_signal) = root_signal.child();
        root.abort();
        other_signal.aborted().await;
        assert!(other_signal.is_aborted());
        assert!(!AbortSignal::never().is_aborted());
    }
}
