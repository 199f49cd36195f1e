"""Four processes of eight threads each on one server, for a bounded time."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from proxystore.connectors.redis import RedisConnector
from proxystore.testing.redis import RedisServer
from proxystore.testing.redis import hammer


def test_processes_and_threads_read_back_what_they_wrote(
    redis_server: RedisServer,
) -> None:
    # Every command is bounded by socket_timeout, so every worker ends.
    connector = RedisConnector('127.0.0.1', redis_server.port, socket_timeout=20)
    config = connector.config()
    context = multiprocessing.get_context('spawn')
    try:
        with ProcessPoolExecutor(4, mp_context=context) as pool:
            futures = [
                pool.submit(hammer, config, threads=8, seconds=3.0, seed=i)
                for i in range(4)
            ]
            results = [f.result(timeout=120) for f in futures]
        assert all(r['operations'] > 0 for r in results)
        assert sum(r['mismatches'] for r in results) == 0
        assert sum(r['leftovers'] for r in results) == 0
        raw = redis_server.client()
        assert list(raw.scan_iter(match=f'{connector.prefix}*')) == []  # no leaks
        raw.close()
    finally:
        connector.close(clear=True)
