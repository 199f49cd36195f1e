"""``durable=``: puts confirmed by WAITAOF / WAIT on real servers."""

from __future__ import annotations

import pathlib
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisDurabilityError
from proxystore.store import Store
from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import RedisServer

LARGE = b'L' * (256 * 1024)  # the frame-by-frame path


@pytest.fixture
def aof_server(tmp_path: pathlib.Path) -> Generator[RedisServer]:
    """appendonly yes with appendfsync everysec (the default of real servers)."""
    with RedisServer(
        tmp_path / 'aof', appendonly=True, extra=['--appendfsync', 'everysec']
    ) as server:
        yield server


def _keys_under(server: RedisServer, prefix: str) -> list[bytes]:
    with server.client() as client:
        return list(client.scan_iter(match=prefix + '*', count=1000))


def test_durable_local_put_is_fsynced(aof_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', aof_server.port, durable='local')
    with aof_server.client() as client:  # what the connector relies on
        assert client.execute_command('WAITAOF', 1, 0, 1000) == [1, 0]
    keys = [connector.put(b'small'), connector.put(LARGE)]
    keys += connector.put_batch([b'a', b'b'])
    keys += connector.put_frames_batch([[b'c'], [LARGE]])
    key = connector.new_key()
    connector.set(key, b'deferred')
    assert connector.get_batch([*keys, key]) == [
        b'small',
        LARGE,
        b'a',
        b'b',
        b'c',
        LARGE,
        b'deferred',
    ]
    connector.close(clear=True)


def test_durable_local_without_appendonly(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port, durable='local')
    message = (
        r'did not confirm the write as durable: asked an fsync to its append-only '
        r"file within 5.0 s \(durable='local'\); the server answered: .*appendonly"
        r'.*Start the server with appendonly yes'
    )
    for put in (
        lambda: connector.put(b'small'),
        lambda: connector.put(LARGE),
        lambda: connector.put_batch([b'a', b'b']),
        lambda: connector.put_frames_batch([[b'c'], [LARGE]]),
    ):
        with pytest.raises(RedisDurabilityError, match=message):
            put()
    assert _keys_under(redis_server, connector.prefix) == []  # no orphans
    key = connector.new_key()
    with pytest.raises(RedisDurabilityError, match=message):
        connector.set(key, b'x')
    assert connector.exists(key)  # set: stored, not confirmed durable
    connector.close(clear=True)


def test_durable_replicas_not_enough(redis_server: RedisServer) -> None:
    connector = RedisConnector(
        '127.0.0.1',
        redis_server.port,
        durable='replicas',
        durable_replicas=2,
        durable_timeout=0.2,
    )
    with pytest.raises(
        RedisDurabilityError,
        match=r'asked an acknowledgement by 2 replicas within 0.2 s '
        r"\(durable='replicas'\); 0 replica\(s\) acknowledged",
    ):
        connector.put(b'x')
    assert _keys_under(redis_server, connector.prefix) == []
    connector.close(clear=True)


def test_durable_all_with_a_replica(
    aof_server: RedisServer, tmp_path: pathlib.Path
) -> None:
    with RedisServer(
        tmp_path / 'replica',
        appendonly=True,
        extra=['--replicaof', '127.0.0.1', str(aof_server.port)],
    ) as replica:
        connector = RedisConnector(
            '127.0.0.1', aof_server.port, durable='all', durable_timeout=10
        )
        key = connector.put(LARGE)  # waits until the replica has synced too
        with replica.client() as client:
            assert client.get(key.redis_key) == LARGE
        connector.close(clear=True)
    lonely = RedisConnector(
        '127.0.0.1', aof_server.port, durable='all', durable_timeout=0.2
    )
    with pytest.raises(
        RedisDurabilityError, match=r'1 local fsync\(s\) and 0 replica\(s\)'
    ):
        lonely.put(b'x')
    lonely.close(clear=True)


def test_durable_store_survives_kill(aof_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', aof_server.port, durable='local')
    with Store('durable-kill', connector) as store:
        key = store.put({'survives': 'kill -9'})
        aof_server.kill()  # SIGKILL: no shutdown, no final fsync
        aof_server.start()  # same folder, same append-only file
        assert store.get(key) == {'survives': 'kill -9'}
    connector.close(clear=True)


def test_durable_config_round_trip(redis_server: RedisServer) -> None:
    connector = RedisConnector(
        '127.0.0.1',
        redis_server.port,
        durable='all',
        durable_replicas=2,
        durable_timeout=1.5,
    )
    config = connector.config()
    assert config['durable'] == 'all'
    assert config['durable_replicas'] == 2
    assert config['durable_timeout'] == 1.5
    copy = RedisConnector.from_config(config)
    assert (copy.durable, copy.durable_replicas, copy.durable_timeout) == (
        'all',
        2,
        1.5,
    )
    assert 'durable' not in RedisConnector('127.0.0.1', 1).config()


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'durable': 'yes'}, "durable must be None, 'local', 'replicas' or 'all'"),
        ({'durable': 'all', 'durable_replicas': 0}, 'durable_replicas must be at'),
        ({'durable': 'local', 'durable_timeout': 0}, 'durable_timeout must be pos'),
        (
            {'durable': 'local', 'durable_timeout': 60, 'socket_timeout': 10},
            r'durable_timeout \(60 s\) must be shorter than socket_timeout',
        ),
    ],
)
def test_durable_invalid_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisConnector('127.0.0.1', 1, **options)


def test_durable_on_a_cluster_asks_the_node_of_the_key(
    redis_cluster: RedisCluster,
) -> None:
    # The nodes have no replicas: WAIT on the key's node answers 0.
    connector = RedisConnector(
        '127.0.0.1',
        redis_cluster.port,
        cluster=True,
        durable='replicas',
        durable_timeout=0.1,
    )
    message = r'0 replica\(s\) acknowledged'
    with pytest.raises(RedisDurabilityError, match=message):
        connector.put(b'small')
    with pytest.raises(RedisDurabilityError, match=message):
        connector.put_batch([b'a', b'b', b'c'])
    with pytest.raises(RedisDurabilityError, match=message):
        connector.put(LARGE)
    for node in redis_cluster.nodes:
        assert _keys_under(node, connector.prefix) == []
    connector.close(clear=True)
