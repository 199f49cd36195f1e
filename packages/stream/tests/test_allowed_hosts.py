"""Store descriptions may point a consumer only at the hosts it allows."""

from __future__ import annotations

import queue
import uuid
from typing import Any

import pytest

from proxystore.connectors.redis import RedisConnector
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream._stores import ALLOWED_HOSTS_ENV
from proxystore.stream._stores import HostPolicy
from proxystore.stream._stores import StoreDirectory
from proxystore.stream._stores import hosts_of
from proxystore.stream._stores import store_id
from proxystore.stream.exceptions import HostNotAllowedError
from proxystore.stream.exceptions import StreamError
from proxystore.stream.exceptions import UnknownStoreError
from proxystore.stream.shims.queue import QueuePublisher
from proxystore.stream.shims.queue import QueueSubscriber
from proxystore.testing.redis import RedisServer

from .conftest import SECRET


def _redis(host: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        'name': f'described-{uuid.uuid4().hex[:6]}',
        'kind': 'redis',
        'options': {'hostname': host, 'port': port, **extra},
    }


class _Connections:
    """Connections the server accepted, read over one connection of our own."""

    def __init__(self, server: RedisServer) -> None:
        self.client = server.client()

    def __call__(self) -> int:
        return int(self.client.info('stats')['total_connections_received'])


def test_the_error_is_a_stream_error() -> None:
    assert issubclass(HostNotAllowedError, UnknownStoreError)
    assert issubclass(HostNotAllowedError, StreamError)


@pytest.mark.parametrize(
    ('options', 'hosts'),
    [
        ({'hostname': 'Redis.Example.', 'port': 1}, {'redis.example'}),
        ({'url': 'rediss://[fd00::5]:6380/0'}, {'fd00::5'}),
        ({'url': 'unix:///tmp/redis.sock'}, {'localhost'}),
        (
            {'startup_nodes': [['10.0.0.1', 1], ['10.0.0.2', 2]]},
            {'10.0.0.1', '10.0.0.2'},
        ),
        ({'unix_socket_path': '/tmp/s'}, {'localhost'}),
        ({'address': '192.168.1.9', 'port': 13337}, {'192.168.1.9'}),
        ({'store_dir': '/data/objects'}, set()),
        ({'nested': {'inner': [{'host': 'deep.example'}]}}, {'deep.example'}),
    ],
)
def test_hosts_of_options(options: dict[str, Any], hosts: set[str]) -> None:
    assert hosts_of(options) == hosts


def test_policy_entries() -> None:
    policy = HostPolicy(['Data.Example', '10.0.0.0/8', 'fd00::/8'])
    assert policy.allows('data.example')
    assert policy.allows('10.2.3.4')
    assert policy.allows('fd00::1')
    assert not policy.allows('11.0.0.1')
    assert not policy.allows('data.example.evil')
    assert not policy.allows('127.0.0.1')  # an explicit list replaces loopback
    assert HostPolicy(['*']).allows('anything.example')
    loopback = HostPolicy.default()
    assert loopback.allows('localhost') and loopback.allows('127.0.0.9')
    assert loopback.allows('::1') and not loopback.allows('10.0.0.1')
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not a valid network"):
        HostPolicy(['10.0.0.0/33'])
    with pytest.raises(ValueError, match='must not be empty'):
        HostPolicy([' '])


def test_a_description_at_another_host_is_refused_before_connecting(
    redis_server: RedisServer,
) -> None:
    # The server is on loopback; this consumer allows only 10.0.0.0/8.
    directory = StoreDirectory(trust_broker=True, allowed_hosts=['10.0.0.0/8'])
    descriptor = _redis('127.0.0.1', redis_server.port)
    connections = _Connections(redis_server)
    before = connections()
    with pytest.raises(
        HostNotAllowedError,
        match=(
            rf'Store "{descriptor["name"]}" was described by the broker at host '
            r"'127.0.0.1', which this consumer does not connect to \(allowed: "
            r'10.0.0.0/8, .*StreamConsumer\(allowed_hosts=\[...\]\) or '
            rf'{ALLOWED_HOSTS_ENV}=host'
        ),
    ):
        directory.announce(store_id(descriptor), descriptor)
    assert get_store(descriptor['name']) is None  # no store was made
    assert connections() == before  # nothing connected
    connections.client.close()
    forged = _redis('203.0.113.7', 6379)  # the default: loopback only
    with pytest.raises(HostNotAllowedError, match="at host '203.0.113.7'"):
        StoreDirectory(trust_broker=True).announce(store_id(forged), forged)


def test_the_environment_sets_the_allowed_hosts(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    descriptor = _redis('127.0.0.1', redis_server.port)
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, 'data.example, 10.0.0.0/8')
    with pytest.raises(HostNotAllowedError, match=r'allowed: data.example, 10.0'):
        StoreDirectory(trust_broker=True).announce(store_id(descriptor), descriptor)
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, '127.0.0.1')
    directory = StoreDirectory(trust_broker=True)
    directory.announce(store_id(descriptor), descriptor)
    for store in directory.stores():
        store.close()


def test_hosts_of_given_stores_are_allowed(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port)
    with Store('given', connector) as given:
        directory = StoreDirectory([given], trust_broker=True, allowed_hosts=[])
        other = _redis('127.0.0.1', redis_server.port, db=1)
        directory.announce(store_id(other), other)  # the given store's host
        elsewhere = _redis('203.0.113.7', 6379)
        with pytest.raises(HostNotAllowedError, match='allowed: none'):
            directory.announce(store_id(elsewhere), elsewhere)
        for store in directory.stores():
            if store is not given:
                store.close()


def test_a_consumer_streams_from_an_allowed_host(redis_server: RedisServer) -> None:
    # The producer's store is not registered: the consumer makes its own from
    # the description (authenticated, at 127.0.0.1: allowed by default).
    connector = RedisConnector('127.0.0.1', redis_server.port)
    name = f'allowed-{uuid.uuid4().hex[:6]}'
    events: queue.Queue[bytes] = queue.Queue()
    with Store(name, connector, secret=SECRET, register=False) as store:
        producer: StreamProducer[Any] = StreamProducer(
            QueuePublisher({'t': events}), stores={'t': store}
        )
        producer.send('t', {'value': 42})
        producer.close_topics('t')
        consumer: StreamConsumer[Any] = StreamConsumer(
            QueueSubscriber(events, timeout=5)
        )
        assert [dict(p) for p in consumer] == [{'value': 42}]
        consumer.close()
        made = get_store(name)
        assert made is not None and made is not store
        made.close()
    connector.close(clear=True)


def test_a_consumer_refuses_another_host(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port)
    name = f'refused-{uuid.uuid4().hex[:6]}'
    events: queue.Queue[bytes] = queue.Queue()
    with Store(name, connector, secret=SECRET, register=False) as store:
        producer: StreamProducer[Any] = StreamProducer(
            QueuePublisher({'t': events}), stores={'t': store}
        )
        producer.send('t', 'x')
        consumer: StreamConsumer[Any] = StreamConsumer(
            QueueSubscriber(events, timeout=5), allowed_hosts='data.example'
        )
        connections = _Connections(redis_server)
        before = connections()
        with pytest.raises(HostNotAllowedError, match="at host '127.0.0.1'"):
            consumer.next()
        assert connections() == before
        connections.client.close()
        assert get_store(name) is None
        consumer.close()
    connector.close(clear=True)
