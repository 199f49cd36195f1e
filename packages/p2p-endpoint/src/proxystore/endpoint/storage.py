"""Where an endpoint keeps its objects: in memory or in a SQLite database.

Both storages enforce a per-object size limit (`ObjectSizeExceededError`) and
a cap on the bytes of all their objects together (`StorageFullError`).
SQLite runs in a thread of its own so that the endpoint's event loop never
waits on the disk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import pathlib
import sqlite3
from collections.abc import Callable
from typing import Any
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from proxystore.endpoint._files import make_private_dir
from proxystore.endpoint._files import private_file
from proxystore.p2p.exceptions import ObjectSizeExceededError
from proxystore.p2p.exceptions import StorageFullError
from proxystore.p2p.protocols import Blob
from proxystore.p2p.protocols import PeerStorage

__all__ = [
    'DEFAULT_MAX_OBJECT_SIZE',
    'Blob',
    'DictStorage',
    'SQLiteStorage',
    'Storage',
    'check_size',
    'check_total',
    'default_total_bytes',
]

DEFAULT_MAX_OBJECT_SIZE = 100_000_000
"""Default per-object size limit in bytes (as ProxyStore 1.x endpoints)."""

_T = TypeVar('_T')


def check_size(size: int, limit: int | None) -> None:
    """Refuse an object of ``size`` bytes when it exceeds ``limit``.

    Raises:
        ObjectSizeExceededError: If ``limit`` is set and ``size > limit``.
    """
    if limit is not None and size > limit:
        raise ObjectSizeExceededError(
            f'object of {size} bytes exceeds the endpoint limit of {limit} bytes '
            'per object (storage.max_object_size in the endpoint configuration)',
        )


def default_total_bytes() -> int:
    """The default total storage cap: half of this host's physical memory."""
    import psutil

    return int(psutil.virtual_memory().total // 2)


def check_total(size: int, used: int, limit: int | None) -> None:
    """Refuse ``size`` more bytes when ``used`` are taken of a cap of ``limit``.

    Raises:
        StorageFullError: If ``limit`` is set and ``used + size > limit``.
    """
    if limit is not None and used + size > limit:
        raise StorageFullError(
            f'storing {size} bytes would exceed the endpoint storage cap of '
            f'{limit} bytes ({used} bytes used; storage.max_total_bytes in the '
            'endpoint configuration)',
        )


@runtime_checkable
class Storage(PeerStorage, Protocol):
    """Async storage of bytes under string keys (what peers need, and `close`).

    ``Blob`` is `proxystore.p2p.protocols.Blob`, re-exported here.
    """

    max_object_size: int | None
    max_total_bytes: int | None

    @property
    def nbytes(self) -> int:
        """Total size of the stored objects."""
        ...

    @property
    def count(self) -> int:
        """Number of stored objects."""
        ...

    async def sizes(self) -> list[tuple[str, int]]:
        """Every key with the size of its object."""
        ...

    async def close(self) -> None:
        """Release the storage (idempotent)."""
        ...


class DictStorage:
    """Objects in this process's memory.

    Args:
        max_object_size: Largest object in bytes (``None``: no limit).
        max_total_bytes: Most bytes of all objects together (``None``: no
            cap).
    """

    def __init__(
        self,
        *,
        max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE,
        max_total_bytes: int | None = None,
    ) -> None:
        self.max_object_size = max_object_size
        self.max_total_bytes = max_total_bytes
        self._data: dict[str, Blob] = {}
        self._nbytes = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def count(self) -> int:
        """Number of stored objects."""
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """Total size of the stored objects."""
        return self._nbytes

    async def get(self, key: str) -> Blob | None:
        """The bytes under ``key``, or ``None``."""
        return self._data.get(key)

    async def set(self, key: str, blob: Blob) -> None:
        """Store ``blob`` under ``key``.

        Raises:
            ObjectSizeExceededError: If the object is larger than the limit.
            StorageFullError: If it would take the storage over its cap.
        """
        size = memoryview(blob).nbytes
        check_size(size, self.max_object_size)
        old = self._data.get(key)
        freed = 0 if old is None else memoryview(old).nbytes
        check_total(size, self._nbytes - freed, self.max_total_bytes)
        self._data[key] = blob
        self._nbytes += size - freed

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        return key in self._data

    async def sizes(self) -> list[tuple[str, int]]:
        """Every key with the size of its object."""
        return [(key, memoryview(blob).nbytes) for key, blob in self._data.items()]

    async def evict(self, key: str) -> None:
        """Remove the object under ``key``; a missing key is not an error."""
        old = self._data.pop(key, None)
        if old is not None:
            self._nbytes -= memoryview(old).nbytes

    async def close(self) -> None:
        """Drop every object."""
        self._data.clear()
        self._nbytes = 0


class SQLiteStorage:
    """Objects in a SQLite database file (they outlive the endpoint's process).

    Args:
        database_path: The database file (created if missing), or
            ``':memory:'``.
        max_object_size: Largest object in bytes (``None``: no limit).
        max_total_bytes: Most bytes of all objects together (``None``: no
            cap); objects already in the file count.
    """

    def __init__(
        self,
        database_path: str | pathlib.Path = ':memory:',
        *,
        max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE,
        max_total_bytes: int | None = None,
    ) -> None:
        self.database_path = str(database_path)
        self.max_object_size = max_object_size
        self.max_total_bytes = max_total_bytes
        self._nbytes = 0
        self._count = 0
        # One thread owns the connection: sqlite3 objects stay on their thread.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix='endpoint-sqlite'
        )
        self._db: sqlite3.Connection | None = None
        self._closed = False
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        if self.database_path != ':memory:':
            path = pathlib.Path(self.database_path)
            make_private_dir(path.parent)
            # SQLite gives its -wal and -shm files the mode of the database.
            private_file(path)
            for suffix in ('-wal', '-shm'):
                extra = path.with_name(path.name + suffix)
                if extra.exists():
                    private_file(extra)
        self._db = sqlite3.connect(self.database_path)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute(
            'CREATE TABLE IF NOT EXISTS blobs '
            '(key TEXT PRIMARY KEY, value BLOB NOT NULL)'
        )
        self._db.commit()
        row = self._db.execute(
            'SELECT COUNT(*), SUM(LENGTH(value)) FROM blobs'
        ).fetchone()
        self._count = int(row[0])
        self._nbytes = int(row[1] or 0)

    @property
    def nbytes(self) -> int:
        """Total size of the stored objects."""
        return self._nbytes

    @property
    def count(self) -> int:
        """Number of stored objects."""
        return self._count

    def _size_of(self, key: str) -> int | None:
        row = (
            self._connection()
            .execute('SELECT LENGTH(value) FROM blobs WHERE key = ?', (key,))
            .fetchone()
        )
        return None if row is None else int(row[0])

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError('the SQLite storage is closed')
        return self._db

    async def _run(self, function: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _get(self, key: str) -> bytes | None:
        row = (
            self._connection()
            .execute('SELECT value FROM blobs WHERE key = ?', (key,))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def _set(self, key: str, blob: Blob) -> None:
        # On the storage's only thread: the check and the write are atomic.
        size = memoryview(blob).nbytes
        old = self._size_of(key)
        freed = old or 0
        check_total(size, self._nbytes - freed, self.max_total_bytes)
        db = self._connection()
        db.execute(
            'INSERT OR REPLACE INTO blobs (key, value) VALUES (?, ?)', (key, blob)
        )
        db.commit()
        self._nbytes += size - freed
        self._count += old is None

    def _exists(self, key: str) -> bool:
        row = (
            self._connection()
            .execute('SELECT 1 FROM blobs WHERE key = ?', (key,))
            .fetchone()
        )
        return row is not None

    def _sizes(self) -> list[tuple[str, int]]:
        rows = self._connection().execute('SELECT key, LENGTH(value) FROM blobs')
        return [(str(key), int(size)) for key, size in rows]

    def _evict(self, key: str) -> None:
        old = self._size_of(key)
        if old is None:
            return
        db = self._connection()
        db.execute('DELETE FROM blobs WHERE key = ?', (key,))
        db.commit()
        self._nbytes -= old
        self._count -= 1

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def get(self, key: str) -> Blob | None:
        """The bytes under ``key``, or ``None``."""
        return await self._run(self._get, key)

    async def set(self, key: str, blob: Blob) -> None:
        """Store ``blob`` under ``key``.

        Raises:
            ObjectSizeExceededError: If the object is larger than the limit.
            StorageFullError: If it would take the storage over its cap.
        """
        check_size(memoryview(blob).nbytes, self.max_object_size)
        await self._run(self._set, key, blob)

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        return await self._run(self._exists, key)

    async def evict(self, key: str) -> None:
        """Remove the object under ``key``; a missing key is not an error."""
        await self._run(self._evict, key)

    async def sizes(self) -> list[tuple[str, int]]:
        """Every key with the size of its object."""
        return await self._run(self._sizes)

    async def close(self) -> None:
        """Close the database (its objects stay in the file)."""
        if not self._closed:
            self._closed = True
            await self._run(self._close)
            self._executor.shutdown(wait=True)
