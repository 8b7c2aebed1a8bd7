//! Unit tests of the extension wrappers against the fake host (native
//! only; run by test.sh).

use std::io::Read;

use crate::testing::{Host, HttpRequest, HttpResponse, Request};
use crate::{dial, http, kv, pubsub, signal, Error};

fn serve(host: &Host, f: impl FnOnce() -> crate::Result<()>) {
    let resp = Request::new().host(host).serve(|_x| f());
    assert_eq!(resp.code, 0, "{:?}", resp);
}

#[test]
fn pubsub_fetch_negotiates_long_messages() {
    let host = Host::new().pubsub(&["chat.*"]);
    let long: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    let want = long.clone();
    serve(&host, || {
        let id = pubsub::subscribe("chat.a")?;
        assert!(!id.is_empty() && id.len() <= pubsub::MAX_SUBSCRIPTION_ID);
        assert_eq!(pubsub::publish("chat.a", b"short")?, 1);
        assert_eq!(pubsub::publish("chat.a", &long)?, 1);
        assert_eq!(pubsub::publish("chat.b", b"nobody")?, 0);
        assert_eq!(pubsub::fetch(&id, 1000)?, b"short");
        assert_eq!(
            pubsub::fetch(&id, 1000)?,
            want,
            "a message over the first buffer comes back whole"
        );
        assert_eq!(pubsub::fetch(&id, 0), Err(Error::Timeout));
        pubsub::unsubscribe(&id)?;
        assert_eq!(pubsub::fetch(&id, 0), Err(Error::NotFound));
        assert_eq!(pubsub::unsubscribe(&id), Err(Error::NotFound));
        Ok(())
    });
    assert_eq!(host.subscriptions(), 0);
}

#[test]
fn pubsub_errors() {
    let host = Host::new().pubsub(&["chat.*"]);
    serve(&host, || {
        assert_eq!(pubsub::publish("other", b"x"), Err(Error::Denied));
        assert_eq!(pubsub::publish("chatroom", b"x"), Err(Error::Denied));
        for bad in [
            "",
            "chat.",
            ".chat",
            "chat..a",
            "chat a",
            "chat.*",
            &"c".repeat(257),
        ] {
            assert_eq!(pubsub::publish(bad, b"x"), Err(Error::Invalid), "{bad:?}");
        }
        assert_eq!(
            pubsub::publish("chat", &vec![0u8; (64 << 10) + 1]),
            Err(Error::TooLarge)
        );
        assert_eq!(pubsub::subscribe("nope"), Err(Error::Denied));
        assert_eq!(pubsub::fetch(&"x".repeat(65), 0), Err(Error::NotFound));
        Ok(())
    });
    // Without a host (a route without grants) every call is denied.
    serve(&Host::new(), || {
        assert_eq!(pubsub::subscribe("chat"), Err(Error::Denied));
        Ok(())
    });
}

#[test]
fn pubsub_across_exchanges() {
    let host = Host::new().pubsub(&["*"]);
    let id = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let keep = id.clone();
    serve(&host, move || {
        *keep.borrow_mut() = pubsub::subscribe("room")?;
        Ok(())
    });
    assert_eq!(host.publish("room", b"from elsewhere"), 1);
    let id = id.borrow().clone();
    serve(&host, move || {
        assert_eq!(pubsub::fetch(&id, 100)?, b"from elsewhere");
        Ok(())
    });
}

#[test]
fn signals() {
    let host = Host::new().signals(&["job.*"]);
    serve(&host, || {
        assert_eq!(signal::send("job.1", b"done")?, 0);
        assert_eq!(signal::wait("job.1", 1), Err(Error::Timeout));
        assert_eq!(signal::send("nope", b""), Err(Error::Denied));
        assert_eq!(signal::wait("job..1", 1), Err(Error::Invalid));
        Ok(())
    });
    assert_eq!(host.sent(), vec![("job.1".to_string(), b"done".to_vec())]);

    let big = vec![7u8; signal::MAX_PAYLOAD + 10];
    host.signal_later("job.2", b"payload");
    host.signal_later("job.3", &big);
    host.signal_later("job.4", b"0123456789");
    serve(&host, || {
        assert_eq!(signal::wait("job.2", 1000)?, b"payload");
        assert_eq!(
            signal::wait("job.3", 1000)?.len(),
            signal::MAX_PAYLOAD,
            "cut to MAX_PAYLOAD"
        );
        let mut small = [0u8; 4];
        assert_eq!(
            signal::wait_into("job.4", 1000, &mut small)?,
            10,
            "the full length"
        );
        assert_eq!(&small, b"0123");
        Ok(())
    });
}

#[test]
fn kv_round_trip_and_limits() {
    let host = Host::new().kv();
    let long = vec![b'v'; 5000];
    let want = long.clone();
    serve(&host, || {
        assert_eq!(kv::get("k")?, None);
        kv::set("k", b"v1", 0)?;
        assert_eq!(kv::get("k")?, Some(b"v1".to_vec()));
        kv::set("big", &long, -5)?;
        assert_eq!(kv::get("big")?, Some(want), "size negotiation");
        kv::delete("k")?;
        kv::delete("k")?; // absent: not an error
        assert_eq!(kv::get("k")?, None);
        let key = "a".repeat(kv::MAX_KEY);
        kv::set(&key, b"x", 10)?;
        assert_eq!(kv::set(&format!("{key}a"), b"x", 0), Err(Error::TooLarge));
        assert_eq!(kv::get(&format!("{key}a"))?, None);
        assert_eq!(
            kv::set("v", &vec![0u8; (64 << 10) + 1], 0),
            Err(Error::TooLarge)
        );
        Ok(())
    });
    assert_eq!(host.kv_value("big").map(|v| v.len()), Some(5000));
    serve(&Host::new(), || {
        assert_eq!(kv::get("k"), Err(Error::Denied));
        assert_eq!(kv::set("k", b"", 0), Err(Error::Denied));
        assert_eq!(kv::delete("k"), Err(Error::Denied));
        Ok(())
    });
}

#[test]
fn dial_calls() {
    let host = Host::new()
        .dial("echo", 0, |req| Ok([req, b"\n"].concat()))
        .dial("big", 0, |_| Ok(vec![b'b'; 100_000]))
        .dial("amqp", 201, |req| Ok(req.to_ascii_uppercase()))
        .dial("down", 0, |_| Err(Error::Io));
    serve(&host, || {
        assert_eq!(dial::status(), Err(Error::NotFound), "no call yet");
        assert_eq!(dial::reply(), Err(Error::NotFound));
        assert_eq!(dial::call("echo", b"ping", 0)?, b"ping\n");
        assert_eq!(dial::status()?, 0);
        assert_eq!(dial::reply()?, b"ping\n");
        assert_eq!(
            dial::call("big", b"", 1000)?.len(),
            100_000,
            "a reply over the first buffer"
        );
        assert_eq!(dial::call("amqp", b"a\nb", 0)?, b"A\nB");
        assert_eq!(dial::status()?, 201);
        assert_eq!(dial::call("echo", b"a\nb", 0), Err(Error::Invalid));
        assert_eq!(dial::call("nope", b"x", 0), Err(Error::Denied));
        assert_eq!(dial::call(&"e".repeat(65), b"x", 0), Err(Error::Denied));
        assert_eq!(dial::call("down", b"x", 0), Err(Error::Io));
        assert_eq!(dial::status(), Err(Error::NotFound), "the last call failed");
        Ok(())
    });
}

fn api() -> Host {
    Host::new().outbound(&["https://api.example.com/v1"], |req: &HttpRequest| {
        if req.url.ends_with("/fail") {
            return Err(Error::Io);
        }
        let mut body = format!("{} {} ", req.method, req.url).into_bytes();
        for (k, v) in &req.headers {
            body.extend_from_slice(format!("[{k}={v}]").as_bytes());
        }
        body.extend_from_slice(&req.body);
        Ok(HttpResponse {
            status: if req.url.ends_with("/missing") {
                404
            } else {
                200
            },
            headers: vec![
                ("x-b".into(), "2".into()),
                ("content-type".into(), "text/plain".into()),
                ("x-b".into(), "3".into()),
            ],
            body,
            read_error: if req.url.ends_with("/huge") {
                Some(Error::TooLarge)
            } else {
                None
            },
        })
    })
}

#[test]
fn http_request_response() {
    let host = api();
    let resp = Request::new()
        .host(&host)
        .serve(|_x| -> std::io::Result<()> {
            let mut r = http::Request::new("POST", "https://api.example.com/v1/items")
                .header("X-A", "1")
                .header("X-A", "2")
                .body(b"payload")
                .timeout_ms(500)
                .send()?;
            assert_eq!(r.status(), 200);
            assert_eq!(
                r.headers()?,
                vec![
                    ("Content-Type".to_string(), "text/plain".to_string()),
                    ("X-B".to_string(), "2".to_string()),
                    ("X-B".to_string(), "3".to_string()),
                ]
            );
            assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
            assert_eq!(r.header("nope"), None);
            let mut small = [0u8; 5];
            assert_eq!(r.read(&mut small)?, 5, "the body streams");
            let mut rest = String::new();
            r.read_to_string(&mut rest)?;
            assert_eq!(
                format!("{}{}", String::from_utf8_lossy(&small), rest),
                "POST https://api.example.com/v1/items [X-A=1][X-A=2]payload"
            );
            assert_eq!(r.read(&mut small)?, 0, "the end stays the end");

            let r = http::get("https://api.example.com/v1/missing")?;
            assert_eq!(r.status(), 404);
            r.close();
            let mut r = http::post("https://api.example.com/v1/huge", "text/plain", b"")?;
            let err = r.read_to_end(&mut Vec::new()).unwrap_err();
            assert_eq!(Error::from(err), Error::TooLarge);
            Ok(())
        });
    assert_eq!(resp.code, 0, "{:?}", resp);
    assert_eq!(resp.open_responses, 0, "Drop and close close the responses");
}

#[test]
fn http_errors() {
    let host = api();
    serve(&host, || {
        let err = |r: crate::Result<http::Response>| r.map(|_| ()).unwrap_err();
        assert_eq!(err(http::get("https://api.example.com/v2")), Error::Denied);
        assert_eq!(err(http::get("https://api.example.com/v1x")), Error::Denied);
        assert_eq!(err(http::get("https://evil.example/v1")), Error::Denied);
        assert_eq!(err(http::get("ftp://api.example.com/v1")), Error::Invalid);
        assert_eq!(
            err(http::Request::new("GE T", "https://api.example.com/v1").send()),
            Error::Invalid
        );
        for (k, v) in [
            ("Host", "x"),
            ("content-length", "1"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
        ] {
            let r = http::Request::new("GET", "https://api.example.com/v1")
                .header(k, v)
                .send();
            assert_eq!(err(r), Error::Invalid, "{k}");
        }
        // What would break the line encoding is refused before the call.
        for (k, v) in [
            ("X", "a\nB: c"),
            ("X", "a\r"),
            ("X:Y", "v"),
            ("", "v"),
            ("X Y", "v"),
            ("X", "a\0"),
        ] {
            let r = http::Request::new("GET", "https://api.example.com/v1")
                .header(k, v)
                .send();
            assert_eq!(err(r), Error::Invalid, "{k:?}: {v:?}");
        }
        assert_eq!(
            err(http::post(
                "https://api.example.com/v1",
                "a/b",
                &vec![0u8; (1 << 20) + 1]
            )),
            Error::TooLarge
        );
        assert_eq!(err(http::get("https://api.example.com/v1/fail")), Error::Io);
        // At most 8 responses open at once.
        let open: Vec<http::Response> = (0..8)
            .map(|_| http::get("https://api.example.com/v1"))
            .collect::<crate::Result<_>>()?;
        assert_eq!(err(http::get("https://api.example.com/v1")), Error::Full);
        drop(open);
        http::get("https://api.example.com/v1")?;
        Ok(())
    });
    serve(&Host::new(), || {
        assert_eq!(
            http::get("https://api.example.com/v1").map(|_| ()),
            Err(Error::Denied)
        );
        Ok(())
    });
}

#[test]
fn grant_patterns() {
    use crate::testing::ext::matches;
    for (p, name, want) in [
        ("*", "a.b", true),
        ("chat", "chat", true),
        ("chat", "chat.a", false),
        ("chat.*", "chat", true),
        ("chat.*", "chat.a.b", true),
        ("chat.*", "chatroom", false),
        ("chat.*.log", "chat.a.log", true),
        ("chat.*.log", "chat.a.b.log", false),
        ("*.x", "a.x", true),
        ("*.x", "x", false),
        ("r?", "r1", true),
        ("r?", "r12", false),
        ("a*z.q", "abcz.q", true),
    ] {
        assert_eq!(matches(p, name), want, "{p} {name}");
    }
}
