#[runtime::test(flavor = "local", worker_threads = 2)]
async fn local_has_one_thread() {}

fn main() {}
