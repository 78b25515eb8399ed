//! Adapters that plug this runtime into other ecosystems' traits, so libraries written
//! against those traits run here unchanged.
//!
//! - [`hyper`] (feature `hyper`): executor, timer and IO adapters for hyper 1.x servers and
//!   clients.

pub mod hyper;
