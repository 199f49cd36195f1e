"""A `concurrent.futures.ProcessPoolExecutor`: arguments and results are pickled."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor

from proxystore_apps.config import ExecutorConfig

__all__ = ['open_executor', 'warm_up']


def limit_threads() -> None:
    """One BLAS thread per worker.

    A pool of busy workers with a BLAS thread pool each would oversubscribe
    the cores (OpenBLAS threads spin while they wait); Dask and Ray limit
    their workers the same way.
    """
    import threadpoolctl

    threadpoolctl.threadpool_limits(limits=1)


def _ready() -> bool:
    import numpy  # noqa: F401 - the apps' common import, loaded before timing

    return True


def warm_up(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker (and import numpy there) before anything is timed."""
    for future in [pool.submit(_ready) for _ in range(workers * 2)]:
        future.result(timeout=120)


@contextlib.contextmanager
def open_executor(config: ExecutorConfig) -> Generator[ProcessPoolExecutor]:
    """A process pool of ``config.workers`` processes, started and warm."""
    context = multiprocessing.get_context(config.start_method)
    with ProcessPoolExecutor(
        config.workers, mp_context=context, initializer=limit_threads
    ) as pool:
        warm_up(pool, config.workers)
        yield pool
