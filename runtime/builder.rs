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
        }
    }

    /// The work-stealing scheduler, one worker per core by default.
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    /// Everything on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    /// Worker threads of the multi-thread scheduler (default: the number of cores).
    /// Ignored by the current-thread scheduler.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
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
    #[track_caller]
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it exits (default 10 s).
    pub fn thread_keep_alive(mut self, d: Duration) -> Builder {
        self.thread_keep_alive = d;
        self
    }

    /// The name prefix of the runtime's threads (default `runtime-worker`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// The stack size of the runtime's threads (default: std's).
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Called on each runtime thread when it starts.
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Called on each runtime thread before it stops.
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Ticks between checks of the global queue ahead of the local one (default 61).
    ///
    /// # Panics
    ///
    /// If `n` is 0.
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
    #[track_caller]
    pub fn event_interval(mut self, n: u32) -> Builder {
        assert!(n > 0, "event_interval must be at least 1");
        self.event_interval = n;
        self
    }

    /// Builds the runtime; for the multi-thread flavor this starts the workers.
    ///
    /// # Errors
    ///
    /// If a worker thread can't be spawned.
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
        };
        Runtime::from_config(self.kind, config)
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
            .finish_non_exhaustive()
    }
}
