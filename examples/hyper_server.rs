//! A hyper 1 HTTP/1.1 server on this runtime: `GET /` answers "Hello, world!", anything
//! else is a 404. Connections are kept alive between requests (hyper's default), and a
//! client that opens a connection but sends no request head is dropped after 10 s.
//!
//! hyper brings the HTTP; `runtime::compat::hyper` brings the IO (`HyperIo` over our
//! `TcpStream`) and the timer hyper's timeouts run on (`HyperTimer`).
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
use runtime::net::TcpListener;
use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

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
    let addr = parse_addr();
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;

    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of file descriptors, a connection reset before accept...: keep serving.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        // Small responses go out at once instead of waiting on Nagle's algorithm.
        stream.set_nodelay(true)?;
        runtime::spawn(async move {
            let served = http1::Builder::new()
                .timer(HyperTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(HyperIo::new(stream), service_fn(hello))
                .await;
            if let Err(e) = served {
                // A client going away mid-request is routine; say so on stderr only.
                eprintln!("connection: {e}");
            }
        });
    }
}

/// `--addr HOST:PORT`, default 127.0.0.1:3000.
fn parse_addr() -> String {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("usage: hyper_server [--addr HOST:PORT]"),
            _ => panic!("unknown argument {arg:?}; usage: hyper_server [--addr HOST:PORT]"),
        }
    }
    addr
}
