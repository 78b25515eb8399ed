//! One registered IO resource: its `Registration` (token and shared state) and the
//! `ScheduledIo` behind it (readiness and wakers).
//!
//! The readiness word packs the ready bits, the driver tick at which they were last set,
//! and a shutdown flag:
//!
//! | bits | what |
//! |---|---|
//! | 0..=4 | `READABLE`, `WRITABLE`, `READ_CLOSED`, `WRITE_CLOSED`, `ERROR` |
//! | 16..=23 | the driver tick of the last event |
//! | 31 | `SHUTDOWN`: the resource was deregistered or the driver stopped |
//!
//! Edge-triggered readiness persists until the resource reports `WouldBlock`; the caller
//! then clears it with the tick it observed, and the clear is skipped if an event with a
//! newer tick arrived meanwhile, so that event is never erased.
//!
//! Wakers: one list per direction (readers, writers). A poller stores its waker under the
//! lock, then re-reads the readiness word; the driver sets readiness before it takes the
//! lock to wake. So either the poller sees the new readiness or the driver sees its waker:
//! no lost wake-up.

use crate::loom::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::Mutex;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// A registered resource: the token the driver knows it by, and its shared readiness.
pub(crate) struct Registration {
    token: mio::Token,
    pub(crate) io: Arc<ScheduledIo>,
}

impl Registration {
    pub(crate) fn new(token: mio::Token, io: Arc<ScheduledIo>) -> Registration {
        Registration { token, io }
    }

    pub(crate) fn token(&self) -> mio::Token {
        self.token
    }
}

/// A set of readiness bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ready(usize);

impl Ready {
    pub(crate) const EMPTY: Ready = Ready(0);
    pub(crate) const READABLE: Ready = Ready(0b0_0001);
    pub(crate) const WRITABLE: Ready = Ready(0b0_0010);
    pub(crate) const READ_CLOSED: Ready = Ready(0b0_0100);
    pub(crate) const WRITE_CLOSED: Ready = Ready(0b0_1000);
    pub(crate) const ERROR: Ready = Ready(0b1_0000);
    const ALL: usize = 0b1_1111;

    pub(crate) fn from_event(event: &mio::event::Event) -> Ready {
        let mut ready = Ready::EMPTY;
        if event.is_readable() {
            ready = ready | Ready::READABLE;
        }
        if event.is_writable() {
            ready = ready | Ready::WRITABLE;
        }
        if event.is_read_closed() {
            ready = ready | Ready::READ_CLOSED;
        }
        if event.is_write_closed() {
            ready = ready | Ready::WRITE_CLOSED;
        }
        if event.is_error() {
            ready = ready | Ready::ERROR;
        }
        ready
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn intersection(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

impl std::ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness that lets an operation in this direction make progress (closed and
    /// error states count: the operation then returns 0 or the error).
    pub(crate) fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR,
            Direction::Write => Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::ERROR,
        }
    }
}

/// Readiness observed by a poll, to be cleared with its tick after `WouldBlock`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: Ready,
    tick: u8,
}

const TICK_SHIFT: usize = 16;
const TICK_MASK: usize = 0xff << TICK_SHIFT;
const SHUTDOWN: usize = 1 << 31;

pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    fn lock(&self) -> crate::loom::MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an event from the driver (turn `tick`) and collects the wakers it releases.
    pub(crate) fn set_readiness(&self, tick: u8, ready: Ready, wake: &mut Vec<Waker>) {
        let mut curr = self.readiness.load(Acquire);
        loop {
            if curr & SHUTDOWN != 0 {
                return;
            }
            let next = (curr & Ready::ALL) | ready.0 | ((tick as usize) << TICK_SHIFT);
            match self
                .readiness
                .compare_exchange_weak(curr, next, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => curr = actual,
            }
        }
        let mut waiters = self.lock();
        if !ready.intersection(Direction::Read.mask()).is_empty() {
            wake.append(&mut waiters.readers);
        }
        if !ready.intersection(Direction::Write.mask()).is_empty() {
            wake.append(&mut waiters.writers);
        }
    }

    /// Clears the bits of `event` unless a newer event arrived since it was observed.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        // Closed and error states are final: never clear them.
        let clear = event
            .ready
            .intersection(Ready::READABLE | Ready::WRITABLE)
            .0;
        let mut curr = self.readiness.load(Acquire);
        loop {
            if ((curr & TICK_MASK) >> TICK_SHIFT) as u8 != event.tick {
                return;
            }
            let next = curr & !clear;
            match self
                .readiness
                .compare_exchange_weak(curr, next, AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
    }

    /// Ready to go in `direction`, or registers `cx`'s waker for it.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<std::io::Result<ReadyEvent>> {
        if let Some(res) = self.ready_now(direction) {
            return Poll::Ready(res);
        }
        let mut waiters = self.lock();
        let list = match direction {
            Direction::Read => &mut waiters.readers,
            Direction::Write => &mut waiters.writers,
        };
        if !list.iter().any(|w| w.will_wake(cx.waker())) {
            list.push(cx.waker().clone());
        }
        drop(waiters);
        // The driver sets readiness before it takes the lock: re-check after registering.
        match self.ready_now(direction) {
            Some(res) => Poll::Ready(res),
            None => Poll::Pending,
        }
    }

    pub(crate) fn ready_now(&self, direction: Direction) -> Option<std::io::Result<ReadyEvent>> {
        let curr = self.readiness.load(Acquire);
        if curr & SHUTDOWN != 0 {
            return Some(Err(shutdown_error()));
        }
        let ready = Ready(curr & Ready::ALL).intersection(direction.mask());
        if ready.is_empty() {
            return None;
        }
        Some(Ok(ReadyEvent {
            ready,
            tick: ((curr & TICK_MASK) >> TICK_SHIFT) as u8,
        }))
    }

    /// Marks the resource gone (deregistered, or the driver stopped) and wakes every
    /// waiter, which then sees an error instead of waiting forever.
    pub(crate) fn shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, AcqRel);
        let (readers, writers) = {
            let mut waiters = self.lock();
            (
                std::mem::take(&mut waiters.readers),
                std::mem::take(&mut waiters.writers),
            )
        };
        readers
            .into_iter()
            .chain(writers)
            .for_each(crate::util::wake_contained);
    }
}

pub(crate) fn shutdown_error() -> std::io::Error {
    std::io::Error::other(
        "the IO resource is no longer registered: its runtime has shut down or the socket was closed",
    )
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::atomic::{AtomicBool, Ordering::SeqCst};
    use crate::loom::Arc;
    use loom::thread;

    struct Flag(AtomicBool);

    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }

    #[test]
    fn readiness_racing_a_poll_is_never_lost() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(flag.clone());
            let driver = {
                let io = io.clone();
                thread::spawn(move || {
                    let mut wake = Vec::new();
                    io.set_readiness(1, Ready::READABLE, &mut wake);
                    wake.into_iter().for_each(Waker::wake);
                })
            };
            let ready = io
                .poll_ready(&mut Context::from_waker(&waker), Direction::Read)
                .is_ready();
            driver.join().unwrap();
            assert!(
                ready || flag.0.load(SeqCst),
                "readiness arrived but nobody was woken"
            );
        });
    }

    #[test]
    fn a_stale_clear_never_erases_a_newer_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            io.set_readiness(1, Ready::READABLE, &mut Vec::new());
            let event = io.ready_now(Direction::Read).unwrap().unwrap();
            let driver = {
                let io = io.clone();
                thread::spawn(move || io.set_readiness(2, Ready::READABLE, &mut Vec::new()))
            };
            io.clear_readiness(event);
            driver.join().unwrap();
            assert!(
                io.ready_now(Direction::Read).is_some(),
                "the event of tick 2 was erased by a clear for tick 1"
            );
        });
    }

    #[test]
    fn shutdown_wakes_a_waiting_poller() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(flag.clone());
            let closer = {
                let io = io.clone();
                thread::spawn(move || io.shutdown())
            };
            let res = io.poll_ready(&mut Context::from_waker(&waker), Direction::Write);
            closer.join().unwrap();
            match res {
                Poll::Ready(r) => assert!(r.is_err()),
                Poll::Pending => assert!(flag.0.load(SeqCst), "a waiter was left hanging"),
            }
        });
    }
}
