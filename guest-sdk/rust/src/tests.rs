//! Unit tests of the SDK against the fake host (native only):
//! `rustc --edition 2021 --test src/lib.rs -o /tmp/bubble-test && /tmp/bubble-test`

use std::io::{self, Read, Write};

use crate::testing::Request;
use crate::{Error, Exchange, Level};

#[test]
fn env_size_negotiation() {
    let long = "v".repeat(10 << 10);
    let resp = Request::new()
        .env("HTTP_X_LONG", &long)
        .env("E", "")
        .serve(|x| {
            assert_eq!(x.env("HTTP_X_LONG").as_deref(), Some(long.as_str()));
            assert_eq!(x.env("E").as_deref(), Some(""));
            assert_eq!(x.env("missing"), None);
            let mut small = [b'x'; 4];
            assert_eq!(x.env_into("HTTP_X_LONG", &mut small), Some(10 << 10));
            assert_eq!(
                small, [b'x'; 4],
                "a buffer that is too small stays untouched"
            );
            assert_eq!(x.env_into("E", &mut small), Some(0));
            assert_eq!(x.env_into("missing", &mut small), None);
            Ok::<(), Error>(())
        });
    assert_eq!(resp.code, 0, "{:?}", resp);
}

#[test]
fn env_bytes_missing() {
    let resp = Request::new().serve(|x| {
        assert_eq!(x.env_bytes("nope"), None);
        Ok::<(), Error>(())
    });
    assert_eq!(resp.code, 0);
}

#[test]
fn env_keys_sorted() {
    let resp = Request::new()
        .env("b", "1")
        .env("B", "2")
        .env("a.b", "")
        .serve(|x| {
            assert_eq!(x.env_keys(), vec!["B", "a.b", "b"]);
            assert_eq!(
                x.environ(),
                vec![
                    ("B".into(), "2".into()),
                    ("a.b".into(), "".into()),
                    ("b".into(), "1".into())
                ]
            );
            Ok::<(), Error>(())
        });
    assert_eq!(resp.code, 0);
    let resp = Request::new().serve(|x| {
        assert!(x.env_keys().is_empty());
        Ok::<(), Error>(())
    });
    assert_eq!(resp.code, 0);
}

#[test]
fn read_to_end_with_short_reads() {
    let input: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let want = input.clone();
    let resp = Request::new().body(input).read_chunk(999).serve(|x| {
        let mut all = Vec::new();
        x.read_to_end(&mut all)?;
        assert_eq!(all, want);
        assert_eq!(x.read(&mut [0u8; 8])?, 0, "end of input stays the end");
        assert_eq!(
            x.read(&mut [])?,
            0,
            "an empty buffer is Ok(0), not ERR_INVALID"
        );
        io::Result::Ok(())
    });
    assert_eq!(resp.code, 0, "{:?}", resp.logs);
}

#[test]
fn metadata_rules() {
    let resp = Request::new().serve(|x| {
        assert_eq!(x.set_status(199), Err(Error::Invalid));
        assert_eq!(x.set_status(1000), Err(Error::Invalid));
        assert_eq!(x.set_header("", "v"), Err(Error::Invalid));
        assert_eq!(x.set_header("bad name", "v"), Err(Error::Invalid));
        assert_eq!(x.set_header("X", "a\r\nb"), Err(Error::Invalid));
        assert_eq!(x.set_header("X", "a\0b"), Err(Error::Invalid));
        x.set_status(201)?;
        x.set_header("X-A", "1")?;
        x.set_header("x-a", "2")?; // replaces
        x.add_header("X-A", "3")?;
        x.write_all(b"body")?;
        assert_eq!(x.set_status(500), Err(Error::Committed));
        assert_eq!(x.add_header("X-A", "4"), Err(Error::Committed));
        assert_eq!(
            x.add_header("bad name", "4"),
            Err(Error::Invalid),
            "invalid wins"
        );
        crate::Result::Ok(())
    });
    assert_eq!(resp.code, 0, "{:?}", resp.logs);
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header_values("X-A"), vec!["2", "3"]);
    assert_eq!(resp.body, b"body");
}

#[test]
fn empty_write_commits() {
    let resp = Request::new().serve(|x| {
        assert_eq!(x.write(b"")?, 0);
        assert_eq!(x.set_status(404), Err(Error::Committed));
        io::Result::Ok(())
    });
    assert_eq!(resp.code, 0);
}

#[test]
fn flush_commits_and_streams() {
    let resp = Request::new().serve(|x| {
        x.write_all(b"first")?;
        Exchange::flush(x)?;
        assert_eq!(x.set_header("X", "y"), Err(Error::Committed));
        x.write_all(b" then")?;
        io::Write::flush(x)
    });
    assert_eq!(resp.code, 0);
    assert_eq!(resp.flushed_at, Some(5));
    assert_eq!(resp.text(), "first then");
}

#[test]
fn handler_error_is_logged_and_fails() {
    let resp = Request::new()
        .body("abc")
        .fail_output(Error::Closed)
        .serve(|x| {
            let err = x.write_all(b"abc").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
            assert_eq!(
                Error::from(err),
                Error::Closed,
                "the code survives io::Error"
            );
            x.write_all(b"abc")
        });
    assert_eq!(resp.code, 1);
    assert_eq!(
        resp.logs,
        vec![(
            Level::ERROR,
            "bubble: handler failed: ERR_CLOSED".to_string()
        )]
    );
}

#[test]
fn panic_is_a_failure() {
    let resp = Request::new().serve(|_| -> io::Result<()> { panic!("boom") });
    assert_eq!(resp.code, 1);
    assert_eq!(resp.panic.as_deref(), Some("boom"));
}

#[test]
fn log_levels() {
    let resp = Request::new().serve(|_| {
        crate::log(Level::DEBUG, "d");
        crate::log(Level(2), "custom");
        Ok::<(), Error>(())
    });
    assert_eq!(
        resp.logs,
        vec![
            (Level::DEBUG, "d".to_string()),
            (Level(2), "custom".to_string())
        ]
    );
}

#[test]
fn error_codes() {
    for code in -9..=-1 {
        assert_eq!(Error::from_code(code).code(), code);
    }
    assert_eq!(Error::from_code(-42), Error::Io, "unknown codes are ERR_IO");
    assert_eq!(Error::from_code(-10), Error::Io, "unknown codes are ERR_IO");
    assert_eq!(Error::Denied.to_string(), "ERR_DENIED");
    assert_eq!(Error::Full.to_string(), "ERR_FULL");
    assert_eq!(Error::Committed.to_string(), "ERR_COMMITTED");
    assert_eq!(
        Error::from(io::Error::new(io::ErrorKind::TimedOut, "t")),
        Error::Timeout
    );
    assert_eq!(
        Error::from(io::Error::new(io::ErrorKind::Other, "x")),
        Error::Io
    );
}

#[test]
#[should_panic(expected = "no exchange")]
fn outside_serve_panics() {
    crate::log(Level::INFO, "x");
}

// The macro expands in this crate too; its bubble_handle runs under call().
fn registered(x: &mut Exchange) -> io::Result<()> {
    x.write_all(b"registered")
}
crate::handler!(registered);

#[test]
fn handler_macro_export() {
    let resp = Request::new().call(bubble_handle);
    assert_eq!((resp.code, resp.text()), (0, "registered".to_string()));
}

#[test]
fn park_and_resume() {
    fn handler(x: &mut Exchange) -> crate::Result<()> {
        match crate::resumed() {
            None => {
                assert_eq!(crate::state(), None);
                assert_eq!(crate::wake_payload(), None);
                assert_eq!(crate::park_timeout(0), Err(Error::Invalid));
                assert_eq!(crate::stash(&[0; crate::MAX_STATE + 1]), Err(Error::TooLarge));
                x.set_header("X-A", "1")?;
                crate::stash(b"st")?;
                x.write_all(b"0;")?;
                crate::park_signal("room", 5000)?;
                assert_eq!(crate::park_timeout(10), Err(Error::Invalid), "one wait per run");
                Ok(())
            }
            Some((n, wake)) => {
                let state = crate::state().unwrap_or_default();
                let payload = crate::wake_payload().unwrap_or_default();
                write!(x, "{}:{}:{}:{};", n, wake.as_str(), String::from_utf8_lossy(&state), String::from_utf8_lossy(&payload))?;
                if n < 2 {
                    crate::park_message("sub", 100)?;
                }
                Ok(())
            }
        }
    }
    let resp = Request::new().serve(handler);
    assert_eq!(resp.code, 0, "{:?}", resp);
    assert_eq!(resp.parked, Some(crate::testing::Park { on: "signal", name: "room".into(), timeout_ms: 5000 }));
    let resp = resp.resume("signal", Some(b"pay"), handler);
    assert_eq!(resp.parked.as_ref().map(|p| p.on), Some("message"));
    let resp = resp.resume("timeout", None, handler);
    assert_eq!(resp.parked, None);
    assert_eq!(resp.text(), "0;1:signal:st:pay;2:timeout:st:;");
    assert_eq!(resp.header("x-a"), Some("1"));
}

#[test]
fn park_dropped_on_failure_and_unpark() {
    let resp = Request::new().serve(|_x| {
        crate::park_timeout(10)?;
        Err::<(), Error>(Error::Io)
    });
    assert_ne!(resp.code, 0);
    assert_eq!(resp.parked, None);
    let resp = Request::new().serve(|_x| {
        crate::park_timeout(10)?;
        crate::unpark();
        Ok::<(), Error>(())
    });
    assert_eq!(resp.parked, None);
}
