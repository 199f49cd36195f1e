"""The Store API: every method, its options and its errors."""

from __future__ import annotations

import pathlib
import pickle
import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyLocker
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import is_resolved
from proxystore.serialize import AuthenticationError
from proxystore.serialize import SerializationError
from proxystore.serialize import UnknownSerializerError
from proxystore.store import Store
from proxystore.store import store_registration
from proxystore.store.exceptions import NonProxiableTypeError
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.store.exceptions import StoreClosedError
from proxystore.store.exceptions import StoreExistsError
from proxystore.store.utils import get_key
from proxystore.store.utils import resolve_async


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Generator[Store[Any]]:
    with Store('test', FileConnector(str(tmp_path / 'data')), cache_size=4) as store:
        yield store


def upper_serializer(obj: str) -> bytes:
    return obj.upper().encode()


def lower_deserializer(data: Any) -> str:
    return bytes(data).decode().lower()


def test_put_get_exists_evict(store: Store[Any]) -> None:
    key = store.put({'a': [1, 2]})
    assert store.exists(key)
    assert store.get(key) == {'a': [1, 2]}
    store.evict(key)
    assert not store.exists(key)
    assert store.get(key) is None
    assert store.get(key, default='missing') == 'missing'
    store.evict(key)


def test_batches(store: Store[Any]) -> None:
    keys = store.put_batch([1, 'two', [3]])
    assert store.get_batch(keys) == [1, 'two', [3]]
    store.evict_batch(keys[:2])
    assert store.get_batch(keys, default=0) == [0, 0, [3]]


def test_cache_hits_and_evictions(store: Store[Any]) -> None:
    key = store.put([1])
    assert not store.is_cached(key)
    first = store.get(key)
    assert store.is_cached(key)
    assert store.get(key) is first  # the cache hands out the same object
    store.evict(key)
    assert not store.is_cached(key)


def test_exists_sees_an_eviction_by_another_store(store: Store[Any]) -> None:
    other = Store.from_config(store.config())
    key = store.put('x')
    store.get(key)
    other.evict(key)
    assert not store.exists(key)  # the cache does not hide the eviction
    assert not store.is_cached(key)


def test_cache_size_zero_never_caches(tmp_path: pathlib.Path) -> None:
    with Store('nocache', FileConnector(str(tmp_path)), cache_size=0) as store:
        key = store.put([1])
        assert store.get(key) is not store.get(key)


def test_invalid_constructor_arguments() -> None:
    with pytest.raises(ValueError, match='Cache size must be zero or more, not -1'):
        Store('x', LocalConnector(), cache_size=-1)
    with pytest.raises(ValueError, match='non-empty string'):
        Store('', LocalConnector())
    with pytest.raises(TypeError, match='does not implement the Connector protocol'):
        Store('x', object())  # type: ignore[type-var]
    with pytest.raises(TypeError, match='serializer must be callable'):
        Store('x', LocalConnector(), serializer='pickle')  # type: ignore[arg-type]


def test_proxy_is_populated_and_evict_option(store: Store[Any]) -> None:
    obj = [1, 2, 3]
    proxy = store.proxy(obj)
    assert is_resolved(proxy)
    assert proxy.__proxy_wrapped__ is obj
    unpopulated = store.proxy(obj, populate_target=False, evict=True)
    assert not is_resolved(unpopulated)
    key = get_key(unpopulated)
    assert unpopulated == [1, 2, 3]
    assert not store.exists(key)


def test_pickled_proxy_is_small_and_resolves() -> None:
    with Store('demo', SharedMemoryConnector()) as store, store_registration(store):
        sizes = []
        for n in (10, 1_000_000):
            proxy = store.proxy(numpy.arange(n))
            data = pickle.dumps(proxy)
            sizes.append(len(data))
            copy = pickle.loads(data)
            assert not is_resolved(copy)
            assert isinstance(copy, numpy.ndarray)  # cached default class
            assert copy.sum() == sum(range(n))
        assert sizes[0] == sizes[1] <= 256


def test_proxy_of_missing_key(store: Store[Any]) -> None:
    key = store.put('gone')
    store.evict(key)
    proxy = store.proxy_from_key(key)
    with pytest.raises(ProxyResolveError) as exc_info:
        len(proxy)
    cause = exc_info.value.cause
    assert isinstance(cause, ProxyResolveMissingKeyError)
    assert cause.key == key
    assert cause.store_name == 'test'
    assert 'no object associated with the key' in str(cause)
    assert pickle.loads(pickle.dumps(cause)).key == key


def test_non_proxiable_objects(store: Store[Any]) -> None:
    for obj in (None, True, False):
        with pytest.raises(NonProxiableTypeError, match='is not proxiable'):
            store.proxy(obj)
        assert store.proxy(obj, skip_nonproxiable=True) is obj
    mixed = store.proxy_batch([1, None, 'x'], skip_nonproxiable=True)
    assert mixed[1] is None
    assert isinstance(mixed[0], Proxy) and mixed[0] == 1
    assert mixed[2] == 'x'
    with pytest.raises(NonProxiableTypeError):
        store.proxy_batch([1, None])
    assert store.locked_proxy(None) is None


def test_evict_and_lifetime_are_exclusive(store: Store[Any]) -> None:
    from proxystore.store.lifetimes import ContextLifetime

    with (
        ContextLifetime(store) as lifetime,
        pytest.raises(ValueError, match='mutually exclusive'),
    ):
        store.proxy(1, evict=True, lifetime=lifetime)


def test_proxy_batch_keeps_order(store: Store[Any]) -> None:
    proxies = store.proxy_batch(['a', 'b', 'c'], populate_target=False)
    assert [str(p) for p in proxies] == ['a', 'b', 'c']


def test_locked_proxy(store: Store[Any]) -> None:
    locker = store.locked_proxy([1])
    assert isinstance(locker, ProxyLocker)
    assert locker.unlock() == [1]


def test_custom_serializer_and_deserializer(tmp_path: pathlib.Path) -> None:
    with Store(
        'custom',
        FileConnector(str(tmp_path)),
        serializer=upper_serializer,
        deserializer=lower_deserializer,
        cache_size=0,
    ) as store:
        key = store.put('Hello')
        assert store.get(key) == 'hello'
        plain = store.put(
            [1, 2],
            serializer=lambda obj: pickle.dumps(obj),
        )
        assert store.get(plain, deserializer=lambda data: pickle.loads(data)) == [1, 2]


def test_custom_payload_without_its_deserializer(tmp_path: pathlib.Path) -> None:
    with Store('custom', FileConnector(str(tmp_path)), cache_size=0) as store:
        key = store.put('x', serializer=upper_serializer)
        with pytest.raises(UnknownSerializerError, match='custom serializer') as exc:
            store.get(key)
        assert any('key' in note for note in exc.value.__notes__)


def test_serializer_must_return_bytes(store: Store[Any]) -> None:
    with pytest.raises(TypeError, match='Serializer must return a bytes-like object'):
        store.put(1, serializer=lambda obj: obj)


def test_failing_deserializer_is_wrapped(store: Store[Any]) -> None:
    key = store.put('x', serializer=upper_serializer)

    def broken(data: Any) -> Any:
        raise RuntimeError('nope')

    with pytest.raises(
        SerializationError, match='custom deserializer.*RuntimeError: nope'
    ):
        store.get(key, deserializer=broken)


def test_corrupt_bytes_in_the_channel(store: Store[Any]) -> None:
    key = store.put([1, 2, 3])
    path = pathlib.Path(store.connector.directory) / key[0]
    path.write_bytes(b'garbage that is not a payload')
    with pytest.raises(SerializationError, match='Not a ProxyStore payload') as exc:
        store.get(key)
    assert f'key {key!r}' in exc.value.__notes__[0]


def test_key_of_another_connector_type(store: Store[Any]) -> None:
    with LocalConnector() as local:
        foreign = local.put(b'x')
    message = (
        r'FileConnector keys are FileKey, not LocalKey: .* belongs to another connector'
    )
    for operation in (store.get, store.exists, store.evict, store.proxy_from_key):
        with pytest.raises(TypeError, match=message):
            operation(foreign)
    with pytest.raises(TypeError, match='LocalConnector keys are LocalKey, not tuple'):
        LocalConnector().get(('plain', 'tuple'))  # type: ignore[arg-type]


def test_closed_store_refuses_every_operation(tmp_path: pathlib.Path) -> None:
    store = Store('closing', FileConnector(str(tmp_path / 'c')))
    key = store.put(1)
    store.close()
    store.close()  # idempotent
    assert store.closed
    for operation in (
        lambda: store.put(1),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.evict(key),
        lambda: store.proxy(1),
        lambda: store.get_batch([key]),
    ):
        with pytest.raises(StoreClosedError, match='Store "closing" is closed'):
            operation()


def test_close_passes_arguments_to_the_connector(tmp_path: pathlib.Path) -> None:
    directory = tmp_path / 'kept'
    store = Store('keep', FileConnector(str(directory)))
    store.put(1)
    store.close(clear=False)
    assert directory.exists()
    Store('clear', FileConnector(str(directory))).close()
    assert not directory.exists()


def test_store_cannot_be_pickled(store: Store[Any]) -> None:
    with pytest.raises(TypeError, match='A Store cannot be pickled'):
        pickle.dumps(store)


def test_register_and_name_clash() -> None:
    first = Store('clash', LocalConnector(), register=True)
    try:
        with pytest.raises(
            StoreExistsError, match='A store named "clash" already exists'
        ) as exc:
            Store('clash', LocalConnector(), register=True)
        assert exc.value.__notes__
    finally:
        first.close()
    Store('clash', LocalConnector(), register=True).close()  # freed by close


def test_repr(store: Store[Any]) -> None:
    text = repr(store)
    assert "Store(name='test'" in text
    assert 'serializer=default' in text


def test_config_round_trip(store: Store[Any]) -> None:
    config = store.config()
    assert config.name == 'test'
    assert config.connector.kind == 'file'
    copy = Store.from_config(config)
    key = store.put('shared')
    assert copy.get(key) == 'shared'


def test_secret_authenticates_payloads(tmp_path: pathlib.Path) -> None:
    directory = str(tmp_path / 'secret')
    with Store(
        's', FileConnector(directory, clear=False), secret='first-secret-of-the-test'
    ) as store:
        key = store.put({'a': 1})
        assert store.get(key) == {'a': 1}
        config = store.config()
        assert config.secret is not None
        assert 'first-secret' not in repr(config)
    with Store(
        'other',
        FileConnector(directory, clear=False),
        secret='second-secret-of-the-test',
    ) as wrong:
        with pytest.raises(AuthenticationError, match='secret differs'):
            wrong.get(key)
    with Store('none', FileConnector(directory, clear=False)) as open_store:
        with pytest.raises(AuthenticationError, match='no secret'):
            open_store.get(key)
        plain = open_store.put([1])
    with Store(
        's2', FileConnector(directory), secret='first-secret-of-the-test'
    ) as secure:
        with pytest.raises(AuthenticationError, match='not authenticated'):
            secure.get(plain)


def test_secret_travels_with_proxies(tmp_path: pathlib.Path) -> None:
    with Store('secure', FileConnector(str(tmp_path)), secret=b's' * 32) as store:
        proxy = store.proxy([1, 2], populate_target=False)
        revived = pickle.loads(pickle.dumps(proxy))
        with store_registration(store):
            assert revived == [1, 2]


def test_parallel_gets_do_not_serialize_on_a_lock(store: Store[Any]) -> None:
    keys = store.put_batch([numpy.ones(100_000) * i for i in range(8)])
    barrier = threading.Barrier(4)

    def read(key: Any) -> float:
        barrier.wait(timeout=10)
        return float(store.get(key).sum())

    with ThreadPoolExecutor(4) as pool:
        totals = list(pool.map(read, keys[:4], timeout=60))
    assert totals == [i * 100_000.0 for i in range(4)]


def test_resolve_async(store: Store[Any]) -> None:
    proxy = store.proxy([1, 2], populate_target=False)
    resolve_async(proxy)
    assert proxy == [1, 2]
    resolve_async(proxy)  # already resolved: nothing to do


def test_metrics(tmp_path: pathlib.Path) -> None:
    with Store('m', FileConnector(str(tmp_path)), metrics=True) as store:
        assert store.metrics is not None
        key = store.put([1, 2])
        store.get(key)
        store.get(key)
        store.exists(key)
        proxy = store.proxy('x', populate_target=False)
        str(proxy)
        metrics = store.metrics.get_metrics(key)
        assert metrics is not None
        assert set(metrics.times) >= {
            'store.put',
            'store.put.serialize',
            'store.put.connector',
            'store.get',
            'store.get.connector',
            'store.get.deserialize',
            'store.exists',
        }
        assert metrics.counters == {
            'store.get.cache_misses': 1,
            'store.get.cache_hits': 1,
        }
        assert metrics.attributes['store.put.object_size'] > 0
        assert metrics.times['store.put'].avg_time_ms < 1000  # milliseconds
        proxy_metrics = store.metrics.get_metrics(proxy)
        assert proxy_metrics is not None
        assert 'factory.resolve' in proxy_metrics.times
        totals = store.metrics.aggregate_times()
        assert totals['store.put'].count == 2


def test_metrics_disabled_by_default(store: Store[Any]) -> None:
    assert store.metrics is None


def test_shared_memory_array_is_a_copy_on_write_view() -> None:
    with Store('shm', SharedMemoryConnector(), cache_size=0) as store:
        key = store.put(numpy.arange(1_000_000, dtype=numpy.float64))
        first = store.get(key)
        assert isinstance(first.base, memoryview) or first.base is not None
        first[0] = -1.0  # private page: other readers still see the original
        second = store.get(key)
        assert second[0] == 0.0
        assert first.flags.writeable
