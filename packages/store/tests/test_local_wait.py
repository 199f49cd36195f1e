"""`LocalConnector.wait`: threads of one process wake when an object is set."""

from __future__ import annotations

import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.protocols import WaitableConnector
from proxystore.connectors.shm import SharedMemoryConnector

LIMIT = 30.0


def test_which_connectors_can_wait(tmp_path: pathlib.Path) -> None:
    assert isinstance(LocalConnector(), WaitableConnector)
    # Files cannot notify: futures poll them.
    assert not isinstance(FileConnector(str(tmp_path)), WaitableConnector)
    assert not isinstance(SharedMemoryConnector(clear=False), WaitableConnector)


def test_present_missing_and_timeouts() -> None:
    connector = LocalConnector()
    key = connector.put(b'x')
    assert connector.wait(key)
    assert connector.wait(key, 0)
    missing = connector.new_key()
    assert not connector.wait(missing, 0)
    start = time.monotonic()
    assert not connector.wait(missing, 0.2)
    assert 0.2 <= time.monotonic() - start < LIMIT


def test_every_waiting_thread_wakes_on_a_set() -> None:
    connector = LocalConnector()
    key = connector.new_key()
    with ThreadPoolExecutor(4) as pool:
        waits = [pool.submit(connector.wait, key, LIMIT) for _ in range(3)]
        forever = pool.submit(connector.wait, key, None)
        time.sleep(0.1)
        assert not any(w.done() for w in [*waits, forever])
        setter = threading.Timer(0.05, connector.set, args=(key, b'v'))
        setter.start()
        assert [w.result(timeout=LIMIT) for w in waits] == [True] * 3
        assert forever.result(timeout=LIMIT)
        setter.join(timeout=LIMIT)


def test_wait_refuses_another_connectors_key() -> None:
    from proxystore.connectors.file import FileKey

    with pytest.raises(TypeError, match='LocalConnector keys are LocalKey'):
        LocalConnector().wait(FileKey('x'), 0)  # type: ignore[arg-type]
