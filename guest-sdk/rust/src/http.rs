//! Outbound HTTP (`bubblewasm_http_v1`), granted by the route key
//! `outbound = ["https://api.example.com", "http://127.0.0.1:9000"]`: only
//! URLs under an entry are reachable, and a name that resolves to a
//! private, loopback or link-local address is refused unless the entry
//! names that address literally.
//!
//! ```no_run
//! use std::io::Read;
//!
//! let mut resp = bubble::http::get("https://api.example.com/v1/items")?;
//! let mut body = Vec::new();
//! resp.read_to_end(&mut body)?;
//! println!("{} {:?} {}", resp.status(), resp.header("content-type"), body.len());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The host follows redirects (at most 10) while every hop stays within
//! the grant; a redirect outside it comes back as the 3xx response itself.
//! An exchange has at most 8 responses open at once: drop (or
//! [`Response::close`]) the ones you are done with.

use std::io;

use crate::{negotiate_from, sys, Error, Result, MAX_CALL};

/// An outbound request, built up by its methods and sent with
/// [`Request::send`].
#[derive(Clone, Debug)]
pub struct Request<'a> {
    method: &'a str,
    url: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
    timeout_ms: i32,
}

impl<'a> Request<'a> {
    /// A request with no headers, no body and the route's outbound timeout.
    pub fn new(method: &'a str, url: &'a str) -> Request<'a> {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: &[],
            timeout_ms: 0,
        }
    }

    /// Adds a header (repeated names are allowed). The host sets `Host`,
    /// `Content-Length`, `Transfer-Encoding` and `Connection` itself:
    /// sending one of them is [`Error::Invalid`].
    pub fn header(mut self, name: &'a str, value: &'a str) -> Request<'a> {
        self.headers.push((name, value));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: &'a [u8]) -> Request<'a> {
        self.body = body;
        self
    }

    /// Sets how long the whole call may take, from sending the request to
    /// the last read of the response body (not each read anew); ≤ 0 (the
    /// default) means the route's outbound timeout. Every wait ends at the
    /// exchange's deadline too.
    pub fn timeout_ms(mut self, ms: i32) -> Request<'a> {
        self.timeout_ms = ms;
        self
    }

    /// Sends the request and waits for the response's status line and
    /// headers; read the body from the [`Response`].
    ///
    /// Errors: [`Error::Denied`] (URL outside the route's `outbound`, or a
    /// name resolving to an address the entry does not allow),
    /// [`Error::Invalid`] (bad method, URL or header: a name that is not a
    /// token, a value with CR, LF or NUL, a header the host controls),
    /// [`Error::TooLarge`] (body over the route's cap),
    /// [`Error::Timeout`], [`Error::Closed`] (the exchange was cancelled),
    /// [`Error::Io`] (DNS, connection or TLS failure, malformed response),
    /// [`Error::Full`] (8 responses open already).
    pub fn send(&self) -> Result<Response> {
        let headers = encode_headers(&self.headers)?;
        let h = sys::http_request(
            self.method.as_bytes(),
            self.url.as_bytes(),
            &headers,
            self.body,
            self.timeout_ms,
        );
        if h < 0 {
            return Err(Error::from_code(h));
        }
        let status = sys::http_status(h);
        if status < 0 {
            sys::http_close(h);
            return Err(Error::from_code(status));
        }
        Ok(Response {
            handle: h,
            status: status as u16,
            eof: false,
        })
    }
}

/// Sends a GET request for `url` with the route's outbound timeout.
pub fn get(url: &str) -> Result<Response> {
    Request::new("GET", url).send()
}

/// Sends a POST request with `body` and a `Content-Type` of
/// `content_type`.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Response> {
    Request::new("POST", url)
        .header("Content-Type", content_type)
        .body(body)
        .send()
}

/// The ABI's header encoding: `Name: value\n` lines. A name that is empty
/// or holds a colon, space or control byte, or a value with CR, LF or NUL,
/// would break the encoding: [`Error::Invalid`] before anything is sent.
fn encode_headers(headers: &[(&str, &str)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let bad_name = name.is_empty() || name.bytes().any(|c| c <= b' ' || c == b':' || c == 0x7f);
        let bad_value = value.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0);
        if bad_name || bad_value {
            return Err(Error::Invalid);
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// An outbound response: its status and headers, and its body through
/// [`io::Read`] (`Ok(0)` at the end). Dropping it closes it on the host.
///
/// Body reads fail with an `io::Error` carrying [`Error::TooLarge`] once
/// the body passes the route's response cap, [`Error::Timeout`],
/// [`Error::Closed`] or [`Error::Io`]; `bubble::Error::from` gets it back.
#[derive(Debug)]
pub struct Response {
    handle: i32,
    status: u16,
    eof: bool,
}

impl Response {
    /// The HTTP status code, such as 200.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response headers as (name, value) pairs, names canonical
    /// (`Content-Type`), in a stable order; a repeated header comes as
    /// several pairs.
    pub fn headers(&self) -> Result<Vec<(String, String)>> {
        let raw = negotiate_from(1 << 10, |buf| sys::http_headers(self.handle, buf))?;
        Ok(decode_headers(&raw))
    }

    /// The first value of header `name` (case-insensitive), `None` when the
    /// response has none (or its headers cannot be read).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .ok()?
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Closes the response now, dropping the rest of its body; dropping it
    /// does the same.
    pub fn close(self) {}
}

/// Splits `Name: value\n` lines; a line without a colon is skipped.
fn decode_headers(raw: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(raw)
        .split('\n')
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.to_string(), value.trim_start_matches(' ').to_string()))
        })
        .collect()
}

impl io::Read for Response {
    /// Reads the body; `Ok(0)` at its end (and for an empty `buf`).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.eof || buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(MAX_CALL);
        let n = sys::http_read(self.handle, &mut buf[..len]);
        if n < 0 {
            return Err(Error::from_code(n).into());
        }
        if n == 0 {
            self.eof = true;
        }
        Ok(n as usize)
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        sys::http_close(self.handle);
    }
}
