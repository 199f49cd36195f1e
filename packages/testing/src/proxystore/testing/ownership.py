"""Task functions for ownership tests and benchmarks: importable by any worker.

Tasks take borrowed (or owned) proxies, use them, and return plain store proxies
of their results, which the caller takes ownership of with `into_owned`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from proxystore.ownership import RefMutProxy
from proxystore.ownership import update
from proxystore.proxy import Proxy
from proxystore.store.utils import get_factory_of_store_proxy

__all__ = [
    'append_and_update',
    'concatenate',
    'length_after',
    'length_and_pid',
    'produce',
]


def concatenate(*inputs: Any) -> Proxy[list[Any]]:
    """A store proxy of the inputs' items, in order (the inputs are resolved)."""
    items = [item for data in inputs for item in data]
    store = get_factory_of_store_proxy(inputs[0]).get_store()
    return store.proxy(items)


def length_and_pid(data: Any) -> tuple[int, int]:
    """``len(data)`` and the worker's process id."""
    return len(data), os.getpid()


def length_after(data: Any, seconds: float) -> int:
    """``len(data)``, after sleeping (a task still running when its caller acts)."""
    time.sleep(seconds)
    return len(data)


def append_and_update(data: RefMutProxy[list[Any]], item: Any) -> int:
    """Append to a mutably borrowed list and store the change."""
    data.append(item)
    update(data)
    return len(data)


def produce(template: Any, nbytes: int, sleep: float = 0.0) -> Proxy[bytes]:
    """After ``sleep`` seconds, a store proxy of ``nbytes`` random bytes.

    ``template`` is any proxy of the store to put the result in (it is not
    resolved).
    """
    time.sleep(sleep)
    store = get_factory_of_store_proxy(template).get_store()
    return store.proxy(os.urandom(nbytes))
