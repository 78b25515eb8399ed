//! The raw semaphore engine under `Semaphore` (and so `BoundedSemaphore`) and `RwLock`: a
//! count of permits in one atomic word, and a FIFO of waiters for the rest. (`Mutex` has its
//! own engine, `raw_mutex.rs`.)
//!
//! # The permit word
//!
//! `permits << SHIFT | QUEUED | CLOSED`:
//!
//! - `permits`: permits nobody holds or is owed. While anyone waits it is 0: a waiter takes
//!   whatever is there when it queues, and permits given back go to the waiters first.
//! - `QUEUED`: the waiter list is not empty. Set and cleared only under the waiter lock, so
//!   under the lock the bit and the list agree (a `close` in progress aside). While it is set,
//!   the lock-free fast paths step aside: `try_acquire` fails (a later, smaller request must
//!   not overtake a queued one) and `release` takes the lock to hand its permits over.
//! - `CLOSED`: set once by `close`, never cleared.
//!
//! Uncontended, acquire and release are each one compare-exchange on this word; the lock is
//! taken only when someone waits.
//!
//! # Waiters
//!
//! Each pending [`Acquire`] owns a [`Waiter`] whose data is the number of permits it still
//! needs. Permits given back are assigned to the front waiter, in part if it needs more than
//! there are (so a waiter for k permits is never overtaken, and collects them as they come);
//! it is notified once it has all it asked for. A waiter dropped before it finishes gives back
//! what it had been assigned, which goes on to the next waiters.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, MutexGuard};
use crate::waiter_list::{lock, poll_wait, Status, WaitPoll, Waiter, WaiterList, WakeList};

const CLOSED: usize = 0b01;
const QUEUED: usize = 0b10;
const SHIFT: usize = 2;

/// The most permits a semaphore can hold (the rest of the word holds its flags, with a bit
/// of headroom so `permits + n` can be checked before it is applied).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// Why an acquire that never waits failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    Closed,
    NoPermits,
}

/// What a waiting acquire is owed.
#[derive(Debug)]
pub(crate) struct Need {
    /// Permits still missing.
    needed: usize,
    /// Woken by `close` rather than by its last permit.
    closed: bool,
}

/// The engine: see the module doc.
pub(crate) struct RawSemaphore {
    word: AtomicUsize,
    waiters: Mutex<WaiterList<Need>>,
}

impl RawSemaphore {
    /// A semaphore holding `permits` (at most [`MAX_PERMITS`]; callers check first, with a
    /// message about their own type).
    pub(crate) fn new(permits: usize) -> RawSemaphore {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore holds at most {MAX_PERMITS} permits"
        );
        RawSemaphore {
            word: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// A semaphore holding one permit, `const` so a `static` can hold it (`OnceCell::new`).
    #[cfg(not(runtime_loom))]
    pub(crate) const fn one() -> RawSemaphore {
        RawSemaphore {
            word: AtomicUsize::new(1 << SHIFT),
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// A semaphore holding one permit (loom's types have no `const` constructors).
    #[cfg(runtime_loom)]
    pub(crate) fn one() -> RawSemaphore {
        RawSemaphore::new(1)
    }

    /// Permits free right now.
    pub(crate) fn available_permits(&self) -> usize {
        self.word.load(Ordering::Acquire) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.word.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `n` permits if they are free and nobody queues for permits, without waiting.
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            if word & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if word & QUEUED != 0 || word >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.word.compare_exchange_weak(
                word,
                word - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// A future that takes `n` permits, waiting in FIFO order for them.
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            permits: n,
            queued: None,
        }
    }

    /// Gives back `n` permits that came out of this semaphore.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut word = self.word.load(Ordering::Relaxed);
        while word & QUEUED == 0 {
            match self.word.compare_exchange_weak(
                word,
                word + (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        self.release_locked(lock(&self.waiters), n);
    }

    /// Adds `n` new permits.
    ///
    /// # Panics
    ///
    /// If the free permits would exceed [`MAX_PERMITS`]; nothing is added then.
    #[track_caller]
    pub(crate) fn add_permits(&self, n: usize) {
        let check = |free: usize| {
            if free.checked_add(n).is_none_or(|total| total > MAX_PERMITS) {
                panic!(
                    "adding {n} permits to the {free} free ones would exceed the maximum of \
                     {MAX_PERMITS}; nothing was added"
                );
            }
        };
        if n == 0 {
            return;
        }
        let mut word = self.word.load(Ordering::Relaxed);
        while word & QUEUED == 0 {
            check(word >> SHIFT);
            match self.word.compare_exchange_weak(
                word,
                word + (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        // Queued: the free count is 0 and the waiters take their share first.
        check(0);
        self.release_locked(lock(&self.waiters), n);
    }

    /// Hands `n` permits to the waiters in FIFO order (in part to the front one if it needs
    /// more), waking the finished ones outside the lock in batches; whatever is left when
    /// nobody waits goes back to the word, and `QUEUED` is cleared with it.
    fn release_locked<'a>(&'a self, mut waiters: MutexGuard<'a, WaiterList<Need>>, mut n: usize) {
        let mut wakers = WakeList::new();
        loop {
            while n > 0 && !wakers.is_full() {
                let done = waiters.with_front(|need| {
                    let take = need.needed.min(n);
                    need.needed -= take;
                    n -= take;
                    need.needed == 0
                });
                match done {
                    Some(true) => {
                        waiters.notify_front(&mut wakers, |_| ());
                    }
                    Some(false) | None => break,
                }
            }
            if waiters.is_empty() {
                self.unqueue(n);
                n = 0;
            }
            drop(waiters);
            wakers.wake_all();
            if n == 0 {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }

    /// With the lock held and the list empty: adds `n` free permits and clears `QUEUED`.
    fn unqueue(&self, n: usize) {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let new = (word + (n << SHIFT)) & !QUEUED;
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Closes the semaphore: every acquire from now on fails, and every waiter wakes with an
    /// error (giving back what it had been assigned). Permits held stay valid.
    pub(crate) fn close(&self) {
        if self.word.fetch_or(CLOSED, Ordering::AcqRel) & CLOSED != 0 {
            return;
        }
        let waiters = lock(&self.waiters);
        crate::waiter_list::notify_batched(
            &self.waiters,
            waiters,
            |list| list,
            usize::MAX,
            |need| need.closed = true,
        );
        // The woken waiters give their partial permits back through `release`, which needs
        // `QUEUED` to match the (now empty) list.
        let waiters = lock(&self.waiters);
        if waiters.is_empty() {
            self.unqueue(0);
        }
    }
}

impl fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.load(Ordering::Acquire);
        f.debug_struct("Semaphore")
            .field("available_permits", &(word >> SHIFT))
            .field("queued", &(word & QUEUED != 0))
            .field("closed", &(word & CLOSED != 0))
            .finish()
    }
}

// ===== impl Acquire =====

/// Waits for `permits` permits; resolves to `Err(())` if the semaphore is closed first.
///
/// The waiter node is only made when the first poll finds too few permits, so the
/// uncontended case costs one compare-exchange and nothing else.
pub(crate) struct Acquire<'a> {
    sem: &'a RawSemaphore,
    permits: usize,
    /// Set (in place, once) when the first poll had to wait; pinned from then on.
    queued: Option<Queued<'a>>,
}

impl Future for Acquire<'_> {
    type Output = Result<(), ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        // SAFETY: `queued` is written once, from `None`, and never moved out of afterwards
        // (it is dropped in place with the future), so pinning it below is sound.
        let this = unsafe { self.get_unchecked_mut() };
        if this.queued.is_none() {
            let mut coop = ready!(hooks::poll_proceed(cx));
            match this.sem.try_acquire(this.permits) {
                Ok(()) => {
                    coop.made_progress();
                    return Poll::Ready(Ok(()));
                }
                Err(TryAcquireError::Closed) => {
                    coop.made_progress();
                    return Poll::Ready(Err(()));
                }
                Err(TryAcquireError::NoPermits) => {}
            }
            drop(coop); // the unit goes back: `Queued::poll` spends its own
            this.queued = Some(Queued {
                sem: this.sem,
                permits: this.permits,
                node: Waiter::new(Need {
                    needed: this.permits,
                    closed: false,
                }),
            });
        }
        let queued = this.queued.as_mut().expect("set just above");
        // SAFETY: see above.
        unsafe { Pin::new_unchecked(queued) }.poll(cx)
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.permits)
            .field("queued", &self.queued)
            .finish()
    }
}

/// An [`Acquire`] that had to wait: it owns the waiter node.
///
/// Cancel-safe: dropped while queued, it gives back the permits it had been assigned; dropped
/// after it was given all of them but before it returned them, it gives all back.
struct Queued<'a> {
    sem: &'a RawSemaphore,
    permits: usize,
    node: Waiter<Need>,
}

impl Queued<'_> {
    /// Called with a consumed notification (the node is `Idle` again and ours).
    fn finish(&self) -> Result<(), ()> {
        // SAFETY: the node is `Idle`: its data is ours without the lock.
        let (needed, closed) = unsafe { self.node.with_data(|need| (need.needed, need.closed)) };
        if closed {
            // The node is `Idle` now, so `Drop` will not give these back a second time.
            self.sem.release(self.permits - needed);
            return Err(());
        }
        Ok(())
    }

    /// First poll: the lock-free attempt, then queueing under the lock.
    fn poll_first(self: Pin<&Self>, cx: &Context<'_>) -> Poll<Result<(), ()>> {
        let sem = self.sem;
        if self.permits == 0 {
            return Poll::Ready(if sem.is_closed() { Err(()) } else { Ok(()) });
        }
        match sem.try_acquire(self.permits) {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(TryAcquireError::Closed) => return Poll::Ready(Err(())),
            Err(TryAcquireError::NoPermits) => {}
        }
        let mut waiters = lock(&sem.waiters);
        let mut word = sem.word.load(Ordering::Acquire);
        let taken = loop {
            if word & CLOSED != 0 {
                return Poll::Ready(Err(()));
            }
            let free = word >> SHIFT;
            // Under the lock the list is the truth (the bit may lag during a `close`).
            let queued = !waiters.is_empty();
            let (take, new) = if !queued && free >= self.permits {
                (self.permits, word - (self.permits << SHIFT))
            } else {
                let take = free.min(self.permits);
                (take, (word - (take << SHIFT)) | QUEUED)
            };
            match sem
                .word
                .compare_exchange(word, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break take,
                Err(actual) => word = actual,
            }
        };
        if taken == self.permits {
            return Poll::Ready(Ok(()));
        }
        // SAFETY: the node is `Idle` (first poll): its data is ours.
        unsafe {
            self.node
                .with_data(|need| need.needed = self.permits - taken)
        };
        // SAFETY: the node is pinned; `Drop` removes it under this lock, and it is only ever
        // registered in this list.
        unsafe { waiters.register(self.node(), cx.waker()) };
        Poll::Pending
    }
}

impl Future for Queued<'_> {
    type Output = Result<(), ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        poll_wait(self, cx)
    }
}

// SAFETY: `node` is a structurally pinned field, registered only in `sem.waiters`, and
// `Drop` removes it under that lock.
unsafe impl WaitPoll for Queued<'_> {
    type Data = Need;
    type State = WaiterList<Need>;
    type Output = Result<(), ()>;

    fn node(self: Pin<&Self>) -> Pin<&Waiter<Need>> {
        // SAFETY: the node is never moved out of the pinned future.
        unsafe { self.map_unchecked(|a| &a.node) }
    }

    fn lock(&self) -> &Mutex<WaiterList<Need>> {
        &self.sem.waiters
    }

    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.into_ref().poll_first(cx)
    }

    fn notified(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(self.finish())
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.node.status() == Status::Idle {
            return;
        }
        let mut waiters = lock(&self.sem.waiters);
        // SAFETY: we own the node, which is in this list or in none.
        unsafe { waiters.remove(&self.node) };
        // SAFETY: removed: the node is `Idle` and ours.
        let needed = unsafe { self.node.with_data(|need| need.needed) };
        // Whatever it had been assigned (all of it, if it was notified) goes to the next
        // waiters; with nothing to give, this still clears `QUEUED` if the list emptied.
        self.sem.release_locked(waiters, self.permits - needed);
    }
}

impl fmt::Debug for Queued<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued")
            .field("permits", &self.permits)
            .field("node", &self.node)
            .finish()
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};
    use crate::thread_waker::block_on_thread;
    use core::task::Waker;

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// A release racing a waiter that queues: the waiter always gets the permit.
    #[test]
    fn release_vs_acquire_no_lost_wakeup() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(0));
            let releaser = {
                let sem = sem.clone();
                thread::spawn(move || sem.release(1))
            };
            block_on_thread(sem.acquire(1)).unwrap();
            releaser.join().unwrap();
            assert_eq!(sem.available_permits(), 0);
        });
    }

    /// A waiter that queues and is dropped, racing a release: whatever it had been given goes
    /// to the other waiter, and in the end every permit is back.
    #[test]
    fn cancelled_waiter_hands_its_permits_on() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(0));
            let canceller = {
                let sem = sem.clone();
                thread::spawn(move || {
                    let mut acquire = Box::pin(sem.acquire(1));
                    if poll_once(acquire.as_mut()).is_ready() {
                        sem.release(1); // it got the permit before waiting: give it back
                    }
                })
            };
            let releaser = {
                let sem = sem.clone();
                thread::spawn(move || sem.release(1))
            };
            block_on_thread(sem.acquire(1)).unwrap();
            sem.release(1);
            canceller.join().unwrap();
            releaser.join().unwrap();
            assert_eq!(sem.available_permits(), 1);
        });
    }

    /// `close` racing a waiter and a release: the waiter ends (with the permit or the error),
    /// and the permit count is exact afterwards.
    #[test]
    fn close_vs_waiter_and_release() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(0));
            let closer = {
                let sem = sem.clone();
                thread::spawn(move || sem.close())
            };
            let releaser = {
                let sem = sem.clone();
                thread::spawn(move || sem.release(1))
            };
            let got = block_on_thread(sem.acquire(1));
            if got.is_ok() {
                sem.release(1);
            }
            closer.join().unwrap();
            releaser.join().unwrap();
            assert!(sem.is_closed());
            assert_eq!(sem.available_permits(), 1);
        });
    }

    /// A queued waiter for 2 permits holds the one it found; the permit given back goes to it,
    /// never to a later `try_acquire(1)`.
    #[test]
    fn acquire_many_is_not_overtaken() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(1));
            let mut big = Box::pin(sem.acquire(2));
            assert!(poll_once(big.as_mut()).is_pending());
            let releaser = {
                let sem = sem.clone();
                thread::spawn(move || sem.release(1))
            };
            let small = {
                let sem = sem.clone();
                thread::spawn(move || sem.try_acquire(1))
            };
            assert_eq!(small.join().unwrap(), Err(TryAcquireError::NoPermits));
            releaser.join().unwrap();
            block_on_thread(big).unwrap();
            assert_eq!(sem.available_permits(), 0);
        });
    }
}
