"""Lifetimes evict their objects together."""

from __future__ import annotations

import datetime
import pathlib
import time
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.lifetimes import ContextLifetime
from proxystore.store.lifetimes import LeaseLifetime
from proxystore.store.lifetimes import Lifetime
from proxystore.store.lifetimes import StaticLifetime
from proxystore.store.utils import get_key


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Generator[Store[Any]]:
    with Store('lifetimes', FileConnector(str(tmp_path))) as store:
        yield store


def _wait_until(condition: Any, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_context_lifetime(store: Store[Any]) -> None:
    with ContextLifetime(store, name='ctx') as lifetime:
        assert isinstance(lifetime, Lifetime)
        key = store.put(1, lifetime=lifetime)
        keys = store.put_batch([2, 3], lifetime=lifetime)
        proxy = store.proxy(4, lifetime=lifetime)
        proxies = store.proxy_batch([5, 6], lifetime=lifetime)
        assert "name='ctx'" in repr(lifetime)
        assert not lifetime.done()
    assert lifetime.done()
    for k in [key, *keys, get_key(proxy), *(get_key(p) for p in proxies)]:
        assert not store.exists(k)
    lifetime.close()  # idempotent
    with pytest.raises(RuntimeError, match='Lifetime has ended'):
        lifetime.add_key(key)


def test_context_lifetime_refuses_other_stores(
    store: Store[Any],
    tmp_path: pathlib.Path,
) -> None:
    with Store('other', FileConnector(str(tmp_path / 'o'))) as other:
        lifetime = ContextLifetime(store)
        with pytest.raises(ValueError, match='holds keys of store "lifetimes" only'):
            lifetime.add_key(other.put(1), store=other)
        with pytest.raises(ValueError, match='belongs to store "other"'):
            lifetime.add_proxy(other.proxy(1))
        with pytest.raises(ProxyStoreFactoryError):
            lifetime.add_proxy(Proxy(lambda: 1))
        lifetime.close()


def test_context_lifetime_can_close_its_store(store: Store[Any]) -> None:
    lifetime = ContextLifetime(store)
    store.put(1, lifetime=lifetime)
    lifetime.close(close_stores=True)
    assert store.closed


def test_lease_expires(store: Store[Any]) -> None:
    lease = LeaseLifetime(store, expiry=0.2)
    key = store.put(1, lifetime=lease)
    assert store.exists(key)
    assert _wait_until(lease.done)
    assert not store.exists(key)


def test_lease_extend(store: Store[Any]) -> None:
    lease = LeaseLifetime(store, expiry=datetime.timedelta(seconds=0.2))
    key = store.put(1, lifetime=lease)
    lease.extend(60)  # far beyond the first expiry, whatever the machine's load
    time.sleep(0.3)  # the first expiry passes; the extension holds
    assert not lease.done()
    assert store.exists(key)
    lease.extend(datetime.datetime.now() + datetime.timedelta(seconds=0.1))
    assert _wait_until(lease.done)
    assert not store.exists(key)
    with pytest.raises(RuntimeError, match='Lifetime has ended'):
        lease.extend(1)


def test_lease_in_the_past(store: Store[Any]) -> None:
    with pytest.raises(ValueError, match='in the past'):
        LeaseLifetime(store, expiry=datetime.datetime(2000, 1, 1))


def test_lease_closed_early(store: Store[Any]) -> None:
    lease = LeaseLifetime(store, expiry=60)
    key = store.put(1, lifetime=lease)
    lease.close()
    assert not store.exists(key)


def test_static_lifetime_is_a_singleton(store: Store[Any]) -> None:
    static = StaticLifetime()
    assert static is StaticLifetime()
    assert "name='static'" in repr(static)
    with pytest.raises(ValueError, match='requires the store= argument'):
        static.add_key(('k',))
    key = store.put(1, lifetime=static)
    assert store.exists(key)
    static._keys.pop(store, None)  # leave the process-wide lifetime clean
