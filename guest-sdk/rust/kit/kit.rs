//! The Rust SDK's conformance kit module: one handler implements every case
//! of guest-sdk/CONFORMANCE.md with the SDK's public API only. The case is
//! PATH_INFO; without PATH_INFO (the line transport) it is /echo. The
//! extension cases (/pubsub, /signal, /kv, /dial, /http) make the module import
//! every extension: it loads only on a route that grants them all.
//!
//! Build: guest-sdk/rust/build-kit.sh OUT.wasm
//! Test natively: guest-sdk/rust/test.sh; on every engine:
//! go test ./guest-sdk/conformance/

use std::cell::RefCell;
use std::io::{self, Read, Write};

use bubble::{dial, http, kv, pubsub, signal, Error, Exchange, Level};

bubble::handler!(kit);

fn kit(x: &mut Exchange) -> io::Result<()> {
    let path = x.env("PATH_INFO").unwrap_or_else(|| "/echo".to_string());
    match path.as_str() {
        "/env" => env(x),
        "/keys" => keys(x),
        "/echo" => echo(x),
        "/status" => status(x),
        "/log" => {
            bubble::log(Level::DEBUG, "kit debug");
            bubble::log(Level::INFO, "kit info");
            bubble::log(Level::WARN, "kit warn");
            bubble::log(Level::ERROR, "kit error");
            x.write_all(b"logged")
        }
        // The SDK's error path: the error is logged, bubble_handle returns 1.
        "/fail" => Err(io::Error::new(
            io::ErrorKind::Other,
            "kit: /fail asks the exchange to fail",
        )),
        // A panic aborts: a wasm trap, the instance is discarded.
        "/trap" => panic!("kit: /trap asks the instance to abort"),
        "/committed" => committed(x),
        "/invalid" => invalid(x),
        "/flush" => flush(x),
        "/park" => park(x),
        "/pubsub" => extension(x, "pubsub", pubsub_case),
        "/signal" => extension(x, "signal", signal_case),
        "/kv" => extension(x, "kv", kv_case),
        "/dial" => extension(x, "dial", dial_case),
        "/http" => extension(x, "http", http_case),
        _ => {
            x.set_status(404)?;
            write!(x, "kit: unknown case {path}")
        }
    }
}

/// env responds with the value of the key named by QUERY_STRING.
fn env(x: &mut Exchange) -> io::Result<()> {
    let key = x.env("QUERY_STRING").unwrap_or_default();
    match x.env_bytes(&key) {
        Some(v) => x.write_all(&v),
        None => {
            x.set_status(404)?;
            x.write_all(b"missing")
        }
    }
}

/// keys lists every env key, one a line, in the order the SDK returns them.
fn keys(x: &mut Exchange) -> io::Result<()> {
    let mut out = String::new();
    for k in x.env_keys() {
        out.push_str(&k);
        out.push('\n');
    }
    x.write_all(out.as_bytes())
}

thread_local! {
    // One buffer per instance, zeroed once; exchanges never overlap.
    static BUF: RefCell<[u8; 32 << 10]> = const { RefCell::new([0; 32 << 10]) };
}

/// copy_input writes the whole input to the output, chunk by chunk, through
/// one fixed buffer.
fn copy_input(x: &mut Exchange) -> io::Result<()> {
    BUF.with(|buf| {
        let buf = &mut *buf.borrow_mut();
        loop {
            match x.read(buf)? {
                0 => return Ok(()), // end of input
                n => x.write_all(&buf[..n])?,
            }
        }
    })
}

/// echo streams the input back with the request's Content-Type.
fn echo(x: &mut Exchange) -> io::Result<()> {
    if let Some(ct) = x.env("CONTENT_TYPE") {
        x.set_header("Content-Type", &ct)?;
    }
    copy_input(x)
}

/// status sets the status named by QUERY_STRING and two X-Kit values.
fn status(x: &mut Exchange) -> io::Result<()> {
    let q = x.env("QUERY_STRING").unwrap_or_default();
    let code: u16 = q.parse().map_err(|_| Error::Invalid)?;
    x.set_status(code)?;
    x.set_header("X-Kit", "a")?;
    x.add_header("X-Kit", "b")?;
    x.write_all(b"ok")
}

/// committed checks that the status cannot change after the first write.
fn committed(x: &mut Exchange) -> io::Result<()> {
    x.write_all(b"x")?;
    match x.set_status(500) {
        Err(Error::Committed) => x.write_all(b"committed-ok"),
        other => write!(x, "committed-wrong: {other:?}"),
    }
}

/// invalid checks that a header name that is not a token is refused.
fn invalid(x: &mut Exchange) -> io::Result<()> {
    match x.set_header("bad name", "v") {
        Err(Error::Invalid) => x.write_all(b"invalid-ok"),
        other => write!(x, "invalid-wrong: {other:?}"),
    }
}

/// flush sends "first" before reading any input, then echoes the input.
fn flush(x: &mut Exchange) -> io::Result<()> {
    x.write_all(b"first")?;
    x.flush()?;
    copy_input(x)
}

/// park parks twice for 1 ms with "kit" in the stash; each resumed run
/// reports its count, why it woke and the stash.
fn park(x: &mut Exchange) -> io::Result<()> {
    match bubble::resumed() {
        None => {
            if bubble::park_timeout(0) != Err(Error::Invalid) {
                return x.write_all(b"bad");
            }
            x.set_header("X-Kit-Park", "1")?;
            bubble::stash(b"kit")?;
            x.write_all(b"0;")?;
            Ok(bubble::park_timeout(1)?)
        }
        Some((n, wake)) => {
            let state = bubble::state().unwrap_or_default();
            write!(x, "{}:{}:{};", n, wake.as_str(), String::from_utf8_lossy(&state))?;
            if n < 2 {
                bubble::park_timeout(1)?;
            }
            Ok(())
        }
    }
}

/// The extension case's body in lower case without `ERR_` (`notfound`,
/// `timeout`, `denied`, `toolarge`, ...), or `ok` when the call succeeded.
fn outcome<T>(r: bubble::Result<T>) -> String {
    match r {
        Ok(_) => "ok".to_string(),
        Err(e) => e.name().trim_start_matches("ERR_").replace('_', "").to_lowercase(),
    }
}

/// extension writes what case returns; a step that fails where the case
/// expects success answers 500 with the step and the error's name.
fn extension(x: &mut Exchange, name: &str, case: fn(&str) -> Result<String, (&'static str, Error)>) -> io::Result<()> {
    let query = x.env("QUERY_STRING").unwrap_or_default();
    match case(&query) {
        Ok(body) => x.write_all(body.as_bytes()),
        Err((step, e)) => {
            x.set_status(500)?;
            write!(x, "{name}: {step}: {e}")
        }
    }
}

/// Tags an error with the step of the case that failed.
fn at(step: &'static str) -> impl Fn(Error) -> (&'static str, Error) {
    move |e| (step, e)
}

fn pubsub_case(_: &str) -> Result<String, (&'static str, Error)> {
    let id = pubsub::subscribe("kit.ps").map_err(at("subscribe"))?;
    let n = pubsub::publish("kit.ps", b"hello").map_err(at("publish"))?;
    let msg = pubsub::fetch(&id, 1000).map_err(at("fetch"))?;
    pubsub::unsubscribe(&id).map_err(at("unsubscribe"))?;
    let gone = outcome(pubsub::fetch(&id, 0));
    let denied = outcome(pubsub::publish("other", b"x"));
    Ok(format!("pubsub {} {} {} {}", n, String::from_utf8_lossy(&msg), gone, denied))
}

fn signal_case(_: &str) -> Result<String, (&'static str, Error)> {
    let woken = signal::send("kit.sig", b"x").map_err(at("send"))?;
    let waited = outcome(signal::wait("kit.sig", 1));
    let denied = outcome(signal::send("nope", b"x"));
    Ok(format!("signal {woken} {waited} {denied}"))
}

fn kv_case(query: &str) -> Result<String, (&'static str, Error)> {
    kv::set("kit.k", query.as_bytes(), 0).map_err(at("set"))?;
    let v = kv::get("kit.k").map_err(at("get"))?.unwrap_or_default();
    kv::delete("kit.k").map_err(at("delete"))?;
    let gone = match kv::get("kit.k") {
        Ok(None) => "notfound".to_string(), // the SDK's answer for a missing key
        other => outcome(other),
    };
    let too_large = outcome(kv::set(&"a".repeat(300), b"x", 0));
    Ok(format!("kv {} {} {}", String::from_utf8_lossy(&v), gone, too_large))
}

fn dial_case(query: &str) -> Result<String, (&'static str, Error)> {
    let reply = dial::call("echo", query.as_bytes(), 0).map_err(at("call"))?;
    let reply = reply.strip_suffix(b"\n").unwrap_or(&reply);
    let status = dial::status().map_err(at("status"))?;
    let denied = outcome(dial::call("nope", b"x", 0));
    Ok(format!("dial {} {} {}", String::from_utf8_lossy(reply), status, denied))
}

/// Continues the Adler-32 sum of CONFORMANCE.md over `bytes`.
fn adler32(sum: u32, bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (sum & 0xffff, sum >> 16);
    for &c in bytes {
        a = (a + c as u32) % 65521;
        b = (b + a) % 65521;
    }
    b << 16 | a
}

fn http_case(url: &str) -> Result<String, (&'static str, Error)> {
    let mut resp = http::Request::new("GET", url)
        .header("X-Kit", "kit")
        .send()
        .map_err(at("request"))?;
    let echo = resp.header("X-Kit-Echo").unwrap_or_default();
    // Streams: one buffer, never the whole body.
    let (mut buf, mut len, mut sum) = ([0u8; 4096], 0usize, 1u32);
    loop {
        let n = resp.read(&mut buf).map_err(|e| ("read", Error::from(e)))?;
        if n == 0 {
            break;
        }
        len += n;
        sum = adler32(sum, &buf[..n]);
    }
    let status = resp.status();
    resp.close();
    let denied = outcome(http::get("http://127.0.0.2/kit"));
    Ok(format!("http {status} {echo} {len} {sum} {denied}"))
}

#[cfg(test)]
mod tests {
    use bubble::testing::{Host, HttpResponse, Request, Response};
    use bubble::Level;

    fn serve(path: Option<&str>, req: Request) -> Response {
        let req = req.env("REQUEST_METHOD", "GET");
        match path {
            Some(p) => req.env("PATH_INFO", p),
            None => req,
        }
        .serve(super::kit)
    }

    #[test]
    fn env() {
        let long = "L".repeat(10 << 10);
        let r = serve(
            Some("/env"),
            Request::new()
                .env("QUERY_STRING", "HTTP_X_LONG")
                .env("HTTP_X_LONG", &long),
        );
        assert_eq!((r.code, r.status, r.text()), (0, 200, long));
        let r = serve(
            Some("/env"),
            Request::new().env("QUERY_STRING", "REQUEST_METHOD"),
        );
        assert_eq!(r.text(), "GET");
        let r = serve(Some("/env"), Request::new().env("QUERY_STRING", "NOPE"));
        assert_eq!(
            (r.code, r.status, r.text()),
            (0, 404, "missing".to_string())
        );
    }

    #[test]
    fn keys() {
        let r = serve(Some("/keys"), Request::new().env("b", "").env("B", ""));
        assert_eq!(r.text(), "B\nPATH_INFO\nREQUEST_METHOD\nb\n");
    }

    #[test]
    fn echo() {
        let body: Vec<u8> = (0..(1u32 << 20))
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let r = serve(
            Some("/echo"),
            Request::new()
                .env("CONTENT_TYPE", "application/x-kit")
                .body(body.clone())
                .read_chunk(1000),
        );
        assert_eq!(r.code, 0);
        assert!(r.body == body, "echo differs");
        assert_eq!(r.header("Content-Type"), Some("application/x-kit"));
        let r = serve(Some("/echo"), Request::new());
        assert_eq!(
            (r.code, r.status, r.body.len(), r.header("Content-Type")),
            (0, 200, 0, None)
        );
        // The line transport: no PATH_INFO.
        let r = serve(None, Request::new().body("one line"));
        assert_eq!(r.text(), "one line");
    }

    #[test]
    fn status() {
        let r = serve(Some("/status"), Request::new().env("QUERY_STRING", "201"));
        assert_eq!((r.code, r.status, r.text()), (0, 201, "ok".to_string()));
        assert_eq!(r.header_values("x-kit"), vec!["a", "b"]);
    }

    #[test]
    fn log() {
        let r = serve(Some("/log"), Request::new());
        assert_eq!(r.text(), "logged");
        let want = [
            (Level::DEBUG, "kit debug"),
            (Level::INFO, "kit info"),
            (Level::WARN, "kit warn"),
            (Level::ERROR, "kit error"),
        ];
        let got: Vec<(Level, &str)> = r.logs.iter().map(|(l, m)| (*l, m.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn fail_and_trap() {
        let r = serve(Some("/fail"), Request::new());
        assert_eq!((r.code, r.body.len()), (1, 0));
        assert_eq!(r.logs.len(), 1);
        assert_eq!(r.logs[0].0, Level::ERROR);
        let r = serve(Some("/trap"), Request::new());
        assert_eq!(r.code, 1);
        assert!(r.panic.is_some());
    }

    #[test]
    fn park() {
        let r = serve(Some("/park"), Request::new());
        assert_eq!((r.code, r.text()), (0, "0;".to_string()));
        let r = r.resume("timeout", None, super::kit).resume("timeout", None, super::kit);
        assert_eq!(r.parked, None);
        assert_eq!(r.text(), "0;1:timeout:kit;2:timeout:kit;");
        assert_eq!(r.header("X-Kit-Park"), Some("1"));
    }

    /// The grants of CONFORMANCE.md, a line echo worker as `echo`, and the
    /// /http case's upstream on http://127.0.0.1:9: 203, X-Kit-Echo, a
    /// header block over the SDK's first buffer, the token repeated to
    /// 100,000 bytes.
    fn granted() -> Host {
        Host::new()
            .pubsub(&["kit.*"])
            .signals(&["kit.*"])
            .kv()
            .dial("echo", 0, |req| Ok([req, b"\n"].concat()))
            .outbound(&["http://127.0.0.1:9"], |req| {
                let token = req.url.split_once('?').map_or("", |(_, q)| q);
                let echo = req.headers.iter().find(|(k, _)| k == "X-Kit").map_or("", |(_, v)| v);
                Ok(HttpResponse {
                    status: 203,
                    headers: vec![
                        ("X-Kit-Echo".to_string(), echo.to_string()),
                        ("X-Kit-Pad".to_string(), "p".repeat(10_000)),
                    ],
                    body: token.repeat(100_000 / token.len() + 1).as_bytes()[..100_000].to_vec(),
                    read_error: None,
                })
            })
    }

    #[test]
    fn extensions() {
        let host = granted();
        for (path, query, want) in [
            ("/pubsub", "", "pubsub 1 hello notfound denied"),
            ("/signal", "", "signal 0 timeout denied"),
            ("/kv", "v1", "kv v1 notfound toolarge"),
            ("/dial", "ping", "dial ping 0 denied"),
            // Adler-32 of "tok" repeated to 100,000 bytes.
            ("/http", "http://127.0.0.1:9/up?tok", "http 203 kit 100000 3824806786 denied"),
        ] {
            let r = serve(Some(path), Request::new().host(&host).env("QUERY_STRING", query));
            assert_eq!((r.code, r.status, r.text()), (0, 200, want.to_string()), "{path}");
        }
        assert_eq!(host.subscriptions(), 0, "the kit unsubscribed");
        assert_eq!(host.kv_value("kit.k"), None, "the kit deleted its key");
        // Without the grants a step fails visibly.
        let r = serve(Some("/kv"), Request::new());
        assert_eq!((r.status, r.text()), (500, "kv: set: ERR_DENIED".to_string()));
    }

    #[test]
    fn committed_invalid_flush() {
        let r = serve(Some("/committed"), Request::new());
        assert_eq!((r.status, r.text()), (200, "xcommitted-ok".to_string()));
        let r = serve(Some("/invalid"), Request::new());
        assert_eq!(r.text(), "invalid-ok");
        let r = serve(Some("/flush"), Request::new().body("rest"));
        assert_eq!((r.flushed_at, r.text()), (Some(5), "firstrest".to_string()));
        let r = serve(Some("/nope"), Request::new());
        assert_eq!(
            (r.status, r.text()),
            (404, "kit: unknown case /nope".to_string())
        );
    }
}
