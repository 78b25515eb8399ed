//! `TimerNode`: a timer's node in the wheel, embedded in the `Sleep` that owns it.
//!
//! Every field but `fired` is guarded by the time driver's mutex (the wheel lock): the
//! owner reads and writes them only while holding it, and so does the driver. `fired` is
//! set under the lock and read without it, so a completed `Sleep` polls without locking.

use crate::loom::atomic::{AtomicBool, Ordering};
use std::cell::UnsafeCell;
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

pub(crate) struct TimerNode {
    inner: UnsafeCell<NodeInner>,
    fired: AtomicBool,
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

// SAFETY: the cell is only accessed under the wheel lock (see the module doc).
unsafe impl Send for TimerNode {}
// SAFETY: as above; `fired` is atomic.
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
            _pinned: PhantomPinned,
        }
    }

    /// The guarded fields.
    ///
    /// # Safety
    ///
    /// The caller holds the wheel lock, and the returned reference does not outlive it or
    /// overlap another one to the same node.
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

    /// Hands the node's waker to `wake` and marks it fired (called under the lock).
    ///
    /// `fired` is the driver's last write to the node: once the owner sees it (without
    /// the lock), it may free the node, so nothing may touch the node afterwards.
    pub(crate) fn fire(&self, inner: &mut NodeInner, wake: &mut Vec<Waker>) {
        wake.extend(inner.waker.take());
        self.set_fired(true);
    }
}
