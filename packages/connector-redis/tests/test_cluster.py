"""Redis Cluster: keys land on the shard of their slot; batches span slots."""

from __future__ import annotations

import time
from collections.abc import Generator

import pytest
import redis

from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisUnavailableError
from proxystore.store import Store
from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import free_port


@pytest.fixture
def connector(redis_cluster: RedisCluster) -> Generator[RedisConnector]:
    with RedisConnector('127.0.0.1', redis_cluster.port, clear=True, cluster=True) as c:
        yield c


def test_keys_route_to_their_shard(
    connector: RedisConnector,
    redis_cluster: RedisCluster,
) -> None:
    keys = connector.put_batch([f'v{i}'.encode() for i in range(60)])
    names = {k.redis_key for k in keys}
    holders: dict[str, int] = {}
    for i, node in enumerate(redis_cluster.nodes):
        client = node.client()
        first, last = i * 16384 // 3, (i + 1) * 16384 // 3 - 1
        for name in client.keys(f'{connector.prefix}*'):
            text = name.decode()
            holders[text] = i
            slot = client.execute_command('CLUSTER', 'KEYSLOT', text)
            assert first <= slot <= last  # each key sits on the owner of its slot
        client.close()
    assert set(holders) == names
    assert set(holders.values()) == {0, 1, 2}  # spread over every shard


def test_batches_across_slots(connector: RedisConnector) -> None:
    values = [bytes([i]) * (i + 1) for i in range(40)]
    keys = connector.put_batch(values)
    assert connector.get_batch(keys) == values
    connector.evict_batch(keys[:20])
    assert connector.get_batch(keys[:20]) == [None] * 20
    assert connector.get_batch(keys[20:]) == values[20:]


def test_large_values_on_a_cluster(connector: RedisConnector) -> None:
    payload = [b'a' * 100_000, memoryview(b'b' * 300_000)]
    key = connector.put_frames(payload)
    assert connector.get(key) == b'a' * 100_000 + b'b' * 300_000


def test_clear_spans_every_shard(redis_cluster: RedisCluster) -> None:
    connector = RedisConnector('127.0.0.1', redis_cluster.port, cluster=True)
    keys = connector.put_batch([b'x'] * 30)
    connector.close(clear=True)
    check = RedisConnector(
        '127.0.0.1', redis_cluster.port, cluster=True, prefix=connector.prefix
    )
    assert not any(check.exists(k) for k in keys)
    check.close()


def test_startup_nodes_and_url(redis_cluster: RedisCluster) -> None:
    nodes = [('127.0.0.1', n.port) for n in redis_cluster.nodes]
    with RedisConnector(startup_nodes=nodes, clear=True) as by_nodes:  # type: ignore[arg-type]
        assert by_nodes.cluster
        key = by_nodes.put(b'n')
        copy = RedisConnector.from_config(by_nodes.config())
        assert copy.get(key) == b'n'
        copy.close()
    url = f'redis://127.0.0.1:{redis_cluster.port}'
    with RedisConnector(url=url, cluster=True, clear=True) as by_url:
        assert by_url.get(by_url.put(b'u')) == b'u'
        assert isinstance(by_url._client, redis.cluster.RedisCluster)


def test_unreachable_cluster() -> None:
    port = free_port()  # nothing listens there
    connector = RedisConnector('127.0.0.1', port, cluster=True)  # no I/O yet
    start = time.monotonic()
    with pytest.raises(
        RedisUnavailableError,
        match=rf'Redis Cluster at 127.0.0.1:{port} is unavailable \(connecting\)',
    ):
        connector.put(b'x')
    assert time.monotonic() - start < 30
    connector.close()


def test_store_on_a_cluster(connector: RedisConnector) -> None:
    with Store('cluster-store', connector) as store:
        proxies = store.proxy_batch(list(range(20)), populate_target=False)
        assert [int(p) for p in proxies] == list(range(20))
