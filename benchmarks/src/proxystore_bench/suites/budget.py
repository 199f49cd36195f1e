"""The budget suite: a workflow whose live data is 3x the memory budget.

Producer tasks on a pool of 2 processes each put ``objects_per_task`` numpy
arrays into a store and return their keys and checksums; the driver keeps
every key alive until a consumer stage (tasks on the same pool) reads every
object once and checks its checksum. The live data is ``live_factor`` times
the budget. Modes, run one after the other in one run:

- ``shm-spill``: `SharedMemoryConnector` with ``capacity=budget`` and a spill
  folder on disk (a temporary directory);
- ``shm-unbounded``: the same connector without a capacity (the baseline);
- ``shm-nospill``: ``capacity=budget``, no spill folder, a bounded
  ``full_timeout``: the run cannot finish; what is recorded is the error (it
  must be a `StoreFullError`), how many objects were stored before it, and
  that those are intact;
- ``ray``: ``ray.init(object_store_memory=budget, num_cpus=2)``, the same
  workflow with ``ray.put``/``ray.get`` in the tasks; Ray spills to a
  temporary directory of its own (set with ``object_spilling_config``).

A sampler thread records, every ``interval`` seconds, the RSS of the driver
and all its descendants (pool workers; for Ray, its raylet, GCS and workers
too), the used bytes of ``/dev/shm`` (the whole tmpfs: other users of the
node show up too), the bytes in the store's folder and in the spill folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import wait
from typing import Annotated
from typing import Any

import typer

from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.connectors.shm import StoreFullError
from proxystore.store import Store
from proxystore.store import get_or_create_store
from proxystore.store.config import StoreConfig
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
    'RAY_MINIMUM',
    'BudgetRecord',
    'BudgetSample',
    'BudgetSettings',
    'command',
    'run_budget_benchmark',
]

MODES = ('shm-spill', 'shm-unbounded', 'shm-nospill', 'ray')
MIB = 1 << 20
RAY_MINIMUM = 75 * MIB  # Ray refuses a smaller object_store_memory
MAKESPAN_TARGET = 1.5  # makespan(shm-spill) / makespan(ray)
_SHM = '/dev/shm'


@dataclasses.dataclass(frozen=True)
class BudgetSettings(Settings):
    """Shape of the workflow: budget, object size, how far over the budget."""

    budget: int = 512 * MIB
    object_bytes: int = 32 * MIB
    live_factor: int = 3
    objects_per_task: int = 2
    workers: int = 2
    full_timeout: float = 2.0
    timeout: float = 600.0
    interval: float = 0.02
    modes: tuple[str, ...] = MODES

    @classmethod
    def quick(cls) -> BudgetSettings:
        """96 MiB budget, 8 MiB objects, 288 MiB live."""
        return cls(budget=96 * MIB, object_bytes=8 * MIB, full_timeout=1.0)

    @classmethod
    def full(cls) -> BudgetSettings:
        """512 MiB budget, 32 MiB objects, 1.5 GiB live."""
        return cls()

    @property
    def objects(self) -> int:
        """Objects the workflow stores (live at once before the consumers)."""
        return self.budget * self.live_factor // self.object_bytes

    @property
    def shape(self) -> str:
        """``quick`` or ``full`` if these are those settings, else ``custom``.

        The modes do not count: a run of some modes keeps its shape.
        """
        shape = dataclasses.replace(self, modes=MODES)
        if shape == self.quick():
            return 'quick'
        return 'full' if shape == self.full() else 'custom'

    @property
    def live_bytes(self) -> int:
        """Bytes live at once when every object is stored."""
        return self.objects * self.object_bytes

    def validate(self) -> None:
        """Raise `ValueError` for a shape that cannot run."""
        unknown = [m for m in self.modes if m not in MODES]
        if unknown:
            raise ValueError(f'Unknown modes {unknown}; choose from {list(MODES)}.')
        if not self.modes:
            raise ValueError('Give at least one mode.')
        if min(self.workers, self.objects_per_task, self.live_factor) < 1:
            raise ValueError(
                'workers, objects_per_task and live_factor must be at least 1.'
            )
        if self.object_bytes < 8 or self.budget < self.object_bytes:
            raise ValueError(
                f'object_bytes ({self.object_bytes}) must be at least 8 and at '
                f'most the budget ({self.budget}).',
            )
        if min(self.full_timeout, self.timeout, self.interval) <= 0:
            raise ValueError('full_timeout, timeout and interval must be positive.')
        if 'ray' in self.modes and self.budget < RAY_MINIMUM:
            raise ValueError(
                f'Ray needs object_store_memory >= {RAY_MINIMUM} bytes (75 MiB); '
                f'the budget is {self.budget}: raise it or leave out the ray mode.',
            )


@dataclasses.dataclass(frozen=True)
class BudgetSample:
    """One sample of the sampler thread (bytes above the mode's start)."""

    mode: str
    time_s: float
    rss_bytes: int
    dev_shm_bytes: int
    store_bytes: int
    spilled_bytes: int


@dataclasses.dataclass(frozen=True)
class BudgetRecord(Record):
    """The outcome of one mode.

    ``stored`` objects were put, ``verified`` of them read back with their
    checksum, ``lost`` = ``stored - verified``. ``completed``: every object
    was stored and verified; ``error`` says why not (``Type: message``).
    Peaks are above what was used when the mode started; ``peak_store_bytes``
    is the store's folder in ``/dev/shm`` (``None`` for Ray: its objects live
    in its own store). ``spills``/``restores`` count objects moved to and
    from disk (``None``: not known).
    """

    mode: str
    shape: str
    budget_bytes: int
    object_bytes: int
    objects: int
    stored: int
    verified: int
    lost: int
    completed: bool
    error: str | None
    makespan_s: float | None
    peak_rss_bytes: int
    peak_dev_shm_bytes: int
    peak_store_bytes: int | None
    peak_spilled_bytes: int
    spills: int | None
    restores: int | None
    vs_ray: float | None = None

    @property
    def target(self) -> str | None:
        """The issue's target for this mode."""
        if self.mode == 'shm-spill':
            return f'completes, 0 lost, makespan <= {MAKESPAN_TARGET}x ray'
        if self.mode == 'shm-nospill':
            return 'StoreFullError, 0 lost'
        return None

    @property
    def meets_target(self) -> bool | None:
        """Whether the target is met (``None``: no target or no Ray figure)."""
        if self.mode == 'shm-spill':
            if not self.completed or self.lost:
                return False
            return None if self.vs_ray is None else self.vs_ray <= MAKESPAN_TARGET
        if self.mode == 'shm-nospill':
            typed = (self.error or '').startswith('StoreFullError')
            return typed and self.lost == 0
        return None


# --- data and checksums ------------------------------------------------------


def _array(index: int, nbytes: int) -> Any:
    """The ``index``-th object: ``nbytes`` of seeded random bytes, a numpy array."""
    import numpy

    return numpy.random.default_rng(index).integers(
        0, 256, size=nbytes, dtype=numpy.uint8
    )


def _checksum(array: Any) -> int:
    return zlib.crc32(memoryview(array).cast('B'))


def _spill_counts(store: Store[Any]) -> tuple[int, int]:
    stats = getattr(store.connector, 'budget_stats', lambda: None)()
    return (0, 0) if stats is None else (stats.spills, stats.restores)


# --- shared-memory tasks (run in the pool's workers) -------------------------


def _warm() -> int:
    """Import what the tasks need before the clock starts."""
    import numpy

    time.sleep(0.05)
    return int(numpy.uint8(1))


def shm_produce(
    config: StoreConfig, indices: Sequence[int], nbytes: int
) -> tuple[list[Any], list[int], int, int, StoreFullError | None]:
    """Put the objects ``indices``: their keys and checksums, this task's spills.

    A put that finds the store full ends the task: the keys stored before it
    are returned with the `StoreFullError` (they are live and are read back).
    """
    store = get_or_create_store(config, register=True)
    spills, restores = _spill_counts(store)
    keys, sums = [], []
    full: StoreFullError | None = None
    for index in indices:
        array = _array(index, nbytes)
        try:
            keys.append(store.put(array))
        except StoreFullError as e:
            full = e
            break
        sums.append(_checksum(array))
        del array
    after = _spill_counts(store)
    return keys, sums, after[0] - spills, after[1] - restores, full


def shm_consume(
    config: StoreConfig, keys: Sequence[Any]
) -> tuple[list[int | None], int, int]:
    """Read each object once: its checksum (``None``: missing), this task's spills."""
    store = get_or_create_store(config, register=True)
    spills, restores = _spill_counts(store)
    sums: list[int | None] = []
    for key in keys:
        array = store.get(key)
        sums.append(None if array is None else _checksum(array))
        del array
    after = _spill_counts(store)
    return sums, after[0] - spills, after[1] - restores


# --- Ray tasks (wrapped with ray.remote when the ray mode runs) --------------


def ray_produce(indices: Sequence[int], nbytes: int) -> tuple[list[Any], list[int]]:
    """``ray.put`` the objects ``indices``; their refs (in a list) and checksums."""
    import ray

    refs, sums = [], []
    for index in indices:
        array = _array(index, nbytes)
        sums.append(_checksum(array))
        refs.append(ray.put(array))
        del array
    return refs, sums


def ray_consume(refs: Sequence[Any]) -> list[int]:
    """``ray.get`` each object once (refs in a list: not resolved by Ray)."""
    import ray

    sums = []
    for ref in refs:
        array = ray.get(ref)
        sums.append(_checksum(array))
        del array
    return sums


# --- sampling ----------------------------------------------------------------


def _folder_bytes(path: str | None) -> int:
    """Bytes of the objects under ``path`` (dot-files are locks, counters, temps)."""
    if path is None:
        return 0
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            if name.startswith('.'):
                continue
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _dev_shm_used() -> int:
    return shutil.disk_usage(_SHM).used if os.path.isdir(_SHM) else 0


class _Sampler(Sampler[BudgetSample]):
    """Samples one mode's processes and folders until stopped."""

    def __init__(
        self,
        mode: str,
        interval: float,
        store_folder: str | None,
        spill_folder: str | None,
    ) -> None:
        super().__init__(interval)
        self.mode = mode
        self.store_folder = store_folder
        self.spill_folder = spill_folder
        self._base = (process_tree_rss(), _dev_shm_used())

    def take(self) -> BudgetSample:
        return BudgetSample(
            mode=self.mode,
            time_s=self.elapsed(),
            rss_bytes=process_tree_rss() - self._base[0],
            dev_shm_bytes=_dev_shm_used() - self._base[1],
            store_bytes=_folder_bytes(self.store_folder),
            spilled_bytes=_folder_bytes(self.spill_folder),
        )

    def peak(self, field: str) -> int:
        return max((getattr(s, field) for s in self.samples), default=0)


# --- one mode ----------------------------------------------------------------


@dataclasses.dataclass
class _Tally:
    """What a mode's run found, filled in as it goes."""

    expected: dict[Any, int] = dataclasses.field(default_factory=dict)
    verified: int = 0
    spills: int | None = 0
    restores: int | None = 0
    error: str | None = None
    makespan_s: float | None = None

    def count(self, spills: int, restores: int) -> None:
        self.spills = (self.spills or 0) + spills
        self.restores = (self.restores or 0) + restores

    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = f'{type(error).__name__}: {error}'


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _gather(
    futures: list[Future[Any]],
    timeout: float,
    tally: _Tally,
    error_of: Callable[[Any], BaseException | None] = lambda _: None,
) -> list[Any | None]:
    """The futures' results (``None`` for those that raised); stop at an error.

    An error is a task's exception or what ``error_of`` finds in its result.
    The first is recorded and the futures not started are cancelled; those
    running are waited for (bounded by ``timeout``), so no task is left behind.
    """
    pending = set(futures)
    deadline = time.monotonic() + timeout
    failed = False
    while pending and not failed:
        left = deadline - time.monotonic()
        done, pending = wait(pending, timeout=max(left, 0), return_when=FIRST_COMPLETED)
        if not done:
            failed = True
            tally.fail(TimeoutError(f'tasks not done within {timeout} s'))
        for future in done:
            error = future.exception()
            if error is None:
                error = error_of(future.result())
            if error is not None:
                failed = True
                tally.fail(error)
    for future in pending:
        future.cancel()
    wait(pending, timeout=timeout)
    return [
        f.result() if f.done() and not f.cancelled() and f.exception() is None else None
        for f in futures
    ]


def _shm_connector(
    mode: str, settings: BudgetSettings, spill: str
) -> SharedMemoryConnector:
    if mode == 'shm-spill':
        return SharedMemoryConnector(capacity=settings.budget, spill_directory=spill)
    if mode == 'shm-nospill':
        return SharedMemoryConnector(
            capacity=settings.budget, full_timeout=settings.full_timeout
        )
    return SharedMemoryConnector()


def _run_shm(mode: str, settings: BudgetSettings, tally: _Tally) -> _Sampler:
    context = multiprocessing.get_context('spawn')
    indices = list(range(settings.objects))
    with contextlib.ExitStack() as stack:
        spill = stack.enter_context(tempfile.TemporaryDirectory(prefix='psbudget'))
        connector = _shm_connector(mode, settings, spill)
        store = stack.enter_context(
            Store(f'budget-{mode}', connector, cache_size=0, register=True)
        )
        pool = stack.enter_context(
            ProcessPoolExecutor(settings.workers, mp_context=context)
        )
        for future in [pool.submit(_warm) for _ in range(2 * settings.workers)]:
            future.result(timeout=settings.timeout)
        config = store.config()
        sampler = stack.enter_context(
            _Sampler(
                mode,
                settings.interval,
                connector.directory,
                spill if mode == 'shm-spill' else None,
            ),
        )
        start = time.perf_counter()
        produced = _gather(
            [
                pool.submit(shm_produce, config, chunk, settings.object_bytes)
                for chunk in _chunks(indices, settings.objects_per_task)
            ],
            settings.timeout,
            tally,
            error_of=lambda result: result[4],
        )
        keys: list[Any] = []
        for result in produced:
            if result is None:
                continue
            chunk_keys, sums, spills, restores, _ = result
            keys += chunk_keys
            tally.expected.update(zip(chunk_keys, sums, strict=True))
            tally.count(spills, restores)
        chunks = _chunks(keys, settings.objects_per_task)
        consumed = _gather(
            [pool.submit(shm_consume, config, chunk) for chunk in chunks],
            settings.timeout,
            tally,
        )
        for chunk, result in zip(chunks, consumed, strict=True):
            if result is None:  # a chunk that failed: its objects count as lost
                continue
            sums, spills, restores = result
            tally.count(spills, restores)
            tally.verified += sum(
                1
                for key, got in zip(chunk, sums, strict=True)
                if got == tally.expected[key]
            )
        if tally.error is None:
            tally.makespan_s = time.perf_counter() - start
    return sampler


_RAY_LINE = re.compile(r'(Spilled|Restored) (\d+) MiB, (\d+) objects')


def _ray_spill_counts() -> tuple[int | None, int | None]:
    """Objects spilled and restored, from Ray's memory summary (``None``: unknown)."""
    try:
        # Ray is installed in the engines group only: the types session has none.
        from ray._private.internal_api import memory_summary  # type: ignore[import-not-found,unused-ignore]

        text = memory_summary(stats_only=True)  # type: ignore[no-untyped-call,unused-ignore]
    except Exception:
        return None, None
    found = {kind: int(objects) for kind, _, objects in _RAY_LINE.findall(text)}
    return found.get('Spilled', 0), found.get('Restored', 0)


def _run_ray(settings: BudgetSettings, tally: _Tally) -> _Sampler | None:
    try:
        import ray
    except ImportError as e:
        tally.fail(e)
        return None
    indices = list(range(settings.objects))
    with tempfile.TemporaryDirectory(prefix='psbudget-ray') as spill:
        try:
            ray.init(
                object_store_memory=settings.budget,
                num_cpus=settings.workers,
                include_dashboard=False,
                configure_logging=False,
                log_to_driver=False,
                _system_config={
                    'object_spilling_config': json.dumps(
                        {'type': 'filesystem', 'params': {'directory_path': spill}},
                    ),
                },
            )
        except Exception as e:
            tally.fail(e)
            return None
        try:
            return _ray_workflow(ray, settings, indices, spill, tally)
        finally:
            ray.shutdown()


def _ray_workflow(
    ray: Any, settings: BudgetSettings, indices: list[int], spill: str, tally: _Tally
) -> _Sampler:
    warm = ray.remote(_warm)
    produce = ray.remote(ray_produce)
    consume = ray.remote(ray_consume)
    ray.get([warm.remote() for _ in range(2 * settings.workers)],
            timeout=settings.timeout)  # fmt: skip
    with _Sampler('ray', settings.interval, None, spill) as sampler:
        start = time.perf_counter()
        refs: list[Any] = []
        try:
            produced = ray.get(
                [
                    produce.remote(chunk, settings.object_bytes)
                    for chunk in _chunks(indices, settings.objects_per_task)
                ],
                timeout=settings.timeout,
            )
            expected: list[int] = []
            for chunk_refs, sums in produced:
                refs += chunk_refs
                expected += sums
            consumed = ray.get(
                [
                    consume.remote(list(chunk))
                    for chunk in _chunks(refs, settings.objects_per_task)
                ],
                timeout=settings.timeout,
            )
            got = [s for sums in consumed for s in sums]
            tally.expected = dict(enumerate(expected))
            tally.verified = sum(
                1 for a, b in zip(got, expected, strict=True) if a == b
            )
            tally.makespan_s = time.perf_counter() - start
        except Exception as e:
            tally.fail(e)
            tally.expected = {i: 0 for i in range(len(refs))}
        tally.spills, tally.restores = _ray_spill_counts()
        del refs
    return sampler


# --- the run -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BudgetResult:
    """Records per mode, and every sample."""

    records: list[BudgetRecord]
    samples: list[BudgetSample]


def _record(
    mode: str, settings: BudgetSettings, tally: _Tally, sampler: _Sampler | None
) -> BudgetRecord:
    stored = len(tally.expected)
    shm = mode.startswith('shm')
    completed = tally.error is None and tally.verified == settings.objects
    return BudgetRecord(
        mode=mode,
        shape=settings.shape,
        budget_bytes=settings.budget,
        object_bytes=settings.object_bytes,
        objects=settings.objects,
        stored=stored,
        verified=tally.verified,
        lost=stored - tally.verified,
        completed=completed,
        error=tally.error,
        makespan_s=tally.makespan_s if completed else None,
        peak_rss_bytes=0 if sampler is None else sampler.peak('rss_bytes'),
        peak_dev_shm_bytes=0 if sampler is None else sampler.peak('dev_shm_bytes'),
        peak_store_bytes=(
            sampler.peak('store_bytes') if shm and sampler is not None else None
        ),
        peak_spilled_bytes=0 if sampler is None else sampler.peak('spilled_bytes'),
        spills=tally.spills,
        restores=tally.restores,
    )


def _with_ratios(records: list[BudgetRecord]) -> list[BudgetRecord]:
    ray = next((r for r in records if r.mode == 'ray'), None)
    base = None if ray is None else ray.makespan_s
    return [
        dataclasses.replace(r, vs_ray=r.makespan_s / base)
        if base and r.makespan_s is not None and r.mode != 'ray'
        else r
        for r in records
    ]


def run_budget_benchmark(
    settings: BudgetSettings,
    progress: Callable[[str], None] = lambda _: None,
) -> BudgetResult:
    """Run the workflow once per mode of ``settings.modes``.

    Raises:
        ValueError: If the settings are invalid.
    """
    settings.validate()
    records: list[BudgetRecord] = []
    samples: list[BudgetSample] = []
    for mode in settings.modes:
        progress(f'budget: {mode}...')
        tally = _Tally()
        if mode == 'ray':
            sampler = _run_ray(settings, tally)
        else:
            sampler = _run_shm(mode, settings, tally)
        records.append(_record(mode, settings, tally, sampler))
        if sampler is not None:
            samples += sampler.samples
    return BudgetResult(_with_ratios(records), samples)


def command(
    quick: options.Quick = True,
    budget: Annotated[
        int | None, typer.Option(help='Memory budget in bytes (capacity).')
    ] = None,
    object_bytes: Annotated[
        int | None, typer.Option(help='Bytes of each object.')
    ] = None,
    modes: Annotated[
        str | None,
        typer.Option(help=f'Comma-separated modes, of {",".join(MODES)}.'),
    ] = None,
) -> Results:
    """A workflow with live data 3x the memory budget: shm spilling, shm, Ray.

    Producer tasks on 2 processes put numpy arrays; the driver keeps every
    key until consumer tasks read each object once and check its checksum.
    """
    # A cycle-breaker: budget_report imports this module for its records.
    from proxystore_bench.suites import budget_report

    settings = choose(
        BudgetSettings,
        quick=quick,
        budget=budget,
        object_bytes=object_bytes,
        modes=options.names(modes),
    )
    result = measure(
        'running the workflow at 3x the budget...',
        lambda status: run_budget_benchmark(settings, status),
    )
    return Results(
        'budget',
        result.records,
        plot=lambda path: budget_report.plot_budget(result.samples, path),
        extra={
            'budget-samples.csv': lambda path: budget_report.write_samples_csv(
                result.samples, path
            ),
        },
    )
