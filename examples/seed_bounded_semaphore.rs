//! Seed 6: a bounded semaphore: releasing more than was acquired is an error.
//!
//! The Python original:
//!
//! ```python
//! s = threading.BoundedSemaphore(2)
//! s.acquire()
//! s.release()
//! s.release()      # ValueError: Semaphore released too many times
//! ```
//!
//! With a plain `Semaphore`, Python's extra `release()` silently raises the limit. In Rust
//! the usual form can't over-release at all: a permit is a guard, released once, when it
//! drops. For code that takes a permit in one place and gives it back in another (the
//! Python style), `BoundedSemaphore` pairs `permit.forget()` ("acquire") with
//! `release(n)`, and a release past the initial count is an `Err(OverRelease)` that changes
//! nothing, where Python raises `ValueError`.
//!
//! ```text
//! cargo run --release --example seed_bounded_semaphore
//! ```

use runtime::sync::{BoundedSemaphore, Semaphore};

#[runtime::main(flavor = "current_thread")]
async fn main() {
    let s = BoundedSemaphore::new(2);
    println!("BoundedSemaphore(2): {} free", s.available_permits());

    // Python's acquire(): take a permit and keep no guard.
    s.acquire().await.unwrap().forget();
    println!("acquire: {} free", s.available_permits());

    match s.release(1) {
        Ok(()) => println!("release: ok, {} free", s.available_permits()),
        Err(e) => println!("release: error: {e}"),
    }
    // One release too many: an error, and the count stays at the bound.
    match s.release(1) {
        Ok(()) => println!("release again: ok, {} free", s.available_permits()),
        Err(e) => println!(
            "release again: error: {e}; still {} free",
            s.available_permits()
        ),
    }

    // Asking for more than the bound can never succeed: an error at once, not a hang.
    match s.acquire_many(3).await {
        Ok(_) => println!("acquire_many(3): got them"),
        Err(e) => println!("acquire_many(3): error: {e}"),
    }

    // The plain semaphore has no bound to check: the extra release raises its limit.
    let plain = Semaphore::new(2);
    plain.add_permits(1);
    println!(
        "Semaphore(2) after one unmatched release: {} free",
        plain.available_permits()
    );

    // The Rust way needs no release call at all: the guard releases exactly once.
    {
        let _permit = s.acquire().await.unwrap();
        println!("guard held: {} free", s.available_permits());
    }
    println!("guard dropped: {} free", s.available_permits());
}
