package py

import (
	"strconv"
	"time"
)

// Keys for datetime.datetime (time.Time) and datetime.timedelta
// (time.Duration), with Python's equality. Python keeps microseconds, and
// the pickler truncates to them, so two values equal to the microsecond
// are one key.
//
//   - A naive datetime (location Naive) equals another naive one with the
//     same wall clock; it never equals an aware one (Python's == says
//     False, and their hashes differ).
//   - Aware datetimes are equal when they are the same instant, whatever
//     their offsets: 12:00+01:00 == 11:00 UTC.
//   - Timedeltas are equal when their durations are.
type (
	timeKey struct {
		sec   int64 // naive: the wall clock read as UTC; aware: the instant
		us    int32
		naive bool
	}
	durationKey int64 // microseconds
)

func timeKeyOf(t time.Time) timeKey {
	// Naive has offset 0, so Unix() of a naive time is its wall clock as UTC.
	return timeKey{sec: t.Unix(), us: int32(t.Nanosecond() / 1000), naive: t.Location() == Naive}
}

func (k timeKey) String() string {
	s := strconv.FormatInt(k.sec, 10) + "." + strconv.Itoa(int(k.us))
	if k.naive {
		s += "n"
	}
	return s
}
