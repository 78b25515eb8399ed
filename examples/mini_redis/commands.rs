//! Commands: a connection's [`Client`] state and the dispatch from a parsed request to its reply.

use runtime::time::{Duration, Instant};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use runtime::sync::channel;

use super::db::{Db, SetOptions, Ttl};
use super::resp::{array, bulk, error, integer, nil, parse_int};
use super::{Frame, Shared, SUBSCRIBER_BACKLOG};

/// One connection's state beyond its socket; dropping it removes its subscriptions.
pub(crate) struct Client {
    id: u64,
    shared: Arc<Shared>,
    /// The channels it subscribed to: non-empty puts it in subscriber mode.
    channels: HashSet<Vec<u8>>,
    /// Where published messages arrive; made on the first SUBSCRIBE.
    pub(crate) inbox: Option<(channel::Sender<Frame>, channel::Receiver<Frame>)>,
    /// Close after writing the replies so far (QUIT, protocol error).
    pub(crate) quit: bool,
}

impl Drop for Client {
    fn drop(&mut self) {
        for name in self.channels.drain() {
            self.shared.pubsub.unsubscribe(&name, self.id);
        }
        self.shared.clients.fetch_sub(1, SeqCst);
    }
}

/// Commands this server knows, for the wrong-arity error (the `execute` match has the rest).
#[rustfmt::skip]
const KNOWN: &[&[u8]] = &[
    b"PING", b"ECHO", b"GET", b"SET", b"DEL", b"EXISTS", b"INCR", b"DECR", b"EXPIRE",
    b"PEXPIRE", b"PERSIST", b"TTL", b"PTTL", b"MGET", b"DBSIZE", b"FLUSHALL", b"SUBSCRIBE",
    b"UNSUBSCRIBE", b"PUBLISH", b"INFO", b"QUIT", b"CONFIG", b"COMMAND",
];

impl Client {
    pub(crate) fn new(shared: Arc<Shared>) -> Client {
        shared.clients.fetch_add(1, SeqCst);
        Client {
            id: shared.next_client_id.fetch_add(1, SeqCst),
            shared,
            channels: HashSet::new(),
            inbox: None,
            quit: false,
        }
    }

    pub(crate) fn execute(&mut self, args: &[Cow<'_, [u8]>], out: &mut Vec<u8>) {
        let mut upper = [0; 16];
        let name = match args[0].len() {
            n @ 1..=16 => {
                upper[..n].copy_from_slice(&args[0]);
                upper[..n].make_ascii_uppercase();
                &upper[..n]
            }
            _ => b"",
        };
        if !self.channels.is_empty()
            && !matches!(name, b"SUBSCRIBE" | b"UNSUBSCRIBE" | b"PING" | b"QUIT")
        {
            let msg = format!(
                "ERR Can't execute '{}': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context",
                args[0].escape_ascii()
            );
            return error(out, &msg);
        }
        let db = &self.shared.db;
        match (name, args.len()) {
            (b"PING", 1) if self.channels.is_empty() => out.extend_from_slice(b"+PONG\r\n"),
            (b"PING", 1 | 2) if !self.channels.is_empty() => {
                array(out, 2);
                bulk(out, b"pong");
                bulk(out, args.get(1).map_or(b"", |m| m));
            }
            (b"PING" | b"ECHO", 2) => bulk(out, &args[1]),
            (b"GET", 2) => db.get(&args[1], out),
            (b"SET", 3..) => set(db, args, out),
            (b"DEL", 2..) => integer(out, args[1..].iter().filter(|k| db.del(k)).count() as i64),
            (b"EXISTS", 2..) => {
                integer(
                    out,
                    args[1..].iter().filter(|k| db.exists(k)).count() as i64,
                );
            }
            (b"INCR" | b"DECR", 2) => {
                match db.incr_by(&args[1], if name == b"INCR" { 1 } else { -1 }) {
                    Ok(n) => integer(out, n),
                    Err(msg) => error(out, msg),
                }
            }
            (b"EXPIRE" | b"PEXPIRE", 3) => {
                let unit = if name == b"EXPIRE" { 1000 } else { 1 };
                match parse_int(&args[2]).and_then(|n| n.checked_mul(unit)) {
                    None => error(out, NOT_AN_INTEGER),
                    Some(ms) => match db.expire(&args[1], ms) {
                        Ok(existed) => integer(out, existed.into()),
                        Err(()) => error(
                            out,
                            &format!("ERR invalid expire time in '{}' command", lower(&args[0])),
                        ),
                    },
                }
            }
            (b"PERSIST", 2) => integer(out, db.persist(&args[1]).into()),
            (b"TTL" | b"PTTL", 2) => integer(
                out,
                match db.ttl(&args[1]) {
                    Ttl::Missing => -2,
                    Ttl::Forever => -1,
                    Ttl::Left(d) if name == b"TTL" => ((d.as_millis() + 500) / 1000) as i64,
                    Ttl::Left(d) => d.as_millis() as i64,
                },
            ),
            (b"MGET", 2..) => {
                array(out, args.len() - 1);
                for key in &args[1..] {
                    db.get(key, out);
                }
            }
            (b"DBSIZE", 1) => integer(out, db.len() as i64),
            (b"FLUSHALL", _) => {
                db.clear();
                out.extend_from_slice(b"+OK\r\n");
            }
            (b"SUBSCRIBE", 2..) => {
                for name in &args[1..] {
                    self.subscribe(name);
                    array(out, 3);
                    bulk(out, b"subscribe");
                    bulk(out, name);
                    integer(out, self.channels.len() as i64);
                }
            }
            (b"UNSUBSCRIBE", _) => self.unsubscribe(&args[1..], out),
            (b"PUBLISH", 3) => integer(out, self.shared.pubsub.publish(&args[1], &args[2]) as i64),
            (b"INFO", _) => bulk(out, self.info().as_bytes()),
            (b"QUIT", _) => {
                out.extend_from_slice(b"+OK\r\n");
                self.quit = true;
            }
            // redis-benchmark reads these two on startup.
            (b"CONFIG", 3) if args[1].eq_ignore_ascii_case(b"GET") => {
                let params: [(&[u8], &[u8]); 2] = [(b"save", b""), (b"appendonly", b"no")];
                let hits: Vec<_> = params
                    .iter()
                    .filter(|(p, _)| &*args[2] == b"*" || args[2].eq_ignore_ascii_case(p))
                    .collect();
                array(out, hits.len() * 2);
                for (param, value) in hits {
                    bulk(out, param);
                    bulk(out, value);
                }
            }
            // redis-cli asks for command docs to offer hints; it makes do without.
            (b"COMMAND", _) => array(out, 0),
            (name, _) if KNOWN.contains(&name) => error(
                out,
                &format!(
                    "ERR wrong number of arguments for '{}' command",
                    lower(&args[0])
                ),
            ),
            _ => {
                let mut msg = format!(
                    "ERR unknown command '{}', with args beginning with: ",
                    args[0].escape_ascii()
                );
                for arg in args[1..].iter().take(8) {
                    msg.push_str(&format!("'{}' ", arg.escape_ascii()));
                }
                error(out, &msg);
            }
        }
    }

    fn subscribe(&mut self, name: &[u8]) {
        if self.channels.contains(name) {
            return;
        }
        let (tx, _) = self
            .inbox
            .get_or_insert_with(|| channel::bounded(SUBSCRIBER_BACKLOG));
        self.shared.pubsub.subscribe(name, self.id, tx.clone());
        self.channels.insert(name.to_vec());
    }

    /// UNSUBSCRIBE from `names`, or from every channel when none are given.
    fn unsubscribe(&mut self, names: &[Cow<'_, [u8]>], out: &mut Vec<u8>) {
        let names: Vec<Vec<u8>> = if names.is_empty() {
            self.channels.iter().cloned().collect()
        } else {
            names.iter().map(|n| n.to_vec()).collect()
        };
        if names.is_empty() {
            array(out, 3);
            bulk(out, b"unsubscribe");
            nil(out);
            integer(out, 0);
        }
        for name in names {
            if self.channels.remove(&name) {
                self.shared.pubsub.unsubscribe(&name, self.id);
            }
            array(out, 3);
            bulk(out, b"unsubscribe");
            bulk(out, &name);
            integer(out, self.channels.len() as i64);
        }
        if self.channels.is_empty() {
            // Messages published before the UNSUBSCRIBE are still delivered, then the inbox goes.
            self.drain_inbox(out);
            self.inbox = None;
        }
    }

    /// Appends the messages already waiting in the inbox.
    pub(crate) fn drain_inbox(&mut self, out: &mut Vec<u8>) {
        if let Some((_, rx)) = &self.inbox {
            while let Ok(frame) = rx.try_recv() {
                out.extend_from_slice(&frame);
            }
        }
    }

    fn info(&self) -> String {
        let m = runtime::Handle::current().metrics();
        let (keys, expires) = self.shared.db.counts();
        // Redis's name for the bytes its allocator holds; left out where glibc can't count.
        let memory = super::heap::heap_in_use().map_or(String::new(), |b| {
            format!("# Memory\r\nused_memory:{b}\r\n\r\n")
        });
        format!(
            "# Server\r\nserver:mini_redis\r\nruntime_workers:{}\r\n\r\n\
             # Clients\r\nconnected_clients:{}\r\n\r\n{memory}\
             # Runtime\r\nalive_tasks:{}\r\nspawned_tasks:{}\r\nio_registrations:{}\r\n\r\n\
             # Keyspace\r\ndb0:keys={keys},expires={expires}\r\n",
            m.workers,
            self.shared.clients.load(SeqCst),
            m.alive_tasks,
            m.spawned_tasks,
            m.io_registrations,
        )
    }
}

pub(crate) const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// SET key value [EX s | PX ms] [NX | XX] [KEEPTTL] [GET]
fn set(db: &Db, args: &[Cow<'_, [u8]>], out: &mut Vec<u8>) {
    let mut opts = SetOptions::default();
    let mut i = 3;
    while i < args.len() {
        let opt = args[i].to_ascii_uppercase();
        match (opt.as_slice(), args.get(i + 1)) {
            (b"EX" | b"PX", Some(n)) if opts.expires_at.is_none() && !opts.keep_ttl => {
                let unit = if opt == b"EX" { 1000 } else { 1 };
                let Some(ms) = parse_int(n).and_then(|n| n.checked_mul(unit)) else {
                    return error(out, NOT_AN_INTEGER);
                };
                match u64::try_from(ms)
                    .ok()
                    .filter(|&ms| ms > 0)
                    .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)))
                {
                    Some(at) => opts.expires_at = Some(at),
                    None => return error(out, "ERR invalid expire time in 'set' command"),
                }
                i += 1;
            }
            (b"NX", _) if !opts.only_if_exists => opts.only_if_missing = true,
            (b"XX", _) if !opts.only_if_missing => opts.only_if_exists = true,
            (b"KEEPTTL", _) if opts.expires_at.is_none() => opts.keep_ttl = true,
            (b"GET", _) => opts.get = true,
            _ => return error(out, SYNTAX),
        }
        i += 1;
    }
    let get = opts.get;
    match db.set(&args[1], &args[2], opts) {
        (_, Some(old)) if get => bulk(out, &old),
        (true, _) if !get => out.extend_from_slice(b"+OK\r\n"),
        _ => nil(out), // not written, or no old value for GET
    }
}

fn lower(name: &[u8]) -> String {
    name.escape_ascii().to_string().to_ascii_lowercase()
}
