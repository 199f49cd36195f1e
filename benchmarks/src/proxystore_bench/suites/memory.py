"""The memory suite: a staged fan-out/fan-in workflow; who frees the objects, when.

Each round, the driver stores a large input; ``fanout`` tasks read it and each
store a medium output; one task reads those and stores a small output, which the
driver reads. Three ways to manage the store's memory are run on the same
Redis server and process pool, one after the other:

- ``default``: plain proxies, never evicted (what forgetting costs);
- ``manual``: plain proxies, and the driver evicts each stage's inputs as soon
  as the stage is done (the hand-written ideal);
- ``owned``: `Store.owned_proxy`, inputs lent with `borrow` through
  `proxystore.ownership.submit`, results taken with `into_owned`; nothing is
  evicted by hand.

A sampler thread records the server's ``used_memory``, its number of keys and
the RSS of every process (driver, workers, server) every ``interval`` seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import pathlib
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated
from typing import Any

import typer

from proxystore.connectors.redis import RedisConnector
from proxystore.ownership import borrow
from proxystore.ownership import into_owned
from proxystore.ownership import submit
from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store.utils import get_factory_of_store_proxy
from proxystore.store.utils import get_key
from proxystore.testing.redis import RedisServer
from proxystore_bench.harness import options
from proxystore_bench.harness.records import Record
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.sampling import Sampler
from proxystore_bench.harness.sampling import process_tree_rss
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure

__all__ = [
    'MODES',
    'MemoryRecord',
    'MemorySample',
    'MemorySettings',
    'command',
    'run_memory_benchmark',
    'stage',
]

MODES = ('default', 'manual', 'owned')
MB = 1_000_000
PEAK_TARGET = 1.05  # owned peak / manual peak


@dataclasses.dataclass(frozen=True)
class MemorySettings(Settings):
    """Shape of the workflow."""

    rounds: int = 4
    sizes: tuple[int, int, int] = (50 * MB, 5 * MB, 1 * MB)
    fanout: int = 2
    task_sleep: float = 0.5
    workers: int = 2
    interval: float = 0.01

    @classmethod
    def quick(cls) -> MemorySettings:
        """A short run (smoke test of the whole path)."""
        return cls(rounds=2, task_sleep=0.2)

    @classmethod
    def full(cls) -> MemorySettings:
        """The issue's workflow: 50/5/1 MB, 2 workers, 0.5 s tasks, 4 rounds."""
        return cls()

    def validate(self) -> None:
        """Raise `ValueError` for a shape that cannot run."""
        if self.rounds < 1 or self.fanout < 1 or self.workers < 1:
            raise ValueError('rounds, fanout and workers must be at least 1.')
        if min(self.sizes) < 1 or self.task_sleep < 0 or self.interval <= 0:
            raise ValueError('sizes and interval must be positive, task_sleep >= 0.')

    @property
    def produced_bytes(self) -> int:
        """Bytes stored by one run of the workflow."""
        large, medium, small = self.sizes
        return self.rounds * (large + self.fanout * medium + small)


@dataclasses.dataclass(frozen=True)
class MemorySample:
    """One sample of the sampler thread."""

    mode: str
    time_s: float
    store_bytes: int
    keys: int
    rss_bytes: int


@dataclasses.dataclass(frozen=True)
class MemoryRecord(Record):
    """The outcome of one mode."""

    mode: str
    makespan_s: float
    peak_store_bytes: int
    residual_store_bytes: int
    residual_keys: int
    peak_rss_bytes: int
    produced_bytes: int
    peak_vs_manual: float | None

    @property
    def target(self) -> str | None:
        """The issue's target for this mode."""
        if self.mode == 'owned':
            return f'peak <= {PEAK_TARGET}x manual, no key left'
        return None

    @property
    def meets_target(self) -> bool | None:
        """Whether the target is met (``None``: no target)."""
        if self.mode != 'owned' or self.peak_vs_manual is None:
            return None
        return self.peak_vs_manual <= PEAK_TARGET and self.residual_keys == 0


def stage(nbytes: int, sleep: float, *inputs: Any) -> Proxy[bytes]:
    """A task: read every input, work ``sleep`` seconds, store ``nbytes``."""
    total = sum(len(data) for data in inputs)  # resolves each input
    assert total > 0
    time.sleep(sleep)
    store = get_factory_of_store_proxy(inputs[0]).get_store()
    return store.proxy(os.urandom(nbytes), populate_target=False)


class _Sampler(Sampler[MemorySample]):
    """Samples the server and the processes until stopped."""

    sample_at_exit = False

    def __init__(self, server: RedisServer, interval: float) -> None:
        super().__init__(interval)
        self.server = server
        self._mode = ''
        self._client = server.client()

    def store_bytes(self) -> int:
        return int(self._client.info('memory')['used_memory'])

    def keys(self) -> int:
        return int(self._client.dbsize())

    def _rss(self) -> int:
        return process_tree_rss()

    def take(self) -> MemorySample:
        return MemorySample(
            mode=self._mode,
            time_s=self.elapsed(),
            store_bytes=self.store_bytes(),
            keys=self.keys(),
            rss_bytes=self._rss(),
        )

    def begin(self, mode: str) -> None:
        self._mode = mode
        self.started = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        self._client.close()


def _round_default(store: Store[Any], pool: Any, s: MemorySettings) -> list[Any]:
    large, medium, small = s.sizes
    kept: list[Any] = []
    data = store.proxy(os.urandom(large), populate_target=False)
    firsts = [pool.submit(stage, medium, s.task_sleep, data) for _ in range(s.fanout)]
    outputs = [f.result() for f in firsts]
    final = pool.submit(stage, small, s.task_sleep, *outputs).result()
    assert len(final) == small
    kept += [data, *outputs, final]  # never evicted
    return kept


def _round_manual(store: Store[Any], pool: Any, s: MemorySettings) -> list[Any]:
    large, medium, small = s.sizes
    data = store.proxy(os.urandom(large), populate_target=False)
    firsts = [pool.submit(stage, medium, s.task_sleep, data) for _ in range(s.fanout)]
    outputs = [f.result() for f in firsts]
    store.evict(get_key(data))
    final = pool.submit(stage, small, s.task_sleep, *outputs).result()
    store.evict_batch([get_key(o) for o in outputs])
    assert len(final) == small
    store.evict(get_key(final))
    return []


def _round_owned(store: Store[Any], pool: Any, s: MemorySettings) -> list[Any]:
    large, medium, small = s.sizes
    data = store.owned_proxy(os.urandom(large), populate_target=False)
    firsts = [
        submit(pool.submit, args=(stage, medium, s.task_sleep, borrow(data)))
        for _ in range(s.fanout)
    ]
    outputs = [into_owned(f.result()) for f in firsts]
    del data, firsts  # evicted once the borrows are released
    last = submit(
        pool.submit,
        args=(stage, small, s.task_sleep, *(borrow(o) for o in outputs)),
    )
    del outputs
    final = into_owned(last.result())
    del last
    assert len(final) == small
    return []


ROUNDS: dict[str, Callable[[Store[Any], Any, MemorySettings], list[Any]]] = {
    'default': _round_default,
    'manual': _round_manual,
    'owned': _round_owned,
}


@dataclasses.dataclass
class _Outcome:
    mode: str
    makespan_s: float
    baseline_store: int
    baseline_rss: int
    residual_store: int
    residual_keys: int


def _run_mode(
    mode: str,
    store: Store[Any],
    pool: Any,
    sampler: _Sampler,
    settings: MemorySettings,
) -> _Outcome:
    baseline_store, baseline_rss = sampler.store_bytes(), sampler._rss()
    sampler.begin(mode)
    start = time.perf_counter()
    kept: list[Any] = []
    for _ in range(settings.rounds):
        kept += ROUNDS[mode](store, pool, settings)
    makespan = time.perf_counter() - start
    deadline = time.monotonic() + 10  # done-callbacks run a moment after results
    while mode != 'default' and sampler.keys() and time.monotonic() < deadline:
        time.sleep(0.01)
    outcome = _Outcome(
        mode=mode,
        makespan_s=makespan,
        baseline_store=baseline_store,
        baseline_rss=baseline_rss,
        residual_store=sampler.store_bytes() - baseline_store,
        residual_keys=sampler.keys(),
    )
    sampler.begin('')  # what follows belongs to no mode
    kept.clear()
    store.connector.close(clear=True)  # the next mode starts empty
    time.sleep(0.2)
    return outcome


@dataclasses.dataclass(frozen=True)
class MemoryResult:
    """Records per mode, and every sample."""

    records: list[MemoryRecord]
    samples: list[MemorySample]


@contextlib.contextmanager
def _server() -> Iterator[RedisServer]:
    with (
        tempfile.TemporaryDirectory(prefix='psmem') as directory,
        RedisServer(pathlib.Path(directory) / 'server') as server,
    ):
        yield server


def run_memory_benchmark(
    settings: MemorySettings,
    modes: tuple[str, ...] = MODES,
) -> MemoryResult:
    """Run the workflow once per mode and measure memory.

    Raises:
        ValueError: If the settings or a mode are invalid.
    """
    settings.validate()
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f'Unknown modes {sorted(unknown)}; choose from {MODES}.')
    context = multiprocessing.get_context('spawn')
    outcomes: list[_Outcome] = []
    with _server() as server:
        connector = RedisConnector('127.0.0.1', server.port)
        with (
            Store('memory-bench', connector, cache_size=0, register=True) as store,
            ProcessPoolExecutor(settings.workers, mp_context=context) as pool,
            _Sampler(server, settings.interval) as sampler,
        ):
            warm = store.proxy(b'warm')  # start the workers before measuring
            for future in [pool.submit(stage, 1, 0, warm) for _ in range(4)]:
                future.result()
            store.connector.close(clear=True)
            for mode in modes:
                outcomes.append(_run_mode(mode, store, pool, sampler, settings))
        samples = sampler.samples
    return MemoryResult(_records(outcomes, samples, settings), samples)


def _records(
    outcomes: list[_Outcome],
    samples: list[MemorySample],
    settings: MemorySettings,
) -> list[MemoryRecord]:
    peaks: dict[str, tuple[int, int]] = {}
    for outcome in outcomes:
        mine = [s for s in samples if s.mode == outcome.mode]
        peak_store = max((s.store_bytes for s in mine), default=outcome.baseline_store)
        peak_rss = max((s.rss_bytes for s in mine), default=outcome.baseline_rss)
        peaks[outcome.mode] = (
            peak_store - outcome.baseline_store,
            peak_rss - outcome.baseline_rss,
        )
    manual = peaks.get('manual', (0, 0))[0]
    return [
        MemoryRecord(
            mode=o.mode,
            makespan_s=o.makespan_s,
            peak_store_bytes=peaks[o.mode][0],
            residual_store_bytes=o.residual_store,
            residual_keys=o.residual_keys,
            peak_rss_bytes=peaks[o.mode][1],
            produced_bytes=settings.produced_bytes,
            peak_vs_manual=peaks[o.mode][0] / manual if manual > 0 else None,
        )
        for o in outcomes
    ]


def command(
    quick: options.Quick = True,
    rounds: Annotated[int | None, typer.Option(min=1, help='Workflow rounds.')] = None,
    sizes: Annotated[
        str | None,
        typer.Option(help='Bytes of the large, medium and small objects: L,M,S.'),
    ] = None,
    task_sleep: Annotated[
        float | None, typer.Option(min=0, help='Seconds each task works.')
    ] = None,
) -> Results:
    """Memory of a staged fan-out/fan-in workflow: default, manual, owned proxies.

    On a Redis server and a process pool of 2 workers; the store's memory, its
    number of objects and the processes' RSS are sampled every 10 ms.
    """
    # A cycle-breaker: memory_report imports this module for its records.
    from proxystore_bench.suites import memory_report

    chosen = options.sizes(sizes)
    if chosen is not None and len(chosen) != 3:
        raise typer.BadParameter(f'{sizes!r}: give three sizes, L,M,S')
    settings = choose(
        MemorySettings,
        quick=quick,
        sizes=chosen,
        rounds=rounds,
        task_sleep=task_sleep,
    )
    result = measure(
        'running the workflow three ways...',
        lambda _: run_memory_benchmark(settings),
    )
    return Results(
        'memory',
        result.records,
        plot=lambda path: memory_report.plot_memory(result.samples, path),
        extra={
            'memory-samples.csv': lambda path: memory_report.write_samples_csv(
                result.samples, path
            ),
        },
    )
