//! The README's headline demo, `versus_threads`, run small: every measurement completes (the
//! children check every echoed byte), the table names each of them, and the JSON carries the
//! same figures.

mod support;

use support::example;

#[test]
fn versus_threads_quick_run_reports_every_measurement() {
    let dir = std::env::temp_dir().join(format!("versus_threads_{}", std::process::id()));
    let json_path = dir.join("figures.json");
    let json_arg = json_path.to_str().expect("a UTF-8 temp path");
    let stdout = example::stdout_of(
        "versus_threads",
        &[
            "--quick", "--jobs", "300", "--conns", "50", "--json", json_arg,
        ],
    );

    for line in [
        "300 IO jobs (5 round trips each): wall",
        "50 connections x 50 round trips",
        "one after another",
        "spawn_blocking",
        "OS threads",
        "inside async tasks (don't)",
    ] {
        assert!(stdout.contains(line), "table lacks {line:?}:\n{stdout}");
    }

    let json = std::fs::read_to_string(&json_path).expect("the JSON file was written");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(json.contains("\"jobs\": 300") && json.contains("\"connections\": 50"));
    for step in [
        "io-green",
        "io-threads",
        "conns-green",
        "conns-threads",
        "cpu-sequential",
        "cpu-blocking",
        "cpu-threads",
        "cpu-async",
    ] {
        let row = json
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("\"{step}\":")))
            .unwrap_or_else(|| panic!("no {step} in the JSON:\n{json}"));
        for key in ["wall_s", "cpu_s", "peak_rss_mib"] {
            let value: f64 = row
                .split(&format!("\"{key}\": "))
                .nth(1)
                .and_then(|rest| rest.split([',', '}']).next())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{step} has no {key}: {row}"));
            assert!(value > 0.0, "{step} {key} = {value}");
        }
    }
}

#[test]
fn top_shows_metrics_and_ranks_the_busiest_tasks_by_name() {
    let stdout = example::stdout_of("top", &["--seconds", "2"]);
    let frames: Vec<&str> = stdout.split("\n--- ").skip(1).collect();
    assert!(!frames.is_empty(), "no frame printed:\n{stdout}");
    let frame = frames.last().unwrap();
    assert!(frame.contains("tasks 44 alive"), "{frame}");
    // The hashers hold the workers for tens of microseconds a poll, the chatters for well under
    // one: a hasher tops the list. Which hasher depends on which worker each landed on (busy
    // workers do not steal), so the test does not name one.
    let rows: Vec<&str> = frame.lines().skip(2).collect();
    let first_row = rows.first().copied().unwrap_or_default();
    assert!(first_row.contains("hasher-"), "{frame}");
    assert!(first_row.contains("examples/top.rs:"), "{frame}");
    // The rows are ranked: worker% never rises going down the list.
    let shares: Vec<f64> = rows
        .iter()
        .filter_map(|row| {
            row.split_whitespace()
                .nth(2)?
                .strip_suffix('%')?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(
        shares.len(),
        rows.len(),
        "a row without a worker%:\n{frame}"
    );
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{frame}");
}
