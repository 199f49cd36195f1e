"""Parsl: a `HighThroughputExecutor` with a local provider on 127.0.0.1.

Parsl has no `concurrent.futures.Executor` of its own: `ParslExecutor`
submits through a Parsl python app, whose `AppFuture` is a
`concurrent.futures.Future`. The run's files (Parsl's ``runinfo``) go to a
temporary folder removed at exit.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from collections.abc import Generator
from concurrent.futures import Executor
from concurrent.futures import Future
from typing import Any

from proxystore_apps._require import require
from proxystore_apps.config import ExecutorConfig

__all__ = ['ParslExecutor', 'open_executor']

LABEL = 'htex-local'


def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


class ParslExecutor(Executor):
    """Submits to an executor of a Parsl `DataFlowKernel`.

    Args:
        dfk: The data-flow kernel.
        label: Label of the Parsl executor to run on.
    """

    def __init__(self, dfk: Any, label: str) -> None:
        from parsl.app.app import python_app

        self._app = python_app(_call, data_flow_kernel=dfk, executors=[label])

    def submit(  # type: ignore[override]
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` as a Parsl app."""
        future: Future[Any] = self._app(fn, *args, **kwargs)
        return future


@contextlib.contextmanager
def open_executor(config: ExecutorConfig) -> Generator[Executor]:
    """Start a local high-throughput executor of ``config.workers`` workers.

    Raises:
        MissingPackageError: If Parsl is not installed.
    """
    require('parsl', extra='parsl', what='The parsl executor')
    from parsl.config import Config
    from parsl.dataflow.dflow import DataFlowKernel
    from parsl.executors import HighThroughputExecutor
    from parsl.providers import LocalProvider

    with tempfile.TemporaryDirectory(prefix='proxystore-apps-parsl-') as run_dir:
        htex = HighThroughputExecutor(
            label=LABEL,
            address='127.0.0.1',
            loopback_address='127.0.0.1',
            max_workers_per_node=config.workers,
            cores_per_worker=1,
            provider=LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1),
        )
        parsl_config = Config(
            executors=[htex],
            run_dir=run_dir,
            strategy='none',
            initialize_logging=False,
        )
        dfk = DataFlowKernel(parsl_config)
        try:
            yield ParslExecutor(dfk, LABEL)
        finally:
            dfk.cleanup()
