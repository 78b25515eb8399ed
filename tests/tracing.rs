//! The `tracing` feature: what tokio-console reads from our tasks.
//!
//! A capturing `tracing` subscriber written here (ids never reused, every callback kept)
//! is installed process-wide, so the spans of tasks on any worker thread reach it. The
//! tests run in parallel on it; each looks only at the spans of the task ids it spawned.
//!
//! Console's expectations checked here: one `runtime.spawn` span per task with `kind`,
//! `task.name`, `task.id` and `loc.*`; each poll entered and exited exactly once; waker
//! events with target `runtime::waker`, console's `op` names and the span's id as
//! `task.id`; the span closed when the task ends, even while its `JoinHandle` lives.

#[macro_use]
mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, Once};
use std::task::{Context, Poll, Waker};

use runtime::task::Builder;
use support::{eventually, HANG_GUARD};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

// ===== the capturing subscriber =====

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str(String),
    U64(u64),
    Other(String),
}

#[derive(Clone, Debug)]
struct SpanRec {
    id: u64,
    name: &'static str,
    target: &'static str,
    root: bool,
    fields: BTreeMap<&'static str, Value>,
    refs: usize,
    enters: usize,
    exits: usize,
    closed: bool,
}

#[derive(Clone, Debug)]
struct WakerEvent {
    target: &'static str,
    op: Option<String>,
    task_id: Option<u64>,
}

struct State {
    spans: BTreeMap<u64, SpanRec>,
    waker_events: Vec<WakerEvent>,
    /// `(tag, innermost span entered on the emitting thread)` of each probe event.
    probes: Vec<(u64, Option<u64>)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    spans: BTreeMap::new(),
    waker_events: Vec::new(),
    probes: Vec::new(),
});

thread_local! {
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

struct Fields<'a>(&'a mut BTreeMap<&'static str, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), Value::Str(value.to_owned()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name(), Value::U64(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name(), Value::Other(format!("{value:?}")));
    }
}

struct Capture {
    next_id: AtomicU64,
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let meta = attrs.metadata();
        let rec = SpanRec {
            id,
            name: meta.name(),
            target: meta.target(),
            root: attrs.is_root(),
            fields,
            refs: 1,
            enters: 0,
            exits: 0,
            closed: false,
        };
        state().spans.insert(id, rec);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(rec) = state().spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        if meta.target() == "probe" {
            let Some(Value::U64(tag)) = fields.get("tag") else {
                return;
            };
            let current = ENTERED.with(|entered| entered.borrow().last().copied());
            state().probes.push((*tag, current));
        } else if meta.target().contains("waker") {
            let op = match fields.get("op") {
                Some(Value::Str(op)) => Some(op.clone()),
                _ => None,
            };
            let task_id = match fields.get("task.id") {
                Some(Value::U64(id)) => Some(*id),
                _ => None,
            };
            state().waker_events.push(WakerEvent {
                target: meta.target(),
                op,
                task_id,
            });
        }
    }

    fn enter(&self, span: &Id) {
        ENTERED.with(|entered| entered.borrow_mut().push(span.into_u64()));
        if let Some(rec) = state().spans.get_mut(&span.into_u64()) {
            rec.enters += 1;
        }
    }

    fn exit(&self, span: &Id) {
        ENTERED.with(|entered| {
            let mut entered = entered.borrow_mut();
            if let Some(at) = entered.iter().rposition(|&id| id == span.into_u64()) {
                entered.remove(at);
            }
        });
        if let Some(rec) = state().spans.get_mut(&span.into_u64()) {
            rec.exits += 1;
        }
    }

    fn clone_span(&self, span: &Id) -> Id {
        if let Some(rec) = state().spans.get_mut(&span.into_u64()) {
            rec.refs += 1;
        }
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let mut state = state();
        let Some(rec) = state.spans.get_mut(&span.into_u64()) else {
            return false;
        };
        rec.refs -= 1;
        rec.closed = rec.refs == 0;
        rec.closed
    }
}

/// Installs the capturing subscriber for the whole process (once).
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let capture = Capture {
            next_id: AtomicU64::new(1),
        };
        tracing::subscriber::set_global_default(capture).expect("no other global subscriber");
    });
}

/// The one `runtime.spawn` span of the task with this id.
fn span_of(task: runtime::task::Id) -> SpanRec {
    let state = state();
    let mut found = state
        .spans
        .values()
        .filter(|rec| rec.name == "runtime.spawn")
        .filter(|rec| rec.fields.get("task.id") == Some(&Value::U64(task.as_u64())));
    let span = found
        .next()
        .unwrap_or_else(|| panic!("no span for task {task}"));
    assert!(found.next().is_none(), "task {task} has two spans");
    span.clone()
}

/// The `op` of every waker event naming this span, in order.
fn waker_ops(span: u64) -> Vec<String> {
    state()
        .waker_events
        .iter()
        .filter(|event| event.task_id == Some(span))
        .map(|event| {
            assert_eq!(event.target, "runtime::waker");
            event.op.clone().expect("a waker event without `op`")
        })
        .collect()
}

fn probes(tag: u64) -> Vec<Option<u64>> {
    let state = state();
    state
        .probes
        .iter()
        .filter(|(t, _)| *t == tag)
        .map(|(_, span)| *span)
        .collect()
}

fn str_field(span: &SpanRec, name: &str) -> Option<String> {
    match span.fields.get(name) {
        Some(Value::Str(s)) => Some(s.clone()),
        Some(other) => panic!("field {name} is {other:?}, not a str"),
        None => None,
    }
}

fn u64_field(span: &SpanRec, name: &str) -> u64 {
    match span.fields.get(name) {
        Some(Value::U64(n)) => *n,
        other => panic!("field {name} is {other:?}, not a u64"),
    }
}

/// A unique tag per probe user, so parallel tests don't see each other's probes.
fn fresh_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

// ===== futures the tests poll =====

/// Emits a probe event from inside each poll and wakes itself `left` times.
struct Probed {
    tag: u64,
    left: usize,
}

impl Future for Probed {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        tracing::trace!(target: "probe", tag = self.tag);
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Hands a clone of its waker out on the first poll, completes on the next.
struct HandsOutWaker {
    out: Option<mpsc::Sender<Waker>>,
}

impl Future for HandsOutWaker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.out.take() {
            Some(out) => {
                out.send(cx.waker().clone()).expect("the test thread waits");
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}

// ===== the tests =====

rt_test!(a_task_has_one_span_with_consoles_fields, |rt| {
    install();
    let (named, unnamed, line) = rt.block_on(async {
        let line = line!() + 1;
        let named = Builder::new().name("x").spawn(async {});
        let unnamed = runtime::spawn(async {});
        let ids = (named.id(), unnamed.id());
        named.await.unwrap();
        unnamed.await.unwrap();
        (ids.0, ids.1, line)
    });

    let span = span_of(named);
    assert_eq!(span.target, "runtime::task");
    assert_eq!(str_field(&span, "kind").as_deref(), Some("task"));
    assert_eq!(str_field(&span, "task.name").as_deref(), Some("x"));
    assert_eq!(str_field(&span, "loc.file").as_deref(), Some(file!()));
    assert_eq!(u64_field(&span, "loc.line"), u64::from(line));
    assert!(u64_field(&span, "loc.col") > 0);
    assert!(span.fields.contains_key("size.bytes"));

    let span = span_of(unnamed);
    assert_eq!(str_field(&span, "kind").as_deref(), Some("task"));
    assert_eq!(
        str_field(&span, "task.name"),
        None,
        "an unnamed task has no name field"
    );
    assert_eq!(u64_field(&span, "loc.line"), u64::from(line) + 1);
});

rt_test!(a_task_spawned_inside_a_task_has_no_parent_span, |rt| {
    install();
    let inner = rt.block_on(async {
        let outer = runtime::spawn(async {
            let inner = runtime::spawn(async {});
            let id = inner.id();
            inner.await.unwrap();
            id
        });
        outer.await.unwrap()
    });
    // Console keys tasks by span; a parent would keep the spawner's span open while the
    // child lives, and the child outlives its spawner.
    assert!(span_of(inner).root);
});

rt_test!(a_blocking_job_has_a_blocking_span, |rt| {
    install();
    let (id, line) = rt.block_on(async {
        let line = line!() + 1;
        let job = runtime::spawn_blocking(|| 7);
        let id = job.id();
        assert_eq!(job.await.unwrap(), 7);
        (id, line)
    });
    let span = span_of(id);
    assert_eq!(str_field(&span, "kind").as_deref(), Some("blocking"));
    assert_eq!(str_field(&span, "loc.file").as_deref(), Some(file!()));
    assert_eq!(u64_field(&span, "loc.line"), u64::from(line));
    assert_eq!((span.enters, span.exits), (1, 1), "a job is one poll");
    assert!(span.closed);
});

rt_test!(each_poll_enters_and_exits_the_span_once, |rt| {
    install();
    let tag = fresh_tag();
    let id = rt.block_on(async {
        let task = runtime::spawn(Probed { tag, left: 3 });
        let id = task.id();
        task.await.unwrap();
        id
    });
    let span = span_of(id);
    let seen = probes(tag);
    assert_eq!(seen.len(), 4, "three self-wakes: four polls");
    assert!(
        seen.iter().all(|current| *current == Some(span.id)),
        "every poll runs inside the task's span: {seen:?} vs {}",
        span.id
    );
    assert_eq!((span.enters, span.exits), (4, 4));
});

rt_test!(waker_events_name_the_tasks_span, |rt| {
    install();
    let (tx, rx) = mpsc::channel();
    let task = rt.spawn(HandsOutWaker { out: Some(tx) });
    let id = task.id();
    // The wakes come from a plain thread, while the runtime waits on the handle.
    let waker_thread = std::thread::spawn(move || {
        let waker = rx.recv_timeout(HANG_GUARD).expect("the task ran");
        waker.wake_by_ref();
        drop(waker.clone());
        waker.wake();
    });
    rt.block_on(task).unwrap();
    waker_thread.join().unwrap();

    let span = span_of(id);
    assert_eq!(u64_field(&span, "task.id"), id.as_u64());
    assert_eq!(
        waker_ops(span.id),
        [
            "waker.clone",
            "waker.wake_by_ref",
            "waker.clone",
            "waker.drop",
            "waker.wake"
        ]
    );
});

rt_test!(
    the_span_closes_when_the_task_completes_not_when_joined,
    |rt| {
        install();
        rt.block_on(async {
            let task = runtime::spawn(async { 5 });
            let id = task.id();
            eventually("the task completes", || task.is_finished()).await;
            // The handle still holds the cell, yet console must see the task done.
            assert!(span_of(id).closed);
            assert_eq!(task.await.unwrap(), 5);
        });
    }
);

rt_test!(
    the_span_stays_open_while_the_task_waits_and_closes_on_abort,
    |rt| {
        install();
        rt.block_on(async {
            let task = runtime::spawn(std::future::pending::<()>());
            let id = task.id();
            eventually("the task is polled", || span_of(id).exits >= 1).await;
            assert!(!span_of(id).closed, "a waiting task is alive");
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
            assert!(span_of(id).closed);
        });
    }
);

rt_test!(the_span_closes_when_the_task_panics, |rt| {
    install();
    let id = rt.block_on(async {
        let task = runtime::spawn(async { panic!("boom") });
        let id = task.id();
        assert!(task.await.unwrap_err().is_panic());
        id
    });
    let span = span_of(id);
    assert!(span.closed);
    assert_eq!((span.enters, span.exits), (1, 1));
});

rt_test!(the_span_closes_when_the_runtime_drops_the_task, |rt| {
    install();
    let tag = fresh_tag();
    let task = rt.spawn(async move {
        Probed { tag, left: 0 }.await;
        std::future::pending::<()>().await;
    });
    let id = task.id();
    rt.block_on(eventually("the task is polled", || !probes(tag).is_empty()));
    drop(rt);
    let span = span_of(id);
    assert!(
        span.closed,
        "shutdown cancels the task, which ends its span"
    );
    assert_eq!(span.enters, span.exits);
});
