package coalmine

import (
	"runtime"
	"sync"
)

// handle owns one C handle (P is a pointer to an opaque C type): calls on it are
// serialised by mu, Close frees it once, and a cleanup registered with the garbage
// collector frees it if Close is never called.
type handle[P comparable] struct {
	mu      sync.Mutex
	ptr     P
	free    func(P)
	cleanup runtime.Cleanup
}

// track makes h own ptr on behalf of owner (the exported Go value holding h).
func track[O any, P comparable](owner *O, h *handle[P], ptr P, free func(P)) {
	h.ptr = ptr
	h.free = free
	h.cleanup = runtime.AddCleanup(owner, free, ptr)
}

// lock returns the C pointer with the handle locked, or ErrClosed (unlocked).
func (h *handle[P]) lock() (P, error) {
	h.mu.Lock()
	var closed P
	if h.ptr == closed {
		h.mu.Unlock()
		return closed, ErrClosed
	}
	return h.ptr, nil
}

func (h *handle[P]) unlock() {
	h.mu.Unlock()
}

// close frees the C handle once; later calls do nothing.
func (h *handle[P]) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var closed P
	if h.ptr == closed {
		return
	}
	h.cleanup.Stop()
	h.free(h.ptr)
	h.ptr = closed
}
