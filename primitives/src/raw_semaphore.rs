//! The raw semaphore engine under `Semaphore` (and so `BoundedSemaphore`), `RwLock` and
//! `OnceCell`: a count of permits in one atomic word, a FIFO of waiters, and a bounded
//! "barging" window, as in the `Mutex` (`raw_mutex.rs`), for waiters of one permit.
//!
//! # Why barging
//!
//! Handing each permit given back to the front waiter is fair, but under contention it costs a
//! task switch per acquire: the waiter is parked and must be scheduled before the permit is
//! used, and the task that gave it back, if it wants one again (a loop of
//! `acquire`/work/release), must queue and park in turn. So while every queued waiter wants a
//! single permit and none has lost a race yet, a permit given back goes back to the count, and
//! the front waiter is woken to compete for it — behind the running tasks
//! ([`hooks::wake_behind`]), so the task that gave the permit back can take it again in the same
//! poll, and a woken waiter does not run (and lose) before that task's next poll. A waiter
//! that loses goes back to the front and becomes *strict*.
//!
//! # Hand-over mode, and the FIFO promise
//!
//! While any queued waiter is strict — it lost a race, or it asked for more than one permit —
//! the semaphore is strictly FIFO, as it always was: permits given back are assigned to the
//! front waiter (in part, if it needs more than there are, so a waiter for k permits collects
//! them as they come and is never overtaken), it is notified once it has all it asked for, and
//! nobody may take permits without queueing. So a waiter of k > 1 permits is never overtaken,
//! and a waiter of one permit loses at most one race: the queue moves at least once every two
//! permits given back. A waiter dropped before it finishes gives back what it had been
//! assigned, which goes on to the next waiters.
//!
//! # The permit word
//!
//! `permits << SHIFT | HANDOFF | WOKEN | QUEUED | CLOSED`:
//!
//! - `permits`: permits nobody holds or is owed. In hand-over mode it is 0 while anyone
//!   waits (permits given back go to the waiters); in barging mode it is above 0 while anyone
//!   waits only while `WOKEN` is set.
//! - `QUEUED`: the waiter list is not empty. Changed only under the waiter lock.
//! - `WOKEN`: a waiter was woken to compete and has not tried yet; permits given back meanwhile
//!   wake nobody else (one waiter on its way is enough). Whoever clears it makes sure no free
//!   permit is left behind with waiters queued.
//! - `HANDOFF`: some queued waiter is strict. Changed only under the waiter lock, where the
//!   count of strict waiters is the truth. While it is set, `try_acquire` fails and `release`
//!   takes the lock to hand its permits over.
//! - `CLOSED`: set once by `close`, never cleared.
//!
//! Uncontended, acquire and release are each one compare-exchange on this word; in barging
//! mode a release takes the lock only to wake a competitor, and an acquire only to queue.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, MutexGuard};
use crate::waiter_list::{
    lock, poll_wait, HoldsWaiters, Status, WaitPoll, Waiter, WaiterList, WakeList,
};

const CLOSED: usize = 0b0001;
const QUEUED: usize = 0b0010;
const WOKEN: usize = 0b0100;
const HANDOFF: usize = 0b1000;
const SHIFT: usize = 4;

/// The most permits a semaphore can hold (the rest of the word holds its flags, with a bit
/// of headroom so `permits + n` can be checked before it is applied).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> (SHIFT + 1);

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
    /// Served by hand-over only: it asked for more than one permit, or lost a race.
    strict: bool,
    /// Notified with all its permits; otherwise (and not `closed`) woken to compete.
    handed: bool,
    /// Woken by `close`.
    closed: bool,
}

/// What the waiter lock guards.
pub(crate) struct Waiters {
    list: WaiterList<Need>,
    /// How many queued waiters are strict; `HANDOFF` is set exactly while it is above 0.
    strict: usize,
}

impl HoldsWaiters<Need> for Waiters {
    fn waiters(&mut self) -> &mut WaiterList<Need> {
        &mut self.list
    }
}

impl Waiters {
    const fn new() -> Waiters {
        Waiters {
            list: WaiterList::new(),
            strict: 0,
        }
    }
}

/// The engine: see the module doc.
pub(crate) struct RawSemaphore {
    word: AtomicUsize,
    waiters: Mutex<Waiters>,
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
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// A semaphore holding one permit, `const` so a `static` can hold it (`OnceCell::new`).
    #[cfg(not(runtime_loom))]
    pub(crate) const fn one() -> RawSemaphore {
        RawSemaphore {
            word: AtomicUsize::new(1 << SHIFT),
            waiters: Mutex::new(Waiters::new()),
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

    /// Takes `n` permits if they are free and no strict waiter queues, without waiting.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            if word & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if word & HANDOFF != 0 || word >> SHIFT < n {
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

    /// A future that takes `n` permits, waiting for them as the module doc says.
    #[inline]
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            permits: n,
            queued: None,
        }
    }

    /// Gives back `n` permits that came out of this semaphore.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.give(n, |_| ());
    }

    /// Adds `n` new permits.
    ///
    /// # Panics
    ///
    /// If the free permits would exceed [`MAX_PERMITS`]; nothing is added then.
    #[track_caller]
    pub(crate) fn add_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.give(n, |free| {
            if free.checked_add(n).is_none_or(|total| total > MAX_PERMITS) {
                panic!(
                    "adding {n} permits to the {free} free ones would exceed the maximum of \
                     {MAX_PERMITS}; nothing was added"
                );
            }
        });
    }

    /// `release` and `add_permits`: one permit goes back to the count in barging mode (waking
    /// a competitor if nobody is on its way); otherwise, with waiters queued, the lock is
    /// taken to hand the permits over. `check` sees the free count the permits are about to
    /// join and may panic first.
    #[track_caller]
    #[inline]
    fn give(&self, n: usize, check: impl Fn(usize)) {
        let mut word = self.word.load(Ordering::Relaxed);
        while word & HANDOFF == 0 && (n == 1 || word & QUEUED == 0) {
            check(word >> SHIFT);
            let wake = word & (QUEUED | WOKEN) == QUEUED;
            let new = (word + (n << SHIFT)) | if wake { WOKEN } else { 0 };
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) if wake => return self.wake_competitor(lock(&self.waiters)),
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        check(word >> SHIFT);
        self.release_locked(lock(&self.waiters), n);
    }

    /// With `WOKEN` just set by the caller (there are free permits): wakes the front waiter to
    /// compete for them, or clears `WOKEN` when there is nobody to wake.
    fn wake_competitor(&self, mut waiters: MutexGuard<'_, Waiters>) {
        if waiters.strict > 0 {
            // A strict waiter queued since (taking what was free): hand-over mode, where free
            // permits are 0 and nobody competes.
            self.word.fetch_and(!WOKEN, Ordering::Relaxed);
            return;
        }
        let mut wakers = WakeList::new();
        if !self.notify_competitor(&mut waiters, &mut wakers) {
            // Everyone left (and cleared `QUEUED`): the permits are free for anyone.
            self.word.fetch_and(!WOKEN, Ordering::Relaxed);
        }
        drop(waiters);
        wakers.wake_all_behind();
    }

    /// Under the lock, `WOKEN` held for it: notifies the front waiter into `wakers` to
    /// compete, and clears `QUEUED` if that emptied the list (if it loses, it queues and sets
    /// it again). `false` if nobody waits.
    fn notify_competitor(&self, waiters: &mut Waiters, wakers: &mut WakeList) -> bool {
        if !waiters
            .list
            .notify_front(wakers, |need| need.handed = false)
        {
            return false;
        }
        if waiters.list.is_empty() {
            self.word.fetch_and(!QUEUED, Ordering::Relaxed);
        }
        true
    }

    /// Under the lock, gives back `n` permits (0 is fine: the flags are brought up to date
    /// with the list). In hand-over mode, and for more than one permit (so `release(k)` lets
    /// the first k waiters of one permit through at once, as Python's does), they go to the
    /// waiters in FIFO order (in part to the front one if it needs more), the finished ones
    /// woken outside the lock in batches; one permit in barging mode, or what is left when
    /// nobody waits, goes to the count.
    fn release_locked<'a>(&'a self, mut waiters: MutexGuard<'a, Waiters>, mut n: usize) {
        let mut wakers = WakeList::new();
        while waiters.strict > 0 || n > 1 {
            while n > 0 && !wakers.is_full() {
                let done = waiters.list.with_front(|need| {
                    let take = need.needed.min(n);
                    need.needed -= take;
                    n -= take;
                    (need.needed == 0).then_some(need.strict)
                });
                match done {
                    Some(Some(strict)) => {
                        waiters
                            .list
                            .notify_front(&mut wakers, |need| need.handed = true);
                        waiters.strict -= usize::from(strict);
                    }
                    Some(None) | None => break,
                }
            }
            if n == 0 || waiters.list.is_empty() {
                break;
            }
            drop(waiters);
            wakers.wake_all();
            waiters = lock(&self.waiters);
        }
        // Barging mode (from now on, if hand-over just ended): what is left goes to the count.
        let mut behind = WakeList::new();
        if waiters.list.is_empty() || waiters.strict == 0 {
            self.to_count(&mut waiters, n, &mut behind);
        }
        drop(waiters);
        wakers.wake_all();
        behind.wake_all_behind();
    }

    /// Under the lock, with no strict waiter: adds `n` free permits, clears `HANDOFF`, sets
    /// `QUEUED` to match the list, and if free permits and waiters are left with nobody on
    /// the way, notifies the front waiter into `wakers` to compete.
    fn to_count(&self, waiters: &mut Waiters, n: usize, wakers: &mut WakeList) {
        let queued = !waiters.list.is_empty();
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let free = (word >> SHIFT) + n;
            let wake = queued && free > 0 && word & WOKEN == 0;
            let mut new = (word + (n << SHIFT)) & !(HANDOFF | QUEUED);
            if queued {
                new |= QUEUED;
            }
            if wake {
                new |= WOKEN;
            }
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if wake {
                        self.notify_competitor(waiters, wakers);
                    }
                    return;
                }
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
            |waiters| &mut waiters.list,
            usize::MAX,
            |need| need.closed = true,
        );
        // The woken waiters give their partial permits back through `release`, which needs
        // the flags to match the (now empty) list.
        let mut waiters = lock(&self.waiters);
        if waiters.list.is_empty() {
            waiters.strict = 0;
            self.release_locked(waiters, 0);
        }
    }
}

impl fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.load(Ordering::Acquire);
        f.debug_struct("Semaphore")
            .field("available_permits", &(word >> SHIFT))
            .field("queued", &(word & QUEUED != 0))
            .field("handoff", &(word & HANDOFF != 0))
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

    /// Inlined into the caller: the first poll's lock-free try is the common case; queueing
    /// and waiting are out of line in [`Acquire::poll_queued`].
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        if self.queued.is_none() {
            let mut coop = ready!(hooks::poll_proceed(cx));
            match self.sem.try_acquire(self.permits) {
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
        }
        self.poll_queued(cx)
    }
}

impl Acquire<'_> {
    /// The waiting part of [`poll`](Acquire::poll): queues the node on the first call.
    #[inline(never)]
    fn poll_queued(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        // SAFETY: `queued` is written once, from `None`, and never moved out of afterwards
        // (it is dropped in place with the future), so pinning it below is sound.
        let this = unsafe { self.get_unchecked_mut() };
        let queued = this.queued.get_or_insert_with(|| Queued {
            sem: this.sem,
            permits: this.permits,
            node: Waiter::new(Need {
                needed: this.permits,
                strict: this.permits > 1,
                handed: false,
                closed: false,
            }),
        });
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
/// after it was given all of them but before it returned them, it gives all back; dropped
/// after it was woken to compete, it passes the chance on.
struct Queued<'a> {
    sem: &'a RawSemaphore,
    permits: usize,
    node: Waiter<Need>,
}

impl Queued<'_> {
    /// First poll: the lock-free attempt, then queueing under the lock (a waiter of more than
    /// one permit takes what is free and queues strict).
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
        let strict = self.permits > 1;
        let mut waiters = lock(&sem.waiters);
        let mut word = sem.word.load(Ordering::Acquire);
        let taken = loop {
            if word & CLOSED != 0 {
                return Poll::Ready(Err(()));
            }
            let free = word >> SHIFT;
            let (take, new) = if word & HANDOFF == 0 && free >= self.permits {
                (self.permits, word - (self.permits << SHIFT))
            } else {
                // In hand-over mode `free` is 0; in barging mode a waiter of one permit finds
                // 0 here, and a waiter of more takes what there is.
                let take = free.min(self.permits);
                let mode = if strict { HANDOFF } else { 0 };
                (take, (word - (take << SHIFT)) | QUEUED | mode)
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
        waiters.strict += usize::from(strict);
        // SAFETY: the node is pinned; `Drop` removes it under this lock, and it is only ever
        // registered in this list.
        unsafe { waiters.list.register(self.node(), cx.waker()) };
        Poll::Pending
    }

    /// Acts on a consumed notification: the permits, the close, or a chance to compete.
    fn poll_notified(self: Pin<&Self>, cx: &Context<'_>) -> Poll<Result<(), ()>> {
        // SAFETY: the notification was consumed: the node is `Idle` and its data ours.
        let (needed, handed, closed) = unsafe {
            self.node
                .with_data(|need| (need.needed, need.handed, need.closed))
        };
        if closed {
            // The node is `Idle` now, so `Drop` will not give these back a second time.
            self.sem.release(self.permits - needed);
            return Poll::Ready(Err(()));
        }
        if handed {
            return Poll::Ready(Ok(()));
        }
        self.compete(cx)
    }

    /// Woken to compete (a waiter of one permit, holding `WOKEN`): takes a free permit, or
    /// goes back to the front, strict.
    fn compete(self: Pin<&Self>, cx: &Context<'_>) -> Poll<Result<(), ()>> {
        let sem = self.sem;
        let mut waiters = lock(&sem.waiters);
        let mut word = sem.word.load(Ordering::Acquire);
        loop {
            let free = word >> SHIFT;
            let (new, out) = if word & CLOSED != 0 {
                (word & !WOKEN, Some(Err(())))
            } else if word & HANDOFF == 0 && free >= self.permits {
                // Free permits left with waiters queued keep `WOKEN` for the next competitor.
                let pass_on = free > self.permits && word & QUEUED != 0;
                let new = word - (self.permits << SHIFT);
                (if pass_on { new } else { new & !WOKEN }, Some(Ok(())))
            } else {
                (((word & !WOKEN) | QUEUED | HANDOFF), None)
            };
            match sem
                .word
                .compare_exchange_weak(word, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let Some(out) = out else { break };
                    if new & WOKEN != 0 {
                        sem.wake_competitor(waiters);
                    }
                    return Poll::Ready(out);
                }
                Err(actual) => word = actual,
            }
        }
        // SAFETY: the node is `Idle` (its notification consumed): its data is ours.
        unsafe { self.node.with_data(|need| need.strict = true) };
        waiters.strict += 1;
        // SAFETY: as in `poll_first`.
        unsafe { waiters.list.register_front(self.node(), cx.waker()) };
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
    type State = Waiters;
    type Output = Result<(), ()>;

    fn node(self: Pin<&Self>) -> Pin<&Waiter<Need>> {
        // SAFETY: the node is never moved out of the pinned future.
        unsafe { self.map_unchecked(|a| &a.node) }
    }

    fn lock(&self) -> &Mutex<Waiters> {
        &self.sem.waiters
    }

    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.into_ref().poll_first(cx)
    }

    fn notified(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.into_ref().poll_notified(cx)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.node.status() == Status::Idle {
            return;
        }
        let sem = self.sem;
        let mut waiters = lock(&sem.waiters);
        // SAFETY: we own the node, which is in this list or in none.
        let status = unsafe { waiters.list.remove(&self.node) };
        // SAFETY: removed: the node is `Idle` and ours.
        let (needed, strict, handed, closed) = unsafe {
            self.node
                .with_data(|need| (need.needed, need.strict, need.handed, need.closed))
        };
        if status == Status::Notified && !handed && !closed {
            // Woken to compete: pass `WOKEN` on to the next waiter, or clear it.
            let mut word = sem.word.load(Ordering::Relaxed);
            loop {
                let wake = word & QUEUED != 0 && word >> SHIFT > 0;
                if wake {
                    return sem.wake_competitor(waiters);
                }
                match sem.word.compare_exchange_weak(
                    word,
                    word & !WOKEN,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(actual) => word = actual,
                }
            }
        }
        if status == Status::Waiting && strict {
            waiters.strict -= 1;
        }
        // Whatever it had been assigned (all of it, if it was notified) goes to the next
        // waiters; with nothing to give, this still brings the flags up to date.
        sem.release_locked(waiters, self.permits - needed);
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

    /// Runs `f` on a model thread with a handle of `sem`.
    fn on_thread<R: Send + 'static>(
        sem: &Arc<RawSemaphore>,
        f: impl FnOnce(&RawSemaphore) -> R + Send + 'static,
    ) -> thread::JoinHandle<R> {
        let sem = sem.clone();
        thread::spawn(move || f(&sem))
    }

    /// A release racing a waiter that queues: the waiter always gets the permit.
    #[test]
    fn release_vs_acquire_no_lost_wakeup() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(0));
            let releaser = on_thread(&sem, |sem| sem.release(1));
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
            let canceller = on_thread(&sem, |sem| {
                let mut acquire = Box::pin(sem.acquire(1));
                if poll_once(acquire.as_mut()).is_ready() {
                    sem.release(1); // it got the permit before waiting: give it back
                }
            });
            let releaser = on_thread(&sem, |sem| sem.release(1));
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
            let closer = on_thread(&sem, |sem| sem.close());
            let releaser = on_thread(&sem, |sem| sem.release(1));
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
            let releaser = on_thread(&sem, |sem| sem.release(1));
            let small = on_thread(&sem, |sem| sem.try_acquire(1));
            assert_eq!(small.join().unwrap(), Err(TryAcquireError::NoPermits));
            releaser.join().unwrap();
            block_on_thread(big).unwrap();
            assert_eq!(sem.available_permits(), 0);
        });
    }

    /// A waiter woken to compete races a newcomer for the permit given back: one of them
    /// gets it; the loser (if the waiter) is served by the next release; every permit is back
    /// in the end.
    #[test]
    fn competitor_vs_barger() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(1));
            assert_eq!(sem.try_acquire(1), Ok(()));
            let waiter = on_thread(&sem, |sem| {
                block_on_thread(sem.acquire(1)).unwrap();
                sem.release(1);
            });
            let barger = on_thread(&sem, |sem| {
                if sem.try_acquire(1).is_ok() {
                    sem.release(1);
                }
            });
            sem.release(1);
            waiter.join().unwrap();
            barger.join().unwrap();
            assert_eq!(sem.available_permits(), 1);
        });
    }

    /// Two waiters of one permit; the first is dropped racing the release that wakes it to
    /// compete: the chance passes to the second, which gets the permit.
    #[test]
    fn dropped_competitor_passes_the_wake_on() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(0));
            let mut first = Box::pin(sem.acquire(1));
            assert!(poll_once(first.as_mut()).is_pending());
            let second = on_thread(&sem, |sem| {
                block_on_thread(sem.acquire(1)).unwrap();
            });
            let releaser = on_thread(&sem, |sem| sem.release(1));
            drop(first);
            second.join().unwrap();
            releaser.join().unwrap();
            assert_eq!(
                sem.available_permits(),
                0,
                "the second holds it (forgotten)"
            );
        });
    }

    /// Two permits given back one at a time while two waiters of one permit queue: both are
    /// served (the woken one that finds a second permit free wakes the next).
    #[test]
    fn two_single_releases_serve_two_waiters() {
        ::loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(0));
            let waiters: Vec<_> = (0..2)
                .map(|_| on_thread(&sem, |sem| block_on_thread(sem.acquire(1)).unwrap()))
                .collect();
            sem.release(1);
            sem.release(1);
            for waiter in waiters {
                waiter.join().unwrap();
            }
            assert_eq!(sem.available_permits(), 0);
        });
    }
}
