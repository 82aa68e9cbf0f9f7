// Code generated from CPython's pickletools.opcodes; DO NOT EDIT.

package opcode

// Opcode bytes, one per entry of pickletools.opcodes.
const (
	Int             byte = 0x49 // INT 'I'
	Binint          byte = 0x4a // BININT 'J'
	Binint1         byte = 0x4b // BININT1 'K'
	Binint2         byte = 0x4d // BININT2 'M'
	Long            byte = 0x4c // LONG 'L'
	Long1           byte = 0x8a // LONG1 '\x8a'
	Long4           byte = 0x8b // LONG4 '\x8b'
	String          byte = 0x53 // STRING 'S'
	Binstring       byte = 0x54 // BINSTRING 'T'
	ShortBinstring  byte = 0x55 // SHORT_BINSTRING 'U'
	Binbytes        byte = 0x42 // BINBYTES 'B'
	ShortBinbytes   byte = 0x43 // SHORT_BINBYTES 'C'
	Binbytes8       byte = 0x8e // BINBYTES8 '\x8e'
	Bytearray8      byte = 0x96 // BYTEARRAY8 '\x96'
	NextBuffer      byte = 0x97 // NEXT_BUFFER '\x97'
	ReadonlyBuffer  byte = 0x98 // READONLY_BUFFER '\x98'
	None            byte = 0x4e // NONE 'N'
	Newtrue         byte = 0x88 // NEWTRUE '\x88'
	Newfalse        byte = 0x89 // NEWFALSE '\x89'
	Unicode         byte = 0x56 // UNICODE 'V'
	ShortBinunicode byte = 0x8c // SHORT_BINUNICODE '\x8c'
	Binunicode      byte = 0x58 // BINUNICODE 'X'
	Binunicode8     byte = 0x8d // BINUNICODE8 '\x8d'
	Float           byte = 0x46 // FLOAT 'F'
	Binfloat        byte = 0x47 // BINFLOAT 'G'
	EmptyList       byte = 0x5d // EMPTY_LIST ']'
	Append          byte = 0x61 // APPEND 'a'
	Appends         byte = 0x65 // APPENDS 'e'
	List            byte = 0x6c // LIST 'l'
	EmptyTuple      byte = 0x29 // EMPTY_TUPLE ')'
	Tuple           byte = 0x74 // TUPLE 't'
	Tuple1          byte = 0x85 // TUPLE1 '\x85'
	Tuple2          byte = 0x86 // TUPLE2 '\x86'
	Tuple3          byte = 0x87 // TUPLE3 '\x87'
	EmptyDict       byte = 0x7d // EMPTY_DICT '}'
	Dict            byte = 0x64 // DICT 'd'
	Setitem         byte = 0x73 // SETITEM 's'
	Setitems        byte = 0x75 // SETITEMS 'u'
	EmptySet        byte = 0x8f // EMPTY_SET '\x8f'
	Additems        byte = 0x90 // ADDITEMS '\x90'
	Frozenset       byte = 0x91 // FROZENSET '\x91'
	Pop             byte = 0x30 // POP '0'
	Dup             byte = 0x32 // DUP '2'
	Mark            byte = 0x28 // MARK '('
	PopMark         byte = 0x31 // POP_MARK '1'
	Get             byte = 0x67 // GET 'g'
	Binget          byte = 0x68 // BINGET 'h'
	LongBinget      byte = 0x6a // LONG_BINGET 'j'
	Put             byte = 0x70 // PUT 'p'
	Binput          byte = 0x71 // BINPUT 'q'
	LongBinput      byte = 0x72 // LONG_BINPUT 'r'
	Memoize         byte = 0x94 // MEMOIZE '\x94'
	Ext1            byte = 0x82 // EXT1 '\x82'
	Ext2            byte = 0x83 // EXT2 '\x83'
	Ext4            byte = 0x84 // EXT4 '\x84'
	Global          byte = 0x63 // GLOBAL 'c'
	StackGlobal     byte = 0x93 // STACK_GLOBAL '\x93'
	Reduce          byte = 0x52 // REDUCE 'R'
	Build           byte = 0x62 // BUILD 'b'
	Inst            byte = 0x69 // INST 'i'
	Obj             byte = 0x6f // OBJ 'o'
	Newobj          byte = 0x81 // NEWOBJ '\x81'
	NewobjEx        byte = 0x92 // NEWOBJ_EX '\x92'
	Proto           byte = 0x80 // PROTO '\x80'
	Stop            byte = 0x2e // STOP '.'
	Frame           byte = 0x95 // FRAME '\x95'
	Persid          byte = 0x50 // PERSID 'P'
	Binpersid       byte = 0x51 // BINPERSID 'Q'
)

var table = [256]Info{
	Int:             {Byte: Int, Name: "INT", Proto: 0, Arg: ArgDecimalNL},
	Binint:          {Byte: Binint, Name: "BININT", Proto: 1, Arg: ArgInt4},
	Binint1:         {Byte: Binint1, Name: "BININT1", Proto: 1, Arg: ArgUint1},
	Binint2:         {Byte: Binint2, Name: "BININT2", Proto: 1, Arg: ArgUint2},
	Long:            {Byte: Long, Name: "LONG", Proto: 0, Arg: ArgLongNL},
	Long1:           {Byte: Long1, Name: "LONG1", Proto: 2, Arg: ArgLong1},
	Long4:           {Byte: Long4, Name: "LONG4", Proto: 2, Arg: ArgLong4},
	String:          {Byte: String, Name: "STRING", Proto: 0, Arg: ArgStringNL},
	Binstring:       {Byte: Binstring, Name: "BINSTRING", Proto: 1, Arg: ArgString4},
	ShortBinstring:  {Byte: ShortBinstring, Name: "SHORT_BINSTRING", Proto: 1, Arg: ArgString1},
	Binbytes:        {Byte: Binbytes, Name: "BINBYTES", Proto: 3, Arg: ArgBytes4},
	ShortBinbytes:   {Byte: ShortBinbytes, Name: "SHORT_BINBYTES", Proto: 3, Arg: ArgBytes1},
	Binbytes8:       {Byte: Binbytes8, Name: "BINBYTES8", Proto: 4, Arg: ArgBytes8},
	Bytearray8:      {Byte: Bytearray8, Name: "BYTEARRAY8", Proto: 5, Arg: ArgBytes8},
	NextBuffer:      {Byte: NextBuffer, Name: "NEXT_BUFFER", Proto: 5, Arg: ArgNone},
	ReadonlyBuffer:  {Byte: ReadonlyBuffer, Name: "READONLY_BUFFER", Proto: 5, Arg: ArgNone},
	None:            {Byte: None, Name: "NONE", Proto: 0, Arg: ArgNone},
	Newtrue:         {Byte: Newtrue, Name: "NEWTRUE", Proto: 2, Arg: ArgNone},
	Newfalse:        {Byte: Newfalse, Name: "NEWFALSE", Proto: 2, Arg: ArgNone},
	Unicode:         {Byte: Unicode, Name: "UNICODE", Proto: 0, Arg: ArgUnicodeNL},
	ShortBinunicode: {Byte: ShortBinunicode, Name: "SHORT_BINUNICODE", Proto: 4, Arg: ArgBytes1},
	Binunicode:      {Byte: Binunicode, Name: "BINUNICODE", Proto: 1, Arg: ArgBytes4},
	Binunicode8:     {Byte: Binunicode8, Name: "BINUNICODE8", Proto: 4, Arg: ArgBytes8},
	Float:           {Byte: Float, Name: "FLOAT", Proto: 0, Arg: ArgFloatNL},
	Binfloat:        {Byte: Binfloat, Name: "BINFLOAT", Proto: 1, Arg: ArgFloat8},
	EmptyList:       {Byte: EmptyList, Name: "EMPTY_LIST", Proto: 1, Arg: ArgNone},
	Append:          {Byte: Append, Name: "APPEND", Proto: 0, Arg: ArgNone},
	Appends:         {Byte: Appends, Name: "APPENDS", Proto: 1, Arg: ArgNone},
	List:            {Byte: List, Name: "LIST", Proto: 0, Arg: ArgNone},
	EmptyTuple:      {Byte: EmptyTuple, Name: "EMPTY_TUPLE", Proto: 1, Arg: ArgNone},
	Tuple:           {Byte: Tuple, Name: "TUPLE", Proto: 0, Arg: ArgNone},
	Tuple1:          {Byte: Tuple1, Name: "TUPLE1", Proto: 2, Arg: ArgNone},
	Tuple2:          {Byte: Tuple2, Name: "TUPLE2", Proto: 2, Arg: ArgNone},
	Tuple3:          {Byte: Tuple3, Name: "TUPLE3", Proto: 2, Arg: ArgNone},
	EmptyDict:       {Byte: EmptyDict, Name: "EMPTY_DICT", Proto: 1, Arg: ArgNone},
	Dict:            {Byte: Dict, Name: "DICT", Proto: 0, Arg: ArgNone},
	Setitem:         {Byte: Setitem, Name: "SETITEM", Proto: 0, Arg: ArgNone},
	Setitems:        {Byte: Setitems, Name: "SETITEMS", Proto: 1, Arg: ArgNone},
	EmptySet:        {Byte: EmptySet, Name: "EMPTY_SET", Proto: 4, Arg: ArgNone},
	Additems:        {Byte: Additems, Name: "ADDITEMS", Proto: 4, Arg: ArgNone},
	Frozenset:       {Byte: Frozenset, Name: "FROZENSET", Proto: 4, Arg: ArgNone},
	Pop:             {Byte: Pop, Name: "POP", Proto: 0, Arg: ArgNone},
	Dup:             {Byte: Dup, Name: "DUP", Proto: 0, Arg: ArgNone},
	Mark:            {Byte: Mark, Name: "MARK", Proto: 0, Arg: ArgNone},
	PopMark:         {Byte: PopMark, Name: "POP_MARK", Proto: 1, Arg: ArgNone},
	Get:             {Byte: Get, Name: "GET", Proto: 0, Arg: ArgDecimalNL},
	Binget:          {Byte: Binget, Name: "BINGET", Proto: 1, Arg: ArgUint1},
	LongBinget:      {Byte: LongBinget, Name: "LONG_BINGET", Proto: 1, Arg: ArgUint4},
	Put:             {Byte: Put, Name: "PUT", Proto: 0, Arg: ArgDecimalNL},
	Binput:          {Byte: Binput, Name: "BINPUT", Proto: 1, Arg: ArgUint1},
	LongBinput:      {Byte: LongBinput, Name: "LONG_BINPUT", Proto: 1, Arg: ArgUint4},
	Memoize:         {Byte: Memoize, Name: "MEMOIZE", Proto: 4, Arg: ArgNone},
	Ext1:            {Byte: Ext1, Name: "EXT1", Proto: 2, Arg: ArgUint1},
	Ext2:            {Byte: Ext2, Name: "EXT2", Proto: 2, Arg: ArgUint2},
	Ext4:            {Byte: Ext4, Name: "EXT4", Proto: 2, Arg: ArgInt4},
	Global:          {Byte: Global, Name: "GLOBAL", Proto: 0, Arg: ArgNamePair},
	StackGlobal:     {Byte: StackGlobal, Name: "STACK_GLOBAL", Proto: 4, Arg: ArgNone},
	Reduce:          {Byte: Reduce, Name: "REDUCE", Proto: 0, Arg: ArgNone},
	Build:           {Byte: Build, Name: "BUILD", Proto: 0, Arg: ArgNone},
	Inst:            {Byte: Inst, Name: "INST", Proto: 0, Arg: ArgNamePair},
	Obj:             {Byte: Obj, Name: "OBJ", Proto: 1, Arg: ArgNone},
	Newobj:          {Byte: Newobj, Name: "NEWOBJ", Proto: 2, Arg: ArgNone},
	NewobjEx:        {Byte: NewobjEx, Name: "NEWOBJ_EX", Proto: 4, Arg: ArgNone},
	Proto:           {Byte: Proto, Name: "PROTO", Proto: 2, Arg: ArgUint1},
	Stop:            {Byte: Stop, Name: "STOP", Proto: 0, Arg: ArgNone},
	Frame:           {Byte: Frame, Name: "FRAME", Proto: 4, Arg: ArgUint8},
	Persid:          {Byte: Persid, Name: "PERSID", Proto: 0, Arg: ArgLineNL},
	Binpersid:       {Byte: Binpersid, Name: "BINPERSID", Proto: 1, Arg: ArgNone},
}
