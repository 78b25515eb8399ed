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
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic payload.
    ///
    /// # Panics
    ///
    /// If the task was cancelled instead (see [`JoinError::try_into_panic`]).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` on a cancelled task; check `is_panic` first")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.panic {
            Some(panic) => Ok(panic.0),
            None => Err(self),
        }
    }

    /// The id of the task that failed.
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
