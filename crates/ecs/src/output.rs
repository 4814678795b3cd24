//! Container output of the local backend: each container's stdout and stderr read as they arrive, cut into
//! lines, kept in a bounded buffer (the last [`OUTPUT_BUFFER_BYTES`] per container, never the whole stream)
//! and handed, line by line, to an [`OutputSink`] (the CLI prints them, a server keeps them as log streams).
//!
//! The pipes are always drained to their end: bytes that are not UTF-8 are shown lossily (U+FFFD) and never
//! stop the reader, so a container never dies of SIGPIPE because of what it printed; a line longer than
//! [`MAX_LINE_BYTES`] without a newline is cut into pieces of that size (as Docker's log drivers cut lines
//! at 16 KiB), so a 1 GB line costs no more than the buffer.
//!
//! With an `awslogs` `logConfiguration`, a container's output has the log stream ECS gives it
//! (`awslogs-stream-prefix/container-name/task-id` in `awslogs-group`; [`LogStream::for_container`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::task::JoinHandle;

use crate::taskdef::ContainerDefinition;

/// Bytes of output kept per container (the newest; older lines are dropped first).
pub const OUTPUT_BUFFER_BYTES: usize = 1 << 20;

/// The longest line handed on whole; a longer one is cut into pieces of this size.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// What each kept line costs besides its text (its slot in the buffer), so that a flood of empty lines is
/// bounded too.
const LINE_OVERHEAD: usize = std::mem::size_of::<OutputLine>();

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// The container's standard output.
    Stdout,
    /// The container's standard error.
    Stderr,
}

/// One line a container printed (without its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Its pipe.
    pub stream: OutputStream,
    /// The text, invalid UTF-8 replaced by U+FFFD.
    pub text: String,
    /// When it was read, epoch milliseconds.
    pub timestamp: i64,
}

/// Where a container's output goes on AWS: a CloudWatch Logs stream of an `awslogs` log configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogStream {
    /// `awslogs-group`.
    pub group: String,
    /// `awslogs-prefix/container/task-id`, or `container/task-id` without a prefix (*unverified*: ECS
    /// documents the prefixed form only).
    pub stream: String,
    /// `awslogs-region`, when given.
    pub region: Option<String>,
}

impl LogStream {
    /// The stream ECS writes a container's output to, for a task id (the last part of its ARN): the
    /// awslogs driver's `prefix-name/container-name/ecs-task-id` (AWS, "Using the awslogs log driver").
    /// `None` unless the container's log driver is `awslogs` with a group.
    pub fn for_container(c: &ContainerDefinition, task_id: &str) -> Option<LogStream> {
        let lc = c.log_configuration.as_ref()?;
        if lc.log_driver != "awslogs" {
            return None;
        }
        let group = lc.options.get("awslogs-group")?.clone();
        let stream = match lc.options.get("awslogs-stream-prefix") {
            Some(p) => format!("{p}/{}/{task_id}", c.name),
            None => format!("{}/{task_id}", c.name),
        };
        Some(LogStream { group, stream, region: lc.options.get("awslogs-region").cloned() })
    }
}

/// Whose output a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSource {
    /// The task's ARN.
    pub task_arn: String,
    /// The Task state that ran it, when known ([`crate::RunTaskRequest::state_name`]).
    pub state_name: Option<String>,
    /// The execution that ran it, when known.
    pub execution_arn: Option<String>,
    /// The container's name.
    pub container: String,
    /// Its log stream, when its task definition has an `awslogs` configuration.
    pub log_stream: Option<LogStream>,
}

/// Receives every line of every container as it is read (from a reader task; keep it quick).
pub trait OutputSink: Send + Sync + std::fmt::Debug {
    /// One line of `source`'s output.
    fn line(&self, source: &OutputSource, line: &OutputLine);
}

/// The last [`OUTPUT_BUFFER_BYTES`] of one container's output (stdout and stderr in arrival order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputBuffer {
    lines: VecDeque<OutputLine>,
    bytes: usize,
    dropped: u64,
}

impl OutputBuffer {
    /// Keeps `line`, dropping the oldest lines while the buffer holds more than its bound.
    pub fn push(&mut self, line: OutputLine) {
        self.bytes += line.text.len() + LINE_OVERHEAD;
        self.lines.push_back(line);
        while self.bytes > OUTPUT_BUFFER_BYTES {
            let Some(old) = self.lines.pop_front() else { break };
            self.bytes -= old.text.len() + LINE_OVERHEAD;
            self.dropped += 1;
        }
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &OutputLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// What the kept lines cost (text plus a slot each); never more than [`OUTPUT_BUFFER_BYTES`].
    pub fn retained_bytes(&self) -> usize {
        self.bytes
    }

    /// How many lines were dropped to stay within the bound.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// A container's captured output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerLog {
    /// Container name.
    pub container: String,
    /// The last lines of stdout and stderr, in arrival order (the text of [`ContainerLog::output`]).
    pub lines: VecDeque<String>,
    /// The lines with their pipe and time.
    pub output: OutputBuffer,
}

/// The output of a task's containers, one buffer per container, shared by its readers.
#[derive(Debug, Default)]
pub(crate) struct TaskOutput {
    containers: Mutex<Vec<(String, OutputBuffer)>>,
}

impl TaskOutput {
    /// Every container's output so far.
    pub(crate) fn snapshot(&self) -> Vec<ContainerLog> {
        let c = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        c.iter()
            .map(|(name, b)| ContainerLog {
                container: name.clone(),
                lines: b.lines().map(|l| l.text.clone()).collect(),
                output: b.clone(),
            })
            .collect()
    }

    /// A buffer for one more container (its index).
    pub(crate) fn add_container(&self, name: &str) -> usize {
        let mut c = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        c.push((name.to_owned(), OutputBuffer::default()));
        c.len() - 1
    }

    /// Keeps a line of container `index`.
    pub(crate) fn push(&self, index: usize, line: OutputLine) {
        let mut c = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, b)) = c.get_mut(index) {
            b.push(line);
        }
    }
}

/// The reader tasks of one container; [`Readers::finish`] waits until they have read their pipes to the end.
#[derive(Debug, Default)]
pub(crate) struct Readers(Vec<JoinHandle<()>>);

impl Readers {
    /// Waits (at most `limit`) for every reader to reach the end of its pipe, so that a stopped task's
    /// output is complete; a pipe still held open by a process that outlived the task is left to its reader.
    pub(crate) async fn finish(self, limit: std::time::Duration) {
        let all = futures_util::future::join_all(self.0);
        let _ = tokio::time::timeout(limit, all).await;
    }

    pub(crate) fn extend(&mut self, other: Readers) {
        self.0.extend(other.0);
    }
}

/// What is done with each line of container `index` of `output`: logged at debug, handed to `sink`, kept.
pub(crate) fn deliver(
    output: Arc<TaskOutput>,
    source: Arc<OutputSource>,
    sink: Option<Arc<dyn OutputSink>>,
    index: usize,
) -> impl Fn(OutputLine) + Send + Sync + 'static {
    move |line: OutputLine| {
        tracing::debug!(container = %source.container, "{}", line.text);
        if let Some(sink) = &sink {
            sink.line(&source, &line);
        }
        output.push(index, line);
    }
}

/// Starts reading a child's stdout and stderr, handing each line to `line` (from the reader tasks).
pub(crate) fn capture_with(
    child: &mut tokio::process::Child,
    line: impl Fn(OutputLine) + Send + Sync + 'static,
) -> Readers {
    let line = Arc::new(line);
    let mut readers = Readers::default();
    let pipes: [(Option<Box<dyn AsyncRead + Send + Unpin>>, OutputStream); 2] = [
        (child.stdout.take().map(|p| Box::new(p) as _), OutputStream::Stdout),
        (child.stderr.take().map(|p| Box::new(p) as _), OutputStream::Stderr),
    ];
    for (pipe, stream) in pipes {
        let Some(pipe) = pipe else { continue };
        let line = line.clone();
        readers.0.push(tokio::spawn(async move {
            read_lines(pipe, |text| {
                line(OutputLine { stream, text, timestamp: chrono::Utc::now().timestamp_millis() });
            })
            .await;
        }));
    }
    readers
}

/// Reads `pipe` to its end, calling `line` for each line (without its `\n`, and a `\r` before it), pieces
/// of at most [`MAX_LINE_BYTES`] of a longer one, and what is left at the end. Never holds more than one
/// line piece and one read buffer; a read error ends it like the end of the pipe.
pub async fn read_lines(mut pipe: impl AsyncRead + Unpin, mut line: impl FnMut(String)) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let room = MAX_LINE_BYTES - pending.len();
            let window = &rest[..rest.len().min(room)];
            if let Some(nl) = window.iter().position(|&b| b == b'\n') {
                pending.extend_from_slice(&window[..nl]);
                if pending.last() == Some(&b'\r') {
                    pending.pop();
                }
                line(lossy(&pending));
                pending.clear();
                rest = &rest[nl + 1..];
            } else {
                pending.extend_from_slice(window);
                rest = &rest[window.len()..];
                if pending.len() == MAX_LINE_BYTES {
                    // A long line: hand on a piece, keeping a UTF-8 sequence cut at its end for the next.
                    let keep = incomplete_tail(&pending);
                    let tail = pending.split_off(pending.len() - keep);
                    line(lossy(&pending));
                    pending = tail;
                }
            }
        }
    }
    if !pending.is_empty() {
        line(lossy(&pending));
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How many bytes at the end of `bytes` start a UTF-8 sequence that is not complete yet (0–3).
fn incomplete_tail(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => 0,
        Err(e) if e.error_len().is_none() => bytes.len() - e.valid_up_to(),
        Err(_) => {
            // Invalid bytes earlier; look only at the last three.
            let start = bytes.len().saturating_sub(3);
            (start..bytes.len())
                .find(|&i| {
                    bytes[i] >= 0xC0
                        && std::str::from_utf8(&bytes[i..]).is_err_and(|e| e.error_len().is_none())
                })
                .map_or(0, |i| bytes.len() - i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8]) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut out = Vec::new();
        rt.block_on(read_lines(input, |l| out.push(l)));
        out
    }

    #[test]
    fn lines_are_cut_at_newlines_and_crlf_and_the_rest_is_kept() {
        assert_eq!(lines_of(b"a\nb\r\n\nc"), ["a", "b", "", "c"]);
        assert!(lines_of(b"").is_empty());
    }

    /// `printf '\377\376'; echo ok`: the bytes are shown lossily and reading goes on.
    #[test]
    fn invalid_utf8_is_lossy_and_does_not_stop_reading() {
        assert_eq!(lines_of(b"\xff\xfeok\nnext\n"), ["\u{fffd}\u{fffd}ok", "next"]);
    }

    #[test]
    fn a_long_line_is_cut_into_pieces_that_keep_utf8_sequences_whole() {
        let mut input = vec![b'x'; MAX_LINE_BYTES - 1];
        input.extend_from_slice("é".as_bytes()); // straddles the cut
        input.extend_from_slice(b"yz\n");
        let l = lines_of(&input);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].len(), MAX_LINE_BYTES - 1);
        assert_eq!(l[1], "éyz");
    }

    #[test]
    fn the_buffer_keeps_the_newest_lines_within_its_bound() {
        let mut b = OutputBuffer::default();
        let line = |i: usize, n: usize| OutputLine {
            stream: OutputStream::Stdout,
            text: format!("{i:08}{}", "x".repeat(n)),
            timestamp: 0,
        };
        for i in 0..200_000 {
            b.push(line(i, 0));
            assert!(b.retained_bytes() <= OUTPUT_BUFFER_BYTES);
        }
        for i in 200_000..200_300 {
            b.push(line(i, MAX_LINE_BYTES - 8));
            assert!(b.retained_bytes() <= OUTPUT_BUFFER_BYTES);
        }
        assert_eq!(b.lines().last().unwrap().text[..8], *"00200299");
        assert!(b.retained_bytes() > OUTPUT_BUFFER_BYTES - MAX_LINE_BYTES - LINE_OVERHEAD);
        assert_eq!(b.dropped() + b.lines().len() as u64, 200_300);
    }

    #[test]
    fn awslogs_streams_are_prefix_container_task_id() {
        let c: ContainerDefinition = serde_json::from_value(serde_json::json!({"name": "app", "image": "x",
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/job",
                "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}))
        .unwrap();
        let s = LogStream::for_container(&c, "0123abcd").unwrap();
        assert_eq!(s.group, "/ecs/job");
        assert_eq!(s.stream, "ecs/app/0123abcd");
        assert_eq!(s.region.as_deref(), Some("us-east-1"));
        let none: ContainerDefinition = serde_json::from_value(serde_json::json!({"name": "app",
            "logConfiguration": {"logDriver": "json-file"}}))
        .unwrap();
        assert_eq!(LogStream::for_container(&none, "t"), None);
    }
}
