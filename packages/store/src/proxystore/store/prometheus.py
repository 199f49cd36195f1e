"""Prometheus export of stores' metrics and of what their channels hold.

``pip install 'proxystore-store[metrics]'`` (prometheus-client). Register a
`StoreCollector` with a registry and serve it as prometheus-client does::

    import prometheus_client
    from proxystore.store.prometheus import StoreCollector

    store = Store('app', connector, metrics=True)
    prometheus_client.REGISTRY.register(StoreCollector(store))
    prometheus_client.start_http_server(9464, addr='127.0.0.1')

The families, each labelled by ``store``:

- ``proxystore_store_operation_seconds``, a summary by ``operation``: the
  store's times (``metrics=True``): ``store.get``, ``store.put.serialize``, ...
- ``proxystore_store_events``, a counter by ``event``: the store's counters
  (``store.get.cache_hits``, ...).
- ``proxystore_channel_objects``, a gauge: the connector's listing
  (``channel=True``, a `ListableConnector`).
- ``proxystore_channel_bytes``, a gauge by ``spilled``: the same listing.

The channel families list the channel at each scrape, which costs a ``SCAN`` of
a Redis namespace or a read of a folder: leave ``channel`` off for large
channels, or scrape them seldom. A listing that fails (a server down) leaves
the channel families out of that scrape and counts the failure in
``proxystore_channel_list_errors``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import SummaryMetricFamily
from prometheus_client.registry import Collector

from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import ListableConnector
from proxystore.store.base import Store

__all__ = ['StoreCollector']


class StoreCollector(Collector):
    """Collects the metrics of stores (and their channels) at each scrape.

    Args:
        *stores: The stores to export; add more with `add`.
        channel: Also list each store's channel (object count and bytes).

    Raises:
        TypeError: If ``channel`` and a store's connector cannot list its
            objects (it is not a `ListableConnector`).
    """

    def __init__(self, *stores: Store[Any], channel: bool = False) -> None:
        self.channel = channel
        self._stores: list[Store[Any]] = []
        self._list_errors: dict[str, int] = {}
        for store in stores:
            self.add(store)

    def add(self, store: Store[Any]) -> None:
        """Export ``store`` too.

        Raises:
            TypeError: If ``channel`` is set and the store's connector cannot
                list its objects.
        """
        if self.channel and not isinstance(store.connector, ListableConnector):
            raise TypeError(
                f'Store "{store.name}": {type(store.connector).__name__} cannot '
                'list its objects (not a ListableConnector); make the collector '
                'with channel=False to export its operation metrics only.'
            )
        self._stores.append(store)

    def collect(self) -> Iterator[Any]:
        """The metric families of every store (prometheus-client calls it)."""
        seconds = SummaryMetricFamily(
            'proxystore_store_operation_seconds',
            'Time of store operations and their parts.',
            labels=['store', 'operation'],
        )
        events = CounterMetricFamily(
            'proxystore_store_events',
            'Counted store events (cache hits and misses).',
            labels=['store', 'event'],
        )
        for store in self._stores:
            metrics = store.metrics
            if metrics is None:
                continue
            for name, stats in sorted(metrics.aggregate_times().items()):
                seconds.add_metric(
                    [store.name, name],
                    count_value=stats.count,
                    sum_value=stats.avg_time_ms * stats.count / 1000,
                )
            for name, value in sorted(metrics.aggregate_counters().items()):
                events.add_metric([store.name, name], value)
        yield seconds
        yield events
        if self.channel:
            yield from self._channels()

    def _channels(self) -> Iterator[Any]:
        objects = GaugeMetricFamily(
            'proxystore_channel_objects',
            "Objects the store's channel holds (its namespace).",
            labels=['store'],
        )
        size = GaugeMetricFamily(
            'proxystore_channel_bytes',
            "Bytes of the objects the store's channel holds.",
            labels=['store', 'spilled'],
        )
        for store in self._stores:
            connector = store.connector
            assert isinstance(connector, ListableConnector)
            try:
                listed = list(connector.list_objects())
            except ConnectorError:
                self._list_errors[store.name] = self._list_errors.get(store.name, 0) + 1
                continue
            objects.add_metric([store.name], len(listed))
            for spilled in (False, True):
                size.add_metric(
                    [store.name, str(spilled).lower()],
                    sum(o.size for o in listed if o.spilled is spilled),
                )
        errors = CounterMetricFamily(
            'proxystore_channel_list_errors',
            "Scrapes whose listing of the store's channel failed.",
            labels=['store'],
        )
        for store in self._stores:
            errors.add_metric([store.name], self._list_errors.get(store.name, 0))
        yield objects
        yield size
        yield errors
