//! Green tasks against a thread per job, on this machine, in one run.
//!
//! The Python notes this project grew from time `time.sleep(2)` jobs and `res *= i` loops on
//! threads and on processes to show what the GIL costs. This is that experiment grown up:
//!
//! 1. **IO-bound jobs**: 10 000 concurrent clients, each sleeping a little and then doing
//!    round trips to a backend, written once as green tasks and once as a thread per job:
//!    wall time, CPU time and peak memory.
//! 2. **Connections**: N echo connections served and driven by green tasks, and the same
//!    program with a thread per connection on both ends: round trips per second.
//! 3. **CPU-bound jobs** on `spawn_blocking`, on OS threads and (wrongly) inside async tasks,
//!    while an IO task pings a socket every millisecond: with no GIL the first two scale with
//!    the cores; the third blocks the workers, and the longest gap between pings shows how
//!    long every other task on the runtime was starved.
//!
//! Each measurement runs in a child process of its own, so peak memory is the job's alone.
//! A table is printed at the end and the same figures are written as JSON for plots.
//!
//! ```text
//! cargo run --release --example versus_threads
//! cargo run --release --example versus_threads -- --quick        # a smaller, faster run
//! cargo run --release --example versus_threads -- --jobs 5000 --conns 500 --json out.json
//! ```

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use runtime::net::{TcpListener, TcpSocket, TcpStream};
use runtime::task::JoinSet;

/// One round trip's payload.
const MSG: usize = 64;
/// Round trips each IO-bound job does, with a short wait before each.
const JOB_ROUND_TRIPS: usize = 5;
const JOB_THINK: Duration = Duration::from_millis(20);
/// Jobs start spread over this window, as requests arrive in a real service.
const JOB_SPREAD_MS: u64 = 100;

struct Options {
    jobs: usize,
    conns: usize,
    round_trips: usize,
    cpu_jobs: usize,
    cpu_steps: u64,
    json: String,
}

fn main() {
    // Every job holds a socket (and the parent the other end): lift the soft limit on open
    // files, often 1 024, to the hard one.
    let max_files = raise_open_file_limit();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut opts = Options {
        jobs: 10_000,
        conns: 1_000,
        round_trips: 100,
        cpu_jobs: 2 * cores,
        cpu_steps: 100_000_000,
        json: "target/versus_threads.json".into(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().map(String::as_str).unwrap_or_else(|| usage(arg));
        match arg.as_str() {
            "--quick" => {
                opts.jobs = 1_000;
                opts.conns = 100;
                opts.round_trips = 50;
                opts.cpu_steps = 5_000_000;
            }
            "--jobs" => opts.jobs = value().parse().unwrap_or_else(|_| usage(arg)),
            "--conns" => opts.conns = value().parse().unwrap_or_else(|_| usage(arg)),
            "--json" => opts.json = value().to_owned(),
            _ => usage(arg),
        }
    }
    // Room for the jobs' sockets (one each in the child and the parent) and the connections'
    // (two each, in the child), with some to spare.
    let room = max_files.saturating_sub(256) as usize;
    if opts.jobs > room || 2 * opts.conns > room {
        opts.jobs = opts.jobs.min(room);
        opts.conns = opts.conns.min(room / 2);
        eprintln!(
            "versus_threads: this system allows {max_files} open files per process; running \
             {} jobs and {} connections",
            opts.jobs, opts.conns
        );
    }
    run_all(&opts, cores);
}

fn usage(arg: &str) -> ! {
    eprintln!("versus_threads: bad argument {arg:?}");
    eprintln!("usage: versus_threads [--quick] [--jobs N] [--conns N] [--json PATH]");
    std::process::exit(2);
}

// ===== the parent: run each measurement in a child, print the table =====

type Figures = BTreeMap<String, f64>;

fn run_all(opts: &Options, cores: usize) {
    // The backend the IO-bound jobs talk to lives here, in the parent, so the children hold
    // only the jobs' own sockets and memory. Both variants talk to the same backend.
    let backend_rt = runtime::Runtime::new().expect("building the backend runtime");
    let backend = backend_rt.block_on(async {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("binding the backend");
        let listener = socket.listen(4096).expect("listen");
        let addr = listener.local_addr().expect("local address");
        runtime::spawn(serve_echo(listener));
        addr
    });

    let (jobs, conns, rts) = (
        opts.jobs.to_string(),
        opts.conns.to_string(),
        opts.round_trips,
    );
    let cpu = [opts.cpu_jobs.to_string(), opts.cpu_steps.to_string()];
    let backend = backend.to_string();
    let steps: Vec<(&str, Vec<String>)> = vec![
        (
            "io jobs, green tasks",
            vec!["io-green".into(), jobs.clone(), backend.clone()],
        ),
        (
            "io jobs, a thread each",
            vec!["io-threads".into(), jobs, backend],
        ),
        (
            "connections, green tasks",
            vec!["conns-green".into(), conns.clone(), rts.to_string()],
        ),
        (
            "connections, a thread each",
            vec!["conns-threads".into(), conns, rts.to_string()],
        ),
        (
            "cpu jobs, one after another",
            vec!["cpu-sequential".into(), cpu[0].clone(), cpu[1].clone()],
        ),
        (
            "cpu jobs, spawn_blocking",
            vec!["cpu-blocking".into(), cpu[0].clone(), cpu[1].clone()],
        ),
        (
            "cpu jobs, OS threads",
            vec!["cpu-threads".into(), cpu[0].clone(), cpu[1].clone()],
        ),
        (
            "cpu jobs, inside async tasks",
            vec!["cpu-async".into(), cpu[0].clone(), cpu[1].clone()],
        ),
    ];
    // A progress line, rewritten in place, when a person is watching.
    let progress = std::io::stderr().is_terminal();
    let mut results: BTreeMap<String, Figures> = BTreeMap::new();
    for (i, (label, args)) in steps.iter().enumerate() {
        if progress {
            eprint!("\r\x1b[2K[{}/{}] {label} ...", i + 1, steps.len());
            let _ = std::io::stderr().flush();
        }
        results.insert(args[0].clone(), run_child(args));
    }
    if progress {
        eprint!("\r\x1b[2K");
    }
    drop(backend_rt);

    print_table(opts, cores, &results);
    match write_json(&opts.json, opts, cores, &results) {
        Ok(()) => println!("\nfigures written to {}", opts.json),
        Err(e) => eprintln!("\nversus_threads: could not write {}: {e}", opts.json),
    }
}

/// Runs `versus_threads --child ARGS…` and parses the `name value` lines it prints.
fn run_child(args: &[String]) -> Figures {
    let exe = std::env::current_exe().expect("this program's path");
    let out = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .expect("starting a measurement");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprintln!(
            "\nversus_threads: measurement {:?} failed ({}):\n{stdout}{}",
            args[0],
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "(a thread per job needs one OS thread per job or connection: if the system \
             ran out, try fewer with --jobs N / --conns N)"
        );
        std::process::exit(1);
    }
    stdout
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

fn print_table(opts: &Options, cores: usize, r: &BTreeMap<String, Figures>) {
    let get = |step: &str, key: &str| r[step][key];
    let ratio = |a: f64, b: f64| format!("{:.1}x", a / b);
    println!("green tasks vs a thread per job, {cores} cores\n");
    println!(
        "{:<44} {:>14} {:>14} {:>12}",
        "", "green tasks", "thread each", "advantage"
    );
    let row = |what: String, green: String, threads: String, adv: String| {
        println!("{what:<44} {green:>14} {threads:>14} {adv:>12}");
    };
    let what = format!(
        "{} IO jobs ({} round trips each)",
        grouped(opts.jobs),
        JOB_ROUND_TRIPS
    );
    let (gw, tw) = (get("io-green", "wall_s"), get("io-threads", "wall_s"));
    row(format!("{what}: wall"), secs(gw), secs(tw), ratio(tw, gw));
    let (gc, tc) = (get("io-green", "cpu_s"), get("io-threads", "cpu_s"));
    row("    CPU time".into(), secs(gc), secs(tc), ratio(tc, gc));
    let (gm, tm) = (
        get("io-green", "peak_rss_mib"),
        get("io-threads", "peak_rss_mib"),
    );
    row("    peak memory".into(), mib(gm), mib(tm), ratio(tm, gm));
    let (gr, tr) = (
        get("conns-green", "round_trips_per_s"),
        get("conns-threads", "round_trips_per_s"),
    );
    row(
        format!(
            "{} connections x {} round trips",
            grouped(opts.conns),
            opts.round_trips
        ),
        format!("{:.0}k rt/s", gr / 1e3),
        format!("{:.0}k rt/s", tr / 1e3),
        ratio(gr, tr),
    );
    let (gm, tm) = (
        get("conns-green", "peak_rss_mib"),
        get("conns-threads", "peak_rss_mib"),
    );
    row("    peak memory".into(), mib(gm), mib(tm), ratio(tm, gm));

    println!(
        "\n{} CPU-bound jobs while an IO task pings a socket every ms\n",
        opts.cpu_jobs
    );
    println!(
        "{:<30} {:>10} {:>10} {:>22}",
        "", "wall", "speed-up", "longest IO stall"
    );
    let seq = get("cpu-sequential", "wall_s");
    for (step, label) in [
        ("cpu-sequential", "one after another"),
        ("cpu-blocking", "spawn_blocking"),
        ("cpu-threads", "OS threads"),
        ("cpu-async", "inside async tasks (don't)"),
    ] {
        let wall = get(step, "wall_s");
        println!(
            "{label:<30} {:>10} {:>10} {:>22}",
            secs(wall),
            format!("{:.2}x", seq / wall),
            format!("{:.1} ms", get(step, "max_io_stall_ms"))
        );
    }
}

/// `10000` as `10 000`, for reading at a glance.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(d);
    }
    out
}

fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn mib(m: f64) -> String {
    format!("{m:.1} MiB")
}

fn write_json(
    path: &str,
    opts: &Options,
    cores: usize,
    r: &BTreeMap<String, Figures>,
) -> std::io::Result<()> {
    let mut s = format!(
        "{{\n  \"cores\": {cores},\n  \"jobs\": {},\n  \"connections\": {},\n  \
         \"round_trips\": {},\n  \"cpu_jobs\": {},\n  \"cpu_steps\": {},\n  \"results\": {{",
        opts.jobs, opts.conns, opts.round_trips, opts.cpu_jobs, opts.cpu_steps
    );
    for (i, (step, figures)) in r.iter().enumerate() {
        let fields: Vec<String> = figures
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        let sep = if i == 0 { "" } else { "," };
        s.push_str(&format!("{sep}\n    \"{step}\": {{{}}}", fields.join(", ")));
    }
    s.push_str("\n  }\n}\n");
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    std::fs::write(path, s)
}

// ===== the children: one measurement each, printed as `name value` lines =====

fn child(args: &[String]) {
    let n = |i: usize| -> u64 { args[i].parse().expect("a number") };
    let started = Instant::now();
    let figures: Vec<(&str, f64)> = match args[0].as_str() {
        "io-green" => io_green(n(1) as usize, args[2].parse().expect("backend")),
        "io-threads" => io_threads(n(1) as usize, args[2].parse().expect("backend")),
        "conns-green" => conns_green(n(1) as usize, n(2) as usize),
        "conns-threads" => conns_threads(n(1) as usize, n(2) as usize),
        cpu => cpu_jobs(cpu, n(1) as usize, n(2)),
    };
    let wall = started.elapsed().as_secs_f64();
    for (k, v) in &figures {
        println!("{k} {v}");
    }
    if !figures.iter().any(|(k, _)| *k == "wall_s") {
        println!("wall_s {wall}");
    }
    println!("cpu_s {}", cpu_seconds());
    println!("peak_rss_mib {}", peak_rss_mib());
}

/// The delay before job `i` starts, spread evenly over [`JOB_SPREAD_MS`].
fn spread(i: usize, jobs: usize) -> Duration {
    Duration::from_micros(i as u64 * JOB_SPREAD_MS * 1000 / jobs.max(1) as u64)
}

fn io_green(jobs: usize, backend: SocketAddr) -> Vec<(&'static str, f64)> {
    let rt = runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let mut set = JoinSet::new();
        for i in 0..jobs {
            set.spawn(async move {
                runtime::time::sleep(spread(i, jobs)).await;
                let mut conn = TcpStream::connect(backend).await?;
                let mut buf = [0u8; MSG];
                for round in 0..JOB_ROUND_TRIPS {
                    runtime::time::sleep(JOB_THINK).await;
                    let msg = [(i + round) as u8; MSG];
                    conn.write_all(&msg).await?;
                    conn.read_exact(&mut buf).await?;
                    assert_eq!(buf, msg, "the backend echoes what it is sent");
                }
                std::io::Result::Ok(())
            });
        }
        while let Some(job) = set.join_next().await {
            job.expect("job panicked").expect("job's socket failed");
        }
    });
    vec![]
}

fn io_threads(jobs: usize, backend: SocketAddr) -> Vec<(&'static str, f64)> {
    let threads: Vec<_> = (0..jobs)
        .map(|i| {
            let start = Instant::now() + spread(i, jobs);
            std::thread::spawn(move || -> std::io::Result<()> {
                std::thread::sleep(start.saturating_duration_since(Instant::now()));
                let mut conn = std::net::TcpStream::connect(backend)?;
                let mut buf = [0u8; MSG];
                for round in 0..JOB_ROUND_TRIPS {
                    std::thread::sleep(JOB_THINK);
                    let msg = [(i + round) as u8; MSG];
                    conn.write_all(&msg)?;
                    conn.read_exact(&mut buf)?;
                    assert_eq!(buf, msg, "the backend echoes what it is sent");
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .expect("job panicked")
            .expect("job's socket failed");
    }
    vec![]
}

/// Echoes every connection, a task each, until the listener is dropped with the runtime.
async fn serve_echo(listener: TcpListener) {
    while let Ok((mut conn, _)) = listener.accept().await {
        runtime::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = conn.read(&mut buf).await {
                if conn.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
    }
}

fn conns_green(conns: usize, round_trips: usize) -> Vec<(&'static str, f64)> {
    let rt = runtime::Runtime::new().expect("runtime");
    let elapsed = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        runtime::spawn(serve_echo(listener));
        let started = Instant::now();
        let mut set = JoinSet::new();
        for i in 0..conns {
            set.spawn(async move {
                let mut conn = TcpStream::connect(addr).await?;
                conn.set_nodelay(true)?;
                let (msg, mut buf) = ([i as u8; MSG], [0u8; MSG]);
                for _ in 0..round_trips {
                    conn.write_all(&msg).await?;
                    conn.read_exact(&mut buf).await?;
                }
                assert_eq!(buf, msg);
                std::io::Result::Ok(())
            });
        }
        while let Some(c) = set.join_next().await {
            c.expect("client panicked").expect("client's socket failed");
        }
        started.elapsed()
    });
    let total = (conns * round_trips) as f64;
    vec![
        ("wall_s", elapsed.as_secs_f64()),
        ("round_trips_per_s", total / elapsed.as_secs_f64()),
    ]
}

fn conns_threads(conns: usize, round_trips: usize) -> Vec<(&'static str, f64)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = conn.read(&mut buf) {
                    if conn.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let started = Instant::now();
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut conn = std::net::TcpStream::connect(addr)?;
                conn.set_nodelay(true)?;
                let (msg, mut buf) = ([i as u8; MSG], [0u8; MSG]);
                for _ in 0..round_trips {
                    conn.write_all(&msg)?;
                    conn.read_exact(&mut buf)?;
                }
                assert_eq!(buf, msg);
                Ok(())
            })
        })
        .collect();
    for c in clients {
        c.join()
            .expect("client panicked")
            .expect("client's socket failed");
    }
    let elapsed = started.elapsed();
    let total = (conns * round_trips) as f64;
    vec![
        ("wall_s", elapsed.as_secs_f64()),
        ("round_trips_per_s", total / elapsed.as_secs_f64()),
    ]
}

/// `steps` rounds of xorshift: CPU work the optimiser cannot fold away.
fn cpu_work(seed: u64, steps: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn cpu_jobs(how: &str, jobs: usize, steps: u64) -> Vec<(&'static str, f64)> {
    let rt = runtime::Runtime::new().expect("runtime");
    let (wall, stall) = rt.block_on(async move {
        // The IO task: an echo peer and a pinger, both ordinary tasks on the workers. The
        // longest gap between two of its round trips is how long IO waited for a worker.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        runtime::spawn(serve_echo(listener));
        let (stop, stopped) = runtime::sync::oneshot::channel::<()>();
        let pinger = runtime::spawn(async move {
            let mut conn = TcpStream::connect(addr).await.expect("connect");
            let (mut buf, mut longest, mut last) = ([0u8; 8], Duration::ZERO, Instant::now());
            let ping = async {
                loop {
                    runtime::time::sleep(Duration::from_millis(1)).await;
                    conn.write_all(b"ping1234").await.expect("ping");
                    conn.read_exact(&mut buf).await.expect("pong");
                    longest = longest.max(last.elapsed());
                    last = Instant::now();
                }
            };
            let _ = futures_lite::future::or(ping, async {
                let _ = stopped.await;
            })
            .await;
            longest.max(last.elapsed())
        });
        // Let the pinger settle into its rhythm before the load starts.
        runtime::time::sleep(Duration::from_millis(20)).await;

        let started = Instant::now();
        let mut sum = 0u64;
        match how {
            "cpu-sequential" => {
                for j in 0..jobs {
                    sum ^= runtime::spawn_blocking(move || cpu_work(j as u64, steps))
                        .await
                        .expect("job");
                }
            }
            "cpu-blocking" => {
                let handles: Vec<_> = (0..jobs)
                    .map(|j| runtime::spawn_blocking(move || cpu_work(j as u64, steps)))
                    .collect();
                for h in handles {
                    sum ^= h.await.expect("job");
                }
            }
            "cpu-threads" => {
                let threads: Vec<_> = (0..jobs)
                    .map(|j| std::thread::spawn(move || cpu_work(j as u64, steps)))
                    .collect();
                // Joining an OS thread blocks, so it is done off the workers.
                sum = runtime::spawn_blocking(move || {
                    threads
                        .into_iter()
                        .fold(0, |s, t| s ^ t.join().expect("job"))
                })
                .await
                .expect("joiner");
            }
            "cpu-async" => {
                // The mistake: CPU work in an ordinary task holds a worker for its whole
                // run, and nothing else scheduled on that worker moves.
                let handles: Vec<_> = (0..jobs)
                    .map(|j| runtime::spawn(async move { cpu_work(j as u64, steps) }))
                    .collect();
                for h in handles {
                    sum ^= h.await.expect("job");
                }
            }
            other => panic!("unknown measurement {other:?}"),
        }
        let wall = started.elapsed();
        std::hint::black_box(sum);
        let _ = stop.send(());
        let stall = pinger.await.expect("pinger");
        (wall, stall)
    });
    vec![
        ("wall_s", wall.as_secs_f64()),
        ("max_io_stall_ms", stall.as_secs_f64() * 1e3),
    ]
}

/// Raises this process's soft limit on open files to the hard limit; returns the new limit.
fn raise_open_file_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            limit = raised;
        }
    }
    limit.rlim_cur
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which is plain old data.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The process's high-water resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
