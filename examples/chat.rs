//! A line-based chat server with rooms. Everyone starts in `lobby`; a line is sent to the
//! others in the same room as `NAME: line`. Commands: `/join ROOM`, `/nick NAME`, `/quit`.
//!
//! ```text
//! cargo run --release --example chat -- --addr 127.0.0.1:7001
//! nc 127.0.0.1 7001        # in two terminals; type lines, try /join games
//! ```
//!
//! Each room is a `runtime::sync::broadcast` channel: a line said in a room is sent once,
//! and each member's writer task reads it from the room's ring, so saying a line costs the
//! same in a room of two as in a room of a thousand and never waits. A client that stops
//! reading can't hold anyone up: once its socket buffers are full its writer stops reading
//! the ring, and when the ring (256 lines) has moved on past it, its writer learns it lagged
//! and disconnects it (the room is told), the way IRC servers drop a client over its send
//! queue. Replies meant for one client (acknowledgements, errors) go through its own small
//! outbox, a bounded `runtime::sync::channel`.
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
use runtime::sync::broadcast;
use runtime::sync::channel::{self, Receiver};
use runtime::sync::Event;
use runtime::time::{sleep, Duration};
use shutdown::{Conn, Connections, GracefulShutdown};
use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Write};
use std::pin::pin;
use std::sync::{Arc, Mutex};

#[path = "support/shutdown.rs"]
mod shutdown;

const DEFAULT_ROOM: &str = "lobby";
/// Lines a room holds: a member that falls further behind is disconnected.
const ROOM_BACKLOG: usize = 256;
/// Replies to one client not yet written: a client that lets more pile up is not reading.
const OUTBOX: usize = 16;
/// A longer line ends the connection: it would otherwise grow a buffer without bound.
const MAX_LINE: u64 = 4096;

/// A line to send, newline included; shared by every member that reads it.
type Line = Arc<str>;

/// What a room's ring carries.
#[derive(Clone)]
enum Said {
    /// A line for every member but its author (`None`: for everyone).
    Line { from: Option<u64>, line: Line },
    /// `who` left: its writer reads no further in this room (so nothing said after it
    /// leaked to it); the others get the notice.
    Left { who: u64, line: Line },
}

/// What a client's outbox carries to its writer, in order.
enum Out {
    /// A line for this client alone.
    Line(Line),
    /// The room it is now in, and its ring: the writer reads it once it has read the old
    /// one up to its own `Said::Left`.
    Room(String, broadcast::Receiver<Said>),
}

/// A client as its room sees it.
struct Member {
    name: String,
    /// Set to disconnect the client: its reader and writer both stop.
    kicked: Arc<Event>,
}

/// A room: its members and the ring their writers read.
struct Room {
    members: HashMap<u64, Member>,
    ring: broadcast::Sender<Said>,
}

impl Default for Room {
    fn default() -> Room {
        // The receiver made here goes at once: members subscribe as they join.
        let (ring, _) = broadcast::channel(ROOM_BACKLOG);
        Room {
            members: HashMap::new(),
            ring,
        }
    }
}

impl Room {
    /// Sends `line` to every member but `except`. With no member left to read it, there is
    /// nobody to tell: the error is that.
    fn broadcast(&self, except: Option<u64>, line: String) {
        let _ = self.ring.send(Said::Line {
            from: except,
            line: line.into(),
        });
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

    /// Adds the client to `room` and tells the others; returns the room's ring, from the
    /// first line said after the join.
    fn join(&self, room: &str, id: u64, member: Member) -> broadcast::Receiver<Said> {
        self.with_room(room, |r| {
            r.broadcast(None, format!("* {} joined {room}\n", member.name));
            r.members.insert(id, member);
            r.ring.subscribe()
        })
    }

    /// Takes the client out of `room` (unless it was already disconnected) and tells the
    /// rest; its writer stops reading the room at that notice.
    fn leave(&self, room: &str, id: u64) {
        self.with_room(room, |r| {
            if let Some(member) = r.members.remove(&id) {
                let line = format!("* {} left {room}\n", member.name).into();
                let _ = r.ring.send(Said::Left { who: id, line });
            }
        });
    }

    /// Disconnects a member that fell a whole ring behind, and tells the room.
    fn kick(&self, room: &str, id: u64) {
        self.with_room(room, |r| {
            if let Some(member) = r.members.remove(&id) {
                member.kicked.set();
                r.broadcast(
                    None,
                    format!("* {} was disconnected (too slow)\n", member.name),
                );
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
                // Out of file descriptors, most likely: back off instead of spinning.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let chat = chat.clone();
        let conn = conns.track();
        runtime::spawn(async move {
            match client(chat, id, stream, conn).await {
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
async fn client(chat: Arc<Chat>, id: u64, stream: TcpStream, conn: Conn) -> io::Result<()> {
    // Lines are small and go out as they come: without this, a batch written while the
    // previous one is unacknowledged waits for the client's delayed ACK (40 ms on Linux).
    stream.set_nodelay(true)?;
    let (reader, write_half) = stream.into_split();
    let (outbox, inbox) = channel::bounded::<Out>(OUTBOX);
    let kicked = Arc::new(Event::new());
    // The connection is in flight until its writer is done too: it holds a share.
    let conn = Arc::new(conn);
    let mut name = format!("guest-{id}");
    let mut room = DEFAULT_ROOM.to_owned();
    // Replies to the client itself; `false` if its outbox is full (it is not reading).
    let reply = |line: String| outbox.try_send(Out::Line(line.into())).is_ok();
    // Tells the writer which room to read next; `false` if the outbox is full, as above.
    let enter = |room: &str, ring| outbox.try_send(Out::Room(room.to_owned(), ring)).is_ok();
    let member = |name: &str| Member {
        name: name.to_owned(),
        kicked: kicked.clone(),
    };
    let writer = Writer {
        chat: chat.clone(),
        id,
        kicked: kicked.clone(),
        room: None,
        next_room: None,
        _conn: conn.clone(),
    };
    runtime::spawn(writer.run(write_half, inbox));
    reply(format!(
        "* welcome {name}, you are in {room} (commands: /join ROOM, /nick NAME, /quit)\n"
    ));
    enter(&room, chat.join(&room, id, member(&name)));

    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    let result = loop {
        buf.clear();
        let mut limited = (&mut reader).take(MAX_LINE);
        let read = conn.unless_stopping(limited.read_until(b'\n', &mut buf));
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
                let ring = chat.join(&room, id, member(&name));
                // The writer finishes the old room before it writes the acknowledgement,
                // and writes its replies before the new room's lines.
                enter(&room, ring) && reply(format!("* you are now in {room}\n"))
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

/// A client's writer task: sends the client its replies and what its room says.
struct Writer {
    chat: Arc<Chat>,
    id: u64,
    kicked: Arc<Event>,
    /// The room being read.
    room: Option<(String, broadcast::Receiver<Said>)>,
    /// The room to read once `room` reaches this client's own `Said::Left`; meanwhile the
    /// outbox waits, so a reply after a `/join` comes after the old room's last line.
    next_room: Option<(String, broadcast::Receiver<Said>)>,
    /// The connection is in flight until its writer is done too: it holds a share.
    _conn: Arc<Conn>,
}

/// What woke a writer.
enum Wake {
    Outbox(Result<Out, channel::RecvError>),
    Room(Result<Said, broadcast::RecvError>),
}

/// Lines read for a client and not yet written.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    lines: usize,
}

impl Batch {
    fn push(&mut self, line: &str) {
        self.bytes.extend_from_slice(line.as_bytes());
        self.lines += 1;
    }
}

/// A writer sends at most about this much in one write, so one client's backlog can't make
/// its writer hold a huge buffer.
const BATCH_BYTES: usize = 64 * 1024;

impl Writer {
    /// Writes until the outbox closes (the reader is done), the client falls `ROOM_BACKLOG`
    /// lines behind, or it is disconnected.
    ///
    /// While one batch is being written the writer goes on reading into the next, so it
    /// sees a client that stopped reading fall behind (and disconnects it) even while its
    /// write waits for the socket.
    async fn run(mut self, mut writer: OwnedWriteHalf, inbox: Receiver<Out>) {
        let kicked = self.kicked.clone();
        let send_all = async {
            let mut next = Batch::default();
            let mut writing = Vec::new();
            let mut open = true;
            while open {
                if next.bytes.is_empty() {
                    let wake = self.wait(&inbox).await;
                    open = self.take(wake, &mut next);
                }
                // Whatever else is queued goes out in the same write.
                while open && next.bytes.len() < BATCH_BYTES {
                    let Some(wake) = self.ready(&inbox) else {
                        break;
                    };
                    open = self.take(wake, &mut next);
                }
                if next.bytes.is_empty() {
                    continue;
                }
                std::mem::swap(&mut writing, &mut next.bytes);
                next.lines = 0;
                {
                    let mut write = pin!(writer.write_all(&writing));
                    loop {
                        if !open {
                            write.as_mut().await?;
                            break;
                        }
                        let wake = match select(write.as_mut(), pin!(self.wait(&inbox))).await {
                            Either::Left((written, _)) => {
                                written?;
                                break;
                            }
                            Either::Right((wake, _)) => wake,
                        };
                        open = self.take(wake, &mut next);
                        if next.lines > ROOM_BACKLOG {
                            self.kick();
                            return Ok(());
                        }
                    }
                }
                writing.clear();
            }
            io::Result::Ok(())
        };
        // A write error means the client is gone; its reader will see that too.
        let _ = unless_kicked(&kicked, send_all).await;
        // Dropping `writer` shuts down our sending side; the socket closes with the reader.
    }

    /// Disconnects this client as too slow, and tells its room.
    fn kick(&self) {
        match &self.room {
            Some((name, _)) => self.chat.kick(name, self.id),
            None => self.kicked.set(),
        }
    }

    /// Waits for a reply or a room's line (only the room's while switching rooms).
    async fn wait(&mut self, inbox: &Receiver<Out>) -> Wake {
        match (&mut self.room, self.next_room.is_some()) {
            (Some((_, ring)), true) => Wake::Room(ring.recv().await),
            (Some((_, ring)), false) => match select(pin!(inbox.recv()), pin!(ring.recv())).await {
                Either::Left((out, _)) => Wake::Outbox(out),
                Either::Right((said, _)) => Wake::Room(said),
            },
            (None, _) => Wake::Outbox(inbox.recv().await),
        }
    }

    /// A reply or a room's line that is there already, replies first.
    fn ready(&mut self, inbox: &Receiver<Out>) -> Option<Wake> {
        if self.next_room.is_none() {
            if let Ok(out) = inbox.try_recv() {
                return Some(Wake::Outbox(Ok(out)));
            }
        }
        let (_, ring) = self.room.as_mut()?;
        let said = match ring.try_recv() {
            Ok(said) => Ok(said),
            Err(broadcast::TryRecvError::Empty) => return None,
            Err(broadcast::TryRecvError::Lagged(n)) => Err(broadcast::RecvError::Lagged(n)),
            Err(broadcast::TryRecvError::Closed) => Err(broadcast::RecvError::Closed),
        };
        Some(Wake::Room(said))
    }

    /// Adds what woke the writer to `batch`; `false` once the writer is done.
    fn take(&mut self, wake: Wake, batch: &mut Batch) -> bool {
        match wake {
            // The reader is done and everything it queued was taken.
            Wake::Outbox(Err(_)) => return false,
            Wake::Outbox(Ok(Out::Line(line))) => batch.push(&line),
            Wake::Outbox(Ok(Out::Room(name, ring))) => match self.room {
                Some(_) => self.next_room = Some((name, ring)),
                None => self.room = Some((name, ring)),
            },
            Wake::Room(Ok(Said::Line { from, line })) => {
                if from != Some(self.id) {
                    batch.push(&line);
                }
            }
            Wake::Room(Ok(Said::Left { who, line })) => {
                if who == self.id {
                    self.room = self.next_room.take();
                } else {
                    batch.push(&line);
                }
            }
            // The ring moved on past this client (its writer was not polled for that long).
            Wake::Room(Err(broadcast::RecvError::Lagged(_))) => {
                self.kick();
                return false;
            }
            // The room closes only once its last member left, after that member's `Left`.
            Wake::Room(Err(broadcast::RecvError::Closed)) => self.room = self.next_room.take(),
        }
        true
    }
}

/// Runs `fut` unless `kicked` is set first, which gives `None`.
async fn unless_kicked<F: Future>(kicked: &Event, fut: F) -> Option<F::Output> {
    match select(pin!(kicked.wait()), pin!(fut)).await {
        Either::Left(_) => None,
        Either::Right((output, _)) => Some(output),
    }
}
