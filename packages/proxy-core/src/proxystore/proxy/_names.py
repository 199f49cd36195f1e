"""Which attribute names belong to a proxy, and which to its target.

A name that the proxy's class defines (along its MRO: slots, methods, the
``__proxy_*__`` members) belongs to the proxy; every other name belongs to the
target. A few names that every class defines still report the target's value,
as in ProxyStore 1.x: `REPORTS_TARGET`. The C accelerator applies the same rule in
``proxy_getattro``.
"""

from __future__ import annotations

__all__ = ['MISSING', 'REPORTS_TARGET', 'owns']

REPORTS_TARGET = frozenset(
    {'__annotations__', '__dict__', '__doc__', '__module__', '__weakref__'},
)
MISSING = object()


def owns(cls: type, name: str) -> bool:
    """Whether attribute ``name`` of an instance of proxy class ``cls`` is its own."""
    if name in REPORTS_TARGET:
        return False
    for klass in cls.__mro__:  # noqa: SIM110 - a plain loop is faster than any()
        if name in klass.__dict__:
            return True
    return False
