//! `task::Builder`: spawn with a name.

use crate::task_core::{JoinHandle, TaskMeta};
use crate::Handle;
use std::future::Future;
use std::panic::Location;

/// Spawns a task with options, such as a name that shows up in diagnostics.
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let handle = runtime::task::Builder::new().name("conn-42").spawn(async { 1 });
///     assert_eq!(handle.await.unwrap(), 1);
/// });
/// ```
#[derive(Debug, Default)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set: spawning with it is like [`crate::spawn`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::task::Builder::new().spawn(async { 1 });
    /// assert_eq!(handle.await.unwrap(), 1);
    /// # }
    /// ```
    pub fn new() -> Builder<'a> {
        Builder::default()
    }

    /// Names the task; the name shows in the [`JoinHandle`]'s `Debug` output and in
    /// diagnostics.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let conn = 42;
    /// let name = format!("conn-{conn}");
    /// let handle = runtime::task::Builder::new().name(&name).spawn(async {});
    /// assert!(format!("{handle:?}").contains("conn-42"));
    /// handle.await.unwrap();
    /// # }
    /// ```
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`crate::spawn`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handle = runtime::task::Builder::new().name("sum").spawn(async { 2 + 2 });
    /// assert_eq!(handle.await.unwrap(), 4);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = TaskMeta::new(self.name, Location::caller());
        crate::context::with_current_handle(|handle| handle.spawn_with(future, meta))
    }

    /// Spawns a local task (its future need not be `Send`) on the calling thread, as
    /// [`spawn_local`](crate::task::spawn_local).
    ///
    /// # Panics
    ///
    /// Where the task could not run, as [`spawn_local`](crate::task::spawn_local).
    ///
    /// ```
    /// # #[runtime::main(flavor = "local")]
    /// # async fn main() {
    /// let name = std::rc::Rc::new(String::from("local"));
    /// let handle = runtime::task::Builder::new()
    ///     .name("rc-holder")
    ///     .spawn_local(async move { name.len() });
    /// assert!(format!("{handle:?}").contains("rc-holder"));
    /// assert_eq!(handle.await.unwrap(), 5);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let meta = TaskMeta::new(self.name, Location::caller());
        crate::scheduler::local::spawn(future, meta)
    }

    /// Spawns on the runtime of `handle`; works outside any runtime.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let task = runtime::task::Builder::new()
    ///     .name("background")
    ///     .spawn_on(async { "ok" }, rt.handle());
    /// assert_eq!(rt.block_on(task).unwrap(), "ok");
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn_with(future, TaskMeta::new(self.name, Location::caller()))
    }
}
