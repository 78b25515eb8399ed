//! `runtime::process`: commands, exit statuses, pipes, killing, and reaping without a
//! thread per child or a zombie left behind. Every test runs on both scheduler flavors.

#![cfg(unix)]

#[macro_use]
mod support;

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use runtime::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use runtime::task::JoinSet;
use runtime::time::{sleep, timeout};

// ===== /proc helpers =====

/// State letter and parent pid of process `pid`, from `/proc/PID/stat`; `None` if gone.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so cut at the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` is still a child of this process (running, or a zombie nobody reaped).
fn is_our_child(pid: u32) -> bool {
    stat(pid).is_some_and(|(_, ppid)| ppid == std::process::id())
}

/// Which of `pids` are zombies whose parent is this process.
fn our_zombies(pids: &[u32]) -> Vec<u32> {
    let me = std::process::id();
    pids.iter()
        .copied()
        .filter(|&pid| stat(pid) == Some(('Z', me)))
        .collect()
}

/// Our children whose command line is `program arg`.
fn children_running(program: &str, arg: &str) -> Vec<u32> {
    let wanted = format!("{program}\0{arg}\0");
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| is_our_child(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted.as_bytes())
        })
        .collect()
}

/// Threads of this process right now.
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .count()
}

/// Waits (on the runtime's timer, so a current-thread runtime keeps running its tasks)
/// until `pid` is no longer our child: reaped. Bounded: 500 checks 10 ms apart.
async fn reaped_eventually(pid: u32, what: &str) {
    for _ in 0..500 {
        if !is_our_child(pid) {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{what}: pid {pid} is still our child (state {:?})",
        stat(pid)
    );
}

/// A generous bound for anything a correct implementation finishes in milliseconds.
const GUARD: Duration = Duration::from_secs(30);

fn _pipes_and_children_are_send_and_sync() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<Child>();
    check::<ChildStdin>();
    check::<ChildStdout>();
    check::<ChildStderr>();
    check::<Command>();
}

// ===== running to completion =====

rt_test!(output_of_echo, |rt| {
    rt.block_on(async {
        let out = Command::new("echo").arg("hello").output().await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.stderr, b"");
    });
});

rt_test!(exit_statuses, |rt| {
    rt.block_on(async {
        let status = Command::new("false").status().await.unwrap();
        assert!(!status.success());
        assert_eq!(status.code(), Some(1));
        let status = Command::new("sh")
            .args(["-c", "exit 3"])
            .status()
            .await
            .unwrap();
        assert_eq!(status.code(), Some(3));
        assert!(Command::new("true").status().await.unwrap().success());
    });
});

rt_test!(args_env_and_cwd_reach_the_child, |rt| {
    rt.block_on(async {
        let dir = std::env::temp_dir().canonicalize().unwrap();
        let out = Command::new("sh")
            .args([
                "-c",
                r#"printf '%s|%s|%s|%s' "$1" "$FOO" "${GONE-unset}" "$(pwd)""#,
            ])
            .args(["sh", "one arg"])
            .env("FOO", "bar")
            .envs([("GONE", "here")])
            .env_remove("GONE")
            .current_dir(&dir)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text, format!("one arg|bar|unset|{}", dir.display()));

        let out = Command::new("/bin/sh")
            .args(["-c", "echo \"[$PATH]\""])
            .env_clear()
            .env("PATH", "/nowhere")
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"[/nowhere]\n");
    });
});

rt_test!(
    output_captures_stderr_and_leaves_chosen_streams_alone,
    |rt| {
        rt.block_on(async {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "echo out; [ -n \"$1\" ] || echo err >&2"]);
            let out = cmd.output().await.unwrap();
            assert_eq!(
                (&out.stdout[..], &out.stderr[..]),
                (&b"out\n"[..], &b"err\n"[..])
            );
            cmd.stdout(Stdio::null());
            let out = cmd.output().await.unwrap();
            assert_eq!(
                (&out.stdout[..], &out.stderr[..]),
                (&b""[..], &b"err\n"[..])
            );
            // output() doesn't leave its pipes on the Command: spawn gets inherit/null again.
            let child = cmd.args(["sh", "quiet"]).spawn().unwrap();
            assert!(child.stdout.is_none() && child.stderr.is_none() && child.stdin.is_none());
            child.wait_with_output().await.unwrap();
        });
    }
);

rt_test!(a_missing_program_is_not_found, |rt| {
    rt.block_on(async {
        let missing = "runtime-test-no-such-program";
        let err = Command::new(missing).spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = Command::new(missing).output().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = Command::new(missing).status().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
});

// ===== pipes =====

/// `cat` with its stdin and stdout piped.
fn spawn_cat() -> Child {
    Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn cat")
}

rt_test!(stdin_piped_to_cat_comes_back, |rt| {
    rt.block_on(async {
        let mut child = spawn_cat();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        stdin.write_all(b"line one\n").await.unwrap();
        AsyncWriteExt::write_all(&mut stdin, b"line two\n")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut stdin).await.unwrap(); // EOF for cat
        let err = stdin.write(b"late").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        let mut back = String::new();
        stdout.read_to_string(&mut back).await.unwrap();
        assert_eq!(back, "line one\nline two\n");
        assert!(child.wait().await.unwrap().success());
    });
});

rt_test!(output_is_read_while_the_child_still_runs, |rt| {
    rt.block_on(async {
        // The child can't exit before we answer, so "read before exit" is certain.
        let mut child = Command::new("sh")
            .args(["-c", "echo a; read answer; echo \"b $answer\""])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.as_mut().unwrap();
        let mut buf = [0; 2];
        timeout(GUARD, stdout.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"a\n");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child is still running"
        );
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"42\n")
            .await
            .unwrap();
        let mut rest = Vec::new();
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_to_end(&mut rest)
            .await
            .unwrap();
        assert_eq!(rest, b"b 42\n");
        assert!(child.wait().await.unwrap().success());

        // Also with a child that just pauses, read from another task.
        let mut child = Command::new("sh")
            .args(["-c", "echo a; sleep 0.2; echo b"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let reader = runtime::spawn(async move {
            let mut first = [0; 2];
            stdout.read_exact(&mut first).await.unwrap();
            let mut rest = Vec::new();
            stdout.read_to_end(&mut rest).await.unwrap();
            (first, rest)
        });
        let (first, rest) = reader.await.unwrap();
        assert_eq!((&first[..], &rest[..]), (&b"a\n"[..], &b"b\n"[..]));
        assert!(child.wait().await.unwrap().success());
    });
});

const LARGE: usize = 8_000_000;

rt_test!(a_large_stdout_is_read_in_full, |rt| {
    rt.block_on(async {
        let large = LARGE.to_string();
        // Read through AsyncRead while the child still writes (the pipe holds 64 KiB).
        let mut child = Command::new("head")
            .args(["-c", &large, "/dev/zero"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut all = Vec::new();
        let n = timeout(GUARD, child.stdout.as_mut().unwrap().read_to_end(&mut all))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((n, all.len()), (LARGE, LARGE));
        assert!(all.iter().all(|&b| b == 0));
        assert!(child.wait().await.unwrap().success());

        // output(): stdout and stderr drained together while waiting.
        let script = format!("head -c {LARGE} /dev/zero; head -c {LARGE} /dev/zero >&2");
        let out = timeout(GUARD, Command::new("sh").args(["-c", &script]).output())
            .await
            .unwrap()
            .unwrap();
        assert!(out.status.success());
        assert_eq!((out.stdout.len(), out.stderr.len()), (LARGE, LARGE));

        // A large stdin too: written while cat echoes it back into a pipe we read.
        let mut child = spawn_cat();
        let mut stdin = child.stdin.take().unwrap();
        let writer = runtime::spawn(async move { stdin.write_all(&vec![7u8; LARGE]).await });
        let out = timeout(GUARD, child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(out.stdout.len(), LARGE);
    });
});

// ===== waiting and killing =====

rt_test!(kill_then_wait_reports_the_signal, |rt| {
    rt.block_on(async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.start_kill().unwrap();
        let status = timeout(GUARD, child.wait()).await.unwrap().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(status.code(), None);
        // Already reaped: killing again is a no-op, and the status stays.
        child.start_kill().unwrap();
        assert_eq!(child.kill().await.unwrap().signal(), Some(libc::SIGKILL));

        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        let status = timeout(GUARD, child.kill()).await.unwrap().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    });
});

rt_test!(try_wait_before_and_after_exit, |rt| {
    rt.block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "read line; exit 4"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        assert!(child.try_wait().unwrap().is_none());
        assert_eq!(child.id(), Some(pid));
        drop(child.stdin.take()); // EOF: `read` returns and the shell exits
        let mut status = None;
        for _ in 0..500 {
            status = child.try_wait().unwrap();
            if status.is_some() {
                break;
            }
            sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(status.expect("exited within 5 s").code(), Some(4));
        assert_eq!(child.id(), None);
        assert_eq!(child.try_wait().unwrap().unwrap().code(), Some(4));
        assert_eq!(child.wait().await.unwrap().code(), Some(4));
        assert!(!is_our_child(pid));
    });
});

rt_test!(wait_is_cancel_safe, |rt| {
    rt.block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 0.1; exit 5"])
            .spawn()
            .unwrap();
        assert!(timeout(Duration::from_millis(5), child.wait())
            .await
            .is_err());
        assert_eq!(child.wait().await.unwrap().code(), Some(5));
        assert_eq!(child.wait().await.unwrap().code(), Some(5));
    });
});

// ===== many children, no threads, no zombies =====

const MANY: usize = 200;

rt_test!(
    many_children_at_once_without_a_thread_each_or_a_zombie,
    |rt| {
        let before = thread_count();
        rt.block_on(async {
            let mut pids = Vec::with_capacity(MANY);
            let mut set = JoinSet::new();
            for i in 0..MANY {
                let mut child = Command::new("sh")
                    .args(["-c", &format!("sleep 0.3; exit {}", i % 7)])
                    .spawn()
                    .unwrap();
                pids.push(child.id().unwrap());
                set.spawn(async move { (i, child.wait().await) });
            }
            // All 200 are running (each sleeps 0.3 s) and being waited for now.
            sleep(Duration::from_millis(50)).await;
            let during = thread_count();
            let mut seen = 0;
            while let Some(res) = timeout(GUARD, set.join_next()).await.unwrap() {
                let (i, status) = res.unwrap();
                assert_eq!(status.unwrap().code(), Some((i % 7) as i32));
                seen += 1;
            }
            assert_eq!(seen, MANY);
            // A thread per child would add 200. What varies here is other tests' runtimes
            // starting and stopping in this process, a few threads each.
            assert!(
                during < before + 40,
                "{during} threads while waiting for {MANY} children ({before} before)"
            );
            assert_eq!(our_zombies(&pids), Vec::<u32>::new());
            assert!(pids.iter().all(|&pid| !is_our_child(pid)));
        });
    }
);

rt_test!(a_dropped_child_is_reaped_in_the_background, |rt| {
    rt.block_on(async {
        // Still running when dropped: the background task reaps it once it exits.
        let child = Command::new("sh")
            .args(["-c", "sleep 0.1"])
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        drop(child);
        assert!(
            is_our_child(pid),
            "dropping doesn't kill without kill_on_drop"
        );
        reaped_eventually(pid, "a dropped running child").await;

        // Exited before the drop: reaped right there.
        let child = Command::new("true").spawn().unwrap();
        let pid = child.id().unwrap();
        for _ in 0..500 {
            if stat(pid) == Some(('Z', std::process::id())) {
                break;
            }
            sleep(Duration::from_millis(10)).await;
        }
        drop(child);
        assert!(!is_our_child(pid));

        // Many dropped ones, with their pipes.
        let mut pids = Vec::new();
        for _ in 0..50 {
            let child = Command::new("sh")
                .args(["-c", "echo dropped; sleep 0.05"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            pids.push(child.id().unwrap());
        }
        for pid in pids {
            reaped_eventually(pid, "one of 50 dropped children").await;
        }
    });
});

rt_test!(kill_on_drop_kills_the_child, |rt| {
    rt.block_on(async {
        let child = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        drop(child);
        reaped_eventually(pid, "a kill_on_drop child").await;

        // A cancelled status() drops its child the same way. The odd duration tells this
        // test's `sleep` from the other tests' ones.
        let arg = "999.125";
        let mut cmd = Command::new("sleep");
        cmd.arg(arg).kill_on_drop(true);
        assert!(timeout(Duration::from_millis(20), cmd.status())
            .await
            .is_err());
        for pid in children_running("sleep", arg) {
            reaped_eventually(pid, "the child of a cancelled status()").await;
        }
    });
});

rt_test!(
    a_child_is_waited_for_from_another_task_and_thread,
    |rt, flavor| {
        rt.block_on(async {
            let mut child = Command::new("sh").args(["-c", "exit 9"]).spawn().unwrap();
            let status = runtime::spawn(async move { child.wait().await })
                .await
                .unwrap();
            assert_eq!(status.unwrap().code(), Some(9));
        });
        if flavor == support::Flavor::CurrentThread {
            // Only `Runtime::block_on` turns a current-thread runtime's reactor, so a plain
            // thread's `Handle::block_on` could never see the exit there.
            return;
        }
        // Spawned inside the runtime, waited for from a plain thread through its handle.
        let child = rt.block_on(async { Command::new("sh").args(["-c", "sleep 0.05"]).spawn() });
        let handle = rt.handle().clone();
        let status = std::thread::spawn(move || {
            let mut child = child.unwrap();
            handle.block_on(async move { child.wait().await })
        })
        .join()
        .unwrap();
        assert!(status.unwrap().success());
    }
);
