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
"""

from __future__ import annotations

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

__all__ = [
    'DirectoryConnectorError',
    'SharedMemoryConnector',
    'ShmKey',
    'StorageFullError',
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
            nothing else is left in it); a user's other files stay.
    """

    Key = ShmKey

    def __init__(
        self,
        name: str | None = None,
        *,
        directory: str | None = None,
        clear: bool = True,
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
        )

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
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SharedMemoryConnector:
        """Make a connector from the output of `config`.

        ``clear`` defaults to ``False`` here: the copy does not own the data.
        """
        return cls(**cls._copy_options(config))
