//! The Rust guest SDK for bubblewasm: it turns a Rust function into a
//! WebAssembly request handler that speaks the `bubblewasm_v1` host ABI
//! (`abi/ABI.md` in the bubblewasm repository; the env keys are in
//! `abi/ENV.md`).
//!
//! A handler takes the exchange and returns a `Result`; the [`handler!`]
//! macro exports it as `bubble_handle`:
//!
//! ```no_run
//! use std::io::Write;
//!
//! fn hello(x: &mut bubble::Exchange) -> std::io::Result<()> {
//!     x.set_header("Content-Type", "text/plain")?;
//!     x.write_all(b"Hello, world!\n")
//! }
//!
//! bubble::handler!(hello);
//! ```
//!
//! Build the crate as a `cdylib` for `wasm32-wasi` (see README.md for the
//! exact commands; a WASI reactor links `crt1-reactor.o`).
//!
//! [`Exchange`] is an [`std::io::Read`] (the input; `Ok(0)` at its end) and
//! an [`std::io::Write`] (the output). Status and headers commit on the
//! first write or flush. Host failures are [`Error`] values; they convert to
//! and from `std::io::Error` without losing the code, so `?` works on both
//! in a handler that returns either `bubble::Result<()>` or
//! `std::io::Result<()>`.
//!
//! A panic aborts the instance (wasm32-wasi has no unwinding): the message
//! reaches the server log through stderr and the exchange fails.
//!
//! The extensions (abi/ABI.md, "Extensions") are the modules [`pubsub`],
//! [`signal`], [`kv`], [`dial`] and [`http`] (outbound HTTP). A module
//! imports an extension only when it calls one of its functions, and a
//! module that imports one loads only on a route that grants it
//! (`pubsub = [...]`, `signals = [...]`, `kv = "..."`, `dial = {...}`,
//! `outbound = [...]`).
//!
//! Outside wasm32 the host imports are replaced by an in-memory fake, so
//! handler logic runs under plain `rustc --test`; see [`testing`].

use std::fmt;
use std::io;

mod sys;

pub mod dial;
pub mod http;
pub mod kv;
pub mod pubsub;
pub mod signal;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

/// Largest length passed to the host in one call: its results are `i32`.
const MAX_CALL: usize = 1 << 30;

// ------------------------------------------------------------------ errors

/// A negative result of the host ABI, version 1.
///
/// The extensions give some codes a meaning of their own: `NotFound` from
/// [`pubsub::fetch`] or [`pubsub::unsubscribe`] is a subscription that is
/// gone, `Timeout` from a wait is "nothing arrived in time", `Closed` that
/// the exchange was cancelled while waiting, and `Full` that a store is at
/// capacity (the call may succeed later), not that an argument is too
/// large (`TooLarge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// `ERR_NOT_FOUND` (-1): the env key does not exist.
    NotFound,
    /// `ERR_INVALID` (-2): an argument is not acceptable (status out of
    /// range, header name not a token, header value with CR/LF/NUL).
    Invalid,
    /// `ERR_COMMITTED` (-3): status and headers can no longer change: output
    /// was already written or flushed.
    Committed,
    /// `ERR_CLOSED` (-4): the peer went away or the output is closed.
    Closed,
    /// `ERR_IO` (-5): input or output failed for another reason; also any
    /// code this SDK does not know.
    Io,
    /// `ERR_TIMEOUT` (-6): the exchange's deadline passed during the call.
    Timeout,
    /// `ERR_TOO_LARGE` (-7): the input exceeds a configured limit.
    TooLarge,
    /// `ERR_DENIED` (-8): an extension call outside the route's grant.
    Denied,
    /// `ERR_FULL` (-9): a store or service is at capacity (a full
    /// key-value namespace, a subscription cap); nothing was stored.
    Full,
}

/// `Result<T, bubble::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The error of a negative host result; an unknown code is
    /// [`Error::Io`], as the ABI requires.
    pub fn from_code(code: i32) -> Error {
        match code {
            -1 => Error::NotFound,
            -2 => Error::Invalid,
            -3 => Error::Committed,
            -4 => Error::Closed,
            -6 => Error::Timeout,
            -7 => Error::TooLarge,
            -8 => Error::Denied,
            -9 => Error::Full,
            _ => Error::Io,
        }
    }

    /// The ABI's code, such as -4 for [`Error::Closed`].
    pub fn code(self) -> i32 {
        match self {
            Error::NotFound => -1,
            Error::Invalid => -2,
            Error::Committed => -3,
            Error::Closed => -4,
            Error::Io => -5,
            Error::Timeout => -6,
            Error::TooLarge => -7,
            Error::Denied => -8,
            Error::Full => -9,
        }
    }

    /// The ABI's name, such as `"ERR_CLOSED"`.
    pub fn name(self) -> &'static str {
        match self {
            Error::NotFound => "ERR_NOT_FOUND",
            Error::Invalid => "ERR_INVALID",
            Error::Committed => "ERR_COMMITTED",
            Error::Closed => "ERR_CLOSED",
            Error::Io => "ERR_IO",
            Error::Timeout => "ERR_TIMEOUT",
            Error::TooLarge => "ERR_TOO_LARGE",
            Error::Denied => "ERR_DENIED",
            Error::Full => "ERR_FULL",
        }
    }

    fn kind(self) -> io::ErrorKind {
        match self {
            Error::NotFound => io::ErrorKind::NotFound,
            Error::Invalid => io::ErrorKind::InvalidInput,
            Error::Closed => io::ErrorKind::BrokenPipe,
            Error::Timeout => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::Other,
        }
    }
}

/// Displays the ABI's name, such as `ERR_CLOSED`.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for Error {}

/// An `io::Error` that carries the `bubble::Error`; [`From<io::Error>`]
/// gets it back.
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// The `bubble::Error` inside an `io::Error` made from one; otherwise one
/// chosen by the kind (`BrokenPipe` and the like: `Closed`, `TimedOut`:
/// `Timeout`, `InvalidInput`: `Invalid`, anything else: `Io`).
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        if let Some(b) = e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
            return *b;
        }
        match e.kind() {
            io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof => Error::Closed,
            io::ErrorKind::TimedOut => Error::Timeout,
            io::ErrorKind::InvalidInput => Error::Invalid,
            _ => Error::Io,
        }
    }
}

fn check(r: i32) -> Result<()> {
    if r < 0 {
        Err(Error::from_code(r))
    } else {
        Ok(())
    }
}

// --------------------------------------------------------------- exchange

/// One unit of work: the environment, the input stream and the output with
/// its status and headers. The SDK makes one per exchange and lends it to
/// the handler.
///
/// Read the input with [`io::Read`]: `Ok(0)` is the end of the input (the
/// body or the message is complete). Write the output with [`io::Write`];
/// the first write, even of zero bytes, commits the status and headers.
/// Note that `write_all(b"")` does not call `write` at all: use
/// [`Exchange::flush`] to commit without output.
pub struct Exchange {
    eof: bool,
    // Not Send/Sync: the host calls belong to the handler's thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Runs `f` with buffers of growing size until the host's result fits
/// (the ABI's size negotiation).
fn negotiate(f: impl FnMut(&mut [u8]) -> i32) -> Result<Vec<u8>> {
    negotiate_from(128, f)
}

/// [`negotiate`] starting with a buffer of `cap` bytes.
pub(crate) fn negotiate_from(cap: usize, mut f: impl FnMut(&mut [u8]) -> i32) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; cap];
    loop {
        let n = f(&mut buf);
        if n < 0 {
            return Err(Error::from_code(n));
        }
        let n = n as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(n, 0);
    }
}

fn string(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

impl Exchange {
    fn new() -> Exchange {
        Exchange {
            eof: false,
            _not_send: std::marker::PhantomData,
        }
    }

    /// The value of the env key, or `None` when the key does not exist.
    /// `abi/ENV.md` lists the keys, such as `"REQUEST_METHOD"`. A value
    /// that is not UTF-8 (a header with obs-text bytes, say) is converted
    /// lossily; [`Exchange::env_bytes`] returns the exact bytes.
    pub fn env(&self, key: &str) -> Option<String> {
        self.env_bytes(key).map(string)
    }

    /// The value of the env key as bytes, or `None` when it does not exist.
    pub fn env_bytes(&self, key: &str) -> Option<Vec<u8>> {
        negotiate(|buf| sys::env_get(key.as_bytes(), buf)).ok()
    }

    /// Copies the value of the env key into `buf` and returns its length
    /// `n`, without allocating. When `n > buf.len()` nothing was copied:
    /// call again with a buffer of at least `n` bytes. `None` when the key
    /// does not exist.
    pub fn env_into(&self, key: &str, buf: &mut [u8]) -> Option<usize> {
        let n = sys::env_get(key.as_bytes(), buf);
        if n < 0 {
            None
        } else {
            Some(n as usize)
        }
    }

    /// Every env key, in ascending byte order.
    pub fn env_keys(&self) -> Vec<String> {
        let all = negotiate(sys::env_keys).unwrap_or_default();
        match all.split_last() {
            // Each key is followed by a NUL: split what precedes the last.
            Some((0, keys)) => keys
                .split(|&b| b == 0)
                .map(|k| string(k.to_vec()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The whole env as (key, value) pairs, in ascending key order.
    pub fn environ(&self) -> Vec<(String, String)> {
        self.env_keys()
            .into_iter()
            .filter_map(|k| self.env(&k).map(|v| (k, v)))
            .collect()
    }

    /// Sets the response status (the ABI accepts 200 to 999; the default is
    /// 200). Fails with [`Error::Invalid`] out of range and with
    /// [`Error::Committed`] after the first write or flush. Transports
    /// without a status (line, raw) accept and ignore it.
    pub fn set_status(&mut self, code: u16) -> Result<()> {
        check(sys::set_status(i32::from(code)))
    }

    /// Replaces every value of the response header `name` with `value`.
    /// Names are case-insensitive. Fails with [`Error::Invalid`] if the name
    /// is not an RFC 9110 token or the value holds CR, LF or NUL (checked
    /// first), and with [`Error::Committed`] after the first write or flush.
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<()> {
        check(sys::set_header(name.as_bytes(), value.as_bytes()))
    }

    /// Appends `value` to the response header `name`; fails like
    /// [`Exchange::set_header`].
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<()> {
        check(sys::add_header(name.as_bytes(), value.as_bytes()))
    }

    /// Commits the status and headers and pushes buffered output to the
    /// peer now (an HTTP response starts streaming). `io::Write::flush`
    /// does the same.
    pub fn flush(&mut self) -> Result<()> {
        check(sys::flush())
    }
}

impl io::Read for Exchange {
    /// Reads input; `Ok(0)` at the end of the input (and for an empty
    /// `buf`). Host failures are `io::Error`s carrying a [`Error`].
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.eof || buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(MAX_CALL);
        let n = sys::read(&mut buf[..len]);
        if n < 0 {
            return Err(Error::from_code(n).into());
        }
        if n == 0 {
            self.eof = true;
        }
        Ok(n as usize)
    }
}

impl io::Write for Exchange {
    /// Writes all of `buf` (up to 1 GiB per call) and returns its length.
    /// After an error an unknown prefix may have reached the peer: end the
    /// exchange.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len().min(MAX_CALL);
        let n = sys::write(&buf[..len]);
        if n < 0 {
            return Err(Error::from_code(n).into());
        }
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        Exchange::flush(self).map_err(io::Error::from)
    }
}

// -------------------------------------------------------------------- log

/// The severity of a log record; the values are those of Go's `log/slog`.
/// The host clamps other values to these four (`Level(2)` is logged as
/// info, anything from 8 up as error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(pub i32);

impl Level {
    /// Debug, -4.
    pub const DEBUG: Level = Level(-4);
    /// Info, 0.
    pub const INFO: Level = Level(0);
    /// Warn, 4.
    pub const WARN: Level = Level(4);
    /// Error, 8.
    pub const ERROR: Level = Level(8);
}

/// Writes one record to the server log at `level`, tagged with the route.
/// The message is taken as given: one record however many lines it has.
pub fn log(level: Level, msg: &str) {
    sys::log(level.0, msg.as_bytes());
}

// ------------------------------------------------------------------- park

/// The most [`stash`] keeps: 4096 bytes.
pub const MAX_STATE: usize = 4096;

/// Why a run resumes a parked exchange (the env key `bubble.wake`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wake {
    /// The subscription has a message (still queued: fetch it), or is gone.
    Message,
    /// A send on the signal; [`wake_payload`] returns its payload.
    Signal,
    /// The park's timeout passed.
    Timeout,
    /// The server is stopping: answer now.
    Shutdown,
    /// A value this SDK does not know.
    Unknown,
}

impl Wake {
    /// The env value, such as `"timeout"` (`"unknown"` for
    /// [`Wake::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Wake::Message => "message",
            Wake::Signal => "signal",
            Wake::Timeout => "timeout",
            Wake::Shutdown => "shutdown",
            Wake::Unknown => "unknown",
        }
    }
}

/// Parks the exchange (`bubblewasm_park_v1`, granted to every route) until
/// subscription `id` has a message queued (or is gone) or `timeout_ms`
/// pass: return `Ok` from the handler and the host frees the instance,
/// keeps the exchange (connection, env, unread input, status, headers,
/// output) and runs the handler again, on a new or pooled instance, when
/// the wait ends. Statics do not survive: keep what the next run needs
/// with [`stash`]; [`resumed`] says why it woke.
///
/// Fails with [`Error::Invalid`] (`timeout_ms` ≤ 0, a wait already
/// registered in this run), [`Error::Denied`] (no pubsub grant),
/// [`Error::NotFound`] (an unknown subscription), [`Error::Closed`] (the
/// server is shutting down) or [`Error::Full`] (the route's `max_waiting`).
pub fn park_message(id: &str, timeout_ms: i32) -> Result<()> {
    check(sys::park_message(id.as_bytes(), timeout_ms))
}

/// Parks the exchange, as [`park_message`] does, until a send on the signal
/// `name` or `timeout_ms` pass (a send from this call on is not missed).
pub fn park_signal(name: &str, timeout_ms: i32) -> Result<()> {
    check(sys::park_signal(name.as_bytes(), timeout_ms))
}

/// Parks the exchange, as [`park_message`] does, for `timeout_ms`.
pub fn park_timeout(timeout_ms: i32) -> Result<()> {
    check(sys::park_sleep(timeout_ms))
}

/// Drops the wait this run registered, if any.
pub fn unpark() {
    sys::park_cancel();
}

/// Keeps a copy of `state` for the exchange's later runs, replacing an
/// earlier stash. Fails with [`Error::TooLarge`] over [`MAX_STATE`] bytes.
pub fn stash(state: &[u8]) -> Result<()> {
    if state.len() > MAX_STATE {
        return Err(Error::TooLarge);
    }
    check(sys::park_stash(state))
}

/// What an earlier run of this exchange stashed; `None` when nothing was.
pub fn state() -> Option<Vec<u8>> {
    negotiate(sys::park_state).ok()
}

/// The payload of the signal that woke this run; `None` when no signal did.
pub fn wake_payload() -> Option<Vec<u8>> {
    negotiate(sys::park_payload).ok()
}

/// On a run that resumes a parked exchange: how many times it has been
/// resumed (1 on the first resumed run) and why it woke. `None` on an
/// exchange's first run.
pub fn resumed() -> Option<(u32, Wake)> {
    let mut buf = [0u8; 16];
    let n = sys::env_get(b"bubble.wake", &mut buf);
    if n < 0 || n as usize > buf.len() {
        return None;
    }
    let wake = match &buf[..n as usize] {
        b"message" => Wake::Message,
        b"signal" => Wake::Signal,
        b"timeout" => Wake::Timeout,
        b"shutdown" => Wake::Shutdown,
        _ => Wake::Unknown,
    };
    let n = sys::env_get(b"bubble.resume", &mut buf);
    let digits = if n > 0 && n as usize <= buf.len() { &buf[..n as usize] } else { &[][..] };
    let count = digits
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u32, |n, &c| n.saturating_mul(10).saturating_add(u32::from(c - b'0')));
    Some((count, wake))
}

// ----------------------------------------------------------- registration

/// Runs a handler as the exported `bubble_handle` does: it lends `f` a new
/// [`Exchange`] and returns 0 on `Ok`. On `Err(e)` it logs
/// `bubble: handler failed: {e}` at error level and returns 1, which fails
/// the exchange (an HTTP 500 if nothing was written yet, otherwise a
/// cut-short response). [`handler!`] calls it.
pub fn run<F, E>(f: F) -> i32
where
    F: FnOnce(&mut Exchange) -> std::result::Result<(), E>,
    E: fmt::Display,
{
    match f(&mut Exchange::new()) {
        Ok(()) => 0,
        Err(e) => {
            log(Level::ERROR, &format!("bubble: handler failed: {e}"));
            1
        }
    }
}

/// Makes a function the module's handler: `bubble::handler!(my_fn);` at the
/// crate's top level defines the exported `extern "C" fn bubble_handle`,
/// which the host calls once per exchange. `my_fn` is any
/// `FnOnce(&mut Exchange) -> Result<(), E>` with `E: Display`, such as
/// `fn(&mut Exchange) -> std::io::Result<()>`.
///
/// Use it once per module: a second one does not compile (two
/// `bubble_handle`s), and a module without one has no `bubble_handle`
/// export, which the host refuses at load.
#[macro_export]
macro_rules! handler {
    ($f:expr) => {
        #[no_mangle]
        pub extern "C" fn bubble_handle() -> i32 {
            $crate::run($f)
        }
    };
}

/// Makes a function run once per instance, before its first exchange (the
/// ABI's `bubble_init` export): `bubble::init!(setup);` where `setup` is an
/// `FnOnce() -> Result<(), E>` with `E: Display`. An `Err` is logged and
/// rejects the instance; the host reports it when it loads the module.
/// Optional.
#[macro_export]
macro_rules! init {
    ($f:expr) => {
        #[no_mangle]
        pub extern "C" fn bubble_init() -> i32 {
            match ($f)() {
                Ok(()) => 0,
                Err(e) => {
                    $crate::log($crate::Level::ERROR, &format!("bubble: init failed: {}", e));
                    1
                }
            }
        }
    };
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_ext;
