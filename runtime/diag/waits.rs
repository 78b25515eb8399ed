//! What tasks wait on, from the primitives' wait tracking (on with deadlock detection).

use crate::diag::dump::WaitInfo;
use std::collections::HashMap;

/// Every tracked wait of a task, by task id.
pub(crate) fn by_task() -> HashMap<u64, WaitInfo> {
    HashMap::new()
}
