"""Writes compat_gen.go from CPython's _compat_pickle (go generate)."""
import _compat_pickle as c


def q(s):
    return '"%s"' % s


out = ["// Code generated from CPython's _compat_pickle; DO NOT EDIT.", "", "package compat", ""]
for var, doc, mapping, pairs in [
    ("nameMapping", "maps Python 2 (module, name) to Python 3 (_compat_pickle.NAME_MAPPING).", c.NAME_MAPPING, True),
    ("importMapping", "maps Python 2 module names to Python 3 (_compat_pickle.IMPORT_MAPPING).", c.IMPORT_MAPPING, False),
    ("reverseNameMapping", "is _compat_pickle.REVERSE_NAME_MAPPING.", c.REVERSE_NAME_MAPPING, True),
    ("reverseImportMapping", "is _compat_pickle.REVERSE_IMPORT_MAPPING.", c.REVERSE_IMPORT_MAPPING, False),
]:
    out.append("// %s %s" % (var, doc))
    if pairs:
        out.append("var %s = map[[2]string][2]string{" % var)
        for k, v in sorted(mapping.items()):
            out.append("\t{%s, %s}: {%s, %s}," % (q(k[0]), q(k[1]), q(v[0]), q(v[1])))
    else:
        out.append("var %s = map[string]string{" % var)
        for k, v in sorted(mapping.items()):
            out.append("\t%s: %s," % (q(k), q(v)))
    out.append("}\n")
with open("compat_gen.go", "w") as f:
    f.write("\n".join(out).rstrip("\n") + "\n")
