//! Wakers of tasks that called `yield_now`, woken after the next driver turn.

use std::cell::RefCell;
use std::task::Waker;

pub(crate) struct Defer {
    deferred: RefCell<Vec<Waker>>,
}

impl Defer {
    pub(crate) fn new() -> Defer {
        Defer {
            deferred: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn defer(&self, waker: &Waker) {
        let mut deferred = self.deferred.borrow_mut();
        // A task that yields twice before the turn needs one wake.
        if let Some(last) = deferred.last() {
            if last.will_wake(waker) {
                return;
            }
        }
        deferred.push(waker.clone());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.deferred.borrow().is_empty()
    }

    pub(crate) fn wake(&self) {
        // Wake outside the borrow (a wake may defer again), and hand the emptied buffer
        // back so its capacity is reused instead of reallocated every driver turn.
        let mut batch = std::mem::take(&mut *self.deferred.borrow_mut());
        while !batch.is_empty() {
            for waker in batch.drain(..) {
                crate::util::wake_contained(waker);
            }
            std::mem::swap(&mut batch, &mut *self.deferred.borrow_mut());
        }
        let mut deferred = self.deferred.borrow_mut();
        if deferred.capacity() < batch.capacity() {
            *deferred = batch;
        }
    }
}
