//! JSONata evaluation off tokio's workers: a small pool of threads of its own (as many as the machine has
//! cores) runs every evaluation, so expressions that spin until their bound (10 s, `sfn_path::jsonata`)
//! leave the async workers free for the API (DescribeExecution, StopExecution) and for other executions.
//!
//! An evaluation waits for its result or for the state's abort signal, whichever comes first: a stopped
//! execution does not wait for its evaluation. When its execution stops (or its future is dropped) an
//! evaluation still queued is skipped and one running is cancelled: it ends at its next evaluation step
//! (`Expression::evaluate_cancellable`), freeing its thread. A current-thread runtime (`sfn run`,
//! tests on a virtual clock) evaluates in place: there no other task can be starved, and waiting on a
//! thread would let a paused clock jump.
//!
//! A leaf module: it knows nothing of states or executions.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

use sfn_patterns::AbortSignal;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The pool's queue; `None` when no thread could be started (evaluations then run in place).
fn pool() -> Option<&'static Mutex<Sender<Job>>> {
    static POOL: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
        let mut started = 0;
        for i in 0..threads {
            let rx = rx.clone();
            let spawned =
                std::thread::Builder::new().name(format!("sfn-jsonata-{i}")).spawn(move || work(&rx));
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then(|| Mutex::new(tx))
    })
    .as_ref()
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            // A panic in one evaluation must not take the thread with it (sfn-path already turns
            // jsonata-rs's panics into errors; this is the last line).
            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
            Err(_) => return,
        }
    }
}

/// Marks the job cancelled when the waiting future goes (finished, aborted or dropped).
struct Cancel(Arc<AtomicBool>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

thread_local! {
    /// Set while [`in_place_scope`] runs.
    static FORCED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every evaluation it makes in place (for the callers that cannot wait).
pub(crate) fn in_place_scope<T>(f: impl FnOnce() -> T) -> T {
    let before = FORCED.replace(true);
    let out = f();
    FORCED.set(before);
    out
}

/// True when evaluations run in place: inside [`in_place_scope`], outside a multi-thread runtime, or
/// without a pool.
pub(crate) fn in_place() -> bool {
    FORCED.get()
        || !Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
        || pool().is_none()
}

/// Runs `f` on the pool and waits for it; `None` when `abort` fired first (the result, if it ever
/// comes, is dropped). In a current-thread runtime, or without a pool, `f` runs in place.
/// `f` is given the flag that is set once nobody waits for it any more.
pub(crate) async fn run<T, F>(f: F, abort: &AbortSignal) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce(&Arc<AtomicBool>) -> T + Send + 'static,
{
    let Some(queue) = pool().filter(|_| !in_place()) else {
        return Some(f(&Arc::new(AtomicBool::new(false))));
    };
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel = Cancel(cancelled.clone());
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        if !cancelled.load(Ordering::Relaxed) {
            let _ = tx.send(f(&cancelled));
        }
    });
    let sent = match queue.lock() {
        Ok(q) => q.send(job),
        Err(poisoned) => poisoned.into_inner().send(job),
    };
    if let Err(std::sync::mpsc::SendError(job)) = sent {
        // No worker left (cannot happen while the process lives): run it here.
        job();
        return rx.await.ok();
    }
    tokio::select! {
        r = rx => r.ok(),
        () = abort.aborted() => None,
    }
}
