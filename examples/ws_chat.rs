//! A WebSocket chat on this runtime: async-tungstenite over our `TcpStream` (futures-io, no
//! tokio). The request path names the room (`ws://HOST:PORT/rust`; `/` is the lobby); every
//! text message a client sends goes to every other client in its room as `NAME: TEXT`.
//!
//! A client is greeted with `welcome NAME to ROOM` once it is in the room, so what the others
//! send from then on reaches it. Each client has a bounded queue (`QUEUE` messages): one
//! that doesn't read fast enough misses messages instead of stalling the room. Pings are
//! answered by the library; a close from the client is answered with a close, which ends the
//! connection. A request that is not a WebSocket upgrade is closed without a reply
//! (tungstenite's server handshake writes none).
//!
//! On SIGINT or SIGTERM it stops accepting, sends every client a close frame (code 1001,
//! "going away"), and waits for the close handshakes within `--grace SECONDS` (default 5);
//! then it prints a `shutdown: drained …` line and exits 0.
//!
//! ```text
//! cargo run --release --example ws_chat -- --addr 127.0.0.1:9001
//! websocat ws://127.0.0.1:9001/rust   # in two terminals
//! ```

use async_tungstenite::tungstenite::handshake::server::{Request, Response};
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::{Error as WsError, Message};
use async_tungstenite::WebSocketReceiver;
use futures::future::{select, Either};
use futures::StreamExt;
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::channel::{self, Receiver, Sender};
use shutdown::{Conn, Connections, GracefulShutdown};
use std::collections::HashMap;
use std::io::Write;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "support/shutdown.rs"]
mod shutdown;

/// How many messages may wait for one client before it misses some.
const QUEUE: usize = 256;

/// How long a new connection may take to finish its WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is in which room: each member's id and the queue its writer drains.
#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, HashMap<u64, Sender<Message>>>>,
    next_id: AtomicU64,
}

impl Rooms {
    /// Adds a member and queues `welcome` for it first: under the lock, so no message
    /// broadcast meanwhile can come before it.
    fn join(&self, room: &str, id: u64, tx: Sender<Message>, welcome: Message) {
        let mut rooms = self.rooms.lock().unwrap();
        let _ = tx.try_send(welcome);
        rooms.entry(room.to_owned()).or_default().insert(id, tx);
    }

    fn leave(&self, room: &str, id: u64) {
        let mut rooms = self.rooms.lock().unwrap();
        if let Some(members) = rooms.get_mut(room) {
            members.remove(&id);
            if members.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// Queues `text` for everyone in `room` but `from`; a full queue misses it.
    fn broadcast(&self, room: &str, from: u64, text: &str) {
        let rooms = self.rooms.lock().unwrap();
        for (id, tx) in rooms.get(room).into_iter().flatten() {
            if *id != from {
                let _ = tx.try_send(Message::text(text));
            }
        }
    }
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let (addr, grace) = shutdown::addr_and_grace("ws_chat", "127.0.0.1:9001");
    let shutdown = GracefulShutdown::listen(grace)?;
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let conns = shutdown.connections();
    shutdown.run(serve(listener, conns)).await
}

async fn serve(listener: TcpListener, conns: Connections) {
    let rooms = Arc::new(Rooms::default());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let conn = conns.track();
        let rooms = rooms.clone();
        runtime::spawn(async move {
            if let Err(e) = connection(stream, rooms, conn).await {
                eprintln!("connection: {e}");
            }
        });
    }
}

// The handshake callback's error type is tungstenite's (`ErrorResponse`), large or not.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, rooms: Arc<Rooms>, conn: Conn) -> Result<(), WsError> {
    let _ = stream.set_nodelay(true);
    let mut room = String::from("/");
    let handshake = async_tungstenite::accept_hdr_async(stream, |req: &Request, res: Response| {
        room = req.uri().path().to_owned();
        Ok(res)
    });
    // A client that connects and never finishes the handshake is dropped; so is one still
    // handshaking when shutdown begins.
    let ws = match select(
        pin!(runtime::time::timeout(HANDSHAKE_TIMEOUT, handshake)),
        pin!(conn.stopping()),
    )
    .await
    {
        Either::Left((Ok(ws), _)) => ws?,
        Either::Left((Err(_), _)) | Either::Right(_) => return Ok(()),
    };
    let id = rooms.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let name = format!("guest-{id}");
    let (mut sender, receiver) = ws.split();
    let (tx, rx) = channel::bounded(QUEUE);
    let welcome = Message::text(format!("welcome {name} to {room}"));
    rooms.join(&room, id, tx.clone(), welcome);

    // Reading and writing run side by side, so a client that only listens still gets every
    // message, and one that only talks is still read.
    let outcome = {
        let reading = pin!(read_messages(receiver, &rooms, &room, id, &name, &conn));
        let writing = pin!(write_messages(&mut sender, rx));
        match select(reading, writing).await {
            Either::Left((read, _)) => Either::Left(read),
            Either::Right((written, _)) => Either::Right(written),
        }
    };
    rooms.leave(&room, id);
    drop(tx);
    match outcome {
        // The client closed (the library already answered), or shutdown began.
        Either::Left(Ok(Ending::ClientClosed)) => Ok(()),
        Either::Left(Ok(Ending::Stopping(mut receiver))) => {
            let frame = CloseFrame {
                code: CloseCode::Away,
                reason: "server shutting down".into(),
            };
            sender.close(Some(frame)).await?;
            // The close handshake: read until the client's close (or its EOF).
            while let Some(msg) = receiver.next().await {
                if matches!(msg, Err(_) | Ok(Message::Close(_))) {
                    break;
                }
            }
            Ok(())
        }
        Either::Left(Err(e)) | Either::Right(Err(e)) => Err(e),
        Either::Right(Ok(())) => Ok(()),
    }
}

/// How the reading side ended: the client closed, or shutdown began (the receiver is
/// handed back for the close handshake).
enum Ending {
    ClientClosed,
    Stopping(WebSocketReceiver<TcpStream>),
}

async fn read_messages(
    mut receiver: WebSocketReceiver<TcpStream>,
    rooms: &Rooms,
    room: &str,
    id: u64,
    name: &str,
    conn: &Conn,
) -> Result<Ending, WsError> {
    loop {
        // Both cancel-safe: the receiver keeps a partly read frame in its own buffer.
        let next = match select(receiver.next(), pin!(conn.stopping())).await {
            Either::Left((next, _)) => next,
            Either::Right(((), _)) => return Ok(Ending::Stopping(receiver)),
        };
        match next {
            Some(Ok(Message::Text(text))) => {
                rooms.broadcast(room, id, &format!("{name}: {}", text.as_str()));
            }
            // The client's close: the library queued the answer; reading on sends it and
            // then reports the connection closed.
            Some(Ok(Message::Close(_))) => {}
            None | Some(Err(WsError::ConnectionClosed)) => return Ok(Ending::ClientClosed),
            // Pings are answered inside the library; binary frames are not chat.
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
        }
    }
}

/// Sends what is queued for this client until the queue closes.
async fn write_messages(
    sender: &mut async_tungstenite::WebSocketSender<TcpStream>,
    rx: Receiver<Message>,
) -> Result<(), WsError> {
    while let Ok(msg) = rx.recv().await {
        sender.send(msg).await?;
    }
    Ok(())
}
