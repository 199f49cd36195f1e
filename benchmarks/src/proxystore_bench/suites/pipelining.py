"""Task pipelining: a chain of dependent tasks, sequential or pipelined by futures.

Each task of a chain of ``length`` takes its predecessor's output (``size``
bytes) and makes one of the same size. A task runs ``task_sleep`` seconds: a
fraction ``overhead`` of it is start-up work that needs no input (imports,
loading a model), the rest is compute on the input, which includes resolving
the input and generating the output. Three ways to run the chain:

- ``sequential-value``: submit a task when its predecessor is done, passing the
  bytes through the engine (the baseline);
- ``sequential-proxy``: the same, passing store proxies;
- ``pipelined``: submit task ``i`` ``i * (1 - overhead) * task_sleep`` seconds
  after the first, with a proxy of its predecessor's `Future` (not set yet) and
  its own future to set: its start-up work overlaps its predecessor's compute,
  and it blocks only when it touches its input (as ProxyStore's
  ``task_pipelining`` benchmark does).

The ideal makespans are ``length * task_sleep`` (sequential) and
``overhead * task_sleep + length * (1 - overhead) * task_sleep`` (pipelined).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import pathlib
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated
from typing import Any

import typer

from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.futures import Future
from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store.utils import get_factory_of_store_proxy
from proxystore.testing.redis import RedisServer
from proxystore_bench.harness import options
from proxystore_bench.harness.records import Record
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure

__all__ = [
    'CONNECTORS',
    'METHODS',
    'PipelineRecord',
    'PipelineSettings',
    'command',
    'run_pipelining_benchmark',
]

METHODS = ('sequential-value', 'sequential-proxy', 'pipelined')
CONNECTORS = ('redis', 'shm')
RESIDUAL_TARGET = 0.1  # seconds over the ideal pipelined makespan, per chain


@dataclasses.dataclass(frozen=True)
class PipelineSettings(Settings):
    """Shape of the chain."""

    length: int = 8
    size: int = 10_000_000
    task_sleep: float = 0.5
    overheads: tuple[float, ...] = (0.0, 0.2, 0.5, 0.9)
    connectors: tuple[str, ...] = CONNECTORS
    repeat: int = 3

    @classmethod
    def quick(cls) -> PipelineSettings:
        """A short run: one overhead fraction, Redis only, once."""
        return cls(task_sleep=0.2, overheads=(0.5,), connectors=('redis',), repeat=1)

    @classmethod
    def full(cls) -> PipelineSettings:
        """8 tasks of 0.5 s passing 10 MB, at four overhead fractions."""
        return cls()

    def validate(self) -> None:
        """Raise `ValueError` for a chain that cannot run."""
        if self.length < 1 or self.size < 1 or self.repeat < 1:
            raise ValueError('length, size and repeat must be at least 1.')
        if self.task_sleep <= 0:
            raise ValueError('task_sleep must be positive.')
        if not self.overheads or not all(0 <= f < 1 for f in self.overheads):
            raise ValueError('overhead fractions must be in [0, 1).')
        unknown = set(self.connectors) - set(CONNECTORS)
        if unknown or not self.connectors:
            raise ValueError(
                f'Unknown connectors {sorted(unknown)}; choose from {CONNECTORS}.',
            )


@dataclasses.dataclass(frozen=True)
class PipelineRecord(Record):
    """The best makespan of one method at one overhead fraction."""

    method: str
    connector: str
    overhead: float
    length: int
    size: int
    task_sleep: float
    makespan_s: float
    ideal_s: float

    @property
    def residual_s(self) -> float:
        """Seconds over the ideal makespan."""
        return self.makespan_s - self.ideal_s

    @property
    def target(self) -> str | None:
        """The issue's target for the pipelined chain."""
        return (
            f'<= {RESIDUAL_TARGET} s over ideal' if self.method == 'pipelined' else None
        )

    @property
    def meets_target(self) -> bool | None:
        """Whether the target is met (``None``: no target)."""
        if self.method != 'pipelined':
            return None
        return self.residual_s <= RESIDUAL_TARGET


def _compute(data: Any, size: int, budget: float, start: float) -> bytes:
    """Use the input, make the output, and fill the rest of the budget.

    Resolving the input (and making the output) is part of the compute time.
    """
    assert len(data) == size  # resolves a proxy: waits for a pipelined input
    output = bytes(size)
    remaining = budget - (time.perf_counter() - start)
    if remaining > 0:
        time.sleep(remaining)
    return output


def task_by_value(data: bytes, size: int, sleep: float, overhead: float) -> bytes:
    """A sequential task: start-up, then compute on the bytes it was given."""
    time.sleep(overhead * sleep)
    return _compute(data, size, (1 - overhead) * sleep, time.perf_counter())


def task_by_proxy(
    data: Proxy[bytes], size: int, sleep: float, overhead: float
) -> Proxy[bytes]:
    """A sequential task taking and returning store proxies."""
    time.sleep(overhead * sleep)
    output = _compute(data, size, (1 - overhead) * sleep, time.perf_counter())
    store = get_factory_of_store_proxy(data).get_store()
    return store.proxy(output, evict=True, populate_target=False)


def task_pipelined(
    data: Proxy[bytes],
    output: Future[bytes],
    size: int,
    sleep: float,
    overhead: float,
) -> None:
    """A pipelined task: start-up overlaps the predecessor; then compute, set."""
    time.sleep(overhead * sleep)
    output.set_result(_compute(data, size, (1 - overhead) * sleep, time.perf_counter()))


def _sequential_value(pool: Any, s: PipelineSettings, f: float, _: Any) -> float:
    data = bytes(s.size)
    start = time.perf_counter()
    for _ in range(s.length):
        data = pool.submit(task_by_value, data, s.size, s.task_sleep, f).result()
    return time.perf_counter() - start


def _sequential_proxy(pool: Any, s: PipelineSettings, f: float, store: Any) -> float:
    data = store.proxy(bytes(s.size), evict=True, populate_target=False)
    start = time.perf_counter()
    for _ in range(s.length):
        data = pool.submit(task_by_proxy, data, s.size, s.task_sleep, f).result()
    elapsed = time.perf_counter() - start
    assert len(data) == s.size  # the last output (and evicts it)
    return elapsed


def _pipelined(pool: Any, s: PipelineSettings, f: float, store: Any) -> float:
    futures = [
        store.future(evict=True, polling_interval=0.001) for _ in range(s.length)
    ]
    first = store.proxy(bytes(s.size), evict=True, populate_target=False)
    inputs = [first, *(future.proxy() for future in futures[:-1])]
    start = time.perf_counter()
    tasks = []
    for i, (data, future) in enumerate(zip(inputs, futures, strict=True)):
        # Task i starts its start-up work while task i-1 computes, timed so that
        # its input is due just as the start-up ends.
        delay = start + i * (1 - f) * s.task_sleep - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        tasks.append(pool.submit(task_pipelined, data, future, s.size, s.task_sleep, f))
    last = futures[-1].result(timeout=600)
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.result(timeout=600)
    assert len(last) == s.size
    return elapsed


RUNNERS = {
    'sequential-value': _sequential_value,
    'sequential-proxy': _sequential_proxy,
    'pipelined': _pipelined,
}


def _ideal(method: str, s: PipelineSettings, f: float) -> float:
    if method == 'pipelined':
        return f * s.task_sleep + s.length * (1 - f) * s.task_sleep
    return s.length * s.task_sleep


@contextlib.contextmanager
def _store(kind: str) -> Iterator[Store[Any]]:
    if kind == 'shm':
        with Store('pipelining-shm', SharedMemoryConnector(), register=True) as store:
            yield store
        return
    with (
        tempfile.TemporaryDirectory(prefix='pspipe') as directory,
        RedisServer(pathlib.Path(directory) / 'server') as server,
        Store(
            'pipelining-redis',
            RedisConnector('127.0.0.1', server.port),
            register=True,
        ) as store,
    ):
        yield store


def run_pipelining_benchmark(settings: PipelineSettings) -> list[PipelineRecord]:
    """Run every method at every overhead fraction; keep each best makespan.

    Raises:
        ValueError: If the settings are invalid.
    """
    settings.validate()
    context = multiprocessing.get_context('spawn')
    records: list[PipelineRecord] = []
    # One worker per task: with a large start-up fraction every task of the
    # chain may be running at once (they sleep: this costs memory, not cores).
    with ProcessPoolExecutor(settings.length, mp_context=context) as pool:
        # Start every worker and import this module there before timing.
        warmups = [
            pool.submit(task_by_value, b'w', 1, 0.2, 0.0)
            for _ in range(settings.length)
        ]
        for warm in warmups:
            warm.result()
        for kind in settings.connectors:
            with _store(kind) as store:
                for overhead in settings.overheads:
                    for method in METHODS:
                        if (
                            method == 'sequential-value'
                            and kind != settings.connectors[0]
                        ):
                            continue  # no store involved: measured once
                        best = min(
                            RUNNERS[method](pool, settings, overhead, store)
                            for _ in range(settings.repeat)
                        )
                        records.append(
                            PipelineRecord(
                                method=method,
                                connector='-' if method == 'sequential-value' else kind,
                                overhead=overhead,
                                length=settings.length,
                                size=settings.size,
                                task_sleep=settings.task_sleep,
                                makespan_s=best,
                                ideal_s=_ideal(method, settings, overhead),
                            ),
                        )
    return records


def command(
    quick: options.Quick = True,
    length: Annotated[
        int | None, typer.Option(min=1, help='Tasks in the chain.')
    ] = None,
    size: Annotated[
        int | None, typer.Option(min=1, help='Bytes passed between tasks.')
    ] = None,
    task_sleep: Annotated[
        float | None, typer.Option(min=0.001, help='Seconds each task runs.')
    ] = None,
    overheads: Annotated[
        str | None,
        typer.Option(help='Start-up fractions of a task, e.g. 0,0.5,0.9.'),
    ] = None,
    connectors: Annotated[
        str | None, typer.Option(help='Channels of the proxies: redis,shm.')
    ] = None,
    repeat: options.Repeat = None,
) -> Results:
    """Task pipelining: a chain of dependent tasks, sequential or pipelined.

    Sequential by value, sequential by proxy, and pipelined with futures (tasks
    submitted before their input exists), on a process pool.
    """
    settings = choose(
        PipelineSettings,
        quick=quick,
        length=length,
        size=size,
        task_sleep=task_sleep,
        overheads=options.numbers(overheads),
        connectors=options.names(connectors),
        repeat=repeat,
    )
    records = measure(
        'running the chains...', lambda _: run_pipelining_benchmark(settings)
    )
    return Results('pipelining', records)
