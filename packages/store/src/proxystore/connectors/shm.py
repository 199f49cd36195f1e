"""Shared-memory connector: many processes on one node, zero-copy reads.

Objects are files in a folder of ``/dev/shm`` (a tmpfs: memory, not disk). A read
maps the object copy-on-write: a numpy array in it resolves as a view of the
shared pages, without a copy, and writing to the array makes private copies of
only the pages written, never changing what other readers see.

The folder belongs to the connector that created it: closing that connector (with
``clear``, the default) removes the objects in it, including those of workers
and partial objects left by workers that died, then the folder (unless the user
put other files there). Copies re-created from the config in
worker processes are closed with ``clear=False`` and remove nothing.

Folders do not outlive their owner's process. The owner holds a lock on a lock
file in its folder (``.owner``, naming its pid) for its lifetime, and so do the
connectors of other processes that use the folder: a normal exit without
``close()`` removes the owner's folder, and a folder whose lock nobody holds
(its owner was killed, ``SIGKILL`` included) is removed by the next
shared-memory connector made on the node. A folder without a lock file (made
by connectors with ``clear=False``, or kept by ``close(clear=False)``) is never
removed for them.

Capacity and spilling: with ``capacity``, the objects in the folder hold at
most that many bytes, counted for all the processes that use it (see
`proxystore.connectors._budget`). A put that would cross it moves the least
recently used objects to ``spill_directory`` (a folder on disk, the file
connector's format: one file per object), or, without one, waits up to
``full_timeout`` seconds for evictions and then raises `StoreFullError`. A
read of a spilled object returns it and moves it back if room can be made.
Every process must give the same budget: the config carries it.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
import uuid
from typing import Any
from typing import NamedTuple

from proxystore.connectors._directory import DirectoryConnector
from proxystore.connectors._directory import DirectoryConnectorError
from proxystore.connectors._directory import StorageFullError
from proxystore.connectors._directory import UnsafeDirectoryError
from proxystore.connectors._directory import UnsafeObjectError
from proxystore.connectors._directory import check_directory
from proxystore.connectors._owner import LOCK_NAME
from proxystore.connectors._owner import disown
from proxystore.connectors._owner import hold
from proxystore.connectors._owner import is_lock_file
from proxystore.connectors._owner import own_until_exit
from proxystore.connectors._owner import reap
from proxystore.connectors._owner import release
from proxystore.connectors.protocols import StoreFullError

__all__ = [
    'DirectoryConnectorError',
    'SharedMemoryConnector',
    'ShmKey',
    'StorageFullError',
    'StoreFullError',
    'UnsafeDirectoryError',
    'UnsafeObjectError',
]

_SHM = '/dev/shm'
_PREFIX = 'proxystore-shm-'


class ShmKey(NamedTuple):
    """Key of an object in a `SharedMemoryConnector`."""

    segment: str
    """Name of the object's segment in the connector's folder."""


def default_directory() -> str:
    """``/dev/shm`` where it exists (Linux), else the temporary directory."""
    return _SHM if os.path.isdir(_SHM) else tempfile.gettempdir()


class SharedMemoryConnector(DirectoryConnector[ShmKey]):
    """Connector that keeps objects in shared memory of this node.

    Args:
        name: Name of the connector's folder (``proxystore-shm-<name>``); a
            random one by default. Connectors with the same name and directory
            share their objects.
        directory: Where the folder lives: ``/dev/shm`` by default.
        clear: Remove the connector's objects on `close` (and the folder, if
            nothing else is left in it); a user's other files stay. Such a
            connector owns the folder: it makes it at once, and its process's
            exit (or death) removes it too.
        capacity: Most bytes of objects in the folder, for every process
            that uses it (``None``: no budget). See "Capacity and spilling".
        spill_directory: A folder on disk where the least recently used
            objects go when a put would cross ``capacity``; they come back on
            their next read. ``None``: puts that do not fit wait
            ``full_timeout`` seconds for evictions, then raise `StoreFullError`.
        full_timeout: Seconds a put waits for room (without a spill folder).

    Raises:
        UnsafeDirectoryError: If ``clear`` and the folder is not the user's own
            or others can write to it.
        DirectoryConnectorError: If the owner lock could not be taken in
            bounded time.
    """

    Key = ShmKey

    def __init__(
        self,
        name: str | None = None,
        *,
        directory: str | None = None,
        clear: bool = True,
        capacity: int | None = None,
        spill_directory: str | None = None,
        full_timeout: float = 0.0,
    ) -> None:
        self.name = name if name is not None else uuid.uuid4().hex[:16]
        if not self.name or os.sep in self.name or self.name.startswith('.'):
            raise ValueError(
                f'Invalid shared-memory connector name {self.name!r}: use a '
                'non-empty name without path separators.',
            )
        self._directory_arg = directory
        self.base_directory = (
            directory if directory is not None else default_directory()
        )
        super().__init__(
            os.path.join(self.base_directory, _PREFIX + self.name),
            clear=clear,
            capacity=capacity,
            spill_directory=spill_directory,
            full_timeout=full_timeout,
        )
        self._lock: int | None = None
        reap(self.base_directory, _PREFIX)  # the folders of dead owners
        if clear:
            self._make_directory()
            self._lock = hold(self.directory, create=True, make=self._make_directory)
            if self._lock is not None:
                own_until_exit(self, self._lock, self._clear)
        else:
            try:
                there = check_directory(self.directory)
            except UnsafeDirectoryError:
                there = False  # refused by each operation, with the reason
            if there:  # keep an owner's folder while this connector uses it
                self._lock = hold(self.directory, create=False)

    def _is_own(self, name: str) -> bool:
        return is_lock_file(name) or super()._is_own(name)

    def close(self, clear: bool | None = None) -> None:
        """Clear the folder if ``clear`` (default: the constructor's choice).

        The owner closed with ``clear=False`` keeps its folder for good: the
        lock file goes, so that no later connector takes the folder for one of
        a dead owner.
        """
        clearing = self.clear if clear is None else clear
        disown(self)
        super().close(clearing)
        if not clearing and self.clear and self._lock is not None:
            lock = os.path.join(self.directory, LOCK_NAME)
            with contextlib.suppress(OSError):
                if os.path.samestat(os.fstat(self._lock), os.stat(lock)):
                    os.unlink(lock)
        release(self._lock)
        self._lock = None

    def _read(self, fd: int, size: int) -> memoryview:
        if size == 0:  # an empty object cannot be mapped
            return memoryview(bytearray())
        # Copy-on-write mapping: shared pages for reading, private ones if written.
        return memoryview(mmap.mmap(fd, size, access=mmap.ACCESS_COPY))

    def config(self) -> dict[str, Any]:
        """The connector's options (those at their defaults are left out).

        ``clear`` is left out: copies made from the config never remove the
        folder unless the config sets ``clear``.
        """
        config: dict[str, Any] = {'name': self.name}
        if self._directory_arg is not None:
            config['directory'] = self._directory_arg
        if self.capacity is not None:
            config['capacity'] = self.capacity
        if self.spill_directory is not None:
            config['spill_directory'] = self.spill_directory
        if self.full_timeout:
            config['full_timeout'] = self.full_timeout
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SharedMemoryConnector:
        """Make a connector from the output of `config`.

        ``clear`` defaults to ``False`` here: the copy does not own the data.
        """
        return cls(**cls._copy_options(config))
