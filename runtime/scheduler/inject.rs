//! The injector: the run queue for tasks scheduled from outside a worker (remote spawns
//! and wakes) and for local-queue overflow.
//!
//! An intrusive FIFO through the task header's `queue_next`, so pushing never allocates,
//! under one mutex; `len` is mirrored in an atomic so workers can skip the lock when it is
//! empty. A closed injector drops what is pushed to it (shutdown has begun, and the owned
//! list cancels those tasks).

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use crate::loom::Mutex;
use crate::task_core::raw::Header;
use crate::task_core::Notified;
use std::marker::PhantomData;
use std::ptr::NonNull;

pub(crate) struct Inject<S: 'static> {
    synced: Mutex<Synced>,
    len: AtomicUsize,
    _scheduler: PhantomData<S>,
}

struct Synced {
    head: Option<NonNull<Header>>,
    tail: Option<NonNull<Header>>,
    is_closed: bool,
}

// SAFETY: the pointers are `Notified` references owned by the queue, touched only under
// the lock.
unsafe impl Send for Synced {}

impl<S: 'static> Inject<S> {
    pub(crate) fn new() -> Inject<S> {
        Inject {
            synced: Mutex::new(Synced {
                head: None,
                tail: None,
                is_closed: false,
            }),
            len: AtomicUsize::new(0),
            _scheduler: PhantomData,
        }
    }

    fn lock(&self) -> crate::loom::MutexGuard<'_, Synced> {
        self.synced.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the queue; returns false if it already was.
    pub(crate) fn close(&self) -> bool {
        let mut synced = self.lock();
        !std::mem::replace(&mut synced.is_closed, true)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().is_closed
    }

    pub(crate) fn push(&self, task: Notified<S>) {
        self.push_batch(std::iter::once(task));
    }

    /// Links the batch outside the lock, then appends it in one step.
    pub(crate) fn push_batch(&self, tasks: impl Iterator<Item = Notified<S>>) {
        let mut first: Option<NonNull<Header>> = None;
        let mut last: Option<NonNull<Header>> = None;
        let mut count = 0;
        for task in tasks {
            let ptr = task.into_raw();
            // SAFETY: we own this `Notified` reference, and with it the `queue_next` link.
            unsafe { ptr.as_ref().queue_next.with_mut(|p| *p = None) };
            match last {
                // SAFETY: as above, for the previous task of the batch.
                Some(prev) => unsafe { prev.as_ref().queue_next.with_mut(|p| *p = Some(ptr)) },
                None => first = Some(ptr),
            }
            last = Some(ptr);
            count += 1;
        }
        let (Some(first), Some(last)) = (first, last) else {
            return;
        };
        let mut synced = self.lock();
        if synced.is_closed {
            drop(synced);
            drop_chain::<S>(Some(first));
            return;
        }
        match synced.tail {
            // SAFETY: the tail is owned by the queue and we hold the lock.
            Some(tail) => unsafe { tail.as_ref().queue_next.with_mut(|p| *p = Some(first)) },
            None => synced.head = Some(first),
        }
        synced.tail = Some(last);
        self.len.store(self.len.load(Relaxed) + count, Release);
    }

    pub(crate) fn pop(&self) -> Option<Notified<S>> {
        if self.is_empty() {
            return None;
        }
        let mut synced = self.lock();
        self.pop_locked(&mut synced)
    }

    /// Pops up to `n` tasks under one lock.
    pub(crate) fn pop_n(&self, n: usize) -> Vec<Notified<S>> {
        if self.is_empty() || n == 0 {
            return Vec::new();
        }
        let mut synced = self.lock();
        let n = n.min(self.len.load(Relaxed));
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            match self.pop_locked(&mut synced) {
                Some(task) => out.push(task),
                None => break,
            }
        }
        out
    }

    fn pop_locked(&self, synced: &mut Synced) -> Option<Notified<S>> {
        let head = synced.head?;
        // SAFETY: the head is owned by the queue and we hold the lock.
        let next = unsafe { head.as_ref().queue_next.with_mut(|p| (*p).take()) };
        synced.head = next;
        if next.is_none() {
            synced.tail = None;
        }
        self.len.store(self.len.load(Relaxed) - 1, Release);
        // SAFETY: every pointer in the queue came from `Notified::into_raw` of `S`.
        Some(unsafe { Notified::from_raw(head) })
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
    }
}
