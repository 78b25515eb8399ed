// `#[runtime::main]` runs the body on a multi_thread runtime with one worker per core.

#[runtime::main]
async fn main() {
    let handle = runtime::Handle::current();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(handle.metrics().workers, cores);

    let value = runtime::spawn(async { 6 * 7 })
        .await
        .expect("the spawned task panicked");
    assert_eq!(value, 42);
}
