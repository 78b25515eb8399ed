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
    /// A builder with no options set.
    pub fn new() -> Builder<'a> {
        Builder::default()
    }

    /// Names the task.
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = TaskMeta::new(self.name, Location::caller());
        crate::context::with_current_handle(|handle| handle.spawn_with(future, meta))
    }

    /// Spawns on the runtime of `handle`.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn_with(future, TaskMeta::new(self.name, Location::caller()))
    }
}
