//! The fake host's extensions: pub/sub, signals, key-value, dial and
//! outbound HTTP, granted and configured through a [`Host`].

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use crate::Error;

/// What the fake extensions share between exchanges: their grants, the
/// subscriptions, the key-value store, the dial targets and the outbound
/// HTTP handler. Clones share it; pass it to [`super::Request::host`]. A
/// request without one is refused every extension call
/// ([`Error::Denied`]).
///
/// ```
/// use bubble::testing::{Host, Request};
///
/// let host = Host::new().pubsub(&["chat.*"]).kv().dial("echo", 0, |req| Ok(req.to_vec()));
/// let resp = Request::new().host(&host).serve(|_x| {
///     bubble::kv::set("k", b"v", 0)?;
///     bubble::pubsub::publish("chat.a", b"hi")
/// #       .map(|_| ())
/// });
/// assert_eq!(resp.code, 0);
/// assert_eq!(host.kv_value("k"), Some(b"v".to_vec()));
/// ```
#[derive(Clone, Default)]
pub struct Host {
    w: Rc<RefCell<World>>,
}

type DialFn = Rc<dyn Fn(&[u8]) -> Result<Vec<u8>, Error>>;
type HttpFn = Rc<dyn Fn(&HttpRequest) -> Result<HttpResponse, Error>>;

#[derive(Default)]
struct World {
    pubsub: Vec<String>,
    signals: Vec<String>,
    kv: bool,
    subs: BTreeMap<String, (String, VecDeque<Vec<u8>>)>,
    next_sub: u64,
    store: BTreeMap<Vec<u8>, Vec<u8>>,
    pending: BTreeMap<String, Vec<u8>>,
    sent: Vec<(String, Vec<u8>)>,
    targets: BTreeMap<String, (i32, DialFn)>,
    outbound: Vec<String>,
    http: Option<HttpFn>,
}

/// A request a handler sent through [`crate::http`], as the fake host's
/// outbound handler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method, such as `"GET"`.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The headers in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What the fake host's outbound handler answers.
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers; the fake host canonicalizes the names and sorts them.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// When set, the read after the body fails with this error instead of
    /// returning the end (as a body over the route's cap does, with
    /// [`Error::TooLarge`]).
    pub read_error: Option<Error>,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Host")
    }
}

/// The most outbound responses an exchange has open at once.
const MAX_OPEN: usize = 8;
/// The fake's limits, the real host's defaults.
const MAX_MESSAGE: usize = 64 << 10;
const MAX_VALUE: usize = 64 << 10;
const MAX_REPLY: usize = 1 << 20;
const MAX_HTTP_BODY: usize = 1 << 20;

impl Host {
    /// A host that grants nothing.
    pub fn new() -> Host {
        Host::default()
    }

    /// Grants the pub/sub channels matching `patterns` (the route key
    /// `pubsub`; the ABI's pattern rules).
    pub fn pubsub(self, patterns: &[&str]) -> Host {
        self.w.borrow_mut().pubsub = patterns.iter().map(|p| p.to_string()).collect();
        self
    }

    /// Grants the signals matching `patterns` (the route key `signals`).
    pub fn signals(self, patterns: &[&str]) -> Host {
        self.w.borrow_mut().signals = patterns.iter().map(|p| p.to_string()).collect();
        self
    }

    /// Grants a key-value namespace (the route key `kv`).
    pub fn kv(self) -> Host {
        self.w.borrow_mut().kv = true;
        self
    }

    /// Adds the dial target `name`, whose replies carry `status` (0 for a
    /// socket target, which refuses a request with a newline inside), and
    /// whose worker is `worker`: it gets the request and answers the reply
    /// or an error code.
    pub fn dial(
        self,
        name: &str,
        status: i32,
        worker: impl Fn(&[u8]) -> Result<Vec<u8>, Error> + 'static,
    ) -> Host {
        self.w
            .borrow_mut()
            .targets
            .insert(name.to_string(), (status, Rc::new(worker)));
        self
    }

    /// Grants outbound HTTP to the URLs under `allow` (the route key
    /// `outbound`) and answers them with `server`.
    pub fn outbound(
        self,
        allow: &[&str],
        server: impl Fn(&HttpRequest) -> Result<HttpResponse, Error> + 'static,
    ) -> Host {
        {
            let mut w = self.w.borrow_mut();
            w.outbound = allow.iter().map(|p| p.to_string()).collect();
            w.http = Some(Rc::new(server));
        }
        self
    }

    /// Publishes `msg` on `channel` as another exchange would; returns the
    /// subscriptions it was queued for.
    pub fn publish(&self, channel: &str, msg: &[u8]) -> usize {
        let mut w = self.w.borrow_mut();
        let mut n = 0;
        for (ch, q) in w.subs.values_mut() {
            if ch == channel {
                q.push_back(msg.to_vec());
                n += 1;
            }
        }
        n
    }

    /// Makes the next wait on signal `name` return `payload` at once, as
    /// if another exchange sent it while the handler waited.
    pub fn signal_later(&self, name: &str, payload: &[u8]) {
        self.w
            .borrow_mut()
            .pending
            .insert(name.to_string(), payload.to_vec());
    }

    /// The signals handlers sent, in order.
    pub fn sent(&self) -> Vec<(String, Vec<u8>)> {
        self.w.borrow().sent.clone()
    }

    /// The stored value of `key`.
    pub fn kv_value(&self, key: &str) -> Option<Vec<u8>> {
        self.w.borrow().store.get(key.as_bytes()).cloned()
    }

    /// How many subscriptions exist.
    pub fn subscriptions(&self) -> usize {
        self.w.borrow().subs.len()
    }
}

/// What one exchange holds: the last dial reply and its status, the open
/// outbound responses.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExchangeExt {
    reply: Option<(Vec<u8>, i32)>,
    open: BTreeMap<i32, (HttpResponse, usize)>,
    next_handle: i32,
}

impl ExchangeExt {
    /// How many outbound responses are still open.
    pub(crate) fn open_responses(&self) -> usize {
        self.open.len()
    }
}

/// A channel, signal or namespace name as ABI.md defines it.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .iter()
            .all(|&c| (0x21..=0x7e).contains(&c) && !b"*?[]\\".contains(&c))
        && name.split(|&c| c == b'.').all(|seg| !seg.is_empty())
}

/// Whether a grant pattern matches a (valid) name, ABI.md's rules.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let wild = |s: &str| s.contains(|c| c == '*' || c == '?');
    if pattern == "*" {
        return true;
    }
    if !wild(pattern) {
        return pattern == name;
    }
    if let Some(base) = pattern.strip_suffix(".*") {
        if !wild(base) {
            return name == base
                || (name.len() > base.len() + 1
                    && name.starts_with(base)
                    && name.as_bytes()[base.len()] == b'.');
        }
    }
    let ps: Vec<&str> = pattern.split('.').collect();
    let ns: Vec<&str> = name.split('.').collect();
    ps.len() == ns.len()
        && ps
            .iter()
            .zip(&ns)
            .all(|(p, n)| glob(p.as_bytes(), n.as_bytes()))
}

/// `*` matches any run, `?` one byte, anything else itself.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// `content-type` → `Content-Type`, as Go's net/textproto does.
fn canonical(name: &str) -> String {
    let mut up = true;
    name.chars()
        .map(|c| {
            let out = if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            up = c == '-';
            out
        })
        .collect()
}

/// The fake imports, with the signatures of `sys` on wasm32.
pub(crate) mod host {
    use super::*;
    use crate::testing::{fill, with};

    /// Runs f on the exchange's host and per-exchange state; without a host
    /// every call is refused, as on a route without the grant.
    fn try_ext<R>(
        f: impl FnOnce(&mut World, &mut ExchangeExt) -> Result<R, i32>,
    ) -> Result<R, i32> {
        with(|st| match st.host.clone() {
            Some(h) => f(&mut h.w.borrow_mut(), &mut st.ext),
            None => Err(Error::Denied.code()),
        })
    }

    /// [`try_ext`] for a call whose result is a code: Ok(n) or Err(code).
    fn ext(f: impl FnOnce(&mut World, &mut ExchangeExt) -> Result<i32, i32>) -> i32 {
        try_ext(f).unwrap_or_else(|code| code)
    }

    fn name_check(patterns: &[String], name: &[u8]) -> Result<String, i32> {
        if !valid_name(name) {
            return Err(Error::Invalid.code());
        }
        let name = String::from_utf8_lossy(name).into_owned();
        if !patterns.iter().any(|p| matches(p, &name)) {
            return Err(Error::Denied.code());
        }
        Ok(name)
    }

    /// An error result of a fake call.
    fn fail(e: Error) -> Result<i32, i32> {
        Err(e.code())
    }

    pub fn publish(channel: &[u8], msg: &[u8]) -> i32 {
        ext(|w, _| {
            let ch = name_check(&w.pubsub, channel)?;
            if msg.len() > MAX_MESSAGE {
                return fail(Error::TooLarge);
            }
            let mut n = 0;
            for (c, q) in w.subs.values_mut() {
                if *c == ch {
                    q.push_back(msg.to_vec());
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    pub fn subscribe(channel: &[u8], id: &mut [u8]) -> i32 {
        ext(|w, _| {
            if id.len() < crate::pubsub::MAX_SUBSCRIPTION_ID {
                return fail(Error::Invalid);
            }
            let ch = name_check(&w.pubsub, channel)?;
            w.next_sub += 1;
            let new = format!("fake-subscription-{}", w.next_sub);
            w.subs.insert(new.clone(), (ch, VecDeque::new()));
            Ok(fill(id, new.as_bytes()))
        })
    }

    pub fn fetch(id: &[u8], _timeout_ms: i32, buf: &mut [u8]) -> i32 {
        ext(|w, _| {
            let key = String::from_utf8_lossy(id).into_owned();
            let q = match w.subs.get_mut(&key) {
                Some((_, q)) if id.len() <= crate::pubsub::MAX_SUBSCRIPTION_ID => q,
                _ => return fail(Error::NotFound),
            };
            // Nobody else runs while the handler waits: nothing can arrive.
            let n = fill(buf, q.front().ok_or(Error::Timeout.code())?);
            if n as usize <= buf.len() {
                q.pop_front();
            }
            Ok(n)
        })
    }

    pub fn unsubscribe(id: &[u8]) -> i32 {
        ext(|w, _| match w.subs.remove(&*String::from_utf8_lossy(id)) {
            Some(_) => Ok(0),
            None => fail(Error::NotFound),
        })
    }

    pub fn signal_wait(name: &[u8], _timeout_ms: i32, buf: &mut [u8]) -> i32 {
        ext(|w, _| {
            let name = name_check(&w.signals, name)?;
            let p = w.pending.remove(&name).ok_or(Error::Timeout.code())?;
            let n = p.len().min(buf.len());
            buf[..n].copy_from_slice(&p[..n]);
            Ok(p.len() as i32)
        })
    }

    pub fn signal_send(name: &[u8], payload: &[u8]) -> i32 {
        ext(|w, _| {
            let name = name_check(&w.signals, name)?;
            if payload.len() > MAX_MESSAGE {
                return fail(Error::TooLarge);
            }
            w.sent.push((name, payload.to_vec()));
            Ok(0) // the fake has no other exchange waiting
        })
    }

    /// The key-value grant.
    fn kv_granted(w: &World) -> Result<(), i32> {
        if w.kv {
            Ok(())
        } else {
            Err(Error::Denied.code())
        }
    }

    pub fn kv_get(key: &[u8], buf: &mut [u8]) -> i32 {
        ext(|w, _| {
            kv_granted(w)?;
            Ok(fill(buf, w.store.get(key).ok_or(Error::NotFound.code())?))
        })
    }

    pub fn kv_set(key: &[u8], value: &[u8], _ttl_ms: i32) -> i32 {
        ext(|w, _| {
            kv_granted(w)?;
            if key.len() > crate::kv::MAX_KEY || value.len() > MAX_VALUE {
                return fail(Error::TooLarge);
            }
            w.store.insert(key.to_vec(), value.to_vec());
            Ok(0)
        })
    }

    pub fn kv_delete(key: &[u8]) -> i32 {
        ext(|w, _| {
            kv_granted(w)?;
            w.store.remove(key);
            Ok(0)
        })
    }

    pub fn dial_call(target: &[u8], req: &[u8], _timeout_ms: i32, buf: &mut [u8]) -> i32 {
        let worker = try_ext(|w, x| {
            x.reply = None;
            match w.targets.get(&*String::from_utf8_lossy(target)) {
                Some(t) if target.len() <= 64 => Ok(t.clone()),
                _ => Err(Error::Denied.code()),
            }
        });
        let (status, worker) = match worker {
            Ok(t) => t,
            Err(code) => return code,
        };
        if status == 0 && req.contains(&b'\n') {
            return Error::Invalid.code();
        }
        // Called outside the borrow: a worker may use the Host.
        let reply = match worker(req) {
            Err(e) => return e.code(),
            Ok(r) if r.len() > MAX_REPLY => return Error::TooLarge.code(),
            Ok(r) => r,
        };
        let n = fill(buf, &reply);
        with(|st| st.ext.reply = Some((reply, status)));
        n
    }

    pub fn dial_reply(buf: &mut [u8]) -> i32 {
        with(|st| match &st.ext.reply {
            Some((r, _)) => fill(buf, r),
            None => Error::NotFound.code(),
        })
    }

    pub fn dial_status() -> i32 {
        with(|st| match &st.ext.reply {
            Some((_, s)) => *s,
            None => Error::NotFound.code(),
        })
    }

    /// The host sets these itself (outbound-abi: hop-by-hop and
    /// host-controlled headers).
    const OWNED: [&str; 9] = [
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "upgrade",
        "te",
        "trailer",
    ];

    fn parse_headers(raw: &[u8]) -> Option<Vec<(String, String)>> {
        let text = std::str::from_utf8(raw).ok()?;
        if !text.is_empty() && !text.ends_with('\n') {
            return None;
        }
        let mut out = Vec::new();
        for line in text.split_terminator('\n') {
            let (name, value) = line.split_once(':')?;
            let value = value.trim_start_matches(' ');
            if !is_token(name.as_bytes()) || value.contains(|c| c == '\r' || c == '\0') {
                return None;
            }
            if OWNED.contains(&name.to_ascii_lowercase().as_str()) {
                return None;
            }
            out.push((name.to_string(), value.to_string()));
        }
        Some(out)
    }

    fn allowed(allow: &[String], url: &str) -> bool {
        allow.iter().any(|a| {
            let a = a.trim_end_matches('/');
            url == a
                || url
                    .strip_prefix(a)
                    .map_or(false, |rest| rest.starts_with('/') || rest.starts_with('?'))
        })
    }

    pub fn http_request(
        method: &[u8],
        url: &[u8],
        headers: &[u8],
        body: &[u8],
        _timeout_ms: i32,
    ) -> i32 {
        let server = try_ext(|w, x| {
            let url = String::from_utf8_lossy(url);
            if !is_token(method) || !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Invalid.code());
            }
            let headers = parse_headers(headers).ok_or(Error::Invalid.code())?;
            if w.http.is_none() || !allowed(&w.outbound, &url) {
                return Err(Error::Denied.code());
            }
            if body.len() > MAX_HTTP_BODY {
                return Err(Error::TooLarge.code());
            }
            if x.open.len() >= MAX_OPEN {
                return Err(Error::Full.code());
            }
            let req = HttpRequest {
                method: String::from_utf8_lossy(method).into_owned(),
                url: url.into_owned(),
                headers,
                body: body.to_vec(),
            };
            Ok((w.http.clone(), req))
        });
        let (server, req) = match server {
            Ok((Some(s), req)) => (s, req),
            Ok((None, _)) => return Error::Denied.code(),
            Err(code) => return code,
        };
        let mut resp = match server(&req) {
            Ok(r) => r,
            Err(e) => return e.code(),
        };
        for h in &mut resp.headers {
            h.0 = canonical(&h.0);
        }
        resp.headers.sort_by(|a, b| a.0.cmp(&b.0)); // stable: repeated names keep their order
        with(|st| {
            st.ext.next_handle += 1;
            let h = st.ext.next_handle;
            st.ext.open.insert(h, (resp, 0));
            h
        })
    }

    pub fn http_status(handle: i32) -> i32 {
        with(|st| match st.ext.open.get(&handle) {
            Some((r, _)) => i32::from(r.status),
            None => Error::NotFound.code(),
        })
    }

    pub fn http_headers(handle: i32, buf: &mut [u8]) -> i32 {
        with(|st| match st.ext.open.get(&handle) {
            Some((r, _)) => {
                let mut all = Vec::new();
                for (k, v) in &r.headers {
                    all.extend_from_slice(format!("{}: {}\n", k, v).as_bytes());
                }
                fill(buf, &all)
            }
            None => Error::NotFound.code(),
        })
    }

    pub fn http_read(handle: i32, buf: &mut [u8]) -> i32 {
        with(|st| match st.ext.open.get_mut(&handle) {
            None => Error::NotFound.code(),
            Some(_) if buf.is_empty() => Error::Invalid.code(),
            Some((r, pos)) => {
                let n = buf.len().min(r.body.len() - *pos);
                if n == 0 {
                    return r.read_error.map_or(0, Error::code);
                }
                buf[..n].copy_from_slice(&r.body[*pos..*pos + n]);
                *pos += n;
                n as i32
            }
        })
    }

    pub fn http_close(handle: i32) -> i32 {
        with(|st| match st.ext.open.remove(&handle) {
            Some(_) => 0,
            None => Error::NotFound.code(),
        })
    }
}
