package bubble

import "github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"

// KVGet returns the value of key in the route's key-value namespace
// (kv = "NAME" in the route; routes naming the same namespace share it) and
// whether it exists. A missing or expired key is (nil, false, nil). Values
// of any size are returned whole. Errors: ErrDenied (the route grants no
// kv).
func KVGet(key string) ([]byte, bool, error) { return kvGet(host.KVHost(), key) }

// KVSet stores value under key for ttlMs milliseconds; ttlMs ≤ 0 keeps it
// until it is deleted (TTLs beyond about 24.8 days are cut to that).
// Errors: ErrDenied, ErrTooLarge (a key over 256 bytes or a value over the
// namespace's limit), ErrFull (the namespace is full and its eviction
// policy, [kv] eviction, makes no room).
func KVSet(key string, value []byte, ttlMs int) error {
	return kvSet(host.KVHost(), key, value, ttlMs)
}

// KVDelete removes key; deleting a missing key is not an error. Errors:
// ErrDenied.
func KVDelete(key string) error { return kvDelete(host.KVHost(), key) }

// The functions below take the KV surface as an argument so that methods
// (Session's) can use it without calling host.KVHost themselves: only code
// that calls KVHost can make a module import bubblewasm_kv_v1, and an
// exported method may be kept by the linker even when nothing calls it (a
// program using reflect's Method keeps them all).

func kvGet(kv host.KV, key string) ([]byte, bool, error) {
	v, n := negotiate(func(buf []byte) int32 { return kv.KVGet(key, buf) })
	switch {
	case n == int32(ErrNotFound):
		return nil, false, nil
	case n < 0:
		return nil, false, callError("kv.get", n)
	}
	return v, true, nil
}

func kvSet(kv host.KV, key string, value []byte, ttlMs int) error {
	ttl := millis(ttlMs)
	if ttl < 0 {
		ttl = 0
	}
	if n := kv.KVSet(key, value, ttl); n < 0 {
		return callError("kv.set", n)
	}
	return nil
}

func kvDelete(kv host.KV, key string) error {
	if n := kv.KVDelete(key); n < 0 {
		return callError("kv.delete", n)
	}
	return nil
}
