//! The lock under `Mutex`: one atomic word, a FIFO of waiters, and a bounded "barging"
//! window that keeps the lock with a running task instead of paying a task switch per
//! critical section, without letting any waiter starve.
//!
//! # Why not hand the lock over on every unlock
//!
//! A strictly fair lock gives the lock to the first waiter at each unlock. The waiter is a
//! parked task: it has to be scheduled before the lock can be used again, and the task that
//! just unlocked, if it wants the lock back, has to queue and park. Under contention that is
//! a task switch per critical section. OS mutexes (and Go's) let the running thread take the
//! lock back ("barging"), and wake one waiter to compete; they switch to strict hand-over only
//! for a waiter that loses that competition, so nobody waits forever. This lock does the same.
//!
//! # The lock word
//!
//! - `LOCKED`: someone holds the lock.
//! - `QUEUED`: the waiter list is not empty. Changed only under the waiter lock.
//! - `WOKEN`: a waiter was woken to compete and has not tried yet; unlocks wake nobody else
//!   meanwhile (one waiter running towards the lock is enough).
//! - `HANDOFF`: a woken waiter lost the race. Unlocks now hand the lock straight to the front
//!   waiter (`LOCKED` stays set throughout), and nobody may barge. It ends when the lock is
//!   handed to a waiter that never lost, or when nobody waits (`HANDOFF` implies `QUEUED`).
//!
//! Uncontended, `lock` and `unlock` are one compare-exchange each.
//!
//! # No starvation
//!
//! The front waiter is woken at the first unlock after it reached the front (or after the
//! previous woken waiter tried). Woken, it either takes the lock or goes back to the front in
//! hand-over mode, where the next unlock gives it the lock. Every waiter therefore loses at most
//! one race, and the queue moves forward at least once every two unlocks.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use crate::diag::{Kind, Resource};
use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, MutexGuard};
use crate::waiter_list::{lock, poll_wait, Status, WaitPoll, Waiter, WaiterList, WakeList};

const LOCKED: usize = 0b0001;
const QUEUED: usize = 0b0010;
const WOKEN: usize = 0b0100;
const HANDOFF: usize = 0b1000;

/// How many times a would-be holder re-reads a held lock before it queues. A few re-reads
/// catch a short critical section ending on another worker; on 2 cores, longer spins
/// (32 and up) measured slower than queueing (`benches/sync.rs`, mutex_contended).
#[cfg(not(runtime_loom))]
const SPIN_LIMIT: u32 = 4;
#[cfg(runtime_loom)]
const SPIN_LIMIT: u32 = 1;

/// What a woken waiter was given.
#[derive(Debug, Default)]
pub(crate) struct Grant {
    /// The lock itself (hand-over), rather than a chance to compete for it.
    owner: bool,
    /// This waiter already lost a race: handing it the lock does not end hand-over mode.
    lost: bool,
}

/// The lock engine: see the module doc.
///
/// `repr(C)` with the detector's view first: the lock word and the waiter list stay next to
/// each other and to the data of the `Mutex` that follows, which contended lockers touch
/// together, while the view is read only with deadlock tracking on.
#[repr(C)]
pub(crate) struct RawMutex {
    /// The deadlock detector's view: where the mutex was created and who holds it.
    pub(crate) diag: Resource,
    word: AtomicUsize,
    waiters: Mutex<WaiterList<Grant>>,
}

impl RawMutex {
    pub(crate) fn new(created: &'static core::panic::Location<'static>) -> RawMutex {
        RawMutex {
            word: AtomicUsize::new(0),
            waiters: Mutex::new(WaiterList::new()),
            diag: Resource::new(Kind::Mutex, created),
        }
    }

    /// Clears the holder the deadlock detector knows of, then unlocks: what a guard's drop
    /// does.
    #[inline]
    pub(crate) fn release(&self) {
        self.diag.releasing();
        self.unlock();
    }

    /// Whether the lock is held right now (a snapshot).
    pub(crate) fn is_locked(&self) -> bool {
        self.word.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Takes the lock if it is free and not being handed over, without waiting.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let word = self.word.load(Ordering::Relaxed);
        word & (LOCKED | HANDOFF) == 0
            && self
                .word
                .compare_exchange(word, word | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// A future that takes the lock.
    pub(crate) fn lock(&self) -> Lock<'_> {
        Lock {
            mutex: self,
            queued: None,
        }
    }

    /// Releases the lock (the caller holds it).
    #[inline]
    pub(crate) fn unlock(&self) {
        if self
            .word
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.unlock_slow();
    }

    #[cold]
    fn unlock_slow(&self) {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if word & HANDOFF != 0 {
                return self.hand_over(lock(&self.waiters));
            }
            // Barging mode: free the lock; wake the front waiter to compete unless one is
            // already on its way (or nobody waits).
            let wake = word & (QUEUED | WOKEN) == QUEUED;
            let new = (word & !LOCKED) | if wake { WOKEN } else { 0 };
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) if wake => return self.wake_front(lock(&self.waiters)),
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// With `WOKEN` just set by the caller: wakes the front waiter to compete, or clears
    /// `WOKEN` if the list emptied meanwhile.
    fn wake_front(&self, mut waiters: MutexGuard<'_, WaiterList<Grant>>) {
        let mut wakers = WakeList::new();
        if !waiters.notify_front(&mut wakers, |grant| grant.owner = false) {
            self.word.fetch_and(!WOKEN, Ordering::Relaxed);
        } else if waiters.is_empty() {
            // The woken waiter is out of the list; if it loses, it queues (and sets it) again.
            self.word.fetch_and(!QUEUED, Ordering::Relaxed);
        }
        drop(waiters);
        wakers.wake_all();
    }

    /// Hand-over mode, lock held, caller holds the lock: gives it to the front waiter.
    fn hand_over(&self, mut waiters: MutexGuard<'_, WaiterList<Grant>>) {
        let lost = waiters.with_front(|grant| grant.lost);
        let Some(lost) = lost else {
            // Everyone left: hand-over ends with the lock free.
            self.word
                .fetch_and(!(LOCKED | QUEUED | HANDOFF), Ordering::Release);
            return;
        };
        let mut wakers = WakeList::new();
        waiters.notify_front(&mut wakers, |grant| grant.owner = true);
        let mut clear = if lost { 0 } else { HANDOFF };
        if waiters.is_empty() {
            clear |= QUEUED | HANDOFF;
        }
        if clear != 0 {
            self.word.fetch_and(!clear, Ordering::Release);
        }
        drop(waiters);
        wakers.wake_all();
    }
}

impl fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.load(Ordering::Relaxed);
        f.debug_struct("RawMutex")
            .field("locked", &(word & LOCKED != 0))
            .field("queued", &(word & QUEUED != 0))
            .field("handoff", &(word & HANDOFF != 0))
            .finish()
    }
}

// ===== impl Lock =====

/// Waits for the lock; resolves once the caller holds it (it must then call `unlock`).
///
/// The waiter node is only made when the first poll finds the lock taken, so the uncontended
/// case costs one compare-exchange and nothing else.
pub(crate) struct Lock<'a> {
    mutex: &'a RawMutex,
    /// Set (in place, once) when the lock was not free at the first poll; pinned from then on.
    queued: Option<Queued<'a>>,
}

impl Future for Lock<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `queued` is written once, from `None`, and never moved out of afterwards
        // (it is dropped in place with the future), so pinning it below is sound.
        let this = unsafe { self.get_unchecked_mut() };
        if this.queued.is_none() {
            let mut coop = ready!(hooks::poll_proceed(cx));
            if this.mutex.try_lock() {
                coop.made_progress();
                return Poll::Ready(());
            }
            drop(coop); // the unit goes back: `Queued::poll` spends its own
            this.queued = Some(Queued {
                mutex: this.mutex,
                node: Waiter::new(Grant::default()),
            });
        }
        let queued = this.queued.as_mut().expect("set just above");
        // SAFETY: see above.
        unsafe { Pin::new_unchecked(queued) }.poll(cx)
    }
}

impl fmt::Debug for Lock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("queued", &self.queued)
            .finish()
    }
}

/// A [`Lock`] that had to wait: it owns the waiter node.
///
/// Cancel-safe: dropped while queued it leaves the queue; dropped after it was handed the lock
/// it unlocks; dropped after it was woken to compete it wakes the next waiter instead.
struct Queued<'a> {
    mutex: &'a RawMutex,
    node: Waiter<Grant>,
}

impl Queued<'_> {
    /// Takes the lock if free, or queues (at the back, or at the front in hand-over mode for a
    /// waiter that just lost a race). `woken`: the caller consumed a "compete" notification,
    /// so `WOKEN` is its to clear.
    #[inline(never)]
    fn lock_or_queue(self: Pin<&Self>, cx: &Context<'_>, woken: bool) -> Poll<()> {
        let clear = if woken { WOKEN } else { 0 };
        let word_cell = &self.mutex.word;
        // Lock-free attempts first, spinning a little while the lock is held: a critical
        // section running on another thread is usually over sooner than a park and a wake.
        let mut word = word_cell.load(Ordering::Relaxed);
        let mut spins = 0;
        loop {
            if word & (LOCKED | HANDOFF) == 0 {
                match word_cell.compare_exchange_weak(
                    word,
                    (word & !clear) | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Poll::Ready(()),
                    Err(actual) => word = actual,
                }
            } else if word & HANDOFF != 0 || spins == SPIN_LIMIT {
                break;
            } else {
                spins += 1;
                crate::loom::spin_loop();
                word = word_cell.load(Ordering::Relaxed);
            }
        }
        let mut waiters = lock(&self.mutex.waiters);
        let mut word = word_cell.load(Ordering::Relaxed);
        loop {
            let (new, acquired) = if word & (LOCKED | HANDOFF) == 0 {
                ((word & !clear) | LOCKED, true)
            } else if woken {
                ((word & !WOKEN) | QUEUED | HANDOFF, false)
            } else {
                (word | QUEUED, false)
            };
            match word_cell.compare_exchange_weak(word, new, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) if acquired => return Poll::Ready(()),
                Ok(_) => break,
                Err(actual) => word = actual,
            }
        }
        let node = self.node();
        // SAFETY: the node is pinned, `Idle` (first poll, or its notification consumed),
        // registered only in this list, and `Drop` removes it under this lock.
        unsafe {
            if woken {
                self.node.with_data(|grant| grant.lost = true);
                waiters.register_front(node, cx.waker());
            } else {
                waiters.register(node, cx.waker());
            }
        }
        Poll::Pending
    }

    /// Acts on a consumed notification: the lock itself, or a chance to compete for it.
    fn acquire_notified(self: Pin<&Self>, cx: &Context<'_>) -> Poll<()> {
        // SAFETY: the notification was consumed: the node is `Idle` and ours.
        let owner = unsafe { self.node.with_data(|grant| grant.owner) };
        if owner {
            Poll::Ready(())
        } else {
            self.lock_or_queue(cx, true)
        }
    }
}

impl Future for Queued<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_wait(self, cx)
    }
}

// SAFETY: `node` is a structurally pinned field, registered only in `mutex.waiters`, and
// `Drop` removes it under that lock.
unsafe impl WaitPoll for Queued<'_> {
    type Data = Grant;
    type State = WaiterList<Grant>;
    type Output = ();

    fn node(self: Pin<&Self>) -> Pin<&Waiter<Grant>> {
        // SAFETY: the node is a field of a pinned future that never moves out of it.
        unsafe { self.map_unchecked(|l| &l.node) }
    }

    fn lock(&self) -> &Mutex<WaiterList<Grant>> {
        &self.mutex.waiters
    }

    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.into_ref().lock_or_queue(cx, false)
    }

    fn notified(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.into_ref().acquire_notified(cx)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.node.status() == Status::Idle {
            return;
        }
        let mutex = self.mutex;
        let mut waiters = lock(&mutex.waiters);
        // SAFETY: we own the node, which is in this list or in none.
        match unsafe { waiters.remove(&self.node) } {
            Status::Waiting => {
                if waiters.is_empty() {
                    mutex.word.fetch_and(!(QUEUED | HANDOFF), Ordering::Relaxed);
                }
            }
            Status::Notified => {
                // SAFETY: removed: `Idle` and ours.
                if unsafe { self.node.with_data(|grant| grant.owner) } {
                    // Handed the lock but never used it: pass it on.
                    drop(waiters);
                    mutex.unlock();
                } else {
                    // Woken to compete: let the next waiter compete instead.
                    let mut word = mutex.word.load(Ordering::Relaxed);
                    loop {
                        let wake = word & (LOCKED | QUEUED) == QUEUED;
                        let new = if wake { word } else { word & !WOKEN };
                        if new == word
                            || mutex
                                .word
                                .compare_exchange_weak(
                                    word,
                                    new,
                                    Ordering::Relaxed,
                                    Ordering::Relaxed,
                                )
                                .is_ok()
                        {
                            if wake {
                                mutex.wake_front(waiters);
                            }
                            return;
                        }
                        word = mutex.word.load(Ordering::Relaxed);
                    }
                }
            }
            Status::Idle => {}
        }
    }
}

impl fmt::Debug for Queued<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued").field("node", &self.node).finish()
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc, UnsafeCell};
    use crate::thread_waker::block_on_thread;
    use core::task::Waker;

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    struct Counter {
        mutex: RawMutex,
        // Touched only under `mutex`: loom reports any access the lock fails to order.
        value: UnsafeCell<u32>,
    }

    // SAFETY: `value` is only reached under `mutex`.
    unsafe impl Sync for Counter {}

    impl Counter {
        fn incr_locked(&self) {
            // SAFETY: the caller holds the lock.
            self.value.with_mut(|v| unsafe { *v += 1 });
        }
    }

    /// Two threads and the main one increment under the lock: mutual exclusion, and no
    /// lost wake-up (a waiter that never wakes is a loom deadlock).
    #[test]
    fn mutual_exclusion_and_wakeups() {
        ::loom::model(|| {
            let c = Arc::new(Counter {
                mutex: RawMutex::new(core::panic::Location::caller()),
                value: UnsafeCell::new(0),
            });
            let other = {
                let c = c.clone();
                thread::spawn(move || {
                    block_on_thread(c.mutex.lock());
                    c.incr_locked();
                    c.mutex.unlock();
                })
            };
            block_on_thread(c.mutex.lock());
            c.incr_locked();
            c.mutex.unlock();
            other.join().unwrap();
            assert!(c.mutex.try_lock());
            // SAFETY: locked just above.
            assert_eq!(c.value.with(|v| unsafe { *v }), 2);
            c.mutex.unlock();
        });
    }

    /// A queued waiter that is dropped (perhaps just after it was woken or handed the lock)
    /// while the holder unlocks: the other waiter still gets the lock.
    #[test]
    fn cancelled_waiter_passes_the_lock_on() {
        ::loom::model(|| {
            let mutex = Arc::new(RawMutex::new(core::panic::Location::caller()));
            assert!(mutex.try_lock());
            let canceller = {
                let mutex = mutex.clone();
                thread::spawn(move || {
                    let mut lock = Box::pin(mutex.lock());
                    if poll_once(lock.as_mut()).is_ready() {
                        mutex.unlock();
                    }
                })
            };
            let waiter = {
                let mutex = mutex.clone();
                thread::spawn(move || {
                    block_on_thread(mutex.lock());
                    mutex.unlock();
                })
            };
            mutex.unlock();
            canceller.join().unwrap();
            waiter.join().unwrap();
            assert!(mutex.try_lock(), "the lock ends free");
        });
    }

    /// A woken waiter that loses the race to a barging locker goes back to the front and is
    /// then handed the lock: it never waits forever.
    #[test]
    fn woken_waiter_that_loses_is_handed_the_lock() {
        ::loom::model(|| {
            let mutex = Arc::new(RawMutex::new(core::panic::Location::caller()));
            assert!(mutex.try_lock());
            let waiter = {
                let mutex = mutex.clone();
                thread::spawn(move || {
                    block_on_thread(mutex.lock());
                    mutex.unlock();
                })
            };
            let barger = {
                let mutex = mutex.clone();
                thread::spawn(move || {
                    for _ in 0..2 {
                        block_on_thread(mutex.lock());
                        mutex.unlock();
                    }
                })
            };
            mutex.unlock();
            waiter.join().unwrap();
            barger.join().unwrap();
            assert!(mutex.try_lock(), "the lock ends free");
        });
    }
}
