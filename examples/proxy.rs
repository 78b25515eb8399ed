//! A TCP proxy: every client connection is forwarded to `--to HOST:PORT`, bytes copied both
//! ways by `runtime::io::copy_bidirectional` in one green task per connection.
//!
//! ```text
//! cargo run --release --example http -- --addr 127.0.0.1:8080 &
//! cargo run --release --example proxy -- --addr 127.0.0.1:7002 --to 127.0.0.1:8080
//! curl http://127.0.0.1:7002/
//! ```
//!
//! When one side closes its write direction, the proxy closes the same direction toward the
//! other side (a half-close passes through), and the connection ends once both directions
//! are done.
//!
//! On SIGINT or SIGTERM it stops accepting (the listener closes, so new clients are refused)
//! and lets the open connections run until they end, for at most `--grace SECONDS` (default
//! 5); the rest are cut off. Then it prints a `shutdown: drained …` line and exits 0; a
//! second signal exits at once (130 for SIGINT). The shared logic is
//! `examples/support/shutdown.rs`.

use runtime::net::{TcpListener, TcpStream};
use runtime::time::{sleep, Duration};
use shutdown::{Connections, GracefulShutdown};
use std::io::{self, Write};

#[path = "support/shutdown.rs"]
mod shutdown;

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:7002");
    let mut upstream = String::from("127.0.0.1:8080");
    let mut grace = shutdown::DEFAULT_GRACE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--to", Some(value)) => upstream = value,
            ("--grace", Some(value)) if shutdown::parse_grace(&value).is_some() => {
                grace = shutdown::parse_grace(&value).expect("checked above");
            }
            _ => {
                eprintln!("usage: proxy [--addr HOST:PORT] [--to HOST:PORT] [--grace SECONDS]");
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
    shutdown.run(serve(listener, upstream, conns)).await
}

/// Accepts connections until the future is dropped, each forwarded to `upstream` and
/// counted in `conns` while it is open.
async fn serve(listener: TcpListener, upstream: String, conns: Connections) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // `accept` waits out EMFILE and the like itself; anything else is rare (a
                // socket the reactor refused): log it and back off instead of spinning.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let upstream = upstream.clone();
        let conn = conns.track();
        runtime::spawn(async move {
            if let Err(e) = forward(client, &upstream).await {
                eprintln!("{peer} -> {upstream}: {e}");
            }
            drop(conn); // counted as drained once both directions are done
        });
    }
}

async fn forward(mut client: TcpStream, upstream: &str) -> io::Result<()> {
    // If the upstream is down, dropping `client` closes it: the client sees the refusal
    // as an immediate end of stream.
    let mut server = TcpStream::connect(upstream).await?;
    // Forward small writes as they come: the endpoints did their own batching.
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    runtime::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
