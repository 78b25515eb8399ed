// `start_paused = true`: the clock starts paused, so an hour-long sleep returns at once,
// exactly an hour later on the virtual clock.

use runtime::time::{sleep, Duration, Instant};

#[runtime::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let start = Instant::now();
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}
