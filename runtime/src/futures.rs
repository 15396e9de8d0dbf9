//! The futures a task awaits (yield, join, sleep), and `block_on_task`.

use crate::{Cancelled, Cx, Outcome, Runtime, TaskId, TimerId};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub struct YieldNow {
    pub(crate) cx: Cx,
    pub(crate) yielded: bool,
}

impl Future for YieldNow {
    type Output = Result<(), Cancelled>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.yielded {
            return Poll::Ready(self.cx.checkpoint());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

pub struct Join {
    pub(crate) rt: Runtime,
    pub(crate) t: TaskId,
}

impl Future for Join {
    type Output = Outcome;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let mut c = self.rt.core.borrow_mut();
        let Some(t) = c.live_mut(self.t) else {
            // Released: its region was closed and released, so it finished.
            return Poll::Ready(Outcome::Cancelled);
        };
        match t.outcome {
            Some(o) => Poll::Ready(o),
            None => {
                t.joiners.push(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

pub struct Sleep {
    pub(crate) cx: Cx,
    pub(crate) deadline: u64,
    pub(crate) timer: Option<TimerId>,
}

impl Future for Sleep {
    type Output = Result<(), Cancelled>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Err(e) = self.cx.checkpoint() {
            return Poll::Ready(Err(e));
        }
        let rt = self.cx.rt.clone();
        let mut c = rt.core.borrow_mut();
        if c.timers.now() >= self.deadline {
            return Poll::Ready(Ok(()));
        }
        if self.timer.is_none() {
            let deadline = self.deadline;
            self.timer = Some(c.timers.arm(deadline, Some(cx.waker().clone())));
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            if let Ok(mut c) = self.cx.rt.core.try_borrow_mut() {
                c.timers.cancel(t);
            }
        }
    }
}

/// Drive a future to completion on a fresh runtime (host tests, benches).
pub fn block_on_task<F, Fut>(rt: &Runtime, f: F) -> Option<Outcome>
where
    F: FnOnce(Cx) -> Fut,
    Fut: Future<Output = Result<u64, Cancelled>> + 'static,
{
    let t = rt.spawn(rt.root(), f)?;
    rt.run_until_idle();
    rt.outcome(t)
}
