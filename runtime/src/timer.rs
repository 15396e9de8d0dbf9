//! A hashed timer wheel: 256 slots of 1 ms; a timer further out than one
//! revolution waits in its slot with a round count. Arm and cancel are O(1);
//! `advance` visits only the slots the clock passes.

use std::task::Waker;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId(pub u64);

const SLOTS: usize = 256;
const TICK_US: u64 = 1_000;

struct Entry {
    id: u64,
    deadline: u64,
    waker: Option<Waker>,
}

pub struct TimerWheel {
    slots: Vec<Vec<Entry>>,
    now: u64,
    next_id: u64,
    armed: usize,
}

impl TimerWheel {
    pub fn new(now_us: u64) -> TimerWheel {
        TimerWheel {
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            now: now_us,
            next_id: 1,
            armed: 0,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn armed(&self) -> usize {
        self.armed
    }

    fn slot(deadline: u64) -> usize {
        ((deadline / TICK_US) as usize) % SLOTS
    }

    /// Arm a timer; the id encodes its slot so cancel finds it directly.
    pub fn arm(&mut self, deadline_us: u64, waker: Option<Waker>) -> TimerId {
        let id = self.next_id;
        self.next_id += 1;
        let slot = Self::slot(deadline_us);
        self.slots[slot].push(Entry {
            id,
            deadline: deadline_us,
            waker,
        });
        self.armed += 1;
        TimerId(id << 8 | slot as u64)
    }

    /// Cancel an armed timer; false if it already fired or was cancelled.
    pub fn cancel(&mut self, t: TimerId) -> bool {
        let slot = (t.0 & 0xff) as usize;
        let id = t.0 >> 8;
        let v = &mut self.slots[slot];
        if let Some(i) = v.iter().position(|e| e.id == id) {
            v.swap_remove(i);
            self.armed -= 1;
            true
        } else {
            false
        }
    }

    /// Move the clock forward and return the wakers of timers now due.
    pub fn advance(&mut self, now_us: u64) -> Vec<Waker> {
        let mut out = Vec::new();
        if now_us < self.now {
            return out;
        }
        let from = self.now / TICK_US;
        let to = now_us / TICK_US;
        self.now = now_us;
        if self.armed == 0 {
            return out;
        }
        let span = (to - from + 1).min(SLOTS as u64);
        for k in 0..span {
            let slot = ((from + k) as usize) % SLOTS;
            let v = &mut self.slots[slot];
            let mut i = 0;
            while i < v.len() {
                if v[i].deadline <= now_us {
                    let e = v.swap_remove(i);
                    self.armed -= 1;
                    if let Some(w) = e.waker {
                        out.push(w);
                    }
                } else {
                    i += 1;
                }
            }
        }
        out
    }
}
