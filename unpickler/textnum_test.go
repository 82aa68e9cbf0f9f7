package unpickler_test

import (
	"encoding/hex"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/unpickler"
)

// textNumberCases are protocol-0 INT, LONG and FLOAT opcodes with what
// CPython 3.11's pickle.loads makes of them (repr, "bool:", "float:", or
// ERR when it raises): strtol's octal and hex, int()'s underscores and
// prefixes, bools from two-character lines, overflow refused, NUL ending
// the line.
var textNumberCases = []struct{ hex, want string }{
	{"493031300a2e", "8"},
	{"49307831660a2e", "31"},
	{"492031320a2e", "12"},
	{"49315f3030300a2e", "1000"},
	{"492b350a2e", "5"},
	{"4c3031304c0a2e", "ERR"},
	{"4c307831300a2e", "16"},
	{"4939393939393939393939393939393939393939390a2e", "99999999999999999999"},
	{"492d300a2e", "bool:False"},
	{"4930300a2e", "bool:False"},
	{"4930310a2e", "bool:True"},
	{"49300a2e", "0"},
	{"4c315f300a2e", "10"},
	{"46315f300a2e", "ERR"},
	{"4620312e350a2e", "ERR"},
	{"46696e66696e6974790a2e", "float:inf"},
	{"464e614e0a2e", "float:nan"},
	{"49306f31370a2e", "15"},
	{"49306231310a2e", "3"},
	{"4930303031320a2e", "10"},
	{"49310d0a2e", "1"},
	{"492b310a2e", "bool:True"},
	{"4920310a2e", "bool:True"},
	{"4930380a2e", "ERR"},
	{"4930780a2e", "ERR"},
	{"49305f300a2e", "0"},
	{"493132200a2e", "12"},
	{"4909350a2e", "5"},
	{"4930785f31660a2e", "31"},
	{"49315f5f300a2e", "ERR"},
	{"495f310a2e", "ERR"},
	{"492d307831300a2e", "-16"},
	{"4920307831300a2e", "16"},
	{"49393232333337323033363835343737353830370a2e", "9223372036854775807"},
	{"49393232333337323033363835343737353830380a2e", "9223372036854775808"},
	{"492d393232333337323033363835343737353830380a2e", "-9223372036854775808"},
	{"492d393232333337323033363835343737353830390a2e", "-9223372036854775809"},
	{"49303737373737373737373737373737373737373737373737370a2e", "ERR"},
	{"4931000a2e", "bool:True"},
	{"49000a2e", "0"},
	{"493100780a2e", "1"},
	{"4c3132204c0a2e", "12"},
	{"4c2031324c0a2e", "12"},
	{"4c4c0a2e", "ERR"},
	{"4c2d307831304c0a2e", "-16"},
	{"4c304c0a2e", "0"},
	{"4c30304c0a2e", "0"},
	{"4c2d4c0a2e", "ERR"},
	{"4c3132330a2e", "123"},
	{"4c3132334c4c0a2e", "ERR"},
	{"4c31004c0a2e", "1"},
	{"4631653530300a2e", "ERR"},
	{"462d31653530300a2e", "ERR"},
	{"4631652d3530300a2e", "float:0.0"},
	{"46307831702d320a2e", "ERR"},
	{"46496e660a2e", "float:inf"},
	{"462b696e660a2e", "float:inf"},
	{"462d496e66696e6974790a2e", "float:-inf"},
	{"466e416e0a2e", "float:nan"},
	{"462d6e616e0a2e", "float:nan"},
	{"46312e35200a2e", "ERR"},
	{"462e350a2e", "float:0.5"},
	{"46352e0a2e", "float:5.0"},
	{"463165350a2e", "float:100000.0"},
	{"4631452b30350a2e", "float:100000.0"},
	{"462b312e350a2e", "float:1.5"},
	{"46312e3500780a2e", "float:1.5"},
	{"46690a2e", "ERR"},
	{"4631650a2e", "ERR"},
	{"4631652b0a2e", "ERR"},
	{"462e0a2e", "ERR"},
	{"462d2e35652d330a2e", "float:-0.0005"},
	{"46696e66780a2e", "ERR"},
	{"46312e37393736393331333438363233313537653330380a2e", "float:1.7976931348623157e+308"},
	{"4632653330380a2e", "ERR"},
	{"46342e39652d3332340a2e", "float:5e-324"},
	{"4630302e350a2e", "float:0.5"},
}

func TestTextNumbersAsCPython(t *testing.T) {
	cases := textNumberCases
	// int_max_str_digits: 4300 decimal digits at most; hex has no limit.
	cases = append(cases,
		struct{ hex, want string }{hex.EncodeToString([]byte("I" + strings.Repeat("9", 4301) + "\n.")), "ERR"},
		struct{ hex, want string }{hex.EncodeToString([]byte("I" + strings.Repeat("9", 4300) + "\n.")), strings.Repeat("9", 4300)},
		struct{ hex, want string }{hex.EncodeToString([]byte("I0x" + strings.Repeat("f", 5000) + "\n.")), "0x" + strings.Repeat("f", 5000)})
	for _, c := range cases {
		in, err := hex.DecodeString(c.hex)
		require.NoError(t, err)
		v, err := unpickler.Load(in)
		name := strconv.Quote(string(in))
		if len(name) > 60 {
			name = name[:60]
		}
		if c.want == "ERR" {
			require.ErrorIs(t, err, unpickler.ErrBadArgument, name)
			continue
		}
		require.NoError(t, err, name)
		switch {
		case strings.HasPrefix(c.want, "bool:"):
			require.Equal(t, c.want == "bool:True", v, name)
		case strings.HasPrefix(c.want, "float:"):
			want, err := strconv.ParseFloat(strings.TrimPrefix(c.want, "float:"), 64)
			require.NoError(t, err)
			f, ok := v.(float64)
			require.True(t, ok, "%s: %T", name, v)
			if math.IsNaN(want) {
				require.True(t, math.IsNaN(f), name)
			} else {
				require.Equal(t, want, f, name)
			}
		case strings.HasPrefix(c.want, "0x"):
			want, _ := new(big.Int).SetString(c.want[2:], 16)
			require.Equal(t, 0, want.Cmp(v.(*big.Int)), name)
		default:
			want, ok := new(big.Int).SetString(c.want, 10)
			require.True(t, ok, c.want)
			switch x := v.(type) {
			case int64:
				require.Equal(t, want.String(), strconv.FormatInt(x, 10), name)
			case *big.Int:
				require.Equal(t, want.String(), x.String(), name)
			default:
				t.Fatalf("%s: %T", name, v)
			}
		}
	}
}

// GET and PUT read their index as int(s, 10): whitespace, a sign,
// underscores and leading zeros are fine; negative or not a number is
// refused (pickle.loads agrees on each).
func TestTextMemoIndexAsCPython(t *testing.T) {
	for _, in := range []string{"(lp 0\ng0\n.", "(lp+0\ng0\n.", "(lp1_0\ng10\n.", "(lp010\ng10\n.", "(lp0\ng 0\n.", "(lp0\ng00\n.", "(lp0\ng-0\n.", "(lp1\x00\ng1\n."} {
		v, err := unpickler.Load([]byte(in))
		require.NoError(t, err, "%q", in)
		require.Equal(t, []any{}, v, "%q", in)
	}
	for _, in := range []string{"(lp-1\ng-1\n.", "(lp0x1\n.", "(lp9999999999999999999999\n.", "(lp1__0\n."} {
		_, err := unpickler.Load([]byte(in))
		require.ErrorIs(t, err, unpickler.ErrBadArgument, "%q", in)
	}
}
