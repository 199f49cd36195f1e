"""Authenticated payloads are bound to their key and their store (issue 15, 1)."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import pathlib
import struct
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import Policy
from proxystore.connectors.protocols import SecretConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.proxy import ProxyResolveError
from proxystore.serialize import AuthenticationError
from proxystore.serialize import CorruptPayloadError
from proxystore.serialize import UnknownSerializerError
from proxystore.serialize import serialize
from proxystore.serialize.codec import Codec
from proxystore.serialize.codec import key_context
from proxystore.serialize.exceptions import AuthenticationError as ByModule
from proxystore.store import Store
from proxystore.store.exceptions import KeyBindingError
from proxystore.store.exceptions import StoreError
from proxystore.store.metrics import Measurement
from proxystore.store.metrics import StoreMetrics
from proxystore.testing import tasks

SECRET = b's' * 32


@pytest.fixture(params=['local', 'file', 'shm'])
def connector(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Generator[Any]:
    if request.param == 'local':
        made: Any = LocalConnector()
    elif request.param == 'file':
        made = FileConnector(str(tmp_path / 'data'))
    else:
        made = SharedMemoryConnector(directory=str(tmp_path))
    yield made
    made.close()


def _store(name: str, connector: Any, **kwargs: Any) -> Store[Any]:
    return Store(name, connector, secret=SECRET, **kwargs)


def test_a_payload_copied_to_another_key_is_refused(connector: Any) -> None:
    store = _store('bound', connector)
    key_a = store.put({'account': 'alice'})
    key_b = store.put({'account': 'bob'})
    connector.set(key_b, bytes(connector.get(key_a)))  # the attacker's copy
    store.cache.clear()
    assert store.get(key_a) == {'account': 'alice'}
    with pytest.raises(AuthenticationError, match='another key') as exc:
        store.get(key_b)
    assert any('key' in note for note in exc.value.__notes__)
    fresh = connector.new_key()
    connector.set(fresh, bytes(connector.get(key_a)))  # or to a new key
    with pytest.raises(AuthenticationError):
        store.get(fresh)


def test_a_proxy_of_a_copied_payload_does_not_resolve(connector: Any) -> None:
    store = _store('bound-proxy', connector)
    honest = store.proxy([1, 2], populate_target=False)
    victim = store.proxy([3, 4], populate_target=False)
    from proxystore.store.utils import get_key

    connector.set(get_key(victim), bytes(connector.get(get_key(honest))))
    with pytest.raises(ProxyResolveError) as exc:
        list(victim)
    assert isinstance(exc.value.cause, AuthenticationError)
    assert honest == [1, 2]


def test_a_payload_of_another_store_is_refused(connector: Any) -> None:
    writer = _store('store-a', connector)
    reader = _store('store-b', connector)
    key = writer.put('for A only')
    with pytest.raises(AuthenticationError, match='another store'):
        reader.get(key)
    same_name = _store('store-a', connector)
    assert same_name.get(key) == 'for A only'


def test_round_trips(connector: Any) -> None:
    store = _store('trips', connector, metrics=True)
    key = store.put([1, 2, 3])
    keys = store.put_batch(['a', {'b': 2}, b'raw'])
    store.cache.clear()
    assert store.get(key) == [1, 2, 3]
    assert store.get_batch(keys) == ['a', {'b': 2}, b'raw']
    proxy = store.proxy({'x': 1}, populate_target=False)
    proxies = store.proxy_batch([[1], [2]], populate_target=False)
    assert proxy == {'x': 1}
    assert [list(p) for p in proxies] == [[1], [2]]
    custom = store.put(
        'text',
        serializer=lambda s: s.encode(),
    )
    assert store.get(custom, deserializer=lambda b: b.decode()) == 'text'
    deferred = connector.new_key()
    store._set(deferred, 'set later')
    assert store.get(deferred) == 'set later'
    assert store.metrics is not None
    times = store.metrics.get_metrics(key).times
    assert {'store.put', 'store.put.serialize', 'store.put.connector'} <= set(times)
    batch_times = store.metrics.get_metrics(keys).times
    assert {'store.put_batch', 'store.put_batch.connector'} <= set(batch_times)


def test_unauthenticated_stores_are_unchanged(connector: Any) -> None:
    store = Store('plain', connector)
    key = store.put('plain')
    data = bytes(connector.get(key))
    assert data[2] == 1  # format version 1, as before
    other = Store('other-name', connector)
    assert other.get(key) == 'plain'  # no binding without a secret


def _old_authenticated(obj: Any, secret: bytes) -> bytes:
    # A payload of format version 1 with its old tag (header and frames only).
    body = serialize(obj)
    count = struct.unpack_from('<H', body, 6)[0]
    lengths_end = 8 + 8 * count
    header = bytearray(body[:lengths_end])
    header[3] = 1  # authenticated
    mac = hmac.new(secret, bytes(header), hashlib.sha256)
    mac.update(body[lengths_end:])
    return bytes(header) + mac.digest() + body[lengths_end:]


def test_old_authenticated_payloads_are_refused_with_a_clear_error() -> None:
    store = _store('old', LocalConnector())
    key = store.connector.new_key()
    store.connector.set(key, _old_authenticated([1], SECRET))
    with pytest.raises(AuthenticationError, match='format version 1') as exc:
        store.get(key)
    assert 'Write the object again' in str(exc.value)
    plain = store.connector.put(serialize('old but plain'))
    assert Store('reader', store.connector).get(plain) == 'old but plain'


def test_version_2_must_be_authenticated() -> None:
    data = bytearray(serialize([1]))
    data[2] = 2
    with pytest.raises(CorruptPayloadError, match='must be authenticated'):
        Codec('c').decode(bytes(data))


def test_a_secret_needs_a_deferrable_connector() -> None:
    multi = MultiConnector({'local': (LocalConnector(), Policy())})
    with pytest.raises(KeyBindingError, match='not a DeferrableConnector') as exc:
        Store('multi', multi, secret=SECRET)
    assert isinstance(exc.value, StoreError)
    assert isinstance(exc.value, TypeError)
    assert 'Store "multi" has a secret' in str(exc.value)
    Store('multi-plain', multi).close()  # without a secret: as before


def test_codec_binds_what_it_is_given() -> None:
    codec = Codec('c', secret=SECRET)
    payload = codec.encode('v', key=('k1',)).join()
    assert codec.decode(payload, key=('k1',)) == 'v'
    with pytest.raises(ByModule):
        codec.decode(payload, key=('k2',))
    with pytest.raises(AuthenticationError):
        Codec('d', secret=SECRET).decode(payload, key=('k1',))
    assert key_context('a', ('b',)) != key_context('a(', ('',))
    assert key_context('s', LocalConnector().Key('x')) == key_context('s', ('x',))
    assert 'authenticated=True' in repr(codec)


def test_codec_refuses_bad_arguments() -> None:
    with pytest.raises(TypeError, match='name must be a string, not bytes'):
        Codec(b'c')  # type: ignore[arg-type]
    with pytest.raises(TypeError, match='serializer must be callable'):
        Codec('c', serializer='nope')  # type: ignore[arg-type]
    with pytest.raises(TypeError, match='deserializer must be callable'):
        Codec('c', deserializer=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match='secret must be bytes'):
        Codec('c', secret='text')  # type: ignore[arg-type]
    with pytest.raises(TypeError, match='bytes-like'):
        Codec('c', serializer=lambda _: 3).encode('x')
    with pytest.raises(UnknownSerializerError, match='pass the matching'):
        Codec('c').decode(Codec('c', serializer=str.encode).encode('x').join())


def test_measurement_records_parts_totals_and_attributes() -> None:
    metrics = StoreMetrics()
    with Measurement(metrics, 'op') as measure:
        with measure.part('a'):
            pass
        with measure.part('a'):
            pass
    measure.record(('k',), size=3)
    found = metrics.get_metrics(('k',))
    assert set(found.times) == {'op', 'op.a'}
    assert found.times['op.a'].count == 1
    assert found.attributes == {'op.size': 3}
    with Measurement(None, 'nothing') as quiet:
        pass
    quiet.record(('k',))  # no metrics: nothing recorded, no error


@pytest.fixture
def spawn_pool() -> Generator[ProcessPoolExecutor]:
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        yield pool


def test_authenticated_payloads_cross_processes(
    spawn_pool: ProcessPoolExecutor,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv('PROXYSTORE_SECRET', SECRET.decode())
    with Store(
        'across',
        FileConnector(str(tmp_path / 'x')),
        secret=SECRET,
        register=True,
    ) as store:
        proxy = store.proxy([5, 6])
        assert spawn_pool.submit(tasks.total, proxy).result(timeout=60) == 11
        key = spawn_pool.submit(tasks.put_in_store, store.config(), 'back').result(
            timeout=60,
        )
        assert store.get(key) == 'back'


def test_an_authenticated_batch_that_fails_to_serialize_writes_nothing() -> None:
    connector = LocalConnector()
    store = _store('batch-fail', connector)

    def serializer(obj: Any) -> bytes:
        if obj == 'bad':
            raise ValueError('cannot serialize this one')
        return str(obj).encode()

    with pytest.raises(ValueError, match='cannot serialize this one'):
        store.put_batch(['good', 'bad'], serializer=serializer)
    assert connector._store == {}


class _SecretLocal(LocalConnector):
    """A local connector that records the secrets it is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secrets: list[bytes] = []

    def use_secret(self, secret: bytes) -> None:
        self.secrets.append(secret)


def test_a_secret_connector_gets_the_store_secret() -> None:
    connector = _SecretLocal()
    assert isinstance(connector, SecretConnector)
    assert not isinstance(LocalConnector(), SecretConnector)
    with Store('handed', connector, secret='a store secret of 16+') as store:
        assert connector.secrets == [b'a store secret of 16+']
        # A store re-made from its config hands the secret to its new connector.
        config = store.config()
    with Store.from_config(config) as again:
        assert isinstance(again.connector, _SecretLocal)
        assert again.connector.secrets == [b'a store secret of 16+']


def test_a_store_without_secret_hands_over_nothing() -> None:
    connector = _SecretLocal()
    with Store('unhanded', connector):
        assert connector.secrets == []
