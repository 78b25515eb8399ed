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

use runtime::net::{TcpListener, TcpStream};
use runtime::sync::Semaphore;
use runtime::time::{sleep, Duration};
use std::io::{self, Write};
use std::sync::Arc;

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:7000");
    let mut max_conns = 1000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--max-conns", Some(value)) if value.parse().is_ok_and(|n: usize| n > 0) => {
                max_conns = value.parse().expect("checked above");
            }
            _ => {
                eprintln!("usage: echo [--addr HOST:PORT] [--max-conns N]");
                std::process::exit(2);
            }
        }
    }

    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;

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
                // Out of file descriptors, most likely: back off instead of spinning.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        runtime::spawn(async move {
            if let Err(e) = echo(stream).await {
                eprintln!("connection error: {e}");
            }
            drop(permit); // the slot frees when the connection is done
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
