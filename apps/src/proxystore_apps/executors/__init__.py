"""Task engines, one module each, all offering a `concurrent.futures.Executor`.

Each module has ``open_executor(config)``, a context manager that starts the
engine (or connects to it) and yields an executor whose ``submit`` returns a
`concurrent.futures.Future`. Optional engines are imported only when used and
name their extra when missing.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Generator
from concurrent.futures import Executor
from typing import NamedTuple

from proxystore_apps._require import check_installed
from proxystore_apps.config import ExecutorConfig
from proxystore_apps.errors import InvalidParameterError
from proxystore_apps.errors import UnknownExecutorError

__all__ = ['EXECUTORS', 'ExecutorInfo', 'check_executor', 'open_executor']


class ExecutorInfo(NamedTuple):
    """Where an executor lives and what it needs."""

    module: str
    """Module of ``proxystore_apps.executors`` with its ``open_executor``."""
    requires: str | None
    """Package it imports (``None``: the standard library)."""
    extra: str | None
    """Extra of proxystore-apps that installs it."""
    summary: str
    """One line for ``proxystore-apps list``."""


EXECUTORS: dict[str, ExecutorInfo] = {
    'thread': ExecutorInfo('threads', None, None, 'concurrent.futures thread pool'),
    'process': ExecutorInfo('processes', None, None, 'concurrent.futures process pool'),
    'dask': ExecutorInfo(
        'dask_cluster',
        'distributed',
        'dask',
        'Dask distributed: a local cluster, or a scheduler at --address',
    ),
    'parsl': ExecutorInfo(
        'parsl_htex', 'parsl', 'parsl', 'Parsl high-throughput executor (local)'
    ),
    'ray': ExecutorInfo('ray_local', 'ray', 'ray', 'Ray (a local instance)'),
    'mpi': ExecutorInfo(
        'mpi_pool',
        'mpi4py',
        'mpi',
        'mpi4py.futures pool (run under mpiexec -n N python -m mpi4py.futures)',
    ),
}
"""The executors by name."""


def check_executor(config: ExecutorConfig) -> ExecutorInfo:
    """The executor's entry, checking that its package is installed.

    Raises:
        UnknownExecutorError: If no executor has that name.
        MissingPackageError: If its package is not installed.
        InvalidParameterError: If an option does not apply to it.
    """
    info = EXECUTORS.get(config.kind)
    if info is None:
        raise UnknownExecutorError(
            f'Unknown executor {config.kind!r}: choose one of '
            f'{", ".join(EXECUTORS)} (--executor NAME).',
        )
    if info.requires is not None:
        assert info.extra is not None
        check_installed(
            info.requires, extra=info.extra, what=f'The {config.kind} executor'
        )
    if config.address is not None and config.kind != 'dask':
        raise InvalidParameterError(
            f'--address is for the dask executor only, not {config.kind!r}.',
        )
    return info


@contextlib.contextmanager
def open_executor(config: ExecutorConfig) -> Generator[Executor]:
    """Start the executor of ``config``; stop it on exit.

    Raises:
        UnknownExecutorError: If no executor has that name.
        MissingPackageError: If its package is not installed.
    """
    info = check_executor(config)
    module = importlib.import_module(f'{__name__}.{info.module}')
    with module.open_executor(config) as executor:
        yield executor
