//! A bubblewasm handler in Rust that greets: "Hello, world!" or, with the
//! query string name=X, "Hello, X!" (X percent-decoded), as text/plain.
//!
//! Build: modules/hello-rust/build.sh hello.wasm

use std::io::{self, Write};

use bubble::Exchange;

bubble::handler!(hello);

fn hello(x: &mut Exchange) -> io::Result<()> {
    let query = x.env("QUERY_STRING").unwrap_or_default();
    let name = query_param(&query, "name").filter(|n| !n.is_empty());
    let name = name.as_deref().unwrap_or("world");
    x.set_header("Content-Type", "text/plain; charset=utf-8")?;
    let mut out = Vec::with_capacity(name.len() + 10);
    out.extend_from_slice(b"Hello, ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"!\n");
    x.write_all(&out)
}

/// The decoded value of the first key=value pair of the URL query `q` whose
/// decoded key is `key`. It stands in for a URL crate: the SDK has no
/// dependencies.
fn query_param(q: &str, key: &str) -> Option<String> {
    q.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if unescape(k) == key {
            Some(unescape(v))
        } else {
            None
        }
    })
}

/// Decodes '+' and %XX escapes of a query component; a malformed escape is
/// kept as it is, invalid UTF-8 is replaced.
fn unescape(s: &str) -> String {
    if !s.contains(|c| c == '+' || c == '%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use bubble::testing::Request;

    #[test]
    fn greets() {
        for (query, want) in [
            (None, "Hello, world!\n"),
            (Some(""), "Hello, world!\n"),
            (Some("name=Ann"), "Hello, Ann!\n"),
            (Some("x=1&name=J%C3%BCrgen+M&name=2"), "Hello, Jürgen M!\n"),
            (Some("na%6De=%41%zz%4"), "Hello, A%zz%4!\n"),
            (Some("name"), "Hello, world!\n"),
        ] {
            let mut req = Request::new();
            if let Some(q) = query {
                req = req.env("QUERY_STRING", q);
            }
            let r = req.serve(super::hello);
            assert_eq!((r.code, r.text().as_str()), (0, want), "query {:?}", query);
            assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
        }
    }
}
