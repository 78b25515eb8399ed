//! `PollEvented`: a mio source registered with the reactor, and the readiness loop every
//! socket operation runs: wait until ready, try the syscall, and on `WouldBlock` clear the
//! readiness (by tick, see `scheduled_io`) and wait again.

use crate::coop;
use crate::reactor::driver::IoHandle;
use crate::reactor::scheduled_io::{Direction, ReadyEvent, Registration};
use std::fmt;
use std::io;
use std::task::{ready, Context, Poll};

pub(crate) struct PollEvented<E: mio::event::Source> {
    io: Option<E>,
    registration: Registration,
    handle: IoHandle,
}

impl<E: mio::event::Source> PollEvented<E> {
    /// Registers `io` with the current runtime's reactor for reads and writes.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    #[track_caller]
    pub(crate) fn new(io: E) -> io::Result<PollEvented<E>> {
        PollEvented::with_interest(io, mio::Interest::READABLE | mio::Interest::WRITABLE)
    }

    #[track_caller]
    pub(crate) fn with_interest(mut io: E, interest: mio::Interest) -> io::Result<PollEvented<E>> {
        let handle = crate::driver::Handle::with_current(|driver| driver.io.clone());
        let registration = handle.register(&mut io, interest)?;
        Ok(PollEvented {
            io: Some(io),
            registration,
            handle,
        })
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io.as_ref().expect("PollEvented used after into_inner")
    }

    /// Ready in `direction`, spending one unit of the task's coop budget.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        let res = ready!(self.registration.io.poll_ready(cx, direction));
        coop.made_progress();
        Poll::Ready(res)
    }

    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.registration.io.clear_readiness(event);
    }

    /// Runs `f` when ready in `direction`, until it stops returning `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready(cx, direction))?;
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                res => return Poll::Ready(res),
            }
        }
    }

    /// As [`poll_io`](Self::poll_io) for a byte transfer of up to `len` bytes. A short
    /// transfer shows the socket buffer was drained (read) or filled (write), so the
    /// readiness is cleared right away and the next call waits for an event instead of
    /// spending a syscall on `WouldBlock` (sound with edge-triggered epoll: data arriving
    /// later raises a new event with a new tick).
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        mut f: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let event = ready!(self.poll_ready(cx, direction))?;
            match f(self.get_ref()) {
                Ok(n) => {
                    if n > 0 && n < len {
                        self.clear_readiness(event);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Runs `f` once if the resource looks ready; `WouldBlock` otherwise. Never waits.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        f: impl FnOnce(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let event = match self.registration.io.ready_now(direction) {
            Some(event) => event?,
            None => return Err(io::ErrorKind::WouldBlock.into()),
        };
        let res = f(self.get_ref());
        if let Err(e) = &res {
            if e.kind() == io::ErrorKind::WouldBlock {
                self.clear_readiness(event);
            }
        }
        res
    }

    /// Waits until ready in `direction`.
    pub(crate) async fn ready(&self, direction: Direction) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_ready(cx, direction).map_ok(drop)).await
    }

    /// Deregisters and returns the mio source.
    pub(crate) fn into_inner(mut self) -> E {
        let mut io = self.io.take().expect("PollEvented used after into_inner");
        self.handle.deregister(&mut io, &self.registration);
        io
    }
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.handle.deregister(&mut io, &self.registration);
        }
    }
}

impl<E: mio::event::Source + fmt::Debug> fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollEvented").field("io", &self.io).finish()
    }
}
