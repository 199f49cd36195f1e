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
        parsl_app: Any = require('parsl.app.app', extra='parsl', what='Parsl')
        self._app = parsl_app.python_app(_call, data_flow_kernel=dfk, executors=[label])

    def submit(
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
    # Imported as untyped modules: Parsl's annotations are partial.
    what = 'The parsl executor'
    config_module: Any = require('parsl.config', extra='parsl', what=what)
    dflow: Any = require('parsl.dataflow.dflow', extra='parsl', what=what)
    executors: Any = require('parsl.executors', extra='parsl', what=what)
    providers: Any = require('parsl.providers', extra='parsl', what=what)

    with tempfile.TemporaryDirectory(prefix='proxystore-apps-parsl-') as run_dir:
        htex = executors.HighThroughputExecutor(
            label=LABEL,
            address='127.0.0.1',
            loopback_address='127.0.0.1',
            max_workers_per_node=config.workers,
            cores_per_worker=1,
            provider=providers.LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1),
        )
        parsl_config = config_module.Config(
            executors=[htex],
            run_dir=run_dir,
            strategy='none',
            initialize_logging=False,
        )
        dfk = dflow.DataFlowKernel(parsl_config)
        try:
            yield ParslExecutor(dfk, LABEL)
        finally:
            dfk.cleanup()
