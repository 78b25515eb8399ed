//! The task cell: one allocation holding the header, the future or its output, and the
//! join waker; plus the type-erased pointer and vtable everything else goes through.
//!
//! Layout (`#[repr(C)]`, header first so a `NonNull<Header>` is also a pointer to the cell):
//!
//! ```text
//! Header  { state, vtable, queue_next, owned links, id }
//! Core    { scheduler: S, stage: Running(F) | Finished(Result<F::Output, JoinError>) | Consumed }
//! Trailer { join waker, name, spawn location, parent task, console span (feature `tracing`) }
//! ```

use crate::loom::UnsafeCell;
use crate::task_core::error::JoinError;
use crate::task_core::harness;
use crate::task_core::id::Id;
use crate::task_core::state::State;
use crate::task_core::Schedule;
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::task::{Poll, Waker};

#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// Link in the injector's intrusive list; owned by whoever holds the `Notified`.
    pub(crate) queue_next: UnsafeCell<Option<NonNull<Header>>>,
    /// Links in the owned-tasks list; guarded by that list's shard lock.
    pub(crate) owned_prev: UnsafeCell<Option<NonNull<Header>>>,
    pub(crate) owned_next: UnsafeCell<Option<NonNull<Header>>>,
    pub(crate) id: Id,
}

/// Per-(future, scheduler) functions, reached through the header.
///
/// Every entry point is an `unsafe fn` with one contract (see `harness`'s vtable section):
/// the pointer is the header of a live cell of the very future and scheduler types the
/// vtable was made for, and the caller owns what the entry point consumes.
pub(crate) struct Vtable {
    pub(crate) poll: unsafe fn(NonNull<Header>),
    pub(crate) fail: unsafe fn(NonNull<Header>, std::io::Error),
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(crate) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
    pub(crate) trailer_offset: usize,
}

#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) core: Core<F, S>,
    pub(crate) trailer: Trailer,
}

pub(crate) struct Core<F: Future, S> {
    pub(crate) scheduler: S,
    pub(crate) stage: UnsafeCell<Stage<F>>,
}

pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(crate) struct Trailer {
    /// The `JoinHandle`'s waker; who may touch it is decided by `JOIN_WAKER` (see `state`).
    pub(crate) waker: UnsafeCell<Option<Waker>>,
    /// Boxed twice: one word in every task, a second allocation only for named ones.
    pub(crate) name: Option<Box<Box<str>>>,
    pub(crate) location: &'static Location<'static>,
    /// The task that spawned this one, for the task dump's spawn tree.
    pub(crate) parent: Option<Id>,
    /// The task's `runtime.spawn` span (see `trace`).
    #[cfg(feature = "tracing")]
    pub(crate) span: crate::task_core::trace::TaskSpan,
}

/// What a task knows about itself besides its future.
pub(crate) struct TaskMeta {
    pub(crate) id: Id,
    pub(crate) name: Option<Box<Box<str>>>,
    pub(crate) location: &'static Location<'static>,
    /// The task running where this one was spawned, if any.
    pub(crate) parent: Option<Id>,
    /// Console's kind column: `"task"` unless told (`with_kind`).
    #[cfg(feature = "tracing")]
    pub(crate) kind: &'static str,
}

impl TaskMeta {
    /// A fresh id, the name (if any), where the task was spawned and by which task.
    pub(crate) fn new(name: Option<&str>, location: &'static Location<'static>) -> TaskMeta {
        TaskMeta {
            id: Id::next(),
            name: name.map(|name| Box::new(Box::from(name))),
            location,
            parent: crate::task_core::try_id(),
            #[cfg(feature = "tracing")]
            kind: "task",
        }
    }

    /// Sets the kind console shows (`"blocking"` for pool jobs); kept only with the
    /// `tracing` feature.
    pub(crate) fn with_kind(self, kind: &'static str) -> TaskMeta {
        #[cfg(feature = "tracing")]
        return TaskMeta { kind, ..self };
        #[cfg(not(feature = "tracing"))]
        {
            let _ = kind;
            self
        }
    }
}

impl<F: Future, S: Schedule> Cell<F, S> {
    pub(crate) fn allocate(future: F, scheduler: S, meta: TaskMeta) -> NonNull<Header> {
        #[cfg(feature = "tracing")]
        let span = crate::task_core::trace::TaskSpan::new(&meta, std::mem::size_of::<F>());
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<F, S>(),
                queue_next: UnsafeCell::new(None),
                owned_prev: UnsafeCell::new(None),
                owned_next: UnsafeCell::new(None),
                id: meta.id,
            },
            core: Core {
                scheduler,
                stage: UnsafeCell::new(Stage::Running(future)),
            },
            trailer: Trailer {
                waker: UnsafeCell::new(None),
                name: meta.name,
                location: meta.location,
                parent: meta.parent,
                #[cfg(feature = "tracing")]
                span,
            },
        });
        NonNull::from(Box::leak(cell)).cast()
    }
}

fn vtable<F: Future, S: Schedule>() -> &'static Vtable {
    // One static per (F, S) pair: a const promoted to 'static.
    trait HasVtable {
        const VTABLE: Vtable;
    }
    impl<F: Future, S: Schedule> HasVtable for (F, S) {
        const VTABLE: Vtable = Vtable {
            poll: harness::poll::<F, S>,
            fail: harness::fail::<F, S>,
            schedule: harness::schedule::<F, S>,
            dealloc: harness::dealloc::<F, S>,
            try_read_output: harness::try_read_output::<F, S>,
            drop_join_handle_slow: harness::drop_join_handle_slow::<F, S>,
            shutdown: harness::shutdown::<F, S>,
            trailer_offset: std::mem::offset_of!(Cell<F, S>, trailer),
        };
    }
    &<(F, S) as HasVtable>::VTABLE
}

/// A type-erased, non-owning pointer to a task cell. Reference counting is the caller's.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    pub(crate) fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `RawTask` only exists while its owner holds a reference, so the cell
        // is allocated and the header is never mutated except through atomics and cells.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn state(&self) -> &State {
        &self.header().state
    }

    pub(crate) fn trailer(&self) -> &Trailer {
        let offset = self.header().vtable.trailer_offset;
        // SAFETY: `trailer_offset` is the offset of the trailer in this very cell type,
        // and the cell stays allocated while a reference is held.
        unsafe { &*self.ptr.as_ptr().cast::<u8>().add(offset).cast::<Trailer>() }
    }

    /// Polls the task, consuming one `Notified` reference.
    pub(crate) fn poll(self) {
        // SAFETY: the vtable matches the cell; the caller transfers a `Notified` reference.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Completes the queued task as cancelled with `reason`, consuming one `Notified`
    /// reference.
    pub(crate) fn fail(self, reason: std::io::Error) {
        // SAFETY: the vtable matches the cell; the caller transfers a `Notified` reference.
        unsafe { (self.header().vtable.fail)(self.ptr, reason) }
    }

    /// Submits the task to its scheduler, consuming one reference as the `Notified`.
    pub(crate) fn schedule(self) {
        // SAFETY: as above; the caller transfers a reference that becomes the `Notified`.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    pub(crate) fn dealloc(self) {
        // SAFETY: called once, when the reference count reached zero.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    ///
    /// `dst` must point to a `Poll<Result<T, JoinError>>` with `T` the task's output type,
    /// and the caller must be the task's `JoinHandle`.
    pub(crate) unsafe fn try_read_output<T>(
        self,
        dst: *mut Poll<Result<T, JoinError>>,
        waker: &Waker,
    ) {
        // SAFETY: the caller guarantees the output type; the vtable matches the cell.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst.cast(), waker) }
    }

    pub(crate) fn drop_join_handle_slow(self) {
        // SAFETY: called by the `JoinHandle`'s drop, which owns one reference.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    /// Shuts the task down, consuming the owned-list reference.
    pub(crate) fn shutdown(self) {
        // SAFETY: the caller transfers the owned-list reference.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    pub(crate) fn ref_inc(self) {
        self.state().ref_inc();
    }

    pub(crate) fn drop_reference(self) {
        if self.state().ref_dec() {
            self.dealloc();
        }
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }
}

// SAFETY: a task cell is shared between threads by design: its state word is atomic and
// every other field is accessed under the exclusivity rules documented in `state`.
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}
