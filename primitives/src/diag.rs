//! Deadlock detection: who holds and who waits for the locks and semaphores, and the
//! wait-for cycle check (hidden: the runtime's `Builder::detect_deadlocks` and task dump use
//! it; `runtime::diag` re-exports the report types).
//!
//! # Off: one relaxed load
//!
//! Tracking is process-wide and starts with [`enable`] (the runtime calls it when a runtime is
//! built with `detect_deadlocks(true)`); it is never turned off again, so a holder recorded
//! when it took a lock is always cleared when it gives it back. Until then every fast path
//! pays one relaxed load of a `static AtomicBool` ([`enabled`]) and nothing else.
//!
//! # On: where the state lives
//!
//! - **Single holders** (a `Mutex`, an `RwLock` writer, a `ReentrantMutex`): inline, in the
//!   primitive's [`Resource`]: the holder's key and where it took the lock, written by the
//!   holder after it acquired and cleared before it releases, with no lock taken.
//! - **Several holders** (`Semaphore` permits, `RwLock` readers): the global table's `holds`,
//!   per resource address and holder key, under the table's lock.
//! - **Waits** (the slow path: the waiter is about to park anyway): the global table's
//!   `waits`, one entry per waiting future, added at its first `Pending` and removed when it
//!   finishes or is dropped (a timeout that ends a wait removes its edge).
//!
//! A holder or waiter is a *key*: a task id (from the hook the runtime fills with
//! [`set_task_hooks`]), or, outside any task, a per-thread key with [`THREAD_KEY`] set.
//!
//! # The cycle check
//!
//! When a waiter `W` starts waiting on `R` (its edge is added, under the table's lock), the
//! check walks from `R`'s holders through what they wait on, and their holders, and so on.
//! It reports a deadlock when the walk comes back to `W` and every party it met waits on
//! something: a party that runs may still release what the others need (a semaphore with
//! one blocked holder and one running holder is not a deadlock). Edges are only added and
//! removed under the table's lock, and a holder records what it holds before it adds its own
//! edge, so the waiter whose edge closes a cycle sees every other edge and holder of it: a
//! cycle is found exactly once, when its last edge is added (the loom models below check
//! this). A cycle is reported at most once even if the same waits are retried.
//!
//! What it does not see: a deadlock closed by a release rather than a wait (a semaphore
//! waiter for several permits left with a blocked holder), and waits on primitives without
//! holders (`Event`, `Condvar`, channels): those have no one to blame.
//!
//! ```
//! use runtime_primitives::{diag, Mutex};
//!
//! diag::enable();
//! let m = Mutex::new(0);
//! let guard = m.try_lock().unwrap();
//! assert!(diag::enabled());
//! drop(guard);
//! assert!(diag::waits().is_empty());
//! ```

use core::fmt;
use core::future::Future;
use core::panic::Location;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use crate::loom::atomic::{AtomicPtr, AtomicU64, Ordering};
use crate::loom::Mutex;
use crate::waiter_list::lock;

/// Keys of plain threads have this bit set, so they never equal a task id.
pub const THREAD_KEY: u64 = 1 << 63;
/// No holder.
const NOBODY: u64 = 0;
/// How many reported cycles are remembered, so a retried wait does not report again.
const REMEMBERED: usize = 64;

/// Process-wide: set once by [`enable`], never cleared. A std atomic even under loom: it
/// orders nothing, and the models construct their own [`Detector`].
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether holder and waiter tracking is on: the one relaxed load the fast paths pay.
///
/// ```
/// runtime_primitives::diag::enable();
/// assert!(runtime_primitives::diag::enabled());
/// ```
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(core::sync::atomic::Ordering::Relaxed)
}

/// Turns tracking on for the whole process, for good (see the module doc). Locks taken
/// before it are not known to the detector until they are taken again.
///
/// ```
/// runtime_primitives::diag::enable();
/// assert!(runtime_primitives::diag::enabled());
/// ```
pub fn enable() {
    ENABLED.store(true, core::sync::atomic::Ordering::Relaxed);
}

// ===== hooks =====

struct TaskHooks {
    current: fn() -> Option<u64>,
    name: fn(u64) -> Option<String>,
}

static TASK_HOOKS: OnceLock<TaskHooks> = OnceLock::new();
static REPORT_HOOK: OnceLock<fn(&DeadlockReport)> = OnceLock::new();

/// Installs the runtime's view of tasks: `current` gives the running task's id (`None`
/// outside a task), `name` a task's name for reports. The first call wins.
///
/// ```
/// runtime_primitives::diag::set_task_hooks(|| None, |_| None);
/// ```
pub fn set_task_hooks(current: fn() -> Option<u64>, name: fn(u64) -> Option<String>) {
    let _first_wins = TASK_HOOKS.set(TaskHooks { current, name });
}

/// Installs where reports go (the runtime routes them to the current runtime's
/// `on_deadlock`); without it they are printed on stderr. The first call wins.
///
/// ```
/// runtime_primitives::diag::set_report_hook(|report| eprintln!("{report}"));
/// ```
pub fn set_report_hook(hook: fn(&DeadlockReport)) {
    let _first_wins = REPORT_HOOK.set(hook);
}

/// This thread's key: unique per thread, with [`THREAD_KEY`] set.
///
/// ```
/// use runtime_primitives::diag;
///
/// let key = diag::thread_key();
/// assert_ne!(key & diag::THREAD_KEY, 0);
/// assert_eq!(key, diag::thread_key());
/// ```
pub fn thread_key() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Keys order nothing, they only have to be unique: a std atomic even under loom.
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static KEY: ThreadKey = ThreadKey::new(NEXT.fetch_add(1, Ordering::Relaxed) | THREAD_KEY);
    }
    KEY.with(|key| key.0)
}

/// Names of the threads that have a key, for reports; a thread's entry goes with it.
static THREAD_NAMES: std::sync::Mutex<BTreeMap<u64, String>> =
    std::sync::Mutex::new(BTreeMap::new());

struct ThreadKey(u64);

impl ThreadKey {
    fn new(key: u64) -> ThreadKey {
        if let Some(name) = std::thread::current().name() {
            lock_std(&THREAD_NAMES).insert(key, name.to_owned());
        }
        ThreadKey(key)
    }
}

impl Drop for ThreadKey {
    fn drop(&mut self) {
        lock_std(&THREAD_NAMES).remove(&self.0);
    }
}

fn lock_std<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Who is asking: the running task's id, or this thread's key outside a task.
///
/// ```
/// use runtime_primitives::diag;
///
/// // No runtime here: the thread's key.
/// assert_eq!(diag::current_key(), diag::thread_key());
/// ```
pub fn current_key() -> u64 {
    TASK_HOOKS
        .get()
        .and_then(|hooks| (hooks.current)())
        .unwrap_or_else(thread_key)
}

// ===== Resource =====

/// What kind of primitive a [`Resource`] is.
///
/// ```
/// assert_eq!(runtime_primitives::diag::Kind::Mutex.name(), "Mutex");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `Mutex`.
    Mutex,
    /// `RwLock`.
    RwLock,
    /// `Semaphore`.
    Semaphore,
    /// `BoundedSemaphore`.
    BoundedSemaphore,
    /// `ReentrantMutex` (in the `runtime` crate).
    ReentrantMutex,
}

impl Kind {
    /// The type's name.
    ///
    /// ```
    /// assert_eq!(runtime_primitives::diag::Kind::RwLock.name(), "RwLock");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mutex => "Mutex",
            Kind::RwLock => "RwLock",
            Kind::Semaphore => "Semaphore",
            Kind::BoundedSemaphore => "BoundedSemaphore",
            Kind::ReentrantMutex => "ReentrantMutex",
        }
    }
}

/// A tracked primitive's identity (kind, where it was created) and its inline single holder.
/// Embedded in each primitive; the detector reaches it through the waits on it.
///
/// ```
/// use runtime_primitives::diag::{Kind, Resource};
///
/// let r = Resource::new(Kind::Mutex, std::panic::Location::caller());
/// r.set_holder(7, std::panic::Location::caller());
/// r.clear_holder();
/// assert_eq!(r.kind(), Some(Kind::Mutex));
/// ```
pub struct Resource {
    /// `None`: never tracked (a building block of another tracked primitive).
    kind: Option<Kind>,
    created: &'static Location<'static>,
    /// The single holder's key, or `NOBODY`. Written by the holder only.
    holder: AtomicU64,
    /// Where the holder took it; stored before `holder` (release), so a reader that sees a
    /// key sees a location (perhaps a later holder's, if it changes meanwhile).
    held_at: AtomicPtr<Location<'static>>,
}

impl Resource {
    /// A resource of `kind`, created at `created`.
    ///
    /// ```
    /// use runtime_primitives::diag::{Kind, Resource};
    ///
    /// let here = std::panic::Location::caller();
    /// assert_eq!(Resource::new(Kind::Semaphore, here).created(), here);
    /// ```
    pub fn new(kind: Kind, created: &'static Location<'static>) -> Resource {
        Resource {
            kind: Some(kind),
            created,
            holder: AtomicU64::new(NOBODY),
            held_at: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// A resource that is never tracked: the inner semaphore of a lock that tracks itself.
    ///
    /// ```
    /// assert_eq!(runtime_primitives::diag::Resource::untracked().kind(), None);
    /// ```
    #[track_caller]
    pub fn untracked() -> Resource {
        Resource {
            kind: None,
            ..Resource::new(Kind::Semaphore, Location::caller())
        }
    }

    /// Its kind (`None` if untracked).
    ///
    /// ```
    /// use runtime_primitives::diag::{Kind, Resource};
    ///
    /// let r = Resource::new(Kind::RwLock, std::panic::Location::caller());
    /// assert_eq!(r.kind(), Some(Kind::RwLock));
    /// ```
    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// Where the primitive was created.
    ///
    /// ```
    /// let m = runtime_primitives::Mutex::new(()); // this line
    /// # let _ = m;
    /// ```
    pub fn created(&self) -> &'static Location<'static> {
        self.created
    }

    /// Whether this resource is tracked now.
    #[inline(always)]
    fn tracked(&self) -> bool {
        enabled() && self.kind.is_some()
    }

    /// Records `key` as the single holder, taken at `at` (by the holder, after it acquired).
    ///
    /// ```
    /// use runtime_primitives::diag::{Kind, Resource};
    ///
    /// let r = Resource::new(Kind::Mutex, std::panic::Location::caller());
    /// r.set_holder(3, std::panic::Location::caller());
    /// # r.clear_holder();
    /// ```
    #[inline]
    pub fn set_holder(&self, key: u64, at: &'static Location<'static>) {
        let at = at as *const Location<'static> as *mut Location<'static>;
        self.held_at.store(at, Ordering::Relaxed);
        self.holder.store(key, Ordering::Release);
    }

    /// Clears the single holder (by the holder, before it releases).
    ///
    /// ```
    /// use runtime_primitives::diag::{Kind, Resource};
    ///
    /// let r = Resource::new(Kind::Mutex, std::panic::Location::caller());
    /// r.clear_holder();
    /// ```
    #[inline]
    pub fn clear_holder(&self) {
        self.holder.store(NOBODY, Ordering::Release);
    }

    /// The calling task or thread took the resource at `at`: records it as the single holder
    /// when tracking is on.
    #[inline]
    pub(crate) fn acquired(&self, at: &'static Location<'static>) {
        if self.tracked() {
            self.set_holder(current_key(), at);
        }
    }

    /// The single holder is about to release: clears it when tracking is on.
    #[inline]
    pub(crate) fn releasing(&self) {
        if self.tracked() {
            self.clear_holder();
        }
    }

    /// The calling task or thread took `permits` shared permits at `at`: records the hold
    /// in the table when tracking is on. Returns the holder key for the guard (0: none).
    #[inline]
    pub(crate) fn acquired_shared(&self, permits: usize, at: &'static Location<'static>) -> u64 {
        if !self.tracked() || permits == 0 {
            return NOBODY;
        }
        let key = current_key();
        detector().add_hold(self.addr(), key, at, permits);
        key
    }

    /// Gives back `permits` shared permits that `key` holds (a guard's `key`; 0: untracked).
    #[inline]
    pub(crate) fn released_shared(&self, key: u64, permits: usize) {
        if key != NOBODY && permits != 0 {
            detector().remove_hold(self.addr(), key, permits);
        }
    }

    /// Moves `permits` shared permits from holder `from` to holder `to` (merged guards).
    pub(crate) fn moved_shared(&self, from: u64, to: u64, permits: usize) {
        if from == to || from == NOBODY || permits == 0 {
            return;
        }
        detector().move_hold(self.addr(), from, to, permits);
    }

    fn addr(&self) -> usize {
        self as *const Resource as usize
    }

    /// The inline holder, if any.
    fn single_holder(&self) -> Option<(u64, &'static Location<'static>)> {
        let key = self.holder.load(Ordering::Acquire);
        if key == NOBODY {
            return None;
        }
        let at = self.held_at.load(Ordering::Relaxed);
        // SAFETY: a non-zero key is published (release) after `held_at` was set from a
        // `&'static Location`, and `held_at` is never reset to null.
        Some((key, unsafe { &*at }))
    }

    fn info(&self) -> ResourceInfo {
        ResourceInfo {
            kind: self.kind.unwrap_or(Kind::Semaphore),
            created: self.created,
            address: self.addr(),
        }
    }
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("kind", &self.kind)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

// ===== waiting =====

/// Runs `fut`, a wait for `resource` from `at`: from its first `Pending` until it finishes
/// or is dropped, the detector knows the caller waits there (and checks for a cycle when
/// that starts). With tracking off, one relaxed load per `Pending`.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::diag::{self, Kind, Resource};
///
/// let r = Resource::new(Kind::Mutex, std::panic::Location::caller());
/// block_on(diag::track(async {}, &r, std::panic::Location::caller()));
/// ```
pub fn track<'r, F: Future>(
    fut: F,
    resource: &'r Resource,
    at: &'static Location<'static>,
) -> Track<'r, F> {
    Track {
        fut,
        resource,
        at,
        edge: None,
    }
}

/// The future of [`track`]: a named type rather than an `async fn`, so wrapping a lock's
/// wait adds no state machine of its own to the uncontended path.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::diag::{self, Kind, Resource};
///
/// let r = Resource::new(Kind::Semaphore, std::panic::Location::caller());
/// let tracked: diag::Track<'_, _> = diag::track(async { 7 }, &r, std::panic::Location::caller());
/// assert_eq!(block_on(tracked), 7);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Track<'r, F> {
    fut: F,
    resource: &'r Resource,
    at: &'static Location<'static>,
    edge: Option<Edge>,
}

impl<F: Future> Future for Track<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: it is never moved out of `self` (no method
        // hands it out, `Track` has no `Drop` of its own, and `Unpin` is only derived when
        // `F: Unpin`); the other fields are never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let fut = unsafe { core::pin::Pin::new_unchecked(&mut this.fut) };
        let poll = fut.poll(cx);
        if poll.is_ready() {
            this.edge = None; // the wait is over: leave the graph
        } else if this.edge.is_none() && this.resource.tracked() {
            this.edge = Some(Edge::add(this.resource, this.at));
        }
        poll
    }
}

impl<F> fmt::Debug for Track<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Track")
            .field("resource", self.resource)
            .field("at", &self.at)
            .field("waiting", &self.edge.is_some())
            .finish_non_exhaustive()
    }
}

/// One waiting future's entry in the table; removed on drop.
struct Edge {
    key: u64,
    id: u64,
}

impl Edge {
    fn add(resource: &Resource, at: &'static Location<'static>) -> Edge {
        let key = current_key();
        let (id, cycle) = detector().add_wait(key, resource, at);
        if let Some(cycle) = cycle {
            report(DeadlockReport::resolve(cycle));
        }
        Edge { key, id }
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        detector().remove_wait(self.key, self.id);
    }
}

fn report(report: DeadlockReport) {
    match REPORT_HOOK.get() {
        Some(hook) => hook(&report),
        None => eprintln!("{report}"),
    }
}

// ===== the table =====

/// A pointer to a [`Resource`] that someone waits on.
#[derive(Clone, Copy)]
struct ResPtr(*const Resource);

// SAFETY: only dereferenced under the table's lock, while the wait that stored it is in the
// table: the waiting future borrows (or owns an `Arc` of) the resource and removes its entry
// before it is dropped.
unsafe impl Send for ResPtr {}

struct WaitEntry {
    id: u64,
    resource: ResPtr,
    at: &'static Location<'static>,
    /// When the wait began (for the task dump's "for how long").
    since: std::time::Instant,
}

struct Hold {
    key: u64,
    at: &'static Location<'static>,
    permits: usize,
}

#[derive(Default)]
struct Graph {
    next_id: u64,
    /// What each key waits on now (a task may wait on several things, as in `join!`).
    waits: BTreeMap<u64, Vec<WaitEntry>>,
    /// Shared holders per resource address.
    holds: BTreeMap<usize, Vec<Hold>>,
    /// The cycles already reported, as sorted `(waiter, resource)` pairs.
    reported: Vec<Vec<(u64, usize)>>,
}

/// One link of a cycle, before names are looked up.
#[derive(Clone)]
pub(crate) struct RawLink {
    waiter: u64,
    waits_at: &'static Location<'static>,
    resource: ResourceInfo,
    holder: u64,
    taken_at: &'static Location<'static>,
    permits: usize,
}

/// The holder and waiter tables behind a lock (one per process; the loom models make their
/// own).
pub(crate) struct Detector {
    graph: Mutex<Graph>,
}

fn detector() -> &'static Detector {
    #[cfg(not(runtime_loom))]
    {
        static DETECTOR: std::sync::LazyLock<Detector> = std::sync::LazyLock::new(Detector::new);
        &DETECTOR
    }
    #[cfg(runtime_loom)]
    {
        ::loom::lazy_static! {
            static ref DETECTOR: Detector = Detector::new();
        }
        &DETECTOR
    }
}

impl Detector {
    pub(crate) fn new() -> Detector {
        Detector {
            graph: Mutex::new(Graph::default()),
        }
    }

    fn add_hold(&self, addr: usize, key: u64, at: &'static Location<'static>, permits: usize) {
        let mut graph = lock(&self.graph);
        let holds = graph.holds.entry(addr).or_default();
        match holds.iter_mut().find(|h| h.key == key) {
            Some(hold) => hold.permits += permits,
            None => holds.push(Hold { key, at, permits }),
        }
    }

    fn remove_hold(&self, addr: usize, key: u64, permits: usize) {
        let mut graph = lock(&self.graph);
        let Some(holds) = graph.holds.get_mut(&addr) else {
            return;
        };
        if let Some(i) = holds.iter().position(|h| h.key == key) {
            holds[i].permits = holds[i].permits.saturating_sub(permits);
            if holds[i].permits == 0 {
                holds.swap_remove(i);
            }
        }
        if holds.is_empty() {
            graph.holds.remove(&addr);
        }
    }

    fn move_hold(&self, addr: usize, from: u64, to: u64, permits: usize) {
        let at = {
            let graph = lock(&self.graph);
            let holds = graph.holds.get(&addr);
            holds.and_then(|h| h.iter().find(|h| h.key == from).map(|h| h.at))
        };
        self.remove_hold(addr, from, permits);
        if let (Some(at), true) = (at, to != NOBODY) {
            self.add_hold(addr, to, at, permits);
        }
    }

    /// Adds `key`'s wait on `resource` and checks whether it closes a cycle that was not
    /// reported yet. Returns the entry's id and the cycle.
    pub(crate) fn add_wait(
        &self,
        key: u64,
        resource: &Resource,
        at: &'static Location<'static>,
    ) -> (u64, Option<Vec<RawLink>>) {
        let mut graph = lock(&self.graph);
        let id = graph.next_id;
        graph.next_id += 1;
        graph.waits.entry(key).or_default().push(WaitEntry {
            id,
            resource: ResPtr(resource),
            at,
            since: std::time::Instant::now(),
        });
        let cycle = graph.find_cycle(key, resource, at);
        let cycle = cycle.filter(|links| {
            let mut signature: Vec<_> = links
                .iter()
                .map(|l| (l.waiter, l.resource.address))
                .collect();
            signature.sort_unstable();
            if graph.reported.contains(&signature) {
                return false;
            }
            if graph.reported.len() == REMEMBERED {
                graph.reported.remove(0);
            }
            graph.reported.push(signature);
            true
        });
        (id, cycle)
    }

    pub(crate) fn remove_wait(&self, key: u64, id: u64) {
        let mut graph = lock(&self.graph);
        if let Some(waits) = graph.waits.get_mut(&key) {
            waits.retain(|w| w.id != id);
            if waits.is_empty() {
                graph.waits.remove(&key);
            }
        }
    }

    fn snapshot(
        &self,
    ) -> Vec<(
        u64,
        &'static Location<'static>,
        std::time::Instant,
        ResourceInfo,
        Vec<RawHolder>,
    )> {
        let graph = lock(&self.graph);
        let mut out = Vec::new();
        for (&key, waits) in &graph.waits {
            for wait in waits {
                // SAFETY: in the table, under its lock (see `ResPtr`).
                let resource = unsafe { &*wait.resource.0 };
                out.push((
                    key,
                    wait.at,
                    wait.since,
                    resource.info(),
                    graph.holders(resource),
                ));
            }
        }
        out
    }
}

/// A holder as the table sees it: key, where it took the resource, how many permits.
type RawHolder = (u64, &'static Location<'static>, usize);

impl Graph {
    /// Every current holder of `resource`: the inline one and the shared ones.
    fn holders(&self, resource: &Resource) -> Vec<RawHolder> {
        let mut out = Vec::new();
        if let Some((key, at)) = resource.single_holder() {
            out.push((key, at, 1));
        }
        if let Some(holds) = self.holds.get(&resource.addr()) {
            out.extend(holds.iter().map(|h| (h.key, h.at, h.permits)));
        }
        out
    }

    /// The walk of the module doc, from `waiter`'s new wait on `resource`.
    fn find_cycle(
        &self,
        waiter: u64,
        resource: &Resource,
        at: &'static Location<'static>,
    ) -> Option<Vec<RawLink>> {
        // For each party reached: the link that reached it (its waiter is the parent).
        let mut reached: BTreeMap<u64, RawLink> = BTreeMap::new();
        let mut seen_resources: BTreeSet<usize> = BTreeSet::new();
        let mut closing: Option<RawLink> = None;
        // (waiter, where it waits, the resource) still to expand.
        let mut stack: Vec<(u64, &'static Location<'static>, &Resource)> =
            vec![(waiter, at, resource)];
        while let Some((from, waits_at, res)) = stack.pop() {
            if !seen_resources.insert(res.addr()) {
                continue;
            }
            for (holder, taken_at, permits) in self.holders(res) {
                let link = RawLink {
                    waiter: from,
                    waits_at,
                    resource: res.info(),
                    holder,
                    taken_at,
                    permits,
                };
                if holder == waiter {
                    closing.get_or_insert(link);
                    continue;
                }
                if holder == from || reached.contains_key(&holder) {
                    continue;
                }
                // A party that waits on nothing may still release what the others need.
                let waits = self.waits.get(&holder).filter(|w| !w.is_empty())?;
                reached.insert(holder, link);
                for wait in waits {
                    // SAFETY: in the table, under its lock (see `ResPtr`).
                    stack.push((holder, wait.at, unsafe { &*wait.resource.0 }));
                }
            }
        }
        // Back from the link that returns to `waiter`, through the parents, to `waiter`.
        let mut link = closing?;
        let mut cycle = vec![link.clone()];
        while link.waiter != waiter {
            link = reached.get(&link.waiter)?.clone();
            cycle.push(link.clone());
        }
        cycle.reverse();
        Some(cycle)
    }
}

// ===== what the detector tells =====

/// A task or thread, as a holder or a waiter.
///
/// ```
/// use runtime_primitives::diag;
///
/// let me = diag::Party::current();
/// assert!(me.task_id().is_none(), "a plain thread");
/// assert_eq!(me.key(), diag::thread_key());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    key: u64,
    name: Option<String>,
}

impl Party {
    /// The party from a key, with its name looked up (task names through the runtime's
    /// hook, thread names from the threads that have a key).
    ///
    /// ```
    /// let p = runtime_primitives::diag::Party::from_key(42);
    /// assert_eq!(p.task_id(), Some(42));
    /// ```
    pub fn from_key(key: u64) -> Party {
        let name = if key & THREAD_KEY != 0 {
            lock_std(&THREAD_NAMES).get(&key).cloned()
        } else {
            TASK_HOOKS.get().and_then(|hooks| (hooks.name)(key))
        };
        Party { key, name }
    }

    /// The calling task or thread.
    ///
    /// ```
    /// let me = runtime_primitives::diag::Party::current();
    /// assert!(me.is_thread());
    /// ```
    pub fn current() -> Party {
        Party::from_key(current_key())
    }

    /// The raw key (a task id, or a thread key with [`THREAD_KEY`] set).
    ///
    /// ```
    /// assert_eq!(runtime_primitives::diag::Party::from_key(5).key(), 5);
    /// ```
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The task id, if the party is a task.
    ///
    /// ```
    /// assert_eq!(runtime_primitives::diag::Party::from_key(5).task_id(), Some(5));
    /// ```
    pub fn task_id(&self) -> Option<u64> {
        (self.key & THREAD_KEY == 0).then_some(self.key)
    }

    /// Whether the party is an OS thread outside any task.
    ///
    /// ```
    /// assert!(runtime_primitives::diag::Party::current().is_thread());
    /// ```
    pub fn is_thread(&self) -> bool {
        self.key & THREAD_KEY != 0
    }

    /// The task's or thread's name, when it has one.
    ///
    /// ```
    /// let named = std::thread::Builder::new().name("worker".into());
    /// let name = named.spawn(|| runtime_primitives::diag::Party::current().name().map(String::from));
    /// assert_eq!(name.unwrap().join().unwrap().as_deref(), Some("worker"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.task_id() {
            Some(id) => write!(f, "task {id}")?,
            None => write!(f, "thread #{}", self.key & !THREAD_KEY)?,
        }
        match &self.name {
            Some(name) => write!(f, " ({name:?})"),
            None => Ok(()),
        }
    }
}

/// A tracked primitive, as a report names it.
///
/// ```
/// use runtime_primitives::diag::{self, Kind};
/// use runtime_primitives::Mutex;
///
/// use std::future::Future;
/// use std::task::{Context, Waker};
///
/// diag::enable();
/// let (m, created) = (Mutex::new(()), line!());
/// let _held = m.try_lock().unwrap();
/// let mut wait = Box::pin(m.lock());
/// assert!(wait.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
/// let all = diag::waits();
/// let w = all.iter().find(|w| w.resource().created().line() == created).unwrap();
/// assert_eq!(w.resource().kind(), Kind::Mutex);
/// assert_ne!(w.resource().address(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    kind: Kind,
    created: &'static Location<'static>,
    address: usize,
}

impl ResourceInfo {
    /// What kind of primitive it is.
    ///
    /// See [`ResourceInfo`] for an example.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Where it was created.
    ///
    /// See [`ResourceInfo`] for an example.
    pub fn created(&self) -> &'static Location<'static> {
        self.created
    }

    /// Its address, which tells two primitives created at the same place apart.
    ///
    /// See [`ResourceInfo`] for an example.
    pub fn address(&self) -> usize {
        self.address
    }
}

impl fmt::Display for ResourceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created at {} ({:#x})",
            self.kind.name(),
            self.created,
            self.address
        )
    }
}

/// One holder of a resource.
///
/// ```
/// // See `waits` for a use.
/// let _ = runtime_primitives::diag::waits;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderInfo {
    who: Party,
    since: &'static Location<'static>,
    permits: usize,
}

impl HolderInfo {
    /// Who holds it.
    ///
    /// See [`waits`] for an example.
    pub fn who(&self) -> &Party {
        &self.who
    }

    /// Where it took it.
    ///
    /// See [`waits`] for an example.
    pub fn since(&self) -> &'static Location<'static> {
        self.since
    }

    /// How many permits it holds (1 for a lock).
    ///
    /// See [`waits`] for an example.
    pub fn permits(&self) -> usize {
        self.permits
    }
}

/// One current wait, for a task dump: see [`waits`].
///
/// ```
/// let all: Vec<runtime_primitives::diag::WaitSnapshot> = runtime_primitives::diag::waits();
/// # let _ = all;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitSnapshot {
    waiter: Party,
    waits_at: &'static Location<'static>,
    started: std::time::Instant,
    resource: ResourceInfo,
    holders: Vec<HolderInfo>,
}

impl WaitSnapshot {
    /// When the wait began.
    ///
    /// See [`waits`] for an example.
    pub fn started(&self) -> std::time::Instant {
        self.started
    }

    /// Who waits.
    ///
    /// See [`waits`] for an example.
    pub fn waiter(&self) -> &Party {
        &self.waiter
    }

    /// Where it waits (the call of `lock`, `acquire`, …).
    ///
    /// See [`waits`] for an example.
    pub fn waits_at(&self) -> &'static Location<'static> {
        self.waits_at
    }

    /// What it waits for.
    ///
    /// See [`waits`] for an example.
    pub fn resource(&self) -> &ResourceInfo {
        &self.resource
    }

    /// Who holds that now (empty if nobody the detector knows of).
    ///
    /// See [`waits`] for an example.
    pub fn holders(&self) -> &[HolderInfo] {
        &self.holders
    }
}

impl fmt::Display for WaitSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} waits at {} on {}",
            self.waiter, self.waits_at, self.resource
        )?;
        for (i, h) in self.holders.iter().enumerate() {
            let sep = if i == 0 { ", held by" } else { "," };
            write!(f, "{sep} {} since {}", h.who, h.since)?;
            if self.resource.kind == Kind::Semaphore || h.permits != 1 {
                write!(f, " ({} permits)", h.permits)?;
            }
        }
        Ok(())
    }
}

/// Every wait going on now on a tracked primitive, with its holders (empty while tracking is
/// off). The task dump shows these as "task X waits on Mutex created at a.rs:10, held by
/// task Y since b.rs:20".
///
/// ```
/// use runtime_primitives::{diag, Mutex};
/// use std::future::Future;
/// use std::task::{Context, Waker};
///
/// diag::enable();
/// let (m, created) = (Mutex::new(()), line!());
/// let (_held, taken) = (m.try_lock().unwrap(), line!());
/// let (mut wait, waits) = (Box::pin(m.lock()), line!());
/// assert!(wait.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
/// let mine = |w: &&diag::WaitSnapshot| w.resource().created().line() == created;
/// let all = diag::waits();
/// let w = all.iter().find(mine).unwrap();
/// assert_eq!(w.waiter(), &diag::Party::current());
/// assert_eq!(w.waits_at().line(), waits);
/// let holder = &w.holders()[0];
/// assert_eq!((holder.who(), holder.since().line(), holder.permits()), (&diag::Party::current(), taken, 1));
/// drop(wait);
/// assert!(diag::waits().iter().find(mine).is_none(), "the wait's entry goes with it");
/// ```
pub fn waits() -> Vec<WaitSnapshot> {
    if !enabled() {
        return Vec::new();
    }
    detector()
        .snapshot()
        .into_iter()
        .map(|(key, waits_at, started, resource, holders)| WaitSnapshot {
            waiter: Party::from_key(key),
            waits_at,
            started,
            resource,
            holders: holders
                .into_iter()
                .map(|(key, since, permits)| HolderInfo {
                    who: Party::from_key(key),
                    since,
                    permits,
                })
                .collect(),
        })
        .collect()
}

/// One step of a deadlock cycle: a waiter, the resource it waits for, and the next party in
/// the cycle, which holds it.
///
/// ```
/// // See `DeadlockReport` for a use.
/// let _ = runtime_primitives::diag::DeadlockReport::links;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlockLink {
    waiter: Party,
    waits_at: &'static Location<'static>,
    resource: ResourceInfo,
    holder: Party,
    taken_at: &'static Location<'static>,
    permits: usize,
}

impl DeadlockLink {
    /// The task or thread that waits.
    ///
    /// See [`DeadlockReport`] for an example.
    pub fn waiter(&self) -> &Party {
        &self.waiter
    }

    /// Where it waits (the call of `lock`, `acquire`, …).
    ///
    /// See [`DeadlockReport`] for an example.
    pub fn waits_at(&self) -> &'static Location<'static> {
        self.waits_at
    }

    /// What it waits for.
    ///
    /// See [`DeadlockReport`] for an example.
    pub fn resource(&self) -> &ResourceInfo {
        &self.resource
    }

    /// Who holds it: the waiter of the next link.
    ///
    /// See [`DeadlockReport`] for an example.
    pub fn holder(&self) -> &Party {
        &self.holder
    }

    /// Where the holder took it.
    ///
    /// See [`DeadlockReport`] for an example.
    pub fn taken_at(&self) -> &'static Location<'static> {
        self.taken_at
    }

    /// How many permits the holder has of it (1 for a lock).
    ///
    /// See [`DeadlockReport`] for an example.
    pub fn permits(&self) -> usize {
        self.permits
    }
}

/// A deadlock: tasks or threads that each wait for something the next one holds, the last
/// one for something the first holds. `Display` is the report printed by default.
///
/// ```
/// use runtime_primitives::{diag, Mutex};
/// use std::future::Future;
/// use std::task::{Context, Waker};
///
/// diag::enable();
/// // A task that locks a mutex it already holds waits for itself: a cycle of one.
/// let m = Mutex::new(());
/// let _held = m.try_lock().unwrap();
/// let mut again = Box::pin(m.lock()); // reported on stderr at its first poll
/// assert!(again.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
/// ```
///
/// The accessors, on a report handed to the runtime's `on_deadlock`:
///
/// ```
/// fn show(report: &runtime_primitives::diag::DeadlockReport) {
///     for link in report.links() {
///         println!(
///             "{} waits at {} for {}, held by {} since {} ({} permits)",
///             link.waiter(),
///             link.waits_at(),
///             link.resource(),
///             link.holder(),
///             link.taken_at(),
///             link.permits()
///         );
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlockReport {
    links: Vec<DeadlockLink>,
}

impl DeadlockReport {
    fn resolve(raw: Vec<RawLink>) -> DeadlockReport {
        DeadlockReport {
            links: raw
                .into_iter()
                .map(|l| DeadlockLink {
                    waiter: Party::from_key(l.waiter),
                    waits_at: l.waits_at,
                    resource: l.resource,
                    holder: Party::from_key(l.holder),
                    taken_at: l.taken_at,
                    permits: l.permits,
                })
                .collect(),
        }
    }

    /// The cycle, starting with the waiter whose wait closed it; each link's holder is the
    /// next link's waiter, and the last link's holder is the first link's waiter.
    ///
    /// See [`DeadlockReport`] for an example.
    pub fn links(&self) -> &[DeadlockLink] {
        &self.links
    }

    /// The tasks and threads of the cycle, in its order.
    ///
    /// ```
    /// fn ids(report: &runtime_primitives::diag::DeadlockReport) -> Vec<Option<u64>> {
    ///     report.parties().map(|p| p.task_id()).collect()
    /// }
    /// ```
    pub fn parties(&self) -> impl Iterator<Item = &Party> {
        self.links.iter().map(|l| &l.waiter)
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.links.len();
        write!(
            f,
            "deadlock: {n} {} wait for each other in a cycle:",
            if n == 1 { "party" } else { "parties" }
        )?;
        for link in &self.links {
            write!(
                f,
                "\n  {} waits at {}\n    for {},\n    held by {} since {}",
                link.waiter, link.waits_at, link.resource, link.holder, link.taken_at
            )?;
            if link.permits != 1 {
                write!(f, " ({} permits)", link.permits)?;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use crate::{RwLock, Semaphore};
    use core::future::Future;
    use core::task::{Context, Poll, Waker};

    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    /// The current waits on the resource created at `line`.
    fn waits_on(line: u32) -> Vec<WaitSnapshot> {
        waits()
            .into_iter()
            .filter(|w| w.resource().created().line() == line)
            .collect()
    }

    #[test]
    fn semaphore_holders_follow_their_permits() {
        enable();
        let me = Party::current();
        let (sem, line) = (Semaphore::new(3), line!());
        let mut permit = sem.try_acquire().unwrap();
        permit.merge(sem.try_acquire().unwrap());
        let mut wait = Box::pin(sem.acquire_many(2));
        let cx = &mut Context::from_waker(Waker::noop());
        assert!(wait.as_mut().poll(cx).is_pending());
        let holders = |line| waits_on(line)[0].holders().to_vec();
        assert_eq!(holders(line).len(), 1);
        assert_eq!(
            (holders(line)[0].who(), holders(line)[0].permits()),
            (&me, 2)
        );
        let one = permit.split(1).unwrap();
        assert_eq!(
            holders(line)[0].permits(),
            2,
            "a split keeps the holder's count"
        );
        one.forget();
        assert_eq!(
            holders(line)[0].permits(),
            1,
            "forgotten permits are held by nobody"
        );
        drop(permit);
        // The waiter got its 2 permits (the forgotten one is gone: 2 of 2 left).
        assert!(wait.as_mut().poll(cx).is_ready());
        assert!(waits_on(line).is_empty());
    }

    #[test]
    fn rwlock_readers_are_in_the_table_and_the_writer_inline() {
        enable();
        let (lock, line) = (RwLock::new(()), line!());
        let r1 = lock.try_read().unwrap();
        let r2 = lock.try_read().unwrap();
        let cx = &mut Context::from_waker(Waker::noop());
        let mut write = Box::pin(lock.write());
        assert!(write.as_mut().poll(cx).is_pending());
        let w = &waits_on(line)[0];
        assert_eq!(w.resource().kind(), Kind::RwLock);
        assert_eq!(w.holders().len(), 1, "one reader key, two permits");
        assert_eq!(w.holders()[0].permits(), 2);
        drop((r1, r2));
        let guard = match write.as_mut().poll(cx) {
            Poll::Ready(guard) => guard,
            Poll::Pending => panic!("the readers left"),
        };
        let mut read = Box::pin(lock.read());
        assert!(read.as_mut().poll(cx).is_pending());
        let w = &waits_on(line)[0];
        assert_eq!(
            (w.holders().len(), w.holders()[0].permits()),
            (1, 1),
            "the writer"
        );
        drop(guard);
        assert!(read.as_mut().poll(cx).is_ready());
    }

    /// A semaphore with a holder that waits on nothing is no deadlock, whatever the others
    /// do: that holder may still give its permit back. Once it waits in the cycle too, the
    /// cycle is reported.
    #[test]
    fn a_running_holder_of_a_shared_resource_breaks_the_cycle() {
        let d = Detector::new();
        let sem = Resource::new(Kind::Semaphore, here());
        let m = Resource::new(Kind::Mutex, here());
        d.add_hold(sem.addr(), 1, here(), 1);
        d.add_hold(sem.addr(), 2, here(), 1);
        m.set_holder(3, here());
        assert!(d.add_wait(1, &m, here()).1.is_none());
        assert!(
            d.add_wait(3, &sem, here()).1.is_none(),
            "2 runs: it may release"
        );
        let (_, cycle) = d.add_wait(2, &m, here());
        let cycle = cycle.expect("everyone waits now");
        let order: Vec<u64> = cycle.iter().map(|l| l.waiter).collect();
        assert_eq!(order, [2, 3]);
        assert_eq!(cycle[1].holder, 2);
    }

    #[test]
    fn a_cycle_is_reported_once_even_if_its_waits_are_retried() {
        let d = Detector::new();
        let (x, y) = (
            Resource::new(Kind::Mutex, here()),
            Resource::new(Kind::Mutex, here()),
        );
        x.set_holder(1, here());
        y.set_holder(2, here());
        assert!(d.add_wait(1, &y, here()).1.is_none());
        let (id, cycle) = d.add_wait(2, &x, here());
        assert!(cycle.is_some());
        d.remove_wait(2, id); // a timeout, then the same wait again
        assert!(d.add_wait(2, &x, here()).1.is_none());
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};

    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    /// Two parties each hold one lock (inline holder, written without the table's lock) and
    /// start waiting for the other's at the same time: whatever the interleaving, the cycle is
    /// found exactly once, by the second edge.
    #[test]
    fn a_cycle_is_found_exactly_once() {
        ::loom::model(|| {
            let d = Arc::new(Detector::new());
            let x = Arc::new(Resource::new(Kind::Mutex, here()));
            let y = Arc::new(Resource::new(Kind::Mutex, here()));
            let party = |me: u64, mine: Arc<Resource>, theirs: Arc<Resource>, d: Arc<Detector>| {
                thread::spawn(move || {
                    mine.set_holder(me, here());
                    let (_, cycle) = d.add_wait(me, &theirs, here());
                    cycle.map(|c| c.len())
                })
            };
            let a = party(1, x.clone(), y.clone(), d.clone());
            let b = party(2, y.clone(), x.clone(), d.clone());
            let found: Vec<_> = [a.join().unwrap(), b.join().unwrap()]
                .into_iter()
                .flatten()
                .collect();
            assert_eq!(found, [2], "one report, of a two-party cycle");
        });
    }

    /// A holder that releases (clears its inline holder, then leaves its wait) while the
    /// other waits for its lock: no false report, whatever the interleaving.
    #[test]
    fn a_released_lock_is_no_cycle() {
        ::loom::model(|| {
            let d = Arc::new(Detector::new());
            let x = Arc::new(Resource::new(Kind::Mutex, here()));
            let y = Arc::new(Resource::new(Kind::Mutex, here()));
            x.set_holder(1, here());
            let (id, cycle) = d.add_wait(1, &y, here());
            assert!(cycle.is_none());
            let releaser = {
                let (d, x) = (d.clone(), x.clone());
                thread::spawn(move || {
                    // Party 1 gives up on y (a timeout), then releases x.
                    d.remove_wait(1, id);
                    x.clear_holder();
                })
            };
            // Party 2 holds y and waits for x.
            y.set_holder(2, here());
            let (_, cycle) = d.add_wait(2, &x, here());
            releaser.join().unwrap();
            // Found only if party 1 still waited for y when party 2's edge was added.
            if let Some(cycle) = cycle {
                assert_eq!(cycle.len(), 2);
            }
        });
    }
}
