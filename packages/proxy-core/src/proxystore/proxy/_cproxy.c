/*
 * C accelerator of proxystore.proxy: the base type that forwards every protocol
 * slot of a proxy to its target.
 *
 * Only the hot paths live here: the fast "target already resolved" check, and
 * forwarding of attributes, operators, containers, comparison, hashing, calls,
 * iteration and the buffer protocol. Everything that runs once per proxy
 * (resolution with its locking, pickling, repr, copying, attribute assignment,
 * the rarely used protocols) is written once in Python and shared with the
 * pure-Python base in _pyproxy.py, which passes the same tests.
 *
 * Resolution: every slot asks proxy_target() for a new reference to the target.
 * If the target is unset, proxy_resolve_slow() runs the single-flight protocol of
 * _resolution.py: the first thread owns the resolution and calls the factory;
 * threads arriving meanwhile register a Flight and wait for the owner's outcome.
 * The owner's state changes run without calling Python code in between, so the
 * GIL makes each of them atomic; waiting, notifying and building the errors are
 * done by the Python functions of _resolution.py. (A free-threaded build would
 * need a per-object critical section here; it is not supported yet.) A
 * resolution that was in flight when the process forked belongs to a thread
 * that does not exist in the child: fork_generation tells such stale state.
 *
 * Subclasses that override __proxy_wrapped__ (to check validity on every use,
 * as ownership proxies do) are "hooked": every slot then goes through that
 * attribute instead of the fast path.
 *
 * A target that is itself a proxy (or a hooked proxy that returns one) makes
 * forwarding re-enter these slots in C; such calls are wrapped in
 * Py_EnterRecursiveCall, so a proxy that ends up wrapping itself raises
 * RecursionError instead of overflowing the C stack. The fast path knows from a
 * flag kept with the target that it needs no guard.
 *
 * Attribute assignment is not a slot here: Proxy.__setattr__ (in _proxy.py)
 * forwards it, so that object.__setattr__(proxy, ...) keeps working.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *factory;        /* __proxy_factory__ */
    PyObject *target;         /* __proxy_target__; NULL while unresolved */
    PyObject *default_class;  /* __proxy_default_class__ */
    PyObject *default_hash;   /* __proxy_default_hash__ */
    PyObject *waiting;        /* Flight of threads waiting on the owner, or NULL */
    unsigned long owner;      /* thread running the factory, if resolving */
    unsigned long generation; /* fork_generation when the owner started */
    int resolving;
    /* Why forwarding cannot take the fast path (0 when it can): */
    unsigned char hooked;     /* the type overrides __proxy_wrapped__ */
    unsigned char nested;     /* the target is itself a proxy */
    PyObject *weakreflist;
} ProxyObject;

static PyTypeObject ProxyBaseType;

/* From proxystore.proxy._resolution, imported when this module is. */
static PyObject *Flight = NULL;
static PyObject *wait_func = NULL;
static PyObject *notify_func = NULL;
static PyObject *factory_error_func = NULL;
static PyObject *uninitialized_error_func = NULL;
static PyObject *recursion_error_func = NULL;
static PyObject *waiter_error_func = NULL;

static PyObject *str_finished = NULL;
static PyObject *str_error = NULL;
static PyObject *str_wrapped = NULL;
static PyObject *str_class = NULL;
/* Names that exist on the proxy's type but must still report the target's. */
static PyObject *str_doc = NULL;
static PyObject *str_module = NULL;
static PyObject *str_annotations = NULL;
static PyObject *str_dict = NULL;
static PyObject *str_weakref = NULL;

/* Borrowed descriptors of ProxyBase and object, compared by identity. */
static PyObject *proxy_class_descr = NULL;
static PyObject *object_class_descr = NULL;
static PyObject *wrapped_descr = NULL;

/* Incremented in a forked child (os.register_at_fork). */
static unsigned long fork_generation = 0;

/* Every proxy type is ProxyBase or a subclass made in Python (a heap type), so
 * operands of static types (int, float, ndarray) are told apart cheaply. */
#define Proxy_Check(op)                                                        \
    (Py_IS_TYPE(op, &ProxyBaseType) ||                                         \
     (PyType_HasFeature(Py_TYPE(op), Py_TPFLAGS_HEAPTYPE) &&                   \
      PyType_IsSubtype(Py_TYPE(op), &ProxyBaseType)))

/* Store a new target (steals nothing: the caller keeps its reference). */
static void
proxy_store_target(ProxyObject *self, PyObject *value)
{
    Py_XINCREF(value);
    self->nested = value != NULL && Proxy_Check(value);
    Py_XSETREF(self->target, value);
}

/* ------------------------------------------------------------- resolution */

static void
raise_built(PyObject *func, PyObject *arg)
{
    PyObject *error = arg == NULL ? PyObject_CallNoArgs(func)
                                  : PyObject_CallOneArg(func, arg);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
}

/* End a flight and wake its waiters (steals the reference); error may be NULL.
 * The outcome is stored from C first (slot stores run no Python code, so no
 * asynchronous exception can cut in); waiters poll it if the wake-up is lost. */
static void
notify_waiters(PyObject *flight, PyObject *error)
{
    if (flight == NULL) {
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb); /* keep the caller's pending error */
    if (PyObject_SetAttr(flight, str_error, error == NULL ? Py_None : error) < 0 ||
        PyObject_SetAttr(flight, str_finished, Py_True) < 0) {
        PyErr_WriteUnraisable(flight);
    }
    PyObject *done = PyObject_CallOneArg(notify_func, flight);
    if (done == NULL) {
        PyErr_WriteUnraisable(notify_func);
    }
    Py_XDECREF(done);
    Py_DECREF(flight);
    PyErr_Restore(type, value, tb);
}

/* The owner: call the factory, store the target, tell the waiters. */
static PyObject *
proxy_run_factory(ProxyObject *self, unsigned long me)
{
    self->resolving = 1;
    self->owner = me;
    self->generation = fork_generation;
    PyObject *factory = self->factory;
    PyObject *result = NULL;
    PyObject *error = NULL; /* the ProxyResolveError to raise, if any */
    if (factory != NULL) {
        Py_INCREF(factory);
        result = PyObject_CallNoArgs(factory);
        Py_DECREF(factory);
    }
    /* Build the error while the flight is still open (this runs Python code,
     * so other threads may arrive: they must wait, not call the factory). */
    if (result == NULL && factory == NULL) {
        error = PyObject_CallNoArgs(uninitialized_error_func);
    }
    else if (result == NULL && PyErr_ExceptionMatches(PyExc_Exception)) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL) {
            PyException_SetTraceback(value, tb);
        }
        error = PyObject_CallOneArg(factory_error_func, value);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    /* Atomic under the GIL: a waiter registers before this or sees the end. */
    PyObject *waiting = self->waiting;
    self->waiting = NULL;
    self->resolving = 0;
    self->owner = 0;
    if (result != NULL) {
        proxy_store_target(self, result);
        notify_waiters(waiting, NULL);
        return result;
    }
    /* Waiters get the error; after an interruption (KeyboardInterrupt,
     * SystemExit) or a failure to build it, they try again themselves. */
    notify_waiters(waiting, error);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
    return NULL;
}

static PyObject *
proxy_resolve_slow(ProxyObject *self)
{
    unsigned long me = PyThread_get_thread_ident();
    /* Repeats only when an owner ended with neither a target nor an error for
     * its waiters (it was interrupted), so that a waiter then takes over. */
    for (;;) {
        if (self->target != NULL) {
            Py_INCREF(self->target);
            return self->target;
        }
        if (self->resolving && self->generation != fork_generation) {
            /* The owner was a thread of the parent process: start afresh. */
            self->resolving = 0;
            self->owner = 0;
            Py_CLEAR(self->waiting);
            continue;
        }
        if (!self->resolving) {
            return proxy_run_factory(self, me);
        }
        if (self->owner == me) {
            raise_built(recursion_error_func, NULL);
            return NULL;
        }
        PyObject *flight = PyObject_CallNoArgs(Flight);
        if (flight == NULL) {
            return NULL;
        }
        /* Atomic under the GIL: no Python code runs from here to the wait. */
        if (self->target != NULL || !self->resolving) {
            Py_DECREF(flight);
            continue;
        }
        if (self->waiting == NULL) {
            self->waiting = flight;
            Py_INCREF(flight);
        }
        else {
            Py_SETREF(flight, Py_NewRef(self->waiting));
        }
        PyObject *error = PyObject_CallOneArg(wait_func, flight);
        Py_DECREF(flight);
        if (error == NULL) {
            return NULL;
        }
        if (error != Py_None) {
            raise_built(waiter_error_func, error);
            Py_DECREF(error);
            return NULL;
        }
        Py_DECREF(error);
    }
}

/* New reference to the target, resolving the proxy if needed (no hook). */
static inline PyObject *
proxy_resolve(ProxyObject *self)
{
    PyObject *target = self->target;
    if (target != NULL) {
        Py_INCREF(target);
        return target;
    }
    return proxy_resolve_slow(self);
}

static PyObject *
proxy_target_slow(ProxyObject *self, int *guard)
{
    PyObject *target = self->hooked ? PyObject_GetAttr((PyObject *)self, str_wrapped)
                                    : proxy_resolve(self);
    if (target != NULL && Proxy_Check(target)) {
        if (Py_EnterRecursiveCall(" while forwarding to a proxy")) {
            Py_DECREF(target);
            return NULL;
        }
        *guard = 1;
    }
    return target;
}

/* What every forwarding slot uses: a new reference to the target, through the
 * subclass's __proxy_wrapped__ when the type overrides it. When *guard is set,
 * a recursion guard was entered: release with RELEASE(target, guard). */
static inline PyObject *
proxy_target(ProxyObject *self, int *guard)
{
    PyObject *target = self->target;
    if (target != NULL && !(self->hooked | self->nested)) {
        Py_INCREF(target);
        return target;
    }
    return proxy_target_slow(self, guard);
}

#define RELEASE(target, guard)                                                 \
    do {                                                                       \
        if (guard) {                                                           \
            Py_LeaveRecursiveCall();                                           \
        }                                                                      \
        Py_DECREF(target);                                                     \
    } while (0)

/* ---------------------------------------------------------------- lifecycle */

static int
proxy_init(ProxyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"factory", "cache_defaults", "target", NULL};
    PyObject *factory = NULL;
    int cache_defaults = 0;
    PyObject *target = Py_None;
    PyObject *default_class = Py_None;
    PyObject *default_hash = Py_None;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$pO:Proxy", kwlist,
                                     &factory, &cache_defaults, &target)) {
        return -1;
    }
    if (!PyCallable_Check(factory)) {
        PyErr_SetString(PyExc_TypeError, "Factory must be callable.");
        return -1;
    }
    Py_INCREF(default_class);
    Py_INCREF(default_hash);
    if (target != Py_None && cache_defaults) {
        Py_SETREF(default_class, PyObject_GetAttr(target, str_class));
        if (default_class == NULL) {
            Py_DECREF(default_hash);
            return -1;
        }
        Py_hash_t h = PyObject_Hash(target);
        if (h == -1 && PyErr_ExceptionMatches(PyExc_TypeError)) {
            /* Unhashable: remember the error and raise it again on hash(). */
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            Py_SETREF(default_hash, value);
        }
        else if (h == -1 && PyErr_Occurred()) {
            Py_DECREF(default_class);
            Py_DECREF(default_hash);
            return -1;
        }
        else {
            Py_SETREF(default_hash, PyLong_FromSsize_t(h));
        }
        if (default_hash == NULL) {
            Py_DECREF(default_class);
            return -1;
        }
    }
    Py_INCREF(factory);
    Py_XSETREF(self->factory, factory);
    Py_XSETREF(self->default_class, default_class);
    Py_XSETREF(self->default_hash, default_hash);
    proxy_store_target(self, target == Py_None ? NULL : target);
    return 0;
}

static PyObject *
proxy_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    ProxyObject *self = (ProxyObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->hooked = _PyType_Lookup(type, str_wrapped) != wrapped_descr;
    }
    return (PyObject *)self;
}

static int
proxy_traverse(ProxyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->factory);
    Py_VISIT(self->target);
    Py_VISIT(self->default_class);
    Py_VISIT(self->default_hash);
    Py_VISIT(self->waiting);
    return 0;
}

static int
proxy_clear(ProxyObject *self)
{
    Py_CLEAR(self->factory);
    Py_CLEAR(self->target);
    Py_CLEAR(self->default_class);
    Py_CLEAR(self->default_hash);
    Py_CLEAR(self->waiting);
    return 0;
}

static void
proxy_dealloc(ProxyObject *self)
{
    PyObject_GC_UnTrack(self);
    /* Long chains of proxies of proxies must not overflow the C stack. */
    Py_TRASHCAN_BEGIN(self, proxy_dealloc)
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    proxy_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

/* ---------------------------------------------------------------- attributes */

static int
is_name(PyObject *name, PyObject *interned)
{
    if (name == interned) {
        return 1;
    }
    if (PyUnicode_CHECK_INTERNED(name)) {
        return 0;
    }
    return PyUnicode_Compare(name, interned) == 0;
}

static int
reports_target(PyObject *name)
{
    return is_name(name, str_doc) || is_name(name, str_module) ||
           is_name(name, str_annotations) || is_name(name, str_dict) ||
           is_name(name, str_weakref);
}

static PyObject *proxy_get_class(ProxyObject *self, void *closure);

static PyObject *
proxy_getattro(ProxyObject *self, PyObject *name)
{
    /* Attributes the proxy type defines (its slots, methods and the __proxy_*__
     * attributes) belong to the proxy; every other name belongs to the target
     * (see _names.py for the same rule in Python). */
    if (!PyUnicode_Check(name)) {
        return PyObject_GenericGetAttr((PyObject *)self, name);
    }
    PyObject *descr = _PyType_Lookup(Py_TYPE(self), name);
    if (descr == proxy_class_descr) {
        return proxy_get_class(self, NULL); /* isinstance() asks for this */
    }
    if (descr == NULL || reports_target(name)) {
        int guard = 0;
        PyObject *target = proxy_target(self, &guard);
        if (target == NULL) {
            return NULL;
        }
        PyObject *result = PyObject_GetAttr(target, name);
        RELEASE(target, guard);
        return result;
    }
    return PyObject_GenericGetAttr((PyObject *)self, name);
}

static PyObject *
proxy_get_class(ProxyObject *self, void *closure)
{
    if (self->target == NULL && self->default_class != NULL &&
        self->default_class != Py_None) {
        Py_INCREF(self->default_class);
        return self->default_class;
    }
    int guard = 0;
    PyObject *target = proxy_target(self, &guard);
    if (target == NULL) {
        return NULL;
    }
    PyObject *cls;
    if (_PyType_Lookup(Py_TYPE(target), str_class) == object_class_descr) {
        /* The target does not override __class__: it is its type. */
        cls = (PyObject *)Py_TYPE(target);
        Py_INCREF(cls);
    }
    else {
        cls = PyObject_GetAttr(target, str_class);
    }
    RELEASE(target, guard);
    return cls;
}

static int
proxy_set_class(ProxyObject *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "can't delete __class__ attribute");
        return -1;
    }
    int guard = 0;
    PyObject *target = proxy_target(self, &guard);
    if (target == NULL) {
        return -1;
    }
    int rc = PyObject_SetAttr(target, str_class, value);
    RELEASE(target, guard);
    return rc;
}

static PyObject *
proxy_get_wrapped(ProxyObject *self, void *closure)
{
    return proxy_resolve(self);
}

/* Setting replaces the target; deleting un-resolves the proxy, so that the
 * next access calls the factory (deleting an unset target is an error). */
static int
proxy_set_wrapped(ProxyObject *self, PyObject *value, void *closure)
{
    if (value == NULL && self->target == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__proxy_target__");
        return -1;
    }
    proxy_store_target(self, value);
    return 0;
}

static PyObject *
proxy_get_target(ProxyObject *self, void *closure)
{
    if (self->target == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__proxy_target__");
        return NULL;
    }
    Py_INCREF(self->target);
    return self->target;
}

static PyObject *
proxy_get_resolved(ProxyObject *self, void *closure)
{
    return PyBool_FromLong(self->target != NULL);
}

static PyGetSetDef proxy_getset[] = {
    {"__class__", (getter)proxy_get_class, (setter)proxy_set_class,
     "The target's class (the cached default class while unresolved).", NULL},
    {"__proxy_wrapped__", (getter)proxy_get_wrapped, (setter)proxy_set_wrapped,
     "The target, resolved on first access; assign to replace it, delete to "
     "un-resolve.",
     NULL},
    {"__proxy_target__", (getter)proxy_get_target, (setter)proxy_set_wrapped,
     "The target once resolved (unset while unresolved).", NULL},
    {"__proxy_resolved__", (getter)proxy_get_resolved, NULL,
     "Whether the target is resolved.", NULL},
    {NULL},
};

static PyMemberDef proxy_members[] = {
    {"__proxy_factory__", T_OBJECT_EX, offsetof(ProxyObject, factory), 0,
     "The factory that returns the target."},
    {"__proxy_default_class__", T_OBJECT_EX,
     offsetof(ProxyObject, default_class), 0,
     "Class reported by __class__ while unresolved, or None."},
    {"__proxy_default_hash__", T_OBJECT_EX,
     offsetof(ProxyObject, default_hash), 0,
     "Hash reported while unresolved (or the TypeError to raise), or None."},
    {NULL},
};

/* ---------------------------------------------------------- object protocol */

/* A slot that forwards one call on the target. The fast case (resolved, not
 * hooked, not nested) is inline; every other case goes to a generated twin
 * NAME_slow that resolves and guards. PARAMS repeats the names of ARGS. */
#define FORWARD(NAME, RTYPE, ERROR, ARGS, PARAMS, CALL)                        \
    static Py_NO_INLINE RTYPE NAME##_slow ARGS                                 \
    {                                                                          \
        int guard = 0;                                                         \
        PyObject *target = proxy_target_slow(self, &guard);                    \
        if (target == NULL) {                                                  \
            return ERROR;                                                      \
        }                                                                      \
        RTYPE result = CALL;                                                   \
        RELEASE(target, guard);                                                \
        return result;                                                         \
    }                                                                          \
    static RTYPE NAME ARGS                                                     \
    {                                                                          \
        PyObject *target = self->target;                                       \
        if (target == NULL || (self->hooked | self->nested)) {                 \
            return NAME##_slow PARAMS;                                         \
        }                                                                      \
        Py_INCREF(target);                                                     \
        RTYPE result = CALL;                                                   \
        Py_DECREF(target);                                                     \
        return result;                                                         \
    }

FORWARD(proxy_str, PyObject *, NULL, (ProxyObject *self), (self),
        PyObject_Str(target))
FORWARD(proxy_richcompare, PyObject *, NULL,
        (ProxyObject *self, PyObject *other, int op), (self, other, op),
        PyObject_RichCompare(target, other, op))
FORWARD(proxy_call, PyObject *, NULL,
        (ProxyObject *self, PyObject *args, PyObject *kwargs),
        (self, args, kwargs), PyObject_Call(target, args, kwargs))
FORWARD(proxy_iter, PyObject *, NULL, (ProxyObject *self), (self),
        PyObject_GetIter(target))
FORWARD(proxy_bool, int, -1, (ProxyObject *self), (self),
        PyObject_IsTrue(target))
FORWARD(proxy_length, Py_ssize_t, -1, (ProxyObject *self), (self),
        PyObject_Size(target))
FORWARD(proxy_contains, int, -1, (ProxyObject *self, PyObject *value),
        (self, value), PySequence_Contains(target, value))

static inline PyObject *
iternext_of(PyObject *target)
{
    if (!PyIter_Check(target)) {
        PyErr_Format(PyExc_TypeError, "'%.200s' object is not an iterator",
                     Py_TYPE(target)->tp_name);
        return NULL;
    }
    return (*Py_TYPE(target)->tp_iternext)(target);
}

FORWARD(proxy_iternext, PyObject *, NULL, (ProxyObject *self), (self),
        iternext_of(target))

static Py_hash_t
hash_of_default(PyObject *value)
{
    if (PyExceptionInstance_Check(value)) {
        /* A fresh traceback and no context each time, as `raise e from None`. */
        PyException_SetTraceback(value, Py_None);
        PyException_SetCause(value, NULL);
        ((PyBaseExceptionObject *)value)->suppress_context = 1;
        PyErr_SetObject((PyObject *)Py_TYPE(value), value);
        return -1;
    }
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "__hash__ method should return an integer");
        return -1;
    }
    /* As CPython converts a __hash__ result: -1 is reserved for errors, and ints
     * out of range are hashed. */
    Py_hash_t h = PyLong_AsSsize_t(value);
    if (h == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return PyObject_Hash(value);
    }
    return h == -1 ? -2 : h;
}

static Py_hash_t
proxy_hash(ProxyObject *self)
{
    if (self->target == NULL && self->default_hash != NULL &&
        self->default_hash != Py_None) {
        return hash_of_default(self->default_hash);
    }
    int guard = 0;
    PyObject *target = proxy_target(self, &guard);
    if (target == NULL) {
        return -1;
    }
    Py_hash_t h = PyObject_Hash(target);
    RELEASE(target, guard);
    return h;
}

/* ------------------------------------------------------------------ numbers */

#define UNARY(NAME, CALL)                                                      \
    FORWARD(NAME, PyObject *, NULL, (ProxyObject *self), (self), CALL(target))

/* Either operand may be the proxy: CPython calls this function through the
 * slot of an operand's type, or through ProxyBase.__add__/__radd__ when a
 * subclass that overrides the operator calls super(). Which operands to unwrap:
 * - one whose type has this very function in the slot (a cheap, exact test);
 * - a proxy on the left whose type overrides the operator: it is `self` of a
 *   super().__op__ call;
 * - a proxy on the right whose type overrides the operator, when the left
 *   operand is not such a proxy: it is `self` of super().__rop__.
 * The operation then runs on the targets. When both unwrapped operands have the
 * same built-in type, that type's slot decides alone and is called directly. */
#define HAS_SLOT(op, SLOT, NAME)                                               \
    (Py_TYPE(op)->tp_as_number != NULL &&                                      \
     Py_TYPE(op)->tp_as_number->SLOT == (void *)NAME)

#define BINARY(NAME, SLOT, CALL)                                               \
    static PyObject *NAME(PyObject *a, PyObject *b)                            \
    {                                                                          \
        int over_a = !HAS_SLOT(a, SLOT, NAME) && Proxy_Check(a);               \
        int unwrap_a = over_a || HAS_SLOT(a, SLOT, NAME);                      \
        int unwrap_b = HAS_SLOT(b, SLOT, NAME) || (!over_a && Proxy_Check(b)); \
        int guard_a = 0, guard_b = 0;                                          \
        PyObject *x = unwrap_a ? proxy_target((ProxyObject *)a, &guard_a)      \
                               : (Py_INCREF(a), a);                            \
        if (x == NULL) {                                                       \
            return NULL;                                                       \
        }                                                                      \
        PyObject *y = unwrap_b ? proxy_target((ProxyObject *)b, &guard_b)      \
                               : (Py_INCREF(b), b);                            \
        if (y == NULL) {                                                       \
            RELEASE(x, guard_a);                                               \
            return NULL;                                                       \
        }                                                                      \
        PyObject *result;                                                      \
        PyTypeObject *tx = Py_TYPE(x);                                         \
        binaryfunc same = tx == Py_TYPE(y) && tx->tp_as_number != NULL &&      \
                                  !PyType_HasFeature(tx, Py_TPFLAGS_HEAPTYPE)  \
                              ? tx->tp_as_number->SLOT                         \
                              : NULL;                                          \
        if (same != NULL) {                                                    \
            result = same(x, y);                                               \
            if (result == Py_NotImplemented) {                                 \
                Py_DECREF(result);                                             \
                result = CALL(x, y);                                           \
            }                                                                  \
        }                                                                      \
        else {                                                                 \
            result = CALL(x, y);                                               \
        }                                                                      \
        RELEASE(y, guard_b);                                                   \
        RELEASE(x, guard_a);                                                   \
        return result;                                                         \
    }

/* In place: the result becomes the new target and the proxy itself is
 * returned, so `p += 1` keeps `p` a proxy. CPython calls in-place slots only
 * with the proxy on the left. */
#define INPLACE(NAME, CALL)                                                    \
    static PyObject *NAME(ProxyObject *self, PyObject *other)                  \
    {                                                                          \
        int guard = 0, guard_other = 0;                                        \
        PyObject *target = proxy_target(self, &guard);                         \
        if (target == NULL) {                                                  \
            return NULL;                                                       \
        }                                                                      \
        PyObject *y = Proxy_Check(other)                                       \
                          ? proxy_target((ProxyObject *)other, &guard_other)   \
                          : (Py_INCREF(other), other);                         \
        if (y == NULL) {                                                       \
            RELEASE(target, guard);                                            \
            return NULL;                                                       \
        }                                                                      \
        PyObject *result = CALL(target, y);                                    \
        RELEASE(y, guard_other);                                               \
        RELEASE(target, guard);                                                \
        if (result == NULL) {                                                  \
            return NULL;                                                       \
        }                                                                      \
        proxy_store_target(self, result);                                      \
        Py_DECREF(result);                                                     \
        Py_INCREF(self);                                                       \
        return (PyObject *)self;                                               \
    }

UNARY(proxy_negative, PyNumber_Negative)
UNARY(proxy_positive, PyNumber_Positive)
UNARY(proxy_absolute, PyNumber_Absolute)
UNARY(proxy_invert, PyNumber_Invert)
UNARY(proxy_int, PyNumber_Long)
UNARY(proxy_float, PyNumber_Float)
UNARY(proxy_index, PyNumber_Index)

BINARY(proxy_add, nb_add, PyNumber_Add)
BINARY(proxy_subtract, nb_subtract, PyNumber_Subtract)
BINARY(proxy_multiply, nb_multiply, PyNumber_Multiply)
BINARY(proxy_matrix_multiply, nb_matrix_multiply, PyNumber_MatrixMultiply)
BINARY(proxy_remainder, nb_remainder, PyNumber_Remainder)
BINARY(proxy_divmod, nb_divmod, PyNumber_Divmod)
BINARY(proxy_lshift, nb_lshift, PyNumber_Lshift)
BINARY(proxy_rshift, nb_rshift, PyNumber_Rshift)
BINARY(proxy_and, nb_and, PyNumber_And)
BINARY(proxy_xor, nb_xor, PyNumber_Xor)
BINARY(proxy_or, nb_or, PyNumber_Or)
BINARY(proxy_floor_divide, nb_floor_divide, PyNumber_FloorDivide)
BINARY(proxy_true_divide, nb_true_divide, PyNumber_TrueDivide)

INPLACE(proxy_inplace_add, PyNumber_InPlaceAdd)
INPLACE(proxy_inplace_subtract, PyNumber_InPlaceSubtract)
INPLACE(proxy_inplace_multiply, PyNumber_InPlaceMultiply)
INPLACE(proxy_inplace_matrix_multiply, PyNumber_InPlaceMatrixMultiply)
INPLACE(proxy_inplace_remainder, PyNumber_InPlaceRemainder)
INPLACE(proxy_inplace_lshift, PyNumber_InPlaceLshift)
INPLACE(proxy_inplace_rshift, PyNumber_InPlaceRshift)
INPLACE(proxy_inplace_and, PyNumber_InPlaceAnd)
INPLACE(proxy_inplace_xor, PyNumber_InPlaceXor)
INPLACE(proxy_inplace_or, PyNumber_InPlaceOr)
INPLACE(proxy_inplace_floor_divide, PyNumber_InPlaceFloorDivide)
INPLACE(proxy_inplace_true_divide, PyNumber_InPlaceTrueDivide)

static PyObject *
proxy_power(PyObject *a, PyObject *b, PyObject *c)
{
    PyObject *operands[3] = {a, b, c};
    PyObject *values[3] = {NULL, NULL, NULL};
    int guards[3] = {0, 0, 0};
    PyObject *result = NULL;
    for (int i = 0; i < 3; i++) {
        if (Proxy_Check(operands[i])) {
            values[i] = proxy_target((ProxyObject *)operands[i], &guards[i]);
        }
        else {
            values[i] = Py_NewRef(operands[i]);
        }
        if (values[i] == NULL) {
            goto done;
        }
    }
    result = PyNumber_Power(values[0], values[1], values[2]);
done:
    for (int i = 2; i >= 0; i--) {
        if (values[i] != NULL) {
            RELEASE(values[i], guards[i]);
        }
    }
    return result;
}

static PyObject *
proxy_inplace_power(ProxyObject *self, PyObject *other, PyObject *mod)
{
    int guard = 0;
    PyObject *target = proxy_target(self, &guard);
    if (target == NULL) {
        return NULL;
    }
    PyObject *result = PyNumber_InPlacePower(target, other, mod);
    RELEASE(target, guard);
    if (result == NULL) {
        return NULL;
    }
    proxy_store_target(self, result);
    Py_DECREF(result);
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyNumberMethods proxy_as_number = {
    .nb_add = proxy_add,
    .nb_subtract = proxy_subtract,
    .nb_multiply = proxy_multiply,
    .nb_remainder = proxy_remainder,
    .nb_divmod = proxy_divmod,
    .nb_power = proxy_power,
    .nb_negative = (unaryfunc)proxy_negative,
    .nb_positive = (unaryfunc)proxy_positive,
    .nb_absolute = (unaryfunc)proxy_absolute,
    .nb_bool = (inquiry)proxy_bool,
    .nb_invert = (unaryfunc)proxy_invert,
    .nb_lshift = proxy_lshift,
    .nb_rshift = proxy_rshift,
    .nb_and = proxy_and,
    .nb_xor = proxy_xor,
    .nb_or = proxy_or,
    .nb_int = (unaryfunc)proxy_int,
    .nb_float = (unaryfunc)proxy_float,
    .nb_inplace_add = (binaryfunc)proxy_inplace_add,
    .nb_inplace_subtract = (binaryfunc)proxy_inplace_subtract,
    .nb_inplace_multiply = (binaryfunc)proxy_inplace_multiply,
    .nb_inplace_remainder = (binaryfunc)proxy_inplace_remainder,
    .nb_inplace_power = (ternaryfunc)proxy_inplace_power,
    .nb_inplace_lshift = (binaryfunc)proxy_inplace_lshift,
    .nb_inplace_rshift = (binaryfunc)proxy_inplace_rshift,
    .nb_inplace_and = (binaryfunc)proxy_inplace_and,
    .nb_inplace_xor = (binaryfunc)proxy_inplace_xor,
    .nb_inplace_or = (binaryfunc)proxy_inplace_or,
    .nb_floor_divide = proxy_floor_divide,
    .nb_true_divide = proxy_true_divide,
    .nb_inplace_floor_divide = (binaryfunc)proxy_inplace_floor_divide,
    .nb_inplace_true_divide = (binaryfunc)proxy_inplace_true_divide,
    .nb_index = (unaryfunc)proxy_index,
    .nb_matrix_multiply = proxy_matrix_multiply,
    .nb_inplace_matrix_multiply = (binaryfunc)proxy_inplace_matrix_multiply,
};

/* --------------------------------------------------------------- containers */

static inline PyObject *
getitem_of(PyObject *target, PyObject *key)
{
    PyMappingMethods *mapping = Py_TYPE(target)->tp_as_mapping;
    return (mapping != NULL && mapping->mp_subscript != NULL)
               ? mapping->mp_subscript(target, key)
               : PyObject_GetItem(target, key);
}

FORWARD(proxy_getitem, PyObject *, NULL, (ProxyObject *self, PyObject *key),
        (self, key), getitem_of(target, key))
FORWARD(proxy_setitem, int, -1,
        (ProxyObject *self, PyObject *key, PyObject *value), (self, key, value),
        value == NULL ? PyObject_DelItem(target, key)
                      : PyObject_SetItem(target, key, value))

/* Present so that C code testing PySequence_Check (numpy's array coercion,
 * reversed()) treats a proxied sequence like the sequence it wraps. */
static PyObject *
proxy_sq_item(ProxyObject *self, Py_ssize_t index)
{
    PyObject *key = PyLong_FromSsize_t(index);
    if (key == NULL) {
        return NULL;
    }
    PyObject *result = proxy_getitem(self, key);
    Py_DECREF(key);
    return result;
}

static PyMappingMethods proxy_as_mapping = {
    .mp_length = (lenfunc)proxy_length,
    .mp_subscript = (binaryfunc)proxy_getitem,
    .mp_ass_subscript = (objobjargproc)proxy_setitem,
};

static PySequenceMethods proxy_as_sequence = {
    .sq_length = (lenfunc)proxy_length,
    .sq_item = (ssizeargfunc)proxy_sq_item,
    .sq_contains = (objobjproc)proxy_contains,
};

/* ------------------------------------------------------------------- buffer */

static int
proxy_getbuffer(ProxyObject *self, Py_buffer *view, int flags)
{
    int guard = 0;
    PyObject *target = proxy_target(self, &guard);
    if (target == NULL) {
        view->obj = NULL;
        return -1;
    }
    /* The exporter fills view->obj with the target, so releasing the view
     * releases the target's buffer directly. */
    int rc = PyObject_GetBuffer(target, view, flags);
    RELEASE(target, guard);
    return rc;
}

static PyBufferProcs proxy_as_buffer = {
    .bf_getbuffer = (getbufferproc)proxy_getbuffer,
};

/* -------------------------------------------------------------------- type */

PyDoc_STRVAR(proxy_doc,
             "ProxyBase(factory, *, cache_defaults=False, target=None)\n--\n\n"
             "C-accelerated base of proxystore.proxy.Proxy.");

static PyTypeObject ProxyBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "proxystore.proxy._cproxy.ProxyBase",
    .tp_basicsize = sizeof(ProxyObject),
    .tp_dealloc = (destructor)proxy_dealloc,
    .tp_as_number = &proxy_as_number,
    .tp_as_sequence = &proxy_as_sequence,
    .tp_as_mapping = &proxy_as_mapping,
    .tp_hash = (hashfunc)proxy_hash,
    .tp_call = (ternaryfunc)proxy_call,
    .tp_str = (reprfunc)proxy_str,
    .tp_getattro = (getattrofunc)proxy_getattro,
    .tp_as_buffer = &proxy_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = proxy_doc,
    .tp_traverse = (traverseproc)proxy_traverse,
    .tp_clear = (inquiry)proxy_clear,
    .tp_richcompare = (richcmpfunc)proxy_richcompare,
    .tp_weaklistoffset = offsetof(ProxyObject, weakreflist),
    .tp_iter = (getiterfunc)proxy_iter,
    .tp_iternext = (iternextfunc)proxy_iternext,
    .tp_members = proxy_members,
    .tp_getset = proxy_getset,
    .tp_init = (initproc)proxy_init,
    .tp_new = proxy_new,
};

/* ------------------------------------------------------------------ module */

static PyObject *
after_fork_in_child(PyObject *module, PyObject *unused)
{
    fork_generation++;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"_after_fork_in_child", (PyCFunction)after_fork_in_child, METH_NOARGS,
     "Mark resolutions in flight at fork time as stale (registered at import)."},
    {NULL},
};

/* os.register_at_fork(after_in_child=module._after_fork_in_child), where the
 * platform has fork. */
static int
register_fork_hook(PyObject *module)
{
    PyObject *os = PyImport_ImportModule("os");
    if (os == NULL) {
        return -1;
    }
    PyObject *register_at_fork = PyObject_GetAttrString(os, "register_at_fork");
    Py_DECREF(os);
    if (register_at_fork == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            return 0; /* no fork here (Windows): nothing to guard against */
        }
        return -1;
    }
    PyObject *hook = PyObject_GetAttrString(module, "_after_fork_in_child");
    PyObject *kwargs =
        hook == NULL ? NULL : Py_BuildValue("{sO}", "after_in_child", hook);
    PyObject *args = PyTuple_New(0);
    PyObject *done = NULL;
    if (kwargs != NULL && args != NULL) {
        done = PyObject_Call(register_at_fork, args, kwargs);
    }
    Py_XDECREF(done);
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    Py_XDECREF(hook);
    Py_DECREF(register_at_fork);
    return done == NULL ? -1 : 0;
}

static struct PyModuleDef cproxy_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "proxystore.proxy._cproxy",
    .m_doc = "C accelerator of proxystore.proxy.",
    .m_size = -1,
    .m_methods = module_methods,
};

static int
intern_strings(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&str_finished, "finished"},   {&str_error, "error"},
        {&str_wrapped, "__proxy_wrapped__"}, {&str_class, "__class__"},
        {&str_doc, "__doc__"},         {&str_module, "__module__"},
        {&str_annotations, "__annotations__"}, {&str_dict, "__dict__"},
        {&str_weakref, "__weakref__"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].text);
        if (*names[i].slot == NULL) {
            return -1;
        }
    }
    return 0;
}

static int
import_resolution(void)
{
    PyObject *resolution = PyImport_ImportModule("proxystore.proxy._resolution");
    if (resolution == NULL) {
        return -1;
    }
    struct {
        PyObject **slot;
        const char *name;
    } names[] = {
        {&Flight, "Flight"},
        {&wait_func, "wait"},
        {&notify_func, "notify"},
        {&factory_error_func, "factory_error"},
        {&uninitialized_error_func, "uninitialized_error"},
        {&recursion_error_func, "recursion_error"},
        {&waiter_error_func, "waiter_error"},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && rc == 0; i++) {
        *names[i].slot = PyObject_GetAttrString(resolution, names[i].name);
        rc = *names[i].slot == NULL ? -1 : 0;
    }
    Py_DECREF(resolution);
    return rc;
}

PyMODINIT_FUNC
PyInit__cproxy(void)
{
    if (intern_strings() < 0 || import_resolution() < 0) {
        return NULL;
    }
    if (PyType_Ready(&ProxyBaseType) < 0) {
        return NULL;
    }
    proxy_class_descr = _PyType_Lookup(&ProxyBaseType, str_class);
    object_class_descr = _PyType_Lookup(&PyBaseObject_Type, str_class);
    wrapped_descr = _PyType_Lookup(&ProxyBaseType, str_wrapped);
    PyObject *module = PyModule_Create(&cproxy_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&ProxyBaseType);
    if (PyModule_AddObject(module, "ProxyBase", (PyObject *)&ProxyBaseType) < 0) {
        Py_DECREF(&ProxyBaseType);
        Py_DECREF(module);
        return NULL;
    }
    if (register_fork_hook(module) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
