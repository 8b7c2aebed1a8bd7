package validcache

import (
	"errors"
	"testing"
)

func TestCache(t *testing.T) {
	dir := t.TempDir()
	calls := 0
	ok := func([]byte) error { calls++; return nil }
	bad := func([]byte) error { calls++; return errors.New("invalid") }
	a, b := []byte("module a"), []byte("module b")

	c := New(dir, "engine-v1")
	for range 2 {
		if err := c.Validate(a, ok); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("validated %d times, want once", calls)
	}
	for range 2 {
		if err := c.Validate(b, bad); err == nil {
			t.Fatal("a failed validation was not reported")
		}
	}
	if calls != 3 {
		t.Fatalf("a failed validation was remembered (%d calls, want 3)", calls)
	}
	if hits, misses := c.Stats(); hits != 1 || misses != 3 {
		t.Errorf("Stats = %d hits, %d misses; want 1 and 3", hits, misses)
	}
	// A new cache on the same directory (a warm start) takes the marker;
	// another engine configuration, or no directory, does not.
	if err := New(dir, "engine-v1").Validate(a, bad); err != nil {
		t.Fatalf("warm start validated again: %v", err)
	}
	if err := New(dir, "engine-v2").Validate(a, bad); err == nil {
		t.Fatal("another engine configuration took the marker")
	}
	if err := New("", "engine-v1").Validate(a, bad); err == nil {
		t.Fatal("a cache without a directory took the marker")
	}
}
