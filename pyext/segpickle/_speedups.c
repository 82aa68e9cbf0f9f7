/*
 * segpickle._speedups: dumps_segments's common case in C.
 *
 * segpickle/__init__.py has the whole of dumps_segments in Python; this
 * module runs the same steps for the call that matters most for small
 * messages (an object, a protocol, no other argument), because at 1 KiB the
 * Python statements around Pickler.dump cost more than the pickling itself.
 * Everything else is handed back to the Python functions given to
 * configure(): an unusual argument goes to the Python dumps_segments, and a
 * pickle of more than one small piece to _finish. Without a C compiler the
 * package works the same, only slower at small sizes (segpickle uses this
 * module only when it imports).
 *
 * The steps, as in Python: take an idle (Pickler, parts) pair of that
 * protocol (its Pickler writes with parts.append), dump, move the pieces out
 * of parts, give the Pickler a new empty memo (so that it keeps nothing of
 * obj alive), and make a SegmentBuffer holding the pieces.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* Python 3.9's C API lacks these (pybuild/speedups.py builds for 3.9 and
 * later). */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
static inline PyObject *
Py_XNewRef(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
static int
PyModule_AddObjectRef(PyObject *m, const char *name, PyObject *v)
{
    Py_INCREF(v);
    int r = PyModule_AddObject(m, name, v);
    if (r < 0)
        Py_DECREF(v);
    return r;
}
#endif
#ifndef Py_NO_INLINE
#define Py_NO_INLINE __attribute__((noinline))
#endif

/* The lists of idle (Pickler, parts) pairs, by protocol: [p] for 0..5, [6]
 * for None (DEFAULT_PROTOCOL's list), [7] for -1 (HIGHEST_PROTOCOL's). */
#define N_IDLE 8
static PyObject *idle_lists[N_IDLE];
static PyObject *pickler_dump; /* pickle.Pickler.dump, called without a lookup */
static PyObject *pickle_dumps; /* pickle.dumps */
/* pickle.dumps's C function when it is one (_pickle's METH_FASTCALL |
 * METH_KEYWORDS builtin), called without the generic call's dispatch and
 * checks (about 50 instructions of the 1 KiB call); else NULL. */
static _PyCFunctionFastWithKeywords dumps_fn;
static PyObject *dumps_self;
static PyObject *pickler_clear_memo; /* pickle.Pickler.clear_memo */
static PyObject *pickler_sizeof; /* pickle.Pickler.__sizeof__ */
/* The largest Pickler.__sizeof__ whose memo table is cleared rather than
 * replaced. A memo table keeps its largest size (the pickle that memoized
 * the most objects), and clear_memo() visits all of it: after one dump of a
 * million objects, every later small dump would take milliseconds. So a
 * Pickler whose table grew past a few hundred bytes gets a new one (which
 * costs more than a clear of a small table: 2 allocations, 2 frees). */
static Py_ssize_t memo_clear_max;
static PyObject *new_pickler; /* new_pickler(protocol) -> (Pickler, parts) */
static PyObject *finish;      /* finish(buf, pooled, segs, idle) -> buf */
static PyObject *slow;        /* the Python dumps_segments */
static PyTypeObject *buf_type; /* SegmentBuffer */
static PyObject *no_memo;     /* the empty dict assigned to Pickler.memo */
static PyObject *default_limit;
static PyObject *empty_tuple;
static Py_ssize_t keep_max, max_idle;
/* SegmentBuffer's __slots__ _segs, _oob, _limit: their offsets in the
 * object when they are plain object slots (always, for a class with
 * __slots__), else -1 and set by name. */
static Py_ssize_t off_segs = -1, off_oob = -1, off_limit = -1;
static PyObject *s_memo, *s_segs, *s_oob, *s_limit;
static PyObject *s_protocol, *s_fix_imports, *s_buffer_callback, *s_out_of_band;

static Py_ssize_t
slot_offset(PyTypeObject *t, PyObject *name)
{
    PyObject *d = PyDict_GetItemWithError(t->tp_dict, name);
    /* Only t's own slot (a descriptor copied from another class would
     * name an offset in that class's objects). */
    if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type) || PyDescr_TYPE(d) != t)
        return -1;
    PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
    if (m->type != T_OBJECT_EX || (m->flags & READONLY) || m->offset < (Py_ssize_t)sizeof(PyObject) ||
        m->offset + (Py_ssize_t)sizeof(PyObject *) > t->tp_basicsize)
        return -1;
    return m->offset;
}

/* Stores v (a new reference is taken) in obj's slot at off, or by name. */
static int
set_slot(PyObject *obj, Py_ssize_t off, PyObject *name, PyObject *v)
{
    if (off < 0)
        return PyObject_SetAttr(obj, name, v);
    PyObject **p = (PyObject **)((char *)obj + off);
    PyObject *old = *p;
    Py_INCREF(v);
    *p = v;
    Py_XDECREF(old);
    return 0;
}

/* SegmentBuffer's storage as a C type: the three fields of the Python
 * class's __slots__ (_segs, _oob, _limit) and its weak reference list, with
 * a deallocator that does only that (a class with __slots__ goes through
 * subtype_dealloc: about 200 instructions of a 1 KiB dumps_segments).
 * segpickle/_buffer.py puts the Python class's methods and properties on
 * this type, so the methods are written once, in Python; dumps_segments
 * makes its objects directly. The type is garbage collected like the class
 * (a segment may be any object with a buffer).
 *
 * A pickle of one piece (every small one) is held as that piece, in one,
 * and becomes the list [one] in segs when _segs is first read: most such
 * buffers are written and dropped, and the list would cost another
 * allocation and free. segs is NULL while one holds the piece (or before
 * __init__), else the list, or None once closed.
 *
 * Such a buffer (one bytes, the empty tuple, an int) cannot be part of a
 * reference cycle, so it is not tracked by the garbage collector, as
 * CPython leaves tuples of atomic objects untracked; it is tracked as soon
 * as any field is set or _segs is read (the list it then holds can be
 * changed from Python). */
typedef struct {
    PyObject_HEAD
    PyObject *segs;
    PyObject *one;
    PyObject *oob;
    PyObject *limit;
    PyObject *weakreflist;
} SegBuf;

static PyTypeObject *segbuf_type; /* made by PyInit__speedups */

/* Freed SegmentBuffers of exactly segbuf_type kept for the next ones, as
 * CPython keeps freed lists and floats: a 1 KiB dumps_segments makes and
 * frees one a call, and the GC allocator's round trip cost about a tenth
 * of pickle.dumps's time. Their fields are NULL and they are untracked;
 * the GIL guards the array. */
#define SEGBUF_FREE_MAX 16
static SegBuf *segbuf_free[SEGBUF_FREE_MAX];
static int segbuf_nfree;

static int
segbuf_traverse(SegBuf *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->segs);
    Py_VISIT(self->one);
    Py_VISIT(self->oob);
    Py_VISIT(self->limit);
    return 0;
}

static int
segbuf_clear(SegBuf *self)
{
    Py_CLEAR(self->segs);
    Py_CLEAR(self->one);
    Py_CLEAR(self->oob);
    Py_CLEAR(self->limit);
    return 0;
}

static inline void
segbuf_free_fields(SegBuf *self, PyTypeObject *tp)
{
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    segbuf_clear(self);
    if (tp == segbuf_type && segbuf_nfree < SEGBUF_FREE_MAX) {
        segbuf_free[segbuf_nfree++] = self;
    } else {
        tp->tp_free((PyObject *)self);
    }
    Py_DECREF(tp);
}

/* A tracked buffer is freed in the trashcan (as subtype_dealloc frees an
 * object of a class with __slots__), so that a long chain of buffers, each
 * held by a field of the next, is not freed a C frame per buffer. An
 * untracked one holds only atomic objects (one bytes, the empty tuple, an
 * int), or is one the trashcan put off (the buffer its fields hold, if
 * any, is tracked: it goes through the trashcan). */
static void
segbuf_dealloc(SegBuf *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (!PyObject_GC_IsTracked((PyObject *)self)) {
        segbuf_free_fields(self, tp);
        return;
    }
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, segbuf_dealloc)
    segbuf_free_fields(self, tp);
    Py_TRASHCAN_END
}

static void
segbuf_track(SegBuf *self)
{
    if (!PyObject_GC_IsTracked((PyObject *)self))
        PyObject_GC_Track(self);
}

/* The AttributeError of a slot that is not set, as a class's __slots__
 * member gives it: the type's name in it from Python 3.10 on, its module
 * too from 3.13 on. */
static void
segbuf_unset(SegBuf *self, const char *name)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyErr_Format(PyExc_AttributeError, "'%T' object has no attribute '%s'", (PyObject *)self, name);
#elif PY_VERSION_HEX >= 0x030A0000
    PyErr_Format(PyExc_AttributeError, "'%.200s' object has no attribute '%s'", Py_TYPE(self)->tp_name, name);
#else
    PyErr_SetString(PyExc_AttributeError, name);
#endif
}

static PyObject *
segbuf_get_segs(SegBuf *self, void *closure)
{
    segbuf_track(self);
    if (self->one != NULL) {
        PyObject *list = PyList_New(1);
        if (list == NULL)
            return NULL;
        /* Python 3.9-3.11 may collect in PyList_New, and a finalizer run
         * then may have read or set _segs: one is looked at again. */
        if (self->one == NULL) {
            Py_DECREF(list); /* (its item is NULL: list_dealloc skips it) */
        } else {
            PyList_SET_ITEM(list, 0, self->one); /* the reference moves */
            self->one = NULL;
            Py_XSETREF(self->segs, list);
        }
    }
    if (self->segs == NULL) {
        segbuf_unset(self, "_segs");
        return NULL;
    }
    return Py_NewRef(self->segs);
}

static int
segbuf_set_segs(SegBuf *self, PyObject *v, void *closure)
{
    if (v == NULL && self->segs == NULL && self->one == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_segs");
        return -1;
    }
    segbuf_track(self);
    Py_CLEAR(self->one);
    Py_XSETREF(self->segs, Py_XNewRef(v));
    return 0;
}

/* _oob and _limit: plain fields (AttributeError while unset) whose setter
 * tracks the object. closure is the field's offset. */
static PyObject *
segbuf_get_field(SegBuf *self, void *closure)
{
    PyObject *v = *(PyObject **)((char *)self + (Py_ssize_t)closure);
    if (v == NULL) {
        segbuf_unset(self, closure == (void *)offsetof(SegBuf, oob) ? "_oob" : "_limit");
        return NULL;
    }
    return Py_NewRef(v);
}

static int
segbuf_set_field(SegBuf *self, PyObject *v, void *closure)
{
    PyObject **p = (PyObject **)((char *)self + (Py_ssize_t)closure);
    if (v == NULL && *p == NULL) {
        PyErr_SetString(PyExc_AttributeError, closure == (void *)offsetof(SegBuf, oob) ? "_oob" : "_limit");
        return -1;
    }
    segbuf_track(self);
    Py_XSETREF(*p, Py_XNewRef(v));
    return 0;
}

/* __weakref__, as a class with __slots__ has it: the first weak
 * reference, or None. */
static PyObject *
segbuf_get_weakref(SegBuf *self, void *closure)
{
    return Py_NewRef(self->weakreflist != NULL ? self->weakreflist : Py_None);
}

static PyMemberDef segbuf_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(SegBuf, weakreflist), READONLY, NULL},
    {NULL},
};

static PyGetSetDef segbuf_getset[] = {
    {"_segs", (getter)segbuf_get_segs, (setter)segbuf_set_segs, NULL, NULL},
    {"_oob", (getter)segbuf_get_field, (setter)segbuf_set_field, NULL, (void *)offsetof(SegBuf, oob)},
    {"_limit", (getter)segbuf_get_field, (setter)segbuf_set_field, NULL, (void *)offsetof(SegBuf, limit)},
    {"__weakref__", (getter)segbuf_get_weakref, NULL, "list of weak references to the object", NULL},
    {NULL},
};

static PyType_Slot segbuf_slots[] = {
    {Py_tp_dealloc, segbuf_dealloc},
    {Py_tp_traverse, segbuf_traverse},
    {Py_tp_clear, segbuf_clear},
    {Py_tp_members, segbuf_members},
    {Py_tp_getset, segbuf_getset},
    {0, NULL},
};

static PyType_Spec segbuf_spec = {
    "segpickle.SegmentBuffer", sizeof(SegBuf), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, segbuf_slots,
};

static Py_NO_INLINE PyObject *new_buffer_by_slots(PyObject *segs, PyObject *one);

/* A new SegmentBuffer with the default settings holding segs (a list) or
 * one piece (segs NULL), made without a lookup when it is this module's
 * type, else by its slots (another class given to configure). */
static inline PyObject *
new_buffer(PyObject *segs, PyObject *one)
{
    if (buf_type != segbuf_type)
        return new_buffer_by_slots(segs, one);
    SegBuf *b;
    if (segbuf_nfree > 0) {
        b = segbuf_free[--segbuf_nfree];
        PyObject_Init((PyObject *)b, segbuf_type); /* the type's reference, and the object's */
    } else if ((b = PyObject_GC_New(SegBuf, segbuf_type)) == NULL) {
        return NULL;
    }
    b->segs = Py_XNewRef(segs);
    b->one = Py_XNewRef(one);
    b->oob = Py_NewRef(empty_tuple);
    b->limit = Py_NewRef(default_limit);
    b->weakreflist = NULL;
    if (segs != NULL)
        PyObject_GC_Track(b);
    return (PyObject *)b;
}

static Py_NO_INLINE PyObject *
new_buffer_by_slots(PyObject *segs, PyObject *one)
{
    PyObject *list = NULL;
    if (segs == NULL) {
        if ((list = PyList_New(1)) == NULL)
            return NULL;
        PyList_SET_ITEM(list, 0, Py_NewRef(one));
        segs = list;
    }
    PyObject *buf = buf_type->tp_alloc(buf_type, 0);
    if (buf == NULL || set_slot(buf, off_oob, s_oob, empty_tuple) < 0 ||
        set_slot(buf, off_limit, s_limit, default_limit) < 0 || set_slot(buf, off_segs, s_segs, segs) < 0)
        Py_CLEAR(buf);
    Py_XDECREF(list);
    return buf;
}

/* The interpreter that imported this module first. The module's state
 * is one per process (a single-phase module: another interpreter gets a
 * copy of its dict, the same functions and type), and it holds that
 * interpreter's objects: the functions given to configure(), and the
 * methods segpickle/_buffer.py puts on SegmentBuffer. Another interpreter
 * must not use it (its own functions would replace them, and die with
 * it): usable() says whether this one may, and configure() refuses the
 * others. */
static int64_t owner = -1; /* its ID: an address could be a later interpreter's */

static int
in_owner(void)
{
    return PyInterpreterState_GetID(PyInterpreterState_Get()) == owner;
}

static PyObject *
not_owner(void)
{
    PyErr_SetString(PyExc_RuntimeError, "segpickle._speedups belongs to the interpreter that imported it first");
    return NULL;
}

static PyObject *
usable(PyObject *self, PyObject *unused)
{
    return PyBool_FromLong(in_owner());
}

static PyObject *
configure(PyObject *self, PyObject *args)
{
    PyObject *idle, *np, *fin, *sl, *bt, *nm, *lim;
    Py_ssize_t km, mi, mcm;
    PyObject *dumps, *dump, *clear_memo, *size_of;
    if (!in_owner())
        return not_owner();
    if (!PyArg_ParseTuple(args, "O!OOOOOOOO!O!O!nnn:configure", &PyDict_Type, &idle, &dumps, &dump, &clear_memo,
                          &size_of, &np, &fin, &sl, &PyType_Type,
                          &bt, &PyDict_Type, &nm, &PyLong_Type, &lim, &km, &mi, &mcm))
        return NULL;
    PyObject *lists[N_IDLE];
    for (int i = 0; i < N_IDLE; i++) {
        PyObject *key = i < 6 ? PyLong_FromLong(i) : i == 6 ? Py_NewRef(Py_None) : PyLong_FromLong(-1);
        if (key == NULL)
            return NULL;
        lists[i] = PyDict_GetItemWithError(idle, key);
        Py_DECREF(key);
        if (lists[i] == NULL || !PyList_CheckExact(lists[i])) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "configure: idle needs a list for each of 0..5, None and -1");
            return NULL;
        }
    }
    PyTypeObject *t = (PyTypeObject *)bt;
    Py_ssize_t os = slot_offset(t, s_segs), oo = slot_offset(t, s_oob), ol = slot_offset(t, s_limit);
    if (PyErr_Occurred())
        return NULL;
    for (int i = 0; i < N_IDLE; i++)
        Py_XSETREF(idle_lists[i], Py_NewRef(lists[i]));
    Py_XSETREF(pickle_dumps, Py_NewRef(dumps));
    dumps_fn = NULL;
    Py_CLEAR(dumps_self);
    if (PyCFunction_CheckExact(dumps) &&
        (PyCFunction_GET_FLAGS(dumps) & ~METH_COEXIST) == (METH_FASTCALL | METH_KEYWORDS)) {
        dumps_fn = (_PyCFunctionFastWithKeywords)(void (*)(void))PyCFunction_GET_FUNCTION(dumps);
        dumps_self = Py_XNewRef(PyCFunction_GET_SELF(dumps));
    }
    Py_XSETREF(pickler_dump, Py_NewRef(dump));
    Py_XSETREF(pickler_clear_memo, Py_NewRef(clear_memo));
    Py_XSETREF(pickler_sizeof, Py_NewRef(size_of));
    Py_INCREF(np);
    Py_XSETREF(new_pickler, np);
    Py_INCREF(fin);
    Py_XSETREF(finish, fin);
    Py_INCREF(sl);
    Py_XSETREF(slow, sl);
    Py_INCREF(bt);
    Py_XSETREF(buf_type, t);
    Py_INCREF(nm);
    Py_XSETREF(no_memo, nm);
    Py_INCREF(lim);
    Py_XSETREF(default_limit, lim);
    memo_clear_max = mcm;
    keep_max = km;
    max_idle = mi;
    off_segs = os;
    off_oob = oo;
    off_limit = ol;
    Py_RETURN_NONE;
}

/* Moves the pieces in parts into a new list, leaving parts empty with its
 * room kept for the next dump. */
static PyObject *
take(PyObject *parts)
{
    Py_ssize_t n = PyList_GET_SIZE(parts);
    PyObject *segs = PyList_New(n);
    if (segs == NULL || n == 0)
        return segs;
    PyListObject *from = (PyListObject *)parts;
    memcpy(((PyListObject *)segs)->ob_item, from->ob_item, n * sizeof(PyObject *)); /* the references move */
    Py_SET_SIZE(parts, 0);
    return segs;
}

static Py_ssize_t
size_of(PyObject *pickler)
{
    PyObject *r = PyObject_Vectorcall(pickler_sizeof, &pickler, 1, NULL);
    if (r == NULL)
        return -1;
    Py_ssize_t n = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    return n;
}

/* Puts the Pickler back in a state that holds nothing of what it pickled:
 * parts empty, its memo empty and small. */
static int
reset(PyObject *pickler, PyObject *parts)
{
    if (PyList_GET_SIZE(parts) > 0 && PyList_SetSlice(parts, 0, PyList_GET_SIZE(parts), NULL) < 0)
        return -1;
    Py_ssize_t n = size_of(pickler);
    if (n < 0)
        return -1;
    if (n > memo_clear_max)
        return PyObject_SetAttr(pickler, s_memo, no_memo);
    PyObject *r = PyObject_Vectorcall(pickler_clear_memo, &pickler, 1, NULL);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

/* The size from which CPython's Pickler hands a bytes, bytearray or str
 * payload to write() as it is (FRAME_SIZE_TARGET in _pickle.c); smaller
 * ones are copied into its frame. */
#define DIRECT_WRITE_MIN 65536

/* Whether obj's pickle keeps nothing of obj itself, so that pickle.dumps's
 * bytes are the whole of it: a scalar, or a bytes, bytearray or str whose
 * payload is under DIRECT_WRITE_MIN bytes (a str of n code points is at
 * most 4n bytes of UTF-8). Not always one piece where a Pickler writes to
 * a file: at protocols 1 and 2 a bytes (or bytearray) is pickled as a str
 * of up to 2n bytes of UTF-8, and from 32 KiB of non-ASCII on the Python
 * version gets three segments, all the Pickler's own bytes (the same
 * pickle). */
static inline int
one_piece(PyObject *obj)
{
    if (PyBytes_CheckExact(obj))
        return PyBytes_GET_SIZE(obj) < DIRECT_WRITE_MIN;
    if (PyUnicode_CheckExact(obj))
        return PyUnicode_GET_LENGTH(obj) < DIRECT_WRITE_MIN / 4;
    if (PyByteArray_CheckExact(obj))
        return PyByteArray_GET_SIZE(obj) < DIRECT_WRITE_MIN;
    return obj == Py_None || PyLong_CheckExact(obj) || PyFloat_CheckExact(obj) || PyBool_Check(obj);
}

/* A pickle of one piece is pickle.dumps's bytes: the same pickle (one
 * frame either way), made without a write call and a memo to clear. */
static inline PyObject *
dumps_one_piece(PyObject *obj, PyObject *protocol)
{
    PyObject *dargs[2] = {obj, protocol};
    PyObject *data = dumps_fn != NULL ? dumps_fn(dumps_self, dargs, 2, NULL)
                                      : PyObject_Vectorcall(pickle_dumps, dargs, 2, NULL);
    if (data == NULL)
        return NULL;
    PyObject *buf = new_buffer(NULL, data);
    Py_DECREF(data);
    return buf;
}

/* Keyword names are interned by the compiler; other strs compare by value. */
static int
kw_is(PyObject *k, PyObject *name)
{
    return k == name || (PyUnicode_Check(k) && PyUnicode_Compare(k, name) == 0);
}

static PyObject *dumps_general(PyObject *const *args, Py_ssize_t nargs, size_t nargsf, PyObject *kwnames);

static PyObject *
dumps_segments(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (slow == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "segpickle._speedups is not configured");
        return NULL;
    }
    if (!in_owner()) /* the state holds the owner's objects (see owner) */
        return not_owner();
    /* An object of one piece with a positional protocol or none: what
     * pickle.dumps gives for that protocol, the same bytes or the same
     * error (a bad protocol is refused by pickle.dumps as by the Pickler
     * that the Python version makes for it). */
    if (kwnames == NULL && (nargs == 1 || nargs == 2) && one_piece(args[0]))
        return dumps_one_piece(args[0], nargs == 2 ? args[1] : Py_None);
    return dumps_general(args, nargs, nargsf, kwnames);
}

/* dumps_segments past its first case (kept apart, so that the first case
 * runs without this one's setup). */
static Py_NO_INLINE PyObject *
dumps_general(PyObject *const *args, Py_ssize_t nargs, size_t nargsf, PyObject *kwnames)
{
    PyObject *protocol = nargs >= 2 ? args[1] : Py_None;
    int common = nargs == 1 || nargs == 2;
    if (common && kwnames != NULL) {
        Py_ssize_t nk = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nk && common; i++) {
            PyObject *k = PyTuple_GET_ITEM(kwnames, i), *v = args[nargs + i];
            if (kw_is(k, s_protocol) && nargs == 1)
                protocol = v;
            else if (kw_is(k, s_fix_imports))
                common = v == Py_True;
            else if (kw_is(k, s_buffer_callback))
                common = v == Py_None;
            else if (kw_is(k, s_out_of_band))
                common = v == Py_False;
            else /* unknown, or protocol twice: Python says what is wrong */
                common = 0;
        }
    }
    common = common && (protocol == Py_None || PyLong_CheckExact(protocol));
    PyObject *idle = NULL;
    if (common) {
        if (protocol == Py_None) {
            idle = idle_lists[6];
        } else {
            int overflow;
            long p = PyLong_AsLongAndOverflow(protocol, &overflow);
            if (p >= 0 && p < 6)
                idle = idle_lists[p];
            else if (p == -1 && !overflow)
                idle = idle_lists[7];
        }
    }
    if (idle == NULL) /* (also when PyLong_AsLongAndOverflow failed: slow raises it again) */
        return PyObject_Vectorcall(slow, args, nargsf, kwnames);
    if (one_piece(args[0]))
        return dumps_one_piece(args[0], protocol);

    PyObject *pooled;
    Py_ssize_t n = PyList_GET_SIZE(idle);
    if (n > 0) {
        /* list.pop(): the reference moves out; the list keeps its room */
        pooled = PyList_GET_ITEM(idle, n - 1);
        Py_SET_SIZE(idle, n - 1);
    } else {
        pooled = PyObject_CallOneArg(new_pickler, protocol);
        if (pooled == NULL)
            return NULL;
    }
    if (!PyTuple_CheckExact(pooled) || PyTuple_GET_SIZE(pooled) != 2 ||
        !PyList_CheckExact(PyTuple_GET_ITEM(pooled, 1))) {
        Py_DECREF(pooled);
        PyErr_SetString(PyExc_SystemError, "segpickle: a pooled Pickler is not a (Pickler, list) pair");
        return NULL;
    }
    PyObject *pickler = PyTuple_GET_ITEM(pooled, 0), *parts = PyTuple_GET_ITEM(pooled, 1);
    PyObject *callargs[2] = {pickler, args[0]};
    PyObject *r = PyObject_Vectorcall(pickler_dump, callargs, 2, NULL);
    /* The pieces: one small bytes (every small pickle: one frame) moved
     * out of parts as it is, else all of them in a list. */
    PyObject *segs = NULL, *one = NULL;
    if (r != NULL) {
        Py_DECREF(r);
        PyObject *s0 = PyList_GET_SIZE(parts) == 1 ? PyList_GET_ITEM(parts, 0) : NULL;
        if (s0 != NULL && PyBytes_CheckExact(s0) && PyBytes_GET_SIZE(s0) <= keep_max) {
            one = s0; /* the reference moves */
            Py_SET_SIZE(parts, 0);
        } else {
            segs = take(parts);
        }
    }
    /* As Python's finally: the Pickler lets go of obj whether dump worked
     * or not; an error in doing so wins only when dump succeeded. */
    int bad;
    if (segs != NULL || one != NULL) {
        bad = reset(pickler, parts);
    } else {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (reset(pickler, parts) < 0)
            PyErr_Clear();
        PyErr_Restore(et, ev, tb);
        bad = 1;
    }
    PyObject *buf = bad ? NULL : new_buffer(segs, one);
    Py_XDECREF(one);
    if (buf == NULL) {
        Py_XDECREF(segs);
        Py_DECREF(pooled);
        return NULL;
    }
    if (one != NULL) {
        Py_ssize_t k = PyList_GET_SIZE(idle);
        int err = 0;
        if (k < max_idle) {
            if (k < ((PyListObject *)idle)->allocated) { /* list.append() with room: the reference moves in */
                PyList_SET_ITEM(idle, k, pooled);
                Py_SET_SIZE(idle, k + 1);
                pooled = NULL;
            } else {
                err = PyList_Append(idle, pooled);
            }
        }
        Py_XDECREF(pooled);
        if (err < 0) {
            Py_DECREF(buf);
            return NULL;
        }
        return buf;
    }
    /* _finish gives buf its segments and pools the Pickler or not. */
    PyObject *fargs[4] = {buf, pooled, segs, idle};
    r = PyObject_Vectorcall(finish, fargs, 4, NULL);
    Py_DECREF(buf);
    Py_DECREF(segs);
    Py_DECREF(pooled);
    return r;
}

static PyMethodDef methods[] = {
    {"usable", usable, METH_NOARGS,
     "usable()\n--\n\nWhether this interpreter may use the module (the one that imported it first)."},
    {"configure", configure, METH_VARARGS,
     "configure(idle, dumps, dump, clear_memo, sizeof, new_pickler, finish, slow, SegmentBuffer, no_memo, threshold, keep_max, max_idle, memo_clear_max)\n"
     "--\n\nGives the module segpickle's pool of Picklers and the Python functions it hands off to."},
    {"dumps_segments", (PyCFunction)(void (*)(void))dumps_segments, METH_FASTCALL | METH_KEYWORDS,
     "dumps_segments($module, obj, protocol=None, *, fix_imports=True, buffer_callback=None, out_of_band=False)\n"
     "--\n\n"
     "Pickles obj into a new SegmentBuffer: pickle.dumps without the copy.\n"
     "Payloads of 64 KiB and more stay the caller's objects (kept, not\n"
     "copied); ``bytes(buf)`` equals ``pickle.dumps(obj, protocol)``.\n\n"
     "Arguments are pickle.dumps's (protocol defaults to DEFAULT_PROTOCOL).\n"
     "With out_of_band=True, PickleBuffers go to buf.out_of_band instead of\n"
     "the stream (protocol 5, the default then)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "segpickle._speedups",
    "dumps_segments's common case in C (see segpickle/_speedups.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
#define INTERN(var, text)                            \
    if ((var = PyUnicode_InternFromString(text)) == NULL) \
        return NULL;
    INTERN(s_memo, "memo");
    INTERN(s_segs, "_segs");
    INTERN(s_oob, "_oob");
    INTERN(s_limit, "_limit");
    INTERN(s_protocol, "protocol");
    INTERN(s_fix_imports, "fix_imports");
    INTERN(s_buffer_callback, "buffer_callback");
    INTERN(s_out_of_band, "out_of_band");
#undef INTERN
    if ((owner = PyInterpreterState_GetID(PyInterpreterState_Get())) < 0)
        return NULL;
    if ((empty_tuple = PyTuple_New(0)) == NULL)
        return NULL;
    if ((segbuf_type = (PyTypeObject *)PyType_FromSpec(&segbuf_spec)) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL || PyModule_AddObjectRef(m, "SegmentBuffer", (PyObject *)segbuf_type) < 0) {
        Py_XDECREF(m);
        return NULL;
    }
    return m;
}
