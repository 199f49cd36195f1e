"""A future's locks held by another thread when the process forks.

A thread of the parent waits for a result (holding the future's waiting lock
for the whole wait) or stores one (holding its setting lock), the main thread
forks, and the child must set and read the result through the same future
object: a child still blocked after the bound is killed and fails the test
(`ChildHungError`). The store is a folder, so parent and child share it.
"""

from __future__ import annotations

import os
import pathlib
import threading
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.futures import Future
from proxystore.store import Store
from proxystore.testing.fork import held_by_a_thread
from proxystore.testing.fork import run_in_fork

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    # Python 3.12+ warns about forking a process that has threads; that is the point.
    pytest.mark.filterwarnings('ignore::DeprecationWarning'),
]

TIMEOUT = 10.0


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Generator[Store[FileConnector]]:
    with Store('fork-futures', FileConnector(str(tmp_path / 'objects'))) as store:
        yield store


def test_waiting_lock(store: Store[FileConnector]) -> None:
    future: Future[int] = Future.from_store(store, polling_interval=0.01)
    results: list[Any] = []
    waiter = threading.Thread(
        target=lambda: results.append(future.result(timeout=2 * TIMEOUT)),
        daemon=True,
    )
    waiter.start()
    try:
        while not future._lock.locked():  # the waiter holds it while it waits
            assert waiter.is_alive()
            waiter.join(timeout=0.01)

        def child() -> None:
            future.set_result(42)
            assert future.result(timeout=TIMEOUT / 2) == 42

        run_in_fork(child, TIMEOUT)
    finally:
        waiter.join(timeout=2 * TIMEOUT)
    assert results == [42]  # the parent's waiter saw the child's result


def test_setting_lock(store: Store[FileConnector]) -> None:
    future: Future[int] = Future.from_store(store, polling_interval=0.01)

    def child() -> None:
        future.set_exception(ValueError('from the child'))
        assert isinstance(future.exception(timeout=TIMEOUT / 2), ValueError)

    # As a thread storing a large result holds it.
    with held_by_a_thread(future._setting):
        run_in_fork(child, TIMEOUT)
    error = future.exception(timeout=TIMEOUT)
    assert isinstance(error, ValueError)
    assert str(error) == 'from the child'
