"""Tagged JSON <-> Python values, the same form as Go's internal/pyjson.

Used by the golden generator and the cross-language tests: a value travels
between Python and Go as tagged JSON when the test needs to build it on both
sides.
"""
import base64
import datetime
import json
import math
import pickle


class Global:
    def __init__(self, module, name):
        self.module, self.name = module, name


def _untag(pairs):
    if len(pairs) == 1 and pairs[0][0].startswith("$"):
        tag, v = pairs[0]
        if tag == "$tuple":
            return tuple(v)
        if tag == "$bytes":
            return base64.b64decode(v)
        if tag == "$bytearray":
            return bytearray(base64.b64decode(v))
        if tag == "$set":
            return set(v)
        if tag == "$frozenset":
            return frozenset(v)
        if tag == "$float":
            return float(v)
        if tag == "$complex":
            return complex(v[0], v[1])
        if tag == "$dict":
            return {_hashable(k): val for k, val in v}
        if tag == "$timedelta":
            return datetime.timedelta(microseconds=v)
    return dict(pairs)


def _hashable(k):
    return tuple(_hashable(x) for x in k) if isinstance(k, list) else k


def loads(s):
    return json.loads(s, object_pairs_hook=_untag)


def _enc(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return {"$float": "nan"}
        if math.isinf(v):
            return {"$float": "inf" if v > 0 else "-inf"}
        return v
    if isinstance(v, complex):
        return {"$complex": [v.real, v.imag]}
    if isinstance(v, bytes):
        return {"$bytes": base64.b64encode(v).decode()}
    if isinstance(v, bytearray):
        return {"$bytearray": base64.b64encode(v).decode()}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [_enc(x) for x in v]}
    if isinstance(v, frozenset):
        return {"$frozenset": [_enc(x) for x in v]}
    if isinstance(v, set):
        return {"$set": [_enc(x) for x in v]}
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v) and not (len(v) == 1 and next(iter(v)).startswith("$")):
            return {k: _enc(x) for k, x in v.items()}
        return {"$dict": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if isinstance(v, datetime.timedelta):
        return {"$timedelta": (v.days * 86400 + v.seconds) * 1000000 + v.microseconds}
    raise TypeError("no tagged form for %r" % type(v))


def dumps(v):
    return json.dumps(_enc(v), ensure_ascii=False, allow_nan=False)
