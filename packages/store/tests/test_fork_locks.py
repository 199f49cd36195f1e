"""Locks held by another thread when the process forks do not deadlock the child.

A thread holds one of the store package's locks, the main thread forks, and the
child does an operation that takes that lock; a child still blocked after the
bound is killed and fails the test (`ChildHungError`).
"""

from __future__ import annotations

import os
import pathlib
import threading
from collections.abc import Callable
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors import _owner
from proxystore.connectors.local import LocalConnector
from proxystore.serialize import _serializers
from proxystore.serialize import buffers
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.store import Store
from proxystore.store import _registry
from proxystore.store import keyring
from proxystore.store.lifetimes import StaticLifetime
from proxystore.testing.fork import ChildHungError
from proxystore.testing.fork import held_by_a_thread
from proxystore.testing.fork import run_in_fork

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    # Python 3.12+ warns about forking a process that has threads; that is the point.
    pytest.mark.filterwarnings('ignore::DeprecationWarning'),
]

TIMEOUT = 10.0


def _holding(lock: Any, body: Callable[[], None]) -> None:
    """Run ``body`` while another thread holds ``lock``."""
    with held_by_a_thread(lock, TIMEOUT):
        body()


@pytest.fixture
def store() -> Generator[Store[LocalConnector]]:
    with Store('fork-locks', LocalConnector(), metrics=True) as store:
        yield store


def test_the_bound_catches_a_deadlock() -> None:
    lock = threading.Lock()  # a lock nobody re-makes after fork
    with pytest.raises(ChildHungError, match='did not finish within 1 s'):
        _holding(lock, lambda: run_in_fork(lambda: lock.acquire(), timeout=1))


def test_registry_lock(store: Store[LocalConnector]) -> None:
    def child() -> None:
        _registry.register_store(store, exist_ok=True)
        assert _registry.is_registered(store)

    _holding(_registry._stores_lock, lambda: run_in_fork(child, TIMEOUT))


def test_keyring_lock() -> None:
    def child() -> None:
        ident = keyring.add_secret(b'a secret of 16 bytes or more')
        assert keyring.find_secret(ident) == b'a secret of 16 bytes or more'

    _holding(keyring._lock, lambda: run_in_fork(child, TIMEOUT))


def test_serializer_registry_lock() -> None:
    def child() -> None:
        _serializers.unregister_serializer(b'zz')  # takes the lock
        assert deserialize(serialize([1, 2])) == [1, 2]

    _holding(_serializers._lock, lambda: run_in_fork(child, TIMEOUT))


def test_store_cache_lock(store: Store[LocalConnector]) -> None:
    key = store.put('cached')
    assert store.get(key) == 'cached'

    def child() -> None:
        assert store.get(key) == 'cached'
        store.evict(key)  # evicts from the cache too

    _holding(store.cache._lock, lambda: run_in_fork(child, TIMEOUT))


def test_store_metrics_lock(store: Store[LocalConnector]) -> None:
    assert store.metrics is not None

    def child() -> None:
        store.put('measured')

    _holding(store.metrics._lock, lambda: run_in_fork(child, TIMEOUT))


def test_static_lifetime_lock() -> None:
    _holding(
        StaticLifetime._instance_lock,
        lambda: run_in_fork(StaticLifetime, TIMEOUT),
    )


def test_folder_owner_lock(tmp_path: pathlib.Path) -> None:
    def child() -> None:
        owner = object()
        _owner.own_until_exit(owner, -1, lambda: None)
        _owner.disown(owner)

    _holding(_owner._owned_lock, lambda: run_in_fork(child, TIMEOUT))


def test_local_connector_condition() -> None:
    connector = LocalConnector()
    key = connector.put(b'before the fork')

    def child() -> None:
        assert connector.wait(key, timeout=0)  # takes the condition
        other = connector.new_key()
        connector.set(other, b'from the child')  # takes it and notifies
        assert connector.wait(other, timeout=1)
        assert connector.get(other) == b'from the child'

    _holding(connector._stored, lambda: run_in_fork(child, TIMEOUT))


def test_receive_buffer_pool_lock() -> None:
    def child() -> None:
        buffer = buffers.allocate(2 * buffers.POOL_FROM)  # takes the lock
        assert len(memoryview(buffer)) == 2 * buffers.POOL_FROM
        del buffer  # gives it back to the pool: takes the lock again

    _holding(buffers._pool._lock, lambda: run_in_fork(child, TIMEOUT))
