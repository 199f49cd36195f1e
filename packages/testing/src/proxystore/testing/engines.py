"""Real task engines for tests: a thread pool, a process pool and a Dask cluster.

Each is a context manager that yields an `Engine`, whose ``submit`` returns a
future with ``result(timeout)`` and ``add_done_callback``, as every engine that
ProxyStore's patterns support does. Dask is imported only by `dask_engine`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    'ENGINES',
    'Engine',
    'dask_engine',
    'engine',
    'process_engine',
    'thread_engine',
]


class Engine:
    """A named way to submit tasks.

    Args:
        name: Name, for test ids and messages.
        submit: ``submit(function, *args, **kwargs) -> future``.
    """

    def __init__(self, name: str, submit: Callable[..., Any]) -> None:
        self.name = name
        self.submit = submit

    def __repr__(self) -> str:
        return f'Engine({self.name})'


@contextlib.contextmanager
def thread_engine(workers: int = 4) -> Generator[Engine]:
    """A `ThreadPoolExecutor`: tasks share the test's objects (no pickling)."""
    with ThreadPoolExecutor(workers) as pool:
        yield Engine('threads', pool.submit)


@contextlib.contextmanager
def process_engine(workers: int = 2, start_method: str = 'spawn') -> Generator[Engine]:
    """A `ProcessPoolExecutor`: arguments and results are pickled."""
    context = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield Engine('processes', pool.submit)


@contextlib.contextmanager
def dask_engine(workers: int = 2) -> Generator[Engine]:
    """A Dask distributed `LocalCluster` of worker processes on 127.0.0.1.

    Tasks are submitted with ``pure=False``: with ``pure=True`` Dask asks
    ``isinstance`` of every argument, which resolves a proxy without a cached
    class (and blocks on a proxy of a future that is not set yet).
    """
    from dask.distributed import Client
    from dask.distributed import LocalCluster

    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=':0',  # a free port: None means the default 8787
        host='127.0.0.1',
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]

        def submit(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            return client.submit(function, *args, pure=False, **kwargs)

        yield Engine('dask', submit)


ENGINES: dict[str, Callable[[], contextlib.AbstractContextManager[Engine]]] = {
    'threads': thread_engine,
    'processes': process_engine,
    'dask': dask_engine,
}
"""The engines by name, for parametrized fixtures."""


def engine(name: str) -> contextlib.AbstractContextManager[Engine]:
    """The engine of this name (``threads``, ``processes`` or ``dask``).

    Raises:
        ValueError: If there is no engine of that name.
    """
    try:
        return ENGINES[name]()
    except KeyError:
        raise ValueError(
            f'No engine named {name!r}; choose one of {sorted(ENGINES)}.',
        ) from None
