//! Deterministic trace and replay (feature `trace`).
//!
//! Events are packed in one `u32` each: kind in the top 8 bits, subject id
//! in the low 24. Replay feeds the recorded scheduling decisions (the `POLL`
//! events) back to the scheduler instead of the seeded generator, and checks
//! every event the replay emits against the recording; the first mismatch is
//! reported as a [`Divergence`].

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
    events: Vec<u32>,
    /// Next event to compare.
    pos: usize,
    /// Next recorded POLL to use as a scheduling decision.
    poll_pos: usize,
    divergence: Option<Divergence>,
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
            if r.divergence.is_none() {
                let expected = r.events.get(r.pos).copied();
                if expected != Some(e) {
                    r.divergence = Some(Divergence { index: r.pos, expected: expected.map(unpack), actual: Some(unpack(e)) });
                }
            }
            r.pos += 1;
        }
    }

    /// The index in the ready set of the task the recording polled next
    /// (`ready_pos` maps task id -> ready index, `u32::MAX` if not ready).
    pub(crate) fn replay_pick(&mut self, ready_pos: &[u32]) -> Option<usize> {
        let r = self.replay.as_mut()?;
        while let Some(&e) = r.events.get(r.poll_pos) {
            r.poll_pos += 1;
            let (k, id) = unpack(e);
            if k == crate::ev::POLL {
                return ready_pos.get(id as usize).filter(|&&p| p != u32::MAX).map(|&p| p as usize);
            }
        }
        None
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
        self.core.borrow_mut().trace.replay = Some(Replay { events, ..Default::default() });
    }

    /// End a replay and hand the recording back: (matched, recording).
    pub fn finish_replay_keep(&self) -> (bool, Vec<u32>) {
        let r = self.core.borrow_mut().trace.replay.take().unwrap_or_default();
        (r.divergence.is_none() && r.pos == r.events.len(), r.events)
    }

    /// End a replay: `Ok` when the replay produced exactly the recording.
    pub fn finish_replay(&self) -> Result<usize, Divergence> {
        let r = self.core.borrow_mut().trace.replay.take().unwrap_or_default();
        if let Some(d) = r.divergence {
            return Err(d);
        }
        if r.pos != r.events.len() {
            return Err(Divergence { index: r.pos, expected: r.events.get(r.pos).copied().map(unpack), actual: None });
        }
        Ok(r.pos)
    }
}
