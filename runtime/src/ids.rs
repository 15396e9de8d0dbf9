//! The runtime's handles and the states a task goes through.

/// A task handle: slot index in the low 32 bits, the slot's generation in
/// the high 32. Slots of a released region are reused (see
/// [`Runtime::release`]), each time under a new generation, so a handle to
/// a released task never resolves again: a slot whose generation would
/// wrap is retired instead of reused. A handle is a capability; an 8-bit
/// generation once let a stale handle resolve to a stranger's task after
/// 128 reuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

impl TaskId {
    pub(crate) fn new(index: u32, gen: u32) -> TaskId {
        TaskId(index as u64 | (gen as u64) << 32)
    }
    /// The slot index.
    pub fn index(self) -> u32 {
        self.0 as u32
    }
    pub(crate) fn gen(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// Index of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionId(pub u32);

/// How a task ended, as `join` observes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok(u64),
    Cancelled,
}

/// Marker error a task returns when it stops because it was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

/// Cancellation phases, in the only order they may occur.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    /// `cancel` was called; the task has not reached a checkpoint yet.
    CancelRequested,
    /// The task observed the request at a checkpoint and runs its cleanup.
    Draining,
    /// The task returned; its outcome is final.
    Finalized,
}
