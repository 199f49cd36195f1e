"""The package's shape: 1.x paths and pickles, options stated once, the GET framing."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from collections.abc import Iterator
from typing import Any

import numpy
import pytest
import redis.exceptions

import proxystore.connectors.redis as package
from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.redis import RedisAuthenticationError
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisConnectorError
from proxystore.connectors.redis import RedisKey
from proxystore.connectors.redis import RedisUnavailableError
from proxystore.connectors.redis._options import RedisOptions
from proxystore.connectors.redis._resp import read_bulk
from proxystore.store import Store
from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import RedisServer

# A RedisKey pickled by ProxyStore 1.x (protocol 2 by hand: the class by its
# 1.x path, then the one field).
_PICKLE_1X = (
    b'\x80\x02cproxystore.connectors.redis\nRedisKey\nq\x00X\x03\x00\x00\x00'
    b'abcq\x01\x85q\x02\x81q\x03.'
)


def test_public_names_unchanged() -> None:
    assert sorted(package.__all__) == [
        'RedisAuthenticationError',
        'RedisConfigurationError',
        'RedisConnector',
        'RedisConnectorError',
        'RedisCredentialError',
        'RedisDurabilityError',
        'RedisKey',
        'RedisUnavailableError',
        'RedisValueTooLargeError',
    ]
    for name in package.__all__:
        assert getattr(package, name).__module__ == 'proxystore.connectors.redis'


def test_1x_key_pickle_resolves() -> None:
    key = pickle.loads(_PICKLE_1X)
    assert key == RedisKey('abc')
    assert type(key) is RedisKey
    # And a key pickled now names the same path.
    assert b'proxystore.connectors.redis\x94\x8c\x08RedisKey' in pickle.dumps(key)


def test_entry_point_names_the_package() -> None:
    from proxystore.store.config import ConnectorConfig

    config = ConnectorConfig(kind='redis', options={'hostname': 'h', 'port': 1})
    assert config.get_connector_type() is RedisConnector


def test_constructor_defaults_are_the_options_defaults() -> None:
    signature = inspect.signature(RedisConnector)
    fields = {f.name: f.default for f in dataclasses.fields(RedisOptions)}
    assert list(signature.parameters) == list(fields)
    for name, parameter in signature.parameters.items():
        assert parameter.default == fields[name], name


def test_config_is_the_options_off_their_defaults() -> None:
    connector = RedisConnector(
        startup_nodes=[('a', 1), ['b', 2]],  # type: ignore[list-item]
        ttl=3,
        ssl_cert_reqs='none',
        clear=True,
    )
    assert connector.config() == {
        'prefix': connector.prefix,
        'startup_nodes': [['a', 1], ['b', 2]],
        'ssl_cert_reqs': 'none',
        'ttl': 3,
    }
    assert connector.cluster
    assert connector.startup_nodes == [('a', 1), ('b', 2)]
    connector = RedisConnector('h', 1, db=2)
    assert connector.config() == {
        'prefix': connector.prefix,
        'hostname': 'h',
        'port': 1,
        'db': 2,
    }


def test_config_round_trip_keeps_every_option() -> None:
    connector = RedisConnector(
        'h',
        1,
        prefix='app:',
        db=3,
        username='u',
        password='p',
        max_connections=4,
        socket_timeout=None,
        retries=0,
    )
    config = connector.config()
    assert list(config) == [
        'prefix',
        'hostname',
        'port',
        'db',
        'username',
        'password_id',
        'max_connections',
        'socket_timeout',
        'retries',
    ]
    assert RedisConnector.from_config(config).config() == config


@pytest.mark.parametrize('node', ['ab', ('a',), ('a', 1, 2)])
def test_bad_startup_node(node: object) -> None:
    with pytest.raises(ValueError, match='startup_nodes must be \\(host, port\\)'):
        RedisConnector(startup_nodes=[node])  # type: ignore[list-item]


def test_options_are_frozen() -> None:
    options = RedisOptions('h', 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.db = 1  # type: ignore[misc]


# --- GET received straight into its buffer ------------------------------------------


class _Socket:
    """A socket that hands out ``data`` ``step`` bytes at a time."""

    def __init__(self, data: bytes, step: int = 1 << 30) -> None:
        self.data = data
        self.step = step
        self.calls = 0

    def recv_into(self, view: memoryview) -> int:
        self.calls += 1
        chunk = self.data[: min(self.step, len(view))]
        self.data = self.data[len(chunk) :]
        view[: len(chunk)] = chunk
        return len(chunk)


def _bulk(value: bytes) -> bytes:
    return b'$%d\r\n%s\r\n' % (len(value), value)


@pytest.mark.parametrize('size', [0, 1, 16 * 1024 - 10, 16 * 1024, 200_000])
@pytest.mark.parametrize('step', [1, 7, 1 << 30])
def test_read_bulk_value(size: int, step: int) -> None:
    if step == 1 and size > 20_000:
        step = 4093  # byte by byte through 200 kB is slow, and says nothing new
    value = bytes(range(256)) * (size // 256) + bytes(size % 256)
    sock = _Socket(_bulk(value), step)
    result = read_bulk(sock)
    assert isinstance(result, bytearray)
    assert result == value
    assert sock.data == b''  # the whole reply consumed, nothing more


@pytest.mark.parametrize('reply', [b'_\r\n', b'$-1\r\n'])
def test_read_bulk_missing(reply: bytes) -> None:
    sock = _Socket(reply, 1)
    assert read_bulk(sock) is None
    assert sock.data == b''


def test_read_bulk_error_replies() -> None:
    with pytest.raises(redis.exceptions.ResponseError, match='^MOVED 12 h:1$'):
        read_bulk(_Socket(b'-MOVED 12 h:1\r\n'))
    with pytest.raises(redis.exceptions.ResponseError, match='^ERR blob$'):
        read_bulk(_Socket(b'!8\r\nERR blob\r\n', 3))


def test_read_bulk_loading_is_a_connection_error() -> None:
    # A restarted server loading its data answers LOADING: redis-py's error for
    # it is a ConnectionError, so the connector's retry waits it out.
    with pytest.raises(redis.exceptions.BusyLoadingError, match='^LOADING Redis'):
        read_bulk(_Socket(b'-LOADING Redis is loading the dataset in memory\r\n'))


@pytest.mark.parametrize(
    ('reply', 'step', 'message'),
    [
        (b':12\r\n', 3, 'Invalid reply to GET: b.:12.'),
        (b'$x\r\n', 3, 'Invalid reply to GET: bulk length'),
        (b'$3\r\nabc\r\nextra', 1 << 30, 'unexpected bytes after the value'),
        (b'$3\r\nabcXY', 1 << 30, 'unexpected bytes after the value'),
        (b'$3\r\nabcXY', 3, 'no end of line after the value'),
        (b'$' + b'9' * 20_000, 3, 'no end of line in its first 16384 bytes'),
        (b'$10\r\nabc', 3, 'Connection closed by server'),
        (b'', 3, 'Connection closed by server'),
    ],
)
def test_read_bulk_bad_replies(reply: bytes, step: int, message: str) -> None:
    with pytest.raises(redis.exceptions.ConnectionError, match=message):
        read_bulk(_Socket(reply, step))


def test_read_bulk_socket_errors() -> None:
    class Broken:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def recv_into(self, view: memoryview) -> int:
            raise self.error

    with pytest.raises(redis.exceptions.TimeoutError, match='Timeout reading'):
        read_bulk(Broken(TimeoutError('timed out')))
    with pytest.raises(redis.exceptions.ConnectionError, match='reset'):
        read_bulk(Broken(ConnectionResetError('reset')))


@pytest.fixture
def connector(redis_server: RedisServer) -> Iterator[RedisConnector]:
    with RedisConnector('127.0.0.1', redis_server.port, clear=True) as connector:
        yield connector


@pytest.mark.parametrize('size', [0, 10, 100_000, 5 * 1024 * 1024])
def test_get_is_writable_and_correct(connector: RedisConnector, size: int) -> None:
    value = numpy.random.default_rng(size).bytes(size)
    key = connector.put(value)
    data = connector.get(key)
    assert isinstance(data, bytearray)
    assert data == value
    assert connector.get(RedisKey(connector.prefix + 'missing')) is None


def test_get_of_a_wrong_type_is_a_connector_error(connector: RedisConnector) -> None:
    key = RedisKey(connector.prefix + 'a-list')
    connector._client.rpush(key.redis_key, b'x')
    with pytest.raises(ConnectorError, match='GET failed: WRONGTYPE'):
        connector.get(key)
    # The error reply was read whole: the connection is still in step.
    assert connector.get(connector.put(b'after')) == b'after'
    connector._client.delete(key.redis_key)


def test_store_get_uses_the_received_buffer(connector: RedisConnector) -> None:
    """A numpy array read through a Store is a view of the received bytes.

    Before, redis-py's read-only `bytes` were copied a second time by the
    deserializer so that the array would be writable.
    """
    array = numpy.arange(300_000, dtype='float64')
    with Store('redis-get-copy', connector, cache_size=0, register=False) as store:
        key = store.put(array)
        result = store.get(key)
    assert numpy.array_equal(result, array)
    assert result.flags.writeable
    base = result
    while isinstance(getattr(base, 'base', None), numpy.ndarray | memoryview):
        base = base.base
    owner = base.base if isinstance(base, numpy.ndarray) else base
    assert isinstance(getattr(owner, 'obj', owner), bytearray)


def _failing(error: Exception) -> Any:
    def get(name: str) -> bytearray | None:
        raise error

    return get


@pytest.mark.parametrize(
    'error',
    [
        redis.exceptions.ResponseError('MOVED 866 127.0.0.1:1'),
        redis.exceptions.ResponseError('ASK 866 127.0.0.1:1'),
        redis.exceptions.ConnectionError('node gone'),
        redis.exceptions.TimeoutError('node frozen'),
    ],
)
def test_cluster_get_falls_back_to_the_cluster_client(
    redis_cluster: RedisCluster,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    with RedisConnector(
        '127.0.0.1', redis_cluster.port, cluster=True, clear=True
    ) as connector:
        key = connector.put(b'on a shard')
        monkeypatch.setattr(connector, '_get', _failing(error))
        assert connector.get(key) == b'on a shard'


def test_cluster_get_does_not_retry_refused_credentials(
    redis_cluster: RedisCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RedisConnector(
        '127.0.0.1', redis_cluster.port, cluster=True, clear=True
    ) as connector:
        key = connector.put(b'x')
        refused = redis.exceptions.AuthenticationError('invalid password')
        monkeypatch.setattr(connector, '_get', _failing(refused))
        with pytest.raises(RedisAuthenticationError, match='requires a password'):
            connector.get(key)


@pytest.mark.parametrize(
    ('error', 'expected', 'message'),
    [
        (
            redis.exceptions.ResponseError('MOVED 866 127.0.0.1:1'),
            RedisConnectorError,
            'GET failed: MOVED',
        ),
        (
            redis.exceptions.ConnectionError('connection reset'),
            RedisUnavailableError,
            r'is unavailable \(GET\): connection reset',
        ),
    ],
)
def test_single_server_get_errors_are_not_retried_elsewhere(
    connector: RedisConnector,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    expected: type[Exception],
    message: str,
) -> None:
    key = connector.put(b'x')
    monkeypatch.setattr(connector, '_get', _failing(error))
    with pytest.raises(expected, match=message):
        connector.get(key)
