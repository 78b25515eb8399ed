//! A cyclic barrier with Python's abort/reset: `threading.Barrier`, for tasks and threads.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::hooks;
use crate::loom::Mutex;
use crate::thread_waker::block_on_thread;
use crate::waiter_list::{
    lock, notify_batched, poll_wait, HoldsWaiters, Status, WaitPoll, Waiter, WaiterList,
};

/// Lets `parties` tasks or threads wait until all of them have arrived, then releases them
/// together; then it is ready for the next round (cyclic). Python's `threading.Barrier`.
///
/// Each released waiter gets a [`BarrierWaitResult`]: its [`index`](BarrierWaitResult::index)
/// (`0..parties`, in order of arrival, each once per round) and whether it is the
/// [leader](BarrierWaitResult::is_leader): the last to arrive, which runs the
/// [action](Barrier::with_action) before the others are released.
///
/// [`abort`](Barrier::abort) breaks the barrier: current and future waits fail with
/// [`BrokenBarrier`] until [`reset`](Barrier::reset), which also fails the waits in progress
/// and makes the barrier usable again (Python's semantics).
///
/// A waiting future that is dropped (a timeout, a `select!`) withdraws its arrival, as in
/// asyncio: a round is released only when `parties` waiters are present at once. (Python's
/// `threading.Barrier` instead breaks the barrier when a wait times out; do that by hand with
/// `abort` if you want it.)
///
/// ```
/// use runtime_primitives::Barrier;
/// use std::sync::Arc;
///
/// let barrier = Arc::new(Barrier::new(3));
/// let workers: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = barrier.clone();
///         std::thread::spawn(move || barrier.wait_blocking().unwrap())
///     })
///     .collect();
/// let mut results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
/// results.sort_by_key(|r| r.index());
/// assert_eq!(results.iter().map(|r| r.index()).collect::<Vec<_>>(), [0, 1, 2]);
/// assert_eq!(results.iter().filter(|r| r.is_leader()).count(), 1);
/// assert!(results[2].is_leader(), "the last to arrive leads");
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
}

/// The action run by each round's leader.
type Action = Box<dyn FnMut() + Send>;

pub(crate) struct State {
    /// Waiters of the current round (the leader never queues).
    arrived: usize,
    /// The current round; bumped when a round is released or broken.
    generation: u64,
    broken: bool,
    /// The current round's waiters, in arrival order.
    waiters: WaiterList<Note>,
    /// Rounds being released, by generation: their waiters are woken in batches with the
    /// lock released in between, so each keeps its own list while new arrivals queue in
    /// `waiters` (a waiter dropped meanwhile finds its list by its generation).
    releasing: Vec<(u64, WaiterList<Note>)>,
    action: Option<Action>,
}

impl State {
    fn releasing(&mut self, generation: u64) -> &mut WaiterList<Note> {
        &mut self
            .releasing
            .iter_mut()
            .find(|(g, _)| *g == generation)
            .expect("a round being released keeps its list until it is done")
            .1
    }
}

/// A waiter's data: its round, and its outcome once released.
#[derive(Default)]
pub(crate) struct Note {
    generation: u64,
    outcome: Option<Result<usize, BrokenBarrier>>,
}

impl Barrier {
    /// A barrier for `parties` waiters.
    ///
    /// # Panics
    ///
    /// If `parties` is 0: no round could ever be complete. Use `Barrier::new(1)` for a
    /// barrier whose waits return at once.
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    ///
    /// let barrier = Barrier::new(3);
    /// assert_eq!(barrier.parties(), 3);
    /// ```
    #[track_caller]
    pub fn new(parties: usize) -> Barrier {
        Barrier::build(parties, None)
    }

    /// A barrier for `parties` waiters whose `action` runs once per round, on the leader
    /// (the last to arrive), before any waiter of the round is released.
    ///
    /// The action runs while the barrier is locked, as in Python: keep it short, and don't
    /// call this barrier's methods from it (that would deadlock). If it panics, the barrier
    /// breaks (the round's waiters get [`BrokenBarrier`]) and the panic goes on in the leader.
    ///
    /// # Panics
    ///
    /// If `parties` is 0, as [`new`](Barrier::new).
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let rounds = Arc::new(AtomicUsize::new(0));
    /// let counter = rounds.clone();
    /// let barrier = Barrier::with_action(1, move || {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    /// });
    /// barrier.wait_blocking().unwrap();
    /// barrier.wait_blocking().unwrap();
    /// assert_eq!(rounds.load(Ordering::SeqCst), 2);
    /// ```
    #[track_caller]
    pub fn with_action(parties: usize, action: impl FnMut() + Send + 'static) -> Barrier {
        Barrier::build(parties, Some(Box::new(action)))
    }

    #[track_caller]
    fn build(parties: usize, action: Option<Action>) -> Barrier {
        assert!(
            parties > 0,
            "Barrier::new(0): a barrier needs at least one party; \
             use `Barrier::new(1)` for one whose waits return at once"
        );
        Barrier {
            parties,
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
                broken: false,
                waiters: WaiterList::new(),
                releasing: Vec::new(),
                action,
            }),
        }
    }

    /// Arrives at the barrier and waits until `parties` waiters have arrived.
    ///
    /// The arrival counts from the first poll. Each wait that completes spends one unit of
    /// the task's cooperative budget.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrier`] if the barrier is broken when this wait arrives, or is
    /// [aborted](Barrier::abort) or [reset](Barrier::reset) while it waits, or the round's
    /// action panicked.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a wait dropped before its round is released withdraws its arrival, so
    /// the round waits for another party instead of releasing with one missing.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Barrier;
    /// use std::sync::Arc;
    ///
    /// let barrier = Arc::new(Barrier::new(2));
    /// let other = {
    ///     let barrier = barrier.clone();
    ///     std::thread::spawn(move || block_on(barrier.wait()).unwrap().index())
    /// };
    /// let mine = block_on(barrier.wait()).unwrap().index();
    /// let theirs = other.join().unwrap();
    /// assert_eq!(mine + theirs, 1); // indices 0 and 1
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            barrier: self,
            node: Waiter::new(Note::default()),
            arrived: false,
        }
    }

    /// Arrives and blocks the current OS thread until the round is released.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrier`], as [`wait`](Barrier::wait).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`wait`](Barrier::wait)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    ///
    /// let barrier = Barrier::new(1);
    /// let result = barrier.wait_blocking().unwrap();
    /// assert!(result.is_leader());
    /// ```
    #[track_caller]
    pub fn wait_blocking(&self) -> Result<BarrierWaitResult, BrokenBarrier> {
        hooks::assert_can_block("Barrier::wait_blocking", "barrier.wait().await");
        block_on_thread(self.wait())
    }

    /// How many waiters of the current round are waiting (a snapshot).
    ///
    /// ```
    /// use futures::FutureExt;
    /// use runtime_primitives::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// let mut wait = Box::pin(barrier.wait());
    /// assert!(wait.as_mut().now_or_never().is_none());
    /// assert_eq!(barrier.n_waiting(), 1);
    /// drop(wait); // withdraws
    /// assert_eq!(barrier.n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        lock(&self.state).arrived
    }

    /// How many waiters make a round.
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    ///
    /// assert_eq!(Barrier::new(4).parties(), 4);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Whether the barrier is broken (by [`abort`](Barrier::abort) or a panicking action).
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        lock(&self.state).broken
    }

    /// Breaks the barrier: the waits in progress and every later wait fail with
    /// [`BrokenBarrier`] until [`reset`](Barrier::reset). Python's `abort()`, for when a
    /// party can't arrive and the others must not wait forever.
    ///
    /// ```
    /// use runtime_primitives::{Barrier, BrokenBarrier};
    ///
    /// let barrier = Barrier::new(2);
    /// barrier.abort();
    /// assert_eq!(barrier.wait_blocking().unwrap_err(), BrokenBarrier);
    /// ```
    pub fn abort(&self) {
        let mut state = lock(&self.state);
        state.broken = true;
        self.release(state, false);
    }

    /// Returns the barrier to its initial state: the waits in progress fail with
    /// [`BrokenBarrier`], and the barrier is no longer broken. Python's `reset()`.
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    ///
    /// let barrier = Barrier::new(1);
    /// barrier.abort();
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// assert!(barrier.wait_blocking().is_ok());
    /// ```
    pub fn reset(&self) {
        let mut state = lock(&self.state);
        state.broken = false;
        self.release(state, false);
    }

    /// Ends the current round: its waiters get indices `0..` in arrival order (`ok`) or
    /// [`BrokenBarrier`], and new arrivals start the next round. Releases the lock.
    fn release(&self, mut state: crate::loom::MutexGuard<'_, State>, ok: bool) {
        let generation = state.generation;
        state.generation += 1;
        state.arrived = 0;
        if state.waiters.is_empty() {
            return;
        }
        let round = core::mem::take(&mut state.waiters);
        state.releasing.push((generation, round));
        let mut index = 0;
        notify_batched(
            &self.state,
            state,
            |state| state.releasing(generation),
            usize::MAX,
            |note| {
                note.outcome = Some(if ok { Ok(index) } else { Err(BrokenBarrier) });
                index += 1;
            },
        );
        // Every waiter of the round was notified or withdrew: the list is empty.
        let mut state = lock(&self.state);
        state.releasing.retain(|(g, _)| *g != generation);
    }

    /// The arrival of a wait's first poll: `Ready` if it completes the round (or the barrier
    /// is broken), otherwise the node is queued.
    fn arrive(
        &self,
        node: Pin<&Waiter<Note>>,
        cx: &Context<'_>,
    ) -> Poll<Result<BarrierWaitResult, BrokenBarrier>> {
        let mut state = lock(&self.state);
        if state.broken {
            return Poll::Ready(Err(BrokenBarrier));
        }
        if state.arrived + 1 < self.parties {
            state.arrived += 1;
            let generation = state.generation;
            // SAFETY: the node is `Idle` and we are its owner.
            unsafe { node.with_data(|note| note.generation = generation) };
            // SAFETY: the owning `Wait` withdraws the node under this lock before it is
            // dropped (`Wait::withdraw`), and never registers it anywhere else.
            unsafe { state.waiters.register(node, cx.waker()) };
            return Poll::Pending;
        }
        // The leader: run the action, then release the round.
        if let Some(action) = state.action.as_mut() {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(action)) {
                state.broken = true;
                self.release(state, false);
                resume_unwind(panic);
            }
        }
        self.release(state, true);
        Poll::Ready(Ok(BarrierWaitResult {
            index: self.parties - 1,
            leader: true,
        }))
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &state.arrived)
            .field("broken", &state.broken)
            .finish()
    }
}

/// The future of [`Barrier::wait`]. Cancel-safe: dropped before release, it withdraws its
/// arrival.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::{Barrier, BarrierWait};
///
/// let barrier = Barrier::new(1);
/// let wait: BarrierWait<'_> = barrier.wait();
/// assert_eq!(block_on(wait).unwrap().index(), 0);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Wait<'a> {
    barrier: &'a Barrier,
    node: Waiter<Note>,
    /// The first poll arrived (and queued the node).
    arrived: bool,
}

impl Wait<'_> {
    /// Leaves the barrier: a node still queued in the current round takes its arrival back.
    /// Returns `true` if the round had been released (or broken) for this wait already.
    fn withdraw(&self) -> bool {
        if self.node.status() == Status::Idle {
            return false;
        }
        let mut state = lock(&self.barrier.state);
        // Under the lock the node's status can't change: only the owner (us) leaves
        // `Notified`, and notifiers need the lock.
        if self.node.consume_notification() {
            return true;
        }
        // SAFETY: the node is `Waiting`, so its data is the lock holder's (ours).
        let generation = unsafe { self.node.with_data(|note| note.generation) };
        let current = generation == state.generation;
        let list = if current {
            &mut state.waiters
        } else {
            // Queued in a round being released, not reached yet: it was released too.
            state.releasing(generation)
        };
        // SAFETY: we own the node, which is linked in its generation's list.
        unsafe { list.remove(&self.node) };
        if current {
            state.arrived -= 1;
        }
        !current
    }

    /// The outcome a notifier left in the node, after `consume_notification`.
    fn outcome(node: &Waiter<Note>) -> Result<BarrierWaitResult, BrokenBarrier> {
        // SAFETY: we own the node and just turned it `Idle`: its data is ours.
        let outcome = unsafe { node.with_data(|note| note.outcome.take()) };
        let result = outcome.expect("a released waiter has its outcome");
        result.map(|index| BarrierWaitResult {
            index,
            leader: false,
        })
    }
}

impl Future for Wait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_wait(self, cx)
    }
}

impl HoldsWaiters<Note> for State {
    /// The current round's list.
    fn waiters(&mut self) -> &mut WaiterList<Note> {
        &mut self.waiters
    }
}

// SAFETY: `node` is structurally pinned (never moved), registered only in its generation's
// list under `barrier.state`, and `Drop` withdraws it there (`Wait::withdraw`).
unsafe impl WaitPoll for Wait<'_> {
    type Data = Note;
    type State = State;
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    fn node(self: Pin<&Self>) -> Pin<&Waiter<Note>> {
        // SAFETY: as above; the other fields are not pinned.
        unsafe { self.map_unchecked(|wait| &wait.node) }
    }

    fn lock(&self) -> &Mutex<State> {
        &self.barrier.state
    }

    /// The list of the node's round: the current one, or a round being released that has
    /// not reached it yet.
    fn list<'s>(self: Pin<&Self>, state: &'s mut State) -> &'s mut WaiterList<Note> {
        // SAFETY: `Waiting` (`requeue` checks under the lock): the data is the lock holder's.
        let generation = unsafe { self.node.with_data(|note| note.generation) };
        if generation == state.generation {
            state.waiters()
        } else {
            state.releasing(generation)
        }
    }

    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: only `arrived`, which is not pinned, is written through this reference.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.arrived, "`BarrierWait` polled after it completed");
        this.arrived = true;
        // SAFETY: `node` is structurally pinned (see the `WaitPoll` impl).
        let node = unsafe { Pin::new_unchecked(&this.node) };
        this.barrier.arrive(node, cx)
    }

    fn notified(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Wait::outcome(&self.node))
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.withdraw();
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("arrived", &self.arrived)
            .field("node", &self.node.status())
            .finish()
    }
}

/// What a released [`Barrier::wait`] returns.
///
/// ```
/// use runtime_primitives::Barrier;
///
/// let result = Barrier::new(1).wait_blocking().unwrap();
/// assert_eq!((result.index(), result.is_leader()), (0, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// This waiter's index in its round, `0..parties`, in order of arrival (Python's return
    /// value of `wait()`).
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    ///
    /// assert_eq!(Barrier::new(1).wait_blocking().unwrap().index(), 0);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether this waiter is the round's leader: the last to arrive, which ran the action.
    /// Exactly one waiter per round is.
    ///
    /// ```
    /// use runtime_primitives::Barrier;
    ///
    /// assert!(Barrier::new(1).wait_blocking().unwrap().is_leader());
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// The error of a wait on a broken barrier: it was [aborted](Barrier::abort) or
/// [reset](Barrier::reset) while waiting, was broken when the wait arrived, or the round's
/// action panicked. Python's `BrokenBarrierError`.
///
/// ```
/// use runtime_primitives::{Barrier, BrokenBarrier};
///
/// let barrier = Barrier::new(2);
/// barrier.abort();
/// let err = barrier.wait_blocking().unwrap_err();
/// assert_eq!(err, BrokenBarrier);
/// assert_eq!(err.to_string(), "the barrier is broken (aborted, reset or its action panicked)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier;

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken (aborted, reset or its action panicked)")
    }
}

impl std::error::Error for BrokenBarrier {}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};
    use core::pin::pin;
    use core::task::Waker;

    /// A waiter that arrives and is dropped, racing a second arrival: either the round was
    /// released with both (the dropped one was present), or the arrival was withdrawn and the
    /// round waits for a real second party (here the main thread). A round released with the
    /// dropped waiter gone would leave the main thread waiting forever, which loom reports.
    #[test]
    fn withdraw_vs_release() {
        ::loom::model(|| {
            let barrier = Arc::new(Barrier::new(2));
            let dropper = {
                let barrier = barrier.clone();
                thread::spawn(move || {
                    let mut wait = pin!(barrier.wait());
                    match wait.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                        Poll::Ready(result) => result.is_ok(),
                        Poll::Pending => wait.withdraw(),
                    }
                })
            };
            let other = {
                let barrier = barrier.clone();
                thread::spawn(move || block_on_thread(barrier.wait()).expect("not broken"))
            };
            let released_with_dropper = dropper.join().unwrap();
            if !released_with_dropper {
                let mine = block_on_thread(barrier.wait()).expect("not broken");
                let theirs = other.join().unwrap();
                assert_eq!(mine.index() + theirs.index(), 1);
                assert_ne!(mine.is_leader(), theirs.is_leader());
            } else {
                other.join().unwrap();
            }
            assert_eq!(barrier.n_waiting(), 0);
        });
    }

    /// `abort` racing an arrival: the waiter always ends (broken, or released by a later
    /// party after the reset).
    #[test]
    fn abort_vs_wait() {
        ::loom::model(|| {
            let barrier = Arc::new(Barrier::new(2));
            let aborter = {
                let barrier = barrier.clone();
                thread::spawn(move || barrier.abort())
            };
            assert_eq!(block_on_thread(barrier.wait()), Err(BrokenBarrier));
            aborter.join().unwrap();
        });
    }
}
