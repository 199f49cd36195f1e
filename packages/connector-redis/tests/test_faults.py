"""Faults: servers killed mid-operation, restarts, bad credentials, limits."""

from __future__ import annotations

import pathlib
import signal
import time
from collections.abc import Callable
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.redis import RedisAuthenticationError
from proxystore.connectors.redis import RedisConfigurationError
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisUnavailableError
from proxystore.connectors.redis import RedisValueTooLargeError
from proxystore.store import Store
from proxystore.testing.redis import RedisServer
from proxystore.testing.redis import free_port

BIG = 256 * 1024 * 1024
LIMIT = 30.0  # seconds an operation may take to fail


@pytest.fixture
def durable(tmp_path: pathlib.Path) -> Generator[RedisServer]:
    """A server that persists every acknowledged write (appendfsync always)."""
    with RedisServer(tmp_path / 'durable', appendonly=True) as server:
        yield server


def _fails_when_killed(server: RedisServer, operation: Callable[[], Any]) -> float:
    """Freeze the server, start the operation, kill the server: time to fail."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    with ThreadPoolExecutor(1) as pool:
        try:
            future = pool.submit(operation)
            time.sleep(0.3)
            assert not future.done()  # in flight: the frozen server does not answer
            start = time.monotonic()
        finally:
            # Whatever failed above, the operation must end before the pool waits.
            server.kill()
        with pytest.raises(RedisUnavailableError, match='is unavailable'):
            future.result(timeout=LIMIT)
        return time.monotonic() - start


def _acknowledged(connector: RedisConnector) -> dict[Any, bytes]:
    return {connector.put(f'ack-{i}'.encode()): f'ack-{i}'.encode() for i in range(20)}


def _survives_restart(
    server: RedisServer,
    connector: RedisConnector,
    acknowledged: dict[Any, bytes],
) -> None:
    server.start()
    for key, value in acknowledged.items():  # nothing acknowledged is lost
        assert connector.get(key) == value
    key = connector.put(b'after the restart')  # the same connector works again
    assert connector.get(key) == b'after the restart'
    large = b'L' * (1024 * 1024)  # the frame-by-frame path reconnects as well
    assert connector.get(connector.put(large)) == large


def test_killed_during_a_put(durable: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', durable.port)
    acknowledged = _acknowledged(connector)
    elapsed = _fails_when_killed(durable, lambda: connector.put(b'x' * BIG))
    assert elapsed < LIMIT
    _survives_restart(durable, connector, acknowledged)
    connector.close(clear=True)


def test_killed_during_a_get(durable: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', durable.port)
    big = connector.put(b'y' * (32 * 1024 * 1024))
    acknowledged = _acknowledged(connector)
    _fails_when_killed(durable, lambda: connector.get(big))
    _survives_restart(durable, connector, acknowledged)
    assert connector.get(big) == b'y' * (32 * 1024 * 1024)
    connector.close(clear=True)


def test_killed_during_a_batch(durable: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', durable.port)
    acknowledged = _acknowledged(connector)
    batch = [b'z' * 1024] * 5000
    _fails_when_killed(durable, lambda: connector.put_batch(batch))
    _survives_restart(durable, connector, acknowledged)
    connector.close(clear=True)


def test_store_errors_after_a_kill_then_recovers(durable: RedisServer) -> None:
    with Store(
        'faults', RedisConnector('127.0.0.1', durable.port, clear=True)
    ) as store:
        key = store.put([1, 2, 3])
        durable.kill()
        with pytest.raises(RedisUnavailableError):
            store.get(key)
        durable.start()
        assert store.get(key) == [1, 2, 3]


def test_wrong_password(password_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', password_server.port, password='wrong')
    with pytest.raises(RedisAuthenticationError, match='refused the credentials'):
        connector.put(b'x')
    connector.close()


def test_missing_password(password_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', password_server.port)
    with pytest.raises(
        RedisAuthenticationError, match='requires a password and none was given'
    ):
        connector.exists(connector.new_key())
    connector.close()


def test_database_out_of_range(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port, db=99)
    with pytest.raises(RedisConfigurationError, match='has no database 99'):
        connector.put(b'x')
    connector.close()


def test_unreachable_server() -> None:
    port = free_port()  # nothing listens there
    connector = RedisConnector('127.0.0.1', port)
    start = time.monotonic()
    with pytest.raises(
        RedisUnavailableError, match=f'Redis at 127.0.0.1:{port} is unavailable'
    ):
        connector.get(connector.new_key())
    assert time.monotonic() - start < 5
    connector.close()


def test_value_larger_than_the_server_accepts(tmp_path: pathlib.Path) -> None:
    with RedisServer(
        tmp_path / 'small', extra=['--proto-max-bulk-len', '1mb']
    ) as server:
        connector = RedisConnector('127.0.0.1', server.port)
        too_large = b'x' * (2 * 1024 * 1024)
        with pytest.raises(
            RedisValueTooLargeError, match=r'proto-max-bulk-len is 1048576'
        ):
            connector.put(too_large)
        with pytest.raises(RedisValueTooLargeError, match='2097152 bytes'):
            connector.put_batch([b'fits', too_large])
        assert connector.get(connector.put(b'small')) == b'small'  # still usable
        connector.close(clear=True)


def test_a_frozen_server_times_out(redis_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', redis_server.port, socket_timeout=0.5)
    key = connector.put(b'before')
    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(RedisUnavailableError, match='is unavailable'):
            connector.get(key)
        assert time.monotonic() - start < LIMIT
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    assert connector.get(key) == b'before'
    connector.close(clear=True)


def _keys_under(server: RedisServer, prefix: str) -> list[bytes]:
    with server.client() as client:
        return list(client.scan_iter(match=prefix + '*', count=1000))


@pytest.fixture
def small_server(tmp_path: pathlib.Path) -> Generator[RedisServer]:
    """A server that refuses values over 1 MiB (proto-max-bulk-len)."""
    with RedisServer(
        tmp_path / 'small', extra=['--proto-max-bulk-len', '1mb']
    ) as server:
        yield server


def test_a_failed_batch_leaves_nothing(small_server: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', small_server.port)
    too_large = b'x' * (2 * 1024 * 1024)
    framed = b'f' * (256 * 1024)  # stored on its own, before the failing one
    with pytest.raises(RedisValueTooLargeError, match='2097152 bytes'):
        connector.put_batch([b'fits', b'fits too', too_large, b'after'])
    assert _keys_under(small_server, connector.prefix) == []
    with pytest.raises(RedisValueTooLargeError, match='2097152 bytes'):
        connector.put_frames_batch([[b'small'], [framed], [too_large], [b'end']])
    assert _keys_under(small_server, connector.prefix) == []
    keys = connector.put_batch([b'a', b'b'])  # still usable
    assert connector.get_batch(keys) == [b'a', b'b']
    connector.close(clear=True)


@pytest.mark.parametrize('secret', [None, b'a secret of 16 bytes or more'])
def test_a_failed_store_batch_leaves_nothing(
    small_server: RedisServer,
    secret: bytes | None,
) -> None:
    connector = RedisConnector('127.0.0.1', small_server.port)
    with Store(f'batch-{secret is None}', connector, secret=secret) as store:
        with pytest.raises(RedisValueTooLargeError, match='larger than'):
            store.put_batch([b'one', b'f' * (256 * 1024), b'x' * (2 << 20), b'end'])
        assert _keys_under(small_server, connector.prefix) == []
        keys = store.put_batch([b'one', b'two'])
        assert [store.get(k) for k in keys] == [b'one', b'two']
    connector.close(clear=True)
