"""The workflow suite: a small workflow by value and by proxy, the README's main job.

A producer makes ``tasks`` arrays; a process pool of ``workers`` computes a
statistic of each; the results are reduced. Passed by value, every array is
pickled through the pool's pipes; passed by proxy, only a reference goes through
the pipe and the worker maps the array from shared memory.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated
from typing import Any

import numpy
import typer
from rich.console import Console

from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.store import Store

__all__ = ['WorkflowResult', 'command', 'run_workflow', 'statistic']


def statistic(data: Any) -> float:
    """The task: the mean of the array's squares (resolves a proxy)."""
    array = numpy.asarray(data)
    return float(numpy.mean(array * array))


@dataclasses.dataclass(frozen=True)
class WorkflowResult:
    """Makespans of one workflow run both ways."""

    tasks: int
    size_bytes: int
    workers: int
    by_value_s: float
    by_proxy_s: float
    answer: float

    @property
    def speedup(self) -> float:
        """By-value makespan over by-proxy makespan."""
        return self.by_value_s / self.by_proxy_s


def _makespan(
    pool: ProcessPoolExecutor, make_input: Callable[[int], Any], tasks: int
) -> tuple[float, float]:
    start = time.perf_counter()
    futures = [pool.submit(statistic, make_input(i)) for i in range(tasks)]
    answer = sum(f.result(timeout=600) for f in futures)
    return time.perf_counter() - start, answer


def run_workflow(
    *, tasks: int = 8, size_bytes: int = 32 * 1024 * 1024, workers: int = 2
) -> WorkflowResult:
    """Run the workflow by value, then by proxy, on the same pool.

    Raises:
        ValueError: If a parameter is not positive.
    """
    if tasks < 1 or size_bytes < 8 or workers < 1:
        raise ValueError('tasks, workers and size_bytes (>= 8) must be positive.')
    rng = numpy.random.default_rng(0)
    arrays = [rng.random(size_bytes // 8) for _ in range(tasks)]
    context = multiprocessing.get_context('spawn')
    with (
        Store('workflow', SharedMemoryConnector(), register=True) as store,
        ProcessPoolExecutor(workers, mp_context=context) as pool,
    ):
        for _ in range(workers):  # start the workers before timing
            pool.submit(statistic, numpy.ones(1)).result(timeout=600)
        by_value, answer = _makespan(pool, lambda i: arrays[i], tasks)
        by_proxy, answer_proxy = _makespan(
            pool,
            lambda i: store.proxy(arrays[i], evict=True),
            tasks,
        )
    if not numpy.isclose(answer, answer_proxy):  # pragma: no cover - a bug
        raise RuntimeError(
            f'results differ: {answer} by value, {answer_proxy} by proxy'
        )
    return WorkflowResult(tasks, size_bytes, workers, by_value, by_proxy, answer)


def command(
    tasks: Annotated[int, typer.Option(min=1, help='Number of tasks.')] = 8,
    size: Annotated[
        int,
        typer.Option(min=8, help="Bytes of each task's input array."),
    ] = 32 * 1024 * 1024,
    workers: Annotated[int, typer.Option(min=1, help='Process-pool workers.')] = 2,
) -> None:
    """A small workflow on a process pool, by value and by proxy (shared memory)."""
    console = Console()
    with console.status(f'running {tasks} tasks of {size / 2**20:.3g} MiB...'):
        result = run_workflow(tasks=tasks, size_bytes=size, workers=workers)
    console.print(
        f'{result.tasks} tasks, {result.size_bytes / 2**20:.3g} MiB each, '
        f'{result.workers} workers (ProcessPoolExecutor, shared-memory store)',
    )
    console.print(f'  by value: {result.by_value_s:8.3f} s')
    console.print(f'  by proxy: {result.by_proxy_s:8.3f} s')
    console.print(f'  speedup:  {result.speedup:8.2f}x   (answer {result.answer:.6f})')
