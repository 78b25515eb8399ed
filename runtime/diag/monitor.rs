//! The blocking-poll monitor: gevent's `max_blocking_time`, plus a rescue.
//!
//! One thread per runtime built with `Builder::warn_on_blocking` (or with
//! `RUNTIME_MAX_BLOCKING_TIME` in the environment). It wakes every `period` (a tenth of the
//! threshold, between 1 and 10 ms) and samples each worker's `PollSlot`: a worker whose
//! poll count and task have not moved since the last round is inside one poll, and the
//! monitor times that poll from the round it first saw it, so a reported duration is never
//! longer than the real one (it may be shorter by one period).
//!
//! - **Report**: a poll seen for at least the threshold is reported once, in gevent's
//!   layout ("task 7 (name) appears to be blocked", how long, where it was spawned, then the
//!   runtime's task dump), to the `on_blocking` callback or stderr.
//! - **Rescue** (multi-thread only): a poll seen for [`RESCUE_AFTER`] (or the threshold, if
//!   smaller) gets its worker's queued work moved: the LIFO slot's task goes to the
//!   injector and a parked worker is woken, which takes it and steals half the stuck
//!   worker's ring (and so on while work remains). The IO driver needs no rescue: a worker
//!   only holds it while parked, and one that leaves it with tasks to run wakes another to
//!   take its place.

use crate::diag::dump::{self, Secs};
use crate::scheduler;
use crate::task_core::Id;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A poll this long on a worker with queued work hands that work to other workers.
pub(crate) const RESCUE_AFTER: Duration = Duration::from_millis(10);

/// The threshold when the monitor is switched on without one (gevent's default, 0.1 s).
pub(crate) const DEFAULT_MAX_BLOCKING_TIME: Duration = Duration::from_millis(100);

/// The environment variable that switches the monitor on (gevent's
/// `GEVENT_MAX_BLOCKING_TIME`, in this project's name).
pub(crate) const ENV_MAX_BLOCKING_TIME: &str = "RUNTIME_MAX_BLOCKING_TIME";

pub(crate) type ReportFn = Arc<dyn Fn(&BlockingReport) + Send + Sync>;

#[derive(Clone)]
pub(crate) struct MonitorConfig {
    pub(crate) threshold: Duration,
    pub(crate) report: Option<ReportFn>,
}

/// A poll that ran longer than the runtime's `warn_on_blocking` threshold.
///
/// `Display` is the report the monitor prints to stderr when no
/// [`on_blocking`](crate::Builder::on_blocking) callback is set:
///
/// ```text
/// task 7 "conn-42" appears to be blocked: in one poll for 0.201 s on worker 1
///     (threshold 0.100 s), spawned at src/main.rs:20:9
/// 3 live tasks, 2 workers
/// ...the task dump...
/// ```
///
/// ```
/// use runtime::time::Duration;
/// use std::sync::mpsc;
///
/// let (tx, rx) = mpsc::channel();
/// let tx = std::sync::Mutex::new(tx);
/// let rt = runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .warn_on_blocking(Duration::from_millis(50))
///     .on_blocking(move |report| drop(tx.lock().unwrap().send(report.task())))
///     .build()
///     .unwrap();
/// let task = rt.spawn(async { std::thread::sleep(Duration::from_millis(200)) });
/// let id = task.id();
/// rt.block_on(task).unwrap();
/// assert_eq!(rx.recv().unwrap(), id);
/// ```
#[derive(Debug, Clone)]
pub struct BlockingReport {
    task: Id,
    name: Option<String>,
    location: Option<&'static Location<'static>>,
    worker: usize,
    elapsed: Duration,
    threshold: Duration,
    dump: dump::TaskDump,
}

impl BlockingReport {
    /// The task inside the long poll.
    ///
    /// ```
    /// # fn f(r: &runtime::diag::BlockingReport) -> runtime::task::Id {
    /// r.task()
    /// # }
    /// ```
    pub fn task(&self) -> Id {
        self.task
    }

    /// Its name, if it has one.
    ///
    /// ```
    /// # fn f(r: &runtime::diag::BlockingReport) -> Option<&str> {
    /// r.name()
    /// # }
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where it was spawned (`None` if it ended before the report was written).
    ///
    /// ```
    /// # fn f(r: &runtime::diag::BlockingReport) -> Option<u32> {
    /// r.location().map(|l| l.line())
    /// # }
    /// ```
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }

    /// The worker it blocks.
    ///
    /// ```
    /// # fn f(r: &runtime::diag::BlockingReport) -> usize {
    /// r.worker()
    /// # }
    /// ```
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// How long the poll had lasted when reported (at least this long).
    ///
    /// ```
    /// # fn f(r: &runtime::diag::BlockingReport) -> std::time::Duration {
    /// r.elapsed()
    /// # }
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The runtime's threshold.
    ///
    /// ```
    /// # fn f(r: &runtime::diag::BlockingReport) -> std::time::Duration {
    /// r.threshold()
    /// # }
    /// ```
    pub fn threshold(&self) -> Duration {
        self.threshold
    }

    /// The task dump taken when the report was made.
    ///
    /// ```
    /// # fn f(r: &runtime::diag::BlockingReport) -> usize {
    /// r.dump().len()
    /// # }
    /// ```
    pub fn dump(&self) -> &dump::TaskDump {
        &self.dump
    }
}

impl fmt::Display for BlockingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.task)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        write!(
            f,
            " appears to be blocked: in one poll for {} on worker {} (threshold {})",
            Secs(self.elapsed),
            self.worker,
            Secs(self.threshold)
        )?;
        if let Some(location) = self.location {
            write!(f, ", spawned at {location}")?;
        }
        writeln!(f)?;
        write!(f, "{}", self.dump)
    }
}

/// The running monitor thread; stopping it (on drop) joins the thread.
pub(crate) struct Monitor {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// Per worker: the poll the monitor is watching and what it did about it.
#[derive(Clone, Copy)]
struct Watch {
    polls: u64,
    task: Option<Id>,
    first_seen: Instant,
    reported: bool,
    rescued: bool,
}

impl Monitor {
    pub(crate) fn start(
        handle: scheduler::Handle,
        config: MonitorConfig,
        thread_name: &str,
    ) -> std::io::Result<Monitor> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = std::thread::Builder::new()
            .name(format!("{thread_name}-monitor"))
            .spawn({
                let stop = stop.clone();
                move || run(handle, config, &stop)
            })?;
        Ok(Monitor {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let (stopped, cvar) = &*self.stop;
        *stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn period(threshold: Duration) -> Duration {
    (threshold / 10).clamp(Duration::from_millis(1), Duration::from_millis(10))
}

fn run(handle: scheduler::Handle, config: MonitorConfig, stop: &(Mutex<bool>, Condvar)) {
    let period = period(config.threshold);
    let rescue_after = RESCUE_AFTER.min(config.threshold);
    let mut watches: Vec<Option<Watch>> = Vec::new();
    let (stopped, cvar) = stop;
    let mut guard = stopped.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        // Woken by the period's end or by `Monitor::drop`: a timed wait, not a poll loop.
        guard = cvar
            .wait_timeout(guard, period)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if *guard {
            return;
        }
        let now = Instant::now();
        let (samples, _now) = handle.poll_samples();
        watches.resize(samples.len(), None);
        for (worker, (sample, watch)) in samples.iter().zip(watches.iter_mut()).enumerate() {
            let Some(task) = sample.task else {
                *watch = None;
                continue;
            };
            let same = watch.is_some_and(|w| w.polls == sample.polls && w.task == Some(task));
            if !same {
                *watch = Some(Watch {
                    polls: sample.polls,
                    task: Some(task),
                    first_seen: now,
                    reported: false,
                    rescued: false,
                });
                continue;
            }
            let w = watch.as_mut().expect("checked above");
            // It began after the round before `first_seen`: at least this long ago.
            let elapsed = now.duration_since(w.first_seen);
            if !w.rescued && elapsed >= rescue_after {
                w.rescued = true;
                if let scheduler::Handle::MultiThread(h) = &handle {
                    h.rescue(worker);
                }
            }
            if !w.reported && elapsed >= config.threshold {
                w.reported = true;
                // The dump and the report are made with the stop lock released, so a
                // runtime shutting down never waits on them.
                drop(guard);
                report(&handle, &config, task, worker, elapsed);
                guard = stopped.lock().unwrap_or_else(|e| e.into_inner());
                if *guard {
                    return;
                }
            }
        }
    }
}

fn report(
    handle: &scheduler::Handle,
    config: &MonitorConfig,
    task: Id,
    worker: usize,
    elapsed: Duration,
) {
    let dump = dump::take(handle);
    let info = dump.get(task);
    let report = BlockingReport {
        task,
        name: info.and_then(|t| t.name().map(str::to_owned)),
        location: info.map(|t| t.location()),
        worker,
        elapsed,
        threshold: config.threshold,
        dump,
    };
    match &config.report {
        Some(f) => f(&report),
        None => eprintln!("{report}"),
    }
}

/// The threshold `RUNTIME_MAX_BLOCKING_TIME` asks for: seconds as gevent takes them
/// (`0.1`), or with a unit (`100ms`, `2s`); set but empty means the default. `None` when
/// unset; an unreadable value is an error naming the variable.
pub(crate) fn threshold_from_env() -> std::io::Result<Option<Duration>> {
    let Some(value) = std::env::var_os(ENV_MAX_BLOCKING_TIME) else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    parse_threshold(value.trim()).map(Some).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{ENV_MAX_BLOCKING_TIME}={value:?}: expected seconds (0.1) or a duration \
                 with a unit (100ms, 2s)"
            ),
        )
    })
}

fn parse_threshold(value: &str) -> Option<Duration> {
    if value.is_empty() {
        return Some(DEFAULT_MAX_BLOCKING_TIME);
    }
    let (number, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1.0)
    } else {
        (value, 1.0)
    };
    let secs = number.trim().parse::<f64>().ok()? * scale;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_like_gevents() {
        assert_eq!(parse_threshold(""), Some(DEFAULT_MAX_BLOCKING_TIME));
        assert_eq!(parse_threshold("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_threshold("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_threshold("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_threshold("0"), None);
        assert_eq!(parse_threshold("-1"), None);
        assert_eq!(parse_threshold("soon"), None);
    }

    #[test]
    fn the_period_is_a_tenth_within_bounds() {
        assert_eq!(
            period(Duration::from_millis(100)),
            Duration::from_millis(10)
        );
        assert_eq!(period(Duration::from_millis(5)), Duration::from_millis(1));
        assert_eq!(period(Duration::from_secs(5)), Duration::from_millis(10));
    }
}
