"""A resolution in flight when the process forks does not strand the child."""

from __future__ import annotations

import os
import threading
import time

import pytest

from proxystore.proxy import Proxy

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    # Python 3.12+ warns about forking a process that has threads; that is the point.
    pytest.mark.filterwarnings('ignore::DeprecationWarning'),
]


def _wait_child(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail(f'the child did not finish within {timeout} s')


def test_child_resolves_a_proxy_whose_owner_stayed_in_the_parent() -> None:
    parent = os.getpid()
    started = threading.Event()
    release = threading.Event()

    def factory() -> int:
        if os.getpid() != parent:
            return 41  # the child's own resolution
        started.set()
        assert release.wait(timeout=10)
        return 41

    proxy = Proxy(factory)
    owner = threading.Thread(target=lambda: proxy + 0)
    owner.start()
    try:
        assert started.wait(timeout=10)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                code = 0 if proxy + 1 == 42 else 3
            finally:
                os._exit(code)
    finally:
        release.set()
        owner.join(timeout=10)
    assert _wait_child(pid, timeout=20) == 0
    assert proxy == 41
