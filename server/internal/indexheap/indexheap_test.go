package indexheap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type elem struct {
	key, idx int
}

func (e *elem) Less(o *elem) bool { return e.key < o.key }
func (e *elem) SetIndex(i int)    { e.idx = i }

// check verifies the heap order and that every element knows its index.
func check(t *testing.T, h Heap[*elem]) {
	t.Helper()
	for i, e := range h {
		if e.idx != i {
			t.Fatalf("element %d has index %d", i, e.idx)
		}
		if i > 0 && h[i].key < h[(i-1)/2].key {
			t.Fatalf("element %d is less than its parent", i)
		}
	}
}

func TestHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Heap[*elem]
	var all []*elem
	for range 200 {
		e := &elem{key: r.IntN(1000)}
		all = append(all, e)
		h.Push(e)
		check(t, h)
	}
	// Change keys, remove from the middle, then drain in order.
	for _, e := range all[:50] {
		e.key = r.IntN(1000)
		h.Fix(e.idx)
		check(t, h)
	}
	for _, e := range all[50:100] {
		if got := h.Remove(e.idx); got != e || e.idx != -1 {
			t.Fatalf("Remove returned %v (index %d), want %v", got, e.idx, e)
		}
		check(t, h)
	}
	var keys []int
	for len(h) > 0 {
		keys = append(keys, h.Pop().key)
		check(t, h)
	}
	if len(keys) != 150 || !slices.IsSorted(keys) {
		t.Fatalf("popped %d keys, sorted %v", len(keys), slices.IsSorted(keys))
	}
	if h.Pop() != nil || h.Remove(3) != nil {
		t.Fatal("Pop or Remove on an empty heap returned an element")
	}
}
