#[runtime::main(start_paused = true)]
async fn main() {}

#[runtime::test(flavor = "multi_thread", start_paused = true)]
async fn paused_on_workers() {}
