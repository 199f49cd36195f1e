"""Per-key metrics of store operations, in milliseconds.

Enable with ``Store(..., metrics=True)``; then `Store.metrics` records, for each
key (or batch of keys), the time of every operation and its parts, counters
(cache hits and misses) and attributes (object sizes). Event names follow
ProxyStore 1.x: ``store.put``, ``store.put.serialize``, ``store.put.connector``,
``store.get``, ``store.get.connector``, ``store.get.deserialize``,
``store.exists``, ``store.evict``, ``store.proxy``, ``factory.resolve``, ...
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from proxystore.proxy import Proxy
from proxystore.proxy import get_factory
from proxystore.serialize._fork import renew_after_fork
from proxystore.store.exceptions import ProxyStoreFactoryError

__all__ = ['Measurement', 'Metrics', 'StoreMetrics', 'TimeStats']


@dataclasses.dataclass
class TimeStats:
    """Statistics of the times of one operation, in milliseconds."""

    count: int = 0
    avg_time_ms: float = 0.0
    min_time_ms: float = math.inf
    max_time_ms: float = 0.0
    last_time_ms: float = 0.0
    last_timestamp: float = 0.0

    def add_time(self, time_ms: float) -> None:
        """Record one more time."""
        self.avg_time_ms = (self.avg_time_ms * self.count + time_ms) / (self.count + 1)
        self.count += 1
        self.min_time_ms = min(self.min_time_ms, time_ms)
        self.max_time_ms = max(self.max_time_ms, time_ms)
        self.last_time_ms = time_ms
        self.last_timestamp = time.time()

    def __add__(self, other: TimeStats) -> TimeStats:
        count = self.count + other.count
        if count == 0:
            return TimeStats()
        newer = self if self.last_timestamp >= other.last_timestamp else other
        return TimeStats(
            count=count,
            avg_time_ms=(
                self.avg_time_ms * self.count + other.avg_time_ms * other.count
            )
            / count,
            min_time_ms=min(self.min_time_ms, other.min_time_ms),
            max_time_ms=max(self.max_time_ms, other.max_time_ms),
            last_time_ms=newer.last_time_ms,
            last_timestamp=newer.last_timestamp,
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dictionary."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Metrics:
    """Everything recorded for one key (or one batch of keys)."""

    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    counters: dict[str, int] = dataclasses.field(default_factory=dict)
    times: dict[str, TimeStats] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The metrics as nested dictionaries."""
        return dataclasses.asdict(self)


def _index(key: Any) -> int:
    if isinstance(key, Proxy):
        # The key of a store proxy (its factory's), without resolving it; the
        # factory module sits above this one, so the factory is not named.
        factory = get_factory(key)
        if not hasattr(factory, 'key'):
            raise ProxyStoreFactoryError(
                f'The proxy must have a StoreFactory, not {type(factory).__name__}.',
            )
        key = factory.key
    elif isinstance(key, Sequence) and not isinstance(key, tuple):
        key = tuple(key)  # a batch of keys
    return hash(key)


class Measurement:
    """Times one store operation and its parts, then records them.

    ```python
    with Measurement(metrics, 'store.put') as measure:
        with measure.part('serialize'):
            ...
        with measure.part('connector'):
            ...
    measure.record(key, object_size=123)
    ```

    records ``store.put.serialize``, ``store.put.connector`` and ``store.put``
    (times of a part entered twice add up) and the attribute
    ``store.put.object_size``. With ``metrics`` ``None`` nothing is recorded.

    Args:
        metrics: Where to record (``None``: nowhere).
        name: Name of the operation.
    """

    __slots__ = ('_metrics', '_name', '_parts', '_start', '_total')

    def __init__(self, metrics: StoreMetrics | None, name: str) -> None:
        self._metrics = metrics
        self._name = name
        self._parts: dict[str, int] = {}
        self._start = 0
        self._total = 0

    def __enter__(self) -> Measurement:
        self._start = time.perf_counter_ns()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._total = time.perf_counter_ns() - self._start

    def part(self, name: str) -> _Part:
        """A ``with`` block timing the part ``name`` of the operation."""
        return _Part(self._parts, name)

    def record(self, key: Any, **attributes: Any) -> None:
        """Record the times (and ``attributes``) under ``key`` (or a key batch)."""
        metrics = self._metrics
        if metrics is None:
            return
        for part, elapsed_ns in self._parts.items():
            metrics.add_time(f'{self._name}.{part}', key, elapsed_ns / 1e6)
        metrics.add_time(self._name, key, self._total / 1e6)
        for name, value in attributes.items():
            metrics.add_attribute(f'{self._name}.{name}', key, value)


class _NoMeasurement(Measurement):
    """A `Measurement` that times nothing (a store without metrics)."""

    __slots__ = ()

    def __enter__(self) -> Measurement:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def part(self, name: str) -> _Part:
        """A ``with`` block that times nothing."""
        return _NO_PART

    def record(self, key: Any, **attributes: Any) -> None:
        """Record nothing."""


class _Part:
    __slots__ = ('_name', '_parts', '_start')

    def __init__(self, parts: dict[str, int], name: str) -> None:
        self._parts = parts
        self._name = name
        self._start = 0

    def __enter__(self) -> None:
        self._start = time.perf_counter_ns()

    def __exit__(self, *exc_info: object) -> None:
        elapsed = time.perf_counter_ns() - self._start
        self._parts[self._name] = self._parts.get(self._name, 0) + elapsed


class _NoPart(_Part):
    __slots__ = ()

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        pass


_NO_PART = _NoPart({}, '')
NO_MEASUREMENT: Measurement = _NoMeasurement(None, '')
"""A shared `Measurement` that records nothing, for stores without metrics."""


class StoreMetrics:
    """Metrics of a store's operations, by key; thread-safe."""

    def __init__(self) -> None:
        self._metrics: dict[int, Metrics] = {}
        self._lock = threading.Lock()
        renew_after_fork(self, '_lock')

    def _entry(self, key: Any) -> Metrics:
        index = _index(key)
        entry = self._metrics.get(index)
        if entry is None:
            entry = self._metrics[index] = Metrics()
        return entry

    def add_attribute(self, name: str, key: Any, value: Any) -> None:
        """Record an attribute (an object size, say) of a key."""
        with self._lock:
            self._entry(key).attributes[name] = value

    def add_counter(self, name: str, key: Any, value: int) -> None:
        """Add ``value`` to a counter of a key."""
        with self._lock:
            counters = self._entry(key).counters
            counters[name] = counters.get(name, 0) + value

    def add_time(self, name: str, key: Any, time_ms: float) -> None:
        """Record the time of an operation on a key, in milliseconds."""
        with self._lock:
            times = self._entry(key).times
            stats = times.get(name)
            if stats is None:
                stats = times[name] = TimeStats()
            stats.add_time(time_ms)

    def aggregate_times(self) -> dict[str, TimeStats]:
        """Time statistics of each operation, over every key."""
        totals: dict[str, TimeStats] = {}
        with self._lock:
            for metrics in self._metrics.values():
                for name, stats in metrics.times.items():
                    totals[name] = totals.get(name, TimeStats()) + stats
        return totals

    def aggregate_counters(self) -> dict[str, int]:
        """Each counter summed over every key."""
        totals: dict[str, int] = {}
        with self._lock:
            for metrics in self._metrics.values():
                for name, value in metrics.counters.items():
                    totals[name] = totals.get(name, 0) + value
        return totals

    def get_metrics(self, key_or_proxy: Any) -> Metrics | None:
        """A copy of the metrics of a key, a batch of keys or a store proxy."""
        with self._lock:
            metrics = self._metrics.get(_index(key_or_proxy))
            return copy.deepcopy(metrics)
