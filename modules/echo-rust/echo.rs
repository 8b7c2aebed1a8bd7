//! A streaming bubblewasm handler in Rust. It copies its input to its output
//! through one fixed 32 KiB buffer, so a body of any size runs in constant
//! memory, and passes the request's CONTENT_TYPE back as Content-Type when
//! there is one.
//!
//! Build: modules/echo-rust/build.sh echo.wasm

use std::cell::RefCell;
use std::io::{self, Read, Write};

use bubble::Exchange;

bubble::handler!(echo);

thread_local! {
    // One buffer per instance, zeroed once (it lives in .bss): a buffer on
    // the stack would be zeroed on every exchange, which costs about 13 us
    // for 16 KiB on wazero (wasm32 without bulk-memory zeroes byte-wise).
    // Exchanges never overlap within an instance.
    static BUF: RefCell<[u8; 32 << 10]> = const { RefCell::new([0; 32 << 10]) };
}

fn echo(x: &mut Exchange) -> io::Result<()> {
    if let Some(ct) = x.env("CONTENT_TYPE") {
        x.set_header("Content-Type", &ct)?;
    }
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

#[cfg(test)]
mod tests {
    use bubble::testing::Request;

    #[test]
    fn echoes() {
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let r = Request::new()
            .env("CONTENT_TYPE", "a/b")
            .body(body.clone())
            .read_chunk(7000)
            .serve(super::echo);
        assert_eq!(r.code, 0);
        assert!(r.body == body);
        assert_eq!(r.header("Content-Type"), Some("a/b"));
        let r = Request::new().serve(super::echo);
        assert_eq!(
            (r.code, r.body.len(), r.header("Content-Type")),
            (0, 0, None)
        );
    }
}
