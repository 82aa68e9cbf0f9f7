package unpickler

import "reflect"

// SelfAssigner is implemented by values that a registered Constructor
// returns when they know how to store themselves into Go targets the
// assigner has no rule for: package numpy registers numpy's array
// functions with constructors whose *numpy.Array stores itself into
// []float64, [][]float64, a scalar and so on.
//
// After a constructor returns such a value, typed Unmarshal calls
// AssignPickle with the (settable) target. done reports that the value
// took care of it; an error is reported as an *UnmarshalTypeError with the
// target's path. done false and no error leaves the target to the
// assigner's own rules. Targets of interface type, pointers and
// Unmarshalers are handled before constructors run and never reach it.
type SelfAssigner interface {
	AssignPickle(dst reflect.Value) (done bool, err error)
}

// assignSelf gives a constructed value that is a SelfAssigner the target.
func assignSelf(val any, dst reflect.Value, path string) (bool, error) {
	s, ok := val.(SelfAssigner)
	if !ok {
		return false, nil
	}
	done, err := s.AssignPickle(dst)
	if err != nil {
		return true, &UnmarshalTypeError{Value: err.Error(), Type: dst.Type().String(), Path: path}
	}
	return done, nil
}
