"""Locks of objects made anew in a forked child.

A thread of the parent may hold a lock when another thread forks; the child
has only the forking thread, so that lock stays held forever in the child and
its first use there deadlocks. Module-level locks are re-made by their
module's own ``os.register_at_fork`` hook; locks that are attributes of
objects (a store's cache, a connector's client lock) are registered here with
`renew_after_fork` and replaced in every forked child.

A leaf of the bottom layer (serialization) that imports nothing of ours: the
stores, and the connectors beside them (which must not import the store
package), use it.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ['renew_after_fork']

# id of the object -> (weak reference to it, attributes, factory of a lock).
_owners: dict[int, tuple[weakref.ref[Any], tuple[str, ...], Callable[[], Any]]] = {}
_owners_lock = threading.Lock()


def renew_after_fork(
    obj: object,
    *attributes: str,
    factory: Callable[[], Any] = threading.Lock,
) -> None:
    """Replace ``obj``'s lock ``attributes`` with ``factory()`` in a forked child.

    ``obj`` is held weakly: once it is gone, nothing is done for it.
    """
    ident = id(obj)

    def forget(_: weakref.ref[Any]) -> None:
        entry = _owners.get(ident)
        if entry is not None and entry[0]() is None:
            _owners.pop(ident, None)

    with _owners_lock:
        _owners[ident] = (weakref.ref(obj, forget), attributes, factory)


def _after_fork_in_child() -> None:
    global _owners_lock
    _owners_lock = threading.Lock()  # another thread may have held it
    for ref, attributes, factory in list(_owners.values()):
        obj = ref()
        if obj is None:
            continue
        for name in attributes:
            setattr(obj, name, factory())


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
