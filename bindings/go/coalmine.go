// Package coalmine judges canary deployments in-process: it learns what normal
// looks like from the stable version's history, compares each tick of a rollout
// (control cohort against canary cohort, per segment and metric) with it, and
// decides whether to continue, pause and shrink the canary, or roll back.
//
// It is a thin layer over coalmine's C library (bindings/c), linked statically:
// build it first with `make c-lib` (or `cargo build --release -p coalmine-ffi`)
// at the repository root; then `go build` needs nothing else.
//
// # Handles
//
// [Schema], [ProfileBuilder], [Profile], [Analysis], [Ewma] and [HoltWinters] own
// memory inside the C library. Call Close when done (it is idempotent); a cleanup
// registered with the garbage collector releases a forgotten handle, but late. A
// closed handle returns [ErrClosed]. Every handle may be used from several
// goroutines: calls on one handle are serialised.
//
// # Errors
//
// A failed call returns an *[Error] holding the library's [Status] and its
// detailed message. Test for a condition with errors.Is against the Status
// sentinels ([ErrTimestamp], [ErrLengthMismatch], ...). A rejected call changes
// nothing: the handle stays usable.
//
// # Costs
//
// One cgo call costs tens of nanoseconds; one tick of a typical schema costs tens
// of microseconds inside the library. [Analysis.ObserveMany],
// [Analysis.ObserveManyCounts] and the detectors' ObserveMany take whole slices, passed to C without copying, for backfills and
// replays.
package coalmine

// #cgo CFLAGS: -I${SRCDIR}/../c/include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libcoalmine.a -lm -ldl -lpthread
// #include <stdlib.h>
// #include "coalmine.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// Version is the C library's version, "MAJOR.MINOR.PATCH".
func Version() string {
	return C.GoString(C.coalmine_version())
}

// f64s passes a slice to C without copying it: a pointer to its first element, NULL
// when it is empty.
func f64s(s []float64) *C.double {
	if len(s) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(unsafe.SliceData(s)))
}

// text passes a string's bytes (no NUL needed: the library takes a length).
func text(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// bytesIn passes a byte slice's contents.
func bytesIn(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b))
}

// charsIn passes a byte slice holding text (JSON, TOML): no NUL needed.
func charsIn(b []byte) (*C.char, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b))
}

// takeBytes copies a library-owned byte buffer into Go memory and releases it.
func takeBytes(b *C.coalmine_bytes) []byte {
	defer C.coalmine_bytes_free(b)
	n := C.coalmine_bytes_len(b)
	return C.GoBytes(unsafe.Pointer(C.coalmine_bytes_data(b)), C.int(n))
}

// readText reads a text the library copies out: first its length, then the text.
func readText(read func(buf *C.char, n C.size_t, written *C.size_t) C.coalmine_status) (string, C.coalmine_status) {
	var n C.size_t
	if s := read(nil, 0, &n); s != C.COALMINE_OK {
		return "", s
	}
	buf := make([]byte, int(n)+1)
	if s := read((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n); s != C.COALMINE_OK {
		return "", s
	}
	return string(buf[:n]), C.COALMINE_OK
}

// construct runs a call that creates a handle, and on failure reads the library's
// per-thread last error on the same OS thread.
func construct(op string, call func() C.coalmine_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	status := call()
	if status == C.COALMINE_OK {
		return nil
	}
	msg, _ := readText(func(buf *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return C.coalmine_last_error(buf, n, w)
	})
	return newError(op, status, msg)
}
