//! One-shot signals between exchanges (`bubblewasm_signal_v1`), granted by
//! the route key `signals = ["job.*"]`. A signal is an event, not a
//! message: a [`send`] wakes the exchanges waiting on its name at that
//! moment and is lost when none waits (use [`crate::pubsub`] for messages
//! that must wait for their reader). Names follow the rules of channel
//! names ([`crate::pubsub`]).
//!
//! A handler that would rather not hold its instance while it waits parks
//! instead: [`crate::park_signal`].

use crate::pubsub::count;
#[allow(unused_imports)] // the doc links
use crate::Error;
use crate::{sys, Result};

/// The longest payload [`wait`] returns: 64 KiB.
pub const MAX_PAYLOAD: usize = 64 << 10;

/// Waits up to `timeout_ms` milliseconds (≤ 0: do not wait; every wait also
/// ends at the exchange's deadline) for a [`send`] on `name` and returns
/// its payload. A payload longer than [`MAX_PAYLOAD`] comes back cut to
/// that length: the host drops what does not fit ([`wait_into`] sees the
/// full length). A handler may write and flush output before it waits.
///
/// Errors: [`Error::Timeout`] (no send in time), [`Error::Closed`] (the
/// exchange was cancelled), [`Error::Denied`] (name outside the route's
/// grant), [`Error::Invalid`] (bad name).
pub fn wait(name: &str, timeout_ms: i32) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; MAX_PAYLOAD];
    let n = wait_into(name, timeout_ms, &mut buf)?;
    buf.truncate(n.min(MAX_PAYLOAD));
    Ok(buf)
}

/// Like [`wait`], into `buf`: returns the payload's full length, of which
/// the first `buf.len()` bytes at most were copied (the rest is dropped).
pub fn wait_into(name: &str, timeout_ms: i32, buf: &mut [u8]) -> Result<usize> {
    count(sys::signal_wait(name.as_bytes(), timeout_ms, buf))
}

/// Wakes every exchange waiting on `name` with `payload` and returns how
/// many it woke. Errors: [`Error::Denied`], [`Error::Invalid`],
/// [`Error::TooLarge`].
pub fn send(name: &str, payload: &[u8]) -> Result<usize> {
    count(sys::signal_send(name.as_bytes(), payload))
}
