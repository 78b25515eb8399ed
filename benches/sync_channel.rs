//! The channel workloads of the `sync` benchmark (a module of `benches/sync.rs`): each runtime
//! with its natural bounded MPSC/MPMC channel (ours on this runtime, `tokio::sync::mpsc` on
//! tokio, `async-channel` on smol's executor) and `std::sync::mpsc::sync_channel` on OS
//! threads.

use std::future::Future;
use std::thread;
use std::time::{Duration, Instant};

use super::{ns_per_op, Rt};

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 250_000;
const CAPACITY: usize = 1_024;
/// Ops per uncontended measurement: sends and receives are counted separately.
const UNCONTENDED_ROUNDS: usize = 1_000_000;

/// A bounded channel of `u64`, as each library spells it.
pub(crate) trait Chan: 'static {
    type Tx: Clone + Send + Sync + 'static;
    type Rx: Send + 'static;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send;
}

/// `runtime::sync::channel`.
pub(crate) struct Ours;
/// `tokio::sync::mpsc`.
pub(crate) struct TokioMpsc;
/// `async-channel`.
pub(crate) struct AsyncChannel;

impl Chan for Ours {
    type Tx = runtime::sync::channel::Sender<u64>;
    type Rx = runtime::sync::channel::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        runtime::sync::channel::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("open");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

impl Chan for TokioMpsc {
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("open");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
}

impl Chan for AsyncChannel {
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("open");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

/// 4 producer tasks send 250 000 `u64` each into a channel of capacity 1 024; one consumer
/// (the workload's own task) receives them all.
pub(crate) fn mpsc_bounded<R: Rt, C: Chan>(rt: &R) -> Duration {
    let start = Instant::now();
    rt.run(async move {
        let (tx, mut rx) = C::bounded(CAPACITY);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                R::spawn(async move {
                    for i in 0..PER_PRODUCER {
                        C::send(&tx, p * PER_PRODUCER + i).await;
                    }
                })
            })
            .collect();
        drop(tx);
        let (mut n, mut sum) = (0, 0);
        while let Some(v) = C::recv(&mut rx).await {
            n += 1;
            sum += v;
        }
        for p in producers {
            p.await;
        }
        let total = PRODUCERS * PER_PRODUCER;
        assert_eq!((n, sum), (total, total * (total - 1) / 2), "lost messages");
    });
    start.elapsed()
}

/// The same with `std::sync::mpsc::sync_channel` and one OS thread per producer.
pub(crate) fn mpsc_bounded_threads() -> Duration {
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::sync_channel(CAPACITY);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    tx.send(p * PER_PRODUCER + i).expect("open");
                }
            })
        })
        .collect();
    drop(tx);
    let (mut n, mut sum) = (0u64, 0u64);
    while let Ok(v) = rx.recv() {
        n += 1;
        sum += v;
    }
    for p in producers {
        p.join().expect("a producer panicked");
    }
    let total = PRODUCERS * PER_PRODUCER;
    assert_eq!((n, sum), (total, total * (total - 1) / 2), "lost messages");
    start.elapsed()
}

/// ns per operation (a send or a receive) on one thread: send one value into a non-full
/// channel, receive it back, under `futures::executor::block_on`.
pub(crate) fn channel_uncontended<C: Chan>() -> f64 {
    let (tx, mut rx) = C::bounded(CAPACITY);
    ns_per_op(2 * UNCONTENDED_ROUNDS, || {
        futures::executor::block_on(async {
            for i in 0..UNCONTENDED_ROUNDS as u64 {
                C::send(&tx, i).await;
                assert_eq!(C::recv(&mut rx).await, Some(i));
            }
        })
    })
}

/// The same with `std::sync::mpsc::sync_channel`.
pub(crate) fn channel_uncontended_std() -> f64 {
    let (tx, rx) = std::sync::mpsc::sync_channel(CAPACITY);
    ns_per_op(2 * UNCONTENDED_ROUNDS, || {
        for i in 0..UNCONTENDED_ROUNDS as u64 {
            tx.send(i).expect("open");
            assert_eq!(rx.recv(), Ok(i));
        }
    })
}
