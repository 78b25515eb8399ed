//! Load generators nobody here wrote, run as child processes: `wrk` for HTTP and
//! `redis-benchmark` for RESP. Loopback only; every run is bounded in time or count.

use std::process::Command;

/// Whether `tool` is on the PATH; benches that need it print a skip line when it is not.
pub(crate) fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// What one `wrk` run reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WrkReport {
    /// `Requests/sec:`.
    pub(crate) requests_per_sec: f64,
    /// Total requests completed.
    pub(crate) requests: u64,
    /// `Non-2xx or 3xx responses:` (0 when wrk prints no such line).
    pub(crate) non_2xx: u64,
    /// Sum of the `Socket errors:` counts (0 when wrk prints no such line).
    pub(crate) socket_errors: u64,
}

/// Runs `wrk -t{threads} -c{connections} -d{secs}s URL` and parses its report.
///
/// # Panics
///
/// If wrk cannot be started or prints no `Requests/sec:` line.
pub(crate) fn wrk(url: &str, threads: u32, connections: u32, secs: u32) -> WrkReport {
    let out = Command::new("timeout")
        .arg(format!("{}", secs + 30))
        .arg("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg(url)
        .output()
        .expect("running wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let requests_per_sec = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("wrk printed no Requests/sec:\n{text}"));
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let non_2xx = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // "Socket errors: connect 0, read 0, write 0, timeout 0"
    let socket_errors = field("Socket errors:").map_or(0, |v| {
        v.split([',', ' '])
            .filter_map(|w| w.parse::<u64>().ok())
            .sum()
    });
    WrkReport {
        requests_per_sec,
        requests,
        non_2xx,
        socket_errors,
    }
}

/// Runs `redis-benchmark -p PORT -t TESTS -n N -c C -P P --csv` and returns each test's
/// name and requests per second, in the order it printed them.
///
/// # Panics
///
/// If redis-benchmark cannot be started, reports an error, or prints no figures.
pub(crate) fn redis_benchmark(
    port: u16,
    tests: &str,
    requests: u32,
    clients: u32,
    pipeline: u32,
) -> Vec<(String, f64)> {
    let out = Command::new("timeout")
        .arg("120")
        .arg("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-t", tests])
        .args(["-n", &requests.to_string()])
        .args(["-c", &clients.to_string()])
        .args(["-P", &pipeline.to_string()])
        .arg("--csv")
        .output()
        .expect("running redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !text.contains("ERR") && !errors.contains("rror"),
        "redis-benchmark failed ({}):\n{text}\n{errors}",
        out.status
    );
    let rows: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| {
            let mut cols = l.split(',').map(|c| c.trim_matches('"'));
            let name = cols.next()?.to_owned();
            let rps = cols.next()?.parse().ok()?;
            Some((name, rps))
        })
        .collect();
    assert!(
        !rows.is_empty(),
        "redis-benchmark printed no figures:\n{text}"
    );
    rows
}
