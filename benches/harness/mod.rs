//! What every benchmark binary shares: command-line options, medians and table rows.
//!
//! Included by each bench with `#[path = "harness/mod.rs"] mod harness;`; each uses a part
//! of it, hence the `dead_code` allowance.

#![allow(dead_code)]

pub(crate) mod load;
pub(crate) mod rt;

use std::time::Duration;

/// The options every bench takes: `[--workers N] [--runs N] [--filter NAME] [--quick]`.
pub(crate) struct Config {
    /// Worker threads per runtime (default: the core count).
    pub(crate) workers: usize,
    /// Measured runs per workload (default 5; `--quick` makes it 1).
    pub(crate) runs: usize,
    /// Only workloads whose name contains this.
    pub(crate) filter: Option<String>,
    /// `--child WORKLOAD RUNTIME`: run one measurement in this process and report it.
    pub(crate) child: Option<(String, String)>,
    /// The arguments given after `--`, to print the command back.
    pub(crate) args: Vec<String>,
    bench: &'static str,
}

impl Config {
    /// Parses the arguments of `cargo bench --bench NAME -- …`; exits with a usage line
    /// on bad input.
    pub(crate) fn from_args(bench: &'static str) -> Config {
        // cargo bench passes `--bench` to every bench binary; it says nothing about this one.
        let given: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect();
        let mut cfg = Config {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            runs: 5,
            filter: None,
            child: None,
            args: given.clone(),
            bench,
        };
        let mut args = given.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| usage(bench, &format!("{arg} needs a value")))
            };
            let count = |v: String| {
                v.parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage(bench, &format!("bad count {v:?}")))
            };
            match arg.as_str() {
                "--quick" => cfg.runs = 1,
                "--workers" => cfg.workers = count(value()),
                "--runs" => cfg.runs = count(value()),
                "--filter" => cfg.filter = Some(value()),
                "--child" => cfg.child = Some((value(), value())),
                other => usage(bench, &format!("unknown argument {other:?}")),
            }
        }
        cfg
    }

    /// Whether the workload `name` passes `--filter`.
    pub(crate) fn wants(&self, name: &str) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| name.contains(f.as_str()))
    }
}

pub(crate) fn usage(bench: &str, problem: &str) -> ! {
    eprintln!(
        "{problem}\nusage: cargo bench --bench {bench} -- [--workers N] [--runs N] [--filter NAME] [--quick]"
    );
    std::process::exit(2)
}

/// Runs several backends `runs` times each, in rounds: every backend once to warm up, then
/// each round every backend once, in turn; returns each backend's samples. For workloads whose
/// speed the machine flips between levels for seconds at a time (tcp_echo over loopback: two
/// levels about 25 % apart, for tokio as for this runtime), where runs taken back to back per
/// backend compare levels instead of backends: in rounds a level falls on all alike.
///
/// The backends are all alive at once, so use it only where they leave each other alone: with
/// every runtime of the scheduler bench built at once, tokio's yield_many took twice as long
/// after spawn_remote_threads had run in the same process (33 against 65 ms) and not without
/// it, so those benches keep one runtime at a time.
pub(crate) fn measure_rounds<T, const N: usize>(
    runs: usize,
    mut backends: [&mut dyn FnMut() -> T; N],
) -> [Vec<T>; N] {
    let mut samples: [Vec<T>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for round in 0..=runs {
        for (backend, taken) in backends.iter_mut().zip(&mut samples) {
            let sample = backend();
            if round > 0 {
                taken.push(sample);
            }
        }
    }
    samples
}

/// The median; the mean of the two middle samples for an even count.
pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    assert!(!samples.is_empty(), "median of no samples");
    samples.sort_unstable();
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2
    }
}

/// The median of float samples (rates, nanoseconds); the mean of the two middle ones for an
/// even count.
pub(crate) fn median_f64(mut samples: Vec<f64>) -> f64 {
    assert!(!samples.is_empty(), "median of no samples");
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    }
}

/// Runs every variant once to warm up, then `runs` rounds of one run of each, interleaved
/// so that a load change on the machine hits them alike; returns each one's median.
pub(crate) fn compare(runs: usize, variants: &mut [&mut dyn FnMut() -> Duration]) -> Vec<Duration> {
    for v in variants.iter_mut() {
        v();
    }
    let mut samples = vec![Vec::with_capacity(runs); variants.len()];
    for _ in 0..runs {
        for (v, out) in variants.iter_mut().zip(&mut samples) {
            out.push(v());
        }
    }
    samples.into_iter().map(median).collect()
}

/// One table row: the name left-aligned in 18 columns, then right-aligned cells.
pub(crate) fn print_row<C: std::fmt::Display>(name: &str, cells: impl IntoIterator<Item = C>) {
    let cells: Vec<_> = cells.into_iter().map(|c| format!("{c:>14}")).collect();
    println!("{name:<18} | {}", cells.join(" | "));
}

/// User plus system CPU time of all this process's threads so far.
pub(crate) fn process_cpu_time() -> Duration {
    // SAFETY: all-zero bytes are a valid `rusage` (a struct of integers).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call to fill in.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// A row of the usual three-way table: this runtime's, tokio's and the third library's
/// times in ms, then runtime/tokio and runtime/best (over the better of the two others).
/// Returns runtime/best.
pub(crate) fn print_times(name: &str, [ours, tokio, other]: [Duration; 3]) -> f64 {
    let [ours, tokio, other] = [ours, tokio, other].map(ms);
    let best = ours / tokio.min(other);
    let times = [ours, tokio, other].map(|t| format!("{t:.1}"));
    let ratios = [ours / tokio, best].map(|r| format!("{r:.2}"));
    print_row(name, times.into_iter().chain(ratios));
    best
}

/// Milliseconds as a float, for tables.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// smol's executor run by `workers` threads, each blocked in `Executor::run` until drop.
pub(crate) struct Smol {
    pub(crate) ex: std::sync::Arc<async_executor::Executor<'static>>,
    /// Dropping it closes the channel every worker's `run` waits on.
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Smol {
    /// Starts `workers` threads; each calls `worker(executor, stop)` and should run the
    /// executor until `stop` closes (e.g. `block_on(ex.run(stop.recv()))`).
    pub(crate) fn start(
        workers: usize,
        worker: impl Fn(std::sync::Arc<async_executor::Executor<'static>>, async_channel::Receiver<()>)
            + Send
            + Sync
            + Clone
            + 'static,
    ) -> Smol {
        let ex = std::sync::Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..workers)
            .map(|i| {
                let (ex, stopped, worker) = (ex.clone(), stopped.clone(), worker.clone());
                std::thread::Builder::new()
                    .name(format!("smol-worker-{i}"))
                    .spawn(move || worker(ex, stopped))
                    .expect("spawn a smol worker")
            })
            .collect();
        Smol {
            ex,
            stop: Some(stop),
            threads,
        }
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        drop(self.stop.take());
        for thread in self.threads.drain(..) {
            thread.join().expect("a smol worker panicked");
        }
    }
}

/// How the cost of one unit of work grows with the size of the work: a row per size with each
/// column's cost per unit (and the first column over the second), then a `per decade` row:
/// (cost at the largest size / cost at the smallest)^(1 / decades between them). 1.00 means
/// the cost per unit stays flat as the work grows tenfold (total cost linear in the work);
/// 1.20 means each tenfold makes every unit 20 % dearer. `costs[column][size]`.
pub(crate) fn print_sweep(
    name: &str,
    unit: &str,
    sizes: &[usize],
    columns: &[&str],
    costs: &[Vec<f64>],
) {
    assert!(sizes.len() >= 2, "a sweep needs two sizes");
    assert!(
        columns.len() >= 2
            && costs.len() == columns.len()
            && costs.iter().all(|c| c.len() == sizes.len()),
        "a cost for every column at every size"
    );
    let header: Vec<String> = columns.iter().map(|c| format!("{c} {unit}")).collect();
    let ratio_name = format!("{}/{}", columns[0], columns[1]);
    print_row(
        name,
        header
            .iter()
            .map(String::as_str)
            .chain([ratio_name.as_str()]),
    );
    for (j, size) in sizes.iter().enumerate() {
        let cells = costs.iter().map(|c| format!("{:.2}", c[j]));
        let ratio = format!("{:.2}", costs[0][j] / costs[1][j]);
        print_row(&format!("  {}", count(*size)), cells.chain([ratio]));
    }
    let decades = (sizes[sizes.len() - 1] as f64 / sizes[0] as f64).log10();
    let slopes: Vec<f64> = costs
        .iter()
        .map(|c| (c[c.len() - 1] / c[0]).powf(1.0 / decades))
        .collect();
    let cells = slopes.iter().map(|s| format!("{s:.2}"));
    print_row(
        "  per decade",
        cells.chain([format!("{:.2}", slopes[0] / slopes[1])]),
    );
}

/// `16`, `256`, `4k`, `100k`, `1M`: sizes as a sweep's rows name them.
fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Raises this process's soft limit on open descriptors to its hard limit, for workloads that
/// hold thousands of sockets at once; returns the limit now in force.
pub(crate) fn raise_fd_limit() -> u64 {
    // SAFETY: all-zero bytes are a valid `rlimit` (two integers).
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is a valid, writable `rlimit` for the call to fill in.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid `rlimit`; raising the soft limit up to the hard one is allowed.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
    }
    lim.rlim_cur as u64
}
