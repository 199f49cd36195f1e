"""Another app with safe failures injected at a rate; the run keeps going.

Each task the wrapped app submits is, with probability ``rate``, replaced by a
failing one of a kind drawn from ``kinds``:

- ``exception``: the task raises `InjectedFailureError` instead of running;
- ``timeout``: the task overruns its time limit (``timeout`` seconds) and
  fails with `proxystore_apps.errors.TaskTimeoutError`;
- ``dependency``: the task depends on an extra task that fails, so it never
  runs and fails with `proxystore_apps.errors.DependencyError`.

Tasks that depend on a failed task fail with ``DependencyError`` too. The app
waits for every task, then checks that each injected failure was reported as
its kind and that every other failure is a dependency failure.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any
from typing import Literal
from typing import cast

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from proxystore_apps.config import RunConfig
from proxystore_apps.engine import Engine
from proxystore_apps.engine import TaskFuture
from proxystore_apps.engine import failure_kind
from proxystore_apps.errors import AppCheckError
from proxystore_apps.errors import InvalidParameterError

__all__ = ['SUMMARY', 'InjectedFailureError', 'Params', 'check', 'prepare', 'run']

SUMMARY = 'another app with injected failures (exceptions, timeouts, dependencies)'
Kind = Literal['exception', 'timeout', 'dependency']
KINDS: tuple[Kind, ...] = ('exception', 'timeout', 'dependency')


class Params(BaseModel):
    """Parameters of the failure-injection app.

    Attributes:
        app: The app to run with failures.
        app_params: Its parameters.
        rate: Probability that a task fails.
        kinds: Kinds of failure drawn from.
        timeout: Time limit of a task made to overrun it (seconds).
        seed: Seed of the draws.
    """

    model_config = ConfigDict(extra='forbid')

    app: str = 'synthetic'
    app_params: dict[str, Any] = Field(
        default_factory=lambda: {
            'structure': 'reduce',
            'task_count': 12,
            'data_bytes': 10_000,
        }
    )
    rate: float = Field(default=0.2, ge=0, le=1)
    kinds: list[Kind] = Field(default_factory=lambda: list(KINDS), min_length=1)
    timeout: float = Field(default=0.05, gt=0, le=60)
    seed: int = 2


class InjectedFailureError(RuntimeError):
    """The failure a task was made to raise."""


def raise_injected(*args: Any, name: str, **kwargs: Any) -> None:
    """A task that fails in place of ``name``."""
    raise InjectedFailureError(f'injected failure in place of {name}')


def overrun(
    function: Callable[..., Any], delay: float, *args: Any, **kwargs: Any
) -> Any:
    """Sleep ``delay`` seconds, then run the task (to overrun its limit)."""
    time.sleep(delay)
    return function(*args, **kwargs)


def fail_upstream() -> None:
    """A task whose failure its dependants inherit."""
    raise InjectedFailureError('injected failure of an upstream task')


class _FaultyEngine:
    """An engine that injects failures into what is submitted to it."""

    def __init__(self, engine: Engine, params: Params) -> None:
        self._engine = engine
        self._params = params
        self._random = random.Random(params.seed)
        self.injected: dict[int, str] = {}  # task id -> kind

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def submit(
        self,
        function: Callable[..., Any],
        /,
        *args: Any,
        task_name: str | None = None,
        time_limit: float | None = None,
        **kwargs: Any,
    ) -> TaskFuture:
        name = task_name or function.__name__
        if self._random.random() >= self._params.rate:
            return self._engine.submit(
                function, *args, task_name=name, time_limit=time_limit, **kwargs
            )
        kind = self._random.choice(self._params.kinds)
        if kind == 'exception':
            future = self._engine.submit(
                raise_injected, *args, name=name, task_name=name, **kwargs
            )
        elif kind == 'timeout':
            limit = self._params.timeout
            future = self._engine.submit(
                overrun, function, limit * 2, *args,
                task_name=name, time_limit=limit, **kwargs,
            )  # fmt: skip
        else:
            upstream = self._engine.submit(fail_upstream, task_name='upstream')
            self.injected[upstream.task_id] = 'exception'
            future = self._engine.submit(
                function, *args, task_name=name, _upstream=upstream, **kwargs
            )
        self.injected[future.task_id] = kind
        return future


def check(config: RunConfig, params: BaseModel) -> None:
    """The wrapped app must exist, take its parameters and not be this one.

    Raises:
        InvalidParameterError: If it is this app or its parameters are invalid.
        UnknownAppError: If there is no such app.
    """
    from proxystore_apps.apps import get_app
    from proxystore_apps.apps import parse_params

    assert isinstance(params, Params)
    if params.app == 'failures':
        raise InvalidParameterError(
            'the failures app cannot wrap itself: app=synthetic'
        )
    inner = parse_params(params.app, params.app_params)
    inner_check = getattr(get_app(params.app), 'check', None)
    if inner_check is not None:
        inner_check(config, inner)


def prepare(params: Params) -> Any:
    """What the wrapped app prepares."""
    from proxystore_apps.apps import get_app
    from proxystore_apps.apps import parse_params
    from proxystore_apps.apps import prepare_app

    return prepare_app(get_app(params.app), parse_params(params.app, params.app_params))


def run(engine: Engine, params: Params, prepared: Any) -> dict[str, Any]:
    """Run the wrapped app with failures; wait for every task; check the reports.

    Raises:
        AppCheckError: If an injected failure was not reported as its kind, or
            a task not made to fail failed other than by a dependency.
    """
    from proxystore_apps.apps import get_app
    from proxystore_apps.apps import parse_params
    from proxystore_apps.apps import run_prepared

    inner = get_app(params.app)
    faulty = _FaultyEngine(engine, params)
    app_error = None
    output: dict[str, Any] = {}
    try:
        inner_params = parse_params(params.app, params.app_params)
        output = run_prepared(inner, cast(Engine, faulty), inner_params, prepared)
    except Exception as e:
        app_error = f'{type(e).__name__}: {e}'.splitlines()[0]
    engine.drain()
    futures = engine.futures
    observed: dict[str, int] = {}
    failed: set[int] = set()
    for future in futures:
        error = future.exception()
        if error is None:
            continue
        kind = failure_kind(error)
        observed[kind] = observed.get(kind, 0) + 1
        failed.add(future.task_id)
        expected = faulty.injected.get(future.task_id)
        if any(d in failed for d in future.dependencies):
            expected = 'dependency'  # it never ran, injected or not
        if expected is not None and expected != kind:
            raise AppCheckError(
                f'task {future.task_id} was made to fail by {expected}, '
                f'but failed by {kind}: {error}',
            )
        if expected is None and kind != 'dependency':
            raise AppCheckError(f'task {future.task_id} failed unexpectedly: {error}')
    missing = [t for t in faulty.injected if t not in failed]
    if missing:
        raise AppCheckError(f'tasks {missing} were made to fail but did not')
    injected: dict[str, int] = {}
    for kind in faulty.injected.values():
        injected[kind] = injected.get(kind, 0) + 1
    return {
        'app': params.app,
        'tasks': len(futures),
        'injected': injected,
        'failed': observed,
        'succeeded': len(futures) - len(failed),
        'app_outcome': app_error
        or 'finished: ' + ', '.join(f'{k}={v}' for k, v in output.items()),
    }
