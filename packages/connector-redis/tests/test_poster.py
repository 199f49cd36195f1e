"""The second program of the project's poster, verbatim, and its Dask variant."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
from collections.abc import Generator

import pytest

from proxystore.testing.redis import RedisServer

POSTER = """\
from concurrent.futures import ProcessPoolExecutor
from proxystore.connectors.redis import RedisConnector
from proxystore.store import Store
with Store('demo', RedisConnector('localhost', 6379)) as store:
    with ProcessPoolExecutor() as pool:
        proxy = store.proxy(list(range(1, 10000)))
        future = pool.submit(sum, proxy)
        print(future.result())
"""

DASK = """\
from dask.distributed import Client, LocalCluster
from proxystore.connectors.redis import RedisConnector
from proxystore.store import Store
from proxystore.testing.tasks import is_unresolved_proxy
with Store('demo', RedisConnector('localhost', 6379)) as store:
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        proxy = store.proxy(list(range(1, 10000)))
        print(client.submit(is_unresolved_proxy, proxy).result())
        print(client.submit(sum, proxy).result())
"""


@pytest.fixture
def server_on_6379(tmp_path: pathlib.Path) -> Generator[RedisServer]:
    with socket.socket() as probe:
        try:
            probe.bind(('127.0.0.1', 6379))
        except OSError:
            pytest.skip('port 6379 is in use: the poster program needs it')
    with RedisServer(tmp_path / 'poster', port=6379) as server:
        yield server


def _run(program: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, '-c', program],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_poster_program_verbatim(server_on_6379: RedisServer) -> None:
    assert _run(POSTER) == [str(sum(range(1, 10000)))]


def test_poster_program_on_a_dask_cluster(server_on_6379: RedisServer) -> None:
    assert _run(DASK) == ['True', str(sum(range(1, 10000)))]
