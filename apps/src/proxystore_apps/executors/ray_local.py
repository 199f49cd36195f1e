"""Ray: a local instance with ``workers`` CPUs.

Tasks run as one Ray remote function; ``ObjectRef.future()`` gives a
`concurrent.futures.Future`. Ray's integration with ``uv run`` (which would
make each worker re-create the environment) is turned off: the workers use the
driver's interpreter.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from collections.abc import Generator
from concurrent.futures import Executor
from concurrent.futures import Future
from typing import Any

from proxystore_apps._require import require
from proxystore_apps.config import ExecutorConfig

__all__ = ['RayExecutor', 'open_executor']


def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


class RayExecutor(Executor):
    """Submits to a running Ray instance."""

    def __init__(self) -> None:
        import ray

        self._remote = ray.remote(_call)

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` as a Ray task."""
        future: Future[Any] = self._remote.remote(fn, *args, **kwargs).future()
        return future


@contextlib.contextmanager
def open_executor(config: ExecutorConfig) -> Generator[Executor]:
    """Start a local Ray instance of ``config.workers`` CPUs; shut it down on exit.

    Raises:
        MissingPackageError: If Ray is not installed.
    """
    os.environ.setdefault('RAY_ENABLE_UV_RUN_RUNTIME_ENV', '0')
    ray: Any = require('ray', extra='ray', what='The ray executor')
    ray.init(
        address='local',
        num_cpus=config.workers,
        include_dashboard=False,
        log_to_driver=False,
        logging_level='WARNING',
    )
    try:
        yield RayExecutor()
    finally:
        ray.shutdown()
