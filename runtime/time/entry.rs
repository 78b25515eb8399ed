//! `TimerNode`: a timer's node in the wheel, embedded in the `Sleep` that owns it.
//!
//! The fields in `inner` are guarded by the lock of the wheel shard the node is in: the
//! owner reads and writes them only while holding it, and so does the driver. `fired` is
//! set under the lock and read without it, so a completed `Sleep` polls without locking.
//! `shard` says which lock that is: the owner sets it before the node's first insert, and
//! it never changes while the node is in a wheel (the driver knows which shard it is
//! draining; debug builds check that the two agree).

use crate::loom::atomic::{AtomicBool, Ordering};
use std::cell::UnsafeCell;
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

pub(crate) struct TimerNode {
    inner: UnsafeCell<NodeInner>,
    fired: AtomicBool,
    /// The wheel shard the node is inserted in (see the module doc).
    pub(crate) shard: u32,
    _pinned: PhantomPinned,
}

pub(crate) struct NodeInner {
    pub(crate) prev: Option<NonNull<TimerNode>>,
    pub(crate) next: Option<NonNull<TimerNode>>,
    /// The deadline in driver ticks (ms since the driver started), rounded up.
    pub(crate) when: u64,
    pub(crate) waker: Option<Waker>,
    /// `(level, slot)` while linked in the wheel.
    pub(crate) slot: Option<(u8, u8)>,
}

// SAFETY: the cell is only accessed under its shard's wheel lock (see the module doc).
unsafe impl Send for TimerNode {}
// SAFETY: as above; `fired` is atomic, and `shard` is written only through `&mut`.
unsafe impl Sync for TimerNode {}

impl TimerNode {
    pub(crate) fn new() -> TimerNode {
        TimerNode {
            inner: UnsafeCell::new(NodeInner {
                prev: None,
                next: None,
                when: 0,
                waker: None,
                slot: None,
            }),
            fired: AtomicBool::new(false),
            shard: 0,
            _pinned: PhantomPinned,
        }
    }

    /// The guarded fields.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the node's shard, and the returned reference does not
    /// outlive it or overlap another one to the same node.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn inner(&self) -> &mut NodeInner {
        // SAFETY: exclusivity is the caller's contract (the lock).
        unsafe { &mut *self.inner.get() }
    }

    pub(crate) fn is_fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    pub(crate) fn set_fired(&self, fired: bool) {
        self.fired.store(fired, Ordering::Release);
    }

    /// Hands the node's waker to `wake`, with its deadline tick, and marks it fired
    /// (called under the lock).
    ///
    /// `fired` is the driver's last write to the node: once the owner sees it (without
    /// the lock), it may free the node, so nothing may touch the node afterwards.
    pub(crate) fn fire(&self, inner: &mut NodeInner, wake: &mut Vec<(u64, Waker)>) {
        wake.extend(inner.waker.take().map(|waker| (inner.when, waker)));
        self.set_fired(true);
    }
}
