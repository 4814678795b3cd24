//! A local task's processes as one unit, as a container's PID namespace is on ECS: every descendant of
//! its containers — background children, double-forked grandchildren, `setsid` daemons in a new session
//! and process group — is found, and goes when the task stops (SIGTERM, then SIGKILL after the grace).
//!
//! Mechanism: **child subreaper + `/proc` tracking** (Linux).
//! - The sfn process makes itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`, once, when the first
//!   local container starts), so a process whose parent dies is re-parented to sfn, not to init: no
//!   descendant can leave the tree rooted at sfn, whatever it does (`setsid`, double fork, `nohup`).
//! - Each task records every process of its containers while it runs ([`TaskProcs::scan`], every
//!   [`SCAN_EVERY`] and at each step of stopping): the container processes and, transitively, the children
//!   of every recorded process (`/proc/<pid>/task/*/children`), plus the orphans sfn adopted that are the
//!   task's — those whose environment carries the task's marker ([`TASK_ARN_VAR`], set on every container
//!   and inherited by everything it starts) or whose process group or session is one of the task's
//!   (a zombie has no environment left, but keeps those). A process is known by its pid *and* its start
//!   time (`/proc/<pid>/stat`), so a reused pid is never signalled or reaped by mistake.
//! - Stopping signals every recorded process and the containers' process groups, scans again each tick
//!   (a process forked meanwhile gets SIGTERM too), SIGKILLs all after the grace, and the task is STOPPED
//!   only when none is left.
//! - Reaping: an adopted orphan is sfn's child, so sfn must reap it. Only recorded, adopted, non-container
//!   pids whose start time still matches are reaped, one by one (`waitpid(pid, WNOHANG)`): the container
//!   processes themselves are tokio's children (tokio waits on their own pids or pidfds), and so is any
//!   other child the process has (`waitpid(-1)` or `waitid(P_ALL)` would steal their exit statuses).
//!
//! Why not a cgroup v2 per task (`cgroup.kill`, `cgroup.procs`): it needs a writable, delegated cgroup v2
//! hierarchy, which sfn usually does not have (in a container, under a systemd user session without
//! delegation, on cgroup v1 or hybrid hosts like this project's CI), and putting a process into it before
//! it runs its first instruction needs `clone3(CLONE_INTO_CGROUP)` or a `pre_exec` hook (unsafe code,
//! which the workspace forbids); a fallback would be needed anyway, and one mechanism is easier to trust.
//!
//! Limits, documented rather than hidden: the subreaper is process-wide (orphans of any child of the sfn
//! process come to it; those of no task are left as they are); a process that leaves the task's session
//! and process group, clears its environment and is orphaned between two scans is not found; elsewhere
//! than Linux there is no `/proc` and no subreaper, so only the containers' process groups are signalled.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

/// The variable set on every container of a local task (its value: the task's ARN); everything the
/// container starts inherits it, which is how an orphan is known as the task's.
pub(crate) const TASK_ARN_VAR: &str = "SFN_ECS_TASK_ARN";

/// How often a running task records its processes (a double-forked process is usually seen before its
/// parent exits; if not, the marker, group or session still name its task).
pub(crate) const SCAN_EVERY: Duration = Duration::from_millis(50);

/// The container processes of every running local task: tokio's children, never reaped here, and not
/// looked at as orphans.
static CONTAINERS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn containers() -> MutexGuard<'static, BTreeSet<i32>> {
    CONTAINERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes the sfn process a child subreaper (once; false when the system refuses or is not Linux).
pub(crate) fn become_subreaper() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        #[cfg(target_os = "linux")]
        let ok = match nix::sys::prctl::set_child_subreaper(true) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("PR_SET_CHILD_SUBREAPER failed ({e}): orphans of local tasks are not tracked");
                false
            }
        };
        #[cfg(not(target_os = "linux"))]
        let ok = false;
        ok
    })
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy)]
struct Stat {
    ppid: i32,
    pgid: i32,
    sid: i32,
    /// Start time (clock ticks since boot): with the pid, the process's identity.
    start: u64,
    zombie: bool,
}

fn stat(pid: i32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp session … starttime …`; comm may hold spaces and parentheses.
    let rest = s.get(s.rfind(')')? + 1..)?;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    Some(Stat {
        zombie: matches!(*f.first()?, "Z" | "X"),
        ppid: f.get(1)?.parse().ok()?,
        pgid: f.get(2)?.parse().ok()?,
        sid: f.get(3)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// The children of every thread of `pid`.
fn children(pid: i32) -> Vec<i32> {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut out = Vec::new();
    for t in threads.flatten() {
        if let Ok(list) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(list.split_ascii_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

/// True when `pid`'s environment holds `marker` (`NAME=value`).
fn marked(pid: i32, marker: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|env| env.split(|b| *b == 0).any(|entry| entry == marker))
}

pub(crate) fn me() -> i32 {
    i32::try_from(std::process::id()).unwrap_or(i32::MAX)
}

/// The start time of process `pid` (with its pid, its identity), if it exists.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|s| s.start)
}

/// True while the process `pid` that started at `start` runs (a zombie has ended).
pub(crate) fn alive(pid: i32, start: u64) -> bool {
    stat(pid).is_some_and(|s| s.start == start && !s.zombie)
}

/// SIGKILLs every process whose environment carries the marker of `task_arn` (a task whose supervisor
/// died: its processes have no one left to stop them); returns how many it found.
pub(crate) fn kill_marked(task_arn: &str) -> usize {
    let marker = format!("{TASK_ARN_VAR}={task_arn}").into_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let mut n = 0;
    for pid in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()) {
        if pid != me() && marked(pid, &marker) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            n += 1;
        }
    }
    n
}

/// The processes of one local task: its containers and every descendant recorded while it ran.
pub(crate) struct TaskProcs {
    /// `SFN_ECS_TASK_ARN=<arn>`.
    marker: Vec<u8>,
    /// Container processes: pid → start time.
    containers: HashMap<i32, u64>,
    /// Every other process of the task still there: pid → start time.
    seen: HashMap<i32, u64>,
    /// The task's process groups and sessions (never sfn's own).
    groups: HashSet<i32>,
    sessions: HashSet<i32>,
    /// Processes already sent SIGTERM.
    termed: HashSet<i32>,
    /// sfn's own process group and session.
    own: (i32, i32),
}

impl TaskProcs {
    /// The processes of the task `task_arn` (none yet).
    pub(crate) fn new(task_arn: &str) -> Self {
        let own = stat(me()).map_or((0, 0), |s| (s.pgid, s.sid));
        TaskProcs {
            marker: format!("{TASK_ARN_VAR}={task_arn}").into_bytes(),
            containers: HashMap::new(),
            seen: HashMap::new(),
            groups: HashSet::new(),
            sessions: HashSet::new(),
            termed: HashSet::new(),
            own,
        }
    }

    /// A container process just started (the leader of its own process group).
    pub(crate) fn add_container(&mut self, pid: u32) {
        let Ok(pid) = i32::try_from(pid) else { return };
        containers().insert(pid);
        self.groups.insert(pid);
        if let Some(s) = stat(pid) {
            self.containers.insert(pid, s.start);
            self.scan();
        }
    }

    fn note(&mut self, pid: i32, s: &Stat) {
        self.seen.insert(pid, s.start);
        if s.pgid != self.own.0 {
            self.groups.insert(s.pgid);
        }
        if s.sid != self.own.1 {
            self.sessions.insert(s.sid);
        }
    }

    /// Records every process of the task now (and forgets those that are gone); reaps the task's orphans
    /// that sfn adopted and that have exited.
    pub(crate) fn scan(&mut self) {
        let me = me();
        let mut stack: Vec<i32> = Vec::new();
        for (&pid, &start) in &self.containers {
            if stat(pid).is_some_and(|s| s.start == start) {
                stack.extend(children(pid));
            }
        }
        self.seen.retain(|&pid, start| stat(pid).is_some_and(|s| s.start == *start));
        stack.extend(self.seen.keys().copied());
        {
            let containers = containers();
            for pid in children(me) {
                if self.seen.contains_key(&pid) || containers.contains(&pid) {
                    continue;
                }
                if let Some(s) = stat(pid)
                    && (self.groups.contains(&s.pgid)
                        || self.sessions.contains(&s.sid)
                        || marked(pid, &self.marker))
                {
                    stack.push(pid);
                }
            }
        }
        let mut visited = HashSet::new();
        while let Some(pid) = stack.pop() {
            if !visited.insert(pid) || self.containers.contains_key(&pid) {
                continue;
            }
            let Some(s) = stat(pid) else {
                self.seen.remove(&pid);
                continue;
            };
            self.note(pid, &s);
            if s.zombie {
                if s.ppid == me && self.reap(pid, s.start) {
                    self.seen.remove(&pid);
                }
                continue;
            }
            stack.extend(children(pid));
        }
    }

    /// Reaps the exited orphan `pid` if it still is the process that started at `start`.
    fn reap(&self, pid: i32, start: u64) -> bool {
        if stat(pid).is_none_or(|s| s.start != start) {
            return true;
        }
        // Ours: a recorded process of this task, re-parented to sfn, not a container (not tokio's).
        matches!(
            waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)),
            Ok(nix::sys::wait::WaitStatus::Exited(..) | nix::sys::wait::WaitStatus::Signaled(..))
                | Err(nix::errno::Errno::ECHILD)
        )
    }

    /// Sends `signal` to every process of the task (the containers' groups, every recorded process);
    /// SIGTERM goes once to each process.
    pub(crate) fn signal(&mut self, signal: Signal) {
        for (&pid, &start) in &self.containers {
            if stat(pid).is_some_and(|s| s.start == start) {
                let _ = killpg(Pid::from_raw(pid), signal);
            }
        }
        let pids: Vec<(i32, u64)> = self.seen.iter().map(|(p, s)| (*p, *s)).collect();
        for (pid, start) in pids {
            if signal == Signal::SIGTERM && !self.termed.insert(pid) {
                continue;
            }
            if stat(pid).is_some_and(|s| s.start == start && !s.zombie) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
    }

    /// True when no process of the task but its containers (tokio's to wait for) is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// How many processes besides the containers are left.
    pub(crate) fn left(&self) -> usize {
        self.seen.len()
    }
}

impl Drop for TaskProcs {
    /// A task dropped before it stopped (its runtime shut down): nothing of it is left running.
    fn drop(&mut self) {
        self.scan();
        self.signal(Signal::SIGKILL);
        let mut containers = containers();
        for pid in self.containers.keys() {
            containers.remove(pid);
        }
    }
}
