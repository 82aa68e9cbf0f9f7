"""Writes table_gen.go from CPython's pickletools.opcodes (go generate)."""
import pickletools

ARG_KINDS = {
    None: "ArgNone", "decimalnl_short": "ArgDecimalNL", "int4": "ArgInt4", "uint1": "ArgUint1",
    "uint2": "ArgUint2", "decimalnl_long": "ArgLongNL", "long1": "ArgLong1", "long4": "ArgLong4",
    "stringnl": "ArgStringNL", "string4": "ArgString4", "string1": "ArgString1", "bytes4": "ArgBytes4",
    "bytes1": "ArgBytes1", "bytes8": "ArgBytes8", "bytearray8": "ArgBytes8", "unicodestringnl": "ArgUnicodeNL",
    "unicodestring1": "ArgBytes1", "unicodestring4": "ArgBytes4", "unicodestring8": "ArgBytes8",
    "floatnl": "ArgFloatNL", "float8": "ArgFloat8", "uint4": "ArgUint4",
    "stringnl_noescape_pair": "ArgNamePair", "uint8": "ArgUint8", "stringnl_noescape": "ArgLineNL",
}


def camel(name):
    return "".join(p.capitalize() for p in name.split("_"))


consts, table = [], []
for o in pickletools.opcodes:
    consts.append("\t%s byte = 0x%02x // %s %r" % (camel(o.name), ord(o.code), o.name, o.code))
    table.append('\t%s: {Byte: %s, Name: "%s", Proto: %d, Arg: %s},' % (
        camel(o.name), camel(o.name), o.name, o.proto, ARG_KINDS[o.arg.name if o.arg else None]))

with open("table_gen.go", "w") as f:
    f.write("// Code generated from CPython's pickletools.opcodes; DO NOT EDIT.\n\npackage opcode\n\n")
    f.write("// Opcode bytes, one per entry of pickletools.opcodes.\nconst (\n%s\n)\n\n" % "\n".join(consts))
    f.write("var table = [256]Info{\n%s\n}\n" % "\n".join(table))
