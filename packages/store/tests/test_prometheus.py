"""Prometheus export of store metrics (prometheus-client's own parser reads it)."""

from __future__ import annotations

import pathlib
import urllib.request
from typing import Any

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store
from proxystore.store.prometheus import StoreCollector
from proxystore.testing.ports import free_port


def _samples(registry: prometheus_client.CollectorRegistry) -> dict[tuple, float]:
    text = prometheus_client.generate_latest(registry).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_operations_events_and_channel(tmp_path: pathlib.Path) -> None:
    store = Store('prom', FileConnector(str(tmp_path / 'o')), metrics=True)
    keys = [store.put(bytes(100)) for _ in range(3)]
    store.get(keys[0])
    store.get(keys[0])  # a cache hit
    registry = prometheus_client.CollectorRegistry()
    registry.register(StoreCollector(store, channel=True))
    samples = _samples(registry)
    put = (('operation', 'store.put'), ('store', 'prom'))
    assert samples[('proxystore_store_operation_seconds_count', put)] == 3
    assert samples[('proxystore_store_operation_seconds_sum', put)] > 0
    hits = (('event', 'store.get.cache_hits'), ('store', 'prom'))
    assert samples[('proxystore_store_events_total', hits)] == 1
    assert samples[('proxystore_channel_objects', (('store', 'prom'),))] == 3
    unspilled = (('spilled', 'false'), ('store', 'prom'))
    assert samples[('proxystore_channel_bytes', unspilled)] >= 300
    store.evict(keys[0])
    samples = _samples(registry)
    assert samples[('proxystore_channel_objects', (('store', 'prom'),))] == 2
    store.close()


def test_a_failed_listing_is_counted(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / 'o'
    store = Store('failing', FileConnector(str(folder)), metrics=True)
    store.put(b'x')
    folder.chmod(0o777)  # unsafe: listing it raises UnsafeDirectoryError
    registry = prometheus_client.CollectorRegistry()
    registry.register(StoreCollector(store, channel=True))
    samples = _samples(registry)
    label = (('store', 'failing'),)
    assert ('proxystore_channel_objects', label) not in samples
    assert samples[('proxystore_channel_list_errors_total', label)] == 1
    folder.chmod(0o700)
    store.close()


def test_store_without_metrics_and_unlistable_channels(tmp_path: pathlib.Path) -> None:
    plain = Store('plain', FileConnector(str(tmp_path / 'o')))
    registry = prometheus_client.CollectorRegistry()
    registry.register(StoreCollector(plain))
    assert not any(
        name.startswith('proxystore_store_') for name, _ in _samples(registry)
    )

    with pytest.raises(TypeError, match='_Unlistable cannot list its objects'):
        StoreCollector(Store('x', _Unlistable()), channel=True)


class _Unlistable:
    """A connector without `list_objects` (as one written for 1.x)."""

    def __init__(self) -> None:
        self._inner = LocalConnector()

    def close(self) -> None:
        self._inner.close()

    def config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _Unlistable:
        return cls()

    def evict(self, key: Any) -> None:
        self._inner.evict(key)

    def exists(self, key: Any) -> bool:
        return self._inner.exists(key)

    def get(self, key: Any) -> bytes | None:
        return self._inner.get(key)

    def get_batch(self, keys: Any) -> list[bytes | None]:
        return self._inner.get_batch(keys)

    def put(self, obj: bytes) -> Any:
        return self._inner.put(obj)

    def put_batch(self, objs: Any) -> list[Any]:
        return self._inner.put_batch(objs)


def test_served_over_http(tmp_path: pathlib.Path) -> None:
    store = Store('served', FileConnector(str(tmp_path / 'o')), metrics=True)
    store.put(b'abc')
    registry = prometheus_client.CollectorRegistry()
    registry.register(StoreCollector(store))
    port = free_port()
    server, thread = prometheus_client.start_http_server(
        port, addr='127.0.0.1', registry=registry
    )
    try:
        with urllib.request.urlopen(
            f'http://127.0.0.1:{port}/metrics', timeout=30
        ) as r:
            text = r.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(30)
    count = 'proxystore_store_operation_seconds_count'
    assert f'{count}{{operation="store.put",store="served"}} 1.0' in text
    store.close()
