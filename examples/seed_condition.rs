//! Seed 8: a condition variable: two speakers that strictly alternate, and a dispatcher.
//!
//! The Python originals: the smart speakers 天猫精灵 (Tmall Genie) and 小爱 (Xiao Ai)
//! recite line by line, and a `Dispatcher` hands data to a consumer with `notify_all` and
//! `wait(timeout=3)`:
//!
//! ```python
//! class Tianmao(Thread):
//!     def run(self):
//!         with self.cond:
//!             print("天猫精灵 : 小爱同学"); self.cond.notify(); self.cond.wait()
//!             print("天猫精灵 : 我们来对古诗吧"); self.cond.notify(); self.cond.wait()
//!             ...
//! xiaoai.start(); tianmao.start()    # "start order matters: tianmao first hangs"
//! ```
//!
//! A bare lock can't order them: it only keeps them from speaking *at the same time*, and
//! whoever grabs it next speaks next (the seed's first attempt printed both of 天猫精灵's
//! lines, then both of 小爱's). The condition variable waits for a *state*: here whose turn
//! it is, kept inside the `Mutex` next to the `Condvar`. `wait_while(guard, pred)` releases
//! the lock while it sleeps, re-takes it before checking again, and so can't miss a turn.
//! Since the wait is on a state rather than on a notification, the start order no longer
//! matters (the seed's hang when 天猫精灵 starts first is gone).
//!
//! ```text
//! cargo run --release --example seed_condition
//! ```

use std::sync::Arc;
use std::time::Duration;

use runtime::sync::{Condvar, Mutex};
use runtime::time::sleep;

const DIALOGUE: [&str; 6] = [
    "小爱同学",       // Xiao Ai!
    "在",             // Here.
    "我们来对古诗吧", // Let's recite classical poems.
    "好啊",           // Sure.
    "我住长江头",     // I live at the head of the Yangtze...
    "不聊了，再见",   // Let's stop here, bye.
];
const SPEAKERS: [&str; 2] = ["天猫精灵", "小爱"];

/// What the dispatcher's lock protects.
#[derive(Debug, Default)]
struct Slot {
    data: Option<u32>,
    done: bool,
}

#[runtime::main]
async fn main() {
    // The speakers: `turn` is the index of the next line; speaker `me` says the even lines
    // (me = 0) or the odd ones (me = 1).
    let talk = Arc::new((Mutex::new(0usize), Condvar::new()));
    let speakers: Vec<_> = (0..2)
        .map(|me| {
            let talk = talk.clone();
            runtime::spawn(async move {
                let (turn, cv) = &*talk;
                for line in (me..DIALOGUE.len()).step_by(2) {
                    let mut turn = cv.wait_while(turn.lock().await, |t| *t != line).await;
                    println!("{} : {}", SPEAKERS[me], DIALOGUE[line]);
                    *turn += 1;
                    cv.notify_all(); // the other one may speak now
                }
            })
        })
        .collect();
    for s in speakers {
        s.await.unwrap();
    }

    // The dispatcher: one producer, two consumers. Each value is taken exactly once; the
    // producer waits until the slot is empty before filling it again.
    let pair = Arc::new((Mutex::new(Slot::default()), Condvar::new()));
    let consumers: Vec<_> = ["A", "B"]
        .into_iter()
        .map(|name| {
            let pair = pair.clone();
            runtime::spawn(async move {
                let (slot, cv) = &*pair;
                loop {
                    let mut s = cv
                        .wait_while(slot.lock().await, |s| s.data.is_none() && !s.done)
                        .await;
                    let Some(v) = s.data.take() else { break }; // done, slot empty
                    println!("consumer {name}: received {v}");
                    cv.notify_all(); // the producer waits for an empty slot
                }
            })
        })
        .collect();
    let (slot, cv) = &*pair;
    let mut seed = 7u32;
    for _ in 0..10 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345); // random.randint
        let v = (seed >> 16) % 101;
        let mut s = cv.wait_while(slot.lock().await, |s| s.data.is_some()).await;
        println!("producer: {v}");
        s.data = Some(v);
        cv.notify_all(); // wakes both consumers; one finds the value, the other waits on
        drop(s);
        sleep(Duration::from_millis(2)).await; // the seed's event.wait(0.3)
    }
    let mut s = cv.wait_while(slot.lock().await, |s| s.data.is_some()).await;
    s.done = true;
    cv.notify_all();
    drop(s);
    for c in consumers {
        c.await.unwrap();
    }

    // The seed's wait(timeout=3), for when nobody will notify again.
    let (_s, timed_out) = cv
        .wait_timeout(slot.lock().await, sleep(Duration::from_millis(50)))
        .await;
    println!("wait with a 50 ms timeout, nobody notifying: timed out = {timed_out}");
}
