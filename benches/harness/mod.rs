//! What every benchmark binary shares: command-line options, medians and table rows.
//!
//! Included by each bench with `#[path = "harness/mod.rs"] mod harness;`; each uses a part
//! of it, hence the `dead_code` allowance.

#![allow(dead_code)]

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

/// Milliseconds as a float, for tables.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
