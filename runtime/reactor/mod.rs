//! The IO reactor: the only code, with `net/`, that names mio.
//!
//! `driver` turns `mio::Poll` and dispatches readiness to `scheduled_io::ScheduledIo`s;
//! `poll_evented` wraps a mio source so sockets can wait for readiness from a task.

mod driver;
mod poll_evented;
mod scheduled_io;

pub(crate) use driver::{IoHandle, Reactor};
pub(crate) use poll_evented::PollEvented;
pub(crate) use scheduled_io::Direction;
