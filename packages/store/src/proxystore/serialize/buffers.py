"""Receive buffers for large objects, reused once nothing refers to them.

Shared by the connectors that receive objects from a transport into memory of
their own (MPI, UCX): `allocate` gives the buffer a get receives into. (Until
2.0 this module was ``proxystore.serialize.buffers``, which still re-exports it.)

Receiving into fresh memory costs a page fault and a zeroed page per 4 KiB,
which at 64 MiB and more takes longer than the transfer itself. Large objects
are received into anonymous mappings taken from a small pool; the buffer handed
out is a ctypes array over the mapping, which every view, slice or array made
from it keeps alive. When the last of them goes, the mapping returns to the
pool for the next object of the same size class.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
import weakref
from typing import Any

from proxystore.serialize import BytesLike

__all__ = ['POOL_FROM', 'BufferPool', 'allocate']

POOL_FROM = 1024 * 1024
"""Objects this large and larger are received into pooled mappings."""
_PAGE = mmap.PAGESIZE


class BufferPool:
    """Free anonymous mappings by size, up to ``limit`` bytes in all.

    Args:
        limit: Most bytes of free mappings kept for reuse; a buffer given back
            beyond it is unmapped.
    """

    def __init__(self, limit: int = 1024**3) -> None:
        self.limit = limit
        self._free: dict[int, list[mmap.mmap]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        # The buffers out, by the id of their weak reference: a weak reference
        # with a callback costs half a weakref.finalize.
        self._out: dict[int, tuple[weakref.ref[Any], mmap.mmap, int]] = {}

    def take(self, size: int) -> memoryview:
        """A writable view of ``size`` bytes (old contents, to be overwritten)."""
        capacity = -(-size // _PAGE) * _PAGE
        with self._lock:
            free = self._free.get(capacity)
            mapping = free.pop() if free else None
            if mapping is not None:
                self._bytes -= capacity
        if mapping is None:
            flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
            flags |= getattr(mmap, 'MAP_POPULATE', 0)  # no fault per page
            mapping = mmap.mmap(-1, capacity, flags=flags)
        array = (ctypes.c_char * size).from_buffer(mapping)
        reference = weakref.ref(array, self._give_back)
        self._out[id(reference)] = (reference, mapping, capacity)
        return memoryview(array).cast('B')

    def _give_back(self, reference: weakref.ref[Any]) -> None:
        _, mapping, capacity = self._out.pop(id(reference))
        with self._lock:
            if self._bytes + capacity <= self.limit:
                self._free.setdefault(capacity, []).append(mapping)
                self._bytes += capacity
                return
        mapping.close()


_pool = BufferPool()


def _renew_pool_lock_in_child() -> None:
    # A thread of the parent may have held it (taking or giving back a
    # buffer) when another thread forked. The free mappings are private: the
    # child has its own copies of them.
    _pool._lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_pool_lock_in_child)


def allocate(size: int) -> BytesLike:
    """A writable buffer of ``size`` bytes to receive an object into."""
    if size < POOL_FROM:
        return bytearray(size)
    return _pool.take(size)
