"""Stream throughput: data through a broker, or only events, with the data in a store.

One producer process sends items of ``size`` bytes to one consumer process,
which measures items/s and bytes/s from the first item it receives to the last.
Each run sends as many items as fit in ``seconds`` (at least `MIN_ITEMS`), up to
``count`` and ``max_bytes``. Four methods, at each size:

- ``raw-store``: the store's raw bandwidth, in one process: redis-py SET then
  GET of the item's bytes (or writing and reading a file in ``/dev/shm`` for
  the shared-memory store), the baseline of ``proxy-resolve``;
- ``pubsub-data``: the bytes themselves through Redis pub/sub (redis-py on
  both sides, no ProxyStore);
- ``proxy-resolve``: `StreamProducer` puts each item in a store and publishes an
  event on Redis pub/sub; the consumer iterates `StreamConsumer` and resolves
  each proxy (``len``), which fetches the item and evicts it;
- ``proxy-dispatch``: the same, but the consumer only forwards each proxy
  (pickles it, as it would to hand it to a worker) without resolving it; it
  evicts the forwarded items in small batches so that the store stays bounded.

The producer and the consumer are two spawned processes that serve every case of
a run (imports and start-up are paid once, before any timing). A case starts
with the consumer: it subscribes and says it is ready before the producer is
told to send, so pub/sub loses nothing. The Redis server is started with no
output-buffer limit for pub/sub clients, which it would otherwise disconnect
when large messages pile up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import pathlib
import pickle
import queue
import secrets
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from collections.abc import Iterator
from typing import Annotated
from typing import Any

import redis
import typer

from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.connectors.shm import default_directory
from proxystore.store import Store
from proxystore.store.utils import get_factory_of_store_proxy
from proxystore.store.utils import get_key
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.shims.redis import RedisPublisher
from proxystore.stream.shims.redis import RedisSubscriber
from proxystore.testing.redis import RedisServer
from proxystore_bench.harness import options
from proxystore_bench.harness.records import Record
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure

__all__ = [
    'METHODS',
    'MIN_ITEMS',
    'PUBSUB_TARGET',
    'RAW_TARGET',
    'STORES',
    'TARGET_MIN_SIZE',
    'StreamRecord',
    'StreamSettings',
    'command',
    'run_stream_benchmark',
    'serve',
]

METHODS = ('raw-store', 'pubsub-data', 'proxy-resolve', 'proxy-dispatch')
STORES = ('redis', 'shm')
MB = 1_000_000
MIN_ITEMS = 3  # first to last item spans at least two items
RAW_TARGET = 0.8  # proxy-resolve / raw-store
PUBSUB_TARGET = 3.0  # proxy-resolve / pubsub-data
TARGET_MIN_SIZE = 1 * MB
# Forwarded (unresolved) items are evicted once this many bytes of them wait.
_DISPATCH_EVICT_BYTES = 64 * MB
_HOST = '127.0.0.1'


@dataclasses.dataclass(frozen=True)
class StreamSettings(Settings):
    """Shape of a run."""

    sizes: tuple[int, ...] = (10_000, 100_000, MB, 10 * MB, 100 * MB)
    count: int = 20_000
    seconds: float = 3.0
    max_bytes: int = 2_000 * MB
    stores: tuple[str, ...] = STORES
    repeat: int = 3
    timeout: float = 120.0

    @classmethod
    def quick(cls) -> StreamSettings:
        """A short run: 10 KB and 1 MB, a fraction of a second per case."""
        return cls(sizes=(10_000, MB), count=500, seconds=0.3, repeat=1)

    @classmethod
    def full(cls) -> StreamSettings:
        """10 KB to 100 MB, up to 3 s or 2 GB per case, best of 3."""
        return cls()

    def validate(self) -> None:
        """Raise `ValueError` for a run that cannot be made."""
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError('sizes must be at least 1 byte.')
        if self.count < MIN_ITEMS:
            raise ValueError(f'count must be at least {MIN_ITEMS}.')
        if self.repeat < 1:
            raise ValueError('repeat must be at least 1.')
        if self.seconds <= 0 or self.timeout <= 0 or self.max_bytes < 1:
            raise ValueError('seconds, timeout and max_bytes must be positive.')
        unknown = set(self.stores) - set(STORES)
        if unknown or not self.stores:
            raise ValueError(f'Unknown stores {sorted(unknown)}; choose from {STORES}.')

    def limit(self, size: int) -> int:
        """Most items of ``size`` bytes in one case."""
        return max(MIN_ITEMS, min(self.count, self.max_bytes // size))


@dataclasses.dataclass(frozen=True)
class StreamRecord(Record):
    """The best throughput of one method, store and item size.

    ``items`` and ``seconds`` are what the throughput is measured over: for a
    stream, the items after the first and the time from the first to the last
    arrival at the consumer; for ``raw-store``, every item and the time of its
    writes and reads. ``vs_raw`` and ``vs_pubsub`` (proxy methods only) divide
    the throughput by that of ``raw-store`` on the same store and of
    ``pubsub-data``, at the same size.
    """

    method: str
    store: str
    size: int
    items: int
    seconds: float
    items_per_s: float
    mb_per_s: float
    vs_raw: float | None
    vs_pubsub: float | None

    @property
    def target(self) -> str | None:
        """The issue's target (stream-by-proxy with resolve, items >= 1 MB)."""
        if self.method != 'proxy-resolve' or self.size < TARGET_MIN_SIZE:
            return None
        return f'>= {RAW_TARGET}x raw store, >= {PUBSUB_TARGET:g}x pub/sub'

    @property
    def meets_raw_target(self) -> bool | None:
        """Whether ``vs_raw`` meets its target (``None``: no target)."""
        if self.target is None or self.vs_raw is None:
            return None
        return self.vs_raw >= RAW_TARGET

    @property
    def meets_pubsub_target(self) -> bool | None:
        """Whether ``vs_pubsub`` meets its target (``None``: no target)."""
        if self.target is None or self.vs_pubsub is None:
            return None
        return self.vs_pubsub >= PUBSUB_TARGET

    @property
    def meets_target(self) -> bool | None:
        """Whether both ratios meet their targets (``None``: no target)."""
        checks = [self.meets_raw_target, self.meets_pubsub_target]
        if self.target is None or None in checks:
            return None
        return all(checks)


# --- cases: what the two processes are told ----------------------------------------


@dataclasses.dataclass(frozen=True)
class _Case:
    method: str
    store: str
    size: int
    limit: int
    seconds: float
    timeout: float
    port: int
    topic: str
    shm_name: str | None = None
    redis_prefix: str | None = None


@dataclasses.dataclass(frozen=True)
class _Received:
    items: int
    first: float
    last: float


def _store(case: _Case) -> Store[Any]:
    """The store of a case, made alike by the producer and the consumer.

    The consumer has the store itself rather than making it from the
    producer's announcement (which needs a trusted broker); the two describe it
    the same way, so the events' store ids match. Its data is owned by the
    parent, which clears it after the case.
    """
    connector: Any
    if case.store == 'shm':
        connector = SharedMemoryConnector(case.shm_name, clear=False)
    else:
        connector = RedisConnector(_HOST, case.port, prefix=case.redis_prefix)
    # No cache: a consumer that resolves an item fetches it.
    return Store(f'stream-bench-{case.topic}', connector, cache_size=0)


def _sending(case: _Case) -> Iterator[int]:
    """Item numbers until the case's count or time budget is used up."""
    start = time.perf_counter()
    for sent in range(case.limit):
        if sent >= MIN_ITEMS and time.perf_counter() - start >= case.seconds:
            return
        yield sent


# The pub/sub baseline speaks RESP2. Under RESP3 (redis-py 8's default) every
# message is a push, and redis-py 8.1.0 formats each push into a debug string
# whether or not debug logging is on (redis/redis-py#4230): about 8 ms per MB
# received, which would make the baseline several times slower than Redis is.
_PUBSUB_PROTOCOL = 2


def _produce_data(case: _Case) -> int:
    data = os.urandom(case.size)
    client = redis.Redis(host=_HOST, port=case.port, protocol=_PUBSUB_PROTOCOL)
    sent = 0
    try:
        for sent in _sending(case):  # noqa: B007 - the count is the result
            if client.publish(case.topic, data) != 1:
                raise RuntimeError('pub/sub: the consumer is not subscribed.')
        client.publish(case.topic, b'')  # the end
    finally:
        client.close()
    return sent + 1


def _produce_proxies(case: _Case) -> int:
    data = os.urandom(case.size)
    store = _store(case)
    sent = 0
    try:
        with StreamProducer[bytes](
            RedisPublisher(_HOST, case.port, fans_out=False),  # one reader
            stores={case.topic: store},
        ) as producer:
            for sent in _sending(case):  # noqa: B007 - the count is the result
                producer.send(case.topic, data, evict=True)
            producer.close_topics(case.topic)
    finally:
        store.close()
    return sent + 1


class _Clock:
    """Arrival times of the first and last item, and their number."""

    def __init__(self, case: _Case) -> None:
        self.case = case
        self.items = 0
        self.first = self.last = 0.0
        self.deadline = time.monotonic() + case.timeout

    def tick(self) -> None:
        now = time.perf_counter()
        if self.items == 0:
            self.first = now
        self.last = now
        self.items += 1
        if self.items > self.case.limit:
            raise RuntimeError(f'more than the {self.case.limit} items sent')
        if time.monotonic() > self.deadline:
            raise TimeoutError(f'the case took over {self.case.timeout} s')

    def result(self) -> _Received:
        return _Received(self.items, self.first, self.last)


def _consume_data(case: _Case, ready: Callable[[], None]) -> _Received:
    client = redis.Redis(host=_HOST, port=case.port, protocol=_PUBSUB_PROTOCOL)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    clock = _Clock(case)
    try:
        pubsub.subscribe(case.topic)
        confirmed = pubsub.get_message(timeout=case.timeout)
        if confirmed is None or confirmed['type'] != 'subscribe':
            raise RuntimeError(f'pub/sub: subscription not confirmed ({confirmed})')
        ready()
        while time.monotonic() < clock.deadline:
            message = pubsub.get_message(timeout=1.0)
            if message is None or message['type'] != 'message':
                continue
            if not message['data']:
                break  # the end
            if len(message['data']) != case.size:
                raise RuntimeError(f'pub/sub: {len(message["data"])} bytes received')
            clock.tick()
        else:
            raise TimeoutError(f'pub/sub: no end within {case.timeout} s')
    finally:
        pubsub.close()
        client.close()
    return clock.result()


def _consume_proxies(case: _Case, ready: Callable[[], None]) -> _Received:
    resolve = case.method == 'proxy-resolve'
    clock = _Clock(case)
    consumer = StreamConsumer[bytes](
        RedisSubscriber(
            _HOST, case.port, case.topic, timeout=case.timeout, fans_out=False
        ),
        stores=[_store(case)],
    )
    forwarded: list[Any] = []
    try:
        ready()
        for item in consumer:
            if resolve:
                if len(item) != case.size:  # fetches the item, and evicts it
                    raise RuntimeError(f'{len(item)} bytes resolved')
            else:
                # What handing the proxy to a worker costs; then the item is
                # evicted, standing in for the worker that would resolve it.
                pickle.dumps(item)
                forwarded.append(item)
                if len(forwarded) * case.size >= _DISPATCH_EVICT_BYTES:
                    _evict(forwarded)
            clock.tick()
        _evict(forwarded)
    finally:
        consumer.close(stores=True)
    return clock.result()


def _evict(proxies: list[Any]) -> None:
    """Evict the items of unresolved proxies (of one store), and forget them."""
    if proxies:
        store = get_factory_of_store_proxy(proxies[0]).get_store()
        store.evict_batch([get_key(p) for p in proxies])
        proxies.clear()


PRODUCERS: dict[str, Callable[[_Case], int]] = {
    'pubsub-data': _produce_data,
    'proxy-resolve': _produce_proxies,
    'proxy-dispatch': _produce_proxies,
}
CONSUMERS: dict[str, Callable[[_Case, Callable[[], None]], _Received]] = {
    'pubsub-data': _consume_data,
    'proxy-resolve': _consume_proxies,
    'proxy-dispatch': _consume_proxies,
}

_IDLE = 600.0  # a worker left without commands this long gives up


def serve(role: str, commands: Any, results: Any) -> None:
    """A producer or consumer process: run the cases it is sent, until ``None``.

    Each case answers with ``('ready', None)`` (a consumer, once subscribed),
    then ``('done', result)`` or ``('error', traceback)``.
    """
    while True:
        try:
            case = commands.get(timeout=_IDLE)
        except queue.Empty:
            return
        if case is None:
            return
        try:
            if role == 'consumer':
                received = CONSUMERS[case.method](
                    case, lambda: results.put(('ready', None))
                )
                results.put(('done', received))
            else:
                results.put(('done', PRODUCERS[case.method](case)))
        except Exception:
            results.put(('error', traceback.format_exc()))


class _Worker:
    """One spawned process serving cases, with its command and result queues."""

    def __init__(self, context: Any, role: str) -> None:
        self.role = role
        self.commands = context.Queue()
        self.results = context.Queue()
        self.process = context.Process(
            target=serve,
            args=(role, self.commands, self.results),
            name=f'stream-bench-{role}',
            daemon=True,
        )
        self.process.start()

    def expect(self, kind: str, timeout: float) -> Any:
        """The next answer, which must be ``kind``.

        Raises:
            RuntimeError: If the process failed, died, or answered otherwise.
            TimeoutError: If it did not answer in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                # Short waits, so that a process that died is noticed.
                got, value = self.results.get(timeout=0.5)
                break
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(
                        f'the {self.role} process exited '
                        f'({self.process.exitcode}) before its {kind!r}',
                    ) from None
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f'the {self.role} gave no {kind!r} in {timeout} s'
                    ) from None
        if got == 'error':
            raise RuntimeError(f'the {self.role} failed:\n{value}')
        if got != kind:
            raise RuntimeError(f'the {self.role} answered {got!r}, not {kind!r}')
        return value

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # the process may be gone already
            self.commands.put(None)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
        self.commands.close()
        self.results.close()


# --- the run -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Measured:
    method: str
    store: str
    size: int
    items: int
    seconds: float

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0


def _raw(
    store: str,
    size: int,
    settings: StreamSettings,
    write: Callable[[bytes], object],
    read: Callable[[], bytes],
    remove: Callable[[], object],
) -> _Measured:
    """Write then read ``size`` bytes, timed, as often as the settings allow."""
    data = os.urandom(size)
    limit = settings.limit(size)
    elapsed = 0.0
    done = 0
    for done in range(1, limit + 1):
        start = time.perf_counter()
        write(data)
        back = read()
        elapsed += time.perf_counter() - start
        remove()  # untimed: the bandwidth of moving the bytes
        assert len(back) == size
        if done >= MIN_ITEMS and elapsed >= settings.seconds:
            break
    return _Measured('raw-store', store, size, done, elapsed)


def _raw_redis(client: Any, size: int, settings: StreamSettings) -> _Measured:
    return _raw(
        'redis',
        size,
        settings,
        lambda data: client.set('raw-store', data),
        lambda: client.get('raw-store'),
        lambda: client.unlink('raw-store'),
    )


def _raw_shm(directory: pathlib.Path, size: int, settings: StreamSettings) -> _Measured:
    path = directory / 'raw-store'
    return _raw('shm', size, settings, path.write_bytes, path.read_bytes, path.unlink)


class _Run:
    """The server, the two processes and the shared-memory folder of a run."""

    def __init__(self, server: RedisServer, settings: StreamSettings) -> None:
        assert server.port is not None
        self.port = server.port
        self.settings = settings
        self.client = server.client()
        self.cases = 0
        context = multiprocessing.get_context('spawn')
        self.consumer = _Worker(context, 'consumer')
        self.producer = _Worker(context, 'producer')

    def close(self) -> None:
        self.producer.stop()
        self.consumer.stop()
        self.client.close()

    def stream(self, method: str, store: str, size: int) -> _Measured:
        """One case: the consumer subscribes, then the producer sends."""
        self.cases += 1
        settings = self.settings
        topic = f'case-{self.cases}-{secrets.token_hex(3)}'
        owner = None
        if store == 'shm':  # the parent owns the data, so the producer may leave
            owner = SharedMemoryConnector(topic, clear=True)
        case = _Case(
            method=method,
            store=store,
            size=size,
            limit=settings.limit(size),
            seconds=settings.seconds,
            timeout=settings.timeout,
            port=self.port,
            topic=topic,
            shm_name=topic if owner is not None else None,
            redis_prefix=f'items-{topic}:',
        )
        left = 0
        try:
            self.consumer.commands.put(case)
            self.consumer.expect('ready', settings.timeout)
            self.producer.commands.put(case)
            wait = settings.seconds + settings.timeout
            sent = self.producer.expect('done', wait)
            received: _Received = self.consumer.expect('done', wait)
            # Every item must be gone (evicted by the consumer).
            if owner is not None:
                # Objects only: the folder also holds the connector's owner
                # lock (a dot file, see proxystore.connectors._owner).
                left = sum(
                    1
                    for name in os.listdir(owner.directory)
                    if not name.startswith('.')
                )
            else:
                pattern = f'{case.redis_prefix}*'
                left = sum(1 for _ in self.client.scan_iter(match=pattern, count=1000))
        finally:
            if owner is not None:
                owner.close()
            # The broker may keep other keys of the topic (such as its stores).
            self.client.flushdb()
        if received.items != sent:
            raise RuntimeError(
                f'{method}: {sent} items sent, {received.items} received'
            )
        if left:
            raise RuntimeError(f'{method}: {left} items left in the {store} store')
        # From the first item to the last: the items after the first.
        return _Measured(method, store, size, sent - 1, received.last - received.first)


@contextlib.contextmanager
def _server() -> Iterator[RedisServer]:
    with (
        tempfile.TemporaryDirectory(prefix='psstream') as directory,
        RedisServer(
            pathlib.Path(directory) / 'server',
            # Pub/sub clients are disconnected when their output buffer grows
            # past a limit (32 MB by default): large messages need none.
            extra=['--client-output-buffer-limit', 'pubsub 0 0 0'],
        ) as server,
    ):
        yield server


@contextlib.contextmanager
def _shm_directory() -> Iterator[pathlib.Path]:
    path = pathlib.Path(
        tempfile.mkdtemp(prefix='psstream-raw-', dir=default_directory())
    )
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _cases(settings: StreamSettings) -> list[tuple[str, str]]:
    cases = [('raw-store', 'redis'), ('pubsub-data', '-')]
    for store in settings.stores:
        if store != 'redis':
            cases.append(('raw-store', store))
        cases += [('proxy-resolve', store), ('proxy-dispatch', store)]
    return cases


def run_stream_benchmark(
    settings: StreamSettings,
    progress: Callable[[str], None] | None = None,
) -> list[StreamRecord]:
    """Measure every method at every size; keep the best of the repeats.

    Args:
        settings: The run.
        progress: Called with a short description before each case.

    Raises:
        ValueError: If the settings are invalid.
    """
    settings.validate()
    best: dict[tuple[str, str, int], _Measured] = {}
    with _server() as server, _shm_directory() as raw_directory:
        run = _Run(server, settings)
        try:
            for size in settings.sizes:
                for _ in range(settings.repeat):
                    for method, store in _cases(settings):
                        if progress is not None:
                            progress(f'{method} ({store}), {size / MB:g} MB items')
                        if method == 'raw-store' and store == 'redis':
                            measured = _raw_redis(run.client, size, settings)
                        elif method == 'raw-store':
                            measured = _raw_shm(raw_directory, size, settings)
                        else:
                            measured = run.stream(method, store, size)
                        key = (method, store, size)
                        if key not in best or (
                            measured.items_per_s > best[key].items_per_s
                        ):
                            best[key] = measured
        finally:
            run.close()
    return _records(best, settings)


def _records(
    best: dict[tuple[str, str, int], _Measured],
    settings: StreamSettings,
) -> list[StreamRecord]:
    records = []
    for size in settings.sizes:
        pubsub = best[('pubsub-data', '-', size)].items_per_s
        for method, store in _cases(settings):
            m = best[(method, store, size)]
            proxy = method.startswith('proxy-')
            raw = best[('raw-store', store, size)].items_per_s if proxy else 0.0
            records.append(
                StreamRecord(
                    method=method,
                    store=store,
                    size=size,
                    items=m.items,
                    seconds=m.seconds,
                    items_per_s=m.items_per_s,
                    mb_per_s=m.items_per_s * size / MB,
                    vs_raw=m.items_per_s / raw if proxy and raw > 0 else None,
                    vs_pubsub=m.items_per_s / pubsub if proxy and pubsub > 0 else None,
                ),
            )
    return records


def command(
    quick: options.Quick = True,
    sizes: options.Sizes = None,
    count: options.Count = None,
    seconds: options.Seconds = None,
    stores: Annotated[
        str | None, typer.Option(help='Stores of the proxy methods: redis,shm.')
    ] = None,
    repeat: options.Repeat = None,
) -> Results:
    """Stream throughput: data through Redis pub/sub vs stream-by-proxy.

    One producer and one consumer process; items through the broker
    (pubsub-data), events through the broker and items in a store, resolved by
    the consumer (proxy-resolve) or only forwarded (proxy-dispatch); the store's
    raw bandwidth (raw-store) as the baseline.
    """
    settings = choose(
        StreamSettings,
        quick=quick,
        sizes=options.sizes(sizes),
        count=count,
        seconds=seconds,
        stores=options.names(stores),
        repeat=repeat,
    )
    records = measure(
        'measuring stream throughput...',
        lambda status: run_stream_benchmark(
            settings, progress=lambda text: status(f'measuring {text}...')
        ),
    )
    return Results('stream', records)
