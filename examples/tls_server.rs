//! HTTPS on this runtime: hyper 1 over futures-rustls over our `TcpStream`. `GET /` answers
//! "Hello over TLS!", anything else is a 404; HTTP/1.1 with keep-alive, negotiated by ALPN.
//!
//! The certificate comes from `--cert FILE --key FILE` (PEM: the chain, then a PKCS#8,
//! PKCS#1 or SEC1 key) or, by default, is a self-signed one for `localhost` and `127.0.0.1`
//! made at start with rcgen (so clients need `curl --insecure` or `openssl s_client`'s
//! default of not verifying). Cryptography is rustls' `ring` provider.
//!
//! futures-rustls wraps any futures-io stream, so the TLS stream is futures-io too and
//! `runtime::compat::hyper::HyperIo` hands it to hyper like a plain socket. A client that
//! doesn't finish its TLS handshake within 10 s is dropped.
//!
//! On SIGINT or SIGTERM it stops accepting and asks each connection for hyper's
//! `graceful_shutdown` (as `hyper_server` does); a connection still in its TLS handshake
//! closes at once. What is left after `--grace SECONDS` (default 5) is cut off; it prints a
//! `shutdown: drained …` line and exits 0.
//!
//! ```text
//! cargo run --release --features hyper --example tls_server -- --addr 127.0.0.1:8443
//! curl --insecure https://127.0.0.1:8443/
//! openssl s_client -connect 127.0.0.1:8443 -brief </dev/null
//! ```

use futures::future::{select, Either};
use futures_rustls::TlsAcceptor;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::compat::hyper::{HyperIo, HyperTimer};
use runtime::net::{TcpListener, TcpStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use shutdown::{Conn, Connections, GracefulShutdown};
use std::convert::Infallible;
use std::io::{self, Write};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

#[path = "support/shutdown.rs"]
mod shutdown;

#[path = "support/hyper_drain.rs"]
mod hyper_drain;

/// How long a new connection may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(Full::new(Bytes::from_static(b"Hello over TLS!\n"))),
        _ => {
            let mut not_found = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *not_found.status_mut() = StatusCode::NOT_FOUND;
            not_found
        }
    };
    Ok(response)
}

struct Args {
    addr: String,
    grace: Duration,
    cert: Option<(PathBuf, PathBuf)>,
}

#[runtime::main]
async fn main() -> io::Result<()> {
    let args = parse_args();
    let (config, origin) = tls_config(args.cert.as_ref())?;
    let shutdown = GracefulShutdown::listen(args.grace)?;
    let listener = TcpListener::bind(args.addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    // After the address: scripts and tests take the first line printed for it.
    eprintln!("certificate: {origin}");
    let conns = shutdown.connections();
    shutdown
        .run(serve(listener, TlsAcceptor::from(Arc::new(config)), conns))
        .await
}

/// The server's TLS configuration: ring's provider, TLS 1.2 and 1.3, ALPN `http/1.1`, and the
/// certificate from `cert` (chain and key files) or a self-signed one.
///
/// Also says where the certificate came from, for the log.
fn tls_config(cert: Option<&(PathBuf, PathBuf)>) -> io::Result<(ServerConfig, &'static str)> {
    let (chain, key, origin) = match cert {
        Some((chain, key)) => {
            let chain = CertificateDer::pem_file_iter(chain)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| invalid(format!("--cert {}: {e}", chain.display())))?;
            if chain.is_empty() {
                return Err(invalid("--cert: no certificate in the file".into()));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| invalid(format!("--key {}: {e}", key.display())))?;
            (chain, key, "from the files given")
        }
        None => {
            let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            let made = rcgen::generate_simple_self_signed(names)
                .map_err(|e| invalid(format!("making a certificate: {e}")))?;
            let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
            let chain = vec![made.cert.der().clone()];
            (chain, key.into(), "self-signed for localhost and 127.0.0.1")
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, origin))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, conns: Connections) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let conn = conns.track();
        let acceptor = acceptor.clone();
        runtime::spawn(async move {
            if let Err(e) = connection(stream, acceptor, conn).await {
                // A client that rejects the certificate or goes away is routine.
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    conn: Conn,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let _ = stream.set_nodelay(true);
    let handshake = runtime::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let tls = match select(pin!(handshake), pin!(conn.stopping())).await {
        Either::Left((Ok(tls), _)) => tls?,
        Either::Left((Err(_elapsed), _)) => return Err("TLS handshake timed out".into()),
        Either::Right(_) => return Ok(()),
    };
    let served = http1::Builder::new()
        .timer(HyperTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(HyperIo::new(tls), service_fn(hello));
    hyper_drain::serve(served, &conn).await?;
    Ok(())
}

/// `--addr HOST:PORT` (default 127.0.0.1:8443), `--grace SECONDS` (default 5), and
/// `--cert FILE --key FILE` (both or neither).
fn parse_args() -> Args {
    const USAGE: &str =
        "usage: tls_server [--addr HOST:PORT] [--grace SECONDS] [--cert CHAIN.pem --key KEY.pem]";
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:8443");
    let mut grace = shutdown::DEFAULT_GRACE;
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect(USAGE),
            "--grace" => {
                let value = args.next().expect(USAGE);
                grace = shutdown::parse_grace(&value).expect(USAGE);
            }
            "--cert" => cert = Some(PathBuf::from(args.next().expect(USAGE))),
            "--key" => key = Some(PathBuf::from(args.next().expect(USAGE))),
            _ => panic!("unknown argument {arg:?}; {USAGE}"),
        }
    }
    let cert = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => panic!("--cert and --key go together; {USAGE}"),
    };
    Args { addr, grace, cert }
}
