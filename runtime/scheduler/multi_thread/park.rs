//! A worker's parker: park in the driver if it is free, else on the worker's own condvar.
//!
//! Only one worker at a time can wait in the driver (the IO reactor, once it is there);
//! the others wait on a condvar. Unparking a worker therefore either signals its condvar
//! or, if it sits in the driver, unparks the driver.

use crate::driver::{self, Driver};
use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

// The states of a `CondvarParker`.
const CV_EMPTY: usize = 0;
const CV_PARKED: usize = 1;
const CV_NOTIFIED: usize = 2;

pub(crate) struct Parker {
    inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    condvar: CondvarParker,
    shared: Arc<DriverShared>,
}

/// The one driver, shared by all workers of a runtime.
pub(crate) struct DriverShared {
    driver: Mutex<Option<Driver>>,
    pub(crate) handle: driver::Handle,
}

impl DriverShared {
    pub(crate) fn new(driver: Driver, handle: driver::Handle) -> DriverShared {
        DriverShared {
            driver: Mutex::new(Some(driver)),
            handle,
        }
    }

    /// Shuts the driver down once the last worker is done with it.
    pub(crate) fn shutdown(&self) {
        let mut driver = self.driver.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(driver) = driver.as_mut() {
            driver.shutdown();
        }
        // Wake a worker that might still be in it.
        self.handle.unpark();
    }
}

impl Parker {
    pub(crate) fn new(shared: Arc<DriverShared>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                condvar: CondvarParker::new(),
                shared,
            }),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Parks until unparked; returns whether this thread waited in the driver.
    pub(crate) fn park(&mut self) -> bool {
        self.inner.park()
    }

    /// One driver turn of at most `timeout`, if the driver is free; never blocks on the
    /// condvar (used for maintenance and deferred yields with `Duration::ZERO`).
    pub(crate) fn park_timeout(&mut self, timeout: Duration) {
        if let Ok(mut driver) = self.inner.shared.driver.try_lock() {
            if let Some(driver) = driver.as_mut() {
                driver.park_timeout(timeout);
                return;
            }
        }
        // Someone else holds the driver: hand it our io_uring SQEs.
        self.inner.shared.handle.flush_io();
    }
}

impl Inner {
    fn park(&self) -> bool {
        // A pending unpark ends the park before it starts.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return false;
        }
        if let Ok(mut driver) = self.shared.driver.try_lock() {
            if let Some(driver) = driver.as_mut() {
                self.park_driver(driver);
                return true;
            }
        }
        // The driver is taken: hand the io_uring SQEs this worker's tasks pushed to its
        // holder, or they would wait for its next turn (maybe a long sleep).
        self.shared.handle.flush_io();
        self.park_condvar();
        false
    }

    fn park_condvar(&self) {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        // `CondvarParker` remembers an unpark that lands between the CAS and the wait.
        loop {
            self.condvar.park(None);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }

    fn park_driver(&self, driver: &mut Driver) {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        driver.park();
        // Unparked, or woken by driver events: either way back to work.
        match self.state.swap(EMPTY, SeqCst) {
            NOTIFIED | PARKED_DRIVER => {}
            actual => panic!("inconsistent park state: {actual}"),
        }
    }

    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => self.condvar.unpark(),
            PARKED_DRIVER => self.shared.handle.unpark(),
            actual => panic!("inconsistent park state: {actual}"),
        }
    }
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        self.inner.unpark();
    }
}

/// Parks a thread on a condvar with no lost wake-up: an unpark before the park makes the
/// park return at once.
#[derive(Debug)]
struct CondvarParker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl CondvarParker {
    fn new() -> CondvarParker {
        CondvarParker {
            state: AtomicUsize::new(CV_EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Blocks until unparked (or `timeout` passes); consumes one pending unpark.
    fn park(&self, timeout: Option<Duration>) {
        if timeout == Some(Duration::ZERO) {
            // A turn that must not block: consume a pending unpark, reading first so the
            // common nothing-pending case writes no shared cache line.
            if self.state.load(SeqCst) == CV_NOTIFIED {
                let _ = self
                    .state
                    .compare_exchange(CV_NOTIFIED, CV_EMPTY, SeqCst, SeqCst);
            }
            return;
        }
        if self
            .state
            .compare_exchange(CV_NOTIFIED, CV_EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match self
            .state
            .compare_exchange(CV_EMPTY, CV_PARKED, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(CV_NOTIFIED) => {
                self.state.swap(CV_EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        match timeout {
            None => loop {
                guard = self.cvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                if self
                    .state
                    .compare_exchange(CV_NOTIFIED, CV_EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return;
                }
                // Spurious wake-up: wait again.
            },
            Some(timeout) => {
                let (_guard, _) = self
                    .cvar
                    .wait_timeout(guard, timeout)
                    .unwrap_or_else(|e| e.into_inner());
                // Notified or timed out: either way the park is over.
                self.state.swap(CV_EMPTY, SeqCst);
            }
        }
    }

    fn unpark(&self) {
        match self.state.swap(CV_NOTIFIED, SeqCst) {
            CV_EMPTY | CV_NOTIFIED => {}
            CV_PARKED => {
                // Taking the lock orders this notify after the parker's wait began.
                drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
                self.cvar.notify_one();
            }
            actual => panic!("inconsistent park state: {actual}"),
        }
    }
}
