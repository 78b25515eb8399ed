//! `timeout`, `timeout_at` (around plain futures and around every IO future) and
//! `interval` with its missed-tick policies; on both scheduler flavors.

#[macro_use]
mod support;

use runtime::time::{Duration, Instant};
use std::future::{pending, ready, Future};
use std::io;
use std::net::Shutdown;
use std::pin::pin;

use runtime::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use runtime::time::{
    interval, interval_at, sleep, timeout, timeout_at, Elapsed, MissedTickBehavior,
};
use support::{panic_message, poll_once, run_bounded, DropCounter};

/// Upper bound on each test's run, against a timer that never fires (not a speed claim).
const LIMIT: Duration = Duration::from_secs(10);

/// The limit the IO futures below get; none of them can complete.
const SHORT: Duration = Duration::from_millis(30);

/// Asserts that `fut` (which never completes) times out after at least [`SHORT`].
async fn assert_times_out<F: Future>(what: &str, fut: F)
where
    F::Output: std::fmt::Debug,
{
    let start = Instant::now();
    let res = timeout(SHORT, fut).await;
    let elapsed = start.elapsed();
    assert!(res.is_err(), "{what}: expected Elapsed, got {res:?}");
    assert!(
        elapsed >= SHORT,
        "{what}: the timeout fired after {elapsed:?}, before {SHORT:?}"
    );
}

// ===== plain futures =====

rt_test!(
    a_pending_future_times_out_after_at_least_the_duration,
    |rt| {
        run_bounded("timeout on pending", LIMIT, move || {
            rt.block_on(async {
                for ms in [0u64, 1, 7, 25] {
                    let limit = Duration::from_millis(ms);
                    let start = Instant::now();
                    let res = timeout(limit, pending::<()>()).await;
                    assert_eq!(res, Err::<(), _>(elapsed_error().await));
                    assert!(start.elapsed() >= limit);
                }
            });
        });
    }
);

/// An `Elapsed` value, taken from a timeout that has certainly run out.
async fn elapsed_error() -> Elapsed {
    timeout(Duration::ZERO, pending::<()>())
        .await
        .expect_err("a zero timeout on a pending future")
}

rt_test!(a_ready_future_completes_at_once_with_ok, |rt| {
    run_bounded("timeout on ready", LIMIT, move || {
        rt.block_on(async {
            let mut t = pin!(timeout(Duration::from_secs(3600), ready(5)));
            assert_eq!(poll_once(t.as_mut()).await, std::task::Poll::Ready(Ok(5)));
            // A ready future wins even against a deadline that has passed.
            let mut late = pin!(timeout(Duration::ZERO, ready("value")));
            assert_eq!(
                poll_once(late.as_mut()).await,
                std::task::Poll::Ready(Ok("value"))
            );
            let inner = async {
                sleep(Duration::from_millis(5)).await;
                9
            };
            assert_eq!(timeout(Duration::from_secs(10), inner).await, Ok(9));
        });
    });
});

rt_test!(timeout_at_uses_the_instant, |rt| {
    run_bounded("timeout_at", LIMIT, move || {
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_millis(20);
            assert!(timeout_at(deadline, pending::<()>()).await.is_err());
            assert!(Instant::now() >= deadline);

            let past = Instant::now();
            let mut t = pin!(timeout_at(past, pending::<()>()));
            assert!(
                matches!(poll_once(t.as_mut()).await, std::task::Poll::Ready(Err(_))),
                "timeout_at(a passed instant) around a pending future was still pending on \
                 its first poll"
            );

            let far = Instant::now() + Duration::from_secs(3600);
            assert_eq!(timeout_at(far, ready(1)).await, Ok(1));
        });
    });
});

rt_test!(elapsed_converts_to_a_timed_out_io_error, |rt| {
    run_bounded("Elapsed", LIMIT, move || {
        rt.block_on(async {
            let e = elapsed_error().await;
            assert_eq!(e.to_string(), "deadline has elapsed");
            let io: io::Error = e.into();
            assert_eq!(io.kind(), io::ErrorKind::TimedOut);
        });
    });
});

rt_test!(the_inner_future_is_dropped_when_the_timeout_fires, |rt| {
    run_bounded("inner future dropped", LIMIT, move || {
        rt.block_on(async {
            let drops = DropCounter::new();
            let guard = drops.guard();
            let inner = async move {
                let _guard = guard;
                pending::<()>().await;
            };
            let t = timeout(Duration::from_millis(10), inner);
            assert_eq!(drops.count(), 0);
            assert!(t.await.is_err());
            assert_eq!(drops.count(), 1, "the timed-out future was not dropped");

            // Also when the timeout runs as its own task.
            let guard = drops.guard();
            let task = runtime::spawn(timeout(Duration::from_millis(10), async move {
                let _guard = guard;
                pending::<()>().await;
            }));
            assert!(task.await.unwrap().is_err());
            assert_eq!(drops.count(), 2);
        });
    });
});

rt_test!(into_inner_gives_the_future_back_without_a_limit, |rt| {
    run_bounded("into_inner", LIMIT, move || {
        rt.block_on(async {
            let t = timeout(Duration::ZERO, async {
                sleep(Duration::from_millis(5)).await;
                3
            });
            assert_eq!(t.into_inner().await, 3);
        });
    });
});

// ===== around every IO future =====

rt_test!(a_timeout_around_every_io_future_returns_elapsed, |rt| {
    run_bounded("timeouts around IO", LIMIT, move || {
        rt.block_on(async {
            // TCP accept with nobody connecting.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            assert_times_out("TcpListener::accept", listener.accept()).await;

            // A read on a connection whose peer never writes.
            let addr = listener.local_addr().unwrap();
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            assert_times_out("TcpStream::read", client.read(&mut buf)).await;
            assert_times_out("TcpStream::read_exact", client.read_exact(&mut buf)).await;
            assert_times_out("TcpStream::readable", client.readable()).await;
            {
                let (mut r, _w) = client.split();
                assert_times_out("ReadHalf::read", r.read(&mut buf)).await;
            }

            // A write on a connection whose peer never reads, once the buffers are full.
            let chunk = vec![0u8; 64 * 1024];
            fill(|b| server.try_write(b), &chunk);
            assert_times_out("TcpStream::write_all", server.write_all(&chunk)).await;
            assert_times_out("TcpStream::writable", server.writable()).await;
            let (mut or, mut ow) = server.into_split();
            assert_times_out("OwnedWriteHalf::write", ow.write(&chunk)).await;
            assert_times_out("OwnedReadHalf::read", or.read(&mut buf)).await;

            // UDP receives with nobody sending.
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            assert_times_out("UdpSocket::recv_from", udp.recv_from(&mut buf)).await;
            assert_times_out("UdpSocket::readable", udp.readable()).await;
            let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            udp.connect(peer.local_addr().unwrap()).await.unwrap();
            assert_times_out("UdpSocket::recv", udp.recv(&mut buf)).await;

            // Unix streams and listener.
            let (mut a, b) = UnixStream::pair().unwrap();
            assert_times_out("UnixStream::read", a.read(&mut buf)).await;
            fill(|buf| b.try_write(buf), &chunk);
            let mut b = b;
            assert_times_out("UnixStream::write_all", b.write_all(&chunk)).await;
            let path = support_socket_path("timeout");
            let unix = UnixListener::bind(&path).unwrap();
            assert_times_out("UnixListener::accept", unix.accept()).await;
            drop(unix);
            let _ = std::fs::remove_file(&path);

            // And a timer.
            assert_times_out("sleep", sleep(Duration::from_secs(3600))).await;
            drop((client, a));
        });
    });
});

/// Writes `chunk` with `try_write` until the socket buffers are full.
fn fill(mut try_write: impl FnMut(&[u8]) -> io::Result<usize>, chunk: &[u8]) {
    let mut total = 0usize;
    loop {
        match try_write(chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling the socket failed after {total} bytes: {e}"),
        }
        assert!(total < 1 << 30, "the socket never filled up");
    }
}

/// A fresh Unix socket path in the temp directory.
fn support_socket_path(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "rt-tt-{tag}-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_file(&path);
    path
}

// ===== the coop budget does not starve the deadline =====

/// Reads in a loop from a stream whose peer has shut down: end-of-stream stays ready
/// forever, so every read returns 0 without waiting and the loop spends the whole coop
/// budget on every poll. Returns whether the surrounding 50 ms timeout fired.
async fn time_out_an_always_ready_reader() -> bool {
    let (mut a, b) = UnixStream::pair().unwrap();
    b.shutdown(Shutdown::Write).unwrap();
    let res = timeout(Duration::from_millis(50), async {
        let mut buf = [0u8; 16];
        loop {
            let n = a.read(&mut buf).await.unwrap();
            assert_eq!(n, 0);
        }
    })
    .await;
    drop(b);
    res.is_err()
}

/// Reads one byte at a time while another task writes 10 MB as fast as it can, with a
/// stop condition never met. Returns whether the surrounding 50 ms timeout fired.
async fn time_out_a_reader_that_always_has_data() -> bool {
    let (mut reader, mut writer) = UnixStream::pair().unwrap();
    let feeder = runtime::spawn(async move {
        let chunk = vec![0xabu8; 64 * 1024];
        let mut sent = 0usize;
        while sent < 10 * 1024 * 1024 {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
    });
    let mut got = 0usize;
    let res = timeout(Duration::from_millis(50), async {
        let mut buf = [0u8; 1];
        while got < usize::MAX {
            match reader.read(&mut buf).await.unwrap() {
                0 => break,
                n => got += n,
            }
        }
    })
    .await;
    drop(reader);
    let _ = support::guard("the feeder stops", feeder).await;
    res.is_err()
}

rt_test!(
    a_timeout_fires_around_an_always_ready_reader_in_a_task,
    |rt| {
        run_bounded(
            "timeout around an always-ready read loop, in a task",
            LIMIT,
            move || {
                let fired = rt.block_on(async {
                    runtime::spawn(time_out_an_always_ready_reader())
                        .await
                        .unwrap()
                });
                assert!(fired, "the read loop ended on its own");
            },
        );
    }
);

rt_test!(
    a_timeout_fires_around_an_always_ready_reader_in_block_on,
    |rt| {
        run_bounded(
            "timeout around an always-ready read loop, in block_on",
            LIMIT,
            move || {
                let fired = rt.block_on(time_out_an_always_ready_reader());
                assert!(fired, "the read loop ended on its own");
            },
        );
    }
);

rt_test!(
    a_timeout_fires_around_a_reader_that_always_has_data_in_a_task,
    |rt| {
        run_bounded(
            "timeout around a busy read loop, in a task",
            LIMIT,
            move || {
                let fired = rt.block_on(async {
                    runtime::spawn(time_out_a_reader_that_always_has_data())
                        .await
                        .unwrap()
                });
                assert!(fired, "the reader reached end-of-stream");
            },
        );
    }
);

rt_test!(
    a_timeout_fires_around_a_reader_that_always_has_data_in_block_on,
    |rt| {
        run_bounded(
            "timeout around a busy read loop, in block_on",
            LIMIT,
            move || {
                let fired = rt.block_on(time_out_a_reader_that_always_has_data());
                assert!(fired, "the reader reached end-of-stream");
            },
        );
    }
);

// ===== interval =====

rt_test!(interval_first_tick_completes_on_its_first_poll, |rt| {
    run_bounded("interval first tick", LIMIT, move || {
        rt.block_on(async {
            sleep(Duration::from_millis(5)).await;
            let before = Instant::now();
            let mut iv = interval(Duration::from_secs(3600));
            let mut tick = pin!(iv.tick());
            match poll_once(tick.as_mut()).await {
                std::task::Poll::Ready(at) => assert!(at >= before && at <= Instant::now()),
                std::task::Poll::Pending => panic!("the first tick did not complete at once"),
            }
        });
    });
});

rt_test!(interval_ticks_every_period_on_schedule, |rt| {
    run_bounded("interval", LIMIT, move || {
        rt.block_on(async {
            let period = Duration::from_millis(15);
            let before = Instant::now();
            let mut iv = interval(period);
            assert_eq!(iv.period(), period);
            assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
            let first = iv.tick().await;
            assert!(first >= before && first <= Instant::now());
            let mut prev = first;
            for k in 1..=5u32 {
                let at = iv.tick().await;
                assert_eq!(at, first + period * k, "tick {k} off schedule");
                assert!(at - prev >= period);
                assert!(Instant::now() >= at, "tick {k} returned before its instant");
                prev = at;
            }
        });
    });
});

rt_test!(interval_at_starts_at_the_given_instant, |rt| {
    run_bounded("interval_at", LIMIT, move || {
        rt.block_on(async {
            let start = Instant::now() + Duration::from_millis(20);
            let period = Duration::from_millis(10);
            let mut iv = interval_at(start, period);
            assert_eq!(iv.tick().await, start);
            assert!(Instant::now() >= start);
            assert_eq!(iv.tick().await, start + period);
            let before_reset = Instant::now();
            iv.reset();
            let next = iv.tick().await;
            assert!(
                next >= before_reset + period,
                "reset did not restart the schedule"
            );
            assert!(Instant::now() >= next);
        });
    });
});

/// Stalls the worker (not yielding) for three and a half periods after the first tick,
/// then returns the first tick's instant and the instant the stall ended.
async fn stalled(iv: &mut runtime::time::Interval) -> (Instant, Instant) {
    let first = iv.tick().await;
    std::thread::sleep(iv.period() * 7 / 2);
    (first, Instant::now())
}

/// Polls a tick once: `Some(instant)` if it completed at once.
async fn tick_now(iv: &mut runtime::time::Interval) -> Option<Instant> {
    let mut tick = pin!(iv.tick());
    match poll_once(tick.as_mut()).await {
        std::task::Poll::Ready(at) => Some(at),
        std::task::Poll::Pending => None,
    }
}

rt_test!(missed_ticks_burst, |rt| {
    run_bounded("MissedTickBehavior::Burst", LIMIT, move || {
        rt.block_on(async {
            let period = Duration::from_millis(20);
            let mut iv = interval(period);
            iv.set_missed_tick_behavior(MissedTickBehavior::Burst);
            let (first, stall_end) = stalled(&mut iv).await;
            assert!(stall_end >= first + period * 3);
            // The three missed ticks come, each on the original schedule...
            for k in 1..=3u32 {
                assert_eq!(iv.tick().await, first + period * k, "missed tick {k}");
            }
            // ...then the schedule goes on from where it was.
            let fourth = iv.tick().await;
            assert_eq!(fourth, first + period * 4);
            assert!(Instant::now() >= fourth);
        });
    });
});

rt_test!(missed_ticks_delay, |rt| {
    run_bounded("MissedTickBehavior::Delay", LIMIT, move || {
        rt.block_on(async {
            let period = Duration::from_millis(20);
            let mut iv = interval(period);
            iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let (first, stall_end) = stalled(&mut iv).await;
            // One late tick (due during the stall), then a new schedule one period after it.
            let late = iv.tick().await;
            assert!(
                late > first && late < stall_end,
                "the late tick was not the missed one"
            );
            let next = iv.tick().await;
            assert!(
                next >= stall_end + period,
                "Delay kept the old schedule: next tick {:?} after the stall's end",
                next.saturating_duration_since(stall_end)
            );
            assert!(Instant::now() >= next);
            // On time, the new schedule goes on by one period (more if this task was late
            // again, which only a loaded machine causes).
            let after = iv.tick().await;
            assert!(after >= next + period);
        });
    });
});

rt_test!(missed_ticks_skip, |rt| {
    run_bounded("MissedTickBehavior::Skip", LIMIT, move || {
        rt.block_on(async {
            let period = Duration::from_millis(20);
            let mut iv = interval(period);
            iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let (first, stall_end) = stalled(&mut iv).await;
            // One late tick (due during the stall, on the original phase), then the next
            // multiple of the period still ahead.
            let late = iv.tick().await;
            assert!(
                late > first && late < stall_end,
                "the late tick was not the missed one"
            );
            assert_eq!((late - first).as_nanos() % period.as_nanos(), 0);
            let next = iv.tick().await;
            let offset = next - first;
            assert_eq!(
                offset.as_nanos() % period.as_nanos(),
                0,
                "Skip lost the phase: next tick {offset:?} after the first"
            );
            assert!(next > stall_end, "Skip delivered a missed tick");
            assert!(offset >= period * 4);
            assert!(Instant::now() >= next);
        });
    });
});

rt_test!(a_late_tick_completes_on_its_first_poll, |rt| {
    run_bounded("late ticks are due at once", LIMIT, move || {
        rt.block_on(async {
            let period = Duration::from_millis(20);
            for behavior in [
                MissedTickBehavior::Burst,
                MissedTickBehavior::Delay,
                MissedTickBehavior::Skip,
            ] {
                let mut iv = interval(period);
                iv.set_missed_tick_behavior(behavior);
                stalled(&mut iv).await;
                assert!(
                    tick_now(&mut iv).await.is_some(),
                    "{behavior:?}: a tick whose instant had passed was still pending"
                );
            }
        });
    });
});

rt_test!(
    #[should_panic(expected = "`interval` period must be non-zero")]
    interval_of_zero_panics,
    |rt| {
        rt.block_on(async {
            let _ = interval(Duration::ZERO);
        });
    }
);

#[test]
fn interval_outside_a_runtime_panics_with_a_clear_message() {
    let payload = std::panic::catch_unwind(|| drop(interval(Duration::from_millis(1))))
        .expect_err("interval outside a runtime");
    let msg = panic_message(&*payload);
    assert!(
        msg.contains("must be called from the context of a runtime"),
        "interval outside a runtime panicked with: {msg}"
    );
}

// ===== limits far away (tokio's very_large_timeout) =====

rt_test!(
    a_timeout_of_duration_max_neither_overflows_nor_fires,
    |rt| {
        run_bounded("timeout(Duration::MAX)", LIMIT, move || {
            rt.block_on(async {
                assert_eq!(timeout(Duration::MAX, ready(3)).await, Ok(3));
                let (tx, rx) = runtime::sync::oneshot::channel();
                let waiter = runtime::spawn(timeout(Duration::MAX, rx));
                sleep(Duration::from_millis(5)).await;
                tx.send(4).unwrap();
                assert_eq!(waiter.await.unwrap(), Ok(Ok(4)));
            });
        });
    }
);
