//! `#[runtime::test]` runs an `async fn` test on a runtime of the flavor it asks for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[runtime::test]
async fn current_thread_by_default() {
    assert_eq!(runtime::Handle::current().metrics().workers, 1);

    // The only worker is the test's own thread.
    let test_thread = std::thread::current().id();
    let task_thread = runtime::spawn(async { std::thread::current().id() })
        .await
        .expect("the spawned task panicked");
    assert_eq!(task_thread, test_thread);
}

#[runtime::test(flavor = "current_thread")]
async fn current_thread_runs_spawned_tasks() {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    runtime::spawn(async move { flag.store(true, Ordering::SeqCst) })
        .await
        .expect("the spawned task panicked");
    assert!(ran.load(Ordering::SeqCst));
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_with_two_workers() {
    assert_eq!(runtime::Handle::current().metrics().workers, 2);

    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    runtime::spawn(async move { flag.store(true, Ordering::SeqCst) })
        .await
        .expect("the spawned task panicked");
    assert!(ran.load(Ordering::SeqCst));
}

#[runtime::test(flavor = "multi_thread")]
async fn multi_thread_one_worker_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(runtime::Handle::current().metrics().workers, cores);
}

#[runtime::test]
async fn returns_a_result() -> Result<(), runtime::task::JoinError> {
    // `?` converts into the declared error type.
    let value = runtime::spawn(async { 2 + 2 }).await?;
    assert_eq!(value, 4);
    Ok(())
}

#[runtime::test]
#[should_panic(expected = "the body's panic reaches the test harness")]
async fn panics_reach_the_harness() {
    runtime::yield_now().await;
    panic!("the body's panic reaches the test harness");
}

#[runtime::main(flavor = "current_thread")]
async fn a_main_that_is_not_called_main() -> u32 {
    runtime::spawn(async { 7 })
        .await
        .expect("the spawned task panicked")
}

#[test]
fn main_attribute_works_on_any_function_name() {
    // A plain test thread, outside any runtime: the generated function builds its own.
    assert_eq!(a_main_that_is_not_called_main(), 7);
}
