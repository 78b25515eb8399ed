//! Instrumentation for tokio-console (feature `tracing`): a span per task, entered around
//! each poll, and an event per waker operation, in the shapes `console-subscriber` reads.
//!
//! # What console expects, and what we emit
//!
//! - A span named `runtime.spawn` (console matches spawns by this name, whatever the
//!   target; ours is `runtime::task`) with the fields `kind` (`"task"`, `"blocking"`),
//!   `task.name` (only for named tasks), `task.id` (a `u64`: `Id::as_u64`),
//!   `size.bytes`, and the spawn location as `loc.file`, `loc.line`, `loc.col`. It has no
//!   parent: a task outlives the code that spawned it, and a parent would keep the
//!   spawner's span open for as long as the task lives.
//! - Each poll enters and exits that span, which is how console counts polls and busy
//!   time. Dropping the future (cancel, shutdown) does not enter it: that is no poll.
//! - The span closes when the task completes (output stored, cancelled or panicked),
//!   before its joiner is woken, not when the last reference to the cell goes: a handle
//!   kept unjoined must not make a finished task look alive.
//! - Waker operations are events with target `runtime::waker` (console takes waker events
//!   from `runtime::waker` and `tokio::task::waker`), `op` one of `waker.clone`,
//!   `waker.wake`, `waker.wake_by_ref`, `waker.drop`, and `task.id` set to the **span's**
//!   id (console's convention: it looks the span up by that number).
//!
//! # Mechanism
//!
//! The span lives in the task's trailer (`raw::Trailer`), so it costs two words per task
//! (its id and a box, empty unless a subscriber wanted the span) and no side table; with the feature off the field, this module and every call into it
//! are compiled out. Its id is copied out when the span is made, because wakers on any
//! thread read it while the span itself belongs to whoever holds the stage: entered by the
//! poller, which holds `RUNNING`, and dropped by whoever completes the task.

use crate::loom::UnsafeCell;
use crate::task_core::raw::TaskMeta;
use tracing::span::{Entered, Id as SpanId};
use tracing::Span;

/// The console span of one task.
pub(crate) struct TaskSpan {
    /// The span's id, for waker events; `None` when no subscriber wanted the span.
    id: Option<SpanId>,
    /// Guarded like the stage: see the module doc. Boxed, so a task pays one word here
    /// and a span only when a subscriber asked for it.
    span: UnsafeCell<Option<Box<Span>>>,
}

impl TaskSpan {
    /// Makes the span of a task about to be allocated; `size` is its future's size.
    pub(crate) fn new(meta: &TaskMeta, size: usize) -> TaskSpan {
        let location = meta.location;
        let span = tracing::trace_span!(
            target: "runtime::task",
            parent: None,
            "runtime.spawn",
            kind = meta.kind,
            task.name = meta.name.as_deref().map(|name| &**name),
            task.id = meta.id.as_u64(),
            size.bytes = size,
            loc.file = location.file(),
            loc.line = location.line(),
            loc.col = location.column(),
        );
        TaskSpan {
            id: span.id(),
            // A span no subscriber wanted is not kept: polls then skip it with one branch.
            span: UnsafeCell::new((!span.is_disabled()).then(|| Box::new(span))),
        }
    }

    /// Enters the span for one poll; it exits when the guard drops.
    ///
    /// # Safety
    ///
    /// The caller holds the right to the task's stage (`RUNNING`) for as long as it keeps
    /// the guard, so nobody closes the span meanwhile.
    pub(crate) unsafe fn enter(&self) -> Option<Entered<'_>> {
        // SAFETY: the caller's right to the stage excludes `close`, the only writer, for
        // the guard's life, which the returned borrow cannot outlive.
        let span = self.span.with(|ptr| unsafe { &*ptr });
        span.as_deref().map(Span::enter)
    }

    /// Closes the span: the task is complete.
    ///
    /// # Safety
    ///
    /// The caller holds the right to complete the task (the stage is its own), so nobody
    /// holds an [`enter`](Self::enter) guard.
    pub(crate) unsafe fn close(&self) {
        // SAFETY: the caller has the stage, so no poll reads the span meanwhile.
        let span = self.span.with_mut(|ptr| unsafe { (*ptr).take() });
        drop(span);
    }

    /// Reports a waker operation on this task (`op` is one of console's names).
    pub(crate) fn waker_op(&self, op: &'static str) {
        if let Some(id) = &self.id {
            tracing::trace!(target: "runtime::waker", op, task.id = id.into_u64());
        }
    }
}
