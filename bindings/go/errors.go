package coalmine

// #include "coalmine.h"
import "C"

import (
	"errors"
	"unsafe"
)

// Status is the library's result code: 0 for success, the core's stable error codes
// from 1, and conditions of the C ABI from 1000. A Status is an error, so the
// constants below are sentinels for errors.Is.
type Status uint32

// Error sentinels, one per status. Compare with errors.Is(err, coalmine.ErrTimestamp).
const (
	// ErrInvalidParameter: a configuration parameter is outside its valid range.
	ErrInvalidParameter Status = C.COALMINE_INVALID_PARAMETER
	// ErrNonFinite: a NaN or infinite value where a finite one is needed.
	ErrNonFinite Status = C.COALMINE_NON_FINITE
	// ErrLengthMismatch: a slice of the wrong length.
	ErrLengthMismatch Status = C.COALMINE_LENGTH_MISMATCH
	// ErrInsufficientData: not enough history for what was asked.
	ErrInsufficientData Status = C.COALMINE_INSUFFICIENT_DATA
	// ErrOutOfRange: a finite value beyond the supported magnitude (1e100).
	ErrOutOfRange Status = C.COALMINE_OUT_OF_RANGE
	// ErrTimestamp: a tick's timestamp is not after the previous tick's.
	ErrTimestamp Status = C.COALMINE_TIMESTAMP
	// ErrDuplicate: a name given twice where names must be unique.
	ErrDuplicate Status = C.COALMINE_DUPLICATE
	// ErrUnknownName: a name that refers to nothing.
	ErrUnknownName Status = C.COALMINE_UNKNOWN_NAME
	// ErrInvalidValue: a value impossible for its metric's kind.
	ErrInvalidValue Status = C.COALMINE_INVALID_VALUE
	// ErrProfileVersion: a profile written by another format version.
	ErrProfileVersion Status = C.COALMINE_PROFILE_VERSION
	// ErrCorruptProfile: a truncated, malformed or inconsistent profile.
	ErrCorruptProfile Status = C.COALMINE_CORRUPT_PROFILE
	// ErrCheckpointVersion: a checkpoint written by another format version.
	ErrCheckpointVersion Status = C.COALMINE_CHECKPOINT_VERSION
	// ErrCorruptCheckpoint: a truncated, malformed or inconsistent checkpoint.
	ErrCorruptCheckpoint Status = C.COALMINE_CORRUPT_CHECKPOINT
	// ErrSchemaMismatch: two things that must share a schema do not.
	ErrSchemaMismatch Status = C.COALMINE_SCHEMA_MISMATCH
	// ErrTooLarge: a size beyond coalmine's limits.
	ErrTooLarge Status = C.COALMINE_TOO_LARGE
	// ErrInternal: a broken internal invariant, a bug in coalmine.
	ErrInternal Status = C.COALMINE_INTERNAL
	// ErrFinished: the rollout was promoted; the analysis takes no more ticks.
	ErrFinished Status = C.COALMINE_FINISHED
	// ErrInvalidCount: a count behind a tick's value is negative, infinite or beyond
	// 1e100 (NaN, an unknown count, is accepted).
	ErrInvalidCount Status = C.COALMINE_INVALID_COUNT
	// ErrNullPointer: a required pointer was NULL (not reachable from safe Go).
	ErrNullPointer Status = C.COALMINE_NULL_POINTER
	// ErrInvalidUTF8: a text argument is not valid UTF-8.
	ErrInvalidUTF8 Status = C.COALMINE_INVALID_UTF8
	// ErrPanic: the library panicked (a bug); nothing unwound into Go.
	ErrPanic Status = C.COALMINE_PANIC
	// ErrBufferTooSmall: an output slice is too short.
	ErrBufferTooSmall Status = C.COALMINE_BUFFER_TOO_SMALL
	// ErrIndexOutOfRange: an index beyond the end of what it indexes.
	ErrIndexOutOfRange Status = C.COALMINE_INDEX_OUT_OF_RANGE
	// ErrParse: a JSON or TOML text could not be parsed.
	ErrParse Status = C.COALMINE_PARSE_ERROR
	// ErrPoisoned: an earlier call on the handle panicked; close it.
	ErrPoisoned Status = C.COALMINE_POISONED
)

// ErrClosed is returned by every method of a handle after Close.
var ErrClosed = errors.New("coalmine: handle is closed")

// Error returns the status's short name, as the library spells it.
func (s Status) Error() string {
	var buf [128]byte
	var n C.size_t
	if C.coalmine_status_message(C.coalmine_status(s), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n) != C.COALMINE_OK {
		return "coalmine: status message unavailable"
	}
	return "coalmine: " + string(buf[:n])
}

// Error is a failed call: which operation, the library's status, and its detailed
// message. errors.Is(err, ErrX) matches its Status.
type Error struct {
	// Op is the Go operation that failed, e.g. "Analysis.Observe".
	Op string
	// Status is the library's status code.
	Status Status
	// Message is the library's detailed message (may be empty).
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Op + ": " + e.Status.Error()
	}
	return "coalmine: " + e.Op + ": " + e.Message
}

// Unwrap gives the Status, for errors.Is.
func (e *Error) Unwrap() error {
	return e.Status
}

func newError(op string, status C.coalmine_status, msg string) error {
	return &Error{Op: op, Status: Status(status), Message: msg}
}
