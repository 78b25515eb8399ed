//! `channel::Queue`: `join` returns once every item sent so far was received and marked done
//! (at once when nothing is unfinished), it is woken by the last `task_done` rather than
//! polled, `task_done` past the received items is an error that changes nothing, and failed
//! or cancelled sends are not counted. On `futures::executor` and on OS threads.

use std::collections::HashSet;
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::{block_on, ThreadPool};
use futures::task::SpawnExt;
use runtime_primitives::channel::{Queue, RecvError, TaskDoneError, TryRecvError, TrySendError};
use runtime_primitives::hooks;

mod support;
use support::*;

// ===== join =====

#[test]
fn join_with_nothing_sent_returns_at_once() {
    let queue = Queue::<u8>::bounded(4);
    assert_eq!(poll_once(pin!(queue.join())), Poll::Ready(()));
    queue.join_blocking();
}

#[test]
fn join_waits_until_every_item_is_marked_done_and_is_woken_by_the_last() {
    let queue = Queue::unbounded();
    for i in 0..3 {
        queue.try_send(i).unwrap();
    }
    let (wakes, waker) = CountingWaker::new();
    let mut join = pin!(queue.join());
    assert_eq!(poll_pinned(join.as_mut(), &waker), Poll::Pending);

    for i in 0..3 {
        assert_eq!(queue.try_recv(), Ok(i));
    }
    queue.task_done().unwrap();
    queue.task_done().unwrap();
    assert_eq!(queue.unfinished(), 1);
    assert_eq!(poll_pinned(join.as_mut(), &waker), Poll::Pending);
    let before = wakes.wakes();

    queue.task_done().unwrap();
    assert!(wakes.wakes() > before, "the last task_done wakes the join");
    assert_eq!(poll_pinned(join.as_mut(), &waker), Poll::Ready(()));
}

#[test]
fn received_but_unfinished_items_keep_join_waiting() {
    let queue = Queue::bounded(2);
    queue.try_send("a").unwrap();
    assert_eq!(queue.try_recv(), Ok("a"));
    assert!(queue.is_empty());
    assert_eq!(queue.unfinished(), 1, "taken, not done");
    assert_eq!(poll_once(pin!(queue.join())), Poll::Pending);
    queue.task_done().unwrap();
    assert_eq!(poll_once(pin!(queue.join())), Poll::Ready(()));
}

#[test]
fn an_item_sent_while_join_waits_is_waited_for_too() {
    let queue = Queue::unbounded();
    queue.try_send(1).unwrap();
    let mut join = pin!(queue.join());
    assert_eq!(poll_once(join.as_mut()), Poll::Pending);
    assert_eq!(queue.try_recv(), Ok(1));
    queue.try_send(2).unwrap();
    queue.task_done().unwrap();
    assert_eq!(
        poll_once(join.as_mut()),
        Poll::Pending,
        "item 2 is unfinished"
    );
    assert_eq!(queue.try_recv(), Ok(2));
    queue.task_done().unwrap();
    assert_eq!(poll_once(join.as_mut()), Poll::Ready(()));
}

#[test]
fn a_dropped_join_does_not_keep_others_from_waking() {
    let queue = Queue::unbounded();
    queue.try_send(()).unwrap();
    let (wakes, waker) = CountingWaker::new();
    let mut first = Box::pin(queue.join());
    let mut second = pin!(queue.join());
    assert_eq!(poll_once(first.as_mut()), Poll::Pending);
    assert_eq!(poll_pinned(second.as_mut(), &waker), Poll::Pending);
    drop(first);
    queue.try_recv().unwrap();
    queue.task_done().unwrap();
    assert!(wakes.wakes() > 0);
    assert_eq!(poll_pinned(second.as_mut(), &waker), Poll::Ready(()));
}

#[test]
fn close_keeps_unfinished_items_counted() {
    let queue = Queue::unbounded();
    queue.try_send(1).unwrap();
    queue.try_send(2).unwrap();
    assert!(queue.close());
    assert_eq!(queue.unfinished(), 2);
    assert_eq!(poll_once(pin!(queue.join())), Poll::Pending);
    while let Ok(_item) = queue.try_recv() {
        queue.task_done().unwrap();
    }
    assert_eq!(block_on(queue.recv()), Err(RecvError));
    assert_eq!(poll_once(pin!(queue.join())), Poll::Ready(()));
}

// ===== size, full and empty (Python's qsize, full, empty, *_nowait) =====

#[test]
fn a_bounded_queue_fills_refuses_and_drains_in_fifo_order() {
    let queue = Queue::bounded(3);
    assert!(queue.is_empty());
    assert_eq!(queue.try_recv(), Err(TryRecvError::Empty));
    for (n, item) in ['a', 'b', 'c'].into_iter().enumerate() {
        assert_eq!(queue.len(), n);
        queue.try_send(item).unwrap();
    }
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.try_send('d'), Err(TrySendError::Full('d')), "full");
    assert_eq!(queue.unfinished(), 3, "the refused item is not counted");
    for (n, item) in ['a', 'b', 'c'].into_iter().enumerate() {
        assert_eq!(queue.try_recv(), Ok(item));
        assert_eq!(queue.len(), 2 - n);
    }
    assert!(queue.is_empty());
    assert_eq!(queue.try_recv(), Err(TryRecvError::Empty));
    // The ring wraps: fill it again after draining.
    for item in ['e', 'f', 'g'] {
        queue.try_send(item).unwrap();
    }
    assert_eq!(queue.try_send('h'), Err(TrySendError::Full('h')));
    assert_eq!(queue.try_recv(), Ok('e'));
}

#[test]
fn a_blocked_get_is_woken_by_a_put_and_a_blocked_put_by_a_get() {
    within(10, || {
        let queue = Queue::bounded(1);
        let getter = {
            let queue = queue.clone();
            thread::spawn(move || queue.recv_blocking())
        };
        thread::sleep(Duration::from_millis(20));
        queue.send_blocking(1).unwrap();
        assert_eq!(getter.join().unwrap(), Ok(1));

        queue.send_blocking(2).unwrap();
        let putter = {
            let queue = queue.clone();
            thread::spawn(move || queue.send_blocking(3).map_err(|e| e.into_inner()))
        };
        thread::sleep(Duration::from_millis(20));
        assert_eq!(queue.recv_blocking(), Ok(2));
        assert_eq!(putter.join().unwrap(), Ok(()));
        assert_eq!(queue.recv_blocking(), Ok(3));
    });
}

// ===== close (Python 3.13's shutdown) =====

#[test]
fn close_releases_a_thread_blocked_in_recv_on_an_empty_queue() {
    within(10, || {
        let queue = Queue::<u8>::unbounded();
        let getter = {
            let queue = queue.clone();
            thread::spawn(move || queue.recv_blocking())
        };
        thread::sleep(Duration::from_millis(20));
        assert!(queue.close());
        assert_eq!(getter.join().unwrap(), Err(RecvError));
        assert!(
            !queue.close(),
            "the second close reports it was already closed"
        );
    });
}

#[test]
fn close_releases_a_thread_blocked_in_send_with_its_item() {
    within(10, || {
        let queue = Queue::bounded(1);
        queue.try_send(1).unwrap();
        let putter = {
            let queue = queue.clone();
            thread::spawn(move || queue.send_blocking(2).map_err(|e| e.into_inner()))
        };
        thread::sleep(Duration::from_millis(20));
        queue.close();
        assert_eq!(putter.join().unwrap(), Err(2), "the item comes back");
        // What was queued before the close still drains, then the queue reports the end.
        assert_eq!(queue.recv_blocking(), Ok(1));
        assert_eq!(queue.recv_blocking(), Err(RecvError));
        assert_eq!(queue.unfinished(), 1, "received but not marked done");
    });
}

#[test]
fn a_join_blocked_on_a_closed_queue_returns_once_the_rest_is_done() {
    // Python's shutdown(immediate=False): join still waits for the items already put.
    within(10, || {
        let queue = Queue::unbounded();
        queue.try_send(1).unwrap();
        queue.close();
        let joiner = {
            let queue = queue.clone();
            thread::spawn(move || queue.join_blocking())
        };
        thread::sleep(Duration::from_millis(20));
        assert_eq!(queue.recv_blocking(), Ok(1));
        queue.task_done().unwrap();
        joiner.join().unwrap();
    });
}

// ===== task_done =====

#[test]
fn task_done_past_the_received_items_is_an_error_that_changes_nothing() {
    let queue = Queue::unbounded();
    assert_eq!(queue.task_done(), Err(TaskDoneError), "nothing sent");

    queue.try_send('a').unwrap();
    queue.try_send('b').unwrap();
    assert_eq!(
        queue.task_done(),
        Err(TaskDoneError),
        "sent, but nothing received yet"
    );
    assert_eq!(queue.unfinished(), 2);

    assert_eq!(queue.try_recv(), Ok('a'));
    assert_eq!(queue.task_done(), Ok(()));
    assert_eq!(
        queue.task_done(),
        Err(TaskDoneError),
        "one received, one done"
    );
    assert_eq!(queue.unfinished(), 1);

    assert_eq!(block_on(queue.recv()), Ok('b'));
    assert_eq!(queue.task_done(), Ok(()));
    assert_eq!(queue.task_done(), Err(TaskDoneError));
    assert_eq!(queue.unfinished(), 0);
}

#[test]
fn task_done_error_says_what_went_wrong() {
    let message = TaskDoneError.to_string();
    assert!(message.contains("task_done"), "{message}");
    assert!(
        message.contains("more times than items were received"),
        "{message}"
    );
    let _: &dyn std::error::Error = &TaskDoneError;
}

// ===== what counts =====

#[test]
fn failed_sends_are_not_counted() {
    let queue = Queue::bounded(1);
    queue.try_send(1).unwrap();
    assert_eq!(queue.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!(queue.unfinished(), 1);
    queue.close();
    assert_eq!(queue.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(block_on(queue.send(4)).unwrap_err().into_inner(), 4);
    assert_eq!(queue.send_blocking(5).unwrap_err().into_inner(), 5);
    assert_eq!(queue.unfinished(), 1);
}

#[test]
fn a_cancelled_send_is_not_counted_and_takes_no_slot() {
    let queue = Queue::bounded(1);
    queue.try_send(1).unwrap();
    {
        let mut send = pin!(queue.send(2));
        assert!(poll_once(send.as_mut()).is_pending(), "full");
    } // dropped while waiting
    assert_eq!(queue.unfinished(), 1);
    assert_eq!(queue.try_recv(), Ok(1));
    assert_eq!(queue.try_send(3), Ok(()), "the slot is free");
    assert_eq!(queue.try_recv(), Ok(3));
}

#[test]
fn a_send_waiting_for_room_counts_once_it_lands() {
    let queue = Queue::bounded(1);
    queue.try_send(1).unwrap();
    let mut send = pin!(queue.send(2));
    assert!(poll_once(send.as_mut()).is_pending());
    assert_eq!(queue.unfinished(), 1, "the waiting item is not put yet");
    assert_eq!(queue.try_recv(), Ok(1));
    assert_eq!(poll_once(send.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(queue.unfinished(), 2);
}

#[test]
fn clones_share_one_count() {
    let producer = Queue::bounded(4);
    let consumer = producer.clone();
    producer.try_send(10).unwrap();
    assert_eq!(consumer.try_recv(), Ok(10));
    consumer.task_done().unwrap();
    assert_eq!(producer.unfinished(), 0);
    assert_eq!(producer.capacity(), Some(4));
    let debug = format!("{producer:?}");
    assert!(debug.contains("unfinished: 0"), "{debug}");
}

#[test]
#[should_panic(expected = "Queue::bounded(0): a queue needs room for at least one item")]
fn a_bounded_queue_of_zero_panics() {
    let _ = Queue::<u8>::bounded(0);
}

#[test]
#[should_panic(expected = "`channel::Queue::join_blocking` would block a runtime worker thread")]
fn join_blocking_panics_on_a_worker_thread() {
    let queue = Queue::<u8>::unbounded();
    hooks::set_worker_thread(true);
    queue.join_blocking();
}

// ===== executors and threads =====

#[test]
fn threads_process_every_item_before_join_blocking_returns() {
    within(30, || {
        const PRODUCERS: u64 = 4;
        const PER_PRODUCER: u64 = 2_000;
        let queue = Queue::bounded(16);
        let done = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let (queue, done) = (queue.clone(), done.clone());
                thread::spawn(move || {
                    while let Ok(item) = queue.recv_blocking() {
                        done.lock().unwrap().push(item);
                        queue.task_done().unwrap();
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let queue = queue.clone();
                thread::spawn(move || {
                    for i in 0..PER_PRODUCER {
                        queue.send_blocking(p * PER_PRODUCER + i).unwrap();
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        queue.join_blocking();
        // Every item was processed before join returned, not merely received.
        let seen: HashSet<u64> = done.lock().unwrap().iter().copied().collect();
        assert_eq!(seen.len() as u64, PRODUCERS * PER_PRODUCER);
        assert_eq!(queue.unfinished(), 0);
        queue.close();
        for consumer in consumers {
            consumer.join().unwrap();
        }
    });
}

#[test]
fn tasks_on_a_thread_pool_and_an_async_join() {
    within(30, || {
        let pool = ThreadPool::builder().pool_size(2).create().unwrap();
        let queue = Queue::unbounded();
        let processed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..4 {
            let (queue, processed) = (queue.clone(), processed.clone());
            pool.spawn(async move {
                while let Ok(n) = queue.recv().await {
                    processed.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                    queue.task_done().unwrap();
                }
            })
            .unwrap();
        }
        block_on(async {
            for round in 0..3 {
                for n in 1..=100 {
                    queue.send(n).await.unwrap();
                }
                queue.join().await;
                let total = processed.load(std::sync::atomic::Ordering::SeqCst);
                assert_eq!(total, 5050 * (round + 1), "join returned early");
            }
        });
        queue.close();
    });
}

// ===== Python's test_queue (Lib/test/test_queue.py) =====

#[tokio::test]
async fn timed_puts_on_a_full_queue_and_gets_on_an_empty_one_fail_and_change_nothing() {
    // Python's `put(x, timeout=...)` / `get(timeout=...)` are `time::timeout` around `send` /
    // `recv` here. Twice on one queue, as Python's basic test does.
    let queue = Queue::bounded(2);
    for _round in 0..2 {
        queue.try_send(1).expect("room");
        queue.try_send(2).expect("room");
        let put = tokio::time::timeout(Duration::from_millis(10), queue.send(3)).await;
        assert!(put.is_err(), "a put on a full queue times out");
        assert_eq!(
            (queue.len(), queue.unfinished()),
            (2, 2),
            "and adds nothing"
        );
        for expected in [1, 2] {
            assert_eq!(queue.recv().await, Ok(expected));
            queue.task_done().expect("one item taken");
        }
        let get = tokio::time::timeout(Duration::from_millis(10), queue.recv()).await;
        assert!(get.is_err(), "a get on an empty queue times out");
        assert!(queue.is_empty());
        assert_eq!(queue.unfinished(), 0);
        let put = tokio::time::timeout(Duration::from_secs(10), queue.send(4)).await;
        assert_eq!(put, Ok(Ok(())), "a put with room goes through at once");
        let get = tokio::time::timeout(Duration::from_secs(10), queue.recv()).await;
        assert_eq!(get, Ok(Ok(4)));
        queue.task_done().expect("taken");
    }
}

#[test]
fn join_can_be_repeated_with_workers_that_stop_on_a_sentinel() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    within(20, || {
        let queue = Queue::unbounded();
        for _round in 0..2 {
            let total = Arc::new(AtomicI64::new(0));
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (queue, total) = (queue.clone(), total.clone());
                    thread::spawn(move || loop {
                        let item: i64 = queue.recv_blocking().expect("open");
                        if item >= 0 {
                            total.fetch_add(item, Ordering::SeqCst);
                        }
                        queue.task_done().expect("an item was taken");
                        if item < 0 {
                            return;
                        }
                    })
                })
                .collect();
            for item in 0..100 {
                queue.send_blocking(item).expect("open");
            }
            queue.join_blocking();
            assert_eq!(
                total.load(Ordering::SeqCst),
                (0..100).sum::<i64>(),
                "join returned before every item was processed"
            );
            for _ in 0..2 {
                queue.send_blocking(-1).expect("open");
            }
            queue.join_blocking();
            for worker in workers {
                worker.join().expect("worker");
            }
        }
        assert!(queue.task_done().is_err(), "nothing left to mark done");
    });
}
