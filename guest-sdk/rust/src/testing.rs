//! Native testing of handlers: an in-memory fake host. Only outside wasm32.
//!
//! Build the SDK and your handler for the machine you are on and run the
//! handler with a [`Request`]:
//!
//! ```
//! use std::io::Write;
//! use bubble::testing::Request;
//!
//! fn hello(x: &mut bubble::Exchange) -> std::io::Result<()> {
//!     x.set_header("Content-Type", "text/plain")?;
//!     x.write_all(b"Hello!\n")
//! }
//!
//! let resp = Request::new().env("REQUEST_METHOD", "GET").serve(hello);
//! assert_eq!(resp.code, 0);
//! assert_eq!(resp.header("content-type"), Some("text/plain"));
//! assert_eq!(resp.body, b"Hello!\n");
//! ```
//!
//! The fake host enforces the ABI's rules as the real one does: metadata
//! commits on the first write or flush, header names must be tokens and
//! values free of CR/LF/NUL, the status is 200 to 999, size negotiation
//! writes nothing into a buffer that is too small, keys come in ascending
//! byte order and a zero-length read is `ERR_INVALID`. Calling the SDK
//! outside [`Request::serve`] panics.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};

use crate::{Error, Exchange, Level};

pub(crate) mod ext;
pub use self::ext::{Host, HttpRequest, HttpResponse};

#[derive(Default, Debug, Clone)]
struct State {
    env: BTreeMap<Vec<u8>, Vec<u8>>, // BTreeMap: keys in ascending byte order
    input: Vec<u8>,
    pos: usize,
    chunk: usize,
    fail_output: Option<Error>,
    committed: bool,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    flushed_at: Option<usize>,
    logs: Vec<(Level, String)>,
    // parking: the wait registered in this run, the stash, the waking
    // signal's payload, the resume count
    park: Option<Park>,
    stash: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    resumes: u32,
    // extensions: the shared fake host, the exchange's own state
    host: Option<Host>,
    ext: ext::ExchangeExt,
}

/// A wait a handler registered: `on` is `"message"`, `"signal"` or
/// `"timeout"`, `name` the subscription id or the signal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Park {
    /// What the exchange waits for.
    pub on: &'static str,
    /// The subscription id or the signal name (empty for a timeout).
    pub name: String,
    /// The timeout in milliseconds.
    pub timeout_ms: i32,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| match s.borrow_mut().as_mut() {
        Some(st) => f(st),
        None => panic!("bubble: no exchange: call the SDK inside bubble::testing::Request::serve"),
    })
}

/// The input of a fake exchange, built up by its methods.
#[derive(Default)]
pub struct Request {
    state: State,
}

/// What a fake exchange produced.
#[derive(Debug)]
pub struct Response {
    /// What `bubble_handle` returned: 0 for success, non-zero for failure
    /// (also when the handler panicked).
    pub code: i32,
    /// The panic message when the handler panicked (a trap on wasm).
    pub panic: Option<String>,
    /// The status, 200 unless the handler set one.
    pub status: u16,
    /// The headers in the order they were set, names as given.
    pub headers: Vec<(String, String)>,
    /// The output.
    pub body: Vec<u8>,
    /// How many bytes of output were written before the first flush.
    pub flushed_at: Option<usize>,
    /// The log records (of every run, after [`Response::resume`]).
    pub logs: Vec<(Level, String)>,
    /// The wait the handler registered when it returned `Ok`, or `None`
    /// when the exchange ended. [`Response::resume`] runs the next run.
    /// The fake host grants every wait.
    pub parked: Option<Park>,
    /// How many outbound HTTP responses the handler left open (the host
    /// closes them when the exchange ends; dropping a
    /// [`crate::http::Response`] closes it).
    pub open_responses: usize,
    state: State,
}

impl Request {
    /// An exchange with an empty env and no input.
    pub fn new() -> Request {
        Request::default()
    }

    /// Sets an env key.
    pub fn env(mut self, key: &str, value: &str) -> Request {
        self.state
            .env
            .insert(key.as_bytes().to_vec(), value.as_bytes().to_vec());
        self
    }

    /// Sets the input.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.state.input = body.into();
        self
    }

    /// Makes each read return at most `n` bytes (0: no limit), to test
    /// short reads.
    pub fn read_chunk(mut self, n: usize) -> Request {
        self.state.chunk = n;
        self
    }

    /// Serves the exchange with the extensions of `host` (granted as it
    /// says; shared with its clones). Without a host every extension call
    /// is [`Error::Denied`].
    pub fn host(mut self, host: &Host) -> Request {
        self.state.host = Some(host.clone());
        self
    }

    /// Makes every write and flush fail with `e`, as when the peer is gone
    /// (`Error::Closed`).
    pub fn fail_output(mut self, e: Error) -> Request {
        self.state.fail_output = Some(e);
        self
    }

    /// Runs `handler` as the exported `bubble_handle` would (through
    /// [`crate::run`]) and returns what it produced.
    pub fn serve<F, E>(self, handler: F) -> Response
    where
        F: FnOnce(&mut Exchange) -> std::result::Result<(), E>,
        E: Display,
    {
        self.run(|| crate::run(handler))
    }

    /// Runs an exported entry point, such as the `bubble_handle` that
    /// [`crate::handler!`] defined, and returns what it produced:
    /// `Request::new().call(bubble_handle)`. A panic cannot unwind out of
    /// an `extern "C"` function (Rust 1.81 and later abort the process):
    /// test panicking handlers with [`Request::serve`].
    pub fn call(self, entry: extern "C" fn() -> i32) -> Response {
        self.run(|| entry())
    }

    fn run(mut self, entry: impl FnOnce() -> i32) -> Response {
        if self.state.status == 0 {
            self.state.status = 200;
        }
        self.state.park = None;
        STATE.with(|s| *s.borrow_mut() = Some(std::mem::take(&mut self.state)));
        let result = panic::catch_unwind(AssertUnwindSafe(entry));
        let mut st = STATE.with(|s| s.borrow_mut().take()).unwrap_or_default();
        let (code, panic) = match result {
            Ok(code) => (code, None),
            Err(payload) => {
                let msg = if let Some(s) = payload.downcast_ref::<&str>() {
                    (*s).to_string()
                } else if let Some(s) = payload.downcast_ref::<String>() {
                    s.clone()
                } else {
                    "panic".to_string()
                };
                (1, Some(msg))
            }
        };
        if code != 0 {
            st.park = None; // a failed run's wait is dropped
        }
        Response {
            code,
            panic,
            status: st.status,
            headers: st.headers.clone(),
            body: st.body.clone(),
            flushed_at: st.flushed_at,
            logs: st.logs.clone(),
            parked: st.park.clone(),
            open_responses: st.ext.open_responses(),
            state: st,
        }
    }
}

impl Response {
    /// Runs `handler` again as the host would after the park the exchange
    /// ended in: the same env plus `bubble.resume` and `bubble.wake`
    /// (`wake`, such as `"timeout"`), the rest of the input, the output,
    /// status and headers so far, the stash; `payload` is the waking
    /// signal's. Panics when the exchange is not parked.
    pub fn resume<F, E>(self, wake: &str, payload: Option<&[u8]>, handler: F) -> Response
    where
        F: FnOnce(&mut Exchange) -> std::result::Result<(), E>,
        E: Display,
    {
        let mut st = self.state;
        assert!(st.park.is_some(), "bubble: resume of an exchange that is not parked");
        st.resumes += 1;
        st.env.insert(b"bubble.resume".to_vec(), st.resumes.to_string().into_bytes());
        st.env.insert(b"bubble.wake".to_vec(), wake.as_bytes().to_vec());
        st.payload = payload.map(<[u8]>::to_vec);
        Request { state: st }.serve(handler)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The output as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The ABI's size negotiation: copy only when everything fits.
fn fill(buf: &mut [u8], data: &[u8]) -> i32 {
    if data.len() <= buf.len() {
        buf[..data.len()].copy_from_slice(data);
    }
    data.len() as i32
}

/// The fake imports, with the signatures of `sys` on wasm32.
pub(crate) mod host {
    use super::{with, Park, State};
    use crate::Error;

    use super::fill;

    pub fn env_get(key: &[u8], buf: &mut [u8]) -> i32 {
        with(|st| match st.env.get(key) {
            Some(v) => fill(buf, v),
            None => Error::NotFound.code(),
        })
    }

    pub fn env_keys(buf: &mut [u8]) -> i32 {
        with(|st| {
            let mut all = Vec::new();
            for k in st.env.keys() {
                all.extend_from_slice(k);
                all.push(0);
            }
            fill(buf, &all)
        })
    }

    pub fn read(buf: &mut [u8]) -> i32 {
        with(|st| {
            if buf.is_empty() {
                return Error::Invalid.code();
            }
            let mut n = buf.len().min(st.input.len() - st.pos);
            if st.chunk > 0 {
                n = n.min(st.chunk);
            }
            buf[..n].copy_from_slice(&st.input[st.pos..st.pos + n]);
            st.pos += n;
            n as i32
        })
    }

    fn output(st: &mut State) -> Result<(), i32> {
        st.committed = true;
        match st.fail_output {
            Some(e) => Err(e.code()),
            None => Ok(()),
        }
    }

    pub fn write(buf: &[u8]) -> i32 {
        with(|st| match output(st) {
            Err(code) => code,
            Ok(()) => {
                st.body.extend_from_slice(buf);
                buf.len() as i32
            }
        })
    }

    pub fn flush() -> i32 {
        with(|st| match output(st) {
            Err(code) => code,
            Ok(()) => {
                st.flushed_at.get_or_insert(st.body.len());
                0
            }
        })
    }

    pub fn set_status(code: i32) -> i32 {
        with(|st| {
            if !(200..=999).contains(&code) {
                Error::Invalid.code()
            } else if st.committed {
                Error::Committed.code()
            } else {
                st.status = code as u16;
                0
            }
        })
    }

    fn is_token(name: &[u8]) -> bool {
        !name.is_empty()
            && name
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
    }

    fn header(add: bool, name: &[u8], value: &[u8]) -> i32 {
        with(|st| {
            if !is_token(name) || value.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f) {
                return Error::Invalid.code();
            }
            // The host owns the framing of the response (ABI.md).
            const OWNED: [&str; 7] = [
                "connection",
                "keep-alive",
                "proxy-connection",
                "transfer-encoding",
                "upgrade",
                "trailer",
                "te",
            ];
            let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
            if OWNED.contains(&lower.as_str()) {
                return Error::Invalid.code();
            }
            if lower == "content-length"
                && (value.is_empty()
                    || value.len() > 18
                    || (value.len() > 1 && value[0] == b'0')
                    || !value.iter().all(|c| c.is_ascii_digit())
                    || (add && st.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(&lower))))
            {
                return Error::Invalid.code();
            }
            if st.committed {
                return Error::Committed.code();
            }
            let name = String::from_utf8_lossy(name).into_owned();
            if !add {
                st.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
            }
            st.headers
                .push((name, String::from_utf8_lossy(value).into_owned()));
            0
        })
    }

    pub fn set_header(name: &[u8], value: &[u8]) -> i32 {
        header(false, name, value)
    }

    pub fn add_header(name: &[u8], value: &[u8]) -> i32 {
        header(true, name, value)
    }

    pub fn log(level: i32, msg: &[u8]) {
        with(|st| {
            st.logs.push((
                crate::Level(level),
                String::from_utf8_lossy(msg).into_owned(),
            ))
        })
    }

    /// Registers a wait, its arguments checked as the host checks them;
    /// the fake grants every wait.
    fn park(on: &'static str, name: &[u8], timeout_ms: i32) -> i32 {
        with(|st| {
            if timeout_ms <= 0 || st.park.is_some() {
                return Error::Invalid.code();
            }
            st.park = Some(Park {
                on,
                name: String::from_utf8_lossy(name).into_owned(),
                timeout_ms,
            });
            0
        })
    }

    pub fn park_message(id: &[u8], timeout_ms: i32) -> i32 {
        park("message", id, timeout_ms)
    }

    pub fn park_signal(name: &[u8], timeout_ms: i32) -> i32 {
        if name.is_empty() || name.len() > 256 {
            return Error::Invalid.code();
        }
        park("signal", name, timeout_ms)
    }

    pub fn park_sleep(timeout_ms: i32) -> i32 {
        park("timeout", b"", timeout_ms)
    }

    pub fn park_cancel() -> i32 {
        with(|st| st.park = None);
        0
    }

    pub fn park_stash(state: &[u8]) -> i32 {
        if state.len() > crate::MAX_STATE {
            return Error::TooLarge.code();
        }
        with(|st| st.stash = Some(state.to_vec()));
        0
    }

    pub fn park_state(buf: &mut [u8]) -> i32 {
        with(|st| match &st.stash {
            Some(s) => fill(buf, s),
            None => Error::NotFound.code(),
        })
    }

    pub fn park_payload(buf: &mut [u8]) -> i32 {
        with(|st| match &st.payload {
            Some(p) => fill(buf, p),
            None => Error::NotFound.code(),
        })
    }
}
