"""The worker side of a task: resolve inputs, run, proxy the result, time it all."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

from proxystore_apps.datamgmt import DataPolicy
from proxystore_apps.datamgmt import resolve_tree
from proxystore_apps.errors import TaskTimeoutError

__all__ = ['TaskCall', 'TaskOutput', 'run_task']


class TaskCall:
    """A function and its arguments, as one object engines do not look into.

    Engines inspect the arguments they are given (Dask and Parsl look for
    their futures inside them); a proxy inspected there would be resolved on
    the driver. Wrapped in a `TaskCall`, the arguments travel untouched.

    Args:
        function: The task's function (importable by the workers).
        args: Positional arguments (maybe with proxies).
        kwargs: Keyword arguments (maybe with proxies).
        policy: The data policy (its store makes the result's proxy).
        task_id: Id of the task in its run.
        time_limit: Seconds the function may run (``None``: no limit); a task
            over it raises `TaskTimeoutError` and its result is dropped.
    """

    __slots__ = ('args', 'function', 'kwargs', 'policy', 'task_id', 'time_limit')

    def __init__(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        policy: DataPolicy,
        task_id: int,
        time_limit: float | None = None,
    ) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.policy = policy
        self.task_id = task_id
        self.time_limit = time_limit

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


class TaskOutput:
    """A task's result and the times measured in the worker.

    Attributes:
        result: The result (a proxy when the policy proxied it).
        start: Wall-clock time the worker started the task.
        end: Wall-clock time the worker finished it.
        resolve_inputs_s: Seconds spent resolving proxies among the inputs.
        compute_s: Seconds spent in the task's function.
        proxy_results_s: Seconds spent proxying the result.
        inputs_resolved: Proxies resolved among the inputs.
        results_proxied: Proxies made of the result.
        worker: ``host:pid`` of the worker.
    """

    result: Any
    start: float
    end: float
    resolve_inputs_s: float
    compute_s: float
    proxy_results_s: float
    inputs_resolved: int
    results_proxied: int
    worker: str

    __slots__ = (
        'compute_s',
        'end',
        'inputs_resolved',
        'proxy_results_s',
        'resolve_inputs_s',
        'result',
        'results_proxied',
        'start',
        'worker',
    )

    def __init__(self, **fields: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, fields[name])

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)

    def timings(self) -> dict[str, Any]:
        """Every field but the result, for the task's record."""
        return {
            name: getattr(self, name) for name in self.__slots__ if name != 'result'
        }


def run_task(call: TaskCall) -> TaskOutput:
    """Run a task in a worker.

    Raises:
        TaskTimeoutError: If the function ran longer than ``call.time_limit``.
        Exception: Whatever the task's function raised.
    """
    start = time.time()
    tick = time.perf_counter()
    args, resolved = resolve_tree(call.args)
    kwargs, resolved_kw = resolve_tree(call.kwargs)
    resolved_at = time.perf_counter()
    result = call.function(*args, **kwargs)
    computed_at = time.perf_counter()
    compute_s = computed_at - resolved_at
    if call.time_limit is not None and compute_s > call.time_limit:
        raise TaskTimeoutError(
            f'task {call.task_id} ({getattr(call.function, "__name__", "?")}) ran '
            f'{compute_s:.3f} s, over its limit of {call.time_limit:.3f} s',
        )
    result, proxied = call.policy.proxy_tree(result)
    done = time.perf_counter()
    return TaskOutput(
        result=result,
        start=start,
        end=time.time(),
        resolve_inputs_s=resolved_at - tick,
        compute_s=compute_s,
        proxy_results_s=done - computed_at,
        inputs_resolved=resolved + resolved_kw,
        results_proxied=proxied,
        worker=f'{socket.gethostname()}:{os.getpid()}',
    )
