//! `Builder`: configure and build a `Runtime`.

use crate::runtime_config::Config;
use crate::Runtime;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Builds a [`Runtime`] with custom settings. IO and timers are always on.
///
/// ```
/// let rt = runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("server")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    thread_name: String,
    thread_stack_size: Option<usize>,
    on_thread_start: Option<crate::runtime_config::Callback>,
    on_thread_stop: Option<crate::runtime_config::Callback>,
    global_queue_interval: u32,
    event_interval: u32,
    start_paused: bool,
    max_blocking_time: Option<Duration>,
    on_blocking: Option<crate::diag::monitor::ReportFn>,
    deadlock: crate::diag::DeadlockConfig,
    io_driver: Option<IoDriver>,
    fail_uring_setup: bool,
}

/// The IO driver a runtime runs its TCP sockets on, chosen with
/// [`Builder::io_driver`] or the `RUNTIME_IO_DRIVER` environment variable (`mio` or
/// `uring`); [`RuntimeMetrics::io_driver`](crate::RuntimeMetrics::io_driver) says which
/// one a runtime got.
///
/// (Inside the crate, the mio driver is the `reactor`; this enum is the public choice.)
///
/// ```
/// use runtime::IoDriver;
/// let rt = runtime::Builder::new_current_thread().io_driver(IoDriver::Mio).build()?;
/// assert_eq!(rt.metrics().io_driver, IoDriver::Mio);
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IoDriver {
    /// Readiness through `mio` (epoll on Linux): every socket, pipe and signal. The
    /// default.
    #[default]
    Mio,
    /// io_uring (Linux): TCP reads, writes and accepts complete through a ring, batched
    /// into one `io_uring_enter` per driver turn; everything else stays on mio. Where
    /// `io_uring_setup` fails (an old kernel, a seccomp filter, `kernel.io_uring_disabled`)
    /// the runtime falls back to [`IoDriver::Mio`].
    Uring,
}

impl IoDriver {
    /// Reads `RUNTIME_IO_DRIVER`: `None` when unset or empty.
    fn from_env() -> io::Result<Option<IoDriver>> {
        match std::env::var("RUNTIME_IO_DRIVER") {
            Err(_) => Ok(None),
            Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "mio" | "epoll" => Ok(Some(IoDriver::Mio)),
                "uring" | "io_uring" | "io-uring" => Ok(Some(IoDriver::Uring)),
                other => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("RUNTIME_IO_DRIVER={other:?}: expected `mio` or `uring`"),
                )),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    CurrentThread,
    MultiThread,
}

impl Builder {
    fn new(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
            thread_name: "runtime-worker".into(),
            thread_stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            global_queue_interval: 61,
            event_interval: 61,
            start_paused: false,
            max_blocking_time: None,
            on_blocking: None,
            deadlock: crate::diag::DeadlockConfig::default(),
            io_driver: None,
            fail_uring_setup: false,
        }
    }

    /// The IO driver for TCP sockets (default: [`IoDriver::Mio`], or what the
    /// `RUNTIME_IO_DRIVER` environment variable says when this is not called).
    ///
    /// With [`IoDriver::Uring`], TCP streams and listeners run on io_uring; where the
    /// kernel refuses `io_uring_setup`, the runtime falls back to mio, and
    /// [`RuntimeMetrics::io_driver`](crate::RuntimeMetrics::io_driver) says so.
    ///
    /// ```
    /// use runtime::IoDriver;
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .io_driver(IoDriver::Uring)
    ///     .build()?;
    /// let driver = rt.metrics().io_driver; // Uring, or Mio where the kernel says no
    /// # let _ = driver;
    /// rt.block_on(async {
    ///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"ping").await?;
    ///     let mut buf = [0; 4];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"ping");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn io_driver(mut self, driver: IoDriver) -> Builder {
        self.io_driver = Some(driver);
        self
    }

    /// Test hook: `io_uring_setup` "fails", so a runtime asked for io_uring falls back to
    /// mio as it would on a kernel without it.
    #[doc(hidden)]
    pub fn io_uring_setup_fails(mut self, fails: bool) -> Builder {
        self.fail_uring_setup = fails;
        self
    }

    /// The work-stealing scheduler, one worker per core by default.
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let on_worker = rt.spawn(async { std::thread::current().name().unwrap().to_owned() });
    /// assert!(rt.block_on(on_worker).unwrap().starts_with("runtime-worker-"));
    /// ```
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    /// Everything on the thread that calls `block_on` (blocking jobs still run on the
    /// blocking pool's threads).
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// let here = std::thread::current().id();
    /// let ran_on = rt.spawn(async { std::thread::current().id() });
    /// assert_eq!(rt.block_on(ran_on).unwrap(), here);
    /// ```
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    /// Worker threads of the multi-thread scheduler (default: the number of cores).
    /// Ignored by the current-thread scheduler.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().workers, 3);
    /// ```
    #[track_caller]
    pub fn worker_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// The most threads the blocking pool may run at once (default 512; values above
    /// 32 767 count as 32 767).
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// ```
    /// // One blocking thread: the jobs run one after the other, in order.
    /// let rt = runtime::Builder::new_current_thread().max_blocking_threads(1).build().unwrap();
    /// let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let jobs: Vec<_> = (0..3)
    ///     .map(|i| {
    ///         let order = order.clone();
    ///         rt.spawn_blocking(move || order.lock().unwrap().push(i))
    ///     })
    ///     .collect();
    /// for job in jobs {
    ///     rt.block_on(job).unwrap();
    /// }
    /// assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
    /// ```
    #[track_caller]
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it exits (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Builder::new_current_thread()
    ///     .thread_keep_alive(Duration::from_millis(1))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).unwrap(), 1);
    /// // Idle for longer than the keep-alive, the pool's thread exits.
    /// let start = std::time::Instant::now();
    /// while rt.metrics().blocking_threads > 0 && start.elapsed() < Duration::from_secs(5) {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// assert_eq!(rt.metrics().blocking_threads, 0);
    /// ```
    pub fn thread_keep_alive(mut self, d: Duration) -> Builder {
        self.thread_keep_alive = d;
        self
    }

    /// The name prefix of the runtime's threads (default `runtime-worker`): workers are
    /// named `{name}-{index}`, blocking-pool threads `{name}-blocking-{n}`.
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(1)
    ///     .thread_name("server")
    ///     .build()
    ///     .unwrap();
    /// let name = || std::thread::current().name().unwrap().to_owned();
    /// assert_eq!(rt.block_on(rt.spawn(async move { name() })).unwrap(), "server-0");
    /// let blocking = rt.block_on(rt.spawn_blocking(name)).unwrap();
    /// assert!(blocking.starts_with("server-blocking-"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// The stack size of the runtime's threads (default: std's).
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(1)
    ///     .thread_stack_size(4 * 1024 * 1024)
    ///     .build()
    ///     .unwrap();
    /// // A task that keeps a large buffer on its worker's stack.
    /// let task = rt.spawn(async { std::hint::black_box([1u8; 1024 * 1024]).len() });
    /// assert_eq!(rt.block_on(task).unwrap(), 1024 * 1024);
    /// ```
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Called on each runtime thread when it starts: every worker of the multi-thread
    /// flavor and every blocking-pool thread (not the thread that calls `block_on`).
    ///
    /// A panic in `f` is reported by the panic hook (printed, by default) and goes no
    /// further: the thread starts anyway, so a worker or pool thread is never lost to it.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let counter = started.clone();
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .on_thread_start(move || {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// drop(rt); // waits for the workers
    /// assert_eq!(started.load(Ordering::Relaxed), 2);
    /// ```
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Called on each runtime thread before it stops (the threads
    /// [`on_thread_start`](Builder::on_thread_start) covers).
    ///
    /// A panic in `f` is reported by the panic hook and goes no further: the thread still
    /// counts itself out, so dropping the runtime does not wait for it forever.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let counter = stopped.clone();
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .on_thread_stop(move || {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(stopped.load(Ordering::Relaxed), 0);
    /// drop(rt); // stops the workers and waits for them
    /// assert_eq!(stopped.load(Ordering::Relaxed), 2);
    /// ```
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Ticks between checks of the global queue ahead of the local one (default 61).
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// ```
    /// // Check the global queue on every tick: fairer to tasks spawned from outside,
    /// // at some cost in throughput.
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(1)
    ///     .global_queue_interval(1)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn global_queue_interval(mut self, n: u32) -> Builder {
        assert!(n > 0, "global_queue_interval must be at least 1");
        self.global_queue_interval = n;
        self
    }

    /// Ticks between driver turns while busy (default 61).
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// ```
    /// // Poll the driver (IO and timers) after every task: lower latency for IO,
    /// // more time spent in the driver.
    /// let rt = runtime::Builder::new_current_thread().event_interval(1).build().unwrap();
    /// rt.block_on(async { runtime::time::sleep(std::time::Duration::from_millis(1)).await });
    /// ```
    #[track_caller]
    pub fn event_interval(mut self, n: u32) -> Builder {
        assert!(n > 0, "event_interval must be at least 1");
        self.event_interval = n;
        self
    }

    /// Starts the runtime's clock paused (default `false`), as if the first thing
    /// `block_on` did were [`time::pause`](crate::time::pause): `Instant::now()` stands
    /// still, [`time::advance`](crate::time::advance) moves it, and an idle runtime jumps
    /// it to the next timer. For tests of timeouts that shouldn't wait for them.
    ///
    /// # Panics
    ///
    /// `start_paused(true)` on the multi-thread flavor, whose clock can't pause (see
    /// [`time::pause`](crate::time::pause)).
    ///
    /// ```
    /// use runtime::time::{sleep, Duration, Instant};
    /// let rt = runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     sleep(Duration::from_secs(24 * 3600)).await; // a day, in no real time
    ///     assert_eq!(start.elapsed(), Duration::from_secs(24 * 3600));
    /// });
    /// ```
    #[track_caller]
    pub fn start_paused(mut self, paused: bool) -> Builder {
        assert!(
            !paused || self.kind == Kind::CurrentThread,
            "{}",
            crate::time::clock::NOT_PAUSABLE
        );
        self.start_paused = paused;
        self
    }

    /// Reports every poll of a task that lasts longer than `max` (gevent's
    /// `max_blocking_time`), and keeps the rest of the runtime moving meanwhile.
    ///
    /// A monitor thread watches the workers. A poll longer than `max` is reported once:
    /// "task 7 "conn-42" appears to be blocked", how long, where the task was spawned, and
    /// the task dump, on stderr or to [`on_blocking`](Builder::on_blocking). On the
    /// multi-thread flavor, a poll longer than 10 ms (or `max`, if smaller) also hands the
    /// stuck worker's queued tasks, the one in its LIFO slot included, to the other
    /// workers, so nothing waits behind it; the IO driver keeps turning on another worker.
    ///
    /// Off by default. With the environment variable `RUNTIME_MAX_BLOCKING_TIME` set
    /// (seconds, `0.1`, or with a unit, `100ms`; empty for 100 ms) every runtime built
    /// without this call turns it on. See also
    /// [`warn_on_blocking_default`](Builder::warn_on_blocking_default).
    ///
    /// # Panics
    ///
    /// If `max` is zero: every poll takes some time, so say how long is too long.
    ///
    /// ```
    /// use runtime::time::Duration;
    ///
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .warn_on_blocking(Duration::from_millis(20))
    ///     .build()
    ///     .unwrap();
    /// // Prints "task N appears to be blocked: in one poll for 0.0xx s ..." on stderr.
    /// rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(60)) })).unwrap();
    /// ```
    #[track_caller]
    pub fn warn_on_blocking(mut self, max: Duration) -> Builder {
        assert!(
            !max.is_zero(),
            "warn_on_blocking(Duration::ZERO): every poll takes some time; pass the longest \
             poll that is still fine, e.g. warn_on_blocking_default() for 100 ms"
        );
        self.max_blocking_time = Some(max);
        self
    }

    /// [`warn_on_blocking`](Builder::warn_on_blocking) with gevent's default, 100 ms.
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().warn_on_blocking_default().build();
    /// assert!(rt.is_ok());
    /// ```
    pub fn warn_on_blocking_default(mut self) -> Builder {
        self.max_blocking_time = Some(crate::diag::monitor::DEFAULT_MAX_BLOCKING_TIME);
        self
    }

    /// Where blocking-poll reports go instead of stderr (see
    /// [`warn_on_blocking`](Builder::warn_on_blocking)); called on the monitor's thread,
    /// once per long poll.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use runtime::time::Duration;
    ///
    /// let reports = Arc::new(AtomicUsize::new(0));
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .warn_on_blocking(Duration::from_millis(20))
    ///     .on_blocking({
    ///         let reports = reports.clone();
    ///         move |report| {
    ///             assert!(report.elapsed() >= Duration::from_millis(20));
    ///             reports.fetch_add(1, Ordering::SeqCst);
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(100)) })).unwrap();
    /// drop(rt); // stops the monitor: every report was made
    /// assert_eq!(reports.load(Ordering::SeqCst), 1, "one report per long poll");
    /// ```
    pub fn on_blocking(
        mut self,
        f: impl Fn(&crate::diag::BlockingReport) + Send + Sync + 'static,
    ) -> Builder {
        self.on_blocking = Some(std::sync::Arc::new(f));
        self
    }

    /// Deadlock detection (default off): the runtime watches who holds and who waits for
    /// every `Mutex`, `RwLock`, `ReentrantMutex`, `Semaphore` and `BoundedSemaphore`, and
    /// when tasks (or threads) end up waiting for each other in a cycle it reports the cycle
    /// once, naming each task and where it waits and where it took what it holds (see
    /// [`DeadlockReport`](crate::diag::DeadlockReport)). The report goes to
    /// [`on_deadlock`](Builder::on_deadlock), or to stderr.
    ///
    /// Tracking is process-wide once on (locks don't know which runtime uses them), and
    /// reports go to the runtime of the thread whose wait closed the cycle, if it asked for
    /// them. Off, the lock fast paths pay one relaxed load; on, a lock records its holder
    /// inline, and a wait (the slow path) goes through a global table.
    ///
    /// Not seen: waits on `Event`, `Condvar` and channels, which have no holder to blame.
    /// A reentrant lock taken again by its holder never waits, so it is never a deadlock;
    /// a wait that a timeout ends leaves the wait-for graph when its future is dropped.
    ///
    /// ```
    /// use runtime::sync::{Barrier, Mutex};
    /// use std::sync::{mpsc, Arc};
    ///
    /// let (tx, reports) = mpsc::channel();
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .detect_deadlocks(true)
    ///     .on_deadlock(move |report| tx.send(report.to_string()).unwrap())
    ///     .build()
    ///     .unwrap();
    /// let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    /// let table = Arc::new(Barrier::new(2));
    /// for (first, second) in [(a.clone(), b.clone()), (b, a)] {
    ///     let table = table.clone();
    ///     rt.spawn(async move {
    ///         let _first = first.lock().await;
    ///         table.wait().await.unwrap(); // both hold their first lock
    ///         let _second = second.lock().await; // and wait for the other's
    ///     });
    /// }
    /// let report = reports.recv().unwrap();
    /// assert!(report.starts_with("deadlock: 2 parties"), "{report}");
    /// drop(rt); // cancels the two tasks
    /// ```
    pub fn detect_deadlocks(mut self, on: bool) -> Builder {
        self.deadlock.detect = on;
        self
    }

    /// Where this runtime's deadlock reports go (default: printed on stderr). Called on the
    /// thread of the task whose wait closed the cycle, once per cycle: keep it short, and
    /// don't wait in it for the tasks of the cycle. Takes effect with
    /// [`detect_deadlocks(true)`](Builder::detect_deadlocks).
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread()
    ///     .detect_deadlocks(true)
    ///     .on_deadlock(|report| {
    ///         for link in report.links() {
    ///             eprintln!("{} waits at {}", link.waiter(), link.waits_at());
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn on_deadlock(
        mut self,
        f: impl Fn(&crate::diag::DeadlockReport) + Send + Sync + 'static,
    ) -> Builder {
        self.deadlock.on_deadlock = Some(Arc::new(f));
        self
    }

    /// Builds the runtime; for the multi-thread flavor this starts the workers.
    ///
    /// # Errors
    ///
    /// If a worker thread can't be spawned.
    ///
    /// ```
    /// // `build` takes `&mut self`: one builder can make several runtimes.
    /// let mut builder = runtime::Builder::new_current_thread();
    /// let first = builder.build()?;
    /// let second = builder.build()?;
    /// assert_eq!(first.block_on(async { 1 }) + second.block_on(async { 2 }), 3);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        let worker_threads = match self.kind {
            Kind::CurrentThread => 1,
            Kind::MultiThread => self
                .worker_threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        };
        let config = Config {
            worker_threads,
            max_blocking_threads: self.max_blocking_threads,
            thread_keep_alive: self.thread_keep_alive,
            thread_name: self.thread_name.clone(),
            thread_stack_size: self.thread_stack_size,
            on_thread_start: self.on_thread_start.clone(),
            on_thread_stop: self.on_thread_stop.clone(),
            global_queue_interval: self.global_queue_interval,
            event_interval: self.event_interval,
            start_paused: self.start_paused,
            monitor: None,
            deadlock: self.deadlock.clone(),
            io: crate::driver::IoConfig {
                driver: match self.io_driver {
                    Some(driver) => driver,
                    None => IoDriver::from_env()?.unwrap_or_default(),
                },
                fail_uring_setup: self.fail_uring_setup,
            },
        };
        let threshold = match self.max_blocking_time {
            Some(max) => Some(max),
            None => crate::diag::monitor::threshold_from_env()?,
        };
        let config = Config {
            monitor: threshold.map(|threshold| crate::diag::monitor::MonitorConfig {
                threshold,
                report: self.on_blocking.clone(),
            }),
            ..config
        };
        if self.deadlock.detect {
            crate::diag::install();
        }
        Runtime::from_config(self.kind, config)
    }
}

impl Builder {
    /// Builds a [`LocalRuntime`](crate::LocalRuntime): a current-thread runtime bound to
    /// this thread, which also takes futures that are not `Send`.
    ///
    /// # Errors
    ///
    /// If the IO driver can't be created.
    ///
    /// # Panics
    ///
    /// On a multi-thread builder: a `LocalRuntime` runs every task on its own thread, so
    /// start from [`Builder::new_current_thread`].
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local()?;
    /// let rc = std::rc::Rc::new(1);
    /// assert_eq!(rt.block_on(rt.spawn_local(async move { *rc })).unwrap(), 1);
    /// # std::io::Result::Ok(())
    /// ```
    #[track_caller]
    pub fn build_local(&mut self) -> io::Result<crate::LocalRuntime> {
        assert!(
            self.kind == Kind::CurrentThread,
            "build_local needs `Builder::new_current_thread()`: a LocalRuntime runs every task \
             on the thread that builds it, and a multi-thread builder would spread them over workers"
        );
        self.build().map(crate::LocalRuntime::from_runtime)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("thread_name", &self.thread_name)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("event_interval", &self.event_interval)
            .field("start_paused", &self.start_paused)
            .field("max_blocking_time", &self.max_blocking_time)
            .field("detect_deadlocks", &self.deadlock.detect)
            .field("io_driver", &self.io_driver)
            .finish_non_exhaustive()
    }
}
