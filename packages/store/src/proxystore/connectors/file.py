"""File connector: one file per object in a folder, e.g. on a shared filesystem."""

from __future__ import annotations

import os
from typing import Any
from typing import NamedTuple

from proxystore.connectors._directory import DirectoryConnector
from proxystore.connectors._directory import DirectoryConnectorError
from proxystore.connectors._directory import StorageFullError
from proxystore.connectors._directory import UnsafeDirectoryError
from proxystore.connectors._directory import UnsafeObjectError

__all__ = [
    'DirectoryConnectorError',
    'FileConnector',
    'FileKey',
    'StorageFullError',
    'UnsafeDirectoryError',
    'UnsafeObjectError',
]


class FileKey(NamedTuple):
    """Key of an object in a `FileConnector`."""

    filename: str
    """Name of the object's file in the connector's folder."""


class FileConnector(DirectoryConnector[FileKey]):
    """Connector that stores each object in a file of ``store_dir``.

    Any process that sees the same folder (a shared filesystem across nodes) can
    read the objects. A read copies the file once into private, writable memory.

    Args:
        store_dir: Folder of the objects (created if missing).
        clear: Remove the connector's objects on `close` (and the folder, if
            nothing else is left in it); a user's other files stay.
        buffering: Accepted for compatibility with ProxyStore 1.x; files are
            written and read with unbuffered system calls.
    """

    Key = FileKey

    def __init__(
        self, store_dir: str, *, clear: bool = True, buffering: int = -1
    ) -> None:
        super().__init__(store_dir, clear=clear)
        self.store_dir = self.directory
        self.buffering = buffering

    def _read(self, fd: int, size: int) -> bytearray:
        data = bytearray(size)
        view = memoryview(data)
        while view:
            count = os.readv(fd, [view])
            if count == 0:  # files are replaced whole, never truncated
                raise OSError(f'{self.directory}: an object file shrank while read')
            view = view[count:]
        return data

    def config(self) -> dict[str, Any]:
        """The connector's options (those at their defaults are left out).

        ``clear`` is left out: a connector made from the config (in another
        process) does not remove the folder unless the config sets ``clear``.
        """
        config: dict[str, Any] = {'store_dir': self.store_dir}
        if self.buffering != -1:
            config['buffering'] = self.buffering
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FileConnector:
        """Make a connector from the output of `config`.

        ``clear`` defaults to ``False`` here: the copy does not own the data.
        """
        return cls(**cls._copy_options(config))
