//! A line-based chat server with rooms. Everyone starts in `lobby`; a line is sent to the
//! others in the same room as `NAME: line`. Commands: `/join ROOM`, `/nick NAME`, `/quit`.
//!
//! ```text
//! cargo run --release --example chat -- --addr 127.0.0.1:7001
//! nc 127.0.0.1 7001        # in two terminals; type lines, try /join games
//! ```
//!
//! Each client has an outbox, a bounded `runtime::sync::channel` drained by its own writer
//! task; a room broadcasts by putting the line into every member's outbox with `try_send`,
//! which never waits. So a client that stops reading can't hold anyone up: once its socket
//! buffers and its outbox (256 lines) are full, the next broadcast finds the outbox full and
//! disconnects it (the room is told), the way IRC servers drop a client over its send queue.
//!
//! On SIGINT or SIGTERM it stops accepting (the listener closes, so new clients are refused)
//! and tells every client `* the server is shutting down, bye`, then closes its connection
//! once that line (and whatever was queued before it) is written. A client that doesn't
//! read it within `--grace SECONDS` (default 5) is cut off. Then it prints a `shutdown:
//! drained …` line and exits 0; a second signal exits at once (130 for SIGINT). The shared
//! logic is `examples/support/shutdown.rs`.

use futures::future::{select, Either};
use futures::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use runtime::net::tcp::OwnedWriteHalf;
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::channel::{self, Receiver, Sender, TrySendError};
use runtime::sync::Event;
use runtime::time::{sleep, Duration};
use shutdown::{Conn, Connections, GracefulShutdown};
use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::sync::{Arc, Mutex};

#[path = "support/shutdown.rs"]
mod shutdown;

const DEFAULT_ROOM: &str = "lobby";
/// Lines a client may fall behind by before it is disconnected.
const OUTBOX: usize = 256;
/// A longer line ends the connection: it would otherwise grow a buffer without bound.
const MAX_LINE: u64 = 4096;

/// A line to send, newline included; shared by every outbox it goes to.
type Line = Arc<str>;

/// A client as its room sees it.
struct Member {
    name: String,
    outbox: Sender<Line>,
    /// Set to disconnect the client: its reader and writer both stop.
    kicked: Arc<Event>,
}

/// A room's broadcast: a fan-out over its members' outboxes.
#[derive(Default)]
struct Room {
    members: HashMap<u64, Member>,
}

impl Room {
    /// Queues `line` for every member but `except`. A member whose outbox is full is
    /// disconnected and the rest are told, which may find more laggards.
    fn broadcast(&mut self, except: Option<u64>, line: String) {
        let mut pending = vec![(except, Line::from(line))];
        while let Some((except, line)) = pending.pop() {
            let mut lagging = Vec::new();
            for (&id, member) in &self.members {
                if Some(id) == except {
                    continue;
                }
                // `Closed` means its writer is gone: it is leaving anyway.
                if let Err(TrySendError::Full(_)) = member.outbox.try_send(line.clone()) {
                    lagging.push(id);
                }
            }
            for id in lagging {
                let member = self.members.remove(&id).expect("listed above");
                member.kicked.set();
                let notice = format!("* {} was disconnected (too slow)\n", member.name);
                pending.push((None, notice.into()));
            }
        }
    }
}

/// Every room, by name. A std mutex: it is never held across an `.await`.
#[derive(Default)]
struct Chat {
    rooms: Mutex<HashMap<String, Room>>,
}

impl Chat {
    fn with_room<R>(&self, room: &str, f: impl FnOnce(&mut Room) -> R) -> R {
        let mut rooms = self.rooms.lock().expect("chat state");
        let r = rooms.entry(room.to_owned()).or_default();
        let result = f(r);
        if r.members.is_empty() {
            rooms.remove(room);
        }
        result
    }

    fn join(&self, room: &str, id: u64, member: Member) {
        self.with_room(room, |r| {
            r.broadcast(None, format!("* {} joined {room}\n", member.name));
            r.members.insert(id, member);
        });
    }

    /// Takes the client out of `room` (unless it was already disconnected) and tells the rest.
    fn leave(&self, room: &str, id: u64) {
        self.with_room(room, |r| {
            if let Some(member) = r.members.remove(&id) {
                r.broadcast(None, format!("* {} left {room}\n", member.name));
            }
        });
    }

    fn say(&self, room: &str, id: u64, line: String) {
        self.with_room(room, |r| r.broadcast(Some(id), line));
    }

    fn rename(&self, room: &str, id: u64, name: &str) {
        self.with_room(room, |r| {
            if let Some(member) = r.members.get_mut(&id) {
                let old = std::mem::replace(&mut member.name, name.to_owned());
                r.broadcast(Some(id), format!("* {old} is now {name}\n"));
            }
        });
    }
}

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:7001");
    let mut grace = shutdown::DEFAULT_GRACE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--grace", Some(value)) if shutdown::parse_grace(&value).is_some() => {
                grace = shutdown::parse_grace(&value).expect("checked above");
            }
            _ => {
                eprintln!("usage: chat [--addr HOST:PORT] [--grace SECONDS]");
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
    shutdown.run(serve(listener, conns)).await
}

/// Accepts clients until the future is dropped, each counted in `conns` while it is
/// connected.
async fn serve(listener: TcpListener, conns: Connections) {
    let chat = Arc::new(Chat::default());
    for id in 1.. {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // `accept` waits out EMFILE and the like itself; anything else is rare (a
                // socket the reactor refused): log it and back off instead of spinning.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let chat = chat.clone();
        let conn = conns.track();
        runtime::spawn(async move {
            match client(&chat, id, stream, conn).await {
                // A reset is the client's way of leaving.
                Err(e) if e.kind() != io::ErrorKind::ConnectionReset => {
                    eprintln!("client {id}: {e}");
                }
                _ => {}
            }
        });
    }
}

/// Reads the client's lines until it quits, disconnects, is disconnected or the server
/// shuts down.
async fn client(chat: &Chat, id: u64, stream: TcpStream, conn: Conn) -> io::Result<()> {
    // Lines are small and go out as they come: without this, a batch written while the
    // previous one is unacknowledged waits for the client's delayed ACK (40 ms on Linux).
    stream.set_nodelay(true)?;
    let socket = stream.as_raw_fd();
    let (reader, writer) = stream.into_split();
    let (outbox, inbox) = channel::bounded::<Line>(OUTBOX);
    let kicked = Arc::new(Event::new());
    // The connection is in flight until its writer is done too: it holds a share.
    let conn = Arc::new(conn);
    runtime::spawn(write_lines(writer, inbox, kicked.clone(), conn.clone()));

    let mut name = format!("guest-{id}");
    let mut room = DEFAULT_ROOM.to_owned();
    // Replies to the client itself; `false` if its outbox is full (it is not reading).
    let reply = |line: String| outbox.try_send(line.into()).is_ok();
    reply(format!(
        "* welcome {name}, you are in {room} (commands: /join ROOM, /nick NAME, /quit)\n"
    ));
    let member = |name: &str| Member {
        name: name.to_owned(),
        outbox: outbox.clone(),
        kicked: kicked.clone(),
    };
    chat.join(&room, id, member(&name));

    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    let result = loop {
        buf.clear();
        let mut limited = (&mut reader).take(MAX_LINE);
        let read = conn.unless_stopping(socket, limited.read_until(b'\n', &mut buf));
        let n = match unless_kicked(&kicked, read).await {
            None => break Ok(()),
            // The server is shutting down: the writer sends this (after what is queued
            // before it), then the connection closes.
            Some(None) => {
                reply("* the server is shutting down, bye\n".into());
                break Ok(());
            }
            Some(Some(Err(e))) => break Err(e),
            Some(Some(Ok(n))) => n,
        };
        if n == 0 {
            break Ok(()); // the client closed the connection
        }
        if n as u64 == MAX_LINE && buf.last() != Some(&b'\n') {
            reply("* line too long\n".into());
            break Ok(());
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\r', '\n']);
        let (command, arg) = line.split_once(' ').unwrap_or((line, ""));
        let arg = arg.trim();
        let delivered = match command {
            "" => true,
            "/quit" => {
                reply("* bye\n".into());
                break Ok(());
            }
            "/join" if !arg.is_empty() => {
                chat.leave(&room, id);
                arg.clone_into(&mut room);
                chat.join(&room, id, member(&name));
                reply(format!("* you are now in {room}\n"))
            }
            "/nick" if !arg.is_empty() => {
                chat.rename(&room, id, arg);
                arg.clone_into(&mut name);
                reply(format!("* you are now {name}\n"))
            }
            _ if command.starts_with('/') => reply(format!("* unknown command: {line}\n")),
            _ => {
                chat.say(&room, id, format!("{name}: {line}\n"));
                true
            }
        };
        if !delivered {
            break Ok(()); // our own outbox is full: this client is the laggard
        }
    };
    chat.leave(&room, id);
    // Dropping the last sender closes the outbox: the writer sends what is queued and ends.
    result
}

/// Sends the outbox's lines to the client, everything queued at once in one write, until
/// the outbox closes or the client is disconnected.
async fn write_lines(
    mut writer: OwnedWriteHalf,
    inbox: Receiver<Line>,
    kicked: Arc<Event>,
    _conn: Arc<Conn>,
) {
    let mut batch = Vec::new();
    let send_all = async {
        while let Ok(line) = inbox.recv().await {
            batch.clear();
            batch.extend_from_slice(line.as_bytes());
            while let Ok(line) = inbox.try_recv() {
                batch.extend_from_slice(line.as_bytes());
            }
            writer.write_all(&batch).await?;
        }
        io::Result::Ok(())
    };
    // A write error means the client is gone; its reader will see that too.
    let _ = unless_kicked(&kicked, send_all).await;
    // Dropping `writer` shuts down our sending side; the socket closes with the reader.
}

/// Runs `fut` unless `kicked` is set first, which gives `None`.
async fn unless_kicked<F: Future>(kicked: &Event, fut: F) -> Option<F::Output> {
    match select(pin!(kicked.wait()), pin!(fut)).await {
        Either::Left(_) => None,
        Either::Right((output, _)) => Some(output),
    }
}
