//! A compact structured-concurrency runtime core for the browser.
//!
//! Single-threaded and deterministic: the scheduler picks the next ready task
//! with a seeded generator, so the same seed gives the same order.
//!
//! - **Regions** own tasks. No task outlives its region: closing a region
//!   requests cancellation of nothing, but waits until every child has
//!   finished (close implies quiescence), and a closed region accepts no
//!   new tasks.
//! - **Cancellation** is a protocol: `cancel` records a request; the task
//!   observes it at its next `checkpoint` (phase `Draining`), runs its
//!   cleanup, returns, and the runtime finalizes it with `Outcome::Cancelled`,
//!   which is what `join` reports. The phases of every task are kept in order.
//! - **Obligations**: a two-phase channel. `reserve` yields a [`Permit`];
//!   the permit is either committed (`send`) or aborted (`abort`, or drop,
//!   including when the task holding it is cancelled or dropped). The channel
//!   counts reserved, committed and aborted permits, so a leak is visible.
//! - **Timers**: a hashed timer wheel driven by a host clock (in the browser,
//!   `performance.now`), with arm and cancel.
//! - feature `trace`: a compact event trace and replay that checks the replay
//!   produces the same events (divergence is reported with its position).
//! - feature `dev`: task names, leak and orphan reports, invariant assertions.

mod channel;
mod futures;
mod ids;
mod rng;
mod timer;
#[cfg(feature = "trace")]
pub mod trace;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub mod work;

/// Calibration only (feature `inject-busy`): busy work on one timed path, of
/// a size set at build time by the path's variable, so `cargo xtask
/// calibrate --metric <key>` can measure how often the gate catches a known
/// slowdown of that key. `inject!(VAR, v)` is `v` (a u64), made to depend
/// on the work: the path waits for it. Without the feature it is `v` and
/// nothing else.
///
/// Why so: work whose result nothing waits for overlaps the path's own
/// instructions in the CPU, so a short chain cost nothing and a long one
/// its full length (channel send: 22 steps added 0.000 us at the median,
/// 88 steps 0.059 us), and no step count sized a +15 % slowdown. The count
/// is read at compile time (a parse per call cost more than the few steps
/// a micro path needs), and the work stays behind a call: inlined, it made
/// channel send faster (x0.905), as the path's code was laid out anew.
macro_rules! inject {
    ($var:literal, $v:expr) => {{
        let v: u64 = $v;
        #[cfg(feature = "inject-busy")]
        let v = {
            const STEPS: u32 = $crate::steps_of(option_env!($var));
            $crate::busy(STEPS, v)
        };
        v
    }};
}
pub(crate) use inject;

/// A build-time step count: the variable's decimal digits, 0 when unset or
/// not a number.
#[cfg(feature = "inject-busy")]
pub(crate) const fn steps_of(v: Option<&str>) -> u32 {
    let Some(s) = v else { return 0 };
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0u32);
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            return 0;
        }
        n = n.saturating_mul(10).saturating_add((b[i] - b'0') as u32);
        i += 1;
    }
    n
}

/// `v`, after `steps` rounds of a 64-bit mix that the optimizer cannot
/// remove and that `v` depends on: the mix is ANDed with an opaque zero.
#[cfg(feature = "inject-busy")]
#[inline(never)]
pub(crate) fn busy(steps: u32, v: u64) -> u64 {
    let mut x = core::hint::black_box(v);
    for i in 0..core::hint::black_box(steps) {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i as u64 | 1);
    }
    v ^ (x & core::hint::black_box(0))
}

pub use channel::{ChannelId, ChannelStats, Permit};
pub use futures::{block_on_task, Join, Sleep, YieldNow};
pub use ids::{Cancelled, Outcome, Phase, RegionId, TaskId};
pub use rng::Rng;
pub use timer::{TimerId, TimerWheel};

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

type TaskFuture = Pin<Box<dyn Future<Output = Result<u64, Cancelled>>>>;

struct Task {
    gen: u32,
    future: Option<TaskFuture>,
    region: RegionId,
    phase: Phase,
    /// Every phase the task went through, in order.
    phases: Vec<Phase>,
    outcome: Option<Outcome>,
    joiners: Vec<Waker>,
    #[cfg(feature = "dev")]
    name: String,
}

struct Region {
    /// Slot indices of the tasks spawned in this region.
    children: Vec<u32>,
    parent: Option<RegionId>,
    open: bool,
    live_children: u32,
    /// Set when the region closed with every child finished.
    quiescent: bool,
}

/// Wakers push task ids here; the scheduler drains it.
#[derive(Default)]
struct WakeQueue(Mutex<Vec<u32>>);

struct TaskWaker {
    id: u32,
    queue: Arc<WakeQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Ok(mut q) = self.queue.0.lock() {
            q.push(self.id);
        }
    }
}

const NOT_READY: u32 = u32::MAX;

pub(crate) struct Core {
    tasks: Vec<Task>,
    regions: Vec<Region>,
    ready: Vec<u32>,
    /// Task id -> its index in `ready`, or `NOT_READY`. Lets replay find a
    /// recorded task in O(1) instead of scanning the ready set.
    ready_pos: Vec<u32>,
    /// Task slots of released regions, reused LIFO (deterministic).
    free_tasks: Vec<u32>,
    wakes: Arc<WakeQueue>,
    wakers: Vec<Waker>,
    rng: Rng,
    pub(crate) timers: TimerWheel,
    pub(crate) channels: Vec<channel::Channel>,
    live_tasks: u32,
    #[cfg(feature = "trace")]
    pub(crate) trace: trace::Tracer,
}

impl Core {
    fn new(seed: u64) -> Core {
        Core {
            tasks: Vec::new(),
            regions: vec![Region {
                children: Vec::new(),
                parent: None,
                open: true,
                live_children: 0,
                quiescent: false,
            }],
            ready: Vec::new(),
            ready_pos: Vec::new(),
            free_tasks: Vec::new(),
            wakes: Arc::default(),
            wakers: Vec::new(),
            rng: Rng::new(seed),
            timers: TimerWheel::new(0),
            channels: Vec::new(),
            live_tasks: 0,
            #[cfg(feature = "trace")]
            trace: trace::Tracer::default(),
        }
    }

    #[inline(always)]
    pub(crate) fn event(&mut self, _kind: u8, _id: u32) {
        #[cfg(feature = "trace")]
        self.trace.event(_kind, _id);
    }

    fn make_ready(&mut self, id: u32) {
        let i = id as usize;
        if i < self.ready_pos.len()
            && self.ready_pos[i] == NOT_READY
            && self.tasks[i].future.is_some()
        {
            self.ready_pos[i] = self.ready.len() as u32;
            self.ready.push(id);
        }
    }

    /// Take the ready task at `index` (swap-remove, keeping `ready_pos` true).
    fn take_ready(&mut self, index: usize) -> u32 {
        let id = self.ready.swap_remove(index);
        self.ready_pos[id as usize] = NOT_READY;
        if let Some(&moved) = self.ready.get(index) {
            self.ready_pos[moved as usize] = index as u32;
        }
        id
    }

    fn drain_wakes(&mut self) {
        let ids: Vec<u32> = match self.wakes.0.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => Vec::new(),
        };
        for id in ids {
            self.make_ready(id);
        }
    }

    /// The task a handle refers to, unless its slot was released.
    fn live(&self, t: TaskId) -> Option<&Task> {
        self.tasks
            .get(t.index() as usize)
            .filter(|x| x.gen == t.gen())
    }

    fn live_mut(&mut self, t: TaskId) -> Option<&mut Task> {
        self.tasks
            .get_mut(t.index() as usize)
            .filter(|x| x.gen == t.gen())
    }

    fn set_phase(&mut self, id: u32, p: Phase) {
        let t = &mut self.tasks[id as usize];
        #[cfg(feature = "dev")]
        assert!(
            p > t.phase,
            "invariant: task {} ({}) moved from phase {:?} to {:?}; phases only advance",
            id,
            t.name,
            t.phase,
            p
        );
        if p > t.phase {
            t.phase = p;
            t.phases.push(p);
        }
    }
}

/// The runtime. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Runtime {
    pub(crate) core: Rc<RefCell<Core>>,
}

/// What a task sees of the runtime.
#[derive(Clone)]
pub struct Cx {
    rt: Runtime,
    id: TaskId,
}

pub(crate) mod ev {
    pub const SPAWN: u8 = 1;
    pub const POLL: u8 = 2;
    pub const DONE: u8 = 3;
    pub const CANCEL: u8 = 4;
    pub const DRAIN: u8 = 5;
    pub const TIMER: u8 = 6;
    pub const SEND: u8 = 7;
    pub const RECV: u8 = 8;
    pub const ABORT: u8 = 9;
}

impl Runtime {
    pub fn new(seed: u64) -> Runtime {
        Runtime {
            core: Rc::new(RefCell::new(Core::new(seed))),
        }
    }

    /// The root region, open for the runtime's lifetime.
    pub fn root(&self) -> RegionId {
        RegionId(0)
    }

    /// Open a child region.
    pub fn region(&self, parent: RegionId) -> RegionId {
        let mut c = self.core.borrow_mut();
        assert!(
            c.regions[parent.0 as usize].open,
            "cannot open a region inside a closed region"
        );
        c.regions.push(Region {
            children: Vec::new(),
            parent: Some(parent),
            open: true,
            live_children: 0,
            quiescent: false,
        });
        RegionId(c.regions.len() as u32 - 1)
    }

    /// Spawn a task in an open region. Returns `None` if the region is closed.
    pub fn spawn<F, Fut>(&self, region: RegionId, f: F) -> Option<TaskId>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = Result<u64, Cancelled>> + 'static,
    {
        let region = RegionId(inject!("BUDGET_INJECT_SPAWN_STEPS", region.0 as u64) as u32);
        self.spawn_named(region, "task", f)
    }

    /// Spawn with a name (kept with the `dev` feature, for diagnostics).
    pub fn spawn_named<F, Fut>(&self, region: RegionId, _name: &str, f: F) -> Option<TaskId>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = Result<u64, Cancelled>> + 'static,
    {
        let id = {
            let mut c = self.core.borrow_mut();
            let r = region.0 as usize;
            if r >= c.regions.len() || !c.regions[r].open {
                return None;
            }
            c.regions[r].live_children += 1;
            let (id, gen) = match c.free_tasks.pop() {
                Some(id) => {
                    let t = &mut c.tasks[id as usize];
                    t.gen += 1; // release left room for it
                    t.region = region;
                    t.phase = Phase::Running;
                    t.phases.clear();
                    t.phases.push(Phase::Running);
                    t.outcome = None;
                    t.joiners.clear();
                    #[cfg(feature = "dev")]
                    {
                        t.name.clear();
                        t.name.push_str(_name);
                    }
                    (id, t.gen)
                }
                None => {
                    let id = c.tasks.len() as u32;
                    assert!(
                        id < 1 << 24,
                        "more than 16M task slots (trace events carry 24-bit ids)"
                    );
                    c.tasks.push(Task {
                        gen: 0,
                        future: None,
                        region,
                        phase: Phase::Running,
                        phases: vec![Phase::Running],
                        outcome: None,
                        joiners: Vec::new(),
                        #[cfg(feature = "dev")]
                        name: _name.to_string(),
                    });
                    c.ready_pos.push(NOT_READY);
                    let w = Waker::from(Arc::new(TaskWaker {
                        id,
                        queue: c.wakes.clone(),
                    }));
                    c.wakers.push(w);
                    (id, 0)
                }
            };
            c.regions[r].children.push(id);
            c.live_tasks += 1;
            c.event(ev::SPAWN, id);
            TaskId::new(id, gen)
        };
        let fut = f(Cx {
            rt: self.clone(),
            id,
        });
        let mut c = self.core.borrow_mut();
        c.tasks[id.index() as usize].future = Some(Box::pin(fut));
        c.make_ready(id.index());
        Some(id)
    }

    /// Request cancellation. The task sees it at its next checkpoint.
    pub fn cancel(&self, t: TaskId) {
        let t = TaskId(inject!("BUDGET_INJECT_CANCEL_STEPS", t.0));
        let waker = {
            let mut c = self.core.borrow_mut();
            let Some(task) = c.live(t) else { return };
            if task.phase != Phase::Running {
                return;
            }
            let i = t.index();
            c.set_phase(i, Phase::CancelRequested);
            c.event(ev::CANCEL, i);
            c.wakers[i as usize].clone()
        };
        waker.wake();
    }

    /// Outcome of a finished task.
    pub fn outcome(&self, t: TaskId) -> Option<Outcome> {
        self.core.borrow().live(t).and_then(|t| t.outcome)
    }

    /// Phases a task went through, in order.
    pub fn phases(&self, t: TaskId) -> Vec<Phase> {
        self.core
            .borrow()
            .live(t)
            .map(|t| t.phases.clone())
            .unwrap_or_default()
    }

    pub fn live_tasks(&self) -> u32 {
        self.core.borrow().live_tasks
    }

    /// Poll one ready task, chosen by the seeded scheduler. Returns false
    /// when nothing is ready.
    pub fn step(&self) -> bool {
        let (id, mut fut, waker) = {
            let mut c = self.core.borrow_mut();
            c.drain_wakes();
            if c.ready.is_empty() {
                return false;
            }
            let n = c.ready.len() as u32;
            #[cfg(feature = "trace")]
            let replayed = {
                let core = &mut *c;
                core.trace.replay_pick(&core.ready_pos)
            };
            #[cfg(feature = "trace")]
            let pick = match replayed {
                Some(i) => i,
                None => c.rng.below(n) as usize,
            };
            #[cfg(not(feature = "trace"))]
            let pick = c.rng.below(n) as usize;
            let id = c.take_ready(pick);
            let Some(fut) = c.tasks[id as usize].future.take() else {
                return true;
            };
            c.event(ev::POLL, id);
            (id, fut, c.wakers[id as usize].clone())
        };
        let mut cx = Context::from_waker(&waker);
        match fut.as_mut().poll(&mut cx) {
            Poll::Pending => {
                self.core.borrow_mut().tasks[id as usize].future = Some(fut);
            }
            Poll::Ready(res) => {
                drop(fut);
                self.finish(id, res);
            }
        }
        true
    }

    fn finish(&self, id: u32, res: Result<u64, Cancelled>) {
        let joiners = {
            let mut c = self.core.borrow_mut();
            let requested = c.tasks[id as usize].phase >= Phase::CancelRequested;
            let outcome = match res {
                Ok(v) if !requested => Outcome::Ok(v),
                // A task that was asked to cancel and returned is cancelled,
                // whatever it returned: the joiner must observe the cancel.
                _ => Outcome::Cancelled,
            };
            if requested && c.tasks[id as usize].phase == Phase::CancelRequested {
                // Returned without reaching a checkpoint: it still drained.
                c.set_phase(id, Phase::Draining);
            }
            c.set_phase(id, Phase::Finalized);
            c.event(ev::DONE, id);
            let t = &mut c.tasks[id as usize];
            t.outcome = Some(outcome);
            let region = t.region;
            let joiners = std::mem::take(&mut t.joiners);
            c.live_tasks -= 1;
            let r = &mut c.regions[region.0 as usize];
            r.live_children -= 1;
            if !r.open && r.live_children == 0 {
                r.quiescent = true;
            }
            joiners
        };
        for w in joiners {
            w.wake();
        }
    }

    /// Run until no task is ready (tasks waiting on timers or channels stay).
    pub fn run_until_idle(&self) -> u32 {
        let mut n = 0;
        while self.step() {
            n += 1;
        }
        n
    }

    /// Close a region: no new tasks; drive the scheduler until every child
    /// has finished. Returns true when the region is quiescent; false if
    /// children are still blocked (on timers or channels) with nothing ready.
    pub fn close(&self, region: RegionId) -> bool {
        self.core.borrow_mut().regions[region.0 as usize].open = false;
        loop {
            {
                let mut c = self.core.borrow_mut();
                let r = &mut c.regions[region.0 as usize];
                if r.live_children == 0 {
                    r.quiescent = true;
                    return true;
                }
            }
            if !self.step() {
                return false;
            }
        }
    }

    /// Release a closed, quiescent region: its task slots are reused by
    /// later spawns and handles to its tasks stop resolving. Call it once
    /// the outcomes have been read. Returns false (and does nothing) when
    /// the region is still open or has unfinished children.
    pub fn release(&self, region: RegionId) -> bool {
        let mut c = self.core.borrow_mut();
        let r = &mut c.regions[region.0 as usize];
        if r.open || r.live_children != 0 {
            return false;
        }
        let children = std::mem::take(&mut r.children);
        let mut free = Vec::with_capacity(children.len());
        for &i in &children {
            // The outcome stays (the slot reads as finished to diagnostics);
            // the new generation makes old handles stop resolving. Reuse
            // takes one more generation (`spawn`); a slot with no room left
            // for both is retired, never reused.
            // A live task's generation is at most MAX - 1, so the bump
            // always happens; the slot is reused only while spawn's bump
            // keeps it at most MAX - 1 in turn.
            let t = &mut c.tasks[i as usize];
            t.joiners = Vec::new();
            t.gen += 1;
            if t.gen < u32::MAX - 1 {
                free.push(i);
            }
        }
        c.free_tasks.extend(free.iter().rev());
        true
    }

    pub fn is_quiescent(&self, region: RegionId) -> bool {
        self.core.borrow().regions[region.0 as usize].quiescent
    }

    pub fn region_parent(&self, region: RegionId) -> Option<RegionId> {
        self.core.borrow().regions[region.0 as usize].parent
    }

    /// Advance the clock to `now_us` and fire due timers.
    pub fn advance(&self, now_us: u64) -> u32 {
        let fired = self.core.borrow_mut().timers.advance(now_us);
        let n = fired.len() as u32;
        for w in fired {
            w.wake();
        }
        n
    }

    pub fn now_us(&self) -> u64 {
        self.core.borrow().timers.now()
    }

    /// Arm a bare timer (no task) at `deadline_us`.
    pub fn arm(&self, deadline_us: u64) -> TimerId {
        let deadline_us = inject!("BUDGET_INJECT_TIMER_STEPS", deadline_us);
        let mut c = self.core.borrow_mut();
        let id = c.timers.arm(deadline_us, None);
        c.event(ev::TIMER, id.0 as u32);
        id
    }

    pub fn disarm(&self, t: TimerId) -> bool {
        self.core.borrow_mut().timers.cancel(t)
    }

    /// Open a two-phase channel with `capacity` slots.
    pub fn channel(&self, capacity: usize) -> ChannelId {
        let mut c = self.core.borrow_mut();
        c.channels.push(channel::Channel::new(capacity));
        ChannelId(c.channels.len() as u32 - 1)
    }

    pub fn channel_stats(&self, ch: ChannelId) -> ChannelStats {
        self.core.borrow().channels[ch.0 as usize].stats()
    }

    /// Reserve a slot without waiting (None when full).
    pub fn try_reserve(&self, ch: ChannelId) -> Option<Permit> {
        channel::try_reserve(self, ch)
    }

    /// Take one message without waiting.
    pub fn try_recv(&self, ch: ChannelId) -> Option<u64> {
        channel::try_recv(self, ch)
    }

    /// Tasks that are not finished, with their region (dev: names).
    pub fn orphans(&self) -> Vec<String> {
        let c = self.core.borrow();
        c.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.outcome.is_none() && !c.regions[t.region.0 as usize].open)
            .map(|(i, _t)| {
                #[cfg(feature = "dev")]
                return format!(
                    "task {i} `{}` in closed region {} has not finished",
                    _t.name, _t.region.0
                );
                #[cfg(not(feature = "dev"))]
                format!("task {i}")
            })
            .collect()
    }

    /// Leak report: unfinished tasks and unresolved permits.
    #[cfg(feature = "dev")]
    pub fn leak_report(&self) -> String {
        let c = self.core.borrow();
        let mut out = String::new();
        for (i, t) in c.tasks.iter().enumerate() {
            if t.outcome.is_none() {
                out.push_str(&format!(
                    "task {i} `{}` is unfinished in phase {:?}\n",
                    t.name, t.phase
                ));
            }
        }
        for (i, ch) in c.channels.iter().enumerate() {
            let s = ch.stats();
            if s.reserved != s.committed + s.aborted {
                out.push_str(&format!(
                    "channel {i}: {} permits reserved, {} committed, {} aborted: {} outstanding\n",
                    s.reserved,
                    s.committed,
                    s.aborted,
                    s.reserved - s.committed - s.aborted
                ));
            }
        }
        out
    }
}

impl Cx {
    pub fn id(&self) -> TaskId {
        self.id
    }

    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// A cancellation checkpoint: yields `Err(Cancelled)` once cancel was
    /// requested (entering the drain phase), else `Ok(())`.
    pub fn checkpoint(&self) -> Result<(), Cancelled> {
        let mut c = self.rt.core.borrow_mut();
        let i = self.id.index();
        let phase = c.tasks[i as usize].phase;
        match phase {
            Phase::Running => Ok(()),
            Phase::CancelRequested => {
                c.set_phase(i, Phase::Draining);
                c.event(ev::DRAIN, i);
                Err(Cancelled)
            }
            _ => Err(Cancelled),
        }
    }

    /// Yield to the scheduler once, then checkpoint.
    pub fn yield_now(&self) -> YieldNow {
        YieldNow {
            cx: self.clone(),
            yielded: false,
        }
    }

    /// Spawn a sibling in `region`.
    pub fn spawn<F, Fut>(&self, region: RegionId, f: F) -> Option<TaskId>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = Result<u64, Cancelled>> + 'static,
    {
        self.rt.spawn(region, f)
    }

    /// Wait for a task to finish and observe its outcome.
    pub fn join(&self, t: TaskId) -> Join {
        Join {
            rt: self.rt.clone(),
            t,
        }
    }

    /// Sleep until the clock reaches `deadline_us`; a cancel request wakes
    /// the sleeper, which then returns `Err(Cancelled)`.
    pub fn sleep_until(&self, deadline_us: u64) -> Sleep {
        Sleep {
            cx: self.clone(),
            deadline: deadline_us,
            timer: None,
        }
    }

    /// Reserve a channel slot, waiting for capacity.
    pub fn reserve(&self, ch: ChannelId) -> channel::Reserve {
        channel::Reserve {
            cx: self.clone(),
            ch,
        }
    }

    /// Receive a message, waiting for one.
    pub fn recv(&self, ch: ChannelId) -> channel::Recv {
        channel::Recv {
            cx: self.clone(),
            ch,
        }
    }
}

#[cfg(test)]
mod tests;

// Used by the gate's test that a build failure is reported (exit 2) with
// the profile's name: `--cfg budget_test_break_build` breaks the build.
#[cfg(budget_test_break_build)]
compile_error!("build broken on purpose by --cfg budget_test_break_build");
