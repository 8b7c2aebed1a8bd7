//! The extensions' imports on wasm32 over slices: `bubblewasm_pubsub_v1`,
//! `bubblewasm_signal_v1`, `bubblewasm_kv_v1`, `bubblewasm_dial_v1` and
//! `bubblewasm_http_v1` (abi/ABI.md, "Extensions"). Pointers and lengths as
//! in `sys`: a slice is a valid range of the module's memory.

#[link(wasm_import_module = "bubblewasm_pubsub_v1")]
extern "C" {
    #[link_name = "publish"]
    fn raw_publish(ch: *const u8, ch_len: u32, msg: *const u8, msg_len: u32) -> i32;
    #[link_name = "subscribe"]
    fn raw_subscribe(ch: *const u8, ch_len: u32, id: *mut u8, id_cap: u32) -> i32;
    #[link_name = "fetch"]
    fn raw_fetch(id: *const u8, id_len: u32, timeout_ms: i32, buf: *mut u8, buf_len: u32) -> i32;
    #[link_name = "unsubscribe"]
    fn raw_unsubscribe(id: *const u8, id_len: u32) -> i32;
}

pub fn publish(channel: &[u8], msg: &[u8]) -> i32 {
    unsafe {
        raw_publish(
            channel.as_ptr(),
            channel.len() as u32,
            msg.as_ptr(),
            msg.len() as u32,
        )
    }
}

pub fn subscribe(channel: &[u8], id: &mut [u8]) -> i32 {
    unsafe {
        raw_subscribe(
            channel.as_ptr(),
            channel.len() as u32,
            id.as_mut_ptr(),
            id.len() as u32,
        )
    }
}

pub fn fetch(id: &[u8], timeout_ms: i32, buf: &mut [u8]) -> i32 {
    unsafe {
        raw_fetch(
            id.as_ptr(),
            id.len() as u32,
            timeout_ms,
            buf.as_mut_ptr(),
            buf.len() as u32,
        )
    }
}

pub fn unsubscribe(id: &[u8]) -> i32 {
    unsafe { raw_unsubscribe(id.as_ptr(), id.len() as u32) }
}

#[link(wasm_import_module = "bubblewasm_signal_v1")]
extern "C" {
    #[link_name = "wait"]
    fn raw_signal_wait(
        name: *const u8,
        name_len: u32,
        timeout_ms: i32,
        buf: *mut u8,
        buf_len: u32,
    ) -> i32;
    #[link_name = "send"]
    fn raw_signal_send(name: *const u8, name_len: u32, payload: *const u8, payload_len: u32)
        -> i32;
}

pub fn signal_wait(name: &[u8], timeout_ms: i32, buf: &mut [u8]) -> i32 {
    unsafe {
        raw_signal_wait(
            name.as_ptr(),
            name.len() as u32,
            timeout_ms,
            buf.as_mut_ptr(),
            buf.len() as u32,
        )
    }
}

pub fn signal_send(name: &[u8], payload: &[u8]) -> i32 {
    unsafe {
        raw_signal_send(
            name.as_ptr(),
            name.len() as u32,
            payload.as_ptr(),
            payload.len() as u32,
        )
    }
}

#[link(wasm_import_module = "bubblewasm_kv_v1")]
extern "C" {
    #[link_name = "get"]
    fn raw_kv_get(key: *const u8, key_len: u32, buf: *mut u8, buf_len: u32) -> i32;
    #[link_name = "set"]
    fn raw_kv_set(
        key: *const u8,
        key_len: u32,
        value: *const u8,
        value_len: u32,
        ttl_ms: i32,
    ) -> i32;
    #[link_name = "delete"]
    fn raw_kv_delete(key: *const u8, key_len: u32) -> i32;
}

pub fn kv_get(key: &[u8], buf: &mut [u8]) -> i32 {
    unsafe {
        raw_kv_get(
            key.as_ptr(),
            key.len() as u32,
            buf.as_mut_ptr(),
            buf.len() as u32,
        )
    }
}

pub fn kv_set(key: &[u8], value: &[u8], ttl_ms: i32) -> i32 {
    unsafe {
        raw_kv_set(
            key.as_ptr(),
            key.len() as u32,
            value.as_ptr(),
            value.len() as u32,
            ttl_ms,
        )
    }
}

pub fn kv_delete(key: &[u8]) -> i32 {
    unsafe { raw_kv_delete(key.as_ptr(), key.len() as u32) }
}

#[link(wasm_import_module = "bubblewasm_dial_v1")]
extern "C" {
    #[link_name = "call"]
    fn raw_dial_call(
        target: *const u8,
        target_len: u32,
        req: *const u8,
        req_len: u32,
        timeout_ms: i32,
        buf: *mut u8,
        buf_len: u32,
    ) -> i32;
    #[link_name = "reply"]
    fn raw_dial_reply(buf: *mut u8, buf_len: u32) -> i32;
    #[link_name = "status"]
    fn raw_dial_status() -> i32;
}

pub fn dial_call(target: &[u8], req: &[u8], timeout_ms: i32, buf: &mut [u8]) -> i32 {
    unsafe {
        raw_dial_call(
            target.as_ptr(),
            target.len() as u32,
            req.as_ptr(),
            req.len() as u32,
            timeout_ms,
            buf.as_mut_ptr(),
            buf.len() as u32,
        )
    }
}

pub fn dial_reply(buf: &mut [u8]) -> i32 {
    unsafe { raw_dial_reply(buf.as_mut_ptr(), buf.len() as u32) }
}

pub fn dial_status() -> i32 {
    unsafe { raw_dial_status() }
}

#[link(wasm_import_module = "bubblewasm_http_v1")]
extern "C" {
    #[link_name = "request"]
    fn raw_http_request(
        method: *const u8,
        method_len: u32,
        url: *const u8,
        url_len: u32,
        headers: *const u8,
        headers_len: u32,
        body: *const u8,
        body_len: u32,
        timeout_ms: i32,
    ) -> i32;
    #[link_name = "status"]
    fn raw_http_status(handle: i32) -> i32;
    #[link_name = "headers"]
    fn raw_http_headers(handle: i32, buf: *mut u8, buf_len: u32) -> i32;
    #[link_name = "read"]
    fn raw_http_read(handle: i32, buf: *mut u8, buf_len: u32) -> i32;
    #[link_name = "close"]
    fn raw_http_close(handle: i32) -> i32;
}

pub fn http_request(
    method: &[u8],
    url: &[u8],
    headers: &[u8],
    body: &[u8],
    timeout_ms: i32,
) -> i32 {
    unsafe {
        raw_http_request(
            method.as_ptr(),
            method.len() as u32,
            url.as_ptr(),
            url.len() as u32,
            headers.as_ptr(),
            headers.len() as u32,
            body.as_ptr(),
            body.len() as u32,
            timeout_ms,
        )
    }
}

pub fn http_status(handle: i32) -> i32 {
    unsafe { raw_http_status(handle) }
}

pub fn http_headers(handle: i32, buf: &mut [u8]) -> i32 {
    unsafe { raw_http_headers(handle, buf.as_mut_ptr(), buf.len() as u32) }
}

pub fn http_read(handle: i32, buf: &mut [u8]) -> i32 {
    unsafe { raw_http_read(handle, buf.as_mut_ptr(), buf.len() as u32) }
}

pub fn http_close(handle: i32) -> i32 {
    unsafe { raw_http_close(handle) }
}
