//! `Handle::dump`: every live task of a runtime, as a value and as gevent's
//! `format_run_info`-style tree.
//!
//! The dump reads what the runtime keeps anyway: the owned-task lists (walked shard by
//! shard under their locks: id, name, spawn location, parent and the state word of each
//! task) and each worker's `PollSlot` (which task it polls, since when). Nothing waits for
//! a worker, so a worker stuck inside a poll can't stall a dump: the dump shows it. Taking
//! no dump costs nothing beyond the poll slot's two stores per poll and the parent id
//! kept in each task.
//!
//! What a task waits on comes from the primitives' wait tracking, which is on while
//! deadlock detection is ([`Builder::detect_deadlocks`](crate::Builder::detect_deadlocks)):
//! then a task parked on a `Mutex`, `RwLock`, `ReentrantMutex` or `Semaphore` shows the
//! primitive (its type and where it was created), where it waits, and who holds it.

use crate::scheduler;
use crate::task_core::{Id, TaskView};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// A snapshot of every live task of a runtime: see [`Handle::dump`](crate::Handle::dump).
///
/// Iterate it for [`TaskInfo`]s (ordered by id), or print it: `Display` draws the spawn
/// tree, each task under the one that spawned it, with the workers' polls on top.
///
/// ```
/// use runtime::task;
///
/// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// let stop = std::sync::Arc::new(runtime::sync::Event::new());
/// let server = rt.spawn({
///     let stop = stop.clone();
///     async move {
///         let child = task::Builder::new()
///             .name("conn-1")
///             .spawn(async move { stop.wait().await });
///         child.await.unwrap();
///     }
/// });
/// let dump = loop {
///     let dump = rt.handle().dump();
///     if dump.iter().any(|t| t.name() == Some("conn-1")) {
///         break dump;
///     }
///     std::thread::yield_now();
/// };
/// let conn = dump.iter().find(|t| t.name() == Some("conn-1")).unwrap();
/// assert_eq!(conn.parent(), Some(server.id()));
/// println!("{dump}");
/// stop.set();
/// rt.block_on(server).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct TaskDump {
    tasks: Vec<TaskInfo>,
    workers: Vec<WorkerInfo>,
}

/// One task of a [`TaskDump`].
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let task = rt.spawn(std::future::pending::<()>());
/// let dump = rt.handle().dump();
/// let info = dump.get(task.id()).unwrap();
/// assert!(info.location().file().ends_with(".rs"));
/// assert_eq!(info.name(), None);
/// ```
#[derive(Debug, Clone)]
pub struct TaskInfo {
    id: Id,
    name: Option<String>,
    location: &'static Location<'static>,
    parent: Option<Id>,
    state: TaskState,
    waiting: Option<WaitInfo>,
}

/// What a task is doing when the dump is taken.
///
/// ```
/// use runtime::diag::TaskState;
///
/// let rt = runtime::Runtime::new().unwrap();
/// let task = rt.spawn(std::future::pending::<()>());
/// loop {
///     // Scheduled until a worker has polled it once; idle after.
///     match rt.handle().dump().get(task.id()).unwrap().state() {
///         TaskState::Idle => break,
///         _ => std::thread::yield_now(),
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be woken (on IO, a timer, a primitive, another task...).
    Idle,
    /// Woken and queued, waiting for a worker.
    Scheduled,
    /// Inside a poll now.
    Running {
        /// The worker polling it (`None` when it is polled elsewhere: a current-thread
        /// runtime's driving thread reports worker 0; a task being cancelled by another
        /// thread has none).
        worker: Option<usize>,
        /// How long this poll has lasted, to within the worker's last driver turn.
        elapsed: Option<Duration>,
    },
}

/// What a worker thread is doing when the dump is taken.
///
/// ```
/// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// let dump = rt.handle().dump();
/// assert_eq!(dump.workers().len(), 2);
/// assert!(dump.workers().iter().all(|w| w.task().is_none())); // nothing to run
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerInfo {
    index: usize,
    polls: u64,
    task: Option<Id>,
    elapsed: Option<Duration>,
}

/// A task parked on one of the runtime's primitives (see the module doc for when this is
/// known).
///
/// ```
/// # fn show(info: &runtime::diag::TaskInfo) {
/// if let Some(wait) = info.waiting_on() {
///     println!("waits on {} created at {}", wait.kind(), wait.created_at());
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WaitInfo {
    pub(crate) kind: &'static str,
    pub(crate) created_at: &'static Location<'static>,
    pub(crate) waits_at: &'static Location<'static>,
    pub(crate) elapsed: Option<Duration>,
    pub(crate) holders: Vec<Holder>,
}

/// Who holds a primitive a task waits on, and where it took it.
///
/// ```
/// # fn show(holder: &runtime::diag::Holder) {
/// println!("held by {} since {}", holder.owner(), holder.taken_at());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Holder {
    pub(crate) owner: Owner,
    pub(crate) taken_at: &'static Location<'static>,
    pub(crate) count: usize,
}

/// A task or an OS thread: who holds or waits on a primitive.
///
/// ```
/// use runtime::diag::Owner;
///
/// let rt = runtime::Runtime::new().unwrap();
/// let id = rt.block_on(async { runtime::spawn(async { runtime::task::id() }).await.unwrap() });
/// assert_eq!(Owner::Task(id).to_string(), format!("task {id}"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Owner {
    /// A task of this or another runtime.
    Task(Id),
    /// An OS thread outside any task (a `*_blocking` call), by name when it has one.
    Thread(String),
}

// ===== taking a dump =====

/// What each worker is polling now: the poll slots only, no task list.
pub(crate) fn workers(handle: &scheduler::Handle) -> Vec<WorkerInfo> {
    let (samples, now) = handle.poll_samples();
    samples
        .iter()
        .enumerate()
        .map(|(index, s)| WorkerInfo {
            index,
            polls: s.polls,
            task: s.task,
            elapsed: s.task.and_then(|_| now.checked_sub(s.started)),
        })
        .collect()
}

pub(crate) fn take(handle: &scheduler::Handle) -> TaskDump {
    let workers = workers(handle);
    let mut waits = super::waits::by_task();
    let mut tasks = Vec::new();
    let mut add = |view: TaskView<'_>| {
        if view.state.is_complete() {
            return; // finished, only not yet removed from the list
        }
        let state = if view.state.is_running() {
            let worker = workers.iter().find(|w| w.task == Some(view.id));
            TaskState::Running {
                worker: worker.map(|w| w.index),
                elapsed: worker.and_then(|w| w.elapsed),
            }
        } else if view.state.is_notified() {
            TaskState::Scheduled
        } else {
            TaskState::Idle
        };
        tasks.push(TaskInfo {
            id: view.id,
            name: view.name.map(str::to_owned),
            location: view.location,
            parent: view.parent,
            state,
            waiting: waits.remove(&view.id.as_u64()),
        });
    };
    match handle {
        scheduler::Handle::MultiThread(h) => h.owned.for_each(&mut add),
        scheduler::Handle::CurrentThread(h) => {
            h.owned.for_each(&mut add);
            h.locals.for_each_task(&mut add);
        }
    }
    tasks.sort_by_key(|t| t.id);
    TaskDump { tasks, workers }
}

// ===== accessors =====

impl TaskDump {
    /// The tasks, ordered by id.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().dump().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, TaskInfo> {
        self.tasks.iter()
    }

    /// How many tasks were alive.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let _t = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.handle().dump().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task was alive.
    ///
    /// ```
    /// assert!(runtime::Runtime::new().unwrap().handle().dump().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The task with this id, if it was alive.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let t = rt.spawn(std::future::pending::<()>());
    /// assert!(rt.handle().dump().get(t.id()).is_some());
    /// ```
    pub fn get(&self, id: Id) -> Option<&TaskInfo> {
        self.tasks
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.tasks[i])
    }

    /// The worker threads (one for a current-thread runtime: the thread driving it).
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.handle().dump().workers().len(), 1);
    /// ```
    pub fn workers(&self) -> &[WorkerInfo] {
        &self.workers
    }
}

impl<'a> IntoIterator for &'a TaskDump {
    type Item = &'a TaskInfo;
    type IntoIter = std::slice::Iter<'a, TaskInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.tasks.iter()
    }
}

impl IntoIterator for TaskDump {
    type Item = TaskInfo;
    type IntoIter = std::vec::IntoIter<TaskInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.tasks.into_iter()
    }
}

impl TaskInfo {
    /// The task's id.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let t = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.handle().dump().iter().next().unwrap().id(), t.id());
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }

    /// Its name, from [`task::Builder::name`](crate::task::Builder::name).
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let _t = rt.block_on(async {
    ///     runtime::task::Builder::new().name("ticker").spawn(std::future::pending::<()>())
    /// });
    /// assert_eq!(rt.handle().dump().iter().next().unwrap().name(), Some("ticker"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where it was spawned.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let _t = rt.spawn(std::future::pending::<()>());
    /// let line = line!() - 1;
    /// assert_eq!(rt.handle().dump().iter().next().unwrap().location().line(), line);
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The task that spawned it (`None` when spawned from outside any task).
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let _t = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.handle().dump().iter().next().unwrap().parent(), None);
    /// ```
    pub fn parent(&self) -> Option<Id> {
        self.parent
    }

    /// Idle, scheduled or running (and for how long).
    ///
    /// ```
    /// use runtime::diag::TaskState;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let _t = rt.spawn(std::future::pending::<()>());
    /// let state = rt.handle().dump().iter().next().unwrap().state();
    /// assert!(matches!(state, TaskState::Idle | TaskState::Scheduled));
    /// ```
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// The primitive it is parked on, when wait tracking is on (see [`TaskDump`]).
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap(); // tracking off
    /// let _t = rt.spawn(std::future::pending::<()>());
    /// assert!(rt.handle().dump().iter().next().unwrap().waiting_on().is_none());
    /// ```
    pub fn waiting_on(&self) -> Option<&WaitInfo> {
        self.waiting.as_ref()
    }
}

impl WorkerInfo {
    /// The worker's index (its thread is named `{thread_name}-{index}`).
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let dump = rt.handle().dump();
    /// assert_eq!(dump.workers()[1].index(), 1);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Polls this worker began so far.
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async { runtime::spawn(async {}).await }).unwrap();
    /// assert!(rt.handle().dump().workers()[0].polls() >= 1);
    /// ```
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// The task it is polling, if any.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().dump().workers()[0].task(), None);
    /// ```
    pub fn task(&self) -> Option<Id> {
        self.task
    }

    /// How long the current poll has lasted, to within the worker's last driver turn.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().dump().workers()[0].elapsed(), None);
    /// ```
    pub fn elapsed(&self) -> Option<Duration> {
        self.elapsed
    }
}

impl WaitInfo {
    /// The primitive's type: `"Mutex"`, `"RwLock"`, `"ReentrantMutex"`, `"Semaphore"`...
    ///
    /// ```
    /// # fn f(w: &runtime::diag::WaitInfo) -> &str {
    /// w.kind()
    /// # }
    /// ```
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Where the primitive was created.
    ///
    /// ```
    /// # fn f(w: &runtime::diag::WaitInfo) -> u32 {
    /// w.created_at().line()
    /// # }
    /// ```
    pub fn created_at(&self) -> &'static Location<'static> {
        self.created_at
    }

    /// Where the task waits on it (the `lock`, `acquire`, ... call).
    ///
    /// ```
    /// # fn f(w: &runtime::diag::WaitInfo) -> u32 {
    /// w.waits_at().line()
    /// # }
    /// ```
    pub fn waits_at(&self) -> &'static Location<'static> {
        self.waits_at
    }

    /// How long it has waited, when known.
    ///
    /// ```
    /// # fn f(w: &runtime::diag::WaitInfo) -> Option<std::time::Duration> {
    /// w.elapsed()
    /// # }
    /// ```
    pub fn elapsed(&self) -> Option<Duration> {
        self.elapsed
    }

    /// Who holds it now.
    ///
    /// ```
    /// # fn f(w: &runtime::diag::WaitInfo) -> usize {
    /// w.holders().len()
    /// # }
    /// ```
    pub fn holders(&self) -> &[Holder] {
        &self.holders
    }
}

impl Holder {
    /// The task or thread holding it.
    ///
    /// ```
    /// # fn f(h: &runtime::diag::Holder) -> String {
    /// h.owner().to_string()
    /// # }
    /// ```
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Where it took the primitive.
    ///
    /// ```
    /// # fn f(h: &runtime::diag::Holder) -> u32 {
    /// h.taken_at().line()
    /// # }
    /// ```
    pub fn taken_at(&self) -> &'static Location<'static> {
        self.taken_at
    }

    /// How many permits it holds (1 for a lock; a read lock counts once per guard).
    ///
    /// ```
    /// # fn f(h: &runtime::diag::Holder) -> usize {
    /// h.count()
    /// # }
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }
}

// ===== printing =====

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Task(id) => write!(f, "task {id}"),
            Owner::Thread(name) => write!(f, "thread {name:?}"),
        }
    }
}

/// Seconds with millisecond precision, as gevent prints durations.
pub(crate) struct Secs(pub(crate) Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} s", self.0.as_secs_f64())
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TaskState::Idle => f.write_str("idle"),
            TaskState::Scheduled => f.write_str("scheduled"),
            TaskState::Running { worker, elapsed } => {
                f.write_str("running")?;
                if let Some(worker) = worker {
                    write!(f, " on worker {worker}")?;
                }
                if let Some(elapsed) = elapsed {
                    write!(f, " for {}", Secs(elapsed))?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for TaskInfo {
    /// One line: `task 7 "conn-42" idle, spawned at src/main.rs:20:9`, then the wait, if
    /// any, on the lines below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        write!(f, " {}, spawned at {}", self.state, self.location)?;
        if let Some(wait) = &self.waiting {
            write!(f, "\n    {wait}")?;
        }
        Ok(())
    }
}

impl fmt::Display for WaitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waits on {} (created at {}) at {}",
            self.kind, self.created_at, self.waits_at
        )?;
        if let Some(elapsed) = self.elapsed {
            write!(f, " for {}", Secs(elapsed))?;
        }
        for (i, holder) in self.holders.iter().enumerate() {
            f.write_str(if i == 0 { ", held by " } else { ", " })?;
            write!(f, "{} since {}", holder.owner, holder.taken_at)?;
            if holder.count > 1 {
                write!(f, " ({} permits)", holder.count)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for TaskDump {
    /// The workers, then the spawn tree: each task under its parent (tasks whose parent
    /// ended start at the left margin), children by id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} live task{}, {} worker{}",
            self.tasks.len(),
            if self.tasks.len() == 1 { "" } else { "s" },
            self.workers.len(),
            if self.workers.len() == 1 { "" } else { "s" },
        )?;
        for w in &self.workers {
            match (w.task, w.elapsed) {
                (Some(task), Some(elapsed)) => writeln!(
                    f,
                    "worker {}: polling task {task} for {}",
                    w.index,
                    Secs(elapsed)
                )?,
                (Some(task), None) => writeln!(f, "worker {}: polling task {task}", w.index)?,
                (None, _) => writeln!(f, "worker {}: not in a poll", w.index)?,
            }
        }
        let alive: HashMap<Id, usize> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i))
            .collect();
        let mut children: BTreeMap<Option<Id>, Vec<usize>> = BTreeMap::new();
        for (i, t) in self.tasks.iter().enumerate() {
            let parent = t.parent.filter(|p| alive.contains_key(p));
            children.entry(parent).or_default().push(i);
        }
        let mut stack: Vec<(usize, usize)> = children
            .get(&None)
            .map(|roots| roots.iter().rev().map(|&i| (i, 0)).collect())
            .unwrap_or_default();
        while let Some((i, depth)) = stack.pop() {
            let task = &self.tasks[i];
            let indent = "    ".repeat(depth);
            let branch = if depth == 0 { "" } else { "+-- " };
            let text = task.to_string();
            for (n, line) in text.lines().enumerate() {
                if n == 0 {
                    writeln!(f, "{indent}{branch}{line}")?;
                } else {
                    writeln!(f, "{indent}{}{line}", if depth == 0 { "" } else { "    " })?;
                }
            }
            if let Some(kids) = children.get(&Some(task.id)) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
            }
        }
        Ok(())
    }
}
