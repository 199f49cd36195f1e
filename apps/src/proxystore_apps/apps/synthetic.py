"""Synthetic workflows of no-op tasks: the cost of moving data, and nothing else.

Each task checks the size of its inputs, sleeps, and returns ``data_bytes``
new bytes. Structures (``task_count`` = n):

- ``bag``: n independent tasks, each with an input from the driver;
- ``diamond``: one task, n tasks on its output, one task on all theirs;
- ``reduce``: n tasks with inputs from the driver, one task on all outputs;
- ``sequential``: a chain of n tasks, each on the previous one's output.
"""

from __future__ import annotations

import time
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from proxystore_apps.engine import Engine
from proxystore_apps.engine import TaskFuture
from proxystore_apps.errors import AppCheckError

__all__ = ['SUMMARY', 'Params', 'expected_tasks', 'make_data', 'noop', 'run']

SUMMARY = 'no-op tasks moving data: bag, diamond, reduce, sequential'
_STAMP = 8  # bytes at the start of each object naming the task that made it


class Params(BaseModel):
    """Parameters of the synthetic app.

    Attributes:
        structure: ``bag``, ``diamond``, ``reduce`` or ``sequential``.
        task_count: Tasks of the structure's wide (or long) part.
        data_bytes: Bytes of each task's output (and of the driver's inputs).
        sleep: Seconds each task sleeps.
    """

    model_config = ConfigDict(extra='forbid')

    structure: Literal['bag', 'diamond', 'reduce', 'sequential'] = 'sequential'
    task_count: int = Field(default=8, ge=1, le=100_000)
    data_bytes: int = Field(default=10_000_000, ge=_STAMP, le=2**34)
    sleep: float = Field(default=0.0, ge=0, le=3600)


def make_data(size: int, stamp: int) -> bytearray:
    """``size`` bytes starting with ``stamp`` (who made them)."""
    data = bytearray(size)
    data[:_STAMP] = stamp.to_bytes(_STAMP, 'little')
    return data


def noop(*inputs: Any, data_bytes: int, sleep: float, stamp: int) -> bytearray:
    """The task: check the inputs' sizes, sleep, return new data.

    Raises:
        ValueError: If an input is not ``data_bytes`` long.
    """
    for data in inputs:
        if len(data) != data_bytes:
            raise ValueError(f'input of {len(data)} bytes, expected {data_bytes}')
    if sleep:
        time.sleep(sleep)
    return make_data(data_bytes, stamp)


def expected_tasks(params: Params) -> int:
    """Tasks a structure submits."""
    n = params.task_count
    return {'bag': n, 'diamond': n + 2, 'reduce': n + 1, 'sequential': n}[
        params.structure
    ]


def run(engine: Engine, params: Params) -> dict[str, Any]:
    """Submit the structure; check every output's size and maker.

    Raises:
        AppCheckError: If an output is wrong.
    """
    size, sleep = params.data_bytes, params.sleep

    def task(stamp: int, *inputs: Any) -> TaskFuture:
        return engine.submit(
            noop, *inputs, data_bytes=size, sleep=sleep, stamp=stamp, task_name='noop'
        )

    n = params.task_count
    final: list[tuple[int, TaskFuture]] = []
    if params.structure == 'bag':
        final = [(i, task(i, make_data(size, 0))) for i in range(n)]
    elif params.structure == 'diamond':
        top = task(0)
        middle = [task(i + 1, top) for i in range(n)]
        final = [(n + 1, task(n + 1, *middle))]
    elif params.structure == 'reduce':
        maps = [task(i, make_data(size, 0)) for i in range(n)]
        final = [(n, task(n, *maps))]
    else:
        previous = task(0, make_data(size, 0))
        for i in range(1, n):
            previous = task(i, previous)
        final = [(n - 1, previous)]
    results = engine.wait([f for _, f in final])
    for (stamp, _), data in zip(final, results, strict=True):
        if len(data) != size or int.from_bytes(data[:_STAMP], 'little') != stamp:
            raise AppCheckError(f'output of task {stamp} is wrong')
    return {
        'structure': params.structure,
        'tasks': expected_tasks(params),
        'data_bytes': size,
        'outputs_checked': len(results),
    }
