//! What tasks wait on, from the primitives' wait tracking (on with deadlock detection).

use crate::diag::dump::{Holder, Owner, WaitInfo};
use runtime_primitives::diag::{self as tracking, Party};
use std::collections::HashMap;

/// Every tracked wait of a task, by task id (empty while tracking is off).
pub(crate) fn by_task() -> HashMap<u64, WaitInfo> {
    if !tracking::enabled() {
        return HashMap::new();
    }
    tracking::waits()
        .into_iter()
        .filter_map(|wait| {
            let task = wait.waiter().task_id()?;
            let info = WaitInfo {
                kind: wait.resource().kind().name(),
                created_at: wait.resource().created(),
                waits_at: wait.waits_at(),
                elapsed: Some(wait.started().elapsed()),
                holders: wait
                    .holders()
                    .iter()
                    .map(|h| Holder {
                        owner: owner(h.who()),
                        taken_at: h.since(),
                        count: h.permits(),
                    })
                    .collect(),
            };
            Some((task, info))
        })
        .collect()
}

fn owner(party: &Party) -> Owner {
    match party.task_id().and_then(crate::task::Id::from_u64) {
        Some(id) => Owner::Task(id),
        None => Owner::Thread(match party.name() {
            Some(name) => name.to_owned(),
            None => format!("#{}", party.key() & !tracking::THREAD_KEY),
        }),
    }
}
