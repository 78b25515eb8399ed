//! The work-stealing multi-thread scheduler (see `worker` for the loop and the mechanisms).

mod idle;
mod lifo;
mod park;
pub(crate) mod queue;
mod worker;

pub(crate) use worker::{Context, Handle};

use crate::driver::Driver;
use crate::runtime_config::Config;
use park::DriverShared;
use std::io;
use std::sync::Arc;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The scheduler as the `Runtime` owns it: the handle plus the worker threads.
pub(crate) struct MultiThread {
    handle: Arc<Handle>,
    workers: Arc<WorkersDone>,
}

/// Counts worker threads still running, so shutdown can wait for them with a deadline.
struct WorkersDone {
    running: Mutex<usize>,
    cvar: Condvar,
}

impl MultiThread {
    pub(crate) fn new(
        config: Config,
        blocking: crate::blocking::Spawner,
        rt_handle: impl Fn(Arc<Handle>) -> crate::Handle,
    ) -> io::Result<(MultiThread, Arc<Handle>)> {
        // Not pausable: see `time::clock`. A timer shard per worker, and one for other threads.
        let clock = crate::time::clock::Clock::new(false, false);
        let (driver, driver_handle) = Driver::new(clock, config.io, config.worker_threads + 1)?;
        let driver = Arc::new(DriverShared::new(driver, driver_handle));
        let (handle, cores) = worker::create(config, driver, blocking);
        let workers = Arc::new(WorkersDone {
            running: Mutex::new(0),
            cvar: Condvar::new(),
        });
        let public = rt_handle(handle.clone());
        let this = MultiThread {
            handle: handle.clone(),
            workers: workers.clone(),
        };
        for (index, core) in cores.into_iter().enumerate() {
            let handle = handle.clone();
            let public = public.clone();
            let exit = WorkerExit(workers.clone());
            let config = &handle.config;
            let mut builder =
                std::thread::Builder::new().name(format!("{}-{index}", config.thread_name));
            if let Some(size) = config.thread_stack_size {
                builder = builder.stack_size(size);
            }
            *workers.running.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            let spawned = builder.spawn(move || {
                let _exit = exit;
                let config = handle.config.clone();
                if let Some(f) = &config.on_thread_start {
                    crate::util::run_thread_callback(f);
                }
                {
                    let _enter = crate::context::enter_runtime(&public, true);
                    worker::run(handle, index, core);
                }
                if let Some(f) = &config.on_thread_stop {
                    crate::util::run_thread_callback(f);
                }
            });
            if let Err(err) = spawned {
                *workers.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
                // Stop the workers already started before reporting.
                this.shutdown(None);
                return Err(err);
            }
        }
        Ok((this, handle))
    }

    /// Stops the workers (cancelling every task) and waits for them, at most `timeout`.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        self.handle.shutdown();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut running = self
            .workers
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while *running > 0 {
            running = match deadline {
                None => self
                    .workers
                    .cvar
                    .wait(running)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return;
                    }
                    self.workers
                        .cvar
                        .wait_timeout(running, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

struct WorkerExit(Arc<WorkersDone>);

impl Drop for WorkerExit {
    fn drop(&mut self) {
        let mut running = self.0.running.lock().unwrap_or_else(|e| e.into_inner());
        *running -= 1;
        self.0.cvar.notify_all();
    }
}
