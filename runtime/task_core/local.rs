//! Local tasks: tasks whose future need not be `Send`, polled and dropped only on the
//! thread that spawned them (their *owner*).
//!
//! A local task is an ordinary task cell (same state word, wakers, `JoinHandle`,
//! `AbortHandle`), and those references may travel between threads as usual: a waker on
//! another thread, an abort from another thread, a `JoinHandle` awaited elsewhere. What
//! must never move is the future itself, and the cell reaches it in only two ways:
//!
//! - **poll**, done by whoever holds a `Notified`. The scheduler keeps local tasks in a
//!   queue only the owner thread runs (`scheduler::local`), so this is always the owner.
//!   [`LocalFuture`] checks it anyway and panics off the owner thread: a scheduling bug
//!   then becomes the task's `JoinError`, never a data race.
//! - **drop**, done wherever the stage is replaced: completion and abort run on the
//!   owner (they happen inside a poll), but runtime shutdown cancels every task from the
//!   thread that shuts down, which for a `Send` current-thread `Runtime` may be another
//!   thread. [`LocalFuture`] then **leaks** the future: its destructor does not run and its
//!   memory is never freed, and the task still completes as cancelled, so nobody waits on
//!   it forever.
//!
//! Why the future sits in a box of its own: leaking a pinned future in place would be
//! unsound, because the cell's stage is overwritten with the output when the task
//! completes and the cell is freed with its last reference, which would reuse pinned
//! memory whose destructor never ran (`Pin` promises it stays valid until dropped). A
//! boxed future leaks as a whole, and the cell lives and dies as any other. Only local
//! tasks pay the second allocation; `Send` tasks are built by `new_task`, unchanged.
//!
//! The output is produced on the owner by the poll and goes to the `JoinHandle`, which is
//! `Send` only when the output is. A `!Send` output therefore never leaves the owner: it is
//! dropped in completion (on the owner, if the handle is gone) or by the handle itself,
//! which stays on the owner.

use crate::task_core::raw::{self, RawTask, TaskMeta};
use crate::task_core::{JoinHandle, Notified, Schedule, Task};
use std::cell::Cell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Names an OS thread for its whole life; never reused by another thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ThreadKey(NonZeroU64);

// A plain std counter even under loom: keys order nothing, they only have to be unique.
static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[cfg(not(runtime_loom))]
std::thread_local! {
    // Const-initialised and without drop glue: readable until the thread is gone,
    // thread-local destructors included.
    static KEY: Cell<u64> = const { Cell::new(0) };
}

// loom runs its threads on one OS thread: the key must be per loom thread.
#[cfg(runtime_loom)]
loom::thread_local! {
    static KEY: Cell<u64> = Cell::new(0);
}

impl ThreadKey {
    /// The calling thread's key.
    pub(crate) fn current() -> ThreadKey {
        KEY.with(|key| {
            let mut k = key.get();
            if k == 0 {
                k = NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                key.set(k);
            }
            ThreadKey(NonZeroU64::new(k).expect("thread keys start at 1"))
        })
    }

    /// Whether the calling thread is this one.
    pub(crate) fn is_current(self) -> bool {
        ThreadKey::current() == self
    }
}

/// A future that is polled and dropped only on its owner thread: the stage of a local
/// task (see the module doc).
pub(crate) struct LocalFuture<F> {
    owner: ThreadKey,
    future: ManuallyDrop<Pin<Box<F>>>,
}

impl<F> LocalFuture<F> {
    /// Wraps `future`, owned by the calling thread.
    fn new(future: F) -> LocalFuture<F> {
        LocalFuture {
            owner: ThreadKey::current(),
            future: ManuallyDrop::new(Box::pin(future)),
        }
    }
}

impl<F: Future> Future for LocalFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // `LocalFuture` is `Unpin` (the future is behind its box).
        let this = self.get_mut();
        assert!(
            this.owner.is_current(),
            "a local task was polled off the thread that spawned it"
        );
        this.future.as_mut().poll(cx)
    }
}

impl<F> Drop for LocalFuture<F> {
    fn drop(&mut self) {
        if self.owner.is_current() {
            // SAFETY: `future` is dropped here, once, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.future) };
        }
        // Off the owner thread the box is leaked: the future's destructor never runs on a
        // thread it may not run on, and its pinned memory stays valid for ever.
    }
}

/// Allocates a local task owned by the calling thread; returns the three references of
/// a fresh task, as `new_task` does.
///
/// Neither the future nor its output needs `Send`: the future is wrapped in a
/// [`LocalFuture`], and the returned `JoinHandle` is `Send` only for a `Send` output.
pub(crate) fn new_local_task<F, S>(
    future: F,
    scheduler: S,
    meta: TaskMeta,
) -> (Task<S>, Notified<S>, JoinHandle<F::Output>)
where
    F: Future + 'static,
    S: Schedule,
{
    let cell = raw::Cell::allocate(LocalFuture::new(future), scheduler, meta);
    let raw = RawTask::from_raw(cell);
    (
        Task::from_raw(raw),
        Notified(Task::from_raw(raw)),
        JoinHandle::new(raw),
    )
}

#[cfg(all(test, runtime_loom))]
mod loom_local {
    //! loom models of local tasks: whatever other threads do to the task (wake, abort,
    //! drop the join handle, shut it down), its future is polled and dropped only on the
    //! owner thread, or leaked.

    use super::*;
    use crate::loom::atomic::{AtomicBool, Ordering::SeqCst};
    use crate::loom::{Arc, Mutex};
    use crate::task_core::{JoinError, Task};
    use loom::thread;
    use std::collections::VecDeque;
    use std::task::Waker;

    /// Runs on the owner only when the owner drains it: the local queue of the scheduler.
    #[derive(Clone)]
    struct Queue(Arc<Mutex<VecDeque<Notified<Queue>>>>);

    impl Schedule for Queue {
        fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
            None
        }
        fn schedule(&self, task: Notified<Self>) {
            self.0.lock().unwrap().push_back(task);
        }
    }

    impl Queue {
        fn drain(&self) {
            loop {
                let task = self.0.lock().unwrap().pop_front();
                match task {
                    Some(task) => task.run(),
                    None => return,
                }
            }
        }
    }

    /// Records the thread of every poll and of its drop. Without `ready` and `slot` it
    /// holds no loom object, so a model may leak it.
    struct Probe {
        ready: Option<Arc<AtomicBool>>,
        slot: Option<Arc<Mutex<Option<Waker>>>>,
        seen: std::sync::Arc<std::sync::Mutex<Vec<(&'static str, ThreadKey)>>>,
        _not_send: std::marker::PhantomData<*const ()>,
    }

    impl Future for Probe {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.seen
                .lock()
                .unwrap()
                .push(("poll", ThreadKey::current()));
            let (Some(ready), Some(slot)) = (&self.ready, &self.slot) else {
                return Poll::Pending;
            };
            *slot.lock().unwrap() = Some(cx.waker().clone());
            if ready.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.seen
                .lock()
                .unwrap()
                .push(("drop", ThreadKey::current()));
        }
    }

    type Seen = std::sync::Arc<std::sync::Mutex<Vec<(&'static str, ThreadKey)>>>;

    fn probe() -> (Probe, Arc<AtomicBool>, Arc<Mutex<Option<Waker>>>, Seen) {
        let ready = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Mutex::new(None));
        let seen = Seen::default();
        let fut = Probe {
            ready: Some(ready.clone()),
            slot: Some(slot.clone()),
            seen: seen.clone(),
            _not_send: std::marker::PhantomData,
        };
        (fut, ready, slot, seen)
    }

    fn poll_join(join: &mut JoinHandle<()>) -> Poll<Result<(), JoinError>> {
        Pin::new(join).poll(&mut Context::from_waker(Waker::noop()))
    }

    fn meta() -> TaskMeta {
        TaskMeta::new(None, std::panic::Location::caller())
    }

    #[test]
    fn wake_and_abort_from_other_threads_stay_on_owner() {
        loom::model(|| {
            let queue = Queue(Arc::new(Mutex::new(VecDeque::new())));
            let owner = ThreadKey::current();
            let (fut, ready, slot, seen) = probe();
            let (task, notified, mut join) = new_local_task(fut, queue.clone(), meta());
            drop(task);
            queue.schedule(notified);
            queue.drain();
            let abort = join.abort_handle();
            let other = thread::spawn(move || {
                assert_ne!(ThreadKey::current(), owner, "keys must be per loom thread");
                ready.store(true, SeqCst);
                let waker = slot.lock().unwrap().take();
                if let Some(waker) = waker {
                    waker.wake();
                }
                abort.abort();
            });
            queue.drain();
            other.join().unwrap();
            queue.drain();
            let seen = seen.lock().unwrap();
            assert!(seen.iter().all(|(_, key)| *key == owner), "{seen:?}");
            assert_eq!(seen.iter().filter(|(what, _)| *what == "drop").count(), 1);
            assert!(join.is_finished());
            // Completed (the wake won) or cancelled (the abort won): never pending.
            assert!(poll_join(&mut join).is_ready());
        });
    }

    #[test]
    fn shutdown_off_the_owner_leaks_and_completes_cancelled() {
        loom::model(|| {
            let queue = Queue(Arc::new(Mutex::new(VecDeque::new())));
            let seen = Seen::default();
            let fut = Probe {
                ready: None,
                slot: None,
                seen: seen.clone(),
                _not_send: std::marker::PhantomData,
            };
            let (task, notified, mut join) = new_local_task(fut, queue.clone(), meta());
            queue.schedule(notified);
            queue.drain();
            let other = thread::spawn(move || task.shutdown());
            other.join().unwrap();
            queue.drain();
            let seen = seen.lock().unwrap();
            assert!(
                seen.iter().all(|(what, _)| *what == "poll"),
                "dropped: {seen:?}"
            );
            match poll_join(&mut join) {
                Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
                _ => panic!("a shut-down local task must finish cancelled"),
            }
        });
    }
}
