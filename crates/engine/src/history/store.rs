//! How a [`History`](super::History) keeps its events: one 32-byte [`Slot`] per event, in chunks that
//! grow, with the strings events repeat (state names, task resources, regions) kept once per history and
//! named by a `u32`, and the payload texts copied into the history's own blocks ([`Texts`]: short ones
//! one after another, so such a text costs its bytes, not an allocation of its own with its header and
//! size class among the engine's short-lived allocations; a text of a few hundred bytes or more packed, as
//! LZ4, against the last text of its field: `lz4_flex`, a maintained safe codec, not a hand-written one);
//! the engine's [`JsonText`] is freed when the engine is done with it. An [`Event`] (what GetExecutionHistory, the journal and the sinks see) is made
//! from a slot only when asked (the sinks get each event before it is kept); the few events that do not
//! fit a slot (failures with their causes, a state that assigned variables, a Task with timeouts) are kept whole, boxed.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Event, EventDetails, JsonText, StateType, TaskResource};

/// The largest chunk, in events.
pub(super) const CHUNK: usize = 4096;
/// The first chunk: most executions are short, so a history starts small; chunk `k` > 0 holds
/// `FIRST_CHUNK << (k - 1)` events (as many as the chunks before it) up to [`CHUNK`].
const FIRST_CHUNK: usize = 16;

/// The most events a history keeps: ids and previous ids are `u32` in a slot (AWS allows 25,000).
/// [`History::push`](super::History) stops one short of it, keeping the last id for the final event.
pub(super) const MAX_EVENTS: usize = (u32::MAX - 1) as usize;

/// `Slot::after` when the event follows the event it links to.
const NO_AFTER: u32 = u32::MAX;

/// How many events chunk `k` holds.
pub(super) fn chunk_len(k: usize) -> usize {
    match k {
        0 => FIRST_CHUNK,
        k => {
            FIRST_CHUNK.checked_shl(u32::try_from(k - 1).unwrap_or(u32::MAX)).map_or(CHUNK, |n| n.min(CHUNK))
        }
    }
}

/// The chunk and offset of event index `i` (0-based) under [`chunk_len`]'s sizes.
pub(super) fn locate(i: usize) -> (usize, usize) {
    if i < FIRST_CHUNK {
        return (0, i);
    }
    if i < CHUNK {
        // Chunk k > 0 starts at FIRST_CHUNK << (k - 1).
        let k = (i / FIRST_CHUNK).ilog2() as usize + 1;
        return (k, i - (FIRST_CHUNK << (k - 1)));
    }
    // From CHUNK on, every chunk holds CHUNK events; chunk_len's doubling reaches CHUNK at index CHUNK.
    let first_full = (CHUNK / FIRST_CHUNK).ilog2() as usize + 1;
    (first_full + (i - CHUNK) / CHUNK, (i - CHUNK) % CHUNK)
}

/// Where a text kept in [`Texts`] is: `len` bytes from `at` in block `block`, the whole block when
/// `len` is [`WHOLE`] (a text of [`OWN`] bytes or more), or packed text `block` when `len` is [`PACKED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextRef {
    block: u32,
    at: u16,
    len: u16,
}

/// The empty text (no block).
const EMPTY: TextRef = TextRef { block: u32::MAX, at: 0, len: 0 };
/// [`TextRef::len`] of a text that has its block to itself.
const WHOLE: u16 = u16::MAX;
/// [`TextRef::len`] of a packed text (a [`Head`] in [`Texts::packs`]); a shared block's text is shorter than [`OWN`].
const PACKED: u16 = u16::MAX - 1;
/// The first shared block of [`Texts`], in bytes: a short execution's texts fit.
const FIRST_BLOCK: usize = 256;
/// The largest shared block of [`Texts`] (offsets in it are `u16`).
const BLOCK: usize = 64 * 1024;
/// A text of this many bytes or more has a block of its own, of its size: an allocation like the
/// engine's own texts, which reuses what the engine frees (a large task description, kept in a shared
/// block, would take fresh memory while the engine's freed copies stay with the allocator) — unless it
/// is packed ([`Texts::keep`]).
const OWN: usize = 1024;
/// The shortest text packed: below it, what LZ4 saves is about what a [`Head`] and the LZ4 format cost.
const PACK_MIN: usize = 256;
/// The longest text packed: LZ4 reaches back 64 KiB, across the dictionary and the text.
const PACK_MAX: usize = 32 * 1024;

/// Which event field a text is: a text is packed against the last text of the same field kept as it is
/// (a task description against the last task description, a state's input against the last state input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Input,
    Output,
    Parameters,
    Token,
    Submitted,
    TaskOutput,
    ExecutionInput,
    ExecutionOutput,
}

impl Field {
    const COUNT: usize = 8;
}

/// How many bytes a packed text's head takes in [`Texts::packs`]: its dictionary's [`TextRef`] (8), its
/// length and its packed length (`u16` each: a packed text is at most [`PACK_MAX`] bytes).
const HEAD: usize = 12;
/// The first block of packed texts, in bytes.
const FIRST_PACKS: usize = 1024;

/// A packed text's head, as [`Texts::packs`] keeps it before the text's LZ4 bytes. The text is the LZ4
/// block of its bytes against a dictionary, `dict`: the last text of the same [`Field`] kept as it is.
/// Consecutive task descriptions, the Parameters of a Map's tasks, or the inputs of a pipeline's states,
/// differ in a few ids, times and values: 2.2 KB of ECS task description becomes about 200 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    dict: TextRef,
    len: u16,
    packed: u16,
}

impl Head {
    fn write(self, to: &mut Vec<u8>) {
        to.extend_from_slice(&self.dict.block.to_le_bytes());
        to.extend_from_slice(&self.dict.at.to_le_bytes());
        to.extend_from_slice(&self.dict.len.to_le_bytes());
        to.extend_from_slice(&self.len.to_le_bytes());
        to.extend_from_slice(&self.packed.to_le_bytes());
    }

    /// The head at the start of `b`, and the packed bytes after it.
    fn read(b: &[u8]) -> Option<(Head, &[u8])> {
        let (h, rest) = b.split_first_chunk::<HEAD>()?;
        let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let head = Head {
            dict: TextRef {
                block: u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
                at: u16_at(4),
                len: u16_at(6),
            },
            len: u16_at(8),
            packed: u16_at(10),
        };
        Some((head, rest.get(..usize::from(head.packed))?))
    }
}

/// A buffer each thread reuses to pack (and check) a text, so packing allocates nothing of its own: the
/// LZ4 output at its worst-case size, and the text unpacked again.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> Option<R>) -> Option<R> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    SCRATCH.with(|s| {
        let mut s = s.try_borrow_mut().ok()?;
        let (a, b) = &mut *s;
        f(a, b)
    })
}

/// The payload texts of one history. Texts shorter than [`OWN`] are copied one after another into shared
/// blocks (block `k` + 1 twice block `k` up to [`BLOCK`]; a text that does not fit in what is left of the
/// open block opens the next; a block never grows, so a text in it never moves), so such a text costs its
/// bytes, not an allocation of its own; a longer text is a block of its own. A text of [`PACK_MIN`] to
/// [`PACK_MAX`] bytes is packed against the last such text of its field kept as it is, unless it is the
/// first of its field or packs to more than half its size: then it is kept as it is, and is the field's
/// next dictionary. Packed texts, each a [`Head`] and its LZ4 bytes, are kept one after another in
/// blocks of their own that grow the same way ([`Texts::packs`]). A text equal to the last one kept (a
/// state exits with the text it entered with, the next state enters with the text the last one exited
/// with, the execution ends with the last state's output) is kept once.
#[derive(Debug, Default)]
struct Texts {
    blocks: Vec<String>,
    /// The shared block being filled.
    open: Option<usize>,
    /// The last text kept.
    last: Option<TextRef>,
    /// The packed texts: a [`PACKED`] [`TextRef`] names a block of these and a place in it.
    packs: Vec<Vec<u8>>,
    /// Per [`Field`], the text (kept as it is) that texts of that field are packed against.
    dicts: [Option<TextRef>; Field::COUNT],
}

impl Texts {
    /// Keeps `text`, a `field`; `None` once `u32` block numbers run out.
    fn keep(&mut self, text: &str, field: Field) -> Option<TextRef> {
        if text.is_empty() {
            return Some(EMPTY);
        }
        if let Some(last) = self.last
            && self.len_of(last) == text.len()
            && self.get(last).as_bytes() == text.as_bytes()
        {
            return Some(last);
        }
        let packable = (PACK_MIN..=PACK_MAX).contains(&text.len());
        let kept = match packable.then(|| self.pack(text, field)).flatten() {
            Some(r) => r,
            None => {
                let r = self.copy(text)?;
                if packable && let Some(d) = self.dicts.get_mut(field as usize) {
                    *d = Some(r);
                }
                r
            }
        };
        self.last = Some(kept);
        Some(kept)
    }

    /// Keeps `text` as it is: in the open shared block, or a block of its own.
    fn copy(&mut self, text: &str) -> Option<TextRef> {
        if text.len() >= OWN {
            let block = u32::try_from(self.blocks.len()).ok()?;
            self.blocks.push(text.to_owned());
            return Some(TextRef { block, at: 0, len: WHOLE });
        }
        let open = self.open.and_then(|k| self.blocks.get(k).map(|b| (k, b)));
        let k = match open {
            Some((k, b)) if b.capacity() - b.len() >= text.len() => k,
            _ => {
                let size = open.map_or(FIRST_BLOCK, |(_, b)| b.capacity().saturating_mul(2).min(BLOCK));
                self.blocks.push(String::with_capacity(size));
                let k = self.blocks.len() - 1;
                self.open = Some(k);
                k
            }
        };
        let block = self.blocks.get_mut(k)?;
        let at = u16::try_from(block.len()).ok()?;
        let len = u16::try_from(text.len()).ok()?;
        block.push_str(text);
        Some(TextRef { block: u32::try_from(k).ok()?, at, len })
    }

    /// `text` packed against its field's dictionary, when there is one and the text packs to at most half
    /// its size. The packed bytes are unpacked once and compared before they stand for the text: a text
    /// is never lost.
    fn pack(&mut self, text: &str, field: Field) -> Option<TextRef> {
        let dict = (*self.dicts.get(field as usize)?)?;
        let len = u16::try_from(text.len()).ok()?;
        with_scratch(|out, back| {
            let base = self.raw(dict).as_bytes();
            out.resize(lz4_flex::block::get_maximum_output_size(text.len()), 0);
            let n = lz4_flex::block::compress_into_with_dict(text.as_bytes(), out, base).ok()?;
            if n > text.len() / 2 {
                return None;
            }
            back.resize(text.len(), 0);
            let bytes = out.get(..n)?;
            let m = lz4_flex::block::decompress_into_with_dict(bytes, back, base).ok()?;
            if back.get(..m) != Some(text.as_bytes()) {
                return None;
            }
            self.append_pack(Head { dict, len, packed: u16::try_from(n).ok()? }, bytes)
        })
    }

    /// Keeps a packed text, `head` and `bytes`, in the open block of [`Texts::packs`] or the next.
    fn append_pack(&mut self, head: Head, bytes: &[u8]) -> Option<TextRef> {
        let need = HEAD + bytes.len();
        let k = match self.packs.last() {
            Some(b) if b.capacity() - b.len() >= need => self.packs.len() - 1,
            last => {
                let size = last.map_or(FIRST_PACKS, |b| b.capacity().saturating_mul(2).min(BLOCK)).max(need);
                self.packs.push(Vec::with_capacity(size));
                self.packs.len() - 1
            }
        };
        let block = self.packs.get_mut(k)?;
        let at = u16::try_from(block.len()).ok()?;
        head.write(block);
        block.extend_from_slice(bytes);
        Some(TextRef { block: u32::try_from(k).ok()?, at, len: PACKED })
    }

    /// The head and packed bytes of a packed text.
    fn packed(&self, r: TextRef) -> Option<(Head, &[u8])> {
        Head::read(self.packs.get(r.block as usize)?.get(usize::from(r.at)..)?)
    }

    /// The length in bytes of the text `r` names.
    fn len_of(&self, r: TextRef) -> usize {
        match r.len {
            WHOLE => self.blocks.get(r.block as usize).map_or(0, String::len),
            PACKED => self.packed(r).map_or(0, |(h, _)| usize::from(h.len)),
            n => usize::from(n),
        }
    }

    /// A text kept as it is (`""` for a packed one).
    fn raw(&self, r: TextRef) -> &str {
        let Some(block) = self.blocks.get(r.block as usize) else { return "" };
        match r.len {
            WHOLE => block,
            PACKED => "",
            n => {
                let from = usize::from(r.at);
                block.get(from..from + usize::from(n)).unwrap_or("")
            }
        }
    }

    /// The bytes of packed text `r`, unpacked into `into` (`pack` checked that they are the text's).
    fn unpack(&self, r: TextRef, into: &mut Vec<u8>) -> Option<()> {
        let (head, bytes) = self.packed(r)?;
        into.resize(usize::from(head.len), 0);
        lz4_flex::block::decompress_into_with_dict(bytes, into, self.raw(head.dict).as_bytes()).ok()?;
        Some(())
    }

    /// The text `r` names (a packed one unpacked).
    fn get(&self, r: TextRef) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        if r.len != PACKED {
            return Cow::Borrowed(self.raw(r));
        }
        let mut text = Vec::new();
        self.unpack(r, &mut text)
            .and_then(|()| String::from_utf8(text).ok())
            .map_or(Cow::Borrowed(""), Cow::Owned)
    }

    /// [`Texts::get`] as a [`JsonText`] of its own (a packed one unpacked into the thread's buffer, so
    /// the text is allocated once).
    fn json(&self, r: TextRef) -> JsonText {
        if r.len != PACKED {
            return JsonText::from_text(self.raw(r));
        }
        with_scratch(|_, text| {
            self.unpack(r, text)?;
            std::str::from_utf8(text).ok().map(JsonText::from_text)
        })
        .unwrap_or_else(|| JsonText::from_text(&self.get(r)))
    }
}

/// One event as kept: its id is its place (index + 1).
#[derive(Debug)]
pub(super) struct Slot {
    details: Compact,
    /// The timestamp in nanoseconds since the epoch (clamped to 1677–2262, which `i64` holds).
    nanos: i64,
    previous: u32,
    /// [`Event::after`], or [`NO_AFTER`].
    after: u32,
}

/// An event's details in 16 bytes: strings as ids into [`Strings`], task resources as ids into
/// [`Tasks`], texts as places in [`Texts`]; what does not fit is boxed whole.
#[derive(Debug)]
enum Compact {
    StateEntered {
        state_type: StateType,
        name: u32,
        input: TextRef,
    },
    StateExited {
        state_type: StateType,
        name: u32,
        output: TextRef,
    },
    /// A `TaskScheduled` without `timeoutInSeconds`/`heartbeatInSeconds`; `task` includes the region.
    TaskScheduled {
        task: u32,
        parameters: TextRef,
    },
    /// A `TaskStarted` with no task token.
    TaskStarted {
        task: u32,
    },
    /// A `TaskStarted` waiting on a task token.
    TaskStartedWaiting {
        task: u32,
        token: TextRef,
    },
    TaskSubmitted {
        task: u32,
        output: TextRef,
    },
    TaskSucceeded {
        task: u32,
        output: TextRef,
    },
    ExecutionStarted {
        input: TextRef,
        role_arn: u32,
    },
    ExecutionSucceeded {
        output: TextRef,
    },
    MapStateStarted {
        length: usize,
    },
    MapIteration {
        end: IterationEnd,
        name: u32,
        index: u32,
    },
    ParallelStateStarted,
    Closing {
        of: Fork,
        end: ForkEnd,
        started: u32,
    },
    TaskStateAborted,
    MapRunSucceeded,
    MapRunAborted,
    Other(Box<EventDetails>),
}

/// Which `MapIteration…` event.
#[derive(Debug, Clone, Copy)]
enum IterationEnd {
    Started,
    Succeeded,
    Failed,
    Aborted,
}

/// Whose closing event.
#[derive(Debug, Clone, Copy)]
enum Fork {
    Parallel,
    Map,
}

/// Which closing event.
#[derive(Debug, Clone, Copy)]
enum ForkEnd {
    Succeeded,
    Failed,
    Aborted,
}

/// The strings a history repeats, each kept once: `id` names it by a `u32`. The last few ids looked up
/// are tried first (a state's entered and exited events, a loop's few states), then every string while
/// there are few (a short execution builds no hash map), then a hash map.
#[derive(Debug, Default)]
struct Strings {
    all: Vec<Arc<str>>,
    /// Built once there are more than [`FEW`] strings.
    index: HashMap<Arc<str>, u32>,
    recent: [u32; RECENT],
    next: usize,
}

/// How many recently used ids [`Strings`] tries first.
const RECENT: usize = 4;
/// How many strings [`Strings`] searches one by one before it builds its hash map.
const FEW: usize = 8;

impl Strings {
    /// The id of `s` (an `Arc` the caller has: kept as it is when new); `None` once `u32` ids run out.
    fn id(&mut self, s: &Arc<str>) -> Option<u32> {
        self.id_with(s, || s.clone())
    }

    /// The id of `s` (copied when new).
    fn id_of(&mut self, s: &str) -> Option<u32> {
        self.id_with(s, || Arc::from(s))
    }

    fn id_with(&mut self, s: &str, make: impl FnOnce() -> Arc<str>) -> Option<u32> {
        for &i in &self.recent {
            // The same `Arc` (the interpreter hands on one per state name) is found without comparing bytes.
            if self.all.get(i as usize).is_some_and(|a| std::ptr::eq(a.as_ref(), s) || a.as_ref() == s) {
                return Some(i);
            }
        }
        let found = if self.all.len() <= FEW {
            self.all.iter().position(|a| a.as_ref() == s).and_then(|i| u32::try_from(i).ok())
        } else {
            self.index.get(s).copied()
        };
        let i = match found {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.all.len()).ok()?;
                let a = make();
                self.all.push(a.clone());
                if self.index.is_empty() && self.all.len() > FEW {
                    self.index = self.all.iter().cloned().zip(0..).collect();
                } else if !self.index.is_empty() {
                    self.index.insert(a, i);
                }
                i
            }
        };
        self.recent[self.next % RECENT] = i;
        self.next = self.next.wrapping_add(1);
        Some(i)
    }

    fn get(&self, i: u32) -> Arc<str> {
        self.all.get(i as usize).cloned().unwrap_or_else(|| Arc::from(""))
    }
}

/// A task resource (`resourceType`, `resource`) and, for `TaskScheduled`, the region, as string ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TaskKey {
    resource_type: u32,
    resource: u32,
    /// `u32::MAX`: none.
    region: u32,
}

/// The task resources of a history, each kept once, with the `TaskResource` they render to.
#[derive(Debug, Default)]
struct Tasks {
    all: Vec<(TaskKey, TaskResource)>,
    index: HashMap<TaskKey, u32>,
}

/// The events of one history.
#[derive(Debug, Default)]
pub(super) struct Store {
    /// Slots in chunks that grow to [`CHUNK`]: appending never moves earlier events (no reallocation
    /// copies) and a short history reserves little.
    pub(super) chunks: Vec<Vec<Slot>>,
    len: usize,
    strings: Strings,
    tasks: Tasks,
    texts: Texts,
    /// The last timestamp converted and its nanoseconds: a state's exited event and the next state's
    /// entered event share one clock read, so every other event skips the calendar arithmetic.
    last_stamp: Option<(DateTime<Utc>, i64)>,
}

impl Store {
    /// Number of events.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Forgets every event.
    pub(super) fn clear(&mut self) {
        *self = Store::default();
    }

    /// Keeps event `e`, whose id is `len + 1`.
    pub(super) fn push(&mut self, e: Event) {
        let nanos = match self.last_stamp {
            Some((at, nanos)) if at == e.timestamp => nanos,
            _ => {
                let nanos = e.timestamp.timestamp_nanos_opt().unwrap_or(if e.timestamp.timestamp() < 0 {
                    i64::MIN
                } else {
                    i64::MAX
                });
                self.last_stamp = Some((e.timestamp, nanos));
                nanos
            }
        };
        let slot = Slot {
            nanos,
            previous: u32::try_from(e.previous_event_id).unwrap_or(u32::MAX),
            after: e.after.and_then(|a| u32::try_from(a).ok()).unwrap_or(NO_AFTER),
            details: self.compact(e.details),
        };
        let k = self.chunks.len();
        if self.chunks.last().is_none_or(|c| c.len() == chunk_len(k - 1)) {
            self.chunks.push(Vec::with_capacity(chunk_len(k)));
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(slot);
        }
        self.len += 1;
    }

    /// The heap bytes the events hold, as asked of the allocator (its rounding and pages not counted):
    /// the slot chunks, the text blocks (shared, own and packed), the strings and task resources, and a
    /// boxed event at its shallow size (a failure's cause is not counted).
    pub(super) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let vecs = |n: usize| n * size_of::<Vec<u8>>();
        let slots: usize = self.chunks.iter().map(|c| c.capacity() * size_of::<Slot>()).sum();
        let boxed = self.chunks.iter().flatten().filter(|s| matches!(s.details, Compact::Other(_))).count();
        let t = &self.texts;
        let texts = t.blocks.iter().map(String::capacity).sum::<usize>()
            + t.packs.iter().map(Vec::capacity).sum::<usize>()
            + vecs(t.blocks.capacity() + t.packs.capacity());
        // An `Arc<str>`'s allocation: its two counts and its bytes; a hash map's entry and control byte.
        let strings = self.strings.all.iter().map(|a| 2 * size_of::<usize>() + a.len()).sum::<usize>()
            + self.strings.all.capacity() * size_of::<Arc<str>>()
            + self.strings.index.capacity() * (size_of::<(Arc<str>, u32)>() + 1);
        let tasks = self.tasks.all.capacity() * size_of::<(TaskKey, TaskResource)>()
            + self.tasks.index.capacity() * (size_of::<(TaskKey, u32)>() + 1);
        slots + vecs(self.chunks.capacity()) + boxed * size_of::<EventDetails>() + texts + strings + tasks
    }

    fn slot(&self, i: usize) -> Option<&Slot> {
        let (k, offset) = locate(i);
        self.chunks.get(k).and_then(|c| c.get(offset))
    }

    /// The `previousEventId` of event `id` (0 for none).
    pub(super) fn previous_of(&self, id: u64) -> u64 {
        let Some(i) = usize::try_from(id).ok().and_then(|i| i.checked_sub(1)) else { return 0 };
        self.slot(i).map_or(0, |s| u64::from(s.previous))
    }

    /// The events from index `from` on.
    pub(super) fn events_from(&self, from: usize) -> Vec<Event> {
        let mut v = Vec::with_capacity(self.len.saturating_sub(from));
        self.for_each(from, |e| v.push(e));
        v
    }

    /// Makes the events from index `from` on, one at a time, and hands each to `f`.
    pub(super) fn for_each(&self, from: usize, f: impl FnMut(Event)) {
        self.for_each_in(from..usize::MAX, f);
    }

    /// The events at indexes `range` (those that exist), in order.
    pub(super) fn events_in(&self, range: std::ops::Range<usize>) -> Vec<Event> {
        let mut v = Vec::with_capacity(range.end.min(self.len).saturating_sub(range.start));
        self.for_each_in(range, |e| v.push(e));
        v
    }

    /// Makes the events at indexes `range` (those that exist), one at a time, and hands each to `f`.
    fn for_each_in(&self, range: std::ops::Range<usize>, mut f: impl FnMut(Event)) {
        let take = range.end.saturating_sub(range.start);
        for (i, s) in self.chunks.iter().flatten().enumerate().skip(range.start).take(take) {
            f(Event {
                id: i as u64 + 1,
                previous_event_id: u64::from(s.previous),
                timestamp: DateTime::<Utc>::from_timestamp_nanos(s.nanos),
                details: self.expand(&s.details),
                after: (s.after != NO_AFTER).then_some(u64::from(s.after)),
            });
        }
    }

    fn task_id(&mut self, task: &TaskResource, region: Option<&str>) -> Option<u32> {
        let key = TaskKey {
            resource_type: self.strings.id(&task.resource_type)?,
            resource: self.strings.id(&task.resource)?,
            region: match region {
                Some(r) => self.strings.id_of(r)?,
                None => u32::MAX,
            },
        };
        let tasks = &mut self.tasks;
        let found = if tasks.all.len() <= FEW {
            tasks.all.iter().position(|(k, _)| *k == key).and_then(|i| u32::try_from(i).ok())
        } else {
            tasks.index.get(&key).copied()
        };
        if found.is_some() {
            return found;
        }
        let i = u32::try_from(tasks.all.len()).ok()?;
        tasks.all.push((key, task.clone()));
        if tasks.index.is_empty() && tasks.all.len() > FEW {
            tasks.index = tasks.all.iter().map(|(k, _)| *k).zip(0..).collect();
        } else if !tasks.index.is_empty() {
            tasks.index.insert(key, i);
        }
        Some(i)
    }

    fn task(&self, i: u32) -> (TaskResource, String) {
        match self.tasks.all.get(i as usize) {
            Some((key, task)) => {
                let region = if key.region == u32::MAX {
                    String::new()
                } else {
                    self.strings.get(key.region).to_string()
                };
                (task.clone(), region)
            }
            None => (TaskResource { resource_type: Arc::from(""), resource: Arc::from("") }, String::new()),
        }
    }

    /// The slot form of `d` (boxed whole when it has no smaller one).
    fn compact(&mut self, d: EventDetails) -> Compact {
        self.try_compact(d).unwrap_or_else(|d| Compact::Other(Box::new(d)))
    }

    /// The small form of `d`, or `d` back. Fields are moved, not cloned (no reference count touched).
    fn try_compact(&mut self, d: EventDetails) -> Result<Compact, EventDetails> {
        use Compact as C;
        use EventDetails as E;
        Ok(match d {
            E::StateEntered { state_type, name, input } => {
                match (self.strings.id(&name), self.texts.keep(input.as_str(), Field::Input)) {
                    (Some(name), Some(input)) => C::StateEntered { state_type, name, input },
                    _ => return Err(E::StateEntered { state_type, name, input }),
                }
            }
            E::StateExited { state_type, name, output, assigned: None } => {
                match (self.strings.id(&name), self.texts.keep(output.as_str(), Field::Output)) {
                    (Some(name), Some(output)) => C::StateExited { state_type, name, output },
                    _ => return Err(E::StateExited { state_type, name, output, assigned: None }),
                }
            }
            E::TaskScheduled { task, region, parameters, timeout: None, heartbeat: None } => {
                match (
                    self.task_id(&task, Some(&region)),
                    self.texts.keep(parameters.as_str(), Field::Parameters),
                ) {
                    (Some(task), Some(parameters)) => C::TaskScheduled { task, parameters },
                    _ => {
                        return Err(E::TaskScheduled {
                            task,
                            region,
                            parameters,
                            timeout: None,
                            heartbeat: None,
                        });
                    }
                }
            }
            E::TaskStarted { task, token: None } => match self.task_id(&task, None) {
                Some(task) => C::TaskStarted { task },
                None => return Err(E::TaskStarted { task, token: None }),
            },
            E::TaskStarted { task, token: Some(token) } => {
                match (self.task_id(&task, None), self.texts.keep(&token, Field::Token)) {
                    (Some(task), Some(token)) => C::TaskStartedWaiting { task, token },
                    _ => return Err(E::TaskStarted { task, token: Some(token) }),
                }
            }
            E::TaskSubmitted { task, output } => {
                match (self.task_id(&task, None), self.texts.keep(output.as_str(), Field::Submitted)) {
                    (Some(task), Some(output)) => C::TaskSubmitted { task, output },
                    _ => return Err(E::TaskSubmitted { task, output }),
                }
            }
            E::TaskSucceeded { task, output } => {
                match (self.task_id(&task, None), self.texts.keep(output.as_str(), Field::TaskOutput)) {
                    (Some(task), Some(output)) => C::TaskSucceeded { task, output },
                    _ => return Err(E::TaskSucceeded { task, output }),
                }
            }
            E::ExecutionStarted { input, role_arn } => {
                match (self.texts.keep(input.as_str(), Field::ExecutionInput), self.strings.id_of(&role_arn))
                {
                    (Some(input), Some(role_arn)) => C::ExecutionStarted { input, role_arn },
                    _ => return Err(E::ExecutionStarted { input, role_arn }),
                }
            }
            E::ExecutionSucceeded { output } => {
                match self.texts.keep(output.as_str(), Field::ExecutionOutput) {
                    Some(output) => C::ExecutionSucceeded { output },
                    None => return Err(E::ExecutionSucceeded { output }),
                }
            }
            E::MapStateStarted { length } => C::MapStateStarted { length },
            E::MapIterationStarted { name, index } => {
                match self.iteration(IterationEnd::Started, &name, index) {
                    Some(c) => c,
                    None => return Err(E::MapIterationStarted { name, index }),
                }
            }
            E::MapIterationSucceeded { name, index } => {
                match self.iteration(IterationEnd::Succeeded, &name, index) {
                    Some(c) => c,
                    None => return Err(E::MapIterationSucceeded { name, index }),
                }
            }
            E::MapIterationFailed { name, index } => match self.iteration(IterationEnd::Failed, &name, index)
            {
                Some(c) => c,
                None => return Err(E::MapIterationFailed { name, index }),
            },
            E::MapIterationAborted { name, index } => {
                match self.iteration(IterationEnd::Aborted, &name, index) {
                    Some(c) => c,
                    None => return Err(E::MapIterationAborted { name, index }),
                }
            }
            E::ParallelStateStarted => C::ParallelStateStarted,
            E::TaskStateAborted => C::TaskStateAborted,
            E::MapRunSucceeded => C::MapRunSucceeded,
            E::MapRunAborted => C::MapRunAborted,
            d => {
                let (of, end, started) = match &d {
                    E::ParallelStateSucceeded { started } => (Fork::Parallel, ForkEnd::Succeeded, *started),
                    E::ParallelStateFailed { started } => (Fork::Parallel, ForkEnd::Failed, *started),
                    E::ParallelStateAborted { started } => (Fork::Parallel, ForkEnd::Aborted, *started),
                    E::MapStateSucceeded { started } => (Fork::Map, ForkEnd::Succeeded, *started),
                    E::MapStateFailed { started } => (Fork::Map, ForkEnd::Failed, *started),
                    E::MapStateAborted { started } => (Fork::Map, ForkEnd::Aborted, *started),
                    _ => return Err(d),
                };
                match u32::try_from(started) {
                    Ok(started) => C::Closing { of, end, started },
                    Err(_) => return Err(d),
                }
            }
        })
    }

    fn iteration(&mut self, end: IterationEnd, name: &Arc<str>, index: usize) -> Option<Compact> {
        let index = u32::try_from(index).ok()?;
        Some(Compact::MapIteration { end, name: self.strings.id(name)?, index })
    }

    /// The details `c` stands for.
    fn expand(&self, c: &Compact) -> EventDetails {
        use Compact as C;
        use EventDetails as E;
        match c {
            C::StateEntered { state_type, name, input } => E::StateEntered {
                state_type: *state_type,
                name: self.strings.get(*name),
                input: self.texts.json(*input),
            },
            C::StateExited { state_type, name, output } => E::StateExited {
                state_type: *state_type,
                name: self.strings.get(*name),
                output: self.texts.json(*output),
                assigned: None,
            },
            C::TaskScheduled { task, parameters } => {
                let (task, region) = self.task(*task);
                E::TaskScheduled {
                    task,
                    region,
                    parameters: self.texts.json(*parameters),
                    timeout: None,
                    heartbeat: None,
                }
            }
            C::TaskStarted { task } => E::TaskStarted { task: self.task(*task).0, token: None },
            C::TaskStartedWaiting { task, token } => {
                E::TaskStarted { task: self.task(*task).0, token: Some(Arc::from(&*self.texts.get(*token))) }
            }
            C::TaskSubmitted { task, output } => {
                E::TaskSubmitted { task: self.task(*task).0, output: self.texts.json(*output) }
            }
            C::TaskSucceeded { task, output } => {
                E::TaskSucceeded { task: self.task(*task).0, output: self.texts.json(*output) }
            }
            C::ExecutionStarted { input, role_arn } => E::ExecutionStarted {
                input: self.texts.json(*input),
                role_arn: self.strings.get(*role_arn).to_string(),
            },
            C::ExecutionSucceeded { output } => E::ExecutionSucceeded { output: self.texts.json(*output) },
            C::MapStateStarted { length } => E::MapStateStarted { length: *length },
            C::MapIteration { end, name, index } => {
                let (name, index) = (self.strings.get(*name), *index as usize);
                match end {
                    IterationEnd::Started => E::MapIterationStarted { name, index },
                    IterationEnd::Succeeded => E::MapIterationSucceeded { name, index },
                    IterationEnd::Failed => E::MapIterationFailed { name, index },
                    IterationEnd::Aborted => E::MapIterationAborted { name, index },
                }
            }
            C::ParallelStateStarted => E::ParallelStateStarted,
            C::Closing { of, end, started } => {
                let started = u64::from(*started);
                match (of, end) {
                    (Fork::Parallel, ForkEnd::Succeeded) => E::ParallelStateSucceeded { started },
                    (Fork::Parallel, ForkEnd::Failed) => E::ParallelStateFailed { started },
                    (Fork::Parallel, ForkEnd::Aborted) => E::ParallelStateAborted { started },
                    (Fork::Map, ForkEnd::Succeeded) => E::MapStateSucceeded { started },
                    (Fork::Map, ForkEnd::Failed) => E::MapStateFailed { started },
                    (Fork::Map, ForkEnd::Aborted) => E::MapStateAborted { started },
                }
            }
            C::TaskStateAborted => E::TaskStateAborted,
            C::MapRunSucceeded => E::MapRunSucceeded,
            C::MapRunAborted => E::MapRunAborted,
            C::Other(d) => d.as_ref().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Texts {
        /// Every packed text, in the order kept: its head and where it is.
        fn all_packed(&self) -> Vec<(Head, TextRef)> {
            let mut all = Vec::new();
            for (k, b) in self.packs.iter().enumerate() {
                let mut at = 0;
                while let Some((head, _)) = b.get(at..).and_then(Head::read) {
                    let r = TextRef { block: k as u32, at: at as u16, len: PACKED };
                    all.push((head, r));
                    at += HEAD + usize::from(head.packed);
                }
            }
            all
        }
    }

    #[test]
    fn heap_bytes_count_the_slots_and_the_texts_kept() {
        let mut store = Store::default();
        let empty = store.heap_bytes();
        assert_eq!(empty, 0);
        let name: Arc<str> = Arc::from("Run");
        let texts: Vec<String> = (0..1_000).map(task_text).collect();
        for t in &texts {
            let details = EventDetails::StateEntered {
                state_type: StateType::Task,
                name: name.clone(),
                input: JsonText::from_text(t),
            };
            store.push(Event { id: 0, previous_event_id: 0, timestamp: Utc::now(), details, after: None });
        }
        let counted = store.heap_bytes();
        let slots: usize = store.chunks.iter().map(|c| c.capacity() * 32).sum();
        let kept = store.texts.blocks.iter().map(String::capacity).sum::<usize>()
            + store.texts.packs.iter().map(Vec::capacity).sum::<usize>();
        // The slots, the texts as kept (the first whole, the others packed) and a few bytes more.
        assert!(counted >= slots + kept && counted < slots + kept + 4_096, "{counted} vs {slots} + {kept}");
        let raw: usize = texts.iter().map(String::len).sum();
        assert!(kept * 4 < raw, "{kept} kept of {raw}");
    }

    #[test]
    fn packed_texts_are_kept_one_after_another_in_blocks_that_double() {
        let mut t = Texts::default();
        let texts: Vec<String> = (0..2_000).map(task_text).collect();
        let refs: Vec<TextRef> = texts.iter().map(|s| t.keep(s, Field::TaskOutput).unwrap()).collect();
        let packed = t.all_packed();
        assert_eq!(packed.len(), 1_999);
        assert_eq!(packed.iter().map(|(_, r)| *r).collect::<Vec<_>>(), refs[1..]);
        // Each names the first text, kept whole, as its dictionary, and unpacks to the text it stands for.
        assert!(packed.iter().all(|(h, _)| h.dict == refs[0]));
        for (r, s) in refs.iter().zip(&texts) {
            assert_eq!(t.get(*r), s.as_str());
            assert_eq!(t.json(*r).as_str(), s.as_str());
        }
        let sizes: Vec<usize> = t.packs.iter().map(Vec::capacity).collect();
        assert_eq!(sizes[..3], [FIRST_PACKS, 2 * FIRST_PACKS, 4 * FIRST_PACKS]);
        assert!(sizes.iter().all(|&n| n <= BLOCK));
        // A block is opened only when the next text does not fit in what is left of the last one.
        for pair in t.packs.windows(2) {
            let (next, _) = Head::read(&pair[1]).unwrap();
            assert!(pair[0].capacity() - pair[0].len() < HEAD + usize::from(next.packed));
        }
    }

    #[test]
    fn a_slot_is_32_bytes() {
        // The budget of issue 19 (≤ 128 bytes per history event, payloads included).
        assert_eq!(std::mem::size_of::<Compact>(), 16);
        assert_eq!(std::mem::size_of::<Slot>(), 32);
    }

    #[test]
    fn texts_read_back_whatever_their_size() {
        let mut t = Texts::default();
        let sizes = [0, 1, 17, OWN - 1, OWN, 3, FIRST_BLOCK, BLOCK, BLOCK + 1, 5, 3 * BLOCK, 2];
        // Texts that do not pack: each is kept as it is.
        let texts: Vec<String> = sizes.iter().zip(1..).map(|(&n, seed)| noise(n, seed)).collect();
        let refs: Vec<TextRef> = texts.iter().map(|s| t.keep(s, Field::Output).unwrap()).collect();
        for (r, s) in refs.iter().zip(&texts) {
            assert_eq!(t.get(*r), s.as_str(), "a text of {} bytes", s.len());
        }
        // Long texts have blocks of their own, at their size; shared blocks never grow past `BLOCK`.
        for (r, s) in refs.iter().zip(&texts) {
            if s.len() >= OWN {
                assert_eq!((r.len, t.blocks[r.block as usize].len()), (WHOLE, s.len()));
            }
        }
        assert!(t.blocks.iter().all(|b| b.capacity() <= BLOCK || b.len() >= OWN));
        assert_eq!(t.blocks[0].capacity(), FIRST_BLOCK);
        // Multi-byte characters are kept whole.
        let r = t.keep("«é»", Field::Output).unwrap();
        assert_eq!(t.get(r), "«é»");
    }

    #[test]
    fn a_text_equal_to_the_last_one_is_kept_once() {
        let mut t = Texts::default();
        let a = t.keep(r#"{"i":1}"#, Field::Output).unwrap();
        assert_eq!(t.keep(r#"{"i":1}"#, Field::Output), Some(a));
        let b = t.keep(r#"{"i":2}"#, Field::Output).unwrap();
        assert_ne!(a, b);
        // Only the last one: an earlier text is kept again (no search of every text).
        let c = t.keep(r#"{"i":1}"#, Field::Output).unwrap();
        assert_ne!(a, c);
        assert_eq!((&*t.get(a), &*t.get(b), &*t.get(c)), (r#"{"i":1}"#, r#"{"i":2}"#, r#"{"i":1}"#));
        assert_eq!(t.blocks[0].len(), 21);
        // A long one too.
        let long = "z".repeat(OWN * 2);
        let l = t.keep(&long, Field::Output).unwrap();
        assert_eq!(t.keep(&long, Field::Output), Some(l));
        assert_eq!(t.blocks.len(), 2);
    }

    #[test]
    fn shared_blocks_double_up_to_the_largest_between_long_texts() {
        let mut t = Texts::default();
        let (short, long) = ("x".repeat(100), "L".repeat(OWN));
        for i in 0..5_000 {
            t.keep(&short, Field::Output).unwrap();
            // Never twice the same in a row: each is kept.
            t.keep(if i % 10 == 0 { &long } else { "y" }, Field::Output).unwrap();
        }
        let shared: Vec<usize> = t
            .blocks
            .iter()
            .filter(|b| b.len() < OWN || b.capacity() > b.len())
            .map(String::capacity)
            .collect();
        assert_eq!(shared[..4], [FIRST_BLOCK, 2 * FIRST_BLOCK, 4 * FIRST_BLOCK, 8 * FIRST_BLOCK]);
        assert!(shared.iter().all(|&n| n <= BLOCK));
        assert_eq!(*shared.last().unwrap(), BLOCK);
        // The long text is kept whole once; its 499 repeats are packed against it.
        assert_eq!(t.blocks.iter().filter(|b| b.as_str() == long).count(), 1);
        assert_eq!(t.all_packed().len(), 499);
    }

    /// `n` random letters (xorshift from `seed`): nothing in them repeats for LZ4 to reuse.
    fn noise(n: usize, seed: u64) -> String {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'A' + (x % 58) as u8)
            })
            .collect()
    }

    /// A task description as ECS returns it, with the ids, times and command that differ between tasks.
    fn task_text(i: u32) -> String {
        let id = format!("{:032x}", u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
        let containers = format!(
            r#"[{{"ContainerArn":"arn:aws:ecs:eu-west-1:111122223333:container/c/{id}/app","ExitCode":0,"Image":"public.ecr.aws/docker/library/busybox:latest","LastStatus":"STOPPED","Name":"app","NetworkInterfaces":[{{"AttachmentId":"{id}","PrivateIpv4Address":"10.0.{}.{}"}}],"RuntimeId":"{id}-0","TaskArn":"arn:aws:ecs:eu-west-1:111122223333:task/c/{id}"}}]"#,
            i % 256,
            i / 256
        );
        let details = r#"[{"Name":"subnetId","Value":"subnet-0123456789abcdef0"},{"Name":"privateDnsName","Value":"ip-10-0-0-1.eu-west-1.compute.internal"}]"#;
        format!(
            r#"{{"Attachments":[{{"Details":{details},"Id":"{id}","Status":"DELETED","Type":"eni"}}],"AvailabilityZone":"eu-west-1a","ClusterArn":"arn:aws:ecs:eu-west-1:111122223333:cluster/c","Containers":{containers},"Cpu":"256","CreatedAt":{},"DesiredStatus":"STOPPED","Group":"family:job","LastStatus":"STOPPED","LaunchType":"FARGATE","Memory":"512","Overrides":{{"ContainerOverrides":[{{"Command":["echo","job-{i}"],"Name":"app"}}]}},"PlatformVersion":"1.4.0","StartedBy":"AWS Step Functions","StopCode":"EssentialContainerExited","StoppedReason":"Essential container in task exited","TaskArn":"arn:aws:ecs:eu-west-1:111122223333:task/c/{id}","TaskDefinitionArn":"arn:aws:ecs:eu-west-1:111122223333:task-definition/job:3","Version":5}}"#,
            1_796_291_127_526_u64 + u64::from(i) * 1013
        )
    }

    #[test]
    fn long_texts_of_a_field_are_packed_against_the_last_one_kept_whole() {
        let mut t = Texts::default();
        let texts: Vec<String> = (0..200).map(task_text).collect();
        assert!(texts[0].len() >= OWN);
        let refs: Vec<TextRef> = texts.iter().map(|s| t.keep(s, Field::TaskOutput).unwrap()).collect();
        for (r, s) in refs.iter().zip(&texts) {
            assert_eq!(t.get(*r), s.as_str());
            assert_eq!(t.len_of(*r), s.len());
        }
        // The first is the dictionary; every other one is packed, to a fraction of its size.
        assert_eq!((refs[0].len, t.blocks.len(), t.all_packed().len()), (WHOLE, 1, 199));
        let raw: usize = texts[1..].iter().map(String::len).sum();
        let packed: usize = t.all_packed().iter().map(|(h, _)| HEAD + usize::from(h.packed)).sum();
        assert!(packed * 4 < raw, "{packed} bytes packed from {raw}");
        // Fields have dictionaries of their own: the first text of another field is kept whole.
        let other = t.keep(&texts[3], Field::Submitted).unwrap();
        assert_eq!((other.len, t.get(other)), (WHOLE, std::borrow::Cow::Borrowed(texts[3].as_str())));
    }

    #[test]
    fn a_long_text_unlike_its_dictionary_is_kept_whole_and_becomes_the_dictionary() {
        let mut t = Texts::default();
        let a = task_text(1);
        let unlike = noise(a.len(), 7);
        let ra = t.keep(&a, Field::Input).unwrap();
        let ru = t.keep(&unlike, Field::Input).unwrap();
        assert_eq!((ra.len, ru.len), (WHOLE, WHOLE));
        assert_eq!(t.dicts[Field::Input as usize], Some(ru));
        // Like the new dictionary: packed against it.
        let mut near = unlike.clone();
        near.replace_range(10..12, "ab");
        let rn = t.keep(&near, Field::Input).unwrap();
        assert_eq!((rn.len, t.get(rn)), (PACKED, std::borrow::Cow::Borrowed(near.as_str())));
        // Longer than an LZ4 window reaches: kept whole, and not a dictionary.
        let huge = "q".repeat(PACK_MAX + 1);
        let rh = t.keep(&huge, Field::Input).unwrap();
        assert_eq!((rh.len, t.dicts[Field::Input as usize]), (WHOLE, Some(ru)));
        // A repeat of a packed text is found as the last one, and kept once.
        let rn2 = t.keep(&near, Field::Output).unwrap();
        assert_ne!(rn2, rn);
        assert_eq!(t.keep(&near, Field::Output), Some(rn2));
    }

    #[test]
    fn texts_from_a_few_hundred_bytes_are_packed_in_place_against_shared_block_texts() {
        let mut t = Texts::default();
        let params = |i: u32| {
            format!(
                r#"{{"LaunchType":"FARGATE","Cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/c","TaskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/job:1","Overrides":{{"ContainerOverrides":[{{"Name":"app","Command":["echo","job-{i}"]}}]}},"StartedBy":"AWS Step Functions"}}"#
            )
        };
        let texts: Vec<String> = (0..50).map(params).collect();
        assert!((PACK_MIN..OWN).contains(&texts[0].len()));
        let refs: Vec<TextRef> = texts.iter().map(|s| t.keep(s, Field::Parameters).unwrap()).collect();
        // The first is in a shared block, and the dictionary of the others.
        assert_ne!(refs[0].len, WHOLE);
        assert!(refs[1..].iter().all(|r| r.len == PACKED));
        for (r, s) in refs.iter().zip(&texts) {
            assert_eq!(t.get(*r), s.as_str());
        }
        // Shorter than PACK_MIN: kept as it is, and no dictionary.
        let short = t.keep(&texts[0][..PACK_MIN - 1], Field::Output).unwrap();
        assert_eq!((short.len as usize, t.dicts[Field::Output as usize]), (PACK_MIN - 1, None));
    }

    proptest::proptest! {
        /// Whatever texts come, in whatever fields, each reads back as it was kept.
        #[test]
        fn every_text_reads_back(
            edits in proptest::collection::vec((0u32..40, 0usize..4000, "[a-z\\u{e9}\\u{1F600}\"{}]{0,12}", 0usize..8), 1..40)
        ) {
            let fields = [Field::Input, Field::Output, Field::Parameters, Field::Token,
                Field::Submitted, Field::TaskOutput, Field::ExecutionInput, Field::ExecutionOutput];
            let mut t = Texts::default();
            let mut kept = Vec::new();
            for (seed, at, insert, field) in edits {
                let mut s = task_text(seed);
                let at = (0..=at.min(s.len())).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                s.insert_str(at, &insert);
                if seed % 5 == 0 {
                    let cut = s.len() / (seed as usize % 3 + 2);
                    let cut = (0..=cut).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                    s.truncate(cut);
                }
                let r = t.keep(&s, fields[field]).unwrap();
                kept.push((r, s));
            }
            for (r, s) in &kept {
                let back = t.get(*r);
                proptest::prop_assert_eq!(back.as_ref(), s.as_str());
            }
        }
    }

    #[test]
    fn locate_follows_the_chunk_sizes() {
        let (mut k, mut offset) = (0, 0);
        for i in 0..3 * CHUNK + 7 {
            if offset == chunk_len(k) {
                (k, offset) = (k + 1, 0);
            }
            assert_eq!(locate(i), (k, offset), "index {i}");
            offset += 1;
        }
    }

    #[test]
    fn strings_are_kept_once_whatever_order_they_come_in() {
        let mut s = Strings::default();
        // More than `FEW`: the first ones found one by one, then all of them through the hash map.
        let names: Vec<Arc<str>> = (0..20).map(|i| Arc::from(format!("state {i}"))).collect();
        let ids: Vec<u32> = names.iter().map(|n| s.id(n).unwrap()).collect();
        // A fresh copy of each name (not the same `Arc`), in reverse: past the recent ones, through the map.
        for (n, &id) in names.iter().zip(&ids).rev() {
            assert_eq!(s.id_of(n), Some(id));
            assert_eq!(s.get(id), *n);
        }
        assert_eq!((s.all.len(), s.index.len()), (20, 20));
        assert_eq!(ids, (0..20).collect::<Vec<u32>>());
    }
}
