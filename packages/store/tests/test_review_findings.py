"""Regression tests for races, safety limits and 1.x behaviours found in review."""

from __future__ import annotations

import os
import pathlib
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import FileKey
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.connectors.shm import ShmKey
from proxystore.proxy import ProxyResolveError
from proxystore.serialize import SerializationError
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store import store_registration
from proxystore.store.exceptions import StoreClosedError
from proxystore.store.executor import ProxyAlways
from proxystore.store.executor import StoreExecutor
from proxystore.store.keyring import SECRET_ENV
from proxystore.store.lifetimes import ContextLifetime


class BlockingGet(LocalConnector):
    """A local connector whose next get waits until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.block = False

    def get(self, key: Any) -> bytes | None:
        data = super().get(key)
        if self.block:
            self.block = False
            self.entered.set()
            assert self.release.wait(timeout=10)
        return data


def test_a_value_read_before_an_update_is_not_cached_after_it() -> None:
    connector = BlockingGet()
    with Store('race', connector) as store:
        key = connector.new_key()
        store._set(key, 'old')
        connector.block = True
        with ThreadPoolExecutor(1) as pool:
            reading = pool.submit(store.get, key)
            assert connector.entered.wait(timeout=10)
            store._set(key, 'new')  # while the read of 'old' is in flight
            connector.release.set()
            assert reading.result(timeout=10) == 'old'
        assert store.get(key) == 'new'


def test_concurrent_writers_of_one_key_never_expose_partial_objects(
    tmp_path: pathlib.Path,
) -> None:
    connector = FileConnector(str(tmp_path / 'same-key'))
    key = connector.new_key(b'a' * 100_000)
    values = {b'a' * 100_000, b'b' * 200_000, b'c' * 50_000}
    stop = threading.Event()

    def write(value: bytes) -> None:
        for _ in range(200):
            connector.set(key, value)

    def read() -> int:
        seen = 0
        while not stop.is_set() and seen < 2000:
            data = connector.get(key)
            assert data is not None
            assert bytes(data) in values
            seen += 1
        return seen

    with ThreadPoolExecutor(3) as pool:
        reader = pool.submit(read)
        writers = [pool.submit(write, v) for v in (b'b' * 200_000, b'c' * 50_000)]
        for writer in writers:
            writer.result(timeout=60)
        stop.set()
        assert reader.result(timeout=60) > 0
    assert not [p for p in os.listdir(connector.directory) if p.startswith('.tmp')]
    connector.close()


@pytest.mark.parametrize(
    'name',
    ['../outside', '/etc/hostname', '', '.hidden', 'a/b', '..'],
)
def test_keys_cannot_reach_outside_the_folder(
    name: str, tmp_path: pathlib.Path
) -> None:
    file_connector = FileConnector(str(tmp_path / 'f'))
    shm = SharedMemoryConnector()
    for connector, key in ((file_connector, FileKey(name)), (shm, ShmKey(name))):
        for operation in (connector.get, connector.exists, connector.evict):
            with pytest.raises(ValueError, match='must be a plain file name'):
                operation(key)
        with pytest.raises(ValueError, match='must be a plain file name'):
            connector.set(key, b'x')
    shm.close()
    file_connector.close()


def test_reading_does_not_create_folders(tmp_path: pathlib.Path) -> None:
    directory = tmp_path / 'absent'
    connector = FileConnector(str(directory))
    assert connector.get(FileKey('nothing')) is None
    assert not directory.exists()
    connector.put(b'x')
    assert directory.exists()
    connector.close()


def test_copies_made_from_a_config_do_not_clear(tmp_path: pathlib.Path) -> None:
    owner = FileConnector(str(tmp_path / 'owned'))
    key = owner.put(b'kept')
    FileConnector.from_config(owner.config()).close()
    assert bytes(owner.get(key)) == b'kept'  # type: ignore[arg-type]
    shm = SharedMemoryConnector()
    shm_key = shm.put(b'kept')
    SharedMemoryConnector.from_config(shm.config()).close()
    assert bytes(shm.get(shm_key)) == b'kept'  # type: ignore[arg-type]
    clearing = FileConnector.from_config({**owner.config(), 'clear': True})
    clearing.close()
    assert not (tmp_path / 'owned').exists()
    shm.close()


def test_the_secret_never_reaches_the_channel(tmp_path: pathlib.Path) -> None:
    secret = 'a-secret-nobody-should-read'
    with Store('s', FileConnector(str(tmp_path / 's')), secret=secret) as store:
        inner = store.proxy([1, 2, 3])
        store.put({'a proxy inside': inner})
        data = pickle.dumps(inner)
        assert secret.encode() not in data
        for path in pathlib.Path(store.connector.directory).iterdir():
            assert secret.encode() not in path.read_bytes()
        assert secret not in store.config().model_dump_json()


def test_resolving_an_authenticated_proxy_needs_the_secret(
    tmp_path: pathlib.Path,
) -> None:
    with Store('needs', FileConnector(str(tmp_path / 'n')), secret='k' * 32) as store:
        data = pickle.dumps(store.proxy([4, 5], populate_target=False))
        code = (
            'import pickle, sys\n'
            'from proxystore.proxy import ProxyResolveError\n'
            f'proxy = pickle.loads({data!r})\n'
            'try:\n'
            '    print(sum(proxy))\n'
            'except ProxyResolveError as e:\n'
            '    print(type(e.cause).__name__, e.cause)\n'
        )
        env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
        done = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=env,
        )
        assert done.stdout.startswith('MissingSecretError')
        assert SECRET_ENV in done.stdout
        done = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={**env, SECRET_ENV: 'k' * 32},
        )
        assert done.stdout.strip() == '9'


def test_proxy_of_a_closed_store_does_not_recreate_it(tmp_path: pathlib.Path) -> None:
    directory = tmp_path / 'closed'
    store = Store('gone', FileConnector(str(directory)))
    proxy = store.proxy('x', populate_target=False)
    store.close()
    with pytest.raises(ProxyResolveError) as exc_info:
        str(proxy)
    assert isinstance(exc_info.value.cause, StoreClosedError)
    assert not directory.exists()
    assert get_store('gone') is None


def test_executor_does_not_register_a_second_store(tmp_path: pathlib.Path) -> None:
    store = Store('lonely-executor', FileConnector(str(tmp_path / 'e')))
    with StoreExecutor(
        ThreadPoolExecutor(1),
        store,
        should_proxy=ProxyAlways(),
        ownership=False,
    ) as executor:
        assert executor.submit(len, [1, 2]).result(timeout=60) == 2
    assert get_store('lonely-executor') is None
    Store('lonely-executor', LocalConnector(), register=True).close()


def test_context_lifetime_accepts_an_unpickled_proxy(tmp_path: pathlib.Path) -> None:
    with Store('lt', FileConnector(str(tmp_path / 'lt'))) as store:
        with store_registration(store):
            copy = pickle.loads(pickle.dumps(store.proxy(1)))
        lifetime = ContextLifetime(store)
        lifetime.add_proxy(copy)
        lifetime.close()
        assert not store.exists(copy.__proxy_factory__.key)


def test_memoryview_keeps_format_and_shape() -> None:
    view = memoryview(numpy.arange(6, dtype=numpy.int32).reshape(2, 3))
    copy = deserialize(serialize(view))
    assert copy.format == 'i'
    assert copy.shape == (2, 3)
    assert copy.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_any_serializer_failure_is_a_serialization_error() -> None:
    class Refuses:
        def __reduce__(self) -> Any:
            raise ValueError('no')

    with pytest.raises(SerializationError, match='ValueError: no'):
        serialize(Refuses())


def test_custom_deserializers_receive_bytes(tmp_path: pathlib.Path) -> None:
    received: list[Any] = []

    def keep(data: Any) -> str:
        received.append(data)
        return data.decode()

    with Store('bytes', FileConnector(str(tmp_path / 'b'))) as store:
        key = store.put('text', serializer=str.encode)
        assert store.get(key, deserializer=keep) == 'text'
    assert type(received[0]) is bytes


class TupleKeys:
    """A 1.x-style connector whose keys are plain tuples and that declares no Key."""

    def __init__(self) -> None:
        self.data: dict[tuple[str], bytes] = {}

    def close(self) -> None:
        pass

    def config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TupleKeys:
        return cls()

    def evict(self, key: tuple[str]) -> None:
        self.data.pop(key, None)

    def exists(self, key: tuple[str]) -> bool:
        return key in self.data

    def get(self, key: tuple[str]) -> bytes | None:
        return self.data.get(key)

    def get_batch(self, keys: Sequence[tuple[str]]) -> list[bytes | None]:
        return [self.get(k) for k in keys]

    def put(self, obj: bytes) -> tuple[str]:
        key = (str(len(self.data)),)
        self.data[key] = bytes(obj)
        return key

    def put_batch(self, objs: Sequence[bytes]) -> list[tuple[str]]:
        return [self.put(o) for o in objs]


def test_connector_with_plain_tuple_keys() -> None:
    with Store('tuples', TupleKeys(), register=True) as store:
        proxy = store.proxy([1, 2], populate_target=False)
        copy = pickle.loads(pickle.dumps(proxy))
        assert copy.__proxy_factory__.key == ('0',)
        assert copy == [1, 2]


def test_1x_names_of_proxystore_store() -> None:
    from proxystore.store import ProxyStoreFactoryError
    from proxystore.store import StoreExistsError

    assert issubclass(StoreExistsError, Exception)
    assert issubclass(ProxyStoreFactoryError, Exception)


def test_1x_metric_events(tmp_path: pathlib.Path) -> None:
    with Store('events', FileConnector(str(tmp_path / 'm')), metrics=True) as store:
        proxy = store.proxy([1], populate_target=False)
        str(proxy)
        key = proxy.__proxy_factory__.key
        store.exists(key)
        store.evict(key)
        metrics = store.metrics.get_metrics(key)  # type: ignore[union-attr]
        assert metrics is not None
        assert {
            'factory.call',
            'factory.resolve',
            'store.exists.connector',
            'store.evict.connector',
        } <= set(metrics.times)
