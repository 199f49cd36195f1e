"""The Redis password stays in its process: configs and proxies carry its id."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
import urllib.parse
import warnings

import pytest

from proxystore.connectors.protocols import NetworkConnector
from proxystore.connectors.protocols import is_network_channel
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisCredentialError
from proxystore.connectors.redis._credentials import PASSWORD_ENV
from proxystore.connectors.redis._credentials import split_url_password
from proxystore.store import Store
from proxystore.store.exceptions import UnauthenticatedChannelWarning
from proxystore.store.keyring import SECRET_ENV
from proxystore.store.keyring import credential_id
from proxystore.testing.redis import RedisServer

from .conftest import PASSWORD

STORE_SECRET = 'redis-credential-tests-store-secret'

RESOLVE = """\
import pickle, sys
from proxystore.proxy import ProxyResolveError
proxy = pickle.loads(sys.stdin.buffer.read())
try:
    print(sum(proxy))
except ProxyResolveError as e:
    print(type(e.cause).__name__, e.cause)
"""


def _resolve_elsewhere(data: bytes, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in (PASSWORD_ENV, SECRET_ENV)}
    done = subprocess.run(
        [sys.executable, '-c', RESOLVE],
        input=data,
        capture_output=True,
        timeout=60,
        check=True,
        env={**base, **env},
    )
    return done.stdout.decode().strip()


def test_config_carries_the_password_id_not_the_password() -> None:
    connector = RedisConnector('h', 1, password='p4ssword-of-the-test')
    config = connector.config()
    assert 'password' not in config
    assert config['password_id'] == credential_id('p4ssword-of-the-test')
    assert 'p4ssword' not in repr(config)
    assert connector.password == 'p4ssword-of-the-test'  # still there, as in 1.x


def test_pickled_proxy_has_no_password_and_resolves_in_another_process(
    password_server: RedisServer,
) -> None:
    connector = RedisConnector(
        '127.0.0.1', password_server.port, password=PASSWORD, clear=True
    )
    with Store('credentials', connector, secret=STORE_SECRET) as store:
        proxy = store.proxy([1, 2, 3], populate_target=False)
        data = pickle.dumps(proxy)
        assert PASSWORD.encode() not in data
        assert PASSWORD not in store.config().model_dump_json()
        secret = {SECRET_ENV: STORE_SECRET}
        assert _resolve_elsewhere(data, **secret, **{PASSWORD_ENV: PASSWORD}) == '6'
        missing = _resolve_elsewhere(data, **secret)
        assert missing.startswith('RedisCredentialError The Redis connector')
        assert PASSWORD_ENV in missing
        assert f'(id {credential_id(PASSWORD)})' in missing
        wrong = _resolve_elsewhere(data, **secret, **{PASSWORD_ENV: 'not-it'})
        assert wrong.startswith('RedisCredentialError')


def _total(proxy: list[int]) -> int:
    return sum(proxy)


@pytest.mark.filterwarnings('ignore::DeprecationWarning')  # fork + threads
def test_forked_process_inherits_the_password(password_server: RedisServer) -> None:
    connector = RedisConnector(
        '127.0.0.1', password_server.port, password=PASSWORD, clear=True
    )
    with Store('forked', connector, secret=STORE_SECRET, register=True) as store:
        proxy = store.proxy([4, 5], populate_target=False)
        context = multiprocessing.get_context('fork')
        with context.Pool(1) as pool:
            assert pool.apply_async(_total, (proxy,)).get(timeout=60) == 9


def test_1x_config_with_the_password_still_works(password_server: RedisServer) -> None:
    old = {
        'hostname': '127.0.0.1',
        'port': password_server.port,
        'password': PASSWORD,
        'prefix': 'old-config:',
    }
    with RedisConnector.from_config(old) as connector:
        key = connector.put(b'1.x')
        assert connector.get(key) == b'1.x'
        connector.evict(key)
        assert 'password' not in connector.config()
        assert connector.config()['password_id'] == credential_id(PASSWORD)


def test_password_in_the_url_is_moved_out_of_the_config(
    password_server: RedisServer,
) -> None:
    quoted = urllib.parse.quote(PASSWORD)
    for url in (
        f'redis://:{quoted}@127.0.0.1:{password_server.port}/0',
        f'redis://default:{quoted}@127.0.0.1:{password_server.port}/0',
        f'redis://127.0.0.1:{password_server.port}/0?password={quoted}',
    ):
        with RedisConnector(url=url) as connector:
            config = connector.config()
            assert PASSWORD not in repr(config)
            assert config['password_id'] == credential_id(PASSWORD)
            key = connector.put(b'url')
            copy = RedisConnector.from_config(config)
            assert copy.get(key) == b'url'
            copy.evict(key)
            copy.close()


def test_split_url_password_keeps_the_rest() -> None:
    assert split_url_password('redis://h:1/0') == ('redis://h:1/0', None)
    assert split_url_password('redis://u:p%40ss@h:1/2') == ('redis://u@h:1/2', 'p@ss')
    assert split_url_password('rediss://:p@h:1/0?ssl_cert_reqs=none') == (
        'rediss://h:1/0?ssl_cert_reqs=none',
        'p',
    )
    with pytest.raises(ValueError, match='two different passwords'):
        split_url_password('redis://:a@h:1/0?password=b')


def test_two_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match='password= gives another one'):
        RedisConnector(url='redis://:one@h:1/0', password='two')


def test_config_whose_password_does_not_match_its_id_is_refused() -> None:
    config = RedisConnector('h', 1, password='right-one').config()
    with pytest.raises(ValueError, match='whose id is not its password_id'):
        RedisConnector.from_config({**config, 'password': 'wrong-one'})
    with pytest.raises(ValueError, match='password_id must be a string, not int'):
        RedisConnector.from_config({**config, 'password_id': 5})


def test_unknown_password_id_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    config = {'hostname': 'h', 'port': 1, 'password_id': '0123456789abcdef'}
    with pytest.raises(RedisCredentialError, match=PASSWORD_ENV) as info:
        RedisConnector.from_config(config)
    assert isinstance(info.value, LookupError)


def test_redis_is_a_network_channel(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port, clear=True)
    assert is_network_channel(connector)
    assert isinstance(connector, NetworkConnector)
    with Store('unauthenticated-redis', connector) as store:
        key = store.put([1])
        store.cache.clear()

        def read_twice() -> list[object]:
            first = store.get(key)
            store.cache.clear()
            return [first, store.get(key)]

        with pytest.warns(UnauthenticatedChannelWarning) as record:
            values = read_twice()
        assert values == [[1], [1]]
        assert len(record) == 1
        assert 'read from RedisConnector, a network channel' in str(record[0].message)
    with Store(
        'authenticated-redis',
        connector.from_config({**connector.config(), 'clear': True}),
        secret=STORE_SECRET,
    ) as store:
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            assert store.get(store.put([2])) == [2]
