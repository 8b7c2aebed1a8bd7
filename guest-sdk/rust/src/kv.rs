//! The route's key-value namespace (`bubblewasm_kv_v1`), granted by the
//! route key `kv = "NAME"`; routes naming the same namespace share it.
//!
//! ```no_run
//! bubble::kv::set("visits", b"1", 0)?;
//! assert_eq!(bubble::kv::get("visits")?, Some(b"1".to_vec()));
//! bubble::kv::delete("visits")?;
//! # Ok::<(), bubble::Error>(())
//! ```

use crate::pubsub::count;
use crate::{negotiate_from, sys, Error, Result};

/// The longest key: 256 bytes.
pub const MAX_KEY: usize = 256;

/// Returns the value of `key`, `None` when the key is missing or expired.
/// Values of any size come back whole. Errors: [`Error::Denied`] (the
/// route grants no `kv`).
pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
    match negotiate_from(256, |buf| sys::kv_get(key.as_bytes(), buf)) {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Stores `value` under `key` for `ttl_ms` milliseconds; `ttl_ms` ≤ 0
/// keeps it until it is deleted.
///
/// Errors: [`Error::Denied`], [`Error::TooLarge`] (a key over
/// [`MAX_KEY`] bytes or a value over the namespace's limit),
/// [`Error::Full`] (the namespace is full and its eviction policy, `[kv]
/// eviction`, makes no room).
pub fn set(key: &str, value: &[u8], ttl_ms: i32) -> Result<()> {
    count(sys::kv_set(key.as_bytes(), value, ttl_ms.max(0))).map(|_| ())
}

/// Removes `key`; deleting a missing key is not an error. Errors:
/// [`Error::Denied`].
pub fn delete(key: &str) -> Result<()> {
    count(sys::kv_delete(key.as_bytes())).map(|_| ())
}
