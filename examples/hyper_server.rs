//! A hyper 1 HTTP/1.1 server on this runtime: `GET /` answers "Hello, world!", anything
//! else is a 404. Connections are kept alive between requests (hyper's default), and a
//! client that opens a connection but sends no request head is dropped after 10 s.
//!
//! hyper brings the HTTP; `runtime::compat::hyper` brings the IO (`HyperIo` over our
//! `TcpStream`) and the timer hyper's timeouts run on (`HyperTimer`).
//!
//! On SIGINT or SIGTERM it stops accepting (the listener closes, so new clients are refused)
//! and asks each connection for hyper's `graceful_shutdown`: an idle one closes at once, one
//! with a request under way (bytes of it already sent count) answers it, then closes.
//! Connections still open after `--grace SECONDS` (default 5) are cut off; then it prints a
//! `shutdown: drained …` line and exits 0. A second signal exits at once (130 for SIGINT).
//! The shared logic is `examples/support/shutdown.rs` and `examples/support/hyper_drain.rs`.
//!
//! ```text
//! cargo run --release --features hyper --example hyper_server -- --addr 127.0.0.1:3000
//! curl http://127.0.0.1:3000/
//! ```

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::compat::hyper::{HyperIo, HyperTimer};
use runtime::net::{TcpListener, TcpStream};
use shutdown::{Conn, Connections, GracefulShutdown};
use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

#[path = "support/shutdown.rs"]
mod shutdown;

#[path = "support/hyper_drain.rs"]
mod hyper_drain;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(Full::new(Bytes::from_static(b"Hello, world!\n"))),
        _ => {
            let mut not_found = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *not_found.status_mut() = StatusCode::NOT_FOUND;
            not_found
        }
    };
    Ok(response)
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let (addr, grace) = shutdown::addr_and_grace("hyper_server", "127.0.0.1:3000");
    // Before the address is printed: a SIGINT or SIGTERM from then on starts the drain.
    let shutdown = GracefulShutdown::listen(grace)?;
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let conns = shutdown.connections();
    shutdown.run(serve(listener, conns)).await
}

/// Accepts connections until the future is dropped, each counted in `conns` while it is
/// open.
async fn serve(listener: TcpListener, conns: Connections) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of file descriptors, a connection reset before accept...: keep serving.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let conn = conns.track();
        runtime::spawn(async move {
            if let Err(e) = connection(stream, conn).await {
                // A client going away mid-request is routine; say so on stderr only.
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn connection(stream: TcpStream, conn: Conn) -> Result<(), hyper::Error> {
    // Small responses go out at once instead of waiting on Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let served = http1::Builder::new()
        .timer(HyperTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(HyperIo::new(stream), service_fn(hello));
    hyper_drain::serve(served, &conn).await
}
