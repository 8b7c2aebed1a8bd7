//! Publish/subscribe between exchanges (`bubblewasm_pubsub_v1`), granted by
//! the route key `pubsub = ["chat.*"]`.
//!
//! ```no_run
//! let id = bubble::pubsub::subscribe("chat.room1")?;
//! bubble::pubsub::publish("chat.room1", b"hello")?;
//! let msg = bubble::pubsub::fetch(&id, 1000)?; // b"hello"
//! # Ok::<(), bubble::Error>(())
//! ```
//!
//! Channel names are 1 to 256 bytes of printable ASCII without spaces or
//! `* ? [ ] \`, single dots separating non-empty segments (`chat.room1`;
//! not `chat.` or `a..b`); a bad one is [`Error::Invalid`]. A channel
//! outside the route's grant is [`Error::Denied`].

use crate::{negotiate_from, sys, Error, Result};

/// The longest subscription id the host issues: 64 bytes.
pub const MAX_SUBSCRIPTION_ID: usize = 64;

/// The buffer [`fetch`] tries first; a longer message takes a second call
/// with a buffer of its exact size.
const FIRST_BUF: usize = 2 << 10;

/// Queues `msg` on every subscription of `channel` and returns how many
/// subscriptions it was queued for (0 when nobody listens).
///
/// Errors: [`Error::Denied`] (channel outside the route's grant),
/// [`Error::Invalid`] (bad channel name), [`Error::TooLarge`] (`msg` over
/// the route's message limit, 64 KiB by default).
pub fn publish(channel: &str, msg: &[u8]) -> Result<usize> {
    count(sys::publish(channel.as_bytes(), msg))
}

/// Creates a subscription to `channel` and returns its id.
///
/// The subscription lives on the host, not in the instance, and outlives
/// the exchange: keep the id (in a cookie, a stash) and [`fetch`] from it
/// in later exchanges of the route (or of its `pubsub_scope`). Messages
/// published after `subscribe` returns reach it, up to the route's queue
/// size; a subscription whose queue overflows, or that nobody fetches from
/// for the route's idle time, is dropped. The id is an unguessable bearer
/// token: do not log or show it.
///
/// Errors: those of [`publish`], and [`Error::Full`] at the route's or the
/// host's subscription cap.
pub fn subscribe(channel: &str) -> Result<String> {
    let mut id = [0u8; MAX_SUBSCRIPTION_ID];
    let n = sys::subscribe(channel.as_bytes(), &mut id);
    if n < 0 {
        return Err(Error::from_code(n));
    }
    match id.get(..n as usize).map(std::str::from_utf8) {
        Some(Ok(s)) => Ok(s.to_string()),
        _ => Err(Error::Io), // the host broke its promise
    }
}

/// Takes the next message of subscription `id`, waiting up to `timeout_ms`
/// milliseconds for one (≤ 0: do not wait; every wait also ends at the
/// exchange's deadline). Messages of any size come back whole.
///
/// Errors: [`Error::Timeout`] (nothing arrived in time),
/// [`Error::NotFound`] (the subscription is gone: unsubscribed, dropped,
/// never issued, or another route's: subscribe again), [`Error::Closed`]
/// (the exchange was cancelled), [`Error::Denied`].
///
/// A message longer than the first buffer (2 KiB) stays queued until a
/// second call with a buffer of its size takes it; if another exchange
/// took it in between, `fetch` waits for the next one, with the whole
/// timeout again.
pub fn fetch(id: &str, timeout_ms: i32) -> Result<Vec<u8>> {
    negotiate_from(FIRST_BUF, |buf| sys::fetch(id.as_bytes(), timeout_ms, buf))
}

/// Ends subscription `id` and drops its queued messages. Errors:
/// [`Error::NotFound`] when it no longer exists, which callers usually
/// ignore.
pub fn unsubscribe(id: &str) -> Result<()> {
    count(sys::unsubscribe(id.as_bytes())).map(|_| ())
}

/// A count or a negative code.
pub(crate) fn count(n: i32) -> Result<usize> {
    if n < 0 {
        Err(Error::from_code(n))
    } else {
        Ok(n as usize)
    }
}
