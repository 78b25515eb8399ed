//! `JoinError`: why a task produced no value.

use crate::task_core::Id;
use std::any::Any;
use std::fmt;
use std::io;

/// A task failed to produce its output: it was cancelled, or it panicked.
///
/// A blocking job (`spawn_blocking`) is also cancelled when the pool has no thread and the
/// OS refuses to start one: then [`is_spawn_failure`](JoinError::is_spawn_failure) is true
/// as well, and the error's [`source`](std::error::Error::source) is the `io::Error` the
/// thread spawn returned.
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
    /// `None`: cancelled. Boxed so the error stays two words, which keeps every task's
    /// output slot small.
    failure: Option<Box<Failure>>,
}

/// Why a task that was not simply cancelled produced no value.
enum Failure {
    /// The panic payload, made `Sync` by only ever handing it out by value.
    Panic(Box<dyn Any + Send + 'static>),
    /// A blocking job that never ran: no pool thread, and spawning one failed with this.
    Spawn(io::Error),
}

// SAFETY: the panic payload is handed out only by `JoinError::into_panic` /
// `try_into_panic`, which take `self` by value; through `&JoinError` (`Display`, `Debug`) it
// is only read as a `&'static str` or a `String`, both `Sync`. The `io::Error` is `Sync`
// itself.
unsafe impl Sync for Failure {}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError { id, failure: None }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            failure: Some(Box::new(Failure::Panic(payload))),
        }
    }

    pub(crate) fn spawn_failed(id: Id, err: io::Error) -> JoinError {
        JoinError {
            id,
            failure: Some(Box::new(Failure::Spawn(err))),
        }
    }

    /// Whether the task was cancelled (aborted, or dropped by runtime shutdown), or is a
    /// blocking job that never ran because no thread could be spawned for it (see
    /// [`is_spawn_failure`](JoinError::is_spawn_failure)). Either way it never produced a
    /// value and there is no panic to pass on.
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
        !self.is_panic()
    }

    /// Whether the task is a blocking job that was cancelled before it ran because the
    /// pool had no thread and the OS refused to start one (`EAGAIN`: a thread or memory
    /// limit). [`is_cancelled`](JoinError::is_cancelled) is true too; the `io::Error` of
    /// the failed spawn is the error's [`source`](std::error::Error::source) and appears in
    /// its `Display`. A later `spawn_blocking` tries to spawn a thread again.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::error::Error;
    /// match runtime::spawn_blocking(|| 2 + 2).await {
    ///     Ok(sum) => assert_eq!(sum, 4),
    ///     Err(err) if err.is_spawn_failure() => {
    ///         let os_err = err.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
    ///         eprintln!("no thread for the job: {os_err}");
    ///     }
    ///     Err(err) => panic!("{err}"),
    /// }
    /// # }
    /// ```
    pub fn is_spawn_failure(&self) -> bool {
        matches!(self.failure.as_deref(), Some(Failure::Spawn(_)))
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
        matches!(self.failure.as_deref(), Some(Failure::Panic(_)))
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
        match self.failure {
            Some(failure) => match *failure {
                Failure::Panic(payload) => Ok(payload),
                spawn @ Failure::Spawn(_) => Err(JoinError {
                    id: self.id,
                    failure: Some(Box::new(spawn)),
                }),
            },
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

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failure.as_deref() {
            None => write!(f, "task {} was cancelled", self.id),
            Some(Failure::Spawn(err)) => write!(
                f,
                "blocking task {} was cancelled: no thread could be spawned to run it ({err})",
                self.id
            ),
            Some(Failure::Panic(p)) => match panic_message(&**p) {
                Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failure.as_deref() {
            None => write!(f, "JoinError::Cancelled({})", self.id),
            Some(Failure::Spawn(err)) => write!(f, "JoinError::SpawnFailed({}, {err:?})", self.id),
            Some(Failure::Panic(p)) => match panic_message(&**p) {
                Some(msg) => write!(f, "JoinError::Panic({}, {msg:?}, ...)", self.id),
                None => write!(f, "JoinError::Panic({}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.failure.as_deref() {
            Some(Failure::Spawn(err)) => Some(err),
            _ => None,
        }
    }
}

/// A spawn failure keeps the kind of the OS error (`WouldBlock` for `EAGAIN`), with the
/// `JoinError` as the inner error; anything else is `ErrorKind::Other`.
impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        match err.failure.as_deref() {
            Some(Failure::Spawn(os)) => io::Error::new(os.kind(), err),
            _ => io::Error::other(err.to_string()),
        }
    }
}
