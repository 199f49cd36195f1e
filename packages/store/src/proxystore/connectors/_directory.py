"""Shared machinery of the connectors that keep one file per object in a folder.

A put writes the payload's buffers to a temporary file of its own with ``writev``
(no join) and renames it into place, so readers see a whole object or none, even
when several processes write one key. Evicting unlinks the file; a reader that
already opened or mapped it keeps its data. The folder is made on the first
write, and a key must be a plain file name: keys cannot reach outside the folder.

Another local user must not be able to plant objects: a folder the connector
makes is private (mode 0700), and every operation refuses a folder that is not
the user's own or that group or others can write (`UnsafeDirectoryError`).
Object files are opened without following symbolic links and without blocking,
and must be regular files (`UnsafeObjectError`): a planted FIFO cannot hang a
read, a planted link cannot point a read at another file.

Only the connector that was constructed with ``clear=True`` clears the folder on
close; connectors made from a config (copies in other processes) default to
``clear=False``. Clearing removes the connector's own files only: objects under
keys of its naming scheme (made by `new_key`, in any process), partial objects
of writers that died, and objects this connector wrote under other names; a
user's other files in the folder stay, and so does the folder if any are left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.connectors._budget import BUDGET_NAME
from proxystore.connectors._budget import Budget
from proxystore.connectors._budget import BudgetStats
from proxystore.connectors._budget import is_spill_temp
from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import StoredObject
from proxystore.connectors.protocols import check_key
from proxystore.serialize import BytesLike

if sys.platform != 'win32':
    import pwd

__all__ = [
    'DirectoryConnector',
    'DirectoryConnectorError',
    'StorageFullError',
    'UnsafeDirectoryError',
    'UnsafeObjectError',
    'check_directory',
    'clear_folder',
    'own_file_name',
    'write_all',
]

KeyT = TypeVar('KeyT', bound=tuple[str])
_IOV_MAX = os.sysconf('SC_IOV_MAX') if hasattr(os, 'sysconf') else 16
_TEMP_PREFIX = '.tmp-'
_KEY_BYTES = 9  # secrets.token_urlsafe(9): 12 characters of [A-Za-z0-9_-]
_KEY_NAME = re.compile(r'[A-Za-z0-9_-]{12}')
_TEMP_NAME = re.compile(re.escape(_TEMP_PREFIX) + r'.+-[0-9a-f]{8}')
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC
_KINDS = (
    (stat.S_ISDIR, 'a folder'),
    (stat.S_ISFIFO, 'a FIFO (named pipe)'),
    (stat.S_ISSOCK, 'a socket'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
    (stat.S_ISLNK, 'a symbolic link'),
)


class DirectoryConnectorError(ConnectorError):
    """Base class of the errors of the file and shared-memory connectors."""


class UnsafeDirectoryError(DirectoryConnectorError):
    """The store folder is not a folder, not the user's own, or writable by others.

    Another local user could plant objects in such a folder (payloads, or a FIFO
    that hangs a read). The message names the folder, its owner and mode, and
    the fix.
    """


class UnsafeObjectError(DirectoryConnectorError):
    """An object's file is not a regular file (a FIFO, a symbolic link, a folder).

    Connectors write regular files only: anything else was planted. The file is
    left in place (`evict` removes it, never a link's target).
    """


class StorageFullError(DirectoryConnectorError):
    """A write found no room in the store folder.

    Its filesystem is full (``ENOSPC``), the user's quota is spent (``EDQUOT``),
    or the object is over the process's file-size limit (``EFBIG``). The message
    names the folder, the object's size and the free space; the partial object
    is removed, and objects stored before are intact. Chained to the `OSError`.
    """


_FULL = {
    errno.ENOSPC: 'no space is left on its filesystem',
    errno.EFBIG: 'the object is over the file-size limit of this process '
    '(`ulimit -f`, RLIMIT_FSIZE)',
}
if hasattr(errno, 'EDQUOT'):
    _FULL[errno.EDQUOT] = 'the disk quota of this user is spent'


def _storage_full(directory: str, size: int, error: OSError) -> StorageFullError:
    try:
        info = os.statvfs(directory)
        free = f'{info.f_bavail * info.f_frsize} bytes are free there'
    except (AttributeError, OSError):  # pragma: no cover - no statvfs, or gone
        free = 'the free space is unknown'
    reason = _FULL.get(error.errno or 0, 'the write failed')
    return StorageFullError(
        f'Cannot store an object of {size} bytes in the store folder '
        f'{directory}: {reason} ({error.strerror}; {free}). Free space (evict '
        'objects, close stores with clear) or use a larger folder.',
    )


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), 'not a regular file')


def _user(uid: int) -> str:
    if sys.platform == 'win32':  # pragma: no cover
        return f'uid {uid}'
    try:
        return f'uid {uid} ({pwd.getpwuid(uid).pw_name})'
    except KeyError:
        return f'uid {uid}'


def _user_name(uid: int) -> str:
    if sys.platform == 'win32':  # pragma: no cover
        return str(uid)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_directory(path: str) -> bool:
    """Whether the store folder ``path`` exists; refuse it if it is unsafe.

    Returns:
        ``False`` if nothing is at ``path``, ``True`` for a safe folder.

    Raises:
        UnsafeDirectoryError: If ``path`` is not a folder, belongs to another
            user, or group or others can write to it.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectoryError(
            f'The store folder {path} is not a folder ({_kind(info.st_mode)}): '
            'choose another path, or remove what is there.',
        )
    if not hasattr(os, 'geteuid'):  # pragma: no cover - Windows
        return True
    problems = []
    if info.st_uid != os.geteuid():
        problems.append(
            f'it is owned by {_user(info.st_uid)}, not by you ({_user(os.geteuid())})',
        )
    mode = stat.S_IMODE(info.st_mode)
    writable = [
        who
        for who, bit in (('group', stat.S_IWGRP), ('others', stat.S_IWOTH))
        if mode & bit
    ]
    if writable:
        problems.append(
            f'its mode is {mode:04o}: writable by {" and ".join(writable)}',
        )
    if problems:
        raise UnsafeDirectoryError(
            f'Refusing the store folder {path}: {"; ".join(problems)}. Another '
            'local user could plant objects in it. Use a folder that you own '
            f'and only you can write (`chmod go-w {path}` if it is yours), or '
            'a path that does not exist yet: the connector creates it with '
            'mode 0700.',
        )
    return True


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


def own_file_name(name: str) -> bool:
    """Whether ``name`` is of the connectors' naming scheme.

    Names of keys made by `DirectoryConnector.new_key` (in any process) and of
    the partial files of writes.
    """
    return (
        _KEY_NAME.fullmatch(name) is not None or _TEMP_NAME.fullmatch(name) is not None
    )


def clear_folder(directory: str, is_own: Callable[[str], bool]) -> None:
    """Remove the files of ``directory`` that ``is_own``, then it if it is empty.

    Folders in it and files that are not ``is_own`` (a user's) stay, and so
    does ``directory`` then.
    """
    names: list[str] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        names = [
            entry.name
            for entry in entries
            if is_own(entry.name) and not entry.is_dir(follow_symlinks=False)
        ]
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, name))
    with contextlib.suppress(OSError):  # a user's files are left: keep it
        os.rmdir(directory)


def _size(buffers: Sequence[BytesLike]) -> int:
    return sum(memoryview(b).nbytes for b in buffers)


class DirectoryConnector(Generic[KeyT]):
    """One file per object in ``directory``; subclasses choose the key and the read.

    Args:
        directory: Folder of the objects (created if missing).
        clear: Remove the connector's objects (and the folder, if nothing else
            is left in it) on `close`.
    """

    Key: Any  # the subclass's key NamedTuple, built from the file name

    def __init__(
        self,
        directory: str,
        *,
        clear: bool,
        capacity: int | None = None,
        spill_directory: str | None = None,
        full_timeout: float = 0.0,
    ) -> None:
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0
        ):
            raise ValueError(
                f'capacity must be a positive number of bytes, not {capacity!r}.'
            )
        if spill_directory is not None and capacity is None:
            raise ValueError(
                'spill_directory needs a capacity: objects are spilled when the '
                'capacity is crossed.'
            )
        if not full_timeout >= 0:
            raise ValueError(f'full_timeout must be 0 or more, not {full_timeout!r}.')
        self.directory = os.path.abspath(directory)
        self.clear = clear
        self.capacity = capacity
        self.spill_directory = (
            None if spill_directory is None else os.path.abspath(spill_directory)
        )
        self.full_timeout = full_timeout
        # Objects this connector wrote under names outside its naming scheme.
        self._named: set[str] = set()
        self._budget: Budget | None = None

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
        """Clear the folder if ``clear`` (default: the constructor's choice).

        Clearing removes the connector's own files only (see the module's
        docstring), then the folder if it is empty. Stores that ProxyStore
        re-creates from a config in other processes are closed with
        ``clear=False``, so only the owner removes the data.
        """
        if self.clear if clear is None else clear:
            self._clear()

    def _is_own(self, name: str) -> bool:
        """Whether ``name`` in the folder is a file of this connector."""
        return (
            own_file_name(name)
            or name in self._named
            or name == BUDGET_NAME
            or is_spill_temp(name)
        )

    def _is_object(self, name: str) -> bool:
        return (
            _KEY_NAME.fullmatch(name) is not None or name in self._named
        ) and not name.startswith('.')

    # --- the byte budget (capacity) and its spill folder ---------------------------

    def _budgeted(self) -> Budget | None:
        if self.capacity is None:
            return None
        if self._budget is None:
            self._make_directory()
            if self.spill_directory is not None:
                self._make_folder(self.spill_directory)
            self._budget = Budget(
                self.directory,
                self.capacity,
                self._is_object,
                is_partial=lambda name: _TEMP_NAME.fullmatch(name) is not None,
                spill_directory=self.spill_directory,
                full_timeout=self.full_timeout,
            )
        return self._budget

    def budget_stats(self) -> BudgetStats | None:
        """The budget's usage and spill counts (``None``: no ``capacity``)."""
        budget = self._budgeted()
        return None if budget is None else budget.stats()

    def _spilled_path(self, path: str) -> str | None:
        if self.spill_directory is None:
            return None
        return os.path.join(self.spill_directory, os.path.basename(path))

    def _clear(self) -> None:
        """Remove the connector's own files, then the folder if it is empty."""
        try:
            if not check_directory(self.directory):
                return
        except UnsafeDirectoryError:
            return  # never written to (writes refuse it): nothing of ours there
        if self.spill_directory is not None:
            with contextlib.suppress(UnsafeDirectoryError):
                if check_directory(self.spill_directory):
                    clear_folder(self.spill_directory, self._is_own)
        if self._budget is not None:
            self._budget.close()
            self._budget = None
        clear_folder(self.directory, self._is_own)
        self._named.clear()

    def evict(self, key: KeyT) -> None:
        """Unlink the object's file, if present (a link, never its target)."""
        self.evict_batch([key])

    def evict_batch(self, keys: Sequence[KeyT]) -> None:
        """`evict` for many keys.

        Raises:
            UnsafeDirectoryError: If the folder is unsafe (see `check_directory`).
        """
        paths = [self._path(key) for key in keys]
        if not check_directory(self.directory):
            return
        budget = self._budgeted()
        if budget is None:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                self._named.discard(os.path.basename(path))
            return
        freed = 0
        # Under the budget's lock, so that no move is copying an object while it
        # is evicted (the copy would bring it back).
        with budget.holding():
            for path in paths:
                spilled = self._spilled_path(path)
                for candidate, counted in ((path, True), (spilled, False)):
                    if candidate is None:
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        size = os.stat(candidate, follow_symlinks=False).st_size
                        os.unlink(candidate)
                        freed += size if counted else 0
                self._named.discard(os.path.basename(path))
        budget.release(freed)

    def list_objects(self) -> Iterator[StoredObject]:
        """The objects in the folder: files of the connector's naming scheme.

        Partial files of writes under way are not objects and are not listed.
        The owner is the user the file belongs to; the age counts from the
        file's last change (its last read, with a spill folder). Objects in
        the spill folder are listed with ``spilled=True``.

        Raises:
            UnsafeDirectoryError: If the folder is unsafe (see `check_directory`).
        """
        folders = [(self.directory, False)]
        if self.spill_directory is not None:
            folders.append((self.spill_directory, True))
        now = time.time()
        for folder, spilled in folders:
            if not check_directory(folder):
                continue
            with os.scandir(folder) as entries:
                found = [entry for entry in entries if self._is_object(entry.name)]
            for entry in found:
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # evicted (or moved) meanwhile
                if not stat.S_ISREG(info.st_mode):
                    continue
                yield StoredObject(
                    key=self.Key(entry.name),
                    size=info.st_size,
                    age=max(now - info.st_mtime, 0.0),
                    owner=_user_name(info.st_uid),
                    spilled=spilled,
                )

    def exists(self, key: KeyT) -> bool:
        """Whether the object's file exists.

        Raises:
            UnsafeDirectoryError: If the folder is unsafe (see `check_directory`).
            UnsafeObjectError: If something other than a regular file is there.
        """
        path = self._path(key)
        if not check_directory(self.directory):
            return False
        for candidate in (path, self._spilled_path(path)):
            if candidate is None:
                continue
            try:
                info = os.stat(candidate, follow_symlinks=False)
            except FileNotFoundError:
                continue
            self._check_regular(candidate, info.st_mode)
            return True
        return False

    def get(self, key: KeyT) -> BytesLike | None:
        """The object's bytes, or ``None``.

        Raises:
            UnsafeDirectoryError: If the folder is unsafe (see `check_directory`).
            UnsafeObjectError: If something other than a regular file is there.
        """
        path = self._path(key)
        if not check_directory(self.directory):
            return None
        return self._get(path)

    def _get(self, path: str) -> BytesLike | None:
        data = self._get_file(path)
        if data is not None or self.spill_directory is None:
            return data
        spilled = self._spilled_path(path)
        assert spilled is not None
        budget = self._budgeted()
        assert budget is not None
        # Objects move between the folders only under the budget's lock: under
        # it, an object is in one of them or evicted.
        with budget.holding():
            data = self._get_file(path)
            if data is not None:
                return data
            data = self._get_file(spilled)
        if data is not None:
            # Move it back if room can be made; the data read stay valid.
            budget.restore(os.path.basename(path), memoryview(data).nbytes)
        return data

    def _get_file(self, path: str) -> BytesLike | None:
        try:
            # No-follow: a planted link is refused, not read through; non-blocking:
            # opening a planted FIFO returns at once (and is then refused).
            fd = os.open(path, _READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno != errno.ELOOP:
                raise
            self._check_regular(path, os.stat(path, follow_symlinks=False).st_mode)
            raise  # pragma: no cover - ELOOP is only raised for a link
        try:
            info = os.fstat(fd)
            self._check_regular(path, info.st_mode)
            if self.spill_directory is not None:
                os.utime(fd)  # used now: spilled last
            return self._read(fd, info.st_size)
        finally:
            os.close(fd)

    @staticmethod
    def _check_regular(path: str, mode: int) -> None:
        if not stat.S_ISREG(mode):
            raise UnsafeObjectError(
                f'The object file {path} is {_kind(mode)}, not a regular file: '
                'the connector writes regular files only, so it was put there '
                'by something else. Remove it (evict the key) and check who can '
                'write to the folder.',
            )

    def get_batch(self, keys: Sequence[KeyT]) -> list[BytesLike | None]:
        """`get` for many keys (the folder is checked once)."""
        paths = [self._path(key) for key in keys]
        if not check_directory(self.directory):
            return [None] * len(paths)
        return [self._get(path) for path in paths]

    def new_key(self, obj: BytesLike | None = None) -> KeyT:
        """A new key; stores ``obj`` under it if given."""
        key: KeyT = self.Key(secrets.token_urlsafe(_KEY_BYTES))
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
        budget = self._budgeted()
        if budget is None:
            self._write_file(self.directory, final, key, buffers)
            return
        size = _size(buffers)
        replaced = 0
        with contextlib.suppress(FileNotFoundError):
            replaced = os.stat(final, follow_symlinks=False).st_size
        spilled = self._spilled_path(final)
        if spilled is not None and os.path.lexists(spilled):
            # An older version under this key, spilled: it goes before the new
            # one is written (after, it could be the new one, spilled meanwhile).
            with budget.holding(), contextlib.suppress(FileNotFoundError):
                os.unlink(spilled)
        if not budget.reserve(size, key[0]):
            # Larger than the whole budget: straight to the spill folder.
            assert self.spill_directory is not None
            target = os.path.join(self.spill_directory, key[0])
            self._write_file(self.spill_directory, target, key, buffers)
            if replaced:  # an older version in the folder
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(final)
                budget.release(replaced)
            return
        try:
            self._write_file(self.directory, final, key, buffers)
        except BaseException:
            budget.release(size)
            raise
        budget.release(replaced)

    def _write_file(
        self, directory: str, final: str, key: KeyT, buffers: Sequence[BytesLike]
    ) -> None:
        # A temporary file of this write alone: concurrent writers of one key
        # each rename a whole file into place.
        temp = os.path.join(
            directory,
            f'{_TEMP_PREFIX}{key[0]}-{secrets.token_hex(4)}',
        )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        try:
            self._make_folder(directory)
            fd = os.open(temp, flags, 0o600)
        except OSError as e:
            if e.errno in _FULL:
                raise _storage_full(directory, _size(buffers), e) from e
            raise
        try:
            try:
                if self._budget is not None and directory == self.directory:
                    # Its full size at once: a recount of the budget by another
                    # process counts this write in flight (as a partial file).
                    os.ftruncate(fd, _size(buffers))
                write_all(fd, buffers)
            finally:
                os.close(fd)  # on NFS, a full disk may show only here
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            if isinstance(e, OSError) and e.errno in _FULL:
                raise _storage_full(directory, _size(buffers), e) from e
            raise
        os.replace(temp, final)  # atomic: readers see all of it or nothing
        if _KEY_NAME.fullmatch(key[0]) is None:
            self._named.add(key[0])

    def _make_directory(self) -> None:
        """Make the folder (mode 0700) if it is missing; refuse an unsafe one.

        Raises:
            UnsafeDirectoryError: If the folder is unsafe (see `check_directory`).
        """
        self._make_folder(self.directory)

    @staticmethod
    def _make_folder(directory: str) -> None:
        if check_directory(directory):
            return
        parent = os.path.dirname(directory)
        os.makedirs(parent, exist_ok=True)
        # Made by this call or by a concurrent writer (of this user, or not:
        # then the check refuses it).
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
        check_directory(directory)

    def config(self) -> dict[str, Any]:
        """Overridden by subclasses."""
        raise NotImplementedError

    @staticmethod
    def _copy_options(config: dict[str, Any]) -> dict[str, Any]:
        """Options of a connector made from a config.

        It clears nothing unless the config says so.
        """
        return {'clear': False, **config}
