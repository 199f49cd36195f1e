"""A thread connecting to a cluster when the process forks does not strand the child."""

from __future__ import annotations

import os
import pathlib
import signal
import threading
import time

import pytest

from proxystore.connectors.redis import RedisConnector
from proxystore.testing.fork import run_in_fork
from proxystore.testing.redis import RedisCluster

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    # Python 3.12+ warns about forking a process that has threads; that is the point.
    pytest.mark.filterwarnings('ignore::DeprecationWarning'),
]


def test_fork_during_cluster_discovery(tmp_path: pathlib.Path) -> None:
    with RedisCluster(tmp_path / 'cluster', shards=1) as cluster:
        node = cluster.nodes[0].process
        assert node is not None
        connector = RedisConnector(
            '127.0.0.1', cluster.port, cluster=True, socket_timeout=30
        )
        # A frozen node: the first use blocks in discovery, holding the lock.
        node.send_signal(signal.SIGSTOP)
        first = threading.Thread(target=lambda: connector.put(b'parent'))
        first.start()
        try:
            deadline = time.monotonic() + 10
            while not connector._client_lock.locked():
                assert time.monotonic() < deadline, 'discovery did not start'
                time.sleep(0.01)

            def child() -> None:
                os.kill(node.pid, signal.SIGCONT)  # the node answers again
                key = connector.put(b'from the child')  # connects: takes the lock
                assert connector.get(key) == b'from the child'
                connector.evict(key)

            run_in_fork(child, timeout=10)
        finally:
            node.send_signal(signal.SIGCONT)
            first.join(timeout=30)
        assert not first.is_alive()
        connector.close(clear=True)
