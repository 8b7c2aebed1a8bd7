package events

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

func newKV(t testing.TB, opts KVOptions) *MemoryKV {
	k := NewMemoryKV(opts, nil)
	t.Cleanup(func() { k.Close() })
	return k
}

// stats returns the namespace's key count and byte total (-1, -1 when the
// namespace does not exist), checking the byte total against the items.
func (k *MemoryKV) stats(t testing.TB, namespace string) (keys, bytes, heap int) {
	t.Helper()
	k.mu.RLock()
	defer k.mu.RUnlock()
	s := k.spaces[namespace]
	if s == nil {
		return -1, -1, -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := 0
	for _, it := range s.items {
		sum += it.size()
	}
	if sum != s.bytes {
		t.Fatalf("namespace %q: byte total %d, items hold %d", namespace, s.bytes, sum)
	}
	return len(s.items), s.bytes, len(s.exp)
}

func TestKVBasics(t *testing.T) {
	k := newKV(t, KVOptions{
		Limits: Limits{MaxKeys: 3, MaxKeyBytes: 4, MaxValueBytes: 8, MaxBytes: 20},
		NamespaceLimits: func(ns string) Limits {
			if ns == "big" {
				return Limits{MaxKeys: 100} // other fields from Limits
			}
			return Limits{}
		},
	})
	ctx := context.Background()
	set := func(ns, key, v string) error { return k.Set(ctx, ns, key, []byte(v), 0) }
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"bad namespace", set("a b", "k", "v"), ErrBadName},
		{"empty key", set("ns", "", "v"), ErrBadName},
		{"key too long", set("ns", "kkkkk", "v"), ErrTooLarge},
		{"value too large", set("ns", "k", "123456789"), ErrTooLarge},
		{"a", set("ns", "a", "12345678"), nil},           // 9 bytes
		{"b", set("ns", "b", "1234567"), nil},            // 17 bytes
		{"c over bytes", set("ns", "c", "123"), ErrFull}, // would be 21
		{"c", set("ns", "c", "12"), nil},                 // 20 bytes, 3 keys
		{"d over keys", set("ns", "d", ""), ErrFull},
		{"replace a smaller", set("ns", "a", "1"), nil}, // 13 bytes
		{"replace b larger", set("ns", "b", "12345678"), nil},
		{"other namespace unaffected", set("ns2", "d", "x"), nil},
		{"big namespace keys", set("big", "d", "x"), nil},
	} {
		if !errors.Is(tc.err, tc.want) || (tc.want == nil) != (tc.err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if keys, bytes, _ := k.stats(t, "ns"); keys != 3 || bytes != 14 {
		t.Errorf("ns: %d keys, %d bytes; want 3, 14", keys, bytes)
	}
	for i := range 50 {
		if err := set("big", strconv.Itoa(i), ""); err != nil && !errors.Is(err, ErrFull) {
			t.Fatal(err)
		}
	}
	// MaxBytes (20) binds before MaxKeys (100): "d"+"x", "0".."9", "10".."13".
	if keys, bytes, _ := k.stats(t, "big"); keys != 15 || bytes != 20 {
		t.Errorf("big: %d keys, %d bytes; want 15, 20 (byte cap)", keys, bytes)
	}

	v, ok, err := k.Get(ctx, "ns", "b")
	if err != nil || !ok || string(v) != "12345678" {
		t.Fatalf("Get = %q, %v, %v", v, ok, err)
	}
	v[0] = 'X' // a copy: the store is unaffected
	if v, _, _ := k.Get(ctx, "ns", "b"); string(v) != "12345678" {
		t.Fatalf("Get returned the stored slice: %q", v)
	}
	if _, ok, err := k.Get(ctx, "ns", "zz"); ok || err != nil {
		t.Fatalf("Get of a missing key: %v, %v", ok, err)
	}
	if _, ok, err := k.Get(ctx, "none", "a"); ok || err != nil {
		t.Fatalf("Get in a missing namespace: %v, %v", ok, err)
	}
	if existed, err := k.Delete(ctx, "ns", "b"); !existed || err != nil {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if existed, err := k.Delete(ctx, "ns", "b"); existed || err != nil {
		t.Fatalf("second Delete = %v, %v", existed, err)
	}
	if err := set("ns", "e", "1"); err != nil {
		t.Fatalf("Set after Delete freed a key: %v", err)
	}
	if err := k.Set(ctx, "ns", "e", nil, 0); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := k.Get(ctx, "ns", "e"); !ok || v == nil || len(v) != 0 {
		t.Fatalf("empty value: %q, %v", v, ok)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := k.Get(cancelled, "ns", "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with cancelled ctx: %v", err)
	}
	k.Close()
	if _, _, err := k.Get(ctx, "ns", "a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := set("ns", "a", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close: %v", err)
	}
	if _, err := k.Delete(ctx, "ns", "a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete after Close: %v", err)
	}
}

// TestKVExpiryExact runs on synctest's clock: a key is visible until its
// ttl has passed and invisible from that instant, expired keys do not
// count against the caps, and the janitor reclaims them and the emptied
// namespace.
func TestKVExpiryExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewMemoryKV(KVOptions{Limits: Limits{MaxKeys: 2}, SweepInterval: time.Minute}, nil)
		defer k.Close()
		ctx := t.Context()
		for _, key := range []string{"a", "b"} {
			if err := k.Set(ctx, "ns", key, []byte(key), time.Second); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.Set(ctx, "ns", "c", nil, 0); !errors.Is(err, ErrFull) {
			t.Fatalf("third key: %v", err)
		}
		time.Sleep(time.Second - time.Nanosecond)
		if _, ok, _ := k.Get(ctx, "ns", "a"); !ok {
			t.Fatal("key gone before its ttl")
		}
		time.Sleep(time.Nanosecond)
		if _, ok, _ := k.Get(ctx, "ns", "a"); ok {
			t.Fatal("key visible at its ttl")
		}
		if keys, _, _ := k.stats(t, "ns"); keys != 1 {
			t.Fatalf("%d keys after Get of the expired key, want 1 (b, not reclaimed yet)", keys)
		}
		if existed, _ := k.Delete(ctx, "ns", "b"); existed {
			t.Fatal("Delete of an expired key reported it existed")
		}
		// Expired keys do not count: two fresh keys fit.
		k.Set(ctx, "ns", "c", nil, time.Second)
		k.Set(ctx, "ns", "d", nil, 0)
		if err := k.Set(ctx, "ns", "e", nil, 0); !errors.Is(err, ErrFull) {
			t.Fatalf("third live key: %v", err)
		}
		// Replacing a ttl with none takes the key off the expiry heap.
		if err := k.Set(ctx, "ns", "c", []byte("forever"), 0); err != nil {
			t.Fatal(err)
		}
		if _, _, heap := k.stats(t, "ns"); heap != 0 {
			t.Fatalf("%d keys on the expiry heap, want 0", heap)
		}
		k.Set(ctx, "ns", "c", []byte("again"), time.Hour)
		k.Delete(ctx, "ns", "d")
		time.Sleep(time.Hour + time.Minute)
		synctest.Wait()
		if keys, _, _ := k.stats(t, "ns"); keys != -1 {
			t.Fatalf("namespace still has %d keys after the janitor ran", keys)
		}
	})
}

// TestKVJanitorRealTime: with real time, expired keys become invisible and
// the janitor reclaims them (polled, without timing assertions).
func TestKVJanitorRealTime(t *testing.T) {
	goroutineBaseline(t)
	k := newKV(t, KVOptions{SweepInterval: time.Millisecond, SweepBatch: 100})
	ctx := context.Background()
	for i := range 1000 {
		if err := k.Set(ctx, "ns", strconv.Itoa(i), []byte("v"), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	k.Set(ctx, "keep", "k", []byte("v"), 0)
	testutil.Eventually(t, "keys invisible", func() bool { _, ok, _ := k.Get(ctx, "ns", "999"); return !ok })
	testutil.Eventually(t, "namespace reclaimed", func() bool { n, _, _ := k.stats(t, "ns"); return n == -1 })
	if v, ok, _ := k.Get(ctx, "keep", "k"); !ok || string(v) != "v" {
		t.Fatal("a key without ttl was lost")
	}
	k.Close()
}

// TestKVSweepBounded: one pass reclaims no more than SweepBatch keys.
func TestKVSweepBounded(t *testing.T) {
	k := newKV(t, KVOptions{SweepBatch: 100, SweepInterval: time.Hour})
	ctx := context.Background()
	for i := range 250 {
		k.Set(ctx, "ns"+strconv.Itoa(i%3), strconv.Itoa(i), []byte("v"), time.Hour)
	}
	later := k.now() + int64(2*time.Hour)
	for pass, want := range []struct {
		n          int
		more, pend bool
	}{{100, true, true}, {100, true, true}, {50, false, false}, {0, false, false}} {
		n, more, pending := k.sweepAt(later)
		if n != want.n || more != want.more || pending != want.pend {
			t.Fatalf("pass %d: reclaimed %d more=%v pending=%v; want %+v", pass+1, n, more, pending, want)
		}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.spaces) != 0 {
		t.Fatalf("%d namespaces left", len(k.spaces))
	}
}

// TestKVConcurrent hammers a few namespaces from many goroutines (for the
// race detector) and checks the accounting afterwards.
func TestKVConcurrent(t *testing.T) {
	k := newKV(t, KVOptions{Limits: Limits{MaxKeys: 50, MaxBytes: 2000}, SweepInterval: time.Millisecond, SweepBatch: 10})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 2000 {
				ns, key := "ns"+strconv.Itoa(r.IntN(3)), "k"+strconv.Itoa(r.IntN(80))
				switch r.IntN(4) {
				case 0, 1:
					v := []byte(strings.Repeat("x", r.IntN(60)))
					err := k.Set(ctx, ns, key, v, time.Duration(r.IntN(3))*time.Millisecond)
					if err != nil && !errors.Is(err, ErrFull) {
						t.Error(err)
					}
				case 2:
					if _, _, err := k.Get(ctx, ns, key); err != nil {
						t.Error(err)
					}
				case 3:
					if _, err := k.Delete(ctx, ns, key); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range 3 {
		if keys, bytes, _ := k.stats(t, "ns"+strconv.Itoa(i)); keys > 50 || bytes > 2000 {
			t.Errorf("ns%d: %d keys, %d bytes over the caps", i, keys, bytes)
		}
	}
}
