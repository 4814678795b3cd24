//! One poller for every running `.sync` task: each round sends one DescribeTasks per ≤ 100 ARNs per
//! cluster, delivers the tasks that stopped, and sleeps with back-off (no busy polling).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::backend::EcsBackend;
use crate::error::EcsError;
use crate::model::EcsTask;

/// Most ARNs DescribeTasks accepts.
pub const DESCRIBE_BATCH: usize = 100;

/// What waiting for a task gave.
#[derive(Debug, Clone)]
pub(crate) enum Stopped {
    /// The task stopped.
    Task(Box<EcsTask>),
    /// DescribeTasks reported it MISSING.
    Missing,
    /// DescribeTasks failed (after the SDK's own retries).
    Error(EcsError),
}

type Waiters = HashMap<(String, String), Vec<oneshot::Sender<Stopped>>>;

/// Poll intervals: from `initial`, times 1.5 each idle round, up to `cap`; back to `initial` on news.
#[derive(Debug, Clone, Copy)]
pub struct PollIntervals {
    /// First interval.
    pub initial: Duration,
    /// Longest interval.
    pub cap: Duration,
}

/// The shared poller.
pub(crate) struct Poller {
    backend: Arc<dyn EcsBackend>,
    waiters: Mutex<Waiters>,
    running: Mutex<bool>,
    intervals: PollIntervals,
    rounds: std::sync::atomic::AtomicU64,
}

impl Poller {
    pub(crate) fn new(backend: Arc<dyn EcsBackend>, intervals: PollIntervals) -> Arc<Poller> {
        Arc::new(Poller {
            backend,
            waiters: Mutex::default(),
            running: Mutex::new(false),
            intervals,
            rounds: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Poll rounds so far.
    pub(crate) fn rounds(&self) -> u64 {
        self.rounds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until the task is STOPPED (or missing).
    pub(crate) async fn wait(self: &Arc<Self>, cluster: &str, arn: &str) -> Stopped {
        let (tx, rx) = oneshot::channel();
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((cluster.to_owned(), arn.to_owned()))
            .or_default()
            .push(tx);
        self.ensure_running();
        rx.await.unwrap_or(Stopped::Error(EcsError::new("AmazonECSException", "the ECS poller stopped")))
    }

    fn ensure_running(self: &Arc<Self>) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if *running {
            return;
        }
        *running = true;
        let this = self.clone();
        tokio::spawn(async move { this.run().await });
    }

    async fn run(self: Arc<Self>) {
        let mut interval = self.intervals.initial;
        loop {
            tokio::time::sleep(interval).await;
            let pending: BTreeMap<String, Vec<String>> = {
                let waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
                let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for ((c, a), senders) in waiters.iter() {
                    if senders.iter().any(|s| !s.is_closed()) {
                        by_cluster.entry(c.clone()).or_default().push(a.clone());
                    }
                }
                by_cluster
            };
            if pending.is_empty() {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
                waiters.retain(|_, s| s.iter().any(|s| !s.is_closed()));
                if waiters.is_empty() {
                    *running = false;
                    return;
                }
                continue;
            }
            self.rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut news = false;
            for (cluster, arns) in pending {
                for chunk in arns.chunks(DESCRIBE_BATCH) {
                    let result = self.backend.describe_tasks(&cluster, chunk).await;
                    let mut deliver = |arn: &str, what: Stopped| {
                        news = true;
                        let senders = self
                            .waiters
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&(cluster.clone(), arn.to_owned()));
                        // Every waiter but the last gets a copy; the last one the answer itself.
                        let mut senders = senders.unwrap_or_default();
                        let last = senders.pop();
                        for s in senders {
                            let _ = s.send(what.clone());
                        }
                        if let Some(s) = last {
                            let _ = s.send(what);
                        }
                    };
                    match result {
                        Ok(out) => {
                            for t in out.tasks.into_iter().filter(EcsTask::is_stopped) {
                                let arn = t.task_arn.clone();
                                deliver(&arn, Stopped::Task(Box::new(t)));
                            }
                            for f in out.failures {
                                if let Some(arn) = f.arn.filter(|_| f.reason == crate::model::MISSING) {
                                    deliver(&arn, Stopped::Missing);
                                }
                            }
                        }
                        Err(e) if e.exception == "ThrottlingException" => {}
                        Err(e) => {
                            for arn in chunk {
                                deliver(arn, Stopped::Error(e.clone()));
                            }
                        }
                    }
                    if news {
                        // Let the waiters just answered take their tasks before the next batch is asked
                        // for: ten thousand tasks stopping together are handed on a hundred at a time,
                        // not all held at once.
                        tokio::task::yield_now().await;
                    }
                }
            }
            interval = if news {
                self.intervals.initial
            } else {
                Duration::from_secs_f64((interval.as_secs_f64() * 1.5).min(self.intervals.cap.as_secs_f64()))
            };
        }
    }
}
