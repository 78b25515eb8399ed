//! A load client for the `chat` example: `--clients` clients join the lobby, each says
//! `--lines` lines, and every client reads until it has seen every line the others said.
//! It prints the fan-out rate (lines delivered per second) and exits 1 as soon as a client
//! is disconnected (the server drops one whose outbox overflows: keep `clients * burst`
//! under its 256 lines).
//!
//! ```text
//! cargo run --release --example chat -- --addr 127.0.0.1:7001 &
//! cargo run --release --example chat_load -- --addr 127.0.0.1:7001 --clients 64 --lines 200
//! ```
//!
//! Plain OS threads and blocking sockets, so the client's own runtime is not what is
//! measured. Each client sends in bursts of `--burst` lines and waits until it has read its
//! share of the traffic before the next burst, so no client falls far behind (the server
//! disconnects one that lags by a whole outbox).

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    clients: usize,
    lines: usize,
    burst: usize,
}

fn parse() -> Args {
    let mut parsed = Args {
        addr: "127.0.0.1:7001".into(),
        clients: 32,
        lines: 200,
        burst: 8,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let number = || {
            value
                .as_deref()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&n| n > 0)
        };
        match arg.as_str() {
            "--addr" if value.is_some() => parsed.addr = value.clone().expect("checked"),
            "--clients" if number().is_some() => parsed.clients = number().expect("checked"),
            "--lines" if number().is_some() => parsed.lines = number().expect("checked"),
            "--burst" if number().is_some() => parsed.burst = number().expect("checked"),
            _ => {
                eprintln!(
                    "usage: chat_load [--addr HOST:PORT] [--clients N] [--lines N] [--burst N]"
                );
                std::process::exit(2);
            }
        }
    }
    parsed
}

fn main() -> io::Result<()> {
    let args = parse();
    let Args {
        clients,
        lines,
        burst,
        ..
    } = args;
    // Everyone connected and in the lobby before anyone speaks; then again at the end, so
    // nobody quits while another still expects its lines.
    let joined = Arc::new(Barrier::new(clients + 1));
    let done = Arc::new(Barrier::new(clients + 1));
    let mut workers = Vec::new();
    for n in 0..clients {
        let stream = TcpStream::connect(&args.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        let (joined, done) = (joined.clone(), done.clone());
        workers.push(thread::spawn(move || {
            // A lost client would leave the others waiting at the barrier: end the run.
            if let Err(e) = client(n, stream, clients, lines, burst, &joined, &done) {
                eprintln!("chat_load: client {n}: {e}");
                std::process::exit(1);
            }
        }));
    }
    joined.wait();
    let start = Instant::now();
    done.wait();
    let elapsed = start.elapsed();
    for worker in workers {
        worker.join().expect("client thread");
    }
    let delivered = (clients * (clients - 1) * lines) as f64;
    println!(
        "clients {clients} lines {lines}: {delivered} lines delivered in {:.1} ms, {:.0} k lines/s",
        elapsed.as_secs_f64() * 1e3,
        delivered / elapsed.as_secs_f64() / 1e3
    );
    Ok(())
}

/// One client: waits for its welcome and for every other client's join notice, says its
/// lines in bursts, and reads until it has every line the others said.
fn client(
    n: usize,
    stream: TcpStream,
    clients: usize,
    lines: usize,
    burst: usize,
    joined: &Barrier,
    done: &Barrier,
) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut read_line = |line: &mut String| -> io::Result<()> {
        line.clear();
        if reader.read_line(line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "disconnected"));
        }
        if line.contains("was disconnected (too slow)") {
            // Another client was dropped: the run is void.
            return Err(io::Error::other(format!(
                "client {n} saw: {}",
                line.trim_end()
            )));
        }
        Ok(())
    };
    read_line(&mut line)?; // the welcome
                           // Lobby membership is settled once every client passed the barrier and the joins they
                           // caused were read; count ourselves out of the notices that follow.
    joined.wait();
    let expected = (clients - 1) * lines;
    let mut said = 0;
    let mut heard = 0;
    let mut out = Vec::new();
    while said < lines || heard < expected {
        if said < lines {
            out.clear();
            let count = burst.min(lines - said);
            for i in said..said + count {
                writeln!(out, "line {i} from {n}")?;
            }
            writer.write_all(&out)?;
            said += count;
        }
        // Read the others' share of this burst (or the rest, once done saying).
        let target = if said < lines {
            (expected * said / lines).min(expected)
        } else {
            expected
        };
        while heard < target {
            read_line(&mut line)?;
            if line.starts_with("guest-") && line.contains(": line ") {
                heard += 1;
            }
        }
    }
    done.wait();
    writer.write_all(b"/quit\n")?;
    Ok(())
}
