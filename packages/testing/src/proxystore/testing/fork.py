"""Run an operation in a forked child, bounded in time.

For tests of fork safety: a thread of the parent holds a lock, the test forks,
and the child must do an operation that takes that lock. A child that hangs
(the lock it inherited stays held forever) is killed after ``timeout`` seconds
and reported as `ChildHungError`, so a deadlock fails the test instead of
hanging the suite.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

__all__ = ['ChildFailedError', 'ChildHungError', 'held_by_a_thread', 'run_in_fork']


class ChildFailedError(AssertionError):
    """The forked child raised (its traceback went to stderr) or exited non-zero."""


class ChildHungError(ChildFailedError):
    """The forked child did not finish in time and was killed."""


def run_in_fork(operation: Callable[[], object], timeout: float = 10.0) -> None:
    """Fork; run ``operation`` in the child; wait for it at most ``timeout`` s.

    The child exits 0 if ``operation`` returns, 1 if it raises. It never returns
    into the caller's code (``os._exit``).

    Raises:
        ChildHungError: If the child did not finish within ``timeout`` (it is
            killed with SIGKILL).
        ChildFailedError: If the child exited with another code than 0.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            operation()
            code = 0
        except BaseException:
            traceback.print_exc(file=sys.stderr)
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                raise ChildFailedError(f'the forked child exited with {code}')
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise ChildHungError(
        f'the forked child did not finish within {timeout} s (a lock held across '
        'the fork?)',
    )


@contextlib.contextmanager
def held_by_a_thread(lock: Any, timeout: float = 10.0) -> Iterator[None]:
    """While the block runs, another thread of this process holds ``lock``.

    ``lock`` is anything used as ``with lock:`` (a lock, a condition, a
    context manager of one). The thread takes it before the block starts and
    lets go when the block ends, as a thread of the parent holds a lock when
    another thread forks.

    Raises:
        TimeoutError: If the thread could not take ``lock`` within ``timeout``.
    """
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        if not held.wait(timeout=timeout):
            raise TimeoutError(f'no thread could take {lock!r} in {timeout} s')
        yield
    finally:
        release.set()
        holder.join(timeout=timeout)
