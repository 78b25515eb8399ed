// `flavor = "current_thread"` runs every task on the thread that called `main`.

#[runtime::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(runtime::Handle::current().metrics().workers, 1);

    let main_thread = std::thread::current().id();
    let task_thread = runtime::spawn(async { std::thread::current().id() })
        .await
        .expect("the spawned task panicked");
    assert_eq!(task_thread, main_thread);
}
