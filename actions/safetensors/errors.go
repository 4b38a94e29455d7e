package safetensors

import (
	"errors"
	"fmt"
)

// Categories of refusal. Every error about an input wraps one of them, so a
// caller can tell, with errors.Is, a file that is simply not a tensor
// checkpoint (skipped when a folder is converted) from one that is broken
// or hostile (which stops the conversion).
var (
	// ErrNotCheckpoint: the file is not a PyTorch checkpoint at all (a GGML
	// .bin, random bytes, an LFS pointer, an empty file).
	ErrNotCheckpoint = errors.New("not a PyTorch checkpoint")
	// ErrNotTensors: a valid checkpoint whose content is not a dictionary of
	// tensors (training_args.bin, an optimizer state, pickled Python objects).
	ErrNotTensors = errors.New("not a dictionary of tensors")
	// ErrUnsafe: the pickle refers to a global that would run code or touch
	// the system under torch.load (os.system, builtins.eval, ...).
	ErrUnsafe = errors.New("unsafe pickle")
	// ErrMalformed: the file is corrupt, truncated or inconsistent.
	ErrMalformed = errors.New("malformed checkpoint")
	// ErrUnsupported: a valid checkpoint that uses something hubbot does not
	// convert (a compressed storage, a dtype safetensors cannot hold).
	ErrUnsupported = errors.New("unsupported checkpoint")
	// ErrLimit: the input exceeds one of the Limits.
	ErrLimit = errors.New("limit exceeded")
	// ErrSizeRule: the output would be more than 1% larger than the input.
	ErrSizeRule = errors.New("output more than 1% larger than input")
	// ErrVerify: the written output did not pass verification.
	ErrVerify = errors.New("verification failed")
)

// refusal is an error about the input: a one-line message and its category.
type refusal struct {
	kind error
	msg  string
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.kind }

// refuse builds a refusal of the given category.
func refuse(kind error, format string, args ...any) error {
	return &refusal{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Skippable reports whether err only says that a file holds no tensors to
// convert. When a folder is converted, such files are reported and skipped
// (training_args.bin, optimizer.pt, a GGML .bin) instead of failing the run.
func Skippable(err error) bool {
	return errors.Is(err, ErrNotCheckpoint) || errors.Is(err, ErrNotTensors)
}

// Refused reports whether err is about the input (as opposed to an I/O
// error on the machine or a cancelled context).
func Refused(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}
