"""A byte budget for a folder of objects, shared by every process that uses it.

The usage is a counter in the folder (``.budget``: 8 bytes, updated under an
``flock`` of the file), so a put costs a lock, a read and a write of it, not a
scan of the folder. The counter can drift from the truth when a process dies
between writing an object and counting it, or objects are removed behind the
connector's back; whenever it says a put does not fit, the folder is scanned
and the counter set to what is really there before anything is decided. A
write in flight counts in that scan: its partial file is made its full size
(``ftruncate``, no pages yet) before its bytes are written.

A put that does not fit:

- with a spill folder (``spill_directory``), moves the least recently used
  objects there (copied, then unlinked from the folder) until it fits; an
  object larger than the whole budget is written to the spill folder directly;
- without one, waits up to ``full_timeout`` seconds for others to evict, then
  raises `StoreFullError`, which names the budget, the size and what holds the
  space.

Objects are used when they are written or read: reads through a connector with
a spill folder stamp the file's modification time, which orders the spilling.
A read that finds an object in the spill folder restores it (moved back, making
room as a put would) and returns it.

Rejected: a counter per process (every process would need everyone's
evictions), scanning the folder on every put (a millisecond per thousand
objects), and a lock-free counter in shared memory (a process killed holding
no lock still leaves it wrong, and ``flock`` is released by the kernel when a
process dies, so a crash never wedges the others).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import stat
import struct
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import NamedTuple

from proxystore.connectors.protocols import StoreFullError
from proxystore.serialize._fork import renew_after_fork

__all__ = ['BUDGET_NAME', 'Budget', 'BudgetStats']

BUDGET_NAME = '.budget'
_COUNTER = struct.Struct('<q')
_TEMP_PREFIX = '.spill-'
_WAIT_FIRST = 0.001
_WAIT_MOST = 0.05
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_COPY_CHUNK = 8 * 1024 * 1024


class BudgetStats(NamedTuple):
    """What a budgeted folder holds, and what this process moved."""

    capacity: int
    """The budget in bytes."""
    used: int
    """Bytes of the objects in the folder (the shared counter)."""
    spilled_bytes: int
    """Bytes of the objects in the spill folder."""
    spilled_objects: int
    """Objects in the spill folder."""
    spills: int
    """Objects this process moved to the spill folder."""
    restores: int
    """Objects this process moved back."""


class _Entry(NamedTuple):
    name: str
    size: int
    used: float  # modification time: written or last read


def _entries(directory: str, is_object: Callable[[str], bool]) -> Iterator[_Entry]:
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as found:
        for entry in found:
            if not is_object(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode):
                yield _Entry(entry.name, info.st_size, info.st_mtime)


def _human(size: int) -> str:
    value = float(size)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if value < 1024 or unit == 'GiB':
            return f'{size} B' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1024
    raise AssertionError('unreachable')  # pragma: no cover


class Budget:
    """The byte budget of ``directory`` (see the module's docstring).

    Args:
        directory: The folder of the objects (it exists).
        capacity: Most bytes of objects in the folder.
        is_object: Whether a file name in the folder is an object's.
        is_partial: Whether a file name is a write in flight (made its full
            size at once, so a recount counts it; never spilled).
        spill_directory: Where objects go when the budget is crossed
            (``None``: nowhere; puts wait, then fail).
        full_timeout: Seconds a put waits for room without a spill folder.
    """

    def __init__(
        self,
        directory: str,
        capacity: int,
        is_object: Callable[[str], bool],
        *,
        is_partial: Callable[[str], bool] = lambda _: False,
        spill_directory: str | None = None,
        full_timeout: float = 0.0,
    ) -> None:
        self.directory = directory
        self.capacity = capacity
        self.is_object = is_object
        self.is_partial = is_partial
        self.spill_directory = spill_directory
        self.full_timeout = full_timeout
        self.spills = 0
        self.restores = 0
        self._fd: int | None = None
        self._pid = -1
        self._local = threading.Lock()  # flock does not order this process's threads
        renew_after_fork(self, '_local')  # its counter file is reopened there too

    # --- the shared counter ------------------------------------------------------

    def _counter_fd(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            path = os.path.join(self.directory, BUDGET_NAME)
            flags = os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC
            self._fd = os.open(path, flags, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The counter's file descriptor, held under the folder-wide lock."""
        with self._local:
            fd = self._counter_fd()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold the folder-wide lock: no object moves between the folders."""
        with self._locked():
            yield

    @staticmethod
    def _read(fd: int) -> int:
        data = os.pread(fd, _COUNTER.size, 0)
        return _COUNTER.unpack(data)[0] if len(data) == _COUNTER.size else 0

    @staticmethod
    def _write(fd: int, value: int) -> None:
        os.pwrite(fd, _COUNTER.pack(max(value, 0)), 0)

    def _scan(self) -> list[_Entry]:
        """The objects of the folder (the candidates for spilling)."""
        return list(_entries(self.directory, self.is_object))

    def _in_flight(self) -> int:
        """Bytes of the writes in flight (partial files at their full size)."""
        return sum(e.size for e in _entries(self.directory, self.is_partial))

    def close(self) -> None:
        """Close the counter's file (the counter stays in the folder)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    # --- reserving room ------------------------------------------------------------

    def reserve(self, size: int, name: str) -> bool:
        """Make room for an object of ``size`` bytes and count it.

        Returns:
            ``True`` if the object goes to the folder, ``False`` if it goes to
            the spill folder (it is larger than the whole budget).

        Raises:
            StoreFullError: If there is no spill folder and no room came within
                ``full_timeout`` seconds (at once for an object larger than the
                budget).
        """
        if size > self.capacity:
            if self.spill_directory is not None:
                return False
            with self._locked() as fd:
                raise self._full(size, self._scan(), self._read(fd), never=True)
        deadline = time.monotonic() + self.full_timeout
        pause = _WAIT_FIRST
        while True:
            with self._locked() as fd:
                used = self._read(fd)
                if used + size > self.capacity:
                    entries = self._scan()  # the truth, before deciding
                    used = sum(e.size for e in entries) + self._in_flight()
                    if used + size > self.capacity and self.spill_directory:
                        used = self._spill(entries, used, size, keep=name)
                if used + size <= self.capacity:
                    self._write(fd, used + size)
                    return True
                self._write(fd, used)
                if time.monotonic() >= deadline:
                    raise self._full(size, entries, used, never=False)
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, _WAIT_MOST)

    def release(self, size: int) -> None:
        """Give back ``size`` bytes (an object evicted, or a failed write)."""
        if size <= 0:
            return
        with self._locked() as fd:
            self._write(fd, self._read(fd) - size)

    def _full(
        self, size: int, entries: list[_Entry], used: int, *, never: bool
    ) -> StoreFullError:
        largest = sorted(entries, key=lambda e: -e.size)[:3]
        holders = ', '.join(f'{e.name} ({_human(e.size)})' for e in largest)
        if never:
            why = 'it is larger than the whole budget'
        else:
            waited = (
                f' after waiting {self.full_timeout:g} s for evictions'
                if self.full_timeout
                else ''
            )
            why = f'{_human(self.capacity - used)} are free{waited}'
        return StoreFullError(
            f'Cannot store an object of {_human(size)} in {self.directory}: its '
            f'budget is {_human(self.capacity)} (capacity), {_human(used)} are '
            f'held by {len(entries)} objects (largest: {holders or "none"}) and '
            f'{why}. Evict objects, raise the capacity, give a spill_directory '
            'to move objects to disk, or a full_timeout to wait for room.'
        )

    # --- spilling and restoring ----------------------------------------------------

    def _spill(self, entries: list[_Entry], used: int, size: int, keep: str) -> int:
        """Move least recently used objects out until ``size`` more fits."""
        assert self.spill_directory is not None
        for entry in sorted(entries, key=lambda e: e.used):
            if used + size <= self.capacity:
                break
            if entry.name == keep:
                continue
            if self._move(self.directory, self.spill_directory, entry.name):
                used -= entry.size
                self.spills += 1
        return used

    def restore(self, name: str, size: int) -> bool:
        """Move a spilled object back into the folder if room can be made.

        Returns:
            Whether it was moved back (else it stays spilled).
        """
        assert self.spill_directory is not None
        if size > self.capacity:
            return False
        with self._locked() as fd:
            used = self._read(fd)
            if used + size > self.capacity:
                entries = self._scan()
                used = sum(e.size for e in entries) + self._in_flight()
                used = self._spill(entries, used, size, name)
            if used + size > self.capacity:
                self._write(fd, used)
                return False
            if not self._move(self.spill_directory, self.directory, name):
                self._write(fd, used)
                return False
            self._write(fd, used + size)
        self.restores += 1
        return True

    @staticmethod
    def _move(source: str, target: str, name: str) -> bool:
        """Copy ``name`` to ``target`` whole (temporary file, rename), then unlink it.

        A reader always finds the object in one of the two folders: the copy is
        in place before the original goes. Returns whether it was moved
        (``False``: it was evicted meanwhile).
        """
        origin = os.path.join(source, name)
        try:
            fd_in = os.open(origin, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            return False
        temp = os.path.join(target, f'{_TEMP_PREFIX}{name}-{secrets.token_hex(4)}')
        try:
            if not stat.S_ISREG(os.fstat(fd_in).st_mode):
                return False
            info = os.fstat(fd_in)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
            fd_out = os.open(temp, flags, 0o600)
            try:
                remaining = info.st_size
                while remaining > 0:
                    copied = os.sendfile(
                        fd_out, fd_in, None, min(remaining, _COPY_CHUNK)
                    )
                    if copied == 0:
                        break
                    remaining -= copied
                os.utime(fd_out, ns=(info.st_atime_ns, info.st_mtime_ns))
            finally:
                os.close(fd_out)
            os.replace(temp, os.path.join(target, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        finally:
            os.close(fd_in)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(origin)
        return True

    def spilled(self) -> list[_Entry]:
        """The objects in the spill folder."""
        if self.spill_directory is None:
            return []
        return list(_entries(self.spill_directory, self.is_object))

    def stats(self) -> BudgetStats:
        """What the folder and its spill folder hold; this process's moves."""
        with self._locked() as fd:
            used = self._read(fd)
        spilled = self.spilled()
        return BudgetStats(
            capacity=self.capacity,
            used=used,
            spilled_bytes=sum(e.size for e in spilled),
            spilled_objects=len(spilled),
            spills=self.spills,
            restores=self.restores,
        )


def is_spill_temp(name: str) -> bool:
    """Whether ``name`` is a partial copy of a move (left by a process that died)."""
    return re.fullmatch(re.escape(_TEMP_PREFIX) + r'.+-[0-9a-f]{8}', name) is not None
