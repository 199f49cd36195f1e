"""Owner locks of shared-memory folders: reap the folders of dead owners.

A shared-memory connector made with ``clear=True`` owns its folder: it holds a
shared `fcntl.flock` on the folder's lock file (`LOCK_NAME`, which names the pid
of the process that made it) for as long as it lives, and so does every
connector of another process that uses the folder while the lock file is there.
The kernel drops the locks of a process however it ends (``SIGKILL`` too), so a
folder whose lock file nobody holds belongs to no live process: the next
connector made on the node (in any process of the user) removes it (`reap`).

A normal exit without ``close()`` removes the folders this process owns
(`own_until_exit`, run by `atexit`; a forked child that exits leaves its
parent's folders alone). Folders without a lock file are never reaped: a
connector made with ``clear=False`` keeps its data on purpose.

The lock file appears already locked (it is made under a temporary name, locked,
then linked into place), so a reaper never takes a new folder for a dead one; a
reaper takes the lock exclusively, so it never removes a folder that anyone
holds.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable

from proxystore.connectors._directory import DirectoryConnectorError
from proxystore.connectors._directory import clear_folder
from proxystore.connectors._directory import own_file_name

if sys.platform != 'win32':
    import fcntl

__all__ = [
    'LOCK_NAME',
    'disown',
    'hold',
    'is_lock_file',
    'own_until_exit',
    'reap',
    'release',
]

LOCK_NAME = '.owner'
_LOCK_TEMP = re.compile(re.escape(LOCK_NAME) + r'(-[0-9a-f]{8})?')
_OPEN = (
    os.O_RDWR
    | getattr(os, 'O_NOFOLLOW', 0)
    | getattr(os, 'O_NONBLOCK', 0)
    | getattr(os, 'O_CLOEXEC', 0)
)
_ATTEMPTS = 500  # x _PAUSE: how long a reaper at work may hold a folder's lock
_PAUSE = 0.01

# Folders owned by this process: id of the owner -> (pid, lock fd, clear).
_owned: dict[int, tuple[int, int, Callable[[], None]]] = {}
_owned_lock = threading.Lock()


def _renew_lock_in_child() -> None:
    global _owned_lock
    # Another thread may have held the lock at fork time; it is gone here.
    _owned_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_lock_in_child)


def is_lock_file(name: str) -> bool:
    """Whether ``name`` is the lock file of a folder, or a partial one."""
    return _LOCK_TEMP.fullmatch(name) is not None


def _reapable(name: str) -> bool:
    return own_file_name(name) or is_lock_file(name)


def _same_file(fd: int, path: str) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not removed or replaced)."""
    try:
        there = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _try_lock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _publish(directory: str) -> int | None:
    """Make the lock file, locked before it appears; ``None`` if one is there."""
    lock = os.path.join(directory, LOCK_NAME)
    temp = f'{lock}-{secrets.token_hex(4)}'
    fd = os.open(temp, _OPEN | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # a new file: nobody else can hold it
        os.write(fd, f'{os.getpid()}\n'.encode())
        os.link(temp, lock)  # fails if a lock file is there: never replaced
    except FileExistsError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    return fd


def hold(
    directory: str, *, create: bool, make: Callable[[], None] | None = None
) -> int | None:
    """A shared lock on the folder's lock file, held until `release`.

    Args:
        directory: The shared-memory folder.
        create: Make the lock file if there is none (an owner); otherwise hold
            it only if it is there (a connector that uses an owner's folder).
        make: Makes (and checks) the folder when it is missing (an owner's
            folder that a reaper removed meanwhile).

    Returns:
        The locked file descriptor, or ``None`` when there was nothing to hold.

    Raises:
        DirectoryConnectorError: If the lock could not be taken in bounded time
            (a reaper kept it, or the folder kept disappearing).
    """
    if sys.platform == 'win32':  # pragma: no cover - no flock
        return None
    lock = os.path.join(directory, LOCK_NAME)
    for _ in range(_ATTEMPTS):
        try:
            fd = os.open(lock, _OPEN)
        except FileNotFoundError:
            if not create:
                return None
            try:
                published = _publish(directory)
            except FileNotFoundError:  # a reaper removed the folder: make it
                if make is None:
                    raise
                make()
                continue
            if published is not None:
                return published
            continue  # another owner published it first: hold theirs
        if _try_lock(fd, fcntl.LOCK_SH) and _same_file(fd, lock):
            return fd
        os.close(fd)  # a reaper holds or removed it: wait for it to finish
        if not create:
            return None
        time.sleep(_PAUSE)
    raise DirectoryConnectorError(
        f'Could not take the owner lock {lock} in {_ATTEMPTS * _PAUSE:.0f} s: '
        'another process kept it locked exclusively (removing the folder of a '
        'dead owner). Try again; if it persists, check `fuser -v` on that file.',
    )


def release(fd: int | None) -> None:
    """Drop a lock taken by `hold` (``None``: nothing held)."""
    if fd is not None:
        os.close(fd)


def reap(base: str, prefix: str) -> list[str]:
    """Remove the folders ``base/prefix*`` of this user that no live process holds.

    A folder is reaped only if it has a lock file and its lock can be taken
    exclusively: no connector of any process holds it. Its own files (objects
    under keys, partial writes, the lock file) are removed, then the folder if
    nothing else is left in it.

    Returns:
        The folders that were reaped.
    """
    if sys.platform == 'win32':  # pragma: no cover - no flock
        return []
    reaped = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            if (
                not entry.is_dir(follow_symlinks=False)
                or entry.stat(follow_symlinks=False).st_uid != os.geteuid()
            ):
                continue
            lock = os.path.join(entry.path, LOCK_NAME)
            fd = os.open(lock, _OPEN)
        except OSError:
            continue  # no lock file (not an owner's folder), or gone meanwhile
        try:
            if _try_lock(fd, fcntl.LOCK_EX) and _same_file(fd, lock):
                clear_folder(entry.path, _reapable)
                reaped.append(entry.path)
        except OSError:
            continue
        finally:
            os.close(fd)
    return reaped


def own_until_exit(owner: object, fd: int, clear: Callable[[], None]) -> None:
    """Call ``clear`` (remove the owner's folder) at a normal exit of this process.

    `disown` cancels it (the owner closed). A forked child inherits the entry but
    its exit leaves the folder: only the process that registered it clears it.
    """
    with _owned_lock:
        _owned[id(owner)] = (os.getpid(), fd, clear)


def disown(owner: object) -> None:
    """Cancel `own_until_exit` for ``owner``."""
    with _owned_lock:
        _owned.pop(id(owner), None)


@atexit.register
def _clear_at_exit() -> None:
    with _owned_lock:
        owned = list(_owned.values())
        _owned.clear()
    for pid, fd, clear in owned:
        if pid != os.getpid():
            continue  # a forked child: the folders are its parent's
        with contextlib.suppress(Exception):
            clear()
        with contextlib.suppress(OSError):
            os.close(fd)
