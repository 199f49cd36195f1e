"""`mpi4py.futures`: the ranks of an ``mpiexec`` job are the workers.

Run the CLI under ``mpiexec -n N python -m mpi4py.futures -m
proxystore_apps.cli run ...``: rank 0 runs the app, ranks 1 to N-1 run tasks
(``--workers`` is ignored; the pool is the job's ranks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from concurrent.futures import Executor

from proxystore_apps._require import require
from proxystore_apps.config import ExecutorConfig
from proxystore_apps.errors import ConfigError

__all__ = ['open_executor']

LAUNCH = 'mpiexec -n 3 python -m mpi4py.futures -m proxystore_apps.cli run ...'


@contextlib.contextmanager
def open_executor(config: ExecutorConfig) -> Generator[Executor]:
    """The pool of the job's worker ranks.

    Raises:
        MissingPackageError: If mpi4py is not installed.
        ConfigError: If this process is not in an MPI job of two or more ranks.
    """
    require('mpi4py', extra='mpi', what='The mpi executor')
    from mpi4py import MPI
    from mpi4py.futures import MPIPoolExecutor

    if MPI.COMM_WORLD.Get_size() < 2:
        raise ConfigError(
            'The mpi executor runs under mpiexec with mpi4py.futures, in a job of '
            f'two ranks or more: {LAUNCH}',
        )
    with MPIPoolExecutor() as pool:
        yield pool
