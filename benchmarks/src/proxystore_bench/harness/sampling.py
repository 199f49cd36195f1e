"""Sampling memory while a benchmark runs: one thread, one interval.

A suite subclasses `Sampler`, says what one sample is (`Sampler.take`) and
uses it as a context manager around the work it measures: a sample is taken
every ``interval`` seconds on a thread of its own, and once more at the end.
`process_tree_rss` is the memory of this process and its descendants
(workers, servers started by the run).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Generic
from typing import Self
from typing import TypeVar

import psutil

__all__ = ['Sampler', 'process_tree_rss']

SampleT = TypeVar('SampleT')


def process_tree_rss() -> int:
    """Resident bytes of this process and all its descendants."""
    me = psutil.Process()
    total = 0
    for process in (me, *me.children(recursive=True)):
        with contextlib.suppress(psutil.Error):  # a process that just exited
            total += process.memory_info().rss
    return total


class Sampler(Generic[SampleT]):
    """Takes a sample every ``interval`` seconds between enter and exit.

    Args:
        interval: Seconds between two samples.
    """

    sample_at_exit = True
    """Whether leaving the ``with`` block takes one last sample."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.samples: list[SampleT] = []
        self.started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def take(self) -> SampleT:
        """One sample (subclasses say what it holds)."""
        raise NotImplementedError

    def sample(self) -> None:
        """Take a sample now."""
        self.samples.append(self.take())

    def elapsed(self) -> float:
        """Seconds since `started`."""
        return time.perf_counter() - self.started

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Self:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.sample_at_exit:
            self.sample()
