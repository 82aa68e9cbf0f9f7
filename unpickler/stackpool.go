package unpickler

import "sync"

// stackPool keeps the stacks of finished dynamic decodes for the next
// ones. A batch of 65,000 items (a frozenset of ints, a long tuple) grows
// the machine's stack by doubling: 4 MB allocated and copied per decode,
// which set the pace of the collector for the whole decode (a frozenset of
// 65,000 ints: 8.2 MB allocated per decode, 3.1 MB with the stack reused).
// Stacks come back cleared, so a pooled stack pins no decoded value.
var stackPool sync.Pool // of *[]any, every element nil

const (
	minPooledStack = 1 << 10 // smaller stacks cost less than pooling them
	maxPooledStack = 1 << 18 // 4 MB: larger ones are left to the collector
)

// takeStack gives m a pooled stack, if there is one.
func (m *machine) takeStack() {
	if p, ok := stackPool.Get().(*[]any); ok {
		m.stack = (*p)[:0]
	}
}

// releaseStack clears m's stack and pools it. Every value pushed consumed
// at least one byte of input, so the stack never held more values than
// the input offset: only that much of it is cleared, whatever its size.
func (m *machine) releaseStack() {
	m.releaseMemo() // and the memo's chunks (memo.go)
	st := m.stack[:cap(m.stack)]
	m.stack = nil
	if len(st) < minPooledStack || len(st) > maxPooledStack {
		return
	}
	clear(st[:min(int64(len(st)), m.src.Offset()+1)])
	p := new([]any) // (not &st: st would be on the heap for every decode)
	*p = st
	stackPool.Put(p)
}
