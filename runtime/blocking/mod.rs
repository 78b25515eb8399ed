//! The blocking pool: threads for `spawn_blocking`, so CPU-heavy and blocking calls stay
//! off the async workers.
//!
//! Threads are spawned on demand up to `max_blocking_threads`, an idle thread is reused
//! before a new one is spawned, idle threads retire after `thread_keep_alive`, and jobs run
//! in FIFO order. Jobs are tasks (same cell, same `JoinHandle`) that are never rescheduled.

mod pool;

pub(crate) use pool::Spawner;
