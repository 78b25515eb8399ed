//! The keyspace: sharded entries, their expiry (lazy, plus the sweeper task).

use runtime::time::{Duration, Instant};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};

use runtime::sync::Event;

use super::commands::NOT_AN_INTEGER;
use super::resp::{bulk, nil, parse_int};
use super::{lock, Shared};

const SHARDS: usize = 32;
/// Keys the sweeper deletes from one shard before letting others have the lock.
const SWEEP_BATCH: usize = 256;

type Key = Arc<[u8]>;

struct Entry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= Instant::now())
    }
}

/// One shard: its entries, and the deadlines of those that expire, soonest first.
#[derive(Default)]
struct Shard {
    entries: HashMap<Key, Entry>,
    /// Holds `(at, key)` exactly for the entries whose `expires_at` is `Some(at)`.
    expirations: BTreeSet<(Instant, Key)>,
}

impl Shard {
    /// The entry for `key` unless its time is up, in which case it is deleted now (lazy
    /// expiry: a reader never sees a key past its deadline, whenever the sweeper runs).
    fn live(&mut self, key: &[u8]) -> Option<&mut Entry> {
        if self.entries.get(key)?.is_expired() {
            self.remove(key);
            return None;
        }
        self.entries.get_mut(key)
    }

    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (key, entry) = self.entries.remove_entry(key)?;
        if let Some(at) = entry.expires_at {
            self.expirations.remove(&(at, key));
        }
        Some(entry)
    }

    /// Gives the entry for `key`, which must exist, the deadline `at`.
    fn set_expiry(&mut self, key: &[u8], at: Option<Instant>) {
        let Some((key, entry)) = self.entries.get_key_value(key) else {
            return;
        };
        let (key, old) = (key.clone(), entry.expires_at);
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.expirations.remove(&(old, key.clone()));
        }
        if let Some(at) = at {
            self.expirations.insert((at, key.clone()));
        }
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.expires_at = at;
        }
    }
}

#[derive(Default)]
pub(crate) struct SetOptions {
    pub(crate) expires_at: Option<Instant>,
    pub(crate) keep_ttl: bool,
    pub(crate) only_if_missing: bool,
    pub(crate) only_if_exists: bool,
    pub(crate) get: bool,
}

pub(crate) enum Ttl {
    Missing,
    Forever,
    Left(Duration),
}

/// The keyspace: [`SHARDS`] independently locked shards, and the sweeper's alarm clock.
pub(crate) struct Db {
    shards: Box<[Mutex<Shard>]>,
    /// Set to wake the sweeper early: a deadline sooner than the one it sleeps until appeared.
    sweeper_wake: Event,
    /// The deadline the sweeper sleeps until, in nanoseconds since `epoch`; `u64::MAX` while
    /// it sweeps or has nothing to wait for, so that any new deadline then sets `sweeper_wake`.
    sweeper_deadline: AtomicU64,
    epoch: Instant,
}

impl Db {
    pub(crate) fn new() -> Db {
        Db {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            sweeper_wake: Event::new(),
            sweeper_deadline: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
        }
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        // FNV-1a: cheap for short keys, and the shard's HashMap hashes the key again with its
        // flood-resistant SipHash anyway; a crafted key set can only crowd one shard.
        let hash = key.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        lock(&self.shards[(hash % SHARDS as u64) as usize])
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch)
            .as_nanos()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// Called after a deadline `at` was stored (and its shard unlocked).
    fn deadline_added(&self, at: Instant) {
        if self.nanos(at) < self.sweeper_deadline.load(SeqCst) {
            self.sweeper_wake.set();
        }
    }

    /// Appends GET's reply for `key` to `out`.
    pub(crate) fn get(&self, key: &[u8], out: &mut Vec<u8>) {
        match self.shard(key).live(key) {
            Some(entry) => bulk(out, &entry.value),
            None => nil(out),
        }
    }

    /// Whether it wrote, and the previous value if `opts.get` asked for it.
    pub(crate) fn set(
        &self,
        key: &[u8],
        value: &[u8],
        opts: SetOptions,
    ) -> (bool, Option<Vec<u8>>) {
        let mut shard = self.shard(key);
        let old = shard.live(key);
        if (old.is_some() && opts.only_if_missing) || (old.is_none() && opts.only_if_exists) {
            let old = old.filter(|_| opts.get).map(|e| e.value.clone());
            return (false, old);
        }
        let old = match old {
            Some(entry) if opts.get => Some(std::mem::replace(&mut entry.value, value.to_vec())),
            Some(entry) => {
                // Overwriting reuses the value's buffer: no allocation for same-size values.
                entry.value.clear();
                entry.value.extend_from_slice(value);
                None
            }
            None => {
                let entry = Entry {
                    value: value.to_vec(),
                    expires_at: None,
                };
                shard.entries.insert(key.into(), entry);
                None
            }
        };
        if !opts.keep_ttl {
            shard.set_expiry(key, opts.expires_at);
        }
        drop(shard);
        if let Some(at) = opts.expires_at {
            self.deadline_added(at);
        }
        (true, old)
    }

    pub(crate) fn del(&self, key: &[u8]) -> bool {
        self.shard(key)
            .remove(key)
            .is_some_and(|entry| !entry.is_expired())
    }

    pub(crate) fn exists(&self, key: &[u8]) -> bool {
        self.shard(key).live(key).is_some()
    }

    pub(crate) fn incr_by(&self, key: &[u8], delta: i64) -> Result<i64, &'static str> {
        let mut shard = self.shard(key);
        match shard.live(key) {
            Some(entry) => {
                let n = parse_int(&entry.value).ok_or(NOT_AN_INTEGER)?;
                let n = n
                    .checked_add(delta)
                    .ok_or("ERR increment or decrement would overflow")?;
                entry.value.clear();
                let _ = write!(entry.value, "{n}");
                Ok(n)
            }
            None => {
                let entry = Entry {
                    value: delta.to_string().into_bytes(),
                    expires_at: None,
                };
                shard.entries.insert(key.into(), entry);
                Ok(delta)
            }
        }
    }

    /// EXPIRE in milliseconds: whether the key existed; `Err` if the deadline overflows.
    /// A deadline not in the future deletes the key, as in Redis.
    pub(crate) fn expire(&self, key: &[u8], ms: i64) -> Result<bool, ()> {
        let mut shard = self.shard(key);
        if shard.live(key).is_none() {
            return Ok(false);
        }
        if ms <= 0 {
            shard.remove(key);
            return Ok(true);
        }
        let at = Instant::now()
            .checked_add(Duration::from_millis(ms as u64))
            .ok_or(())?;
        shard.set_expiry(key, Some(at));
        drop(shard);
        self.deadline_added(at);
        Ok(true)
    }

    pub(crate) fn persist(&self, key: &[u8]) -> bool {
        let mut shard = self.shard(key);
        match shard.live(key) {
            Some(entry) if entry.expires_at.is_some() => {
                shard.set_expiry(key, None);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn ttl(&self, key: &[u8]) -> Ttl {
        match self.shard(key).live(key) {
            None => Ttl::Missing,
            Some(Entry {
                expires_at: None, ..
            }) => Ttl::Forever,
            Some(Entry {
                expires_at: Some(at),
                ..
            }) => Ttl::Left(at.saturating_duration_since(Instant::now())),
        }
    }

    /// Keys (counting expired ones the sweeper has not reached yet, as Redis does).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    /// Keys, and keys with a deadline.
    pub(crate) fn counts(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(k, e), s| {
            let s = lock(s);
            (k + s.entries.len(), e + s.expirations.len())
        })
    }

    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            *lock(shard) = Shard::default();
        }
    }

    /// Deletes the keys whose deadline has passed, at most [`SWEEP_BATCH`] per shard; returns
    /// the earliest deadline left (in the past if a batch ran out).
    fn sweep(&self, now: Instant) -> Option<Instant> {
        let mut earliest: Option<Instant> = None;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let mut budget = SWEEP_BATCH;
            while let Some(&(at, _)) = shard.expirations.first() {
                if at > now || budget == 0 {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    break;
                }
                if let Some((_, key)) = shard.expirations.pop_first() {
                    shard.entries.remove(&key);
                }
                budget -= 1;
            }
        }
        earliest
    }
}

/// The background half of expiry: deletes keys nobody reads after their deadline passes.
///
/// It sleeps until the earliest deadline in the keyspace, or until a command stores a sooner
/// one (`Db::deadline_added` sets `sweeper_wake`). The order below makes that race-free: the
/// deadline word reads "none" and the event is cleared *before* the shards are scanned, so a
/// deadline the scan misses was stored after it and either sees "none" (and sets the event)
/// or sees the deadline the sweeper is about to sleep until, which it then compares against.
pub(crate) async fn sweep_expired(shared: Arc<Shared>) {
    let db = &shared.db;
    loop {
        db.sweeper_deadline.store(u64::MAX, SeqCst);
        db.sweeper_wake.clear();
        let now = Instant::now();
        match db.sweep(now) {
            // A batch ran out: let other tasks run before the next one.
            Some(at) if at <= now => runtime::yield_now().await,
            Some(at) => {
                db.sweeper_deadline.store(db.nanos(at), SeqCst);
                // Ok: woken for a sooner deadline; Err: this one came. Either way, sweep.
                let _ = runtime::time::timeout_at(at, db.sweeper_wake.wait()).await;
            }
            None => db.sweeper_wake.wait().await,
        }
    }
}
