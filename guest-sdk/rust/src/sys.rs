//! The host functions over slices: on wasm32 the `bubblewasm_v1` imports,
//! elsewhere the in-memory fake host of [`crate::testing`].

#[cfg(target_arch = "wasm32")]
pub use self::wasm::*;

#[cfg(not(target_arch = "wasm32"))]
pub use crate::testing::host::*;

#[cfg(not(target_arch = "wasm32"))]
pub use crate::testing::ext::host::*;

// The extensions' imports (bubblewasm_pubsub_v1 and the rest). The linker
// keeps only the functions a module calls, so a module imports an extension
// only when it uses it: a module importing one fails to load on a route
// without its grant.
#[cfg(target_arch = "wasm32")]
pub use self::ext::*;

#[cfg(target_arch = "wasm32")]
#[path = "sys_ext.rs"]
mod ext;

#[cfg(target_arch = "wasm32")]
mod wasm {
    #[link(wasm_import_module = "bubblewasm_v1")]
    extern "C" {
        #[link_name = "env_get"]
        fn raw_env_get(key: *const u8, key_len: u32, buf: *mut u8, buf_len: u32) -> i32;
        #[link_name = "env_keys"]
        fn raw_env_keys(buf: *mut u8, buf_len: u32) -> i32;
        #[link_name = "read"]
        fn raw_read(buf: *mut u8, buf_len: u32) -> i32;
        #[link_name = "write"]
        fn raw_write(buf: *const u8, buf_len: u32) -> i32;
        #[link_name = "flush"]
        fn raw_flush() -> i32;
        #[link_name = "set_status"]
        fn raw_set_status(code: i32) -> i32;
        #[link_name = "set_header"]
        fn raw_set_header(name: *const u8, name_len: u32, value: *const u8, value_len: u32) -> i32;
        #[link_name = "add_header"]
        fn raw_add_header(name: *const u8, name_len: u32, value: *const u8, value_len: u32) -> i32;
        #[link_name = "log"]
        fn raw_log(level: i32, msg: *const u8, msg_len: u32);
    }

    // On wasm32 a slice's length fits a u32, and a slice is a valid range of
    // the module's memory, which is all the host checks.

    pub fn env_get(key: &[u8], buf: &mut [u8]) -> i32 {
        unsafe {
            raw_env_get(
                key.as_ptr(),
                key.len() as u32,
                buf.as_mut_ptr(),
                buf.len() as u32,
            )
        }
    }

    pub fn env_keys(buf: &mut [u8]) -> i32 {
        unsafe { raw_env_keys(buf.as_mut_ptr(), buf.len() as u32) }
    }

    pub fn read(buf: &mut [u8]) -> i32 {
        unsafe { raw_read(buf.as_mut_ptr(), buf.len() as u32) }
    }

    pub fn write(buf: &[u8]) -> i32 {
        unsafe { raw_write(buf.as_ptr(), buf.len() as u32) }
    }

    pub fn flush() -> i32 {
        unsafe { raw_flush() }
    }

    pub fn set_status(code: i32) -> i32 {
        unsafe { raw_set_status(code) }
    }

    pub fn set_header(name: &[u8], value: &[u8]) -> i32 {
        unsafe {
            raw_set_header(
                name.as_ptr(),
                name.len() as u32,
                value.as_ptr(),
                value.len() as u32,
            )
        }
    }

    pub fn add_header(name: &[u8], value: &[u8]) -> i32 {
        unsafe {
            raw_add_header(
                name.as_ptr(),
                name.len() as u32,
                value.as_ptr(),
                value.len() as u32,
            )
        }
    }

    pub fn log(level: i32, msg: &[u8]) {
        unsafe { raw_log(level, msg.as_ptr(), msg.len() as u32) }
    }

    #[link(wasm_import_module = "bubblewasm_park_v1")]
    extern "C" {
        #[link_name = "message"]
        fn raw_park_message(id: *const u8, id_len: u32, timeout_ms: i32) -> i32;
        #[link_name = "signal"]
        fn raw_park_signal(name: *const u8, name_len: u32, timeout_ms: i32) -> i32;
        #[link_name = "sleep"]
        fn raw_park_sleep(timeout_ms: i32) -> i32;
        #[link_name = "cancel"]
        fn raw_park_cancel() -> i32;
        #[link_name = "stash"]
        fn raw_park_stash(buf: *const u8, buf_len: u32) -> i32;
        #[link_name = "state"]
        fn raw_park_state(buf: *mut u8, buf_len: u32) -> i32;
        #[link_name = "payload"]
        fn raw_park_payload(buf: *mut u8, buf_len: u32) -> i32;
    }

    pub fn park_message(id: &[u8], timeout_ms: i32) -> i32 {
        unsafe { raw_park_message(id.as_ptr(), id.len() as u32, timeout_ms) }
    }

    pub fn park_signal(name: &[u8], timeout_ms: i32) -> i32 {
        unsafe { raw_park_signal(name.as_ptr(), name.len() as u32, timeout_ms) }
    }

    pub fn park_sleep(timeout_ms: i32) -> i32 {
        unsafe { raw_park_sleep(timeout_ms) }
    }

    pub fn park_cancel() -> i32 {
        unsafe { raw_park_cancel() }
    }

    pub fn park_stash(state: &[u8]) -> i32 {
        unsafe { raw_park_stash(state.as_ptr(), state.len() as u32) }
    }

    pub fn park_state(buf: &mut [u8]) -> i32 {
        unsafe { raw_park_state(buf.as_mut_ptr(), buf.len() as u32) }
    }

    pub fn park_payload(buf: &mut [u8]) -> i32 {
        unsafe { raw_park_payload(buf.as_mut_ptr(), buf.len() as u32) }
    }
}
