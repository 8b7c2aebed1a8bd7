//! Request/reply calls to the workers the route names
//! (`bubblewasm_dial_v1`), granted by the route key
//! `dial = { worker = "unix:///run/worker.sock", remote = "amqp://host/?queue=work" }`.
//!
//! ```no_run
//! let reply = bubble::dial::call("worker", b"resize 42", 0)?;
//! if bubble::dial::status()? >= 400 { /* the worker's own error answer */ }
//! # Ok::<(), bubble::Error>(())
//! ```

use crate::{negotiate_from, sys, Error, Result};

/// The buffer [`call`] tries first; a longer reply is copied with
/// `reply` into a buffer of its exact size, without calling again.
const FIRST_BUF: usize = 2 << 10;

/// Sends `req` to `target`, a name in the route's `dial` table, and returns
/// the reply. It waits up to `timeout_ms` milliseconds (≤ 0: until the
/// exchange's deadline). The reply is the same whatever the transport: over
/// a socket, the line the worker answered, its newline included; over AMQP,
/// the reply message's body. A worker's own error answer is a reply, not an
/// error: see [`status`].
///
/// Errors: [`Error::Denied`] (target not in the route's `dial`),
/// [`Error::Timeout`], [`Error::Closed`] (the worker or broker went away
/// mid-call, or the exchange was cancelled), [`Error::Io`] (the worker
/// cannot be reached), [`Error::TooLarge`] (reply over 1 MiB),
/// [`Error::Invalid`] (a request with a newline inside, to a socket
/// target).
pub fn call(target: &str, req: &[u8], timeout_ms: i32) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; FIRST_BUF];
    let n = sys::dial_call(target.as_bytes(), req, timeout_ms, &mut buf);
    if n < 0 {
        return Err(Error::from_code(n));
    }
    if n as usize <= buf.len() {
        buf.truncate(n as usize);
        return Ok(buf);
    }
    negotiate_from(n as usize, sys::dial_reply)
}

/// The last reply of this exchange again, without calling the worker.
/// Errors: [`Error::NotFound`] when the last [`call`] failed or there was
/// none.
pub fn reply() -> Result<Vec<u8>> {
    negotiate_from(FIRST_BUF, sys::dial_reply)
}

/// The status of the last reply of this exchange: an AMQP worker's
/// `x-bubble-status` (200, 400, ...), or 0 when the target's transport
/// carries none (unix and tcp targets). Errors: [`Error::NotFound`] as for
/// [`reply`].
pub fn status() -> Result<i32> {
    let n = sys::dial_status();
    if n < 0 {
        Err(Error::from_code(n))
    } else {
        Ok(n)
    }
}
