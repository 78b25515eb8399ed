//! The spirit of Go's channel tests (`chan_test.go`, `closedchan.go`, the sieve and the daisy
//! chain), ported to `channel::bounded` / `unbounded`: blocking semantics, FIFO order, close
//! semantics, many producers and consumers, and select-like use through `futures::select!`.
//! Go's unbuffered (capacity 0) channels have no counterpart here; capacity 1 stands in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures::executor::{block_on, ThreadPool};
use futures::task::SpawnExt;
use futures::{pin_mut, select, FutureExt};
use runtime_primitives::channel::{self, Receiver, RecvError, Sender, TryRecvError, TrySendError};

mod support;
use support::*;

/// Lets other tasks run: wakes itself and returns `Pending` once.
async fn yield_now() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

fn pool() -> ThreadPool {
    ThreadPool::builder().pool_size(2).create().expect("pool")
}

// ===== TestChan =====

/// Go's `TestChan`, for several capacities: receive from an empty channel blocks, send to a
/// full one blocks, close unblocks receivers, FIFO order, and four producers.
#[test]
fn test_chan() {
    within(20, || {
        for cap in [1usize, 2, 10, 100] {
            // A receive from an empty channel blocks until a send.
            let (tx, rx) = channel::bounded::<u32>(cap);
            let received = Arc::new(AtomicUsize::new(0));
            let receiver = {
                let (rx, received) = (rx.clone(), received.clone());
                thread::spawn(move || {
                    let v = rx.recv_blocking().expect("a value");
                    received.store(1, Ordering::SeqCst);
                    v
                })
            };
            thread::sleep(Duration::from_millis(1));
            assert_eq!(
                received.load(Ordering::SeqCst),
                0,
                "chan[{cap}]: recv from empty"
            );
            tx.try_send(0).expect("room");
            assert_eq!(receiver.join().expect("receiver"), 0);

            // A send to a full channel blocks until a receive.
            for i in 0..cap as u32 {
                tx.try_send(i).expect("room");
            }
            let sent = Arc::new(AtomicUsize::new(0));
            let sender = {
                let (tx, sent) = (tx.clone(), sent.clone());
                thread::spawn(move || {
                    tx.send_blocking(99).expect("open");
                    sent.store(1, Ordering::SeqCst);
                })
            };
            thread::sleep(Duration::from_millis(1));
            assert_eq!(sent.load(Ordering::SeqCst), 0, "chan[{cap}]: send to full");
            assert_eq!(rx.recv_blocking(), Ok(0));
            sender.join().expect("sender");
            for _ in 0..cap {
                rx.try_recv().expect("queued");
            }

            // Close unblocks receive; receives on a closed, drained channel fail at once.
            let receiver = {
                let rx = rx.clone();
                thread::spawn(move || rx.recv_blocking())
            };
            thread::sleep(Duration::from_millis(1));
            tx.close();
            assert_eq!(receiver.join().expect("receiver"), Err(RecvError));
            for _ in 0..3 {
                assert_eq!(rx.recv_blocking(), Err(RecvError));
            }

            // 100 values, FIFO, uncorrupted.
            let (tx, rx) = channel::bounded(cap);
            let producer = thread::spawn(move || {
                for i in 0..100u32 {
                    tx.send_blocking(i).expect("open");
                }
            });
            for i in 0..100 {
                assert_eq!(rx.recv_blocking(), Ok(i), "chan[{cap}]: FIFO");
            }
            producer.join().expect("producer");

            // 4 producers × 1000: every value arrives once.
            let (tx, rx) = channel::bounded(cap);
            let producers: Vec<_> = (0..4)
                .map(|_| {
                    let tx = tx.clone();
                    thread::spawn(move || {
                        for i in 0..1000u32 {
                            tx.send_blocking(i).expect("open");
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut seen = HashMap::new();
            while let Ok(v) = rx.recv_blocking() {
                *seen.entry(v).or_insert(0) += 1;
            }
            for p in producers {
                p.join().expect("producer");
            }
            assert_eq!(seen.len(), 1000);
            assert!(seen.values().all(|&n| n == 4));

            // len and capacity.
            let (tx, rx) = channel::bounded::<u32>(cap);
            assert_eq!((rx.len(), rx.capacity()), (0, Some(cap)));
            for i in 0..cap as u32 {
                tx.try_send(i).expect("room");
            }
            assert_eq!((rx.len(), tx.len()), (cap, cap));
        }
    });
}

// ===== closedchan.go =====

/// Go's `closedchan.go`: a closed channel still delivers what was queued, then every receive
/// fails at once (Go returns the zero value); sends fail (Go panics); closing twice is
/// harmless here (Go panics); len/cap still describe the queue.
#[test]
fn closed_channel_semantics() {
    for unbounded in [false, true] {
        let (tx, rx) = if unbounded {
            channel::unbounded()
        } else {
            channel::bounded(3)
        };
        tx.try_send(1).expect("room");
        tx.try_send(2).expect("room");
        assert!(rx.close());
        assert!(!tx.close(), "closing twice: no effect");
        assert!(tx.is_closed() && rx.is_closed());
        assert_eq!(
            rx.len(),
            2,
            "len of a closed channel still counts the queue"
        );
        assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
        assert_eq!(block_on(tx.send(3)).map_err(|e| e.0), Err(3));
        assert_eq!(tx.send_blocking(4).map_err(|e| e.0), Err(4));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(block_on(rx.recv()), Ok(2));
        for _ in 0..3 {
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            assert_eq!(block_on(rx.recv()), Err(RecvError));
            assert_eq!(rx.recv_blocking(), Err(RecvError));
        }
    }
}

/// Go's `TestNonblockRecvRace`: a value sent before a racing close is always seen by a
/// non-blocking receive.
#[test]
fn nonblocking_recv_races_close() {
    within(20, || {
        for _ in 0..2_000 {
            let (tx, rx) = channel::bounded(1);
            tx.try_send(1).expect("room");
            let closer = thread::spawn(move || tx.close());
            assert_eq!(
                rx.try_recv(),
                Ok(1),
                "the value is ready whatever the close does"
            );
            closer.join().expect("closer");
        }
    });
}

// ===== TestMultiConsumer =====

/// Go's `TestMultiConsumer`: 23 workers move values from one channel to another; every value
/// arrives, and the sum matches.
#[test]
fn multi_consumer() {
    within(20, || {
        const NWORK: usize = 23;
        const NITER: usize = 2_000;
        let pn = [2u64, 3, 7, 11, 13, 17, 19, 23, 27, 31];
        let (q_tx, q_rx) = channel::bounded::<u64>(NWORK * 3);
        let (r_tx, r_rx) = channel::bounded::<u64>(NWORK * 3);
        let pool = pool();
        for w in 0..NWORK {
            let (q_rx, r_tx) = (q_rx.clone(), r_tx.clone());
            pool.spawn_ok(async move {
                while let Ok(v) = q_rx.recv().await {
                    // Mess with the FIFO-ish nature of the range, as Go does.
                    if pn[w % pn.len()] == v {
                        yield_now().await;
                    }
                    r_tx.send(v).await.expect("open");
                }
            });
        }
        drop((q_rx, r_tx));
        let producer = thread::spawn(move || {
            let mut expect = 0;
            for i in 0..NITER {
                let v = pn[i % pn.len()];
                expect += v;
                q_tx.send_blocking(v).expect("open");
            }
            expect
        });
        let (mut n, mut s) = (0, 0);
        while let Ok(v) = r_rx.recv_blocking() {
            n += 1;
            s += v;
        }
        let expect = producer.join().expect("producer");
        assert_eq!((n, s), (NITER, expect));
    });
}

// ===== select =====

/// Go's `TestSelectStress`: four channels, four senders and one receiver that selects over
/// every channel (futures::select!), with channels dropping out as they close.
#[test]
fn select_stress() {
    within(20, || {
        const N: u32 = 2_000;
        let caps = [1usize, 1, 2, 3];
        let pool = pool();
        let (txs, rxs): (Vec<Sender<u32>>, Vec<Receiver<u32>>) =
            caps.iter().map(|&c| channel::bounded(c)).unzip();
        for tx in txs {
            pool.spawn_ok(async move {
                for i in 0..N {
                    tx.send(i).await.expect("open");
                }
            });
        }
        let [a, b, c, d]: [Receiver<u32>; 4] = rxs.try_into().expect("four receivers");
        let counts = block_on(async move {
            let mut counts = [0u32; 4];
            let (mut a, mut b, mut c, mut d) = (a.fuse(), b.fuse(), c.fuse(), d.fuse());
            use futures::StreamExt;
            loop {
                let (i, v) = select! {
                    v = a.next() => (0, v),
                    v = b.next() => (1, v),
                    v = c.next() => (2, v),
                    v = d.next() => (3, v),
                    complete => break,
                };
                if let Some(v) = v {
                    assert_eq!(v, counts[i], "per-channel FIFO");
                    counts[i] += 1;
                }
            }
            counts
        });
        assert_eq!(counts, [N; 4]);
    });
}

/// Go's `TestSelfSelect`: tasks select between sending to and receiving from the same
/// channel; they never receive their own value while another task is the only other party.
#[test]
fn self_select() {
    within(20, || {
        for cap in [1usize, 10] {
            let (tx, rx) = channel::bounded::<usize>(cap);
            let pool = pool();
            let done: Vec<_> = (0..2usize)
                .map(|p| {
                    let (tx, rx) = (tx.clone(), rx.clone());
                    pool.spawn_with_handle(async move {
                        let mut received = 0;
                        for _ in 0..1_000 {
                            let send = tx.send(p).fuse();
                            let recv = rx.recv().fuse();
                            pin_mut!(send, recv);
                            select! {
                                r = send => r.expect("open"),
                                v = recv => {
                                    let v = v.expect("open");
                                    if cap == 1 {
                                        // With room for one, our own value can only be
                                        // received by us if we sent it earlier: fine too.
                                        let _ = v;
                                    }
                                    received += 1;
                                }
                            }
                        }
                        received
                    })
                    .expect("spawn")
                })
                .collect();
            let received: usize = block_on(futures::future::join_all(done)).iter().sum();
            // Every completed receive took a value a completed send put in.
            let sent = 2_000 - received;
            assert_eq!(sent, received + rx.len(), "cap {cap}");
        }
    });
}

/// Go's `TestPseudoRandomSend`: a select between two sends to the same channel picks both
/// branches over time.
#[test]
fn pseudo_random_send() {
    within(20, || {
        let (tx, rx) = channel::bounded::<u8>(2);
        let (zero, one) = block_on(async {
            let (mut zero, mut one) = (0, 0);
            for _ in 0..200 {
                {
                    let send0 = tx.send(0).fuse();
                    let send1 = tx.send(1).fuse();
                    pin_mut!(send0, send1);
                    select! {
                        r = send0 => r.expect("open"),
                        r = send1 => r.expect("open"),
                    }
                }
                match rx.try_recv().expect("sent") {
                    0 => zero += 1,
                    _ => one += 1,
                }
            }
            (zero, one)
        });
        assert!(zero > 0 && one > 0, "both branches chosen: {zero} / {one}");
    });
}

/// A select that gives up on a receive (the other branch won) loses no value: Go's
/// guarantee that an unchosen select case has no effect.
#[test]
fn unchosen_recv_branch_has_no_effect() {
    let (tx, rx) = channel::bounded::<u32>(4);
    let (ready_tx, ready_rx) = channel::bounded::<()>(1);
    block_on(async {
        for i in 0..100u32 {
            ready_tx.try_send(()).expect("room");
            {
                let recv = rx.recv().fuse();
                let ready = ready_rx.recv().fuse();
                pin_mut!(recv, ready);
                select! {
                    _ = ready => {}
                    v = recv => panic!("nothing was sent yet, got {v:?}"),
                }
            }
            tx.try_send(i).expect("room");
            assert_eq!(rx.recv().await, Ok(i));
        }
    });
}

// ===== classic programs =====

/// The concurrent prime sieve from Go's tour: a chain of filter tasks.
#[test]
fn prime_sieve() {
    within(20, || {
        let pool = pool();
        let (tx, mut rx) = channel::bounded::<u32>(1);
        pool.spawn_ok(async move {
            for i in 2.. {
                if tx.send(i).await.is_err() {
                    return;
                }
            }
        });
        let mut primes = Vec::new();
        for _ in 0..50 {
            let prime = rx.recv_blocking().expect("the generator runs");
            primes.push(prime);
            let (next_tx, next_rx) = channel::bounded(1);
            let input = rx;
            pool.spawn_ok(async move {
                while let Ok(i) = input.recv().await {
                    if i % prime != 0 && next_tx.send(i).await.is_err() {
                        return;
                    }
                }
            });
            rx = next_rx;
        }
        drop(rx); // closes the chain, stage by stage
        assert_eq!(&primes[..10], [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert_eq!(primes[49], 229);
    });
}

/// Go's "daisy chain" of whispers: 2 000 tasks, each passing the value on plus one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daisy_chain_of_whispers() {
    const N: usize = 2_000;
    let (leftmost_tx, mut right_rx) = channel::bounded::<usize>(1);
    for _ in 0..N {
        let (tx, rx) = channel::bounded(1);
        let left = right_rx;
        tokio::spawn(async move {
            let v = left.recv().await.expect("a whisper");
            tx.send(v + 1).await.expect("open");
        });
        right_rx = rx;
    }
    leftmost_tx.send(1).await.expect("open");
    assert_eq!(right_rx.recv().await, Ok(N + 1));
}

/// Many producers and consumers on tokio with an unbounded channel, the consumers stopping
/// when every producer is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_producers_many_consumers_unbounded() {
    let (tx, rx) = channel::unbounded::<u64>();
    let consumers: Vec<_> = (0..8)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                while let Ok(v) = rx.recv().await {
                    sum += v;
                }
                sum
            })
        })
        .collect();
    drop(rx);
    let producers: Vec<_> = (0..8u64)
        .map(|p| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..5_000 {
                    tx.send(p * 5_000 + i).await.expect("open");
                    if i % 100 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    for p in producers {
        p.await.expect("producer");
    }
    let mut total = 0;
    for c in consumers {
        total += c.await.expect("consumer");
    }
    assert_eq!(total, (0..40_000u64).sum());
}
