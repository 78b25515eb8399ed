//! loom models of the task state machine: wakes, aborts, shutdown and join-handle drops
//! racing a poll. Run with
//! `RUSTFLAGS="--cfg runtime_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib task::loom`.
//!
//! The scheduler is a queue under a mutex; "running" a task is popping and polling it.
//! Values that must be dropped exactly once are loom `Arc`s, whose leaks loom reports.

use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::{Arc, Mutex};
use crate::task_core::{new_task, JoinError, JoinHandle, Notified, Schedule, Task, TaskMeta};
use loom::thread;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Clone)]
struct Queue(Arc<Mutex<VecDeque<Notified<Queue>>>>);

impl Schedule for Queue {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }
    fn schedule(&self, task: Notified<Self>) {
        self.0.lock().unwrap().push_back(task);
    }
}

impl Queue {
    fn new() -> Queue {
        Queue(Arc::new(Mutex::new(VecDeque::new())))
    }

    /// Runs every queued task; returns how many polls that was.
    fn drain(&self) -> usize {
        let mut n = 0;
        loop {
            let task = self.0.lock().unwrap().pop_front();
            match task {
                Some(task) => {
                    task.run();
                    n += 1;
                }
                None => return n,
            }
        }
    }
}

fn meta() -> TaskMeta {
    TaskMeta::new(None, std::panic::Location::caller())
}

/// Spawns `future` on `queue` (dropping the owned reference, as blocking jobs do).
fn spawn<F>(queue: &Queue, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (task, notified, join) = new_task(future, queue.clone(), meta());
    drop(task);
    queue.schedule(notified);
    join
}

/// Pending until `ready` is set; leaves its waker in `slot` for the setter.
struct WaitFlag {
    ready: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
    _dropped: DropFlag,
}

struct DropFlag(Arc<AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl Future for WaitFlag {
    type Output = Arc<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Arc<()>> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.ready.load(SeqCst) {
            Poll::Ready(Arc::new(()))
        } else {
            Poll::Pending
        }
    }
}

fn wait_flag() -> (
    WaitFlag,
    Arc<AtomicBool>,
    Arc<Mutex<Option<Waker>>>,
    Arc<AtomicUsize>,
) {
    let ready = Arc::new(AtomicBool::new(false));
    let slot = Arc::new(Mutex::new(None));
    let drops = Arc::new(AtomicUsize::new(0));
    let fut = WaitFlag {
        ready: ready.clone(),
        slot: slot.clone(),
        _dropped: DropFlag(drops.clone()),
    };
    (fut, ready, slot, drops)
}

fn set_and_wake(ready: &AtomicBool, slot: &Mutex<Option<Waker>>) {
    ready.store(true, SeqCst);
    if let Some(waker) = slot.lock().unwrap().take() {
        waker.wake();
    }
}

/// Polls a join handle once with a no-op waker.
fn poll_join<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    Pin::new(join).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn wake_while_running_is_not_lost() {
    loom::model(|| {
        let queue = Queue::new();
        let (fut, ready, slot, drops) = wait_flag();
        let mut join = spawn(&queue, fut);
        let waker_thread = {
            let slot = slot.clone();
            thread::spawn(move || {
                // The waker may not be registered yet: then the poll sees `ready`.
                set_and_wake(&ready, &slot);
            })
        };
        queue.drain();
        waker_thread.join().unwrap();
        queue.drain();
        assert!(join.is_finished(), "a wake was lost");
        let out = match poll_join(&mut join) {
            Poll::Ready(Ok(out)) => out,
            other => panic!("unexpected {:?}", other.map(|r| r.map(drop))),
        };
        assert_eq!(drops.load(SeqCst), 1);
        drop(out);
        drop(slot.lock().unwrap().take());
    });
}

#[test]
fn abort_while_running() {
    loom::model(|| {
        let queue = Queue::new();
        let (fut, _ready, slot, drops) = wait_flag();
        let mut join = spawn(&queue, fut);
        let abort = join.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        queue.drain();
        aborter.join().unwrap();
        queue.drain();
        assert_eq!(drops.load(SeqCst), 1, "the future must be dropped once");
        match poll_join(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("an aborted task must finish cancelled"),
        }
        drop(slot.lock().unwrap().take());
    });
}

#[test]
fn abort_while_idle_races_wake() {
    loom::model(|| {
        let queue = Queue::new();
        let (fut, ready, slot, drops) = wait_flag();
        let mut join = spawn(&queue, fut);
        // First poll: the task goes idle with its waker in `slot`.
        queue.drain();
        let abort = join.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        let waker = {
            let slot = slot.clone();
            thread::spawn(move || set_and_wake(&ready, &slot))
        };
        aborter.join().unwrap();
        waker.join().unwrap();
        queue.drain();
        assert_eq!(drops.load(SeqCst), 1);
        // Either the wake ran the task to completion first, or the abort cancelled it.
        match poll_join(&mut join) {
            Poll::Ready(Ok(out)) => drop(out),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => panic!("the task must have finished"),
        }
        drop(slot.lock().unwrap().take());
    });
}

#[test]
fn join_handle_drop_races_completion() {
    loom::model(|| {
        let queue = Queue::new();
        let output = Arc::new(());
        let task_output = output.clone();
        let join = spawn(&queue, async move { task_output });
        let dropper = thread::spawn(move || drop(join));
        queue.drain();
        dropper.join().unwrap();
        // The output went to whichever side finished last, and was dropped there.
        assert_eq!(Arc::strong_count(&output), 1);
    });
}

#[test]
fn join_waker_registration_races_completion() {
    loom::model(|| {
        let queue = Queue::new();
        let (fut, ready, slot, _drops) = wait_flag();
        let mut join = spawn(&queue, fut);
        queue.drain();
        let joiner = thread::spawn(move || {
            let woken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let thread = thread::current();
            let waker = waker_fn(woken.clone(), thread);
            let mut cx = Context::from_waker(&waker);
            loop {
                if let Poll::Ready(res) = Pin::new(&mut join).poll(&mut cx) {
                    return res.is_ok();
                }
                // A lost join wake-up parks forever: loom reports the deadlock.
                while !woken.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    thread::park();
                }
            }
        });
        set_and_wake(&ready, &slot);
        queue.drain();
        assert!(joiner.join().unwrap());
        drop(slot.lock().unwrap().take());
    });
}

#[test]
fn shutdown_races_run() {
    loom::model(|| {
        let queue = Queue::new();
        let (fut, ready, slot, drops) = wait_flag();
        let (task, notified, mut join) = new_task(fut, queue.clone(), meta());
        queue.schedule(notified);
        let runner = {
            let queue = queue.clone();
            thread::spawn(move || queue.drain())
        };
        task.shutdown();
        runner.join().unwrap();
        set_and_wake(&ready, &slot);
        queue.drain();
        assert_eq!(drops.load(SeqCst), 1);
        match poll_join(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("a shut-down task must finish cancelled"),
        }
    });
}

fn waker_fn(flag: std::sync::Arc<std::sync::atomic::AtomicBool>, thread: thread::Thread) -> Waker {
    struct Unpark {
        flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
        thread: thread::Thread,
    }
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
            self.thread.unpark();
        }
    }
    Waker::from(std::sync::Arc::new(Unpark { flag, thread }))
}
