//! `JoinError`: why a task produced no value.

use crate::task_core::Id;
use std::any::Any;
use std::fmt;

/// A task failed to produce its output: it was cancelled, or it panicked.
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let err = runtime::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(err.is_panic());
///     assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// });
/// ```
pub struct JoinError {
    id: Id,
    /// `None`: cancelled. Boxed twice so the error stays two words, which keeps every
    /// task's output slot small.
    panic: Option<Box<SyncPanic>>,
}

/// The panic payload, made `Sync` by only ever handing it out by value.
struct SyncPanic(Box<dyn Any + Send + 'static>);

// SAFETY: the payload is only reachable through `JoinError::into_panic` /
// `try_into_panic`, which take `self` by value, so no `&` to it is ever shared.
unsafe impl Sync for SyncPanic {}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError { id, panic: None }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            panic: Some(Box::new(SyncPanic(payload))),
        }
    }

    /// Whether the task was cancelled (aborted, or dropped by runtime shutdown).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = handle.await.unwrap_err();
    /// assert!(err.is_cancelled() && !err.is_panic());
    /// # }
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// Whether the task panicked. The panic stays in the task: the worker that ran it, and
    /// the rest of the program, carry on.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = runtime::spawn(async { panic!("bad input") }).await.unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// assert!(err.to_string().contains("bad input"));
    /// # }
    /// ```
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic payload.
    ///
    /// # Panics
    ///
    /// If the task was cancelled instead (see [`JoinError::try_into_panic`]).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = runtime::spawn(async { std::panic::panic_any(42u32) }).await.unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    /// // To carry the panic on in this task instead: std::panic::resume_unwind(payload)
    /// # }
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` on a cancelled task; check `is_panic` first")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = handle.await.unwrap_err();
    /// let err = err.try_into_panic().unwrap_err(); // cancelled: no payload
    /// assert!(err.is_cancelled());
    /// # }
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.panic {
            Some(panic) => Ok(panic.0),
            None => Err(self),
        }
    }

    /// The id of the task that failed.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::spawn(async { panic!() });
    /// let id = handle.id();
    /// assert_eq!(handle.await.unwrap_err().id(), id);
    /// # }
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }
}

fn panic_message(payload: &SyncPanic) -> Option<&str> {
    let payload = &payload.0;
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.panic {
            None => write!(f, "task {} was cancelled", self.id),
            Some(p) => match panic_message(p) {
                Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.panic {
            None => write!(f, "JoinError::Cancelled({})", self.id),
            Some(p) => match panic_message(p) {
                Some(msg) => write!(f, "JoinError::Panic({}, {msg:?}, ...)", self.id),
                None => write!(f, "JoinError::Panic({}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}
