//! The injector: the run queue for tasks scheduled from outside a worker (remote spawns
//! and wakes) and for local-queue overflow.
//!
//! Intrusive through the task header's `queue_next`, so pushing never allocates, and with
//! no lock on the pushing side. It is two lists:
//!
//! - `incoming`, a lock-free stack (Treiber's): a push links its task, or its whole batch,
//!   and publishes it with one compare-exchange on the top pointer. Remote spawners and
//!   wakers on any number of threads contend only on that word, never behind a lock (tokio's
//!   injector is one mutex that every remote spawn takes, which its remote_spawn bench,
//!   tokio #7944, shows serializing the spawning threads).
//! - `ready`, a FIFO list only consumers touch, under the `ready` lock (workers pop rarely:
//!   when their own queue is empty, or once every few dozen polls). When it runs dry, the
//!   consumer takes the whole stack with one swap and reverses it into `ready`. Everything
//!   in the stack was pushed after everything in `ready`, so tasks come out in the order they
//!   went in.
//!
//! The top pointer's low bit is `CLOSED` (headers are aligned to 8): `close` sets it, and a
//! push that finds it drops its tasks instead, decided by the same compare-exchange that
//! would have published them, so nothing is pushed after the shutdown drained the queue
//! (the owned list cancels those tasks).
//!
//! `len` counts queued tasks for `is_empty`, which workers read to skip the lock. A push adds
//! before it publishes and a pop subtracts after it takes, so `len` is never below the number
//! of tasks a consumer could find: a worker may look once and find nothing, but never skips
//! a task that is there.

use crate::loom::atomic::{AtomicPtr, AtomicUsize, Ordering::*};
use crate::loom::{Mutex, MutexGuard};
use crate::task_core::raw::Header;
use crate::task_core::Notified;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// The tag bit in `incoming`'s top pointer.
const CLOSED: usize = 1;
const _: () = assert!(std::mem::align_of::<Header>() > CLOSED);

pub(crate) struct Inject<S: 'static> {
    /// Top of the stack of tasks pushed since the last refill, newest first; tag: `CLOSED`.
    incoming: AtomicPtr<Header>,
    /// Head of the FIFO of older tasks, taken from `incoming` by a consumer.
    ready: Mutex<Ready>,
    len: AtomicUsize,
    _scheduler: PhantomData<S>,
}

struct Ready {
    head: Option<NonNull<Header>>,
}

// SAFETY: the pointer is a `Notified` reference owned by the queue, touched only under the
// lock.
unsafe impl Send for Ready {}

impl<S: 'static> Inject<S> {
    pub(crate) fn new() -> Inject<S> {
        Inject {
            incoming: AtomicPtr::new(ptr::null_mut()),
            ready: Mutex::new(Ready { head: None }),
            len: AtomicUsize::new(0),
            _scheduler: PhantomData,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ready> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the queue; returns false if it already was.
    pub(crate) fn close(&self) -> bool {
        let mut top = self.incoming.load(Relaxed);
        loop {
            if top.addr() & CLOSED != 0 {
                return false;
            }
            let closed = top.map_addr(|a| a | CLOSED);
            match self
                .incoming
                .compare_exchange_weak(top, closed, AcqRel, Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => top = actual,
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.incoming.load(Acquire).addr() & CLOSED != 0
    }

    pub(crate) fn push(&self, task: Notified<S>) {
        self.push_batch(std::iter::once(task));
    }

    /// Links the batch newest-first, then publishes it with one compare-exchange.
    pub(crate) fn push_batch(&self, tasks: impl Iterator<Item = Notified<S>>) {
        let mut oldest: Option<NonNull<Header>> = None;
        let mut newest: Option<NonNull<Header>> = None;
        let mut count = 0;
        for task in tasks {
            let ptr = task.into_raw();
            // SAFETY: we own this `Notified` reference, and with it the `queue_next` link; it
            // points at the task pushed before it (the stack runs newest to oldest).
            unsafe { ptr.as_ref().queue_next.with_mut(|p| *p = newest) };
            oldest.get_or_insert(ptr);
            newest = Some(ptr);
            count += 1;
        }
        let (Some(oldest), Some(newest)) = (oldest, newest) else {
            return;
        };
        self.len.fetch_add(count, AcqRel);
        let mut top = self.incoming.load(Relaxed);
        loop {
            if top.addr() & CLOSED != 0 {
                self.len.fetch_sub(count, AcqRel);
                // SAFETY: still ours: cut the link an earlier attempt may have pointed into
                // the queue's tasks, which are not ours to drop.
                unsafe { oldest.as_ref().queue_next.with_mut(|p| *p = None) };
                drop_chain::<S>(Some(newest));
                return;
            }
            // SAFETY: the batch is still ours (unpublished): its oldest task's link is ours to
            // point at the tasks already in the stack.
            unsafe {
                oldest
                    .as_ref()
                    .queue_next
                    .with_mut(|p| *p = NonNull::new(top))
            };
            match self
                .incoming
                .compare_exchange_weak(top, newest.as_ptr(), Release, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => top = actual,
            }
        }
    }

    pub(crate) fn pop(&self) -> Option<Notified<S>> {
        if self.is_empty() {
            return None;
        }
        let mut ready = self.lock();
        self.pop_locked(&mut ready)
    }

    /// Pops up to `n` tasks under one lock.
    pub(crate) fn pop_n(&self, n: usize) -> Vec<Notified<S>> {
        if self.is_empty() || n == 0 {
            return Vec::new();
        }
        let mut ready = self.lock();
        let n = n.min(self.len());
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            match self.pop_locked(&mut ready) {
                Some(task) => out.push(task),
                None => break,
            }
        }
        out
    }

    fn pop_locked(&self, ready: &mut Ready) -> Option<Notified<S>> {
        if ready.head.is_none() {
            ready.head = self.take_incoming();
        }
        let head = ready.head?;
        // SAFETY: the head is owned by the queue and we hold the lock.
        ready.head = unsafe { head.as_ref().queue_next.with_mut(|p| (*p).take()) };
        self.len.fetch_sub(1, AcqRel);
        // SAFETY: every pointer in the queue came from `Notified::into_raw` of `S`.
        Some(unsafe { Notified::from_raw(head) })
    }

    /// Takes the whole stack (keeping the `CLOSED` tag) and returns it oldest first.
    fn take_incoming(&self) -> Option<NonNull<Header>> {
        let mut top = self.incoming.load(Relaxed);
        loop {
            if top.addr() & !CLOSED == 0 {
                return None;
            }
            let emptied = ptr::null_mut::<Header>().map_addr(|_| top.addr() & CLOSED);
            match self
                .incoming
                .compare_exchange_weak(top, emptied, Acquire, Relaxed)
            {
                Ok(_) => break,
                Err(actual) => top = actual,
            }
        }
        // Reverse newest-first into oldest-first (without the tag).
        let mut next = NonNull::new(top.map_addr(|a| a & !CLOSED));
        let mut reversed = None;
        while let Some(node) = next {
            // SAFETY: the taken chain is ours alone now (the acquire above saw every link the
            // pushers wrote before publishing).
            next = unsafe {
                node.as_ref()
                    .queue_next
                    .with_mut(|p| std::mem::replace(&mut *p, reversed))
            };
            reversed = Some(node);
        }
        reversed
    }
}

fn drop_chain<S: 'static>(mut next: Option<NonNull<Header>>) {
    while let Some(ptr) = next {
        // SAFETY: the chain was built from `Notified`s we own.
        next = unsafe { ptr.as_ref().queue_next.with_mut(|p| (*p).take()) };
        // SAFETY: as above.
        drop(unsafe { Notified::<S>::from_raw(ptr) });
    }
}

impl<S: 'static> Drop for Inject<S> {
    fn drop(&mut self) {
        let head = self.lock().head.take();
        drop_chain::<S>(head);
        let top = self.incoming.load(Acquire);
        drop_chain::<S>(NonNull::new(top.map_addr(|a| a & !CLOSED)));
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    //! Pushers on other threads racing a consumer and `close`: every task comes out exactly
    //! once, in the order its pusher pushed it, or is dropped by a push that found the queue
    //! closed; none is left behind.

    use super::Inject;
    use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::{Arc, Mutex};
    use crate::task_core::loom_support::{notified, Unscheduled};
    use crate::task_core::Notified;
    use loom::thread;

    /// Counts itself in `gone` when its task's future is dropped, run or not.
    struct Token {
        gone: Arc<AtomicUsize>,
    }

    impl Drop for Token {
        fn drop(&mut self) {
            self.gone.fetch_add(1, SeqCst);
        }
    }

    /// A task that records `n` in `order` when it runs.
    fn task(
        n: usize,
        order: &Arc<Mutex<Vec<usize>>>,
        gone: &Arc<AtomicUsize>,
    ) -> Notified<Unscheduled> {
        let (order, token) = (order.clone(), Token { gone: gone.clone() });
        notified(async move {
            let _token = token;
            order.lock().unwrap().push(n);
        })
    }

    #[test]
    fn loom_inject_pushers_and_consumer() {
        loom::model(|| {
            let inject = Arc::new(Inject::<Unscheduled>::new());
            let order = Arc::new(Mutex::new(Vec::new()));
            let gone = Arc::new(AtomicUsize::new(0));
            let batch = {
                let (inject, order, gone) = (inject.clone(), order.clone(), gone.clone());
                thread::spawn(move || {
                    inject
                        .push_batch([task(10, &order, &gone), task(11, &order, &gone)].into_iter())
                })
            };
            let single = {
                let (inject, order, gone) = (inject.clone(), order.clone(), gone.clone());
                thread::spawn(move || inject.push(task(20, &order, &gone)))
            };
            // The consumer races both pushers.
            if let Some(t) = inject.pop() {
                t.run();
            }
            batch.join().unwrap();
            single.join().unwrap();
            while let Some(t) = inject.pop() {
                t.run();
            }
            assert!(inject.is_empty());
            let order = order.lock().unwrap().clone();
            assert_eq!(order.len(), 3, "every task runs exactly once: {order:?}");
            let pos = |n| order.iter().position(|&x| x == n).unwrap();
            assert!(
                pos(10) < pos(11),
                "a batch comes out in its order: {order:?}"
            );
            assert_eq!(gone.load(SeqCst), 3);
        });
    }

    #[test]
    fn loom_inject_close_vs_push() {
        loom::model(|| {
            let inject = Arc::new(Inject::<Unscheduled>::new());
            let order = Arc::new(Mutex::new(Vec::new()));
            let gone = Arc::new(AtomicUsize::new(0));
            inject.push(task(1, &order, &gone));
            let pusher = {
                let (inject, order, gone) = (inject.clone(), order.clone(), gone.clone());
                thread::spawn(move || inject.push(task(2, &order, &gone)))
            };
            // The shutdown: close, then drain what was pushed before the close.
            assert!(inject.close());
            while let Some(t) = inject.pop() {
                t.run();
            }
            pusher.join().unwrap();
            // Whatever the push found, nothing is left in the queue after the drain.
            assert!(inject.pop().is_none());
            assert!(inject.is_empty());
            assert_eq!(
                gone.load(SeqCst),
                2,
                "each task ran or was dropped by its push"
            );
            assert!(
                !inject.close(),
                "closing twice reports the first close only"
            );
        });
    }
}
