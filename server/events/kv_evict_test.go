package events

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// keysOf returns which of keys the namespace still has.
func keysOf(t testing.TB, k *MemoryKV, ns string, keys ...string) map[string]bool {
	t.Helper()
	have := map[string]bool{}
	for _, key := range keys {
		_, ok, err := k.Get(context.Background(), ns, key)
		if err != nil {
			t.Fatal(err)
		}
		have[key] = ok
	}
	return have
}

// A full namespace refuses by default, with ErrFull (not ErrTooLarge), and
// evicts as its policy says otherwise.
func TestKVEviction(t *testing.T) {
	ctx := context.Background()
	const hour, day = time.Hour, 24 * time.Hour
	for _, tc := range []struct {
		policy Eviction
		// After a, b, c (ttls day, hour, none) in a namespace of 3 keys,
		// a Get of a and a Set of d:
		err  error
		kept map[string]bool
	}{
		{EvictNone, ErrFull, map[string]bool{"a": true, "b": true, "c": true, "d": false}},
		{EvictLRU, nil, map[string]bool{"a": true, "b": false, "c": true, "d": true}},
		{EvictSoonestExpiry, nil, map[string]bool{"a": true, "b": false, "c": true, "d": true}},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			k := newKV(t, KVOptions{Limits: Limits{MaxKeys: 3}, Eviction: tc.policy})
			for _, e := range []struct {
				key string
				ttl time.Duration
			}{{"a", day}, {"b", hour}, {"c", 0}} {
				if err := k.Set(ctx, "ns", e.key, []byte(e.key), e.ttl); err != nil {
					t.Fatal(err)
				}
			}
			keysOf(t, k, "ns", "a") // a is used: b is the least recently used
			err := k.Set(ctx, "ns", "d", []byte("d"), day)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Set d: %v, want %v", err, tc.err)
			}
			if errors.Is(err, ErrTooLarge) {
				t.Fatalf("a full namespace reads as a value too large: %v", err)
			}
			have := keysOf(t, k, "ns", "a", "b", "c", "d")
			for key, want := range tc.kept {
				if have[key] != want {
					t.Errorf("after Set d: %s present %v, want %v", key, have[key], want)
				}
			}
			if keys, _, _ := k.stats(t, "ns"); keys > 3 {
				t.Errorf("%d keys in a namespace of 3", keys)
			}
		})
	}
}

// LRU evicts as many keys as the new value needs, by bytes too, never the
// key being replaced.
func TestKVEvictLRUBytes(t *testing.T) {
	ctx := context.Background()
	k := newKV(t, KVOptions{Limits: Limits{MaxKeys: 100, MaxBytes: 40, MaxValueBytes: 40}, Eviction: EvictLRU})
	for i := range 4 {
		if err := k.Set(ctx, "ns", "k"+strconv.Itoa(i), make([]byte, 8), 0); err != nil { // 9 bytes each
			t.Fatal(err)
		}
	}
	// k0 is the least recently used; replacing it with 30 bytes needs 3
	// keys' room: k1, k2 and k3 go, k0 itself stays.
	if err := k.Set(ctx, "ns", "k0", make([]byte, 29), 0); err != nil {
		t.Fatal(err)
	}
	have := keysOf(t, k, "ns", "k0", "k1", "k2", "k3")
	if !have["k0"] || have["k1"] || have["k2"] || have["k3"] {
		t.Errorf("after a large replace: %v", have)
	}
	if _, bytes, _ := k.stats(t, "ns"); bytes != 31 {
		t.Errorf("%d bytes, want 31", bytes)
	}
	// A key and value that can never fit are too large, not full.
	if err := k.Set(ctx, "ns", "big", make([]byte, 38), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("41 bytes in a 40-byte namespace: %v, want ErrTooLarge", err)
	}
}

// Soonest-expiry never evicts a key without a ttl, and a Set it cannot make
// room for evicts nothing.
func TestKVEvictSoonestExpiryKeepsPermanent(t *testing.T) {
	ctx := context.Background()
	k := newKV(t, KVOptions{Limits: Limits{MaxKeys: 3}, Eviction: EvictSoonestExpiry})
	set := func(key string, ttl time.Duration) error { return k.Set(ctx, "ns", key, []byte(key), ttl) }
	for _, key := range []string{"p1", "p2"} {
		if err := set(key, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := set("t1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := set("t2", time.Minute); err != nil { // evicts t1
		t.Fatal(err)
	}
	if err := set("p3", 0); err != nil { // evicts t2
		t.Fatal(err)
	}
	if err := set("x", time.Minute); !errors.Is(err, ErrFull) {
		t.Fatalf("only permanent keys left: %v, want ErrFull", err)
	}
	have := keysOf(t, k, "ns", "p1", "p2", "p3", "t1", "t2", "x")
	if !have["p1"] || !have["p2"] || !have["p3"] || have["t1"] || have["t2"] || have["x"] {
		t.Errorf("kept %v", have)
	}
	// Replacing the soonest-expiring key itself evicts the next soonest.
	k2 := newKV(t, KVOptions{Limits: Limits{MaxKeys: 3, MaxBytes: 9}, Eviction: EvictSoonestExpiry})
	for i, ttl := range []time.Duration{time.Minute, time.Hour, 2 * time.Hour} {
		if err := k2.Set(ctx, "ns", strconv.Itoa(i), []byte("vv"), ttl); err != nil { // 3 bytes each
			t.Fatal(err)
		}
	}
	if err := k2.Set(ctx, "ns", "0", []byte("vvvvv"), 3*time.Hour); err != nil { // 6 bytes: one other must go
		t.Fatal(err)
	}
	if have := keysOf(t, k2, "ns", "0", "1", "2"); !have["0"] || have["1"] || !have["2"] {
		t.Errorf("replacing the soonest key: kept %v, want 0 and 2", have)
	}
}

// The lock attack on a store: far more short-lived entries than the
// namespace holds never push out the long-lived ones under soonest-expiry,
// and the store keeps accepting.
func TestKVFloodSoonestExpiry(t *testing.T) {
	ctx := context.Background()
	k := newKV(t, KVOptions{Limits: Limits{MaxKeys: 100}, Eviction: EvictSoonestExpiry})
	for i := range 50 {
		if err := k.Set(ctx, "ns", "user"+strconv.Itoa(i), []byte("joined"), 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10_000 {
		if err := k.Set(ctx, "ns", "flood"+strconv.Itoa(i), []byte("x"), 2*time.Minute); err != nil {
			t.Fatalf("flood entry %d: %v", i, err)
		}
	}
	for i := range 50 {
		if _, ok, _ := k.Get(ctx, "ns", "user"+strconv.Itoa(i)); !ok {
			t.Fatalf("user%d evicted by the flood", i)
		}
	}
	if keys, _, heap := k.stats(t, "ns"); keys != 100 || heap != 100 {
		t.Errorf("%d keys, %d in the expiry heap; want 100", keys, heap)
	}
}

// A value over the limit is refused before it is copied: the host does
// not allocate its size.
func TestKVSizeCheckedBeforeCopy(t *testing.T) {
	ctx := context.Background()
	k := newKV(t, KVOptions{})
	huge := make([]byte, 100<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := k.Set(ctx, "ns", "k", huge, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("100 MB value: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing a 100 MB value allocated %d bytes", n)
	}
}
