//! Deterministic trace and replay (feature `trace`).
//!
//! Events are packed in one `u32` each: kind in the top 8 bits, subject id
//! in the low 24. Replay feeds the recorded scheduling decisions (the `POLL`
//! events) back to the scheduler instead of the seeded generator, and checks
//! every event the replay emits against the recording; the first mismatch is
//! reported as a [`Divergence`].
//!
//! Replay is kept cheap (M-PERF-04D budgets its overhead): loading extracts
//! the recorded scheduling decisions once, so each pick is one index; the
//! replay appends the events it emits to a preallocated buffer, and the
//! check is one comparison of the two streams at the end, which finds the
//! same first mismatch a per-event check would.

use crate::Runtime;

pub fn pack(kind: u8, id: u32) -> u32 {
    (kind as u32) << 24 | (id & 0x00ff_ffff)
}

pub fn unpack(e: u32) -> (u8, u32) {
    ((e >> 24) as u8, e & 0x00ff_ffff)
}

/// Where a replay first differed from its recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub index: usize,
    pub expected: Option<(u8, u32)>,
    pub actual: Option<(u8, u32)>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "replay diverged at event {}: expected {:?}, got {:?}", self.index, self.expected, self.actual)
    }
}

#[derive(Default)]
pub(crate) struct Replay {
    /// The recording.
    events: Vec<u32>,
    /// Task ids of the recorded POLL events, in order: the scheduling
    /// decisions to follow.
    polls: Vec<u32>,
    /// Next decision to use.
    poll_pos: usize,
    /// What the replay emitted so far.
    seen: Vec<u32>,
}

impl Replay {
    fn new(events: Vec<u32>) -> Replay {
        let poll = crate::ev::POLL as u32;
        let polls = events.iter().filter(|&&e| e >> 24 == poll).map(|&e| e & 0x00ff_ffff).collect();
        let seen = Vec::with_capacity(events.len());
        Replay { events, polls, poll_pos: 0, seen }
    }

    /// The first place the replay differed from the recording, if any.
    fn divergence(&self) -> Option<Divergence> {
        let i = self.events.iter().zip(&self.seen).position(|(a, b)| a != b).unwrap_or(self.events.len().min(self.seen.len()));
        let (expected, actual) = (self.events.get(i).copied(), self.seen.get(i).copied());
        (expected != actual).then(|| Divergence { index: i, expected: expected.map(unpack), actual: actual.map(unpack) })
    }
}

#[derive(Default)]
pub(crate) struct Tracer {
    recording: bool,
    events: Vec<u32>,
    replay: Option<Replay>,
}

impl Tracer {
    #[inline]
    pub(crate) fn event(&mut self, kind: u8, id: u32) {
        let e = pack(kind, id);
        if self.recording {
            self.events.push(e);
        }
        if let Some(r) = &mut self.replay {
            r.seen.push(e);
        }
    }

    /// The index in the ready set of the task the recording polled next
    /// (`ready_pos` maps task id -> ready index, `u32::MAX` if not ready).
    pub(crate) fn replay_pick(&mut self, ready_pos: &[u32]) -> Option<usize> {
        let r = self.replay.as_mut()?;
        let id = *r.polls.get(r.poll_pos)?;
        r.poll_pos += 1;
        ready_pos.get(id as usize).filter(|&&p| p != u32::MAX).map(|&p| p as usize)
    }
}

impl Runtime {
    /// Start recording events (clears any earlier recording).
    pub fn start_trace(&self) {
        let mut c = self.core.borrow_mut();
        c.trace.recording = true;
        c.trace.events.clear();
    }

    /// Stop recording and take the events.
    pub fn take_trace(&self) -> Vec<u32> {
        let mut c = self.core.borrow_mut();
        c.trace.recording = false;
        std::mem::take(&mut c.trace.events)
    }

    /// Replay a recording: scheduling follows it and every event is checked.
    pub fn start_replay(&self, events: Vec<u32>) {
        self.core.borrow_mut().trace.replay = Some(Replay::new(events));
    }

    /// End a replay and hand the recording back: (matched, recording).
    pub fn finish_replay_keep(&self) -> (bool, Vec<u32>) {
        let r = self.core.borrow_mut().trace.replay.take().unwrap_or_default();
        (r.divergence().is_none(), r.events)
    }

    /// End a replay: `Ok` when the replay produced exactly the recording.
    pub fn finish_replay(&self) -> Result<usize, Divergence> {
        let r = self.core.borrow_mut().trace.replay.take().unwrap_or_default();
        match r.divergence() {
            Some(d) => Err(d),
            None => Ok(r.seen.len()),
        }
    }
}
