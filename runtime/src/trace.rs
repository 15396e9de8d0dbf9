//! Deterministic trace and replay (feature `trace`).
//!
//! Events are packed in one `u32` each: kind in the top 8 bits, subject id
//! in the low 24. Replay feeds the recorded scheduling decisions (the `POLL`
//! events) back to the scheduler instead of the seeded generator, and checks
//! every event the replay emits against the recording; the first mismatch is
//! reported as a [`Divergence`].
//!
//! Replay is kept cheap (M-PERF-04D budgets its overhead): loading moves
//! the recording in, nothing is copied or allocated. A pick reads the next
//! recorded `POLL` with a forward cursor (each event is read once over the
//! whole replay), and each emitted event is compared in place with the
//! recorded one at the same position; the first mismatch is kept, which is
//! the same first divergence a copy-then-compare check would find.

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
    /// How many events the replay emitted so far (the position of the
    /// recorded event the next emitted one must equal).
    emitted: usize,
    /// Where the search for the next recorded POLL resumes.
    poll_cursor: usize,
    /// The first mismatch: its position and what the replay emitted there.
    first_mismatch: Option<(usize, u32)>,
}

impl Replay {
    fn new(events: Vec<u32>) -> Replay {
        Replay { events, emitted: 0, poll_cursor: 0, first_mismatch: None }
    }

    #[inline(always)]
    fn check(&mut self, e: u32) {
        if self.first_mismatch.is_none() && self.events.get(self.emitted) != Some(&e) {
            self.first_mismatch = Some((self.emitted, e));
        }
        self.emitted += 1;
    }

    /// The task id of the next recorded POLL, if the recording has one.
    #[inline(always)]
    fn next_poll(&mut self) -> Option<u32> {
        let poll = crate::ev::POLL as u32;
        while let Some(&e) = self.events.get(self.poll_cursor) {
            self.poll_cursor += 1;
            if e >> 24 == poll {
                return Some(e & 0x00ff_ffff);
            }
        }
        None
    }

    /// The first place the replay differed from the recording, if any: a
    /// mismatched event, or a replay that stopped short of the recording.
    fn divergence(&self) -> Option<Divergence> {
        match self.first_mismatch {
            Some((i, got)) => Some(Divergence { index: i, expected: self.events.get(i).copied().map(unpack), actual: Some(unpack(got)) }),
            None if self.emitted < self.events.len() => {
                Some(Divergence { index: self.emitted, expected: Some(unpack(self.events[self.emitted])), actual: None })
            }
            None => None,
        }
    }
}

#[derive(Default)]
pub(crate) struct Tracer {
    /// Recording or replaying: the one flag the hot paths test, so a trace
    /// build that does neither pays one inlined branch per event.
    on: bool,
    recording: bool,
    events: Vec<u32>,
    replay: Option<Replay>,
}

impl Tracer {
    #[inline(always)]
    pub(crate) fn event(&mut self, kind: u8, id: u32) {
        if self.on {
            self.note(pack(kind, id));
        }
    }

    #[inline(always)]
    fn note(&mut self, e: u32) {
        if self.recording {
            self.events.push(e);
        }
        if let Some(r) = &mut self.replay {
            r.check(e);
        }
    }

    /// The index in the ready set of the task the recording polled next
    /// (`ready_pos` maps task id -> ready index, `u32::MAX` if not ready).
    #[inline(always)]
    pub(crate) fn replay_pick(&mut self, ready_pos: &[u32]) -> Option<usize> {
        if !self.on {
            return None;
        }
        self.recorded_pick(ready_pos)
    }

    #[inline(always)]
    fn recorded_pick(&mut self, ready_pos: &[u32]) -> Option<usize> {
        let id = self.replay.as_mut()?.next_poll()?;
        ready_pos.get(id as usize).filter(|&&p| p != u32::MAX).map(|&p| p as usize)
    }
}

impl Runtime {
    /// Start recording events (clears any earlier recording).
    pub fn start_trace(&self) {
        let mut c = self.core.borrow_mut();
        c.trace.recording = true;
        c.trace.on = true;
        c.trace.events.clear();
    }

    /// Stop recording and take the events.
    pub fn take_trace(&self) -> Vec<u32> {
        let mut c = self.core.borrow_mut();
        c.trace.recording = false;
        c.trace.on = c.trace.replay.is_some();
        std::mem::take(&mut c.trace.events)
    }

    /// Replay a recording: scheduling follows it and every event is checked.
    pub fn start_replay(&self, events: Vec<u32>) {
        let mut c = self.core.borrow_mut();
        c.trace.replay = Some(Replay::new(events));
        c.trace.on = true;
    }

    /// End a replay and hand the recording back: (matched, recording).
    pub fn finish_replay_keep(&self) -> (bool, Vec<u32>) {
        let r = self.end_replay();
        (r.divergence().is_none(), r.events)
    }

    /// End a replay: `Ok` when the replay produced exactly the recording.
    pub fn finish_replay(&self) -> Result<usize, Divergence> {
        let r = self.end_replay();
        match r.divergence() {
            Some(d) => Err(d),
            None => Ok(r.emitted),
        }
    }

    fn end_replay(&self) -> Replay {
        let mut c = self.core.borrow_mut();
        let r = c.trace.replay.take().unwrap_or_default();
        c.trace.on = c.trace.recording;
        r
    }
}
