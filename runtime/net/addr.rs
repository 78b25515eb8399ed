//! `ToSocketAddrs`: what the socket constructors accept. Literal addresses resolve on the
//! spot; host names resolve on the blocking pool, since the system resolver blocks.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;

/// Types that can be turned into socket addresses: `SocketAddr`, `(IpAddr, u16)`,
/// `(&str, u16)`, `"host:port"` strings, and slices of `SocketAddr`.
///
/// Sealed: implemented here only.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::net::UdpSocket;
/// use std::net::{Ipv4Addr, SocketAddr};
/// let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
/// UdpSocket::bind(addr).await?; // a SocketAddr
/// UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?; // (IP, port)
/// UdpSocket::bind("127.0.0.1:0").await?; // "ip:port": parsed, no lookup
/// UdpSocket::bind(("127.0.0.1", 0)).await?; // (&str, port)
/// UdpSocket::bind(&[addr][..]).await?; // several candidates, tried in turn
/// // "localhost:0" would be looked up on the blocking pool, not on this thread.
/// # Ok(())
/// # }
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) type Resolve = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;

mod sealed {
    use super::Resolve;
    use std::net::SocketAddr;

    pub trait Sealed {
        /// Ready addresses, or a lookup to run on the blocking pool.
        fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve>;
    }
}

/// Resolves `addr`, looking host names up on the blocking pool.
pub(crate) async fn resolve(addr: &impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.resolve() {
        Ok(addrs) => addrs,
        Err(lookup) => lookup.await?,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// Tries each address in turn; the last error if none works.
pub(crate) async fn each_addr<T, F, Fut>(addr: &impl ToSocketAddrs, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in resolve(addr).await? {
        match f(addr).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::ErrorKind::InvalidInput.into()))
}

fn lookup(host: String) -> Resolve {
    let job = crate::spawn_blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect)
    });
    Box::pin(async move { job.await.map_err(io::Error::from)? })
}

macro_rules! ready_addr {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl sealed::Sealed for $ty {
            fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve> {
                Ok(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

ready_addr!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::Sealed for [SocketAddr] {
    fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve> {
        Ok(self.to_vec())
    }
}

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve> {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Ok(vec![addr]),
            Err(_) => Err(lookup(self.to_owned())),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve> {
        self.as_str().resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve> {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![SocketAddr::new(ip, port)]),
            Err(_) => Err(lookup(format!("{host}:{port}"))),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve> {
        (self.0.as_str(), self.1).resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {
    fn resolve(&self) -> Result<Vec<SocketAddr>, Resolve> {
        (**self).resolve()
    }
}
