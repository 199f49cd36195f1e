"""Dask distributed: a local cluster of worker processes, or an existing scheduler.

Tasks go through ``client.get_executor(pure=False)``, whose futures are
`concurrent.futures` futures. ``pure=False``: Dask would otherwise hash every
argument to name the task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from concurrent.futures import Executor
from typing import Any

from proxystore_apps._require import require
from proxystore_apps.config import ExecutorConfig

__all__ = ['open_executor']


@contextlib.contextmanager
def open_executor(config: ExecutorConfig) -> Generator[Executor]:
    """A Dask executor: a `LocalCluster` on 127.0.0.1, or ``config.address``.

    Raises:
        MissingPackageError: If dask.distributed is not installed.
    """
    distributed: Any = require('distributed', extra='dask', what='The dask executor')
    with contextlib.ExitStack() as stack:
        if config.address is not None:
            client = stack.enter_context(distributed.Client(config.address, timeout=30))
        else:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=config.workers,
                    threads_per_worker=1,
                    processes=True,
                    host='127.0.0.1',
                    dashboard_address=':0',  # a free port, never 8787
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        yield client.get_executor(pure=False)
