"""Task functions for cross-process tests: importable by any worker process."""

from __future__ import annotations

import os
from typing import Any

from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved

__all__ = [
    'describe',
    'exit_without_cleanup',
    'identity',
    'is_unresolved_proxy',
    'put_in_store',
    'total',
]


def total(data: Any) -> float:
    """Sum of the data (resolves a proxy)."""
    import numpy

    return float(numpy.sum(data))


def identity(data: Any) -> Any:
    """The argument itself (a proxy passes through unresolved)."""
    return data


def is_unresolved_proxy(data: Any) -> bool:
    """Whether the argument arrived as an unresolved proxy."""
    return isinstance(data, Proxy) and not is_resolved(data)


def describe(data: Any) -> dict[str, Any]:
    """Facts about a resolved argument, for assertions in the parent."""
    return {
        'type': data.__class__.__name__,
        'len': len(data),
        'pid': os.getpid(),
    }


def put_in_store(config: Any, obj: Any) -> Any:
    """Put an object from a worker into the store of a config; return the key."""
    from proxystore.store import get_or_create_store

    return get_or_create_store(config).put(obj)


def exit_without_cleanup(config: Any, obj: Any) -> None:
    """Put an object, then die at once (no atexit, no finally)."""
    from proxystore.store import get_or_create_store

    get_or_create_store(config).put(obj)
    os._exit(0)
