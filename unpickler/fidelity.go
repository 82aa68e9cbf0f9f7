package unpickler

// hashKey checks that k can be a dict key or set member, as CPython's
// hash() would, and returns the form it takes there: a datetime.timezone
// still waiting to become a time's location is final as a key (no fixup
// reaches keys), so it becomes its Call now.
func (m *machine) hashKey(k any) (any, error) {
	if z, ok := k.(tzOffset); ok {
		k = resolve(z)
	}
	return k, m.hashable(k)
}
