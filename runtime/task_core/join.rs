//! `JoinHandle` and `AbortHandle`.

use crate::task_core::raw::RawTask;
use crate::task_core::{Id, JoinError};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned permission to await a task's output.
///
/// Dropping it detaches the task: the task keeps running and its output is dropped where it
/// finishes. Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was
/// cancelled ([`abort`](JoinHandle::abort), runtime shutdown).
///
/// An output that nobody takes (its task detached, or its handle dropped after the task
/// finished) is dropped by the runtime; if that `Drop` panics, the panic hook reports it and
/// the panic goes no further: not into the worker, nor into the code that dropped the handle.
///
/// # Cancel safety
///
/// Awaiting is cancel-safe: dropping the `.await` leaves the output in the task for a later
/// poll of the same handle.
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let answer = rt.block_on(async { runtime::spawn(async { 6 * 7 }).await.unwrap() });
/// assert_eq!(answer, 42);
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the output out of the task, so it may travel to another
// thread when the output may.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reaches the atomic state (abort, is_finished, id).
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> UnwindSafe for JoinHandle<T> {}
impl<T> RefUnwindSafe for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task: its future is dropped (on a runtime thread, at its next
    /// scheduling point if it is running now) and awaiting the handle gives a cancelled
    /// [`JoinError`]. Aborting a finished task does nothing: its output stays available.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let handle = runtime::spawn(std::future::pending::<()>());
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        abort(self.raw);
    }

    /// Whether the task has finished (completed, panicked or been cancelled). Never waits.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(async { 1 });
    /// assert!(!handle.is_finished()); // this thread has not let it run yet
    /// while !handle.is_finished() {
    ///     runtime::yield_now().await;
    /// }
    /// assert_eq!(handle.await.unwrap(), 1); // the output is still there
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// A handle that can abort the task without owning its output.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(std::future::pending::<()>());
    /// let abort = handle.abort_handle();
    /// runtime::spawn(async move { abort.abort() }); // cancel it from another task
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }

    /// The task's id: the one [`task::id`](crate::task::id) returns inside it.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(async { runtime::task::id() });
    /// let id = handle.id();
    /// assert_eq!(handle.await.unwrap(), id);
    /// # }
    /// ```
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut ret = Poll::Pending;
        let mut coop = std::task::ready!(crate::coop::poll_proceed(cx));
        // SAFETY: `T` is the task's output type (fixed at spawn) and this is its handle.
        unsafe { self.raw.try_read_output(&mut ret, cx.waker()) };
        if ret.is_ready() {
            coop.made_progress();
        }
        ret
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.raw.state().drop_join_handle_fast().is_ok() {
            return;
        }
        self.raw.drop_join_handle_slow();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trailer = self.raw.trailer();
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("name", &trailer.name)
            .field("spawned_at", &format_args!("{}", trailer.location))
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Aborts a task without owning its output; cloneable, unlike [`JoinHandle`].
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let handle = runtime::spawn(std::future::pending::<()>());
///     let abort = handle.abort_handle();
///     abort.abort();
///     assert!(handle.await.unwrap_err().is_cancelled());
///     assert!(abort.is_finished());
/// });
/// ```
pub struct AbortHandle {
    raw: RawTask,
}

// SAFETY: an abort handle only touches the atomic state word and the task id.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(std::future::pending::<()>());
    /// handle.abort_handle().abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn abort(&self) {
        abort(self.raw);
    }

    /// Whether the task has finished (completed, panicked or been cancelled). Never waits.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(async {});
    /// let abort = handle.abort_handle();
    /// assert!(!abort.is_finished());
    /// handle.await.unwrap();
    /// assert!(abort.is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's id, the same as its [`JoinHandle::id`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(async {});
    /// assert_eq!(handle.abort_handle().id(), handle.id());
    /// # }
    /// ```
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trailer = self.raw.trailer();
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("name", &trailer.name)
            .field("spawned_at", &format_args!("{}", trailer.location))
            .finish()
    }
}

fn abort(raw: RawTask) {
    if raw.state().transition_to_notified_and_cancel() {
        // Idle: submit it (with the new reference) so a worker drops the future.
        raw.schedule();
    }
}
