//! The owned-tasks list: every live task of a runtime, so shutdown can drop them all.
//!
//! Intrusive doubly linked lists through the task header, sharded by task id so that
//! spawns and completions on different workers rarely meet on one lock. The shard lock is
//! taken once per spawn and once per completion; the spawn and completion counters live
//! under it, so the alive count costs no extra atomic on the hot path.

use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::Mutex;
use crate::task_core::id::Id;
use crate::task_core::local::new_local_task;
use crate::task_core::raw::{Header, RawTask, TaskMeta};
use crate::task_core::state::Snapshot;
use crate::task_core::{new_task, JoinHandle, Notified, Schedule, Task};
use crate::util::CachePadded;
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    mask: usize,
    closed: AtomicBool,
    _scheduler: PhantomData<S>,
}

struct Shard {
    head: Option<NonNull<Header>>,
    closed: bool,
    added: u64,
    removed: u64,
}

// SAFETY: the raw pointers in a shard are task references, only touched under its lock.
unsafe impl Send for Shard {}

impl<S: Schedule> OwnedTasks<S> {
    pub(crate) fn new(min_shards: usize) -> OwnedTasks<S> {
        let n = min_shards.max(1).next_power_of_two();
        let shards = (0..n)
            .map(|_| {
                CachePadded::new(Mutex::new(Shard {
                    head: None,
                    closed: false,
                    added: 0,
                    removed: 0,
                }))
            })
            .collect();
        OwnedTasks {
            shards,
            mask: n - 1,
            closed: AtomicBool::new(false),
            _scheduler: PhantomData,
        }
    }

    fn shard(&self, header: NonNull<Header>) -> &Mutex<Shard> {
        // SAFETY: the caller holds a reference to the task.
        let id = unsafe { header.as_ref() }.id.as_u64() as usize;
        &self.shards[id & self.mask]
    }

    /// Creates a task and adds it to the list. After [`close`](Self::close) the task is
    /// cancelled on the spot and no `Notified` is returned.
    pub(crate) fn bind<F>(
        &self,
        future: F,
        scheduler: S,
        meta: TaskMeta,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = new_task(future, scheduler, meta);
        (join, self.insert(task, notified))
    }

    /// As [`bind`](Self::bind), for a local task owned by the calling thread (its future
    /// need not be `Send`; see `task_core::local`). After `close` its future is dropped
    /// here, on its owner.
    pub(crate) fn bind_local<F>(
        &self,
        future: F,
        scheduler: S,
        meta: TaskMeta,
    ) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + 'static,
    {
        let (task, notified, join) = new_local_task(future, scheduler, meta);
        (join, self.insert(task, notified))
    }

    /// Adds a new task to its shard and hands back its first `Notified`; after
    /// [`close`](Self::close) it cancels the task on the spot instead.
    #[inline]
    fn insert(&self, task: Task<S>, notified: Notified<S>) -> Option<Notified<S>> {
        let ptr = task.header_ptr();
        let mut shard = lock(self.shard(ptr));
        if shard.closed {
            drop(shard);
            drop(notified);
            task.shutdown();
            return None;
        }
        // SAFETY: the node is not in any list yet, and the shard lock guards the links of
        // every node in this shard.
        unsafe { push_front(&mut shard, ptr) };
        shard.added += 1;
        std::mem::forget(task);
        Some(notified)
    }

    /// Removes a completed task; `None` if shutdown already took it out.
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let ptr = task.header_ptr();
        let mut shard = lock(self.shard(ptr));
        // SAFETY: tasks of this list only ever live in the shard chosen by their id, and
        // the links are only touched under its lock.
        let removed = unsafe { unlink(&mut shard, ptr) };
        if removed {
            shard.removed += 1;
            // SAFETY: the list held one reference, which now moves to the caller.
            Some(Task::from_raw(crate::task_core::raw::RawTask::from_raw(
                ptr,
            )))
        } else {
            None
        }
    }

    /// Refuses new tasks from now on.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            lock(shard).closed = true;
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Cancels every task of the shards `start, start + step, …` (all shards are visited
    /// when `start = 0, step = 1`). The list must be closed first.
    pub(crate) fn shutdown_shards(&self, start: usize, step: usize) {
        debug_assert!(self.is_closed());
        for i in (start..self.shards.len()).step_by(step.max(1)) {
            loop {
                let task = {
                    let mut shard = lock(&self.shards[i]);
                    let Some(head) = shard.head else { break };
                    // SAFETY: `head` is in this shard's list; we hold its lock.
                    unsafe { unlink(&mut shard, head) };
                    shard.removed += 1;
                    Task::<S>::from_raw(crate::task_core::raw::RawTask::from_raw(head))
                };
                task.shutdown();
            }
        }
    }

    /// Tasks spawned and not yet completed.
    pub(crate) fn alive(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = lock(s);
                (s.added - s.removed) as usize
            })
            .sum()
    }

    /// Calls `f` with a look at every live task, one shard at a time under its lock.
    ///
    /// The lock keeps each task in the list, so its cell stays allocated while `f` reads
    /// it; nothing here waits for a worker, so a worker stuck in a poll can't hold it up.
    /// `f` must not spawn or complete tasks of this list (it would take the same lock).
    pub(crate) fn for_each(&self, mut f: impl FnMut(TaskView<'_>)) {
        for shard in self.shards.iter() {
            let shard = lock(shard);
            let mut next = shard.head;
            while let Some(ptr) = next {
                let raw = RawTask::from_raw(ptr);
                let trailer = raw.trailer();
                f(TaskView {
                    id: raw.id(),
                    name: trailer.name.as_deref().map(|name| &**name),
                    location: trailer.location,
                    parent: trailer.parent,
                    state: raw.state().load(),
                });
                // SAFETY: `ptr` is in this shard's list and we hold the lock that guards
                // its links.
                next = unsafe { ptr.as_ref().owned_next.with(|p| *p) };
            }
        }
    }

    /// The name of live task `id` (`Some(None)`: alive, unnamed); walks one shard only.
    pub(crate) fn name_of(&self, id: Id) -> Option<Option<String>> {
        let shard = lock(&self.shards[id.as_u64() as usize & self.mask]);
        let mut next = shard.head;
        while let Some(ptr) = next {
            let raw = RawTask::from_raw(ptr);
            if raw.id() == id {
                return Some(
                    raw.trailer()
                        .name
                        .as_deref()
                        .map(|name| (**name).to_owned()),
                );
            }
            // SAFETY: `ptr` is in this shard's list and we hold the lock that guards its
            // links.
            next = unsafe { ptr.as_ref().owned_next.with(|p| *p) };
        }
        None
    }

    /// Tasks ever added.
    pub(crate) fn spawned(&self) -> u64 {
        self.shards.iter().map(|s| lock(s).added).sum()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| lock(s).head.is_none())
    }
}

/// What [`OwnedTasks::for_each`] shows of one task.
pub(crate) struct TaskView<'a> {
    pub(crate) id: Id,
    pub(crate) name: Option<&'a str>,
    pub(crate) location: &'static std::panic::Location<'static>,
    pub(crate) parent: Option<Id>,
    pub(crate) state: Snapshot,
}

fn lock(shard: &Mutex<Shard>) -> crate::loom::MutexGuard<'_, Shard> {
    // The shard holds no invariant a panic could break mid-way: recover from poisoning.
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

/// # Safety
///
/// `node` must be in no list, and the caller must hold the shard's lock.
unsafe fn push_front(shard: &mut Shard, node: NonNull<Header>) {
    // SAFETY: the caller holds the lock guarding these links.
    unsafe {
        let header = node.as_ref();
        header.owned_prev.with_mut(|p| *p = None);
        header.owned_next.with_mut(|p| *p = shard.head);
        if let Some(old) = shard.head {
            old.as_ref().owned_prev.with_mut(|p| *p = Some(node));
        }
    }
    shard.head = Some(node);
}

/// Unlinks `node` if it is in the shard's list; returns whether it was.
///
/// # Safety
///
/// `node` must be in this shard's list or in none, and the caller must hold the lock.
unsafe fn unlink(shard: &mut Shard, node: NonNull<Header>) -> bool {
    // SAFETY: the caller holds the lock guarding these links.
    unsafe {
        let header = node.as_ref();
        let prev = header.owned_prev.with(|p| *p);
        let next = header.owned_next.with(|p| *p);
        match prev {
            Some(prev) => prev.as_ref().owned_next.with_mut(|p| *p = next),
            None => {
                if shard.head != Some(node) {
                    return false;
                }
                shard.head = next;
            }
        }
        if let Some(next) = next {
            next.as_ref().owned_prev.with_mut(|p| *p = prev);
        }
        header.owned_prev.with_mut(|p| *p = None);
        header.owned_next.with_mut(|p| *p = None);
    }
    true
}

impl<S> std::fmt::Debug for OwnedTasks<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedTasks")
            .field("shards", &self.shards.len())
            .finish()
    }
}
