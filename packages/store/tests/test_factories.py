"""Store factories: resolving, eviction, polling, async resolve, pickling."""

from __future__ import annotations

import pathlib
import pickle
import threading
import time
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import is_resolved
from proxystore.store import PollingStoreFactory
from proxystore.store import Store
from proxystore.store import StoreFactory
from proxystore.store.exceptions import ProxyResolveMissingKeyError


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Generator[Store[Any]]:
    with Store('factories', FileConnector(str(tmp_path)), register=True) as store:
        yield store


def test_factory_resolves_and_evicts(store: Store[Any]) -> None:
    key = store.put([1, 2])
    factory: StoreFactory[Any, Any] = StoreFactory(key, store.config(), evict=True)
    assert factory() == [1, 2]
    assert not store.exists(key)
    with pytest.raises(ProxyResolveMissingKeyError):
        factory()


def test_factory_attributes_and_state(store: Store[Any]) -> None:
    key = store.put('x')
    factory: StoreFactory[Any, Any] = StoreFactory(key, store.config())
    assert factory.key == key
    assert factory.store_config.name == 'factories'
    assert not factory.evict
    assert factory.deserializer is None
    copy = pickle.loads(pickle.dumps(factory))
    assert copy.key == key
    assert type(copy.key) is type(key)
    assert copy() == 'x'
    state = factory.__getstate__()
    assert state['_obj_future'] is None
    assert 'factories' in repr(StoreFactory) or 'StoreFactory' in repr(factory)


def test_factory_recreates_its_store_by_config(store: Store[Any]) -> None:
    key = store.put('x')
    revived = pickle.loads(pickle.dumps(StoreFactory(key, store.config())))
    assert revived.get_store() is store  # the registered store of the name


def test_resolve_async_overlaps(store: Store[Any]) -> None:
    proxy = store.proxy(list(range(100)), populate_target=False)
    factory = proxy.__proxy_factory__
    factory.resolve_async()
    assert factory._obj_future is not None
    assert sum(proxy) == 4950
    assert factory._obj_future is None


def test_polling_factory_waits_for_the_object(store: Store[Any]) -> None:
    key = store.connector.new_key()
    factory: PollingStoreFactory[Any, Any] = PollingStoreFactory(
        key,
        store.config(),
        polling_interval=0.01,
        polling_backoff_factor=2,
        polling_interval_limit=0.05,
        polling_timeout=10,
    )
    setter = threading.Timer(0.1, store._set, args=(key, 'late'))
    setter.start()
    start = time.monotonic()
    assert factory() == 'late'
    assert time.monotonic() - start < 5
    setter.join(timeout=10)
    assert pickle.loads(pickle.dumps(factory)).polling_timeout == 10


def test_polling_factory_times_out(store: Store[Any]) -> None:
    key = store.connector.new_key()
    factory: PollingStoreFactory[Any, Any] = PollingStoreFactory(
        key,
        store.config(),
        polling_interval=0.01,
        polling_timeout=0.1,
    )
    start = time.monotonic()
    with pytest.raises(ProxyResolveMissingKeyError):
        factory()
    assert time.monotonic() - start < 2
    with pytest.raises(ProxyResolveError) as exc:
        len(Proxy(factory))
    assert isinstance(exc.value.cause, ProxyResolveMissingKeyError)


@pytest.mark.parametrize(
    'options',
    [
        {'polling_interval': 0},
        {'polling_backoff_factor': -1},
        {'polling_interval_limit': 0},
        {'polling_timeout': 0},
    ],
)
def test_polling_factory_rejects_bad_settings(
    store: Store[Any],
    options: dict[str, float],
) -> None:
    with pytest.raises(ValueError, match='must be > 0'):
        PollingStoreFactory(store.put(1), store.config(), **options)


def test_proxy_resolves_in_the_same_process_without_registration(
    tmp_path: pathlib.Path,
) -> None:
    with Store('unregistered', FileConnector(str(tmp_path))) as store:
        proxy = store.proxy('x', populate_target=False)
        assert proxy == 'x'  # the factory remembers its store


def test_unpickled_proxy_of_an_unregistered_store_recreates_it(
    tmp_path: pathlib.Path,
) -> None:
    from proxystore.store import get_store
    from proxystore.store import unregister_store

    with Store('lonely', FileConnector(str(tmp_path), clear=False)) as store:
        data = pickle.dumps(store.proxy('x', populate_target=False))
    copy = pickle.loads(data)
    try:
        assert copy == 'x'
        assert get_store('lonely') is not None
    finally:
        recreated = get_store('lonely')
        unregister_store('lonely')
        if recreated is not None:
            recreated.close()


def test_dask_tokenizes_a_store_proxy_by_its_key_without_resolving(
    store: Store[Any],
) -> None:
    from dask.base import tokenize

    proxy = store.proxy([1, 2, 3])
    first, second = (pickle.loads(pickle.dumps(proxy)) for _ in range(2))
    other = pickle.loads(pickle.dumps(store.proxy([1, 2, 3])))
    assert tokenize(first) == tokenize(second) != tokenize(other)
    assert not any(is_resolved(p) for p in (first, second, other))


def test_with_evict_copies_the_factory_bound_to_its_store(store: Store[Any]) -> None:
    proxy = store.proxy([1, 2], evict=True, populate_target=False)
    factory = proxy.__proxy_factory__
    keeper = factory.with_evict(False)
    assert factory.evict and not keeper.evict and keeper.key == factory.key
    assert keeper.get_store() is store
    assert keeper() == [1, 2] and store.exists(keeper.key)
