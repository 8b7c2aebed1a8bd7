// Package indexheap is a min-heap whose elements know their place in it, so
// that one can be removed or re-sorted in O(log n) when its key changes: the
// janitors' queues in server/events (keys by expiry, subscriptions by idle
// deadline).
package indexheap

import "container/heap"

// Elem is what a Heap holds, usually a pointer to a struct with an index
// field.
type Elem[T any] interface {
	// Less orders the heap: the least element is at index 0.
	Less(other T) bool
	// SetIndex records the element's index in the heap, -1 once it is out.
	SetIndex(i int)
}

// Heap is a min-heap of T. Index it as a slice to read; change it only
// through its methods. The zero Heap is empty and ready to use.
type Heap[T Elem[T]] []T

// Push adds e.
func (h *Heap[T]) Push(e T) {
	e.SetIndex(len(*h))
	*h = append(*h, e)
	heap.Fix((*adapter[T])(h), len(*h)-1)
}

// Pop removes and returns the least element (the zero T when the heap is
// empty).
func (h *Heap[T]) Pop() T { return h.Remove(0) }

// Remove removes and returns the element at index i (the zero T when there
// is none).
func (h *Heap[T]) Remove(i int) T {
	a := (*adapter[T])(h)
	var e T
	if i < 0 || i >= len(*a) {
		return e
	}
	last := len(*a) - 1
	a.Swap(i, last)
	e, (*a)[last] = (*a)[last], e
	*a = (*a)[:last]
	e.SetIndex(-1)
	if i < last {
		heap.Fix(a, i)
	}
	return e
}

// Fix re-establishes the order after the key of the element at index i
// changed.
func (h *Heap[T]) Fix(i int) { heap.Fix((*adapter[T])(h), i) }

// adapter is Heap as container/heap sees it. Only heap.Fix is used, which
// never calls Push or Pop.
type adapter[T Elem[T]] []T

func (a adapter[T]) Len() int           { return len(a) }
func (a adapter[T]) Less(i, j int) bool { return a[i].Less(a[j]) }
func (a adapter[T]) Swap(i, j int) {
	a[i], a[j] = a[j], a[i]
	a[i].SetIndex(i)
	a[j].SetIndex(j)
}

func (a *adapter[T]) Push(x any) {
	if e, ok := x.(T); ok {
		(*Heap[T])(a).Push(e)
	}
}

func (a *adapter[T]) Pop() any { return (*Heap[T])(a).Remove(len(*a) - 1) }
