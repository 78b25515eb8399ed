// `crate = "path"` finds the runtime crate under another name.

use runtime as rt;

#[rt::main(crate = "rt", flavor = "current_thread")]
async fn main() {
    let value = rt::spawn(async { 1 + 1 })
        .await
        .expect("the spawned task panicked");
    assert_eq!(value, 2);
}
