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
from proxystore.actors import loop
from proxystore.actors import timer


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


class Pool(Actor):
    """Actions in a concurrency group of two."""

    concurrency_groups = {'io': 2}  # noqa: RUF012 - the declaration is a dict

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        # Two calls must be in at once to pass: a limit of one would hang.
        self.pair = threading.Barrier(2, timeout=30)

    @action(group='io')
    def fetch(self) -> int:
        """Wait for a second call of the group; the most seen at once."""
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            self.pair.wait()
        finally:
            with self.lock:
                self.running -= 1
        return self.peak


class Ticker(Actor):
    """A timer and a loop."""

    def __init__(self) -> None:
        self.ticks = 0
        self.spins = 0

    @timer(0.02)
    def tick(self) -> None:
        """Count a tick."""
        self.ticks += 1

    @loop
    async def spin(self) -> None:
        """Count spins until stopped."""
        while True:
            self.spins += 1
            await asyncio.sleep(0.01)

    @action
    def counts(self) -> tuple[int, int]:
        """The ticks and spins so far."""
        return self.ticks, self.spins
