"""`RedisConnector.wait`: woken by the deferred set (pub/sub), never polling."""

from __future__ import annotations

import pathlib
import threading
import time
from collections.abc import Callable
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.protocols import WaitableConnector
from proxystore.connectors.redis import RedisAuthenticationError
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisUnavailableError
from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import RedisServer
from proxystore.testing.redis import free_port

from .conftest import PASSWORD

LIMIT = 30.0  # seconds any single wait may take in these tests
WOKEN = 5.0  # a woken waiter returns well within this


@pytest.fixture
def connector(redis_server: RedisServer) -> Generator[RedisConnector]:
    with RedisConnector('127.0.0.1', redis_server.port, clear=True) as connector:
        yield connector


@pytest.fixture
def cluster_connector(redis_cluster: RedisCluster) -> Generator[RedisConnector]:
    with RedisConnector(
        '127.0.0.1', redis_cluster.port, clear=True, cluster=True
    ) as connector:
        yield connector


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``call`` in a thread; its result (and return time) lands in the list."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append((call(), time.monotonic())))
    thread.start()
    return thread, out


def test_is_a_waitable_connector(connector: RedisConnector) -> None:
    assert isinstance(connector, WaitableConnector)


def test_existing_missing_and_zero_timeout(connector: RedisConnector) -> None:
    key = connector.put(b'here')
    assert connector.wait(key, None)
    assert connector.wait(key, 0)
    missing = connector.new_key()
    assert not connector.wait(missing, 0)
    start = time.monotonic()
    assert not connector.wait(missing, 0.3)
    assert 0.3 <= time.monotonic() - start < LIMIT


def test_woken_by_a_set_from_another_connector(connector: RedisConnector) -> None:
    other = RedisConnector.from_config(connector.config())  # as in another process
    key = connector.new_key()
    thread, out = _in_thread(lambda: connector.wait(key, LIMIT))
    time.sleep(0.3)
    assert not out  # still waiting
    set_at = time.monotonic()
    other.set(key, b'value')
    thread.join(timeout=LIMIT)
    (woken, at) = out[0]
    assert woken
    assert at - set_at < WOKEN
    assert connector.get(key) == b'value'
    other.close()


def test_no_notification_is_lost_when_the_set_races_the_wait(
    connector: RedisConnector,
) -> None:
    # The set is issued as the wait starts: before, during or after its
    # SUBSCRIBE and EXISTS. Every wait must end with the object found.
    for _ in range(30):
        key = connector.new_key()
        thread, out = _in_thread(lambda key=key: connector.wait(key, LIMIT))
        connector.set(key, b'x')
        thread.join(timeout=LIMIT)
        assert out and out[0][0]


def test_a_set_wakes_every_waiter(connector: RedisConnector) -> None:
    key = connector.new_key()
    with ThreadPoolExecutor(6) as pool:
        waits = [pool.submit(connector.wait, key, LIMIT) for _ in range(6)]
        time.sleep(0.3)
        assert not any(w.done() for w in waits)
        connector.set(key, b'for all')
        assert [w.result(timeout=WOKEN) for w in waits] == [True] * 6


def test_set_publishes_on_the_key_channel(
    connector: RedisConnector, redis_server: RedisServer
) -> None:
    key = connector.new_key()
    with redis_server.client() as client, client.pubsub() as pubsub:
        pubsub.subscribe(f'{key.redis_key}:set')
        assert pubsub.get_message(timeout=LIMIT)['type'] == 'subscribe'  # type: ignore[index]
        connector.set(key, b'x')
        message = pubsub.get_message(timeout=LIMIT)
        assert message is not None and message['type'] == 'message'
        connector.put(b'put publishes nothing')
        connector.new_key(b'neither does new_key')
        assert pubsub.get_message(timeout=0.2) is None


def test_a_small_pool_does_not_starve(redis_server: RedisServer) -> None:
    # The wait holds a connection of its own: the pool's only connection stays
    # free for EXISTS and for the set.
    with RedisConnector(
        '127.0.0.1', redis_server.port, clear=True, max_connections=1
    ) as connector:
        key = connector.new_key()
        thread, out = _in_thread(lambda: connector.wait(key, LIMIT))
        time.sleep(0.3)
        connector.set(key, b'x')
        thread.join(timeout=LIMIT)
        assert out[0][0]


def test_cluster_waits_wake_on_every_shard(cluster_connector: RedisConnector) -> None:
    keys = [cluster_connector.new_key() for _ in range(12)]  # spread over slots
    with ThreadPoolExecutor(len(keys)) as pool:
        waits = [pool.submit(cluster_connector.wait, key, LIMIT) for key in keys]
        time.sleep(0.3)
        assert not any(w.done() for w in waits)
        set_at = time.monotonic()
        for key in keys:
            cluster_connector.set(key, b'c')
        assert [w.result(timeout=LIMIT) for w in waits] == [True] * len(keys)
        assert time.monotonic() - set_at < WOKEN
    missing = cluster_connector.new_key()
    assert not cluster_connector.wait(missing, 0.2)


@pytest.fixture
def restartable(tmp_path: pathlib.Path) -> Generator[RedisServer]:
    with RedisServer(tmp_path / 'restartable') as server:
        yield server


def test_a_wait_survives_a_server_restart(restartable: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', restartable.port)
    key = connector.new_key()
    thread, out = _in_thread(lambda: connector.wait(key, LIMIT))
    time.sleep(0.3)
    restartable.restart()  # the waiter's connection breaks; it reconnects
    other = RedisConnector.from_config(connector.config())
    other.set(key, b'after the restart')
    thread.join(timeout=LIMIT)
    assert out and out[0][0]
    # Pooled connections of the connector are stale too: waits still work.
    later = connector.new_key()
    thread, out = _in_thread(lambda: connector.wait(later, LIMIT))
    time.sleep(0.2)
    other.set(later, b'again')
    thread.join(timeout=LIMIT)
    assert out and out[0][0]
    other.close(clear=True)
    connector.close()


def test_a_server_that_stays_down_ends_the_wait(restartable: RedisServer) -> None:
    connector = RedisConnector('127.0.0.1', restartable.port, socket_connect_timeout=1)
    key = connector.new_key()
    thread, out = _in_thread(lambda: _raised(lambda: connector.wait(key, None)))
    time.sleep(0.3)
    start = time.monotonic()
    restartable.kill()
    thread.join(timeout=LIMIT)
    error = out[0][0]
    assert isinstance(error, RedisUnavailableError)
    assert f'127.0.0.1:{restartable.port} is unavailable (WAIT)' in str(error)
    assert time.monotonic() - start < LIMIT
    connector.close()


def _raised(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as e:
        return e


def test_unreachable_server() -> None:
    connector = RedisConnector('127.0.0.1', free_port(), socket_connect_timeout=1)
    with pytest.raises(RedisUnavailableError, match=r'is unavailable \(WAIT\)'):
        connector.wait(connector.new_key(), 5)
    connector.close()


def test_refused_credentials(password_server: RedisServer) -> None:
    connector = RedisConnector(
        '127.0.0.1', password_server.port, password=PASSWORD + 'x'
    )
    start = time.monotonic()
    with pytest.raises(RedisAuthenticationError, match='refused the credentials'):
        connector.wait(connector.new_key(), LIMIT)
    assert time.monotonic() - start < LIMIT / 2  # not retried until the timeout
    connector.close()
    good = RedisConnector('127.0.0.1', password_server.port, password=PASSWORD)
    key = good.new_key()
    thread, out = _in_thread(lambda: good.wait(key, LIMIT))
    time.sleep(0.2)
    good.set(key, b'authenticated')
    thread.join(timeout=LIMIT)
    assert out[0][0]
    good.close(clear=True)


def test_wait_refuses_another_connectors_key(connector: RedisConnector) -> None:
    from proxystore.connectors.local import LocalKey

    with pytest.raises(TypeError, match='RedisConnector keys are RedisKey'):
        connector.wait(LocalKey('x'), 0)  # type: ignore[arg-type]


def test_server_configuration_is_left_alone(
    connector: RedisConnector, redis_server: RedisServer
) -> None:
    # The server's configuration is left alone (it may be shared).
    with redis_server.client() as client:
        before = client.config_get('notify-keyspace-events')
        key = connector.new_key()
        thread, _ = _in_thread(lambda: connector.wait(key, LIMIT))
        connector.set(key, b'x')
        thread.join(timeout=LIMIT)
        assert client.config_get('notify-keyspace-events') == before
