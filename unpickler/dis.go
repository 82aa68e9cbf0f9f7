package unpickler

import (
	"io"

	"github.com/segpickle/segpickle/dis"
)

// Disassemble writes a listing of the pickle's opcodes in the spirit of
// pickletools.dis: offset, opcode byte, name, argument, with MARK nesting
// indented. It stops after STOP and reports malformed input as an *Error.
// It is package dis's Disassemble (which streams, with bounded lines),
// kept here for callers of the earlier API.
func Disassemble(w io.Writer, data []byte) error { return dis.Disassemble(w, data) }

// InputProtocol returns the protocol a pickle is written in (see
// dis.InputProtocol).
func InputProtocol(data []byte) int { return dis.InputProtocol(data) }
