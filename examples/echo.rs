//! An echo server with a connection limit, as gevent's `StreamServer(addr, handle,
//! spawn=Pool(n))`: every connection is a green task that sends back what it reads.
//!
//! ```text
//! cargo run --release --example echo -- --addr 127.0.0.1:7000 --max-conns 1000
//! nc 127.0.0.1 7000
//! ```
//!
//! The limit is a `Semaphore` with `--max-conns` permits (default 1000). The accept loop
//! takes a permit *before* accepting, and each connection gives its permit back when it
//! ends. So at the limit the server stops accepting, exactly like gevent's pool-backed
//! server: further clients wait in the kernel's listen backlog (their connect succeeds, but
//! nothing is echoed) and are served, in order, as earlier connections close. Nobody is
//! refused, and the server never holds more than `--max-conns` sockets open.
//!
//! On SIGINT or SIGTERM it stops accepting (the listener closes, so new clients are refused)
//! and lets the open connections echo on until their clients close them, for at most
//! `--grace SECONDS` (default 5); the rest are cut off. Then it prints a `shutdown: drained
//! …` line and exits 0; a second signal exits at once (130 for SIGINT). The shared logic is
//! `examples/support/shutdown.rs`.

use runtime::net::{TcpListener, TcpStream};
use runtime::sync::Semaphore;
use runtime::time::{sleep, Duration};
use shutdown::{Connections, GracefulShutdown};
use std::io::{self, Write};
use std::sync::Arc;

#[path = "support/shutdown.rs"]
mod shutdown;

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:7000");
    let mut max_conns = 1000;
    let mut grace = shutdown::DEFAULT_GRACE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--max-conns", Some(value)) if value.parse().is_ok_and(|n: usize| n > 0) => {
                max_conns = value.parse().expect("checked above");
            }
            ("--grace", Some(value)) if shutdown::parse_grace(&value).is_some() => {
                grace = shutdown::parse_grace(&value).expect("checked above");
            }
            _ => {
                eprintln!("usage: echo [--addr HOST:PORT] [--max-conns N] [--grace SECONDS]");
                std::process::exit(2);
            }
        }
    }

    // Before the address is printed: a SIGINT or SIGTERM from then on starts the drain.
    let shutdown = GracefulShutdown::listen(grace)?;
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let conns = shutdown.connections();
    shutdown.run(serve(listener, max_conns, conns)).await
}

/// Accepts connections until the future is dropped, at most `max_conns` open at a time,
/// each counted in `conns` while it is open.
async fn serve(listener: TcpListener, max_conns: usize, conns: Connections) {
    let limit = Arc::new(Semaphore::new(max_conns));
    loop {
        // Wait for a free slot first: while none is free, connections queue in the kernel.
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // `accept` waits out EMFILE and the like itself; anything else is rare (a
                // socket the reactor refused): log it and back off instead of spinning.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let conn = conns.track();
        runtime::spawn(async move {
            if let Err(e) = echo(stream).await {
                eprintln!("connection error: {e}");
            }
            drop(permit); // the slot frees when the connection is done
            drop(conn); // and so does its place in the shutdown's count
        });
    }
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the client closed its side
        }
        stream.write_all(&buf[..n]).await?;
    }
}
