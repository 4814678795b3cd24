//! Container output on the terminal (and in CI logs): every line a local container prints goes to stderr
//! as it is read, prefixed `[State/container]`, a line at a time whether or not stderr is a terminal;
//! `--quiet` keeps it off the terminal. The last lines of each container are kept for the run's summary,
//! and with `--log-dir DIR` every line is also written to `DIR/<log group>/<log stream>` (the awslogs
//! stream ECS would write, `prefix/container/task-id`), or `DIR/<task-id>/<container>.log` without one.

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sfn::ecs::{OutputLine, OutputSink, OutputSource};

/// Lines of each container kept for the summary.
pub(crate) const TAIL_LINES: usize = 5;

/// Flags of the commands that run containers.
#[derive(Debug, clap::Args)]
pub(crate) struct OutputArgs {
    /// Do not print the containers' output on stderr (it is still in the summary and --log-dir).
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// Also write each container's output to files under DIR (one per awslogs stream).
    #[arg(long, value_name = "DIR")]
    pub(crate) log_dir: Option<PathBuf>,
}

/// The CLI's [`OutputSink`].
#[derive(Debug)]
pub(crate) struct Console {
    quiet: bool,
    log_dir: Option<PathBuf>,
    tails: Mutex<HashMap<(String, String), VecDeque<String>>>,
    files: Mutex<HashMap<PathBuf, Option<std::fs::File>>>,
}

impl Console {
    pub(crate) fn new(args: &OutputArgs) -> Self {
        Console {
            quiet: args.quiet,
            log_dir: args.log_dir.clone(),
            tails: Mutex::default(),
            files: Mutex::default(),
        }
    }

    /// The last [`TAIL_LINES`] lines of a task's container.
    pub(crate) fn tail(&self, task_arn: &str, container: &str) -> Vec<String> {
        let tails = self.tails.lock().unwrap_or_else(|e| e.into_inner());
        tails
            .get(&(task_arn.to_owned(), container.to_owned()))
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn write_file(&self, dir: &Path, source: &OutputSource, line: &OutputLine) {
        let task_id = source.task_arn.rsplit('/').next().unwrap_or("task");
        let path = match &source.log_stream {
            Some(s) => dir.join(s.group.trim_start_matches('/')).join(&s.stream),
            None => dir.join(task_id).join(format!("{}.log", source.container)),
        };
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let file = files.entry(path).or_insert_with_key(|path| {
            let opened = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::OpenOptions::new().create(true).append(true).open(path));
            // Said once per file; the run goes on without it.
            opened
                .map_err(|e| eprintln!("sfn: cannot write container output to {}: {e}", path.display()))
                .ok()
        });
        if let Some(f) = file
            && writeln!(f, "{}", line.text).is_err()
        {
            *file = None;
        }
    }
}

/// `[State/container]`, or `[container]` when the state is not known.
pub(crate) fn prefix(state: Option<&str>, container: &str) -> String {
    match state {
        Some(s) => format!("[{s}/{container}]"),
        None => format!("[{container}]"),
    }
}

impl OutputSink for Console {
    fn line(&self, source: &OutputSource, line: &OutputLine) {
        {
            let mut tails = self.tails.lock().unwrap_or_else(|e| e.into_inner());
            let t = tails.entry((source.task_arn.clone(), source.container.clone())).or_default();
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line.text.clone());
        }
        if let Some(dir) = &self.log_dir {
            self.write_file(dir, source, line);
        }
        if !self.quiet {
            let mut err = std::io::stderr().lock();
            // A closed stderr is no reason to stop reading the container's pipe.
            let _ =
                writeln!(err, "{} {}", prefix(source.state_name.as_deref(), &source.container), line.text);
        }
    }
}
