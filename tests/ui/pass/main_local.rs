// `flavor = "local"` runs `main` on a `LocalRuntime`: futures that are not `Send` can be
// spawned with `spawn_local`, and they run on the thread that called `main`.

use std::cell::RefCell;
use std::rc::Rc;

#[runtime::main(flavor = "local")]
async fn main() {
    let main_thread = std::thread::current().id();
    let log = Rc::new(RefCell::new(Vec::new()));
    let task = runtime::spawn_local({
        let log = log.clone();
        async move {
            log.borrow_mut().push(std::thread::current().id());
        }
    });
    task.await.expect("the local task panicked");
    assert_eq!(*log.borrow(), [main_thread]);
}
