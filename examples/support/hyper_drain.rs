//! The hyper examples' connection drain, shared by `hyper_server`, `axum_server` and
//! `tls_server`.

use crate::shutdown::Conn;
use futures::future::{select, Either};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1::Connection;
use hyper::service::HttpService;
use std::error::Error;
use std::pin::pin;
use std::time::Duration;

/// Serves the connection until it ends, or until shutdown begins; then hyper's own drain
/// ends it: an idle connection closes at once, a request under way is answered with
/// `connection: close`. The connection counts as in flight (`conn`) until that is done.
pub(crate) async fn serve<I, S, B>(served: Connection<I, S>, conn: &Conn) -> hyper::Result<()>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let mut served = pin!(served);
    if let Either::Left((done, _)) = select(served.as_mut(), pin!(conn.stopping())).await {
        return done;
    }
    // A request already sent counts as under way only once hyper has read some of it: keep
    // serving until a timer 1 ms out fires (only after the reactor has polled the sockets
    // again), so what has arrived is read before hyper decides the connection is idle.
    let settle = pin!(runtime::time::sleep(Duration::from_millis(1)));
    if let Either::Left((done, _)) = select(served.as_mut(), settle).await {
        return done;
    }
    served.as_mut().graceful_shutdown();
    served.await
}
