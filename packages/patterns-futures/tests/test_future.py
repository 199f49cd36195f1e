"""The Future API in one process: results, exceptions, timeouts, sets, pickling."""

from __future__ import annotations

import concurrent.futures
import pathlib
import pickle
import re
import threading
import time
from collections.abc import Generator
from concurrent.futures import InvalidStateError
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import Policy
from proxystore.futures import Future
from proxystore.futures import FutureFactory
from proxystore.futures import FutureTimeoutError
from proxystore.futures import ProducerError
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import is_resolved
from proxystore.store import PollingStoreFactory
from proxystore.store import Store
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.testing import futures as tasks
from proxystore.testing.engines import Engine

from .conftest import TIMEOUT


@pytest.fixture
def store() -> Generator[Store[LocalConnector]]:
    # Registered: copies of its futures unpickled here find it (and its data).
    with Store('futures-local', LocalConnector(), register=True) as store:
        yield store


def _failing(message: str) -> BaseException:
    try:
        raise KeyError(message)
    except KeyError as e:
        return e


# --- compatibility with ProxyStore 1.x ---------------------------------------------


def test_1x_path_and_store_method(store: Store[Any]) -> None:
    from proxystore.store import future as old_path

    assert old_path.Future is Future
    future = store.future()
    assert isinstance(future, Future)
    assert isinstance(future.factory, PollingStoreFactory)
    assert not future.done()
    future.set_result('value')
    assert future.done()
    assert future.result() == 'value'
    assert future.proxy() == 'value'


def test_made_from_a_1x_polling_factory(tmp_path: pathlib.Path) -> None:
    connector = FileConnector(str(tmp_path / 'objects'))
    # Registered, as 1.x code does: the factory finds its store by name.
    with Store('futures-1x', connector, register=True) as store:
        _resolve_a_1x_future(store)


def _resolve_a_1x_future(store: Store[FileConnector]) -> None:
    key = store.connector.new_key()
    factory: PollingStoreFactory[Any, list[int]] = PollingStoreFactory(
        key,
        store.config(),
        polling_interval=0.01,
        polling_timeout=TIMEOUT,
    )
    future = Future(factory)
    assert type(future.factory) is FutureFactory
    assert future.key == key
    proxy = future.proxy()
    future.set_result([1, 2])
    assert proxy == [1, 2]
    assert future.result() == [1, 2]


def test_a_future_needs_a_polling_factory(store: Store[Any]) -> None:
    with pytest.raises(TypeError, match='needs a PollingStoreFactory'):
        Future(lambda: 1)  # type: ignore[arg-type]


def test_a_future_needs_a_deferrable_connector() -> None:
    connector = MultiConnector({'local': (LocalConnector(), Policy())})
    with Store('futures-multi', connector) as store:
        with pytest.raises(NotImplementedError, match='DeferrableConnector'):
            Future.from_store(store)


@pytest.mark.parametrize(
    'options',
    [
        {'polling_interval': 0},
        {'polling_backoff_factor': 0},
        {'polling_interval_limit': -1},
        {'polling_timeout': 0},
    ],
)
def test_polling_settings_are_checked(
    store: Store[Any], options: dict[str, float]
) -> None:
    with pytest.raises(ValueError, match='must be > 0'):
        store.future(**options)


# --- results -------------------------------------------------------------------


def test_result_from_another_thread(store: Store[Any]) -> None:
    # polling_interval is long: the local connector wakes the waiter instead.
    future: Future[str] = store.future(polling_interval=30)
    setter = threading.Timer(0.2, future.set_result, args=('late',))
    setter.start()
    start = time.monotonic()
    assert future.result(timeout=TIMEOUT) == 'late'
    assert time.monotonic() - start < 10  # woken, not polled (30 s)
    setter.join(timeout=TIMEOUT)


def test_polling_channel_with_backoff(file_store: Store[FileConnector]) -> None:
    future: Future[str] = file_store.future(
        polling_interval=0.01,
        polling_backoff_factor=2,
        polling_interval_limit=0.05,
    )
    setter = threading.Timer(0.3, future.set_result, args=('polled',))
    setter.start()
    assert future.result(timeout=TIMEOUT) == 'polled'
    setter.join(timeout=TIMEOUT)


def test_many_consumers_of_one_future(store: Store[Any]) -> None:
    future: Future[list[int]] = store.future()
    proxies = [future.proxy() for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        sums = [pool.submit(sum, p) for p in proxies]
        waits = [pool.submit(future.result, TIMEOUT) for _ in range(2)]
        time.sleep(0.1)
        assert not any(s.done() for s in sums)
        future.set_result([1, 2, 3])
        assert [s.result(timeout=TIMEOUT) for s in sums] == [6] * 6
        assert [w.result(timeout=TIMEOUT) for w in waits] == [[1, 2, 3]] * 2


def test_evicting_future_serves_every_local_consumer(store: Store[Any]) -> None:
    future: Future[dict[str, int]] = store.future(evict=True)
    with ThreadPoolExecutor(4) as pool:
        waits = [pool.submit(future.result, TIMEOUT) for _ in range(4)]
        future.set_result({'a': 1})
        assert [w.result(timeout=TIMEOUT) for w in waits] == [{'a': 1}] * 4
    assert not store.exists(future.key)  # fetched once, then evicted
    assert future.done()  # known here
    proxy = future.proxy()
    assert is_resolved(proxy)
    assert proxy == {'a': 1}


def test_custom_serializer_and_deserializer(store: Store[Any]) -> None:
    future: Future[str] = Future.from_store(
        store,
        serializer=lambda s: s.encode()[::-1],
        deserializer=lambda b: bytes(b)[::-1].decode(),
    )
    future.set_result('custom')
    assert future.result() == 'custom'
    failed: Future[str] = Future.from_store(
        store,
        serializer=lambda s: s.encode(),
        deserializer=lambda b: bytes(b).decode(),
    )
    failed.set_exception(_failing('still sent'))
    with pytest.raises(KeyError, match='still sent'):
        failed.result()


def test_authenticated_store() -> None:
    with Store('futures-secret', LocalConnector(), secret=b'k' * 32) as store:
        future: Future[int] = store.future()
        future.set_result(5)
        assert future.result() == 5
        failed: Future[int] = store.future()
        failed.set_exception(_failing('signed'))
        with pytest.raises(KeyError, match='signed'):
            failed.result()


def test_metrics() -> None:
    with Store('futures-metrics', LocalConnector(), metrics=True) as measured:
        future: Future[int] = measured.future()
        future.set_result(1)
        assert future.proxy() == 1
        assert measured.metrics is not None
        metrics = measured.metrics.get_metrics(future.key)
        assert metrics is not None
        assert metrics.times['store.future'].count == 1
        assert metrics.times['factory.polling_resolve'].count == 1


# --- exceptions ------------------------------------------------------------------


def test_exception_reaches_result_proxy_and_exception(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    future.set_exception(_failing('broken'))
    assert future.done()
    with pytest.raises(KeyError, match='broken') as caught:
        future.result()
    (note,) = caught.value.__notes__
    assert note.startswith('Raised by the producer of this future:')
    assert 'in _failing' in note
    with pytest.raises(KeyError):  # again: same error, no growing traceback
        future.result()
    assert len(caught.value.__notes__) == 1
    error = future.exception()
    assert isinstance(error, KeyError)
    with pytest.raises(ProxyResolveError) as resolve:
        future.proxy() + 1
    assert isinstance(resolve.value.__cause__, KeyError)
    assert resolve.value.cause is resolve.value.__cause__


def test_exception_is_none_for_a_result(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    future.set_result(3)
    assert future.exception(timeout=TIMEOUT) is None


def test_exception_chain_is_in_the_note(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    try:
        try:
            {}['missing']
        except KeyError as e:
            raise RuntimeError('while loading') from e
    except RuntimeError as e:
        future.set_exception(e)
    with pytest.raises(RuntimeError, match='while loading') as caught:
        future.result()
    (note,) = caught.value.__notes__
    assert "KeyError: 'missing'" in note
    assert 'direct cause' in note


class _NeedsTwoArgumentsError(Exception):
    def __init__(self, a: str, b: str) -> None:
        super().__init__(f'{a}/{b}')

    def __reduce__(self) -> tuple[Any, ...]:
        # One argument for a constructor of two: unpickling fails, whether
        # plain pickle or tblib (which Dask installs) rebuilds it.
        return (type(self), (str(self),))


class _HoldsALockError(Exception):
    def __init__(self) -> None:
        super().__init__('locked')
        self.lock = threading.Lock()


@pytest.mark.parametrize(
    ('error', 'type_name', 'message'),
    [
        (_NeedsTwoArgumentsError('a', 'b'), '_NeedsTwoArgumentsError', 'a/b'),
        (_HoldsALockError(), '_HoldsALockError', 'locked'),
    ],
)
def test_exception_that_cannot_travel(
    store: Store[Any], error: BaseException, type_name: str, message: str
) -> None:
    future: Future[int] = store.future()
    future.set_exception(error)
    with pytest.raises(ProducerError) as caught:
        future.result()
    assert caught.value.type_name == type_name
    assert caught.value.message == message
    assert str(caught.value) == f'{type_name}: {message}'
    assert 'Raised by the producer' in caught.value.__notes__[0]


def test_set_exception_needs_an_exception(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    with pytest.raises(TypeError, match='expects an exception'):
        future.set_exception('oops')  # type: ignore[arg-type]
    assert not future.done()


# --- timeouts ----------------------------------------------------------------------


def test_result_timeout(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    start = time.monotonic()
    with pytest.raises(FutureTimeoutError) as caught:
        future.result(timeout=0.2)
    assert 0.2 <= time.monotonic() - start < TIMEOUT
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert isinstance(error, ProxyResolveMissingKeyError)  # as 1.x raised
    assert error.key == future.key
    assert error.timeout == 0.2
    assert error.store_name == 'futures-local'
    assert str(error) == (
        f'No result was set for the future with key={future.key!r} in '
        "Store(name='futures-local') after waiting 0.2 s."
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is FutureTimeoutError
    assert str(copy) == str(error)
    assert copy.timeout == 0.2
    with pytest.raises(FutureTimeoutError):
        future.exception(timeout=0.05)


def test_polling_timeout_is_the_default(store: Store[Any]) -> None:
    future: Future[int] = store.future(polling_timeout=0.1)
    with pytest.raises(FutureTimeoutError, match=r'after waiting 0\.1 s'):
        future.result()
    with pytest.raises(ProxyResolveError) as caught:
        future.proxy() + 1
    assert isinstance(caught.value.__cause__, FutureTimeoutError)
    slow: Future[int] = store.future(polling_timeout=30)
    with pytest.raises(FutureTimeoutError, match=r'after waiting 0\.05 s'):
        slow.result(timeout=0.05)  # the argument wins


def test_a_waiting_thread_times_out_behind_another(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(future.result, 5)
        time.sleep(0.1)  # the first waiter holds the future's wait
        with pytest.raises(FutureTimeoutError, match=r'after waiting 0\.1 s'):
            future.result(timeout=0.1)
        future.set_result(1)
        assert first.result(timeout=TIMEOUT) == 1


# --- setting once --------------------------------------------------------------------


@pytest.mark.parametrize('first', ['result', 'exception'])
@pytest.mark.parametrize('second', ['result', 'exception'])
def test_a_second_set_is_refused(store: Store[Any], first: str, second: str) -> None:
    future: Future[int] = store.future()
    sets = {
        'result': lambda: future.set_result(1),
        'exception': lambda: future.set_exception(ValueError('x')),
    }
    sets[first]()
    key = re.escape(repr(future.key))
    with pytest.raises(InvalidStateError, match=rf'key={key}.*set once'):
        sets[second]()


def test_a_second_set_through_a_copy_is_refused() -> None:
    # Registered: the copy's factory finds this store (and its dictionary).
    with Store('futures-copy', LocalConnector(), register=True) as store:
        _set_through_a_copy(store)


def _set_through_a_copy(store: Store[LocalConnector]) -> None:
    future: Future[int] = store.future()
    copy = pickle.loads(pickle.dumps(future))
    copy.set_result(1)
    with pytest.raises(InvalidStateError):
        future.set_result(2)
    assert future.result() == 1


def test_a_second_set_from_another_process_is_refused(
    process_engine: Engine, file_store: Store[FileConnector]
) -> None:
    future: Future[str] = file_store.future(polling_interval=0.01)
    process_engine.submit(tasks.produce, future, 'first').result(timeout=TIMEOUT)
    with pytest.raises(InvalidStateError):
        future.set_result('second')
    late = process_engine.submit(tasks.produce, future, 'third')
    with pytest.raises(InvalidStateError, match='set once'):
        late.result(timeout=TIMEOUT)
    assert future.result(timeout=TIMEOUT) == 'first'


# --- pickling, proxies, identity ------------------------------------------------


def test_pickled_future_is_small_and_forgets_local_state(store: Store[Any]) -> None:
    future: Future[int] = store.future(polling_timeout=7, evict=True)
    future.set_result(9)
    assert future.result() == 9
    data = pickle.dumps(future)
    assert len(data) < 300
    copy = pickle.loads(data)
    assert copy.key == future.key
    assert copy.factory.polling_timeout == 7
    assert copy.factory.evict
    assert copy._outcome is not future._outcome  # nothing fetched travels
    assert not copy._set_here


def test_proxy_with_a_target_class_answers_isinstance_unresolved(
    store: Store[Any],
) -> None:
    future: Future[bytes] = store.future()
    proxy = future.proxy(target_class=bytes)
    assert isinstance(proxy, bytes)
    assert isinstance(proxy, Proxy)
    assert not is_resolved(proxy)
    travelled = pickle.loads(pickle.dumps(proxy))
    assert isinstance(travelled, bytes)
    future.set_result(b'ok')
    assert proxy == b'ok'
    assert travelled == b'ok'


def test_dask_tokens(store: Store[Any]) -> None:
    tokenize = pytest.importorskip('dask.base').tokenize
    future: Future[int] = store.future()
    copy = pickle.loads(pickle.dumps(future))
    assert tokenize(future) == tokenize(copy) != tokenize(store.future())
    # Dask asks isinstance first: only a proxy with a known class is not resolved.
    proxy = future.proxy(target_class=numpy.ndarray)
    assert tokenize(proxy) == tokenize(future.proxy(target_class=numpy.ndarray))
    assert not is_resolved(proxy)


def test_repr(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    assert repr(future) == f"Future(key={future.key!r}, store='futures-local')"


def test_done_does_not_wait(store: Store[Any]) -> None:
    future: Future[int] = store.future()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(future.done).result(timeout=TIMEOUT) is False
