//! The two-phase channel: reserve a permit, then send or abort.
//!
//! A [`Permit`] holds one slot of capacity. It is resolved exactly once:
//! `send` commits it, `abort` (or dropping it, which is what happens when
//! the task holding it is cancelled or dropped) returns the slot. The
//! channel counts every permit reserved, committed and aborted, so
//! `reserved == committed + aborted` whenever no permit is alive.

use crate::{ev, Cancelled, Cx, Runtime};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelId(pub u32);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    pub reserved: u64,
    pub committed: u64,
    pub aborted: u64,
    /// Permits alive right now.
    pub outstanding: u64,
    pub queued: u64,
}

pub(crate) struct Channel {
    capacity: usize,
    queue: VecDeque<u64>,
    outstanding: usize,
    stats: ChannelStats,
    reserve_waiters: Vec<Waker>,
    recv_waiters: Vec<Waker>,
}

impl Channel {
    pub(crate) fn new(capacity: usize) -> Channel {
        Channel {
            capacity: capacity.max(1),
            queue: VecDeque::new(),
            outstanding: 0,
            stats: ChannelStats::default(),
            reserve_waiters: Vec::new(),
            recv_waiters: Vec::new(),
        }
    }

    pub(crate) fn stats(&self) -> ChannelStats {
        ChannelStats {
            outstanding: self.outstanding as u64,
            queued: self.queue.len() as u64,
            ..self.stats
        }
    }

    fn has_room(&self) -> bool {
        self.queue.len() + self.outstanding < self.capacity
    }
}

/// One reserved slot. Must be committed with `send` or aborted; dropping it
/// aborts.
pub struct Permit {
    rt: Runtime,
    ch: ChannelId,
    resolved: bool,
}

impl Permit {
    /// Commit: the message enters the channel.
    pub fn send(mut self, v: u64) {
        let v = crate::inject!("BUDGET_INJECT_SEND_STEPS", v);
        self.resolved = true;
        let wakers = {
            let mut c = self.rt.core.borrow_mut();
            c.event(ev::SEND, self.ch.0);
            let ch = &mut c.channels[self.ch.0 as usize];
            ch.outstanding -= 1;
            ch.stats.committed += 1;
            ch.queue.push_back(v);
            std::mem::take(&mut ch.recv_waiters)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Abort: the slot returns to the channel.
    pub fn abort(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if self.resolved {
            return;
        }
        self.resolved = true;
        // The runtime may be mid-borrow when a task future is dropped inside
        // it; the runtime never drops futures while borrowed, so this holds.
        let wakers = match self.rt.core.try_borrow_mut() {
            Ok(mut c) => {
                c.event(ev::ABORT, self.ch.0);
                let ch = &mut c.channels[self.ch.0 as usize];
                ch.outstanding -= 1;
                ch.stats.aborted += 1;
                std::mem::take(&mut ch.reserve_waiters)
            }
            Err(_) => Vec::new(),
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.release();
    }
}

pub(crate) fn try_reserve(rt: &Runtime, ch: ChannelId) -> Option<Permit> {
    let mut c = rt.core.borrow_mut();
    let chan = &mut c.channels[ch.0 as usize];
    if !chan.has_room() {
        return None;
    }
    chan.outstanding += 1;
    chan.stats.reserved += 1;
    Some(Permit {
        rt: rt.clone(),
        ch,
        resolved: false,
    })
}

pub(crate) fn try_recv(rt: &Runtime, ch: ChannelId) -> Option<u64> {
    let (v, wakers) = {
        let mut c = rt.core.borrow_mut();
        let chan = &mut c.channels[ch.0 as usize];
        let v = chan.queue.pop_front()?;
        let w = std::mem::take(&mut chan.reserve_waiters);
        c.event(ev::RECV, ch.0);
        (v, w)
    };
    wakers.into_iter().for_each(Waker::wake);
    Some(v)
}

/// The poll of both channel futures: a cancelled task stops at this
/// checkpoint; otherwise take what `attempt` gets now, or park on the
/// channel's `waiters` until a send, receive or release wakes it.
fn ready_or_park<T>(
    rcx: &Cx,
    ch: ChannelId,
    cx: &Context<'_>,
    attempt: fn(&Runtime, ChannelId) -> Option<T>,
    waiters: fn(&mut Channel) -> &mut Vec<Waker>,
) -> Poll<Result<T, Cancelled>> {
    rcx.checkpoint()?;
    if let Some(v) = attempt(rcx.runtime(), ch) {
        return Poll::Ready(Ok(v));
    }
    waiters(&mut rcx.runtime().core.borrow_mut().channels[ch.0 as usize]).push(cx.waker().clone());
    Poll::Pending
}

/// Future of `Cx::reserve`.
pub struct Reserve {
    pub(crate) cx: Cx,
    pub(crate) ch: ChannelId,
}

impl Future for Reserve {
    type Output = Result<Permit, Cancelled>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready_or_park(&self.cx, self.ch, cx, try_reserve, |c| {
            &mut c.reserve_waiters
        })
    }
}

/// Future of `Cx::recv`.
pub struct Recv {
    pub(crate) cx: Cx,
    pub(crate) ch: ChannelId,
}

impl Future for Recv {
    type Output = Result<u64, Cancelled>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready_or_park(&self.cx, self.ch, cx, try_recv, |c| &mut c.recv_waiters)
    }
}
