// echo.rs: an ordinary CGI program that knows nothing about bubblewasm, the
// Rust twin of echo.c (see there for what each QUERY_STRING does; this one
// has the modes exit, cut, nothing, noheader, loop and the default echo).
//
// Build: rustc --target wasm32-wasi -O -o echo.wasm echo.rs
// (Debian: apt-get install rustc libstd-rust-dev-wasm32)
use std::env;
use std::io::{self, Read, Write};
use std::process;

const VARS: &[&str] = &[
    "REQUEST_METHOD", "QUERY_STRING", "PATH_INFO", "CONTENT_LENGTH", "CONTENT_TYPE",
    "HTTP_X_TEST", "GATEWAY_INTERFACE", "SERVER_SOFTWARE", "BUBBLE_ROUTE", "BUBBLE_TRANSPORT",
];

fn main() {
    let query = env::var("QUERY_STRING").unwrap_or_default();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match query.as_str() {
        "exit" => process::exit(3),
        "nothing" => return,
        "noheader" => {
            out.write_all(b"Hello without headers\n").unwrap();
            return;
        }
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = n.wrapping_add(1);
                unsafe { std::ptr::write_volatile(&mut n, n) };
            }
        }
        "cut" => {
            out.write_all(b"Content-Type: text/plain\r\n\r\npartial\n").unwrap();
            out.flush().unwrap();
            process::exit(4);
        }
        _ => {}
    }

    eprintln!("cgi echo: {} request", env::var("REQUEST_METHOD").unwrap_or_default());
    out.write_all(b"Status: 201 Created\r\nContent-Type: text/plain\r\nX-Lang: rust\r\nX-Multi: one\r\nX-Multi: two\r\n\r\n").unwrap();
    for name in VARS {
        let value = env::var(name).unwrap_or_else(|_| "(unset)".to_string());
        writeln!(out, "{}={}", name, value).unwrap();
    }
    let dotted = env::vars_os().filter(|(k, _)| k.to_string_lossy().contains('.')).count();
    let args: Vec<String> = env::args().collect();
    writeln!(out, "DOTTED={}\nARGC={}\nARGV0={}\n--", dotted, args.len(), args.first().map(String::as_str).unwrap_or("")).unwrap();
    out.flush().unwrap();

    let mut buf = vec![0u8; 64 * 1024];
    let stdin = io::stdin();
    let mut input = stdin.lock();
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.write_all(&buf[..n]).unwrap();
                out.flush().unwrap();
            }
            Err(e) => {
                eprintln!("cgi echo: reading stdin: {}", e);
                process::exit(2);
            }
        }
    }
}
