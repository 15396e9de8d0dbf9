//! Deterministic trace and replay (feature `trace`).
//!
//! Events are packed in one `u32` each: kind in the top 8 bits, subject id
//! in the low 24. Replay feeds the recorded scheduling decisions (the `POLL`
//! events) back to the scheduler instead of the seeded generator, and checks
//! every event the replay emits against the recording; the first mismatch is
//! reported as a [`Divergence`].
//!
//! Replay is kept cheap (M-PERF-04D budgets its overhead): loading moves
//! the recording in, nothing is copied or allocated. Each emitted event is
//! compared in place with the recorded one at the same position; the first
//! mismatch is kept, which is the same first divergence a copy-then-compare
//! check would find. A pick reads one event: while the replay is in step,
//! the recorded event at the position the next emitted one must match *is*
//! the `POLL` the scheduler wants (a step emits its `POLL` right after the
//! pick). Only a replay out of step walks the recording for its `POLL`s,
//! off the hot path. One mode byte says whether to record, replay, both or
//! neither, so a trace build doing neither tests one byte per event.

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
        write!(
            f,
            "replay diverged at event {}: expected {:?}, got {:?}",
            self.index, self.expected, self.actual
        )
    }
}

#[derive(Default)]
pub(crate) struct Replay {
    /// The recording.
    events: Vec<u32>,
    /// How many events the replay emitted so far (the position of the
    /// recorded event the next emitted one must equal).
    emitted: usize,
    /// The first mismatch: its position and what the replay emitted there.
    first_mismatch: Option<(usize, u32)>,
    /// Out of step only: where the search for the next recorded POLL resumes.
    poll_cursor: Option<usize>,
}

impl Replay {
    fn new(events: Vec<u32>) -> Replay {
        Replay {
            events,
            emitted: 0,
            first_mismatch: None,
            poll_cursor: None,
        }
    }

    #[inline(always)]
    fn check(&mut self, e: u32) {
        let i = self.emitted;
        self.emitted = i.wrapping_add(1);
        if self.events.get(i).copied() != Some(e) {
            self.mismatch(i, e);
        }
    }

    /// Keep the first mismatch (off the hot path: a matching replay never
    /// comes here).
    #[cold]
    #[inline(never)]
    fn mismatch(&mut self, i: usize, e: u32) {
        if self.first_mismatch.is_none() {
            self.first_mismatch = Some((i, e));
        }
    }

    /// The task id of the recorded POLL the replay should poll next.
    #[inline(always)]
    fn next_poll(&mut self) -> Option<u32> {
        if self.first_mismatch.is_none() {
            if let Some((crate::ev::POLL, id)) = self.events.get(self.emitted).map(|&e| unpack(e)) {
                return Some(id);
            }
        }
        self.next_poll_out_of_step()
    }

    /// A replay out of step with its recording (it has diverged, or is about
    /// to: the recorded event at its position is not a POLL). It keeps
    /// following the recorded order: a cursor walks the recorded POLLs from
    /// where the replay left its recording, each read once.
    #[cold]
    #[inline(never)]
    fn next_poll_out_of_step(&mut self) -> Option<u32> {
        let from = match self.poll_cursor {
            Some(c) => c,
            None => self
                .first_mismatch
                .map_or(self.emitted, |(i, _)| i.min(self.emitted)),
        };
        let found = self
            .events
            .get(from..)
            .and_then(|rest| rest.iter().position(|&e| unpack(e).0 == crate::ev::POLL));
        self.poll_cursor = Some(found.map_or(self.events.len(), |k| from + k + 1));
        found.map(|k| unpack(self.events[from + k]).1)
    }

    /// The first place the replay differed from the recording, if any: a
    /// mismatched event, or a replay that stopped short of the recording.
    fn divergence(&self) -> Option<Divergence> {
        match self.first_mismatch {
            Some((i, got)) => Some(Divergence {
                index: i,
                expected: self.events.get(i).copied().map(unpack),
                actual: Some(unpack(got)),
            }),
            None if self.emitted < self.events.len() => Some(Divergence {
                index: self.emitted,
                expected: Some(unpack(self.events[self.emitted])),
                actual: None,
            }),
            None => None,
        }
    }
}

const RECORD: u8 = 1;
const REPLAY: u8 = 2;

#[derive(Default)]
pub(crate) struct Tracer {
    /// Recording, replaying, both or neither (`RECORD | REPLAY` bits): the
    /// one byte the hot paths test, so a trace build that does neither pays
    /// one inlined branch per event.
    mode: u8,
    events: Vec<u32>,
    /// The replay in progress (empty unless `mode` has `REPLAY`).
    replay: Replay,
}

impl Tracer {
    #[inline(always)]
    pub(crate) fn event(&mut self, kind: u8, id: u32) {
        if self.mode != 0 {
            self.note(pack(kind, id));
        }
    }

    /// Inlined in optimized builds, out of line in the low-optimization
    /// developer build (feature `dev`, the full-dev profile), where every
    /// event site then holds only the mode test and a call. Measured with
    /// `benches/replay-ab` (Chromium 156, each round compiled afresh):
    /// out of line, full-dev's replay ran 1.3 and 1.6 % faster and its
    /// trace build with tracing off 2.7 % faster; core-trace's (opt-level
    /// s, wasm-opt -O2) replay ran 2.7 % slower. Taking the replay pick out
    /// of `step` as well was slower in full-dev (+5.9 % replay).
    #[cfg_attr(feature = "dev", inline(never))]
    #[cfg_attr(not(feature = "dev"), inline(always))]
    fn note(&mut self, e: u32) {
        if self.mode & REPLAY != 0 {
            self.replay.check(e);
        }
        if self.mode & RECORD != 0 {
            self.events.push(e);
        }
    }

    /// The index in the ready set of the task the recording polled next
    /// (`ready_pos` maps task id -> ready index, `u32::MAX` if not ready).
    #[inline(always)]
    pub(crate) fn replay_pick(&mut self, ready_pos: &[u32]) -> Option<usize> {
        if self.mode & REPLAY == 0 {
            return None;
        }
        let id = self.replay.next_poll()?;
        let id = crate::inject!("BUDGET_INJECT_REPLAY_STEPS", id as u64) as u32;
        match ready_pos.get(id as usize) {
            Some(&p) if p != u32::MAX => Some(p as usize),
            _ => None,
        }
    }
}

impl Runtime {
    /// Start recording events (clears any earlier recording).
    pub fn start_trace(&self) {
        let mut c = self.core.borrow_mut();
        c.trace.mode |= RECORD;
        c.trace.events.clear();
    }

    /// Stop recording and take the events.
    pub fn take_trace(&self) -> Vec<u32> {
        let mut c = self.core.borrow_mut();
        c.trace.mode &= !RECORD;
        std::mem::take(&mut c.trace.events)
    }

    /// Replay a recording: scheduling follows it and every event is checked.
    pub fn start_replay(&self, events: Vec<u32>) {
        let mut c = self.core.borrow_mut();
        c.trace.replay = Replay::new(events);
        c.trace.mode |= REPLAY;
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
        c.trace.mode &= !REPLAY;
        std::mem::take(&mut c.trace.replay)
    }
}
