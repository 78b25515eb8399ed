//! Who is idle: the pool's thread counts in one atomic word, and the parked threads.
//!
//! # The counts
//!
//! | field | meaning |
//! |---|---|
//! | `threads` | pool threads alive (or being spawned) |
//! | `idle` | threads waiting for a job that nobody has claimed |
//! | `notify` | claims not yet taken: each one is a job some waiting thread must go and pop |
//! | `awake` | waiting threads that are not parked (spinning, or woken and not yet counted out) |
//! | `PENDING` | a job was queued when no thread waited and none could be spawned |
//! | `SHUTDOWN` | the pool is shutting down; never cleared |
//!
//! A thread with no job *enters* (`idle + 1`, `awake + 1`). A submitter, after pushing its
//! job, *claims* one waiting thread (`idle - 1`, `notify + 1`); when there are more claims
//! than awake threads it also counts one parked thread awake (`awake + 1`) and unparks it.
//! A waiting thread *takes* a claim (`notify - 1`, `awake - 1`) and pops. So the invariant
//! `notify <= awake` holds throughout: every claim has an awake thread that will take it,
//! and a submit costs one CAS plus at most one unpark, none while some thread spins.
//!
//! With no thread waiting, a submitter spawns one (`threads + 1`) or, at the cap, sets
//! `PENDING`; a thread about to enter that finds `PENDING` clears it and looks at the queue
//! again instead. Every outcome is a write to this word after the push, and whoever acts
//! on it (the claimed thread, the new thread, the one that clears `PENDING`) pops until
//! the queue is empty after reading that write: no job is left without a thread, and no
//! thread has to guess from a look at the queue whether a claim is still coming.
//!
//! `idle + notify - awake` is the number of parked threads that no waker has counted
//! awake. The parked threads sit in a LIFO list (the most recently parked is woken first,
//! so surplus threads stay parked and retire after the keep-alive). The list's mutex is
//! the only lock here and it is off the submit path unless a parked thread must be woken,
//! which costs a system call anyway: a thread takes it to park and to retire, a waker to
//! pop one entry. Parking updates the counts under that mutex, so under it the list holds
//! exactly the uncounted parked threads plus one entry per waker that has counted one
//! awake but not yet popped it.

use crate::loom::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Acquire, Release, SeqCst},
};
use crate::loom::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Instant;

const FIELD_BITS: u32 = 15;
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;
const THREADS: u32 = 0;
const IDLE: u32 = FIELD_BITS;
const NOTIFY: u32 = 2 * FIELD_BITS;
const AWAKE: u32 = 3 * FIELD_BITS;
const SHUTDOWN: u64 = 1 << (4 * FIELD_BITS);
const PENDING: u64 = 1 << (4 * FIELD_BITS + 1);

/// The most threads the counts can hold; `max_blocking_threads` is capped to it.
pub(crate) const MAX_THREADS: usize = FIELD_MASK as usize;

/// A snapshot of the counts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts(u64);

impl Counts {
    fn get(self, field: u32) -> usize {
        ((self.0 >> field) & FIELD_MASK) as usize
    }

    fn inc(self, field: u32) -> Counts {
        debug_assert!(self.get(field) < MAX_THREADS, "pool count overflow");
        Counts(self.0 + (1 << field))
    }

    fn dec(self, field: u32) -> Counts {
        debug_assert!(self.get(field) > 0, "pool count underflow");
        Counts(self.0 - (1 << field))
    }

    pub(crate) fn threads(self) -> usize {
        self.get(THREADS)
    }

    /// Threads without a job: waiting, claimed or not.
    pub(crate) fn waiting(self) -> usize {
        self.get(IDLE) + self.get(NOTIFY)
    }

    /// Waiting threads that are not parked.
    pub(crate) fn awake(self) -> usize {
        self.get(AWAKE)
    }

    pub(crate) fn is_shutdown(self) -> bool {
        self.0 & SHUTDOWN != 0
    }

    /// Parked threads that no waker has counted awake.
    fn uncounted_sleepers(self) -> usize {
        self.waiting() - self.get(AWAKE)
    }

    /// Claims a waiting thread (`idle > 0`); also counts a parked one awake when the claims
    /// would outnumber the awake threads.
    fn claim_idle(self) -> (Assign, Counts) {
        let next = self.dec(IDLE).inc(NOTIFY);
        if next.get(NOTIFY) > next.get(AWAKE) {
            (Assign::Wake, next.inc(AWAKE))
        } else {
            (Assign::Claimed, next)
        }
    }

    /// An awake waiting thread stops waiting: it takes a claim if there is one (so the
    /// claims stay covered by awake threads), else its own idle slot.
    fn leave(self) -> Counts {
        let left = if self.get(NOTIFY) > 0 {
            self.dec(NOTIFY)
        } else {
            self.dec(IDLE)
        };
        left.dec(AWAKE)
    }
}

/// What a submitter must do for the job it just pushed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Assign {
    /// A waiting thread was claimed and an awake one will take it.
    Claimed,
    /// A waiting thread was claimed: unpark one with [`Idle::wake_one`].
    Wake,
    /// No thread waits: spawn one (already counted in `threads`).
    Spawn,
    /// Every thread is busy at the cap (`PENDING` is set): a thread finishing its job pops
    /// this one.
    Full,
    /// The pool is shutting down.
    Shutdown,
}

/// What a thread that ran out of jobs does.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Enter {
    /// It waits for a claim (counted idle and awake).
    Waiting,
    /// `PENDING` was set (now cleared): it pops again instead.
    Busy,
    /// The pool shuts down: the thread is counted out; exit.
    Exit,
}

/// How a wait for a job ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// A claim was taken: pop a job.
    Job,
    /// Still waiting, and awake: look again.
    Woken,
    /// The thread is counted out of the pool (keep-alive expired or shutdown): exit.
    Exit,
}

/// A parked thread's entry in the sleeper list.
#[derive(Debug)]
pub(crate) struct Sleeper {
    thread: Thread,
    /// Set, under the list's lock, by whoever pops the entry (and so counts it awake).
    woken: AtomicBool,
}

impl Sleeper {
    pub(crate) fn current() -> Arc<Sleeper> {
        Arc::new(Sleeper {
            thread: std::thread::current(),
            woken: AtomicBool::new(false),
        })
    }
}

pub(crate) struct Idle {
    state: AtomicU64,
    sleepers: Mutex<Vec<Arc<Sleeper>>>,
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle {
            state: AtomicU64::new(0),
            sleepers: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn load(&self) -> Counts {
        Counts(self.state.load(SeqCst))
    }

    /// Applies `f` until the CAS sticks; `f` returns what to answer and the new counts
    /// (`None`: answer without writing).
    fn update<R>(&self, mut f: impl FnMut(Counts) -> (R, Option<Counts>)) -> R {
        let mut cur = self.load();
        loop {
            let (answer, next) = f(cur);
            let Some(next) = next else { return answer };
            match self
                .state
                .compare_exchange_weak(cur.0, next.0, SeqCst, SeqCst)
            {
                Ok(_) => return answer,
                Err(actual) => cur = Counts(actual),
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Sleeper>>> {
        self.sleepers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called by a submitter after its push.
    pub(crate) fn claim(&self, max_threads: usize) -> Assign {
        self.update(|s| {
            if s.is_shutdown() {
                (Assign::Shutdown, None)
            } else if s.get(IDLE) > 0 {
                let (assign, next) = s.claim_idle();
                (assign, Some(next))
            } else if s.threads() < max_threads {
                (Assign::Spawn, Some(s.inc(THREADS)))
            } else {
                // Written even if already set: the thread that clears it must read this
                // write, to see the job pushed before it.
                (Assign::Full, Some(Counts(s.0 | PENDING)))
            }
        })
    }

    /// Unparks the most recently parked thread, already counted awake by [`Idle::claim`].
    /// Finding none is fine: the one counted woke up on its own and knows it.
    pub(crate) fn wake_one(&self) {
        let sleeper = {
            let mut list = self.lock();
            let sleeper = list.pop();
            if let Some(s) = &sleeper {
                s.woken.store(true, Release);
            }
            sleeper
        };
        if let Some(sleeper) = sleeper {
            sleeper.thread.unpark();
        }
    }

    /// Undoes a `Spawn` whose thread could not be spawned and assigns the job again (to a
    /// thread that entered meanwhile, else `PENDING`); returns the answer and the counts.
    pub(crate) fn spawn_failed(&self) -> (Assign, Counts) {
        self.update(|s| {
            let s = s.dec(THREADS);
            let (assign, next) = if s.get(IDLE) > 0 {
                s.claim_idle()
            } else {
                (Assign::Full, Counts(s.0 | PENDING))
            };
            ((assign, next), Some(next))
        })
    }

    /// A thread that popped the queue empty starts waiting, unless `PENDING` says a job
    /// may have been queued for a busy thread to take.
    pub(crate) fn enter(&self) -> Enter {
        self.update(|s| {
            if s.is_shutdown() {
                (Enter::Exit, Some(s.dec(THREADS)))
            } else if s.0 & PENDING != 0 {
                (Enter::Busy, Some(Counts(s.0 & !PENDING)))
            } else {
                (Enter::Waiting, Some(s.inc(IDLE).inc(AWAKE)))
            }
        })
    }

    /// An awake waiting thread looks for a claim without blocking.
    pub(crate) fn try_take(&self) -> Option<Wait> {
        self.update(|s| {
            if s.is_shutdown() {
                (Some(Wait::Exit), Some(s.leave().dec(THREADS)))
            } else if s.get(NOTIFY) > 0 {
                (Some(Wait::Job), Some(s.dec(NOTIFY).dec(AWAKE)))
            } else {
                (None, None)
            }
        })
    }

    /// Parks an awake waiting thread until a claim, a wake-up, shutdown or `deadline`
    /// (then it retires, unless a waker has already counted it awake; `None`: never).
    pub(crate) fn park(&self, me: &Arc<Sleeper>, deadline: Option<Instant>) -> Wait {
        {
            let mut list = self.lock();
            let parked = self.update(|s| {
                if s.is_shutdown() {
                    (Some(Wait::Exit), Some(s.leave().dec(THREADS)))
                } else if s.get(NOTIFY) > 0 {
                    (Some(Wait::Job), Some(s.dec(NOTIFY).dec(AWAKE)))
                } else {
                    (None, Some(s.dec(AWAKE)))
                }
            });
            if let Some(done) = parked {
                return done;
            }
            me.woken.store(false, Release);
            list.push(me.clone());
        }
        loop {
            match deadline {
                None => std::thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now < deadline {
                        std::thread::park_timeout(deadline - now);
                    }
                }
            }
            if me.woken.load(Acquire) {
                return Wait::Woken;
            }
            if deadline.is_none_or(|d| Instant::now() < d) {
                continue; // a spurious or stale unpark
            }
            let mut list = self.lock();
            if me.woken.load(Acquire) {
                return Wait::Woken;
            }
            // `remove`, not `swap_remove`: the list stays in parking order.
            if let Some(i) = list.iter().position(|s| Arc::ptr_eq(s, me)) {
                list.remove(i);
            }
            return self.update(|s| {
                if s.uncounted_sleepers() > 0 {
                    // We are one of them: retire.
                    (Wait::Exit, Some(s.dec(IDLE).dec(THREADS)))
                } else {
                    // A waker counted one sleeper awake and has not popped it yet: be
                    // that one (its pop will find one entry fewer).
                    (Wait::Woken, None)
                }
            });
        }
    }

    /// Sets `SHUTDOWN` and wakes every parked thread (each counted awake).
    pub(crate) fn shutdown(&self) {
        let woken = {
            let mut list = self.lock();
            self.update(|s| {
                let mut next = Counts(s.0 | SHUTDOWN);
                for _ in 0..s.uncounted_sleepers() {
                    next = next.inc(AWAKE);
                }
                ((), Some(next))
            });
            let woken: Vec<_> = list.drain(..).collect();
            for s in &woken {
                s.woken.store(true, Release);
            }
            woken
        };
        // The caller drains the queue next. A submitter whose claim came before this write
        // is seen through it; one whose claim comes after sees `SHUTDOWN` and drains.
        for s in woken {
            s.thread.unpark();
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.load().is_shutdown()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    #[test]
    fn claims_stay_covered_by_awake_threads() {
        let idle = Idle::new();
        assert_eq!(idle.claim(2), Assign::Spawn);
        assert_eq!(idle.claim(2), Assign::Spawn);
        // Both threads wait, awake: two claims need no unpark.
        assert_eq!(idle.enter(), Enter::Waiting);
        assert_eq!(idle.enter(), Enter::Waiting);
        assert_eq!(idle.claim(2), Assign::Claimed);
        assert_eq!(idle.claim(2), Assign::Claimed);
        assert_eq!(idle.claim(2), Assign::Full);
        assert_eq!(idle.try_take(), Some(Wait::Job));
        assert_eq!(idle.try_take(), Some(Wait::Job));
        assert_eq!(idle.try_take(), None);
        let s = idle.load();
        assert_eq!((s.threads(), s.waiting()), (2, 0));
    }

    #[test]
    fn a_job_queued_at_the_cap_keeps_a_busy_thread_busy() {
        let idle = Idle::new();
        assert_eq!(idle.claim(1), Assign::Spawn);
        assert_eq!(idle.claim(1), Assign::Full);
        assert_eq!(idle.claim(1), Assign::Full);
        // One flag for any number of such jobs: the thread pops until the queue is empty.
        assert_eq!(idle.enter(), Enter::Busy);
        assert_eq!(idle.enter(), Enter::Waiting);
        // A spawn that fails hands its job to a thread that entered meanwhile.
        assert_eq!(idle.claim(2), Assign::Claimed);
        assert_eq!(idle.claim(2), Assign::Spawn);
        assert_eq!(idle.try_take(), Some(Wait::Job));
        assert_eq!(idle.enter(), Enter::Waiting);
        let (assign, after) = idle.spawn_failed();
        assert_eq!((assign, after.threads()), (Assign::Claimed, 1));
    }

    #[test]
    fn a_sleeper_retires_at_its_deadline() {
        let idle = Idle::new();
        assert_eq!(idle.claim(1), Assign::Spawn);
        assert_eq!(idle.enter(), Enter::Waiting);
        let me = Sleeper::current();
        assert_eq!(idle.park(&me, Some(Instant::now())), Wait::Exit);
        assert_eq!(idle.load().threads(), 0);
        assert!(idle.lock().is_empty());
    }

    #[test]
    fn a_claim_with_nobody_awake_wakes_a_sleeper() {
        let idle = Arc::new(Idle::new());
        assert_eq!(idle.claim(1), Assign::Spawn);
        let sleeper = {
            let idle = idle.clone();
            std::thread::spawn(move || {
                assert_eq!(idle.enter(), Enter::Waiting);
                let me = Sleeper::current();
                loop {
                    match idle.park(&me, None) {
                        Wait::Woken => match idle.try_take() {
                            Some(wait) => return wait,
                            None => continue,
                        },
                        wait => return wait,
                    }
                }
            })
        };
        while idle.lock().is_empty() {
            std::thread::yield_now();
        }
        assert_eq!(idle.claim(1), Assign::Wake);
        idle.wake_one();
        assert_eq!(sleeper.join().unwrap(), Wait::Job);
        let s = idle.load();
        assert_eq!((s.threads(), s.waiting(), s.awake()), (1, 0, 0));
    }

    #[test]
    fn shutdown_counts_every_waiting_thread_out() {
        let idle = Idle::new();
        assert_eq!(idle.claim(4), Assign::Spawn);
        assert_eq!(idle.enter(), Enter::Waiting);
        idle.shutdown();
        assert_eq!(idle.claim(4), Assign::Shutdown);
        assert_eq!(idle.try_take(), Some(Wait::Exit));
        assert_eq!(idle.load().threads(), 0);
        assert_eq!(idle.claim(4), Assign::Shutdown);
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::thread;
    use runtime_primitives::internal::SegQueue;

    /// A submit racing a thread that runs out of work: either the submitter claims the
    /// waiting thread, or it sets `PENDING` and the thread, about to wait, pops again;
    /// the job is never left in the queue.
    #[test]
    fn a_submit_racing_a_thread_going_idle_is_not_lost() {
        loom::model(|| {
            let q = Arc::new(SegQueue::new());
            let idle = Arc::new(Idle::new());
            // One thread, busy, at the cap: a submit can only claim it or leave the job.
            assert_eq!(idle.claim(1), Assign::Spawn);
            let submitter = {
                let (q, idle) = (q.clone(), idle.clone());
                thread::spawn(move || {
                    q.push(7);
                    let assign = idle.claim(1);
                    assert!(
                        matches!(assign, Assign::Claimed | Assign::Full),
                        "{assign:?}"
                    );
                })
            };
            // The pool thread's loop, as in `Spawner::run`.
            let mut got = q.pop();
            while got.is_none() {
                match idle.enter() {
                    Enter::Busy => got = q.pop(),
                    Enter::Waiting => {
                        while idle.try_take().is_none() {
                            thread::yield_now();
                        }
                        got = q.pop();
                    }
                    Enter::Exit => unreachable!("no shutdown here"),
                }
            }
            submitter.join().unwrap();
            assert_eq!(got, Some(7));
            let s = idle.load();
            assert_eq!((s.threads(), s.waiting(), s.awake()), (1, 0, 0));
        });
    }

    /// A submit racing shutdown: the job is cancelled by the submitter (which saw
    /// `SHUTDOWN`) or drained by the shutdown (which saw the job), never left queued.
    #[test]
    fn a_submit_racing_shutdown_is_drained() {
        loom::model(|| {
            let q = Arc::new(SegQueue::new());
            let idle = Arc::new(Idle::new());
            let submitter = {
                let (q, idle) = (q.clone(), idle.clone());
                thread::spawn(move || {
                    q.push(1);
                    match idle.claim(4) {
                        Assign::Shutdown => q.pop().map_or(0, |_| 1),
                        Assign::Spawn => {
                            // Its thread would start, find the job and cancel it: model
                            // that as a pop once it sees `SHUTDOWN`.
                            while !idle.is_shutdown() {
                                thread::yield_now();
                            }
                            q.pop().map_or(0, |_| 1)
                        }
                        other => panic!("no thread waits: {other:?}"),
                    }
                })
            };
            idle.shutdown();
            let mut drained = 0;
            while q.pop().is_some() {
                drained += 1;
            }
            let by_submitter = submitter.join().unwrap();
            assert_eq!(drained + by_submitter, 1);
            assert!(q.is_empty());
        });
    }

    /// A spawn that fails while the only thread runs out of work: the job goes to that
    /// thread, claimed if it already waits, through `PENDING` if not.
    #[test]
    fn a_failed_spawn_racing_a_thread_going_idle_is_not_lost() {
        loom::model(|| {
            let q = Arc::new(SegQueue::new());
            let idle = Arc::new(Idle::new());
            assert_eq!(idle.claim(2), Assign::Spawn);
            let submitter = {
                let (q, idle) = (q.clone(), idle.clone());
                thread::spawn(move || {
                    q.push(7);
                    if idle.claim(2) == Assign::Spawn {
                        let (assign, after) = idle.spawn_failed();
                        assert!(matches!(assign, Assign::Claimed | Assign::Full));
                        assert_eq!(after.threads(), 1);
                    }
                })
            };
            let mut got = q.pop();
            while got.is_none() {
                match idle.enter() {
                    Enter::Busy => got = q.pop(),
                    Enter::Waiting => {
                        while idle.try_take().is_none() {
                            thread::yield_now();
                        }
                        got = q.pop();
                    }
                    Enter::Exit => unreachable!("no shutdown here"),
                }
            }
            submitter.join().unwrap();
            assert_eq!(got, Some(7));
        });
    }
}
