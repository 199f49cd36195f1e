"""Actors the tests of the actors pattern spawn (importable by worker processes)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

from proxystore.actors import Actor
from proxystore.actors import ActorHandle
from proxystore.actors import action


class Counter(Actor):
    """Counts; remembers the order of its calls."""

    def __init__(self, start: int = 0) -> None:
        self.value = start
        self.seen: list[int] = []
        self.started = False

    def on_start(self) -> None:
        """Remember that the host started it."""
        self.started = True

    @action
    def add(self, n: int = 1) -> int:
        """Add ``n``; the new value."""
        # Read, yield, write: two calls run at once would lose an update.
        value = self.value
        time.sleep(0.001)
        self.value = value + n
        self.seen.append(n)
        return self.value

    @action
    async def async_add(self, n: int) -> int:
        """Add ``n`` from async code; the new value."""
        value = self.value
        await asyncio.sleep(0.001)
        self.value = value + n
        return self.value

    @action
    def get(self) -> int:
        """The value."""
        return self.value

    @action
    def history(self) -> list[int]:
        """The arguments of `add`, in the order it ran."""
        return list(self.seen)

    @action
    def was_started(self) -> bool:
        """Whether ``on_start`` ran."""
        return self.started

    @action
    def fail(self, message: str) -> None:
        """Raise a `KeyError`."""
        raise KeyError(message)

    @action
    def pid(self) -> int:
        """The host's process id."""
        return os.getpid()

    @action
    def echo(self, value: Any) -> Any:
        """``value``, back."""
        return value

    @action
    def total(self, values: Any) -> float:
        """The sum of an array (an argument that may come by proxy)."""
        return float(values.sum())

    @action
    def make(self, size: int) -> Any:
        """An array of ``size`` float64 ones (a result that may go by proxy)."""
        import numpy

        return numpy.ones(size)

    def not_an_action(self) -> str:
        """A method no caller may call."""
        return 'hidden'


class Gate(Actor):
    """A blocking action, and a concurrent one that opens it."""

    def __init__(self) -> None:
        self.event = threading.Event()

    @action
    def wait(self, timeout: float) -> bool:
        """Block until `open` runs, or ``timeout``."""
        return self.event.wait(timeout)

    @action(concurrent=True)
    def open(self) -> str:
        """Open the gate (concurrent: runs while `wait` blocks)."""
        self.event.set()
        return 'opened'


class Broken(Actor):
    """An actor whose constructor raises."""

    def __init__(self) -> None:
        raise RuntimeError('cannot build')


class Relay(Actor):
    """Calls another actor through a handle it was given."""

    def __init__(self, target: ActorHandle[Counter]) -> None:
        self.target = target

    @action
    async def forward(self, n: int) -> int:
        """Add ``n`` to the target through its handle."""
        result: int = await self.target.add(n)
        return result


def add_from_task(handle: ActorHandle[Counter], n: int) -> int:
    """A task that calls an actor (runs in a worker process)."""
    result: int = handle.add(n).result(timeout=60)
    return result
