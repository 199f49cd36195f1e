"""The behaviour every connector must have, as pytest tests.

Subclass `ConnectorContract` in a test module and provide a ``connector``
fixture (the connector under test, closed by the fixture)::

    class TestMyConnector(ConnectorContract):
        @pytest.fixture
        def connector(self):
            with MyConnector(...) as connector:
                yield connector

Set ``shares_data = False`` for connectors whose copies made from the config do
not see the original's objects (an in-process connector).
"""

from __future__ import annotations

import array
import concurrent.futures
import pickle
from typing import Any
from typing import cast

import pytest

from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import DeferrableConnector
from proxystore.connectors.protocols import ListableConnector
from proxystore.connectors.protocols import StoredObject
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store import store_registration

__all__ = ['ConnectorContract']

_BIG = 8 * 1024 * 1024 + 3


def _bytes(data: Any) -> bytes:
    assert data is not None, 'the connector returned None for a stored key'
    return bytes(data)


class ConnectorContract:
    """Tests every connector passes. Subclasses provide a ``connector`` fixture."""

    shares_data: bool = True

    def test_is_a_connector(self, connector: Any) -> None:
        assert isinstance(connector, Connector)
        assert isinstance(repr(connector), str)

    def test_put_get_exists_evict(self, connector: Any) -> None:
        key = connector.put(b'value')
        assert connector.exists(key)
        assert _bytes(connector.get(key)) == b'value'
        connector.evict(key)
        assert not connector.exists(key)
        assert connector.get(key) is None
        connector.evict(key)  # a missing key is not an error

    def test_keys_are_hashable_picklable_tuples(self, connector: Any) -> None:
        key = connector.put(b'x')
        assert isinstance(key, tuple)
        assert pickle.loads(pickle.dumps(key)) == key
        assert {key: 1}[key] == 1
        connector.evict(key)

    def test_empty_and_binary_values(self, connector: Any) -> None:
        for value in (b'', bytes(range(256)), bytearray(b'ba'), memoryview(b'mv')):
            key = connector.put(value)
            assert _bytes(connector.get(key)) == bytes(value)
            connector.evict(key)

    def test_put_keeps_the_bytes_of_the_moment(self, connector: Any) -> None:
        # A mutable buffer changed after put must not change the stored object.
        buffer = bytearray(b'before')
        key = connector.put(buffer)
        buffer[:] = b'after!'
        assert _bytes(connector.get(key)) == b'before'
        connector.evict(key)

    def test_typed_and_multidimensional_buffers(self, connector: Any) -> None:
        # Lengths are in bytes, not items: a view of doubles or a 2-d view must
        # come back byte for byte, small and large, alone, in frames and in batches.
        small = memoryview(array.array('d', range(100)))
        large = memoryview(array.array('d', range(_BIG // 8 + 1)))
        grid = memoryview(bytes(range(256)) * 4).cast('B', (32, 32))
        for value in (small, large, grid):
            key = connector.put(value)
            assert _bytes(connector.get(key)) == value.tobytes()
            connector.evict(key)
        # The exporters themselves, not views of them.
        for exporter in (array.array('d', range(100)), array.array('i', range(_BIG))):
            key = connector.put(exporter)
            assert _bytes(connector.get(key)) == exporter.tobytes()
            connector.evict(key)
        keys = connector.put_batch([small, grid])
        assert [_bytes(v) for v in connector.get_batch(keys)] == [
            small.tobytes(),
            grid.tobytes(),
        ]
        for key in keys:
            connector.evict(key)
        if hasattr(connector, 'put_frames'):
            key = connector.put_frames([small, large, grid])
            expected = small.tobytes() + large.tobytes() + grid.tobytes()
            assert _bytes(connector.get(key)) == expected
            connector.evict(key)

    def test_large_value(self, connector: Any) -> None:
        value = bytes(range(256)) * (_BIG // 256) + b'end'
        key = connector.put(value)
        data = connector.get(key)
        assert len(data) == len(value)
        assert bytes(data) == value
        connector.evict(key)

    def test_batches(self, connector: Any) -> None:
        values = [b'a', b'bb', b'ccc']
        keys = connector.put_batch(values)
        assert len(keys) == 3
        assert [_bytes(v) for v in connector.get_batch(keys)] == values
        for key in keys:
            connector.evict(key)
        assert connector.get_batch(keys) == [None, None, None]

    def test_evict_batch(self, connector: Any) -> None:
        if not hasattr(connector, 'evict_batch'):
            pytest.skip('no evict_batch')
        keys = connector.put_batch([b'1', b'2'])
        connector.evict_batch(keys)
        assert not any(connector.exists(key) for key in keys)

    def test_put_frames_equals_put_of_the_join(self, connector: Any) -> None:
        if not hasattr(connector, 'put_frames'):
            pytest.skip('no put_frames')
        frames: list[Any] = [b'head', bytearray(b'-'), memoryview(b'tail' * 1000), b'']
        key = connector.put_frames(frames)
        assert _bytes(connector.get(key)) == b''.join(frames)
        connector.evict(key)

    def test_config_round_trip(self, connector: Any) -> None:
        copy = type(connector).from_config(connector.config())
        assert type(copy) is type(connector)
        assert isinstance(copy, Connector)
        if self.shares_data:
            key = connector.put(b'shared')
            assert _bytes(copy.get(key)) == b'shared'
            connector.evict(key)

    def test_deferrable(self, connector: Any) -> None:
        if not isinstance(connector, DeferrableConnector):
            pytest.skip('not a DeferrableConnector')
        key = connector.new_key()
        assert not connector.exists(key)
        connector.set(key, b'first')
        connector.set(key, b'second')
        assert _bytes(connector.get(key)) == b'second'
        connector.evict(key)
        key = connector.new_key(b'at once')
        assert _bytes(connector.get(key)) == b'at once'
        connector.evict(key)

    def test_list_objects(self, connector: Any) -> None:
        if not isinstance(connector, ListableConnector):
            pytest.skip('not a ListableConnector')
        connector = cast(Any, connector)
        sizes = {connector.put(bytes(n)): n for n in (1, 100, 70_000)}
        try:
            listed = {o.key: o for o in connector.list_objects()}
            for key, size in sizes.items():
                assert key in listed, f'{key!r} is stored but not listed'
                obj = listed[key]
                assert isinstance(obj, StoredObject)
                assert obj.size == size
                assert obj.age is None or obj.age >= 0
                assert _bytes(connector.get(obj.key)) == bytes(size)
            gone = next(iter(sizes))
            connector.evict(gone)
            assert gone not in {o.key for o in connector.list_objects()}
        finally:
            for key in sizes:
                connector.evict(key)

    def test_concurrent_use(self, connector: Any) -> None:
        def work(i: int) -> bool:
            value = f'value-{i}'.encode() * 100
            key = connector.put(value)
            ok = _bytes(connector.get(key)) == value
            connector.evict(key)
            return ok

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert all(pool.map(work, range(64), timeout=60))

    def test_store_round_trip(self, connector: Any) -> None:
        import numpy

        store = Store('contract', connector, cache_size=0)
        array = numpy.arange(100_000, dtype=numpy.float64)
        key = store.put(array)
        copy = store.get(key)
        assert isinstance(copy, numpy.ndarray)
        numpy.testing.assert_array_equal(copy, array)
        copy[0] = -1  # the object is the reader's own
        assert store.get(key)[0] == 0
        proxy = store.proxy({'a': [1, 2]}, populate_target=False)
        with store_registration(store):  # an unpickled proxy finds it by name
            revived = pickle.loads(pickle.dumps(proxy))
            assert isinstance(revived, Proxy)
            assert not is_resolved(revived)
            assert revived == {'a': [1, 2]}
        store.evict(key)
        assert not store.exists(key)
