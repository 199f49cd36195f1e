"""Real task engines, started once per test session, and small app sizes."""

from __future__ import annotations

import pathlib
from collections.abc import Generator
from concurrent.futures import Executor
from typing import Any

import pytest

from proxystore_apps.config import ExecutorConfig
from proxystore_apps.config import RunConfig
from proxystore_apps.config import load_config
from proxystore_apps.executors import open_executor

# The smallest size of each app: seconds at most on 2 cores.
SMALL: dict[str, dict[str, Any]] = {
    'cholesky': {'matrix_size': 40, 'block_size': 10},
    'synthetic': {'structure': 'diamond', 'task_count': 3, 'data_bytes': 20_000},
    'mapreduce': {'files': 4, 'words_per_file': 500, 'vocabulary': 100, 'map_tasks': 2},
    'fedlearn': {'clients': 2, 'rounds': 2, 'epochs': 2},
    'failures': {
        'app_params': {'structure': 'reduce', 'task_count': 8, 'data_bytes': 20_000},
        'rate': 0.3,
        'seed': 8,
    },
    'stream-inference': {'frames': 8, 'frame_size': 32, 'interval': 0.0},
    'pipeline': {
        'chunks': 2,
        'individuals': 20,
        'variants_per_chunk': 200,
        'populations': 2,
        'prep': 0.01,
    },
}
WORKERS = {'thread': 4, 'process': 2, 'dask': 2}


def small_config(
    app: str,
    executor: str,
    mode: str,
    run_dir: pathlib.Path,
    **data: Any,
) -> RunConfig:
    """A run of ``app`` at its smallest size (objects of 500 B or more proxied)."""
    return load_config(
        None,
        {
            'app': app,
            'params': SMALL[app],
            'executor': {'kind': executor, 'workers': WORKERS.get(executor, 2)},
            'data': {'mode': mode, 'filter': {'min_bytes': 500}, **data},
            'run_dir': str(run_dir),
            'task_timeout': 100,
        },
    )


def _started(kind: str) -> Generator[Executor]:
    with open_executor(ExecutorConfig(kind=kind, workers=WORKERS[kind])) as executor:
        yield executor


@pytest.fixture(scope='session')
def thread_executor() -> Generator[Executor]:
    """A thread pool of 4 threads."""
    yield from _started('thread')


@pytest.fixture(scope='session')
def process_executor() -> Generator[Executor]:
    """A process pool of 2 spawned workers."""
    yield from _started('process')


@pytest.fixture(scope='session')
def dask_executor() -> Generator[Executor]:
    """A Dask LocalCluster of 2 worker processes."""
    yield from _started('dask')
