//! Pub/sub: the channels and their subscribers' inboxes.

use std::collections::HashMap;
use std::sync::Mutex;

use runtime::sync::channel::{self, TrySendError};

use super::resp::{array, bulk};
use super::{lock, Frame};

/// A channel's subscribers: each is a client id and the sender of its inbox.
type Subscribers = Vec<(u64, channel::Sender<Frame>)>;

/// Subscribers by channel name.
#[derive(Default)]
pub(crate) struct PubSub {
    channels: Mutex<HashMap<Vec<u8>, Subscribers>>,
}

impl PubSub {
    pub(crate) fn subscribe(&self, name: &[u8], id: u64, inbox: channel::Sender<Frame>) {
        lock(&self.channels)
            .entry(name.to_vec())
            .or_default()
            .push((id, inbox));
    }

    pub(crate) fn unsubscribe(&self, name: &[u8], id: u64) {
        let mut channels = lock(&self.channels);
        if let Some(subscribers) = channels.get_mut(name) {
            subscribers.retain(|(sub, _)| *sub != id);
            if subscribers.is_empty() {
                channels.remove(name);
            }
        }
    }

    /// Sends `message` to every subscriber of `name`; returns how many got it.
    pub(crate) fn publish(&self, name: &[u8], message: &[u8]) -> usize {
        let mut frame = Vec::with_capacity(32 + name.len() + message.len());
        array(&mut frame, 3);
        bulk(&mut frame, b"message");
        bulk(&mut frame, name);
        bulk(&mut frame, message);
        let frame: Frame = frame.into();
        let channels = lock(&self.channels);
        let Some(subscribers) = channels.get(name) else {
            return 0;
        };
        let mut received = 0;
        for (_, inbox) in subscribers {
            match inbox.try_send(frame.clone()) {
                Ok(()) => received += 1,
                // A whole backlog behind: closing its inbox ends its connection once it
                // has written what is queued.
                Err(TrySendError::Full(_)) => drop(inbox.close()),
                Err(TrySendError::Closed(_)) => {}
            }
        }
        received
    }
}
