"""Connector options: 1.x signature, namespaces, TTL, databases, URLs, TLS, config."""

from __future__ import annotations

import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
import pytest
import redis

from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisKey
from proxystore.connectors.redis import RedisUnavailableError
from proxystore.store import Store
from proxystore.testing.redis import RedisServer
from proxystore.testing.redis import TLSTerminator


def _wait_until(condition: Any, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_1x_positional_signature_and_key(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port, True)
    key = connector.put(b'x')
    assert isinstance(key, RedisKey)
    assert key.redis_key.startswith(connector.prefix)
    assert connector.clear
    connector.close()
    assert not connector.exists(key)


def test_clear_deletes_only_its_namespace(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    raw.set('someone-else:data', b'keep me')
    first = RedisConnector('127.0.0.1', redis_server.port)
    second = RedisConnector('127.0.0.1', redis_server.port)
    assert first.prefix != second.prefix
    mine = [first.put(b'1') for _ in range(2500)]  # more than one SCAN batch
    theirs = second.put(b'2')
    first.close(clear=True)
    assert not any(second.exists(k) for k in mine[:10])
    assert raw.exists(mine[-1].redis_key) == 0
    assert second.get(theirs) == b'2'
    assert raw.get('someone-else:data') == b'keep me'
    second.close(clear=True)
    raw.delete('someone-else:data')
    raw.close()


def test_custom_prefix_is_shared_by_copies(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port, prefix='app:')
    copy = RedisConnector.from_config(connector.config())
    key = copy.put(b'from the copy')
    assert key.redis_key.startswith('app:')
    assert connector.get(key) == b'from the copy'
    assert not copy.clear  # copies made from a config never clear
    copy.close()
    connector.close(clear=True)


@pytest.mark.parametrize('prefix', ['app:', 'a*', 'b?[x]\\'])
def test_clear_spares_namespaces_that_extend_the_prefix(
    redis_server: RedisServer, prefix: str
) -> None:
    mine = RedisConnector('127.0.0.1', redis_server.port, prefix=prefix)
    longer = RedisConnector('127.0.0.1', redis_server.port, prefix=prefix + 'x:')
    raw = redis_server.client()
    # Names the prefix's glob characters would match, and a name of the
    # same length as a key of this connector that is not of its shape.
    bystanders = [prefix[0] + 'z' * 20, prefix[0] + 'z' * 12, prefix + 'a:b:c:d:e:f']
    for name in bystanders:
        raw.set(name, b'keep')
    kept = longer.put(b'longer')
    gone = mine.put(b'mine')
    mine.close(clear=True)
    assert not raw.exists(gone.redis_key)
    assert longer.get(kept) == b'longer'
    assert [raw.get(name) for name in bystanders] == [b'keep'] * 3
    raw.delete(*bystanders)
    raw.close()
    longer.close(clear=True)


def test_ttl(redis_server: RedisServer) -> None:
    with RedisConnector('127.0.0.1', redis_server.port, ttl=1) as connector:
        small = connector.put(b'x')
        large = connector.put(b'y' * 200_000)  # the frame-by-frame path
        key = connector.new_key(b'z')
        raw = redis_server.client()
        assert all(
            0 < raw.pttl(k.redis_key) <= 1000 or not raw.exists(k.redis_key)
            for k in (small, large, key)
        )
        raw.close()
        assert _wait_until(
            lambda: not any(connector.exists(k) for k in (small, large, key)),
        )


def test_database_number(redis_server: RedisServer) -> None:
    with RedisConnector('127.0.0.1', redis_server.port, db=3, clear=True) as connector:
        key = connector.put(b'in db 3')
        raw = redis_server.client(db=3)
        assert raw.get(key.redis_key) == b'in db 3'
        raw.close()
        default = redis_server.client()
        assert default.get(key.redis_key) is None
        default.close()


def test_pool_size(redis_server: RedisServer) -> None:
    with RedisConnector(
        '127.0.0.1', redis_server.port, max_connections=1, clear=True
    ) as connector:
        assert connector._client.connection_pool.max_connections == 1

        def work(i: int) -> bool:  # eight threads share the one connection
            small = connector.put(b'x' * i)
            large = connector.put(b'y' * 100_000)
            return connector.get_batch([small, large]) == [b'x' * i, b'y' * 100_000]

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(work, range(40), timeout=60))


def test_urls(
    redis_server: RedisServer, unix_server: RedisServer, tls_endpoint: TLSTerminator
) -> None:
    urls = [
        f'redis://127.0.0.1:{redis_server.port}/2',
        f'unix://{unix_server.unix_socket}',
        f'rediss://127.0.0.1:{tls_endpoint.port}',
    ]
    for url in urls:
        options: dict[str, Any] = {'url': url, 'clear': True}
        if url.startswith('rediss'):
            options['ssl_ca_certs'] = str(tls_endpoint.ca_file)
        with RedisConnector(**options) as connector:
            assert connector.get(connector.put(b'u')) == b'u'
            copy = RedisConnector.from_config(connector.config())
            assert copy.url == url


def test_mutual_tls(mtls_endpoint: TLSTerminator) -> None:
    with RedisConnector(
        '127.0.0.1',
        mtls_endpoint.port,
        clear=True,
        ssl=True,
        ssl_ca_certs=str(mtls_endpoint.ca_file),
        ssl_certfile=str(mtls_endpoint.client_cert_file),
        ssl_keyfile=str(mtls_endpoint.client_key_file),
    ) as connector:
        assert connector.get(connector.put(b'mtls')) == b'mtls'
    refused = RedisConnector(
        '127.0.0.1',
        mtls_endpoint.port,
        ssl=True,
        ssl_ca_certs=str(mtls_endpoint.ca_file),
    )
    with pytest.raises(RedisUnavailableError, match='is unavailable'):
        refused.put(b'no client certificate')
    refused.close()


def test_tls_with_an_unknown_authority(tls_endpoint: TLSTerminator) -> None:
    connector = RedisConnector('127.0.0.1', tls_endpoint.port, ssl=True)
    with pytest.raises(
        RedisUnavailableError, match='CERTIFICATE_VERIFY_FAILED|certificate'
    ):
        connector.get(RedisKey('ps:x:y'))
    connector.close()


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({}, 'one way'),
        ({'hostname': 'h'}, 'one way'),
        ({'hostname': 'h', 'port': 1, 'url': 'redis://h'}, 'one way'),
        ({'hostname': 'h', 'port': 1, 'db': -1}, 'db must be 0 or more'),
        ({'hostname': 'h', 'port': 1, 'ttl': 0}, 'ttl must be positive'),
        ({'hostname': 'h', 'port': 1, 'max_connections': 0}, 'max_connections'),
        ({'hostname': 'h', 'port': 1, 'prefix': ''}, 'prefix must not be empty'),
        ({'hostname': 'h', 'port': 1, 'cluster': True, 'db': 1}, 'only db 0'),
        ({'hostname': 'h', 'port': 1, 'ssl_cert_reqs': 'maybe'}, 'ssl_cert_reqs'),
        ({'unix_socket_path': '/s', 'ssl': True}, 'not available over a unix'),
        ({'url': 'redis://h:1', 'ssl': True}, r'needs a rediss:// URL, not redis://'),
    ],
)
def test_invalid_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisConnector(**options)


def test_config_round_trip_and_defaults(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port, password=None, ttl=5)
    config = connector.config()
    assert config == {
        'prefix': connector.prefix,
        'hostname': '127.0.0.1',
        'port': redis_server.port,
        'ttl': 5,
    }
    copy = RedisConnector.from_config(config)
    assert copy.ttl == 5
    assert repr(copy).startswith('RedisConnector(Redis at 127.0.0.1:')
    connector.close()
    copy.close()


def test_frames_reach_the_socket_unjoined(redis_server: RedisServer) -> None:
    array = numpy.random.default_rng(0).random(2_000_000)
    with Store(
        'frames', RedisConnector('127.0.0.1', redis_server.port, clear=True)
    ) as store:
        key = store.put(array)
        numpy.testing.assert_array_equal(store.get(key), array)
        raw = redis_server.client()
        assert raw.strlen(key.redis_key) > array.nbytes  # one value, all frames
        raw.close()


def test_pickled_redis_proxy_is_small(redis_server: RedisServer) -> None:
    with Store(
        'demo', RedisConnector('localhost', redis_server.port), register=True
    ) as store:
        proxy = store.proxy(numpy.arange(10))
        assert len(pickle.dumps(proxy)) <= 256
        assert pickle.loads(pickle.dumps(proxy)).sum() == 45
        store.connector.close(clear=True)


def test_hiredis_is_used() -> None:
    pytest.importorskip('hiredis', reason='the hiredis extra is not installed')
    assert redis.utils.HIREDIS_AVAILABLE
