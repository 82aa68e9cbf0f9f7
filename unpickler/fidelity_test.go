package unpickler_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// timeKeyPickles are CPython's pickles, protocols 0-5, of
//
//	[{datetime(2020,1,2,3,4,5,6): 'naive', datetime(2020,1,2,3,4,5,6, tzinfo=timezone.utc): 'utc',
//	  timedelta(days=1, microseconds=5): 'td', (datetime(1999,12,31), timedelta(0)): 'tuple'},
//	 frozenset({datetime(2020,1,2,3,4,5,6, tzinfo=timezone(timedelta(hours=1))), timedelta(seconds=-1)})]
var timeKeyPickles = []string{
	"286c70300a286470310a636461746574696d650a6461746574696d650a70320a28635f636f646563730a656e636f64650a70330a285607e401020304055c75303030305c7530303030060a70340a566c6174696e310a70350a7470360a5270370a7470380a5270390a566e616976650a7031300a7367320a2867330a285607e401020304055c75303030305c7530303030060a7031310a67350a747031320a527031330a636461746574696d650a74696d657a6f6e650a7031340a28636461746574696d650a74696d6564656c74610a7031350a2849300a49300a49300a747031360a527031370a747031380a527031390a747032300a527032310a567574630a7032320a736731350a2849310a49300a49350a747032330a527032340a5674640a7032350a732867320a2867330a285607cf0c1f5c75303030305c75303030305c75303030305c75303030305c75303030305c75303030300a7032360a67350a747032370a527032380a747032390a527033300a6731350a2849300a49300a49300a747033310a527033320a747033330a567475706c650a7033340a7361635f5f6275696c74696e5f5f0a66726f7a656e7365740a7033350a28286c7033360a6731350a28492d310a4938363339390a49300a747033370a527033380a6167320a2867330a285607e401020304055c75303030305c7530303030060a7033390a67350a747034300a527034310a6731340a286731350a2849300a49333630300a49300a747034320a527034330a747034340a527034350a747034360a527034370a61747034380a527034390a612e",
	"5d7100287d710128636461746574696d650a6461746574696d650a710228635f636f646563730a656e636f64650a710328580b00000007c3a40102030405000006710458060000006c6174696e31710574710652710774710852710958050000006e61697665710a680228680328580b00000007c3a40102030405000006710b680574710c52710d636461746574696d650a74696d657a6f6e650a710e28636461746574696d650a74696d6564656c74610a710f284b004b004b0074711052711174711252711374711452711558030000007574637116680f284b014b004b0574711752711858020000007464711928680228680328580b00000007c38f0c1f000000000000711a680574711b52711c74711d52711e680f284b004b004b0074711f52712074712158050000007475706c65712275635f5f6275696c74696e5f5f0a66726f7a656e7365740a7123285d712428680f284affffffff4a7f5101004b00747125527126680228680328580b00000007c3a4010203040500000671276805747128527129680e28680f284b004d100e4b0074712a52712b74712c52712d74712e52712f65747130527131652e",
	"80025d7100287d710128636461746574696d650a6461746574696d650a7102635f636f646563730a656e636f64650a7103580b00000007c3a40102030405000006710458060000006c6174696e31710586710652710785710852710958050000006e61697665710a68026803580b00000007c3a40102030405000006710b680586710c52710d636461746574696d650a74696d657a6f6e650a710e636461746574696d650a74696d6564656c74610a710f4b004b004b0087711052711185711252711386711452711558030000007574637116680f4b014b004b0587711752711858020000007464711968026803580b00000007c38f0c1f000000000000711a680586711b52711c85711d52711e680f4b004b004b0087711f52712086712158050000007475706c65712275635f5f6275696c74696e5f5f0a66726f7a656e7365740a71235d712428680f4affffffff4a7f5101004b0087712552712668026803580b00000007c3a4010203040500000671276805867128527129680e680f4b004d100e4b0087712a52712b85712c52712d86712e52712f65857130527131652e",
	"80035d7100287d710128636461746574696d650a6461746574696d650a7102430a07e40102030405000006710385710452710558050000006e6169766571066802430a07e401020304050000067107636461746574696d650a74696d657a6f6e650a7108636461746574696d650a74696d6564656c74610a71094b004b004b0087710a52710b85710c52710d86710e52710f5803000000757463711068094b014b004b058771115271125802000000746471136802430a07cf0c1f000000000000711485711552711668094b004b004b0087711752711886711958050000007475706c65711a75636275696c74696e730a66726f7a656e7365740a711b5d711c2868094affffffff4a7f5101004b0087711d52711e6802430a07e40102030405000006711f680868094b004d100e4b0087712052712185712252712386712452712565857126527127652e",
	"800495f5000000000000005d94287d94288c086461746574696d65948c086461746574696d65949394430a07e4010203040500000694859452948c056e61697665946804430a07e401020304050000069468028c0874696d657a6f6e6594939468028c0974696d6564656c74619493944b004b004b008794529485945294869452948c0375746394680d4b014b004b05879452948c027464946804430a07cf0c1f0000000000009485945294680d4b004b004b008794529486948c057475706c65947528680d4affffffff4a7f5101004b00879452946804430a07e4010203040500000694680b680d4b004d100e4b008794529485945294869452949194652e",
	"800595f5000000000000005d94287d94288c086461746574696d65948c086461746574696d65949394430a07e4010203040500000694859452948c056e61697665946804430a07e401020304050000069468028c0874696d657a6f6e6594939468028c0974696d6564656c74619493944b004b004b008794529485945294869452948c0375746394680d4b014b004b05879452948c027464946804430a07cf0c1f0000000000009485945294680d4b004b004b008794529486948c057475706c65947528680d4affffffff4a7f5101004b00879452946804430a07e4010203040500000694680b680d4b004d100e4b008794529485945294869452949194652e",
}

func TestTimeKeys(t *testing.T) {
	naive := time.Date(2020, 1, 2, 3, 4, 5, 6000, py.Naive)
	utc := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	plus1 := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.FixedZone("", 3600))
	for proto, h := range timeKeyPickles {
		v, err := unpickler.Load(unhex(t, h))
		require.NoError(t, err, "protocol %d", proto)
		check := func(v any) {
			l := v.([]any)
			d := l[0].(*py.Dict)
			require.Equal(t, 4, d.Len())
			for _, kv := range []struct {
				k    any
				want string
			}{
				{naive, "naive"}, {utc, "utc"},
				// Same instant as utc, other offset: the same key in Python.
				{utc.In(time.FixedZone("", -7200)), "utc"},
				{24*time.Hour + 5*time.Microsecond, "td"},
				{py.Tuple{time.Date(1999, 12, 31, 0, 0, 0, 0, py.Naive), time.Duration(0)}, "tuple"},
			} {
				got, ok := d.Get(kv.k)
				require.True(t, ok, "protocol %d: key %v", proto, kv.k)
				require.Equal(t, kv.want, got)
			}
			fs := l[1].(*py.FrozenSet)
			require.Equal(t, 2, fs.Len())
			require.True(t, fs.Has(plus1))
			require.True(t, fs.Has(-time.Second))
			require.False(t, fs.Has(time.Date(2020, 1, 2, 3, 4, 5, 6000, py.Naive)))
		}
		check(v)
		// Re-encoded at the same protocol, it decodes to the same value.
		out, err := pickler.Marshal(v, pickler.Protocol(proto))
		require.NoError(t, err, "protocol %d", proto)
		v2, err := unpickler.Load(out)
		require.NoError(t, err, "protocol %d", proto)
		check(v2)
	}
}

// A datetime.timezone is hashable: as a dict key or set member it stays
// the timezone call (it only becomes a location inside a datetime).
func TestTimezoneKeys(t *testing.T) {
	for _, h := range []string{
		// {timezone.utc: 1, timezone(timedelta(hours=2)): 2}, protocol 2
		"80027d710028636461746574696d650a74696d657a6f6e650a7101636461746574696d650a74696d6564656c74610a71024b004b004b008771035271048571055271064b01680168024b004d201c4b0087710752710885710952710a4b02752e",
		// {frozenset([timezone.utc])}, protocol 4
		"8004953e000000000000008f9428288c086461746574696d65948c0874696d657a6f6e6594939468018c0974696d6564656c74619493944b004b004b0087945294859452949194902e",
	} {
		v, err := unpickler.Load(unhex(t, h))
		require.NoError(t, err)
		out, err := pickler.Marshal(v, pickler.Protocol(2))
		require.NoError(t, err)
		_, err = unpickler.Load(out)
		require.NoError(t, err)
	}
	v, _ := unpickler.Load(unhex(t, "80027d710028636461746574696d650a74696d657a6f6e650a7101636461746574696d650a74696d6564656c74610a71024b004b004b008771035271048571055271064b01680168024b004d201c4b0087710752710885710952710a4b02752e"))
	k := v.(*py.Dict).Items()[1].Key.(*py.Call)
	require.Equal(t, py.Global{Module: "datetime", Name: "timezone"}, k.Callable)
	require.Equal(t, py.Tuple{2 * time.Hour}, k.Args)
}

// A timezone on its own re-encodes as CPython wrote it (its offset was
// once re-encoded in nanoseconds read as seconds: 2 hours became 7 µs).
func TestStrayTimezoneReencodes(t *testing.T) {
	in := unhex(t, "8002636461746574696d650a74696d657a6f6e650a7100636461746574696d650a74696d6564656c74610a71014b004d201c4b008771025271038571045271052e")
	v, err := unpickler.Load(in)
	require.NoError(t, err)
	out, err := pickler.Marshal(v, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(in), hex.EncodeToString(out))
}

// surrogatePickles are CPython's pickles, protocols 0-5, of
// ['caf\udce9.csv', '\ud83d\ude00x\U0001f600', '\udc80'*3].
var surrogatePickles = []string{
	"286c70300a566361665c75646365392e6373760a70310a61565c75643833645c7564653030785c5530303031663630300a70320a61565c75646338305c75646338305c75646338300a70330a612e",
	"5d710028580a000000636166edb3a92e6373767101580b000000eda0bdedb88078f09f988071025809000000edb280edb280edb2807103652e",
	"80025d710028580a000000636166edb3a92e6373767101580b000000eda0bdedb88078f09f988071025809000000edb280edb280edb2807103652e",
	"80035d710028580a000000636166edb3a92e6373767101580b000000eda0bdedb88078f09f988071025809000000edb280edb280edb2807103652e",
	"8004952c000000000000005d94288c0a636166edb3a92e637376948c0beda0bdedb88078f09f9880948c09edb280edb280edb28094652e",
	"8005952c000000000000005d94288c0a636166edb3a92e637376948c0beda0bdedb88078f09f9880948c09edb280edb280edb28094652e",
}

func TestSurrogatesKeptAndReencoded(t *testing.T) {
	want := []any{"caf\xed\xb3\xa9.csv", "\xed\xa0\xbd\xed\xb8\x80x\U0001f600", "\xed\xb2\x80\xed\xb2\x80\xed\xb2\x80"}
	for proto, h := range surrogatePickles {
		in := unhex(t, h)
		v, err := unpickler.Load(in)
		require.NoError(t, err, "protocol %d", proto)
		require.Equal(t, want, v, "protocol %d", proto)
		// The pickler writes them back as CPython does, byte for byte.
		out, err := pickler.Marshal(v, pickler.Protocol(proto))
		require.NoError(t, err, "protocol %d", proto)
		require.Equal(t, h, hex.EncodeToString(out), "protocol %d", proto)
		var s []string
		require.NoError(t, unpickler.Unmarshal(in, &s))
		require.Equal(t, want[0], s[0])
	}
}

func TestInvalidUTF8Refused(t *testing.T) {
	for _, c := range []struct{ hex, detail string }{
		{"8c01932e", "'utf-8' codec can't decode byte 0x93 in position 0: invalid start byte"}, // SHORT_BINUNICODE
		{"5803000000ed41412e", "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
		{"8d0200000000000000e4b82e", "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"},
	} {
		_, err := unpickler.Load(unhex(t, c.hex))
		require.ErrorIs(t, err, unpickler.ErrBadArgument, c.hex)
		require.ErrorContains(t, err, c.detail, c.hex)
	}
}

func TestPicklerStrings(t *testing.T) {
	for proto := 0; proto <= 5; proto++ {
		_, err := pickler.Marshal("caf\x93", pickler.Protocol(proto))
		var ue *pickler.UnsupportedValueError
		require.ErrorAs(t, err, &ue, "protocol %d", proto)
		_, err = pickler.Marshal(map[string]any{"k\xed\xa0": 1}, pickler.Protocol(proto)) // truncated surrogate
		require.ErrorAs(t, err, &ue, "protocol %d", proto)
	}
}

// Python 2 pickles write codec names, dict keys and (hand-made)
// STACK_GLOBAL names as Python 2 str; CPython reads them as str.
func TestPython2Strs(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want any
	}{
		{"bytearray(u'ab', 'latin-1')", "c__builtin__\nbytearray\n(Vab\nS'latin-1'\ntR.", py.ByteArray("ab")},
		{"_codecs.encode(u'\\xe9', 'latin1')", "c_codecs\nencode\n(V\xe9\nS'latin1'\ntR.", []byte{0xe9}},
		{"codec alias L1", "c_codecs\nencode\n(V\xe9\nS'L1'\ntR.", []byte{0xe9}},
		{"bytes(u'ab', u'utf-8')", "\x80\x02c__builtin__\nbytes\nVab\nVutf-8\n\x86R.", []byte("ab")},
		{"STACK_GLOBAL of Python 2 str", "S'__builtin__'\nS'bytearray'\n\x93(Vab\nS'latin-1'\ntR.", py.ByteArray("ab")},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := unpickler.Load([]byte(c.in))
			require.NoError(t, err)
			require.Equal(t, c.want, v)
		})
	}
	// Under Encoding("bytes") a Python 2 str is bytes: CPython says
	// "STACK_GLOBAL requires str".
	_, err := unpickler.Load([]byte("S'__builtin__'\nS'bytearray'\n\x93(Vab\nS'latin-1'\ntR."), unpickler.Encoding("bytes"))
	require.ErrorIs(t, err, unpickler.ErrBadType)
	// A codec CPython has no fast form for here stays a call (CPython
	// evaluates it when it loads the re-encoded pickle).
	v, err := unpickler.Load([]byte("c_codecs\nencode\n(Vab\nS'rot13'\ntR."))
	require.NoError(t, err)
	require.IsType(t, &py.Call{}, v)

	// {'A': 1} from Python 2: the key is a Python 2 str.
	in := unhex(t, "2864532741270a49310a732e")
	var s struct{ A int }
	require.NoError(t, unpickler.Unmarshal(in, &s))
	require.Equal(t, 1, s.A)
	var m map[any]any
	require.NoError(t, unpickler.Unmarshal(in, &m))
	require.Equal(t, map[any]any{"A": int64(1)}, m)
	// A key that is not ASCII is refused under the default encoding, as
	// CPython refuses the pickle; latin1 reads it.
	in = []byte("(dS'\xe9'\nI1\ns.")
	require.ErrorAs(t, unpickler.Unmarshal(in, &s), new(*unpickler.UnmarshalTypeError))
	m = nil
	require.NoError(t, unpickler.Unmarshal(in, &m, unpickler.Encoding("latin1")))
	require.Equal(t, map[any]any{"é": int64(1)}, m)
	// A key Go cannot hash in an interface: a typed error, not ErrInternal.
	m = nil
	err = unpickler.Unmarshal([]byte("(dC\x01aI1\ns."), &m)
	require.ErrorAs(t, err, new(*unpickler.UnmarshalTypeError))
}

// GLOBAL's names are strict UTF-8 in CPython, INST's ASCII: other bytes
// are refused with CPython's words (a name once decoded to U+FFFD, which
// the pickler then could not write).
func TestGlobalNamesDecodedAsCPython(t *testing.T) {
	for _, c := range []struct{ in, detail string }{
		{"c\xff\n\n.", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"},
		{"c\xed\xa0\x80\nx\n.", "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
		{"cm\nx\xc3\n.", "'utf-8' codec can't decode byte 0xc3 in position 1: unexpected end of data"},
		{"(i\xff\nx\n.", "'ascii' codec can't decode byte 0xff in position 0: ordinal not in range(128)"},
		{"(im\n\xc3\xa9\n.", "'ascii' codec can't decode byte 0xc3 in position 0: ordinal not in range(128)"},
		{"P\xc3\xa9\n.", "persistent IDs in protocol 0 must be ASCII strings"},
	} {
		_, err := unpickler.Load([]byte(c.in))
		require.ErrorIs(t, err, unpickler.ErrBadArgument, "%q", c.in)
		require.ErrorContains(t, err, c.detail, "%q", c.in)
	}
	v, err := unpickler.Load([]byte("cm\n\xc3\xa9\n."))
	require.NoError(t, err)
	require.Equal(t, py.Global{Module: "m", Name: "é"}, v)
}

// Python 2 writes a datetime's state as a Python 2 str; CPython reads it
// with encoding='latin1' or 'bytes' (ASCII only when the bytes are).
func TestPython2Datetime(t *testing.T) {
	in := []byte("cdatetime\ndatetime\np0\n(S'\\x07\\xd0\\x01\\x02\\x03\\x04\\x05\\x00\\x00\\x06'\np1\ntp2\nRp3\n.")
	want := time.Date(2000, 1, 2, 3, 4, 5, 6000, py.Naive)
	for _, enc := range []string{"latin1", "bytes"} {
		v, err := unpickler.Load(in, unpickler.Encoding(enc))
		require.NoError(t, err)
		require.Equal(t, want, v, enc)
		var tm time.Time
		require.NoError(t, unpickler.Unmarshal(in, &tm, unpickler.Encoding(enc)))
		require.True(t, want.Equal(tm))
	}
	// Under ASCII, CPython refuses it: it stays the call it was, which
	// re-encodes as it came.
	v, err := unpickler.Load(in)
	require.NoError(t, err)
	require.IsType(t, &py.Call{}, v)
	// All-ASCII state: a datetime under the default encoding too (1872).
	v, err = unpickler.Load([]byte("cdatetime\ndatetime\n(S'\\x07P\\x01\\x02\\x03\\x04\\x05\\x00\\x00\\x06'\ntR."))
	require.NoError(t, err)
	require.Equal(t, time.Date(1872, 1, 2, 3, 4, 5, 6000, py.Naive), v)
}
