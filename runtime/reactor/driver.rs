//! The IO driver: `mio::Poll` plus a `mio::Waker`, and the slab of registrations.
//!
//! Tokens are a slab index plus a generation (`generation << 32 | index` on 64-bit), so an event
//! that arrives for a slot that was freed and reused is recognised as stale and ignored.
//! Events are dispatched in batches of up to 1024 per turn; wakers are collected under
//! the registrations lock and woken after it is released.

use crate::reactor::scheduled_io::{Ready, Registration, ScheduledIo};
use slab::Slab;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);
/// The process-wide signal pipe (`crate::signal`), registered once per runtime.
const SIGNAL_TOKEN: mio::Token = mio::Token(usize::MAX - 1);
/// The io_uring ring's eventfd (`crate::uring`), signalled when completions arrive.
const URING_TOKEN: mio::Token = mio::Token(usize::MAX - 2);
const EVENTS_PER_TURN: usize = 1024;
/// A non-blocking turn this soon after the previous OS poll skips the syscall: busy
/// workers take such turns every few dozen polls and on every `yield_now` round, and
/// IO events that wait this long still keep sockets moving.
const MIN_POLL_INTERVAL: Duration = Duration::from_micros(50);

/// What one turn found.
pub(crate) struct Turn {
    /// Anything arrived: an IO event, a signal or an unpark.
    pub(crate) woke: bool,
    /// The signal pipe became readable (the caller dispatches signals).
    pub(crate) signalled: bool,
}

/// Owned by the one thread that turns the driver.
pub(crate) struct Reactor {
    poll: mio::Poll,
    events: mio::Events,
    tick: u8,
    wake: Vec<Waker>,
    last_poll: Instant,
    shared: Arc<Shared>,
}

/// Registers resources and wakes the driver; cloneable, usable from any thread.
#[derive(Clone)]
pub(crate) struct IoHandle {
    shared: Arc<Shared>,
}

struct Shared {
    registry: mio::Registry,
    /// This runtime's duplicate of the signal pipe's read end, once a listener asked.
    signal_pipe: OnceLock<OwnedFd>,
    waker: mio::Waker,
    resources: Mutex<Resources>,
    is_shutdown: AtomicBool,
    events: AtomicU64,
}

struct Resources {
    slab: Slab<Entry>,
    next_generation: u32,
}

struct Entry {
    generation: u32,
    io: Arc<ScheduledIo>,
}

/// Bits of a token that hold the slab index; the rest hold the generation.
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 24 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: u32 = (usize::MAX >> INDEX_BITS) as u32;

fn token(index: usize, generation: u32) -> mio::Token {
    // The three highest indices are never used, so no token equals `WAKER_TOKEN`,
    // `SIGNAL_TOKEN` or `URING_TOKEN`, whatever the generation.
    assert!(
        index < INDEX_MASK - 2,
        "too many IO resources registered at once"
    );
    mio::Token((((generation & GENERATION_MASK) as usize) << INDEX_BITS) | index)
}

fn split(token: mio::Token) -> (usize, u32) {
    (token.0 & INDEX_MASK, (token.0 >> INDEX_BITS) as u32)
}

impl Reactor {
    pub(crate) fn new() -> io::Result<(Reactor, IoHandle)> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let registry = poll.registry().try_clone()?;
        let shared = Arc::new(Shared {
            registry,
            signal_pipe: OnceLock::new(),
            waker,
            resources: Mutex::new(Resources {
                slab: Slab::new(),
                next_generation: 0,
            }),
            is_shutdown: AtomicBool::new(false),
            events: AtomicU64::new(0),
        });
        let driver = Reactor {
            poll,
            events: mio::Events::with_capacity(EVENTS_PER_TURN),
            tick: 0,
            wake: Vec::new(),
            last_poll: Instant::now(),
            shared: shared.clone(),
        };
        Ok((driver, IoHandle { shared }))
    }

    /// Waits for IO events (at most `timeout`; `None` waits until woken) and dispatches them.
    /// Returns whether the signal pipe became readable (the caller dispatches signals).
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) -> bool {
        if timeout == Some(Duration::ZERO) {
            let now = Instant::now();
            if now.duration_since(self.last_poll) < MIN_POLL_INTERVAL {
                return false;
            }
        }
        self.turn_events(timeout).signalled
    }

    /// As [`turn`](Reactor::turn), but always asks the OS (a paused clock's driver must
    /// know whether anything arrived before it jumps the clock), and says whether anything
    /// did: an IO event, a signal or an unpark.
    pub(crate) fn turn_events(&mut self, timeout: Option<Duration>) -> Turn {
        let res = self.poll.poll(&mut self.events, timeout);
        if timeout != Some(Duration::ZERO) {
            // A blocking turn may have waited long: it is fresh as of its return.
            self.last_poll = Instant::now();
        }
        match res {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                // Interrupted by a signal handler: count it as a wake, to be looked at.
                return Turn {
                    woke: true,
                    signalled: false,
                };
            }
            Err(e) => panic!("the IO driver failed to poll the OS for events: {e}"),
        }
        self.tick = self.tick.wrapping_add(1);
        let mut count = 0;
        let mut signalled = false;
        let woke = !self.events.is_empty();
        {
            let resources = self.shared.lock();
            for event in self.events.iter() {
                if event.token() == WAKER_TOKEN || event.token() == URING_TOKEN {
                    // The caller reaps the ring after every turn.
                    continue;
                }
                if event.token() == SIGNAL_TOKEN {
                    signalled = true;
                    continue;
                }
                count += 1;
                let (index, generation) = split(event.token());
                match resources.slab.get(index) {
                    Some(entry) if entry.generation == generation => {
                        entry
                            .io
                            .set_readiness(self.tick, Ready::from_event(event), &mut self.wake);
                    }
                    // A late event for a freed (and maybe reused) slot.
                    _ => {}
                }
            }
        }
        if count > 0 {
            let events = &self.shared.events;
            events.store(events.load(Ordering::Relaxed) + count, Ordering::Relaxed);
        }
        for waker in self.wake.drain(..) {
            crate::util::wake_contained(waker);
        }
        Turn { woke, signalled }
    }

    /// Stops the driver: every registered resource errors out instead of waiting forever.
    pub(crate) fn shutdown(&mut self) {
        self.shared.is_shutdown.store(true, Ordering::SeqCst);
        let all: Vec<Arc<ScheduledIo>> = {
            let mut resources = self.shared.lock();
            resources.slab.drain().map(|entry| entry.io).collect()
        };
        for io in all {
            io.shutdown();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Resources> {
        self.resources.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl IoHandle {
    /// Wakes the thread turning the driver.
    pub(crate) fn unpark(&self) {
        // Failing to write the eventfd means the driver is gone; nothing to wake.
        let _ = self.shared.waker.wake();
    }

    /// Registers `source` for `interest`.
    ///
    /// # Errors
    ///
    /// If the runtime has shut down, or the OS refuses the registration.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<Registration> {
        let (token, io) = {
            let mut resources = self.shared.lock();
            if self.shared.is_shutdown.load(Ordering::SeqCst) {
                return Err(crate::reactor::scheduled_io::shutdown_error());
            }
            let generation = resources.next_generation;
            resources.next_generation = generation.wrapping_add(1) & GENERATION_MASK;
            let io = Arc::new(ScheduledIo::new());
            let index = resources.slab.insert(Entry {
                generation,
                io: io.clone(),
            });
            (token(index, generation), io)
        };
        if let Err(e) = self.shared.registry.register(source, token, interest) {
            self.remove(token);
            return Err(e);
        }
        Ok(Registration::new(token, io))
    }

    /// Deregisters `source` and wakes whoever still waits on it (with an error).
    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        registration: &Registration,
    ) {
        // The fd is about to close anyway; a failure here changes nothing.
        let _ = self.shared.registry.deregister(source);
        self.remove(registration.token());
        registration.io.shutdown();
    }

    fn remove(&self, token: mio::Token) {
        let (index, generation) = split(token);
        let mut resources = self.shared.lock();
        if resources
            .slab
            .get(index)
            .is_some_and(|e| e.generation == generation)
        {
            resources.slab.remove(index);
        }
    }

    /// Watches the process-wide signal pipe (`pipe` is its read end) from this runtime's
    /// driver, once: its turns then report when a signal arrived.
    ///
    /// # Errors
    ///
    /// If the pipe can't be duplicated or registered.
    pub(crate) fn watch_signal_pipe(&self, pipe: BorrowedFd<'_>) -> io::Result<()> {
        if self.shared.signal_pipe.get().is_some() {
            return Ok(());
        }
        let _one_at_a_time = self.shared.lock(); // one registration even if two race here
        if self.shared.signal_pipe.get().is_some() {
            return Ok(());
        }
        if self.shared.is_shutdown.load(Ordering::SeqCst) {
            return Err(crate::reactor::scheduled_io::shutdown_error());
        }
        let fd = pipe.try_clone_to_owned()?;
        self.shared.registry.register(
            &mut mio::unix::SourceFd(&fd.as_raw_fd()),
            SIGNAL_TOKEN,
            mio::Interest::READABLE,
        )?;
        let _ = self.shared.signal_pipe.set(fd);
        Ok(())
    }

    /// Wakes the driver when `fd` (the io_uring ring's eventfd) is signalled.
    ///
    /// # Errors
    ///
    /// If the OS refuses the registration.
    pub(crate) fn watch_ring(&self, fd: std::os::fd::RawFd) -> io::Result<()> {
        self.shared.registry.register(
            &mut mio::unix::SourceFd(&fd),
            URING_TOKEN,
            mio::Interest::READABLE,
        )
    }

    /// IO events dispatched so far.
    pub(crate) fn events(&self) -> u64 {
        self.shared.events.load(Ordering::Relaxed)
    }

    /// Resources registered now.
    pub(crate) fn registered(&self) -> usize {
        self.shared.lock().slab.len()
    }
}
