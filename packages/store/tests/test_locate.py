"""How a proxy finds its store: one parse and one look-up per config blob."""

from __future__ import annotations

import pathlib
import pickle
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store
from proxystore.store import StoreConfig
from proxystore.store import Timer
from proxystore.store import _locate
from proxystore.store import _registry
from proxystore.store import get_or_create_store
from proxystore.store import is_registered
from proxystore.store import store_registration
from proxystore.store.utils import get_factory_of_store_proxy
from proxystore.store.utils import get_key


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    original = StoreConfig.from_compact.__func__  # type: ignore[attr-defined]

    def counting(cls: type[StoreConfig], blob: bytes) -> StoreConfig:
        calls.append(blob)
        return original(cls, blob)  # type: ignore[no-any-return]

    monkeypatch.setattr(StoreConfig, 'from_compact', classmethod(counting))
    return calls


def test_is_registered_by_name_and_by_store() -> None:
    store = Store('asked', LocalConnector())
    other = Store('asked', LocalConnector())
    assert not is_registered('asked')
    assert not is_registered(store)
    with store_registration(store):
        assert is_registered('asked')
        assert is_registered(store)
        assert not is_registered(other)
    assert not is_registered('asked')
    with pytest.raises(TypeError, match='takes a store name or a Store, not int'):
        is_registered(3)  # type: ignore[arg-type]
    store.close()
    other.close()


def test_closing_unregisters_only_the_registered_store() -> None:
    registered = Store('same-name', LocalConnector(), register=True)
    unregistered = Store('same-name', LocalConnector())
    unregistered.close()
    assert is_registered(registered)
    registered.close()
    assert not is_registered('same-name')


def test_store_hands_its_key_class_to_factories(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store('keys', FileConnector(str(tmp_path))) as store:
        assert store.key_type is FileConnector.Key
        calls = _count_parses(monkeypatch)
        proxy = store.proxy([1], populate_target=False)
        factory = get_factory_of_store_proxy(proxy)
        assert len(pickle.dumps(proxy)) < 400
        assert calls == []  # the store's key class: no blob parsed to pickle
        assert type(factory.key) is FileConnector.Key
        assert Store('no-key', _KeylessConnector()).key_type is None


def test_a_consumer_parses_a_blob_once_and_looks_its_store_up_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store('once', FileConnector(str(tmp_path), clear=False)) as origin:
        data = pickle.dumps(
            [origin.proxy([i], populate_target=False) for i in range(3)]
        )
        blob = origin._factory_blob
    assert blob is not None
    _locate._by_blob.pop(blob, None)
    calls = _count_parses(monkeypatch)
    made: list[StoreConfig] = []
    real = _locate.get_or_create_store

    def counting(config: StoreConfig, **kwargs: Any) -> Store[Any]:
        made.append(config)
        return real(config, **kwargs)

    monkeypatch.setattr(_locate, 'get_or_create_store', counting)
    proxies = pickle.loads(data)
    keys = [get_key(p) for p in proxies]  # the key class, before any store
    assert [type(k) for k in keys] == [FileConnector.Key] * 3
    assert [list(p) for p in proxies] == [[0], [1], [2]]
    assert calls == [blob]
    assert len(made) == 1
    store = _locate.cached_store(blob)
    assert store is not None and _registry.closes_at_exit(store)
    store.close()


def test_get_or_create_store_closes_made_stores_at_exit_only() -> None:
    config = StoreConfig.model_validate(
        {'name': 'exit', 'connector': {'kind': 'local'}},
    )
    store = get_or_create_store(config)
    assert _registry.closes_at_exit(store)
    store.close()
    assert not _registry.closes_at_exit(store)
    with Store('exit', LocalConnector(), register=True) as mine:
        assert not _registry.closes_at_exit(mine)


def test_timer_is_public() -> None:
    from proxystore.store.timer import Timer as TimerByModule

    assert Timer is TimerByModule
    with Timer() as timer:
        pass
    assert timer.elapsed_ms >= 0


class _KeylessConnector(LocalConnector):
    Key = None  # type: ignore[assignment]


@pytest.mark.filterwarnings('ignore::DeprecationWarning')  # fork + threads
def test_made_stores_close_when_a_multiprocessing_worker_exits(
    tmp_path: pathlib.Path,
) -> None:
    import multiprocessing

    marker = tmp_path / 'closed'

    def work() -> None:
        config = StoreConfig.model_validate(
            {'name': 'worker-exit', 'connector': {'kind': 'local'}},
        )
        store = get_or_create_store(config)
        store.connector.close = lambda: marker.write_text('closed')  # type: ignore[method-assign]

    # Workers leave through os._exit (no atexit): multiprocessing's finalizers
    # close the stores they made from configs.
    process = multiprocessing.get_context('fork').Process(target=work)
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    assert marker.read_text() == 'closed'


def test_a_store_registered_later_over_the_same_channel_wins() -> None:
    """An older, never-closed store of the blob does not shadow a new one."""
    import pickle

    from proxystore.connectors.local import LocalConnector
    from proxystore.store import Store
    from proxystore.store import unregister_store

    old = Store('shadowed', LocalConnector(), register=True)
    blob = pickle.dumps(old.proxy([1, 2]))
    assert pickle.loads(blob) == [1, 2]  # the blob now maps to `old`
    unregister_store(old)  # left open, as a test that forgets close() does
    with Store('shadowed', LocalConnector(), register=True) as new:
        key = new.put('from the new store')
        proxy = new.proxy_from_key(key)
        assert pickle.loads(pickle.dumps(proxy)) == 'from the new store'
    old.close()
