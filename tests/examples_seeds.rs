//! The seed examples (`examples/seed_*.rs`), run as built and checked by what they print:
//! the lines the semantics make deterministic exactly, and the invariants of the others
//! (nobody over the limit, every item once, each task's steps in order, ...).
//!
//! Run `cargo build --examples --all-features` first when running this file alone.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::example::{stdout_of, Process};

/// Runs `name` with `args` and returns its output lines.
fn lines_of(name: &str, args: &[&str]) -> Vec<String> {
    stdout_of(name, args).lines().map(str::to_owned).collect()
}

/// The number between `prefix` and `suffix` in `line`, if `line` has that shape.
fn num_in(line: &str, prefix: &str, suffix: &str) -> Option<u64> {
    line.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

/// The lines that start with `prefix`.
fn starting<'a>(lines: &'a [String], prefix: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| l.starts_with(prefix))
        .map(String::as_str)
        .collect()
}

/// The position of `line` in `lines`.
fn pos(lines: &[String], line: &str) -> usize {
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line {line:?} in:\n{}", lines.join("\n")))
}

#[test]
fn counter_total_is_zero_and_the_lost_update_loses() {
    let out = lines_of("seed_counter", &["20000"]);
    assert_eq!(out.len(), 5, "{out:#?}");
    assert_eq!(out[0], "tasks: +1 and -1, 20000 times each, total = 0");
    assert_eq!(out[1], "threads: +1 and -1, 20000 times each, total = 0");
    assert_eq!(out[2], "counter: 1000 tasks, value = 0");
    let lost = num_in(
        &out[3],
        "lost update: 100 tasks added 1, lock let go across .await, total = ",
        "",
    )
    .unwrap_or_else(|| panic!("unexpected line {:?}", out[3]));
    assert!(
        lost < 100,
        "the unlocked read-modify-write lost nothing: {lost}"
    );
    assert_eq!(
        out[4],
        "guard held across .await: 100 tasks added 1, total = 100"
    );
}

#[test]
fn gil_cpu_results_agree_and_cpu_in_a_task_starves_the_thread() {
    let out = lines_of("seed_gil", &["200000"]);
    let results: Vec<&str> = starting(&out, "cpu: ")
        .iter()
        .filter_map(|l| l.split_once(" result ").map(|(_, r)| r))
        .collect();
    assert_eq!(results.len(), 4, "{out:#?}");
    assert!(results.iter().all(|r| *r == results[0]), "{out:#?}");

    let ticks = |how: &str| {
        let prefix = format!("starvation: heartbeat ticks during 100 ms of CPU {how}: ");
        out.iter()
            .find_map(|l| num_in(l, &prefix, ""))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {out:#?}"))
    };
    // The heartbeat shares the thread with the task: it can't tick while the task computes.
    assert_eq!(ticks("inside a task"), 0);
    // On the blocking pool the runtime thread is free, and the heartbeat keeps ticking.
    assert!(ticks("on spawn_blocking") > 0, "{out:#?}");

    // Every green task was asleep at once: sleeping doesn't hold the thread.
    let tasks = starting(&out, "io: 1000 tasks slept 100 ms each: ");
    assert_eq!(tasks.len(), 1, "{out:#?}");
    assert!(
        tasks[0].ends_with("peak 1000 asleep at once, on 1 thread"),
        "{}",
        tasks[0]
    );
    assert_eq!(
        starting(&out, "io: 1000 threads slept 100 ms each: ").len(),
        1
    );
}

/// Checks that `lines` are the meals of `scientists`, one after the other in some order,
/// never interleaved: each is (who, first item, second item).
fn assert_meals(lines: &[String], scientists: &[(&str, &str, &str)]) {
    assert_eq!(lines.len(), 3 * scientists.len(), "{lines:#?}");
    let mut seen = BTreeSet::new();
    for meal in lines.chunks(3) {
        let &(who, first, second) = scientists
            .iter()
            .find(|(who, ..)| meal[0].starts_with(&format!("{who}:")))
            .unwrap_or_else(|| panic!("unexpected line {:?}", meal[0]));
        assert!(seen.insert(who), "{who} ate twice: {lines:#?}");
        assert_eq!(
            meal,
            [
                format!("{who}: got the {first}"),
                format!("{who}: got the {second}, eating"),
                format!("{who}: done"),
            ],
            "a meal was interrupted: {lines:#?}"
        );
    }
}

#[test]
fn deadlock_is_found_by_the_runtime_then_both_fixes_work() {
    let out = lines_of("seed_deadlock", &[]);
    let first_two: BTreeSet<&str> = out[..2].iter().map(String::as_str).collect();
    assert_eq!(
        first_two,
        BTreeSet::from(["professor: got the noodles", "student: got the fork"])
    );
    assert_eq!(
        out[2..9],
        [
            "deadlock found: the professor waits for the fork, held by the student",
            "deadlock found: the student waits for the noodles, held by the professor",
            "noodles locked: true, fork locked: true",
            "aborting the professor",
            "student: got the noodles, eating",
            "student: done",
            "professor cancelled: true; noodles free: true, fork free: true",
        ]
    );
    let fix1 = pos(&out, "fix 1: one lock order");
    let fix2 = pos(&out, "fix 2: one reentrant lock under both names");
    assert_eq!(fix1, 9);
    assert_meals(
        &out[fix1 + 1..fix2],
        &[
            ("professor", "noodles", "fork"),
            ("student", "noodles", "fork"),
        ],
    );
    assert_meals(
        &out[fix2 + 1..out.len() - 1],
        &[
            ("professor", "noodles", "fork"),
            ("student", "fork", "noodles"),
        ],
    );
    assert_eq!(out.last().unwrap(), "everybody ate");
}

#[test]
fn rlock_nests_for_its_holder_and_makes_other_tasks_wait() {
    assert_eq!(
        lines_of("seed_rlock", &[]),
        [
            "main: locked once, counter = 1",
            "main: locked again (nested), counter = 2",
            "child: try_lock while main holds it -> busy",
            "main: released one level; child still waiting: true",
            "main: released the last level",
            "child: got the lock, counter = 2",
            "threads: 5 threads took it twice each, counter = 10, most inside at once = 1",
        ]
    );
}

#[test]
fn semaphore_never_lets_more_than_k_in() {
    let out = lines_of("seed_semaphore", &[]);
    let mut tasks = BTreeSet::new();
    for line in starting(&out, "task ") {
        let (task, inside) = line
            .strip_prefix("task ")
            .and_then(|l| l.strip_suffix(" inside)"))
            .and_then(|l| l.split_once(" running ("))
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let inside: usize = inside.parse().unwrap();
        assert!((1..=5).contains(&inside), "{line}");
        assert!(tasks.insert(task.parse::<u32>().unwrap()), "{line} twice");
    }
    assert_eq!(tasks, (0..20).collect());
    let peak = out
        .iter()
        .find_map(|l| num_in(l, "20 tasks, Semaphore(5): at most ", " inside at once"))
        .unwrap_or_else(|| panic!("no peak line in {out:#?}"));
    assert!((1..=5).contains(&peak), "peak {peak}");

    let mut workers = BTreeSet::new();
    for line in starting(&out, "worker ")
        .iter()
        .filter(|l| l.contains(" got conn-"))
    {
        let (worker, rest) = line["worker ".len()..].split_once(" got conn-").unwrap();
        let (conn, out_now) = rest.split_once(" (").unwrap();
        assert!(["0", "1", "2"].contains(&conn), "{line}");
        let out_now: usize = out_now.strip_suffix(" out)").unwrap().parse().unwrap();
        assert!(
            (1..=3).contains(&out_now),
            "more than 3 connections out: {line}"
        );
        assert!(workers.insert(worker.parse::<u32>().unwrap()));
    }
    assert_eq!(workers, (0..6).collect());

    let pool = pos(&out, "pool: 3 connections back, 3 permits free");
    assert_eq!(
        out[pool + 1..],
        [
            "took 3 permits, 0 free",
            "try_acquire (acquire(False)): no permits available",
            "acquire with a 50 ms timeout: timed out",
            "main: release one",
            "worker: got a permit",
        ]
    );
}

#[test]
fn bounded_semaphore_over_release_is_an_error() {
    assert_eq!(
        lines_of("seed_bounded_semaphore", &[]),
        [
            "BoundedSemaphore(2): 2 free",
            "acquire: 1 free",
            "release: ok, 2 free",
            "release again: error: released 1 permits but only 0 were taken out: the count \
             would pass the bound; still 2 free",
            "acquire_many(3): error: asked for 3 permits from a semaphore that can never hold \
             more than 2",
            "Semaphore(2) after one unmatched release: 3 free",
            "guard held: 1 free",
            "guard dropped: 2 free",
        ]
    );
}

#[test]
fn event_wakes_waiters_times_out_and_clears() {
    let out = lines_of("seed_event", &[]);
    let mut expected = vec!["boss: I'm waiting for you".to_owned()];
    expected.extend((1..=10).map(|n| format!("worker: made cup {n}")));
    expected.push("worker: I finished my job".into());
    expected.push("boss: good job, 10 cups".into());
    assert_eq!(out[..13], expected);

    // The retries: numbered timeouts, then the connection once the network is up.
    let up = pos(&out, "check_net: the network is up");
    let connected = out
        .iter()
        .position(|l| l.starts_with("conn: connected after "))
        .unwrap_or_else(|| panic!("never connected: {out:#?}"));
    assert!(up < connected);
    let tries = starting(&out, "conn: network not reachable yet");
    for (i, line) in tries.iter().enumerate() {
        assert_eq!(
            *line,
            format!("conn: network not reachable yet (try {})", i + 1)
        );
    }
    assert_eq!(
        out[connected],
        format!("conn: connected after {} timeouts", tries.len())
    );

    // Set, cleared by the workers, set again.
    let overtime = pos(&out, "boss: overtime tonight (event set: false)");
    let home = pos(&out, "boss: time to go home (event set: false)");
    assert_eq!(home, overtime + 6, "{out:#?}");
    let started: BTreeSet<&str> = out[overtime + 1..home].iter().map(String::as_str).collect();
    let want: Vec<String> = (0..5)
        .map(|i| format!("worker {i}: start working"))
        .collect();
    assert_eq!(started, want.iter().map(String::as_str).collect());
    let finished: BTreeSet<&str> = out[home + 1..].iter().map(String::as_str).collect();
    let want: Vec<String> = (0..5).map(|i| format!("worker {i}: finished")).collect();
    assert_eq!(finished, want.iter().map(String::as_str).collect());
    assert_eq!(out.len(), home + 6);
}

#[test]
fn condition_alternates_strictly_and_hands_each_value_to_one_consumer() {
    let out = lines_of("seed_condition", &[]);
    assert_eq!(
        out[..6],
        [
            "天猫精灵 : 小爱同学",
            "小爱 : 在",
            "天猫精灵 : 我们来对古诗吧",
            "小爱 : 好啊",
            "天猫精灵 : 我住长江头",
            "小爱 : 不聊了，再见",
        ]
    );
    let handoffs = &out[6..out.len() - 1];
    assert_eq!(handoffs.len(), 20, "{out:#?}");
    for pair in handoffs.chunks(2) {
        let v = pair[0]
            .strip_prefix("producer: ")
            .unwrap_or_else(|| panic!("expected a producer line: {pair:?}"));
        assert!(
            pair[1] == format!("consumer A: received {v}")
                || pair[1] == format!("consumer B: received {v}"),
            "value {v} not received once, right after it was produced: {pair:?}"
        );
    }
    assert_eq!(
        out.last().unwrap(),
        "wait with a 50 ms timeout, nobody notifying: timed out = true"
    );
}

#[test]
fn barrier_breaks_on_abort_and_works_again_after_reset() {
    let out = lines_of("seed_barrier", &[]);
    let broken = "the barrier is broken (aborted, reset or its action panicked)";
    let abort = pos(&out, "main: 2 waiting, abort()");
    let reset = pos(&out, "main: reset()");
    assert_eq!(
        out[..abort],
        [
            "worker 0: 0 waiting before me",
            "worker 1: 1 waiting before me"
        ]
    );
    // Workers 0 and 1 were waiting, 2 and 3 came after abort(): all broken, before reset().
    for i in 0..4 {
        let line = format!("worker {i}: {broken}");
        let at = pos(&out, &line);
        assert!(abort < at && at < reset, "{line} out of place: {out:#?}");
    }
    for i in 2..4 {
        assert!(pos(&out, &format!("worker {i}: 0 waiting before me")) < reset);
    }
    // After reset(): one full round, indices in arrival order, the action once before.
    let action = pos(&out, "action: 3 parties met");
    for (i, arrived) in (4..7).zip(0..) {
        let came = pos(&out, &format!("worker {i}: {arrived} waiting before me"));
        let passed = pos(&out, &format!("worker {i}: passed, index {arrived}"));
        assert!(reset < came && came < action && action < passed, "{out:#?}");
    }
    assert_eq!(starting(&out, "action:").len(), 1);
    assert_eq!(
        starting(&out, "worker ")
            .iter()
            .filter(|l| l.ends_with(broken))
            .count(),
        4
    );
    assert_eq!(out.last().unwrap(), "broken at the end: false");
    assert_eq!(out.len(), 18, "{out:#?}");
}

#[test]
fn queue_applies_back_pressure_and_delivers_each_item_once() {
    let out = lines_of("seed_queue", &[]);
    assert_eq!(out[0], "queue: capacity 600, 499 items to start");
    let full = num_in(
        &out[1],
        "producer: sent 2000 more, found the queue full ",
        " times and waited",
    )
    .unwrap_or_else(|| panic!("unexpected line {:?}", out[1]));
    // The consumers pause after each batch while the producer never does: the queue fills.
    assert!(full > 0, "the producer never had to wait");
    let mut total = 0;
    for c in 0..2 {
        let prefix = format!("consumer {c}: processed ");
        let line = starting(&out, &prefix);
        assert_eq!(line.len(), 1, "{out:#?}");
        total += num_in(line[0], &prefix, " items, in queue order: true")
            .unwrap_or_else(|| panic!("unexpected line {:?}", line[0]));
    }
    assert_eq!(total, 2499);
    let prefix = "all 2499 items processed, each exactly once: true; peak queue length ";
    let all = starting(&out, prefix);
    assert_eq!(all.len(), 1, "{out:#?}");
    let peak = num_in(all[0], prefix, " (capacity 600)")
        .unwrap_or_else(|| panic!("unexpected line {:?}", all[0]));
    assert!(peak <= 600, "the queue held {peak} items");

    // task_done / join: each join returns only once every item put so far was processed.
    let joins = starting(&out, "join ");
    assert_eq!(
        joins,
        [
            "join 1: returned with 200 of 200 items processed, 0 unfinished",
            "join 2: returned with 400 of 400 items processed, 0 unfinished",
        ],
        "{out:#?}"
    );
    assert_eq!(
        out.last().unwrap(),
        "task_done with no item left: Err(task_done() called more times than items were received)"
    );
}

#[test]
fn ordered_tasks_take_turns_for_n_rounds() {
    let out = lines_of("seed_ordered", &["4"]);
    let round: Vec<String> = (0..4)
        .flat_map(|_| ["task1", "task2", "task3"])
        .map(String::from)
        .collect();
    let mut expected = round.clone();
    expected.push("with channels:".into());
    expected.extend(round);
    assert_eq!(out, expected);
}

#[test]
fn pool_caps_its_threads_and_map_keeps_input_order() {
    let out = lines_of("seed_pool", &[]);
    let mut done = BTreeSet::new();
    for line in starting(&out, "done callback: func(") {
        let (i, square) = line["done callback: func(".len()..]
            .split_once(") = ")
            .unwrap();
        let (i, square): (u64, u64) = (i.parse().unwrap(), square.parse().unwrap());
        assert_eq!(square, i * i, "{line}");
        assert!(done.insert(i), "{line} twice");
    }
    assert_eq!(done, (0..10).collect());
    let peak = out
        .iter()
        .find_map(|l| {
            num_in(
                l,
                "submit: 10 jobs, at most ",
                " running at once (pool of 4)",
            )
        })
        .unwrap_or_else(|| panic!("no submit line in {out:#?}"));
    assert!(
        (1..=4).contains(&peak),
        "{peak} jobs ran at once on a pool of 4"
    );
    assert!(
        out.contains(&"map: [1, 4, 9, 16, 25]".to_owned()),
        "{out:#?}"
    );

    // Each download's files in order, then its callback.
    for p in 1..=6 {
        let mut at = pos(&out, &format!("process {p}: downloading file 1"));
        for file in 2..=3 {
            let next = pos(&out, &format!("process {p}: downloading file {file}"));
            assert!(at < next, "{out:#?}");
            at = next;
        }
        assert!(at < pos(&out, &format!("callback: process {p}: download complete")));
    }
    // The task::Pool(3): a download starts only while fewer than 3 are under way (a task
    // prints its callback before it gives its slot back, so the output order shows this).
    let mut under_way = 0;
    for line in &out {
        if line.ends_with(": downloading file 1") {
            under_way += 1;
            assert!(under_way <= 3, "a 4th download started: {out:#?}");
        } else if line.starts_with("callback: process ") {
            under_way -= 1;
        }
    }
    let pool_line = out
        .iter()
        .find(|l| l.starts_with("pool: "))
        .unwrap_or_else(|| panic!("no pool line in {out:#?}"));
    let peak = num_in(
        pool_line,
        "pool: 6 downloads, at most ",
        " at once (Pool(3)); 0 running after join",
    )
    .unwrap_or_else(|| panic!("unexpected line {pool_line:?}"));
    assert!(
        (1..=3).contains(&peak),
        "{peak} downloads at once in a Pool(3)"
    );
    // join returned after every callback.
    for p in 1..=6 {
        assert!(
            pos(&out, &format!("callback: process {p}: download complete")) < pos(&out, pool_line)
        );
    }
}

#[test]
fn daemon_task_is_dropped_at_shutdown_and_joined_work_is_awaited() {
    let out = lines_of("seed_daemon", &[]);
    assert_eq!(
        out[..5],
        [
            "main: waiting for the worker (Ctrl-C stops waiting)",
            "worker: finished",
            "main: worker returned 42",
            "main: leaving block_on",
            "main: dropping the runtime",
        ]
    );
    // Between the drop and its return: the daemon cancelled, the running blocking job awaited.
    assert_eq!(out.len(), 8, "{out:#?}");
    let shutdown: BTreeSet<&str> = out[5..7].iter().map(String::as_str).collect();
    assert!(shutdown.contains("blocking job: finished"), "{out:#?}");
    assert!(shutdown.iter().any(|l| is_daemon_goodbye(l)), "{out:#?}");
    assert_eq!(out[7], "main: runtime gone");
}

fn is_daemon_goodbye(line: &str) -> bool {
    line.starts_with("daemon: dropped at shutdown after ")
        && line.ends_with(" ticks, never finished")
}

#[test]
fn on_ctrl_c_main_stops_waiting_and_the_runtime_drops_the_worker_too() {
    // A worker that would take a minute: only Ctrl-C ends the wait for it.
    let mut seed = Process::start("seed_daemon", &["--worker-ms", "60000"]);
    assert_eq!(
        seed.line().as_deref(),
        Some("main: waiting for the worker (Ctrl-C stops waiting)")
    );
    seed.signal(libc::SIGINT);
    let (status, rest) = seed.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}:\n{rest}");
    let out: Vec<&str> = rest.lines().collect();
    assert_eq!(
        out[..3],
        [
            "main: Ctrl-C, leaving the worker to the shutdown",
            "main: leaving block_on",
            "main: dropping the runtime",
        ]
    );
    // The abandoned worker is dropped like the daemon; the blocking job is still awaited.
    assert_eq!(out.len(), 7, "{out:#?}");
    let shutdown: BTreeSet<&str> = out[3..6].iter().copied().collect();
    assert!(shutdown.contains("blocking job: finished"), "{out:#?}");
    assert!(
        shutdown.contains("worker: dropped at shutdown, never finished"),
        "{out:#?}"
    );
    assert!(shutdown.iter().any(|l| is_daemon_goodbye(l)), "{out:#?}");
    assert_eq!(out[6], "main: runtime gone");
}

#[test]
fn gevent_tasks_switch_at_each_wait_on_one_thread() {
    let out = lines_of("seed_gevent", &[]);
    let greenlets: Vec<String> = (1..=3)
        .flat_map(|r| {
            [
                format!("gr1: 5050 (round {r})"),
                format!("gr2: 5050 (round {r})"),
            ]
        })
        .collect();
    assert_eq!(out[..6], greenlets);
    let yields: Vec<String> = (1..=3)
        .flat_map(|s| {
            [
                format!("yield_now a: step {s}"),
                format!("yield_now b: step {s}"),
            ]
        })
        .collect();
    assert_eq!(out[6..12], yields);

    let steps = &out[12..21];
    assert!(
        steps.iter().all(|l| l.ends_with(" on thread main")),
        "{steps:#?}"
    );
    // All three started before any woke from its first sleep.
    let firsts: BTreeSet<&str> = steps[..3].iter().map(String::as_str).collect();
    assert_eq!(
        firsts,
        BTreeSet::from([
            "t1: step 1 on thread main",
            "t2: step 1 on thread main",
            "t3: step 1 on thread main",
        ])
    );
    for t in ["t1", "t2", "t3"] {
        let mine: Vec<&String> = steps
            .iter()
            .filter(|l| l.starts_with(&format!("{t}:")))
            .collect();
        let want: Vec<String> = (1..=3)
            .map(|s| format!("{t}: step {s} on thread main"))
            .collect();
        assert_eq!(mine, want.iter().collect::<Vec<_>>());
    }
    assert!(
        out[21].starts_with("3 tasks x 3 sleeps of 20 ms on one thread: "),
        "{out:#?}"
    );
    assert_eq!(out.len(), 22);
}
