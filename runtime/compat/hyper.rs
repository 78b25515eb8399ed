//! hyper 1.x on this runtime: hyper leaves spawning, timers and IO to its caller through
//! the traits in [`hyper::rt`], and these adapters implement them.
//!
//! - [`HyperExecutor`]: [`hyper::rt::Executor`], spawning hyper's background futures
//!   (HTTP/2 streams, pooled client connections) as tasks.
//! - [`HyperTimer`]: [`hyper::rt::Timer`], backed by [`time::Sleep`](crate::time::Sleep), so
//!   `header_read_timeout`, keep-alive timers and friends work.
//! - [`HyperIo`]: [`hyper::rt::Read`] + [`hyper::rt::Write`] over any
//!   [`futures_io::AsyncRead`] + [`futures_io::AsyncWrite`] stream, such as
//!   [`TcpStream`](crate::net::TcpStream) or [`UnixStream`](crate::net::UnixStream); and the
//!   reverse, futures-io over hyper's IO (an upgraded connection, say).
//!
//! A server and a client, one request over a keep-alive connection:
//!
//! ```
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{service::service_fn, Request, Response};
//! use runtime::compat::hyper::{HyperIo, HyperTimer};
//! use runtime::net::{TcpListener, TcpStream};
//! use std::convert::Infallible;
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("hello"))))
//! }
//!
//! #[runtime::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     runtime::spawn(async move {
//!         while let Ok((stream, _)) = listener.accept().await {
//!             // One task per connection; the timer drives hyper's header-read timeout.
//!             runtime::spawn(
//!                 hyper::server::conn::http1::Builder::new()
//!                     .timer(HyperTimer::new())
//!                     .serve_connection(HyperIo::new(stream), service_fn(hello)),
//!             );
//!         }
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream)).await?;
//!     runtime::spawn(conn);
//!     let request = Request::get("/").header("host", "localhost").body(Empty::<Bytes>::new())?;
//!     let response = sender.send_request(request).await?;
//!     assert_eq!(response.status(), 200);
//!     assert_eq!(response.into_body().collect().await?.to_bytes(), "hello");
//!     Ok(())
//! }
//! ```

use crate::Handle;
use futures_io::{AsyncRead, AsyncWrite};
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

// ===== impl HyperExecutor =====

/// [`hyper::rt::Executor`] for this runtime: each future hyper hands over becomes a task.
///
/// [`HyperExecutor::new`] spawns on whichever runtime is current when hyper calls it (hyper
/// does so from inside the connection it is driving); [`HyperExecutor::with_handle`] always
/// spawns on the given runtime, so it works from any thread.
///
/// ```
/// use hyper::rt::Executor;
/// use runtime::compat::hyper::HyperExecutor;
///
/// let rt = runtime::Runtime::new().unwrap();
/// let executor = HyperExecutor::with_handle(rt.handle().clone());
/// let (tx, rx) = runtime::sync::oneshot::channel();
/// executor.execute(async move {
///     tx.send(42).unwrap();
/// });
/// assert_eq!(rt.block_on(rx), Ok(42));
/// ```
#[derive(Clone, Debug, Default)]
pub struct HyperExecutor {
    handle: Option<Handle>,
}

impl HyperExecutor {
    /// An executor that spawns on the runtime current at each
    /// [`execute`](hyper::rt::Executor::execute).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hyper::rt::Executor;
    /// let (tx, rx) = runtime::sync::oneshot::channel();
    /// runtime::compat::hyper::HyperExecutor::new().execute(async move { tx.send(1).unwrap() });
    /// assert_eq!(rx.await, Ok(1));
    /// # }
    /// ```
    pub fn new() -> HyperExecutor {
        HyperExecutor { handle: None }
    }

    /// An executor that always spawns on `handle`'s runtime, whatever thread calls it.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let executor = runtime::compat::hyper::HyperExecutor::with_handle(rt.handle().clone());
    /// # drop(executor);
    /// ```
    pub fn with_handle(handle: Handle) -> HyperExecutor {
        HyperExecutor {
            handle: Some(handle),
        }
    }
}

impl<F> hyper::rt::Executor<F> for HyperExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Spawns `future` as a detached task.
    ///
    /// # Panics
    ///
    /// For an executor made by [`HyperExecutor::new`], when no runtime is current.
    #[track_caller]
    fn execute(&self, future: F) {
        // Dropping the join handle detaches the task: hyper never waits on it.
        match &self.handle {
            Some(handle) => drop(handle.spawn(future)),
            None => drop(crate::spawn(future)),
        }
    }
}

// ===== impl HyperTimer =====

/// [`hyper::rt::Timer`] backed by this runtime's timers ([`time::Sleep`](crate::time::Sleep)),
/// for hyper's `header_read_timeout`, keep-alive and pool timers.
///
/// [`HyperTimer::new`] uses the runtime current when hyper asks for a sleep (hyper does so
/// while a task polls it); [`HyperTimer::with_handle`] always uses the given runtime.
/// `reset` moves the existing timer instead of allocating a new one.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use hyper::rt::Timer;
/// use std::time::Duration;
/// let timer = runtime::compat::hyper::HyperTimer::new();
/// timer.sleep(Duration::from_millis(1)).await;
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct HyperTimer {
    handle: Option<Handle>,
}

impl HyperTimer {
    /// A timer on the runtime current when each sleep is made.
    ///
    /// ```
    /// let mut builder = hyper::server::conn::http1::Builder::new();
    /// builder
    ///     .timer(runtime::compat::hyper::HyperTimer::new())
    ///     .header_read_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn new() -> HyperTimer {
        HyperTimer { handle: None }
    }

    /// A timer on `handle`'s runtime, whatever thread makes the sleep.
    ///
    /// ```
    /// use hyper::rt::Timer;
    /// let rt = runtime::Runtime::new().unwrap();
    /// let timer = runtime::compat::hyper::HyperTimer::with_handle(rt.handle().clone());
    /// // Made outside any runtime; the runtime's driver still fires it.
    /// let sleep = timer.sleep(std::time::Duration::from_millis(1));
    /// rt.block_on(sleep);
    /// ```
    pub fn with_handle(handle: Handle) -> HyperTimer {
        HyperTimer {
            handle: Some(handle),
        }
    }

    fn make(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let _enter = self.handle.as_ref().map(Handle::enter);
        Box::pin(crate::time::sleep_until(on_runtime_clock(deadline)))
    }
}

/// Hyper's deadlines are std instants, measured from std's clock; the runtime's clock may
/// be paused or shifted (`time::pause`), so keep the time left rather than the instant.
/// An unpaused runtime's clock is std's, so the deadline is kept as it is.
fn on_runtime_clock(deadline: Instant) -> crate::time::Instant {
    if !crate::time::clock::is_virtual() {
        return crate::time::Instant::from_std(deadline);
    }
    let std_now = Instant::now();
    let now = crate::time::Instant::now();
    match deadline.checked_duration_since(std_now) {
        Some(left) => now
            .checked_add(left)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30)),
        None => now,
    }
}

impl hyper::rt::Timer for HyperTimer {
    /// # Panics
    ///
    /// For a timer made by [`HyperTimer::new`], when no runtime is current.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let _enter = self.handle.as_ref().map(Handle::enter);
        // On the runtime's clock; a duration too long for an `Instant` saturates.
        Box::pin(crate::time::sleep(duration))
    }

    /// # Panics
    ///
    /// For a timer made by [`HyperTimer::new`], when no runtime is current.
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.make(deadline)
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<crate::time::Sleep>() {
            Some(ours) => {
                let _enter = self.handle.as_ref().map(Handle::enter);
                ours.reset(on_runtime_clock(new_deadline));
            }
            None => *sleep = self.make(new_deadline),
        }
    }
}

impl hyper::rt::Sleep for crate::time::Sleep {}

// ===== impl HyperIo =====

/// The most one read asks the stream for: the size of each thread's scratch buffer.
const READ_CHUNK: usize = 64 * 1024;

thread_local! {
    /// Where [`HyperIo`] reads before copying into hyper's buffer, one per thread, zeroed
    /// once when made.
    ///
    /// futures-io readers want initialised memory and hyper's read buffer may not be, so the
    /// alternative is zeroing hyper's buffer before every read; that costs more than the
    /// copy does: a read that finds nothing (every keep-alive connection between requests)
    /// copies nothing, and one that finds a request copies only its bytes. Empty (`None`)
    /// while a read on this thread has it out; a read nested inside that one (a `HyperIo`
    /// over a stream that is itself built on a `HyperIo`, like TLS in an upgraded
    /// connection) uses a buffer of its own. The buffer holds whatever an earlier read on
    /// this thread left in it, so it relies on futures-io's contract that a reader reports
    /// only bytes it wrote (`n` beyond the slice it was given is caught and panics).
    static SCRATCH: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// A stream for hyper: [`hyper::rt::Read`] + [`hyper::rt::Write`] over any
/// [`futures_io::AsyncRead`] + [`futures_io::AsyncWrite`] (this runtime's
/// [`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream), their
/// halves, or anything else in the futures-io ecosystem).
///
/// It also works the other way: over a type implementing hyper's traits (such as
/// `hyper::upgrade::Upgraded`), `HyperIo` implements futures-io's, so
/// [`runtime::io::copy`](crate::io::copy) and friends can use it.
///
/// ```no_run
/// # #[runtime::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use runtime::compat::hyper::HyperIo;
/// let stream = runtime::net::TcpStream::connect("127.0.0.1:8080").await?;
/// let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(HyperIo::new(stream)).await?;
/// runtime::spawn(conn);
/// let response = sender
///     .send_request(hyper::Request::get("/").header("host", "localhost").body(String::new())?)
///     .await?;
/// println!("{}", response.status());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::UnixStream::pair()?;
    /// let io = runtime::compat::hyper::HyperIo::new(a);
    /// # drop(io);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner }
    }

    /// The wrapped stream.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::UnixStream::pair()?;
    /// let io = runtime::compat::hyper::HyperIo::new(a);
    /// assert!(io.get_ref().peer_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, mut b) = runtime::net::UnixStream::pair()?;
    /// let mut io = runtime::compat::hyper::HyperIo::new(a);
    /// io.get_mut().write_all(b"hi").await?;
    /// let mut buf = [0; 2];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped stream, pinned.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::UnixStream::pair()?;
    /// let mut io = std::pin::pin!(runtime::compat::hyper::HyperIo::new(a));
    /// let stream: std::pin::Pin<&mut runtime::net::UnixStream> = io.as_mut().get_pin_mut();
    /// # drop(stream);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        // SAFETY: `inner` is structurally pinned: nothing moves it out of a pinned
        // `HyperIo` (`into_inner` and `get_mut` need it unpinned), there is no `Drop` impl,
        // and `HyperIo<T>` is `Unpin` exactly when `T` is (the auto impl).
        unsafe { self.map_unchecked_mut(|io| &mut io.inner) }
    }

    /// Unwraps the stream.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::UnixStream::pair()?;
    /// let stream: runtime::net::UnixStream = runtime::compat::hyper::HyperIo::new(a).into_inner();
    /// # drop(stream);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let len = buf.remaining().min(READ_CHUNK);
        let mut scratch = SCRATCH
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![0; READ_CHUNK].into_boxed_slice());
        let polled = self.get_pin_mut().poll_read(cx, &mut scratch[..len]);
        if let Poll::Ready(Ok(n)) = polled {
            assert!(
                n <= len,
                "AsyncRead::poll_read reported {n} bytes read into a {len}-byte buffer"
            );
            buf.put_slice(&scratch[..n]);
        }
        let _ = SCRATCH.try_with(|slot| slot.set(Some(scratch)));
        polled.map_ok(drop)
    }
}

impl<T: AsyncWrite> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_close(cx)
    }
}

impl<T: hyper::rt::Read> AsyncRead for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = hyper::rt::ReadBuf::new(buf);
        ready!(self.get_pin_mut().poll_read(cx, buf.unfilled()))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<T: hyper::rt::Write> AsyncWrite for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_shutdown(cx)
    }
}

/// Compile-time checks: the adapters can be shared across worker threads.
#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync + fmt::Debug>() {}
    is::<HyperExecutor>();
    is::<HyperTimer>();
    is::<HyperIo<crate::net::TcpStream>>();
    is::<crate::time::Sleep>();
}
