"""A `concurrent.futures.ThreadPoolExecutor`: tasks share the driver's memory."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor

from proxystore_apps.config import ExecutorConfig

__all__ = ['open_executor']


@contextlib.contextmanager
def open_executor(config: ExecutorConfig) -> Generator[ThreadPoolExecutor]:
    """A thread pool of ``config.workers`` threads."""
    with ThreadPoolExecutor(config.workers, thread_name_prefix='apps') as pool:
        yield pool
