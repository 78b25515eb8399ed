//! An axum app on this runtime: an `axum::Router` served by hyper through
//! `runtime::compat::hyper`, with no tokio runtime anywhere.
//!
//! - `GET /` answers "Hello from axum!" as text;
//! - `GET /users/{id}` answers `{"id":7,"name":"user 7"}` (a path parameter; one that is not a
//!   number is axum's 400);
//! - `POST /greet` takes `{"name":"Ada","times":2}` and answers
//!   `{"greeting":"Hello, Ada! Hello, Ada!","length":23}` (JSON in and out through
//!   `axum::Json`; a body that is not that JSON is axum's 400 or 422, a missing
//!   `content-type: application/json` its 415);
//! - anything else is a 404 from the router's fallback.
//!
//! axum's `Router` is a tower `Service`; hyper-util's `TowerToHyperService` makes it a hyper
//! service, and hyper serves it over `HyperIo` (our `TcpStream`) with `HyperTimer` for its
//! timeouts. `axum::serve` is not used: it is written on tokio's listener and runtime.
//!
//! On SIGINT or SIGTERM it stops accepting and asks each connection for hyper's
//! `graceful_shutdown`, as `hyper_server` does: an idle connection closes at once, a request
//! under way is answered, then the connection closes. Connections still open after `--grace
//! SECONDS` (default 5) are cut off; it prints a `shutdown: drained …` line and exits 0.
//!
//! ```text
//! cargo run --release --features hyper --example axum_server -- --addr 127.0.0.1:3001
//! curl http://127.0.0.1:3001/users/7
//! curl -H 'content-type: application/json' -d '{"name":"Ada","times":2}' http://127.0.0.1:3001/greet
//! ```

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::service::TowerToHyperService;
use runtime::compat::hyper::{HyperIo, HyperTimer};
use runtime::net::{TcpListener, TcpStream};
use serde::{Deserialize, Serialize};
use shutdown::{Conn, Connections, GracefulShutdown};
use std::io::Write;
use std::time::Duration;

#[path = "support/shutdown.rs"]
mod shutdown;

#[path = "support/hyper_drain.rs"]
mod hyper_drain;

#[derive(Serialize)]
struct User {
    id: u32,
    name: String,
}

#[derive(Deserialize)]
struct Greet {
    name: String,
    times: u8,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
    length: usize,
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum!\n" }))
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move {
                Json(User {
                    id,
                    name: format!("user {id}"),
                })
            }),
        )
        .route(
            "/greet",
            post(|Json(greet): Json<Greet>| async move {
                let one = format!("Hello, {}!", greet.name);
                let greeting = vec![one; usize::from(greet.times)].join(" ");
                let length = greeting.chars().count();
                Json(Greeting { greeting, length })
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let (addr, grace) = shutdown::addr_and_grace("axum_server", "127.0.0.1:3001");
    // Before the address is printed: a SIGINT or SIGTERM from then on starts the drain.
    let shutdown = GracefulShutdown::listen(grace)?;
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let conns = shutdown.connections();
    shutdown.run(serve(listener, app(), conns)).await
}

/// Accepts connections until the future is dropped, each counted in `conns` while it is
/// open.
async fn serve(listener: TcpListener, app: Router, conns: Connections) {
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
        let app = app.clone();
        runtime::spawn(async move {
            if let Err(e) = connection(stream, app, conn).await {
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn connection(stream: TcpStream, app: Router, conn: Conn) -> Result<(), hyper::Error> {
    let _ = stream.set_nodelay(true);
    let served = http1::Builder::new()
        .timer(HyperTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(HyperIo::new(stream), TowerToHyperService::new(app));
    hyper_drain::serve(served, &conn).await
}
