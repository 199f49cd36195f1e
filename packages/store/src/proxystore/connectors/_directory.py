"""Shared machinery of the connectors that keep one file per object in a folder.

A put writes the payload's buffers to a temporary file of its own with ``writev``
(no join) and renames it into place, so readers see a whole object or none, even
when several processes write one key. Evicting unlinks the file; a reader that
already opened or mapped it keeps its data. The folder is made on the first
write, and a key must be a plain file name: keys cannot reach outside the folder.

Only the connector that was constructed with ``clear=True`` removes the folder on
close; connectors made from a config (copies in other processes) default to
``clear=False``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Sequence
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.connectors.protocols import check_key
from proxystore.serialize import BytesLike

__all__ = ['DirectoryConnector', 'write_all']

KeyT = TypeVar('KeyT', bound=tuple[str])
_IOV_MAX = os.sysconf('SC_IOV_MAX') if hasattr(os, 'sysconf') else 16
_TEMP_PREFIX = '.tmp-'


def write_all(fd: int, buffers: Sequence[BytesLike]) -> None:
    """Write every buffer to ``fd``, in order, without joining them."""
    views = [memoryview(b).cast('B') for b in buffers if len(b)]
    if not hasattr(os, 'writev'):  # pragma: no cover - Windows
        for view in views:
            while view:
                view = view[os.write(fd, view) :]
        return
    while views:
        written = os.writev(fd, views[:_IOV_MAX])
        while written:
            head = views[0]
            if written >= len(head):
                written -= len(head)
                views.pop(0)
            else:
                views[0] = head[written:]
                written = 0


class DirectoryConnector(Generic[KeyT]):
    """One file per object in ``directory``; subclasses choose the key and the read.

    Args:
        directory: Folder of the objects (created if missing).
        clear: Remove the folder and everything in it on `close`.
    """

    Key: Any  # the subclass's key NamedTuple, built from the file name

    def __init__(self, directory: str, *, clear: bool) -> None:
        self.directory = os.path.abspath(directory)
        self.clear = clear

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(directory={self.directory!r}, clear={self.clear})'
        )

    def __enter__(self) -> DirectoryConnector[KeyT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _path(self, key: KeyT) -> str:
        check_key(self, key, self.Key)
        name = key[0]
        if (
            not isinstance(name, str)
            or not name
            or name.startswith('.')
            or os.path.basename(name) != name
            or (os.altsep is not None and os.altsep in name)
        ):
            raise ValueError(
                f'Invalid key {key!r}: its name must be a plain file name (no '
                'folder, not starting with a dot).',
            )
        return os.path.join(self.directory, name)

    def _read(self, fd: int, size: int) -> BytesLike:
        raise NotImplementedError

    def close(self, clear: bool | None = None) -> None:
        """Remove the folder if ``clear`` (default: the constructor's choice).

        Stores that ProxyStore re-creates from a config in other processes are
        closed with ``clear=False``, so only the owner removes the data.
        """
        if self.clear if clear is None else clear:
            shutil.rmtree(self.directory, ignore_errors=True)

    def evict(self, key: KeyT) -> None:
        """Unlink the object's file, if present."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def evict_batch(self, keys: Sequence[KeyT]) -> None:
        """`evict` for many keys."""
        for key in keys:
            self.evict(key)

    def exists(self, key: KeyT) -> bool:
        """Whether the object's file exists."""
        return os.path.exists(self._path(key))

    def get(self, key: KeyT) -> BytesLike | None:
        """The object's bytes, or ``None``."""
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            return self._read(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)

    def get_batch(self, keys: Sequence[KeyT]) -> list[BytesLike | None]:
        """`get` for many keys."""
        return [self.get(key) for key in keys]

    def new_key(self, obj: BytesLike | None = None) -> KeyT:
        """A new key; stores ``obj`` under it if given."""
        key: KeyT = self.Key(secrets.token_urlsafe(9))
        if obj is not None:
            self.set(key, obj)
        return key

    def put(self, obj: BytesLike) -> KeyT:
        """Store the bytes under a new key."""
        return self.new_key(obj)

    def put_batch(self, objs: Sequence[BytesLike]) -> list[KeyT]:
        """`put` for many objects."""
        return [self.new_key(obj) for obj in objs]

    def put_frames(self, buffers: Sequence[BytesLike]) -> KeyT:
        """Store the concatenated buffers under a new key, without joining them."""
        key = self.new_key()
        self._write(key, buffers)
        return key

    def set(self, key: KeyT, obj: BytesLike) -> None:
        """Store the bytes under ``key``."""
        self._write(key, [obj])

    def set_frames(self, key: KeyT, buffers: Sequence[BytesLike]) -> None:
        """Store the concatenated buffers under ``key``, without joining them."""
        self._write(key, buffers)

    def _write(self, key: KeyT, buffers: Sequence[BytesLike]) -> None:
        final = self._path(key)
        # A temporary file of this write alone: concurrent writers of one key
        # each rename a whole file into place.
        temp = os.path.join(
            self.directory,
            f'{_TEMP_PREFIX}{key[0]}-{secrets.token_hex(4)}',
        )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(temp, flags, 0o600)
        except FileNotFoundError:  # the first write: make the folder
            os.makedirs(self.directory, exist_ok=True)
            fd = os.open(temp, flags, 0o600)
        try:
            write_all(fd, buffers)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        os.close(fd)
        os.replace(temp, final)  # atomic: readers see all of it or nothing

    def config(self) -> dict[str, Any]:
        """Overridden by subclasses."""
        raise NotImplementedError

    @staticmethod
    def _copy_options(config: dict[str, Any]) -> dict[str, Any]:
        """Options of a connector made from a config.

        It clears nothing unless the config says so.
        """
        return {'clear': False, **config}
