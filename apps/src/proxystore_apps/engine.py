"""The driver side: submit tasks with data dependencies to any executor.

`Engine.submit` returns a `TaskFuture` at once. Task futures given as
arguments (also inside lists, tuples and dicts) are dependencies: the task is
handed to the executor when they are done, with their results in their place,
or fails with `DependencyError` if one failed. The executor (a real task
engine) does all the scheduling; the engine only releases tasks whose inputs
exist, proxies their inputs by the data policy and records what happened.

One dispatcher thread does the work; callbacks of the executor's futures only
queue events for it, so no engine's internal thread ever does I/O for us.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from proxystore.store import Store
from proxystore_apps.datamgmt import DataPolicy
from proxystore_apps.errors import DependencyError
from proxystore_apps.errors import TaskTimeoutError
from proxystore_apps.tasks import TaskCall
from proxystore_apps.tasks import TaskOutput
from proxystore_apps.tasks import run_task

__all__ = ['Engine', 'TaskFuture', 'failure_kind']

logger = logging.getLogger(__name__)

Record = dict[str, Any]


class TaskFuture(concurrent.futures.Future[Any]):
    """The future of a task submitted to an `Engine`.

    Attributes:
        task_id: Id of the task in its run.
        name: Name of the task (its function's name unless given).
        dependencies: Ids of the tasks it depends on.
    """

    def __init__(self, task_id: int, name: str, dependencies: list[int]) -> None:
        super().__init__()
        self.task_id = task_id
        self.name = name
        self.dependencies = dependencies

    def __repr__(self) -> str:
        return f'TaskFuture({self.task_id}, {self.name!r}, done={self.done()})'


def failure_kind(error: BaseException) -> str:
    """``dependency``, ``timeout`` or ``exception``."""
    if isinstance(error, DependencyError):
        return 'dependency'
    if isinstance(error, TaskTimeoutError | concurrent.futures.TimeoutError):
        return 'timeout'
    return 'exception'


def _find_futures(obj: Any, found: list[TaskFuture]) -> None:
    if isinstance(obj, TaskFuture):
        found.append(obj)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _find_futures(item, found)
    elif isinstance(obj, dict):
        for value in obj.values():
            _find_futures(value, found)


def _with_results(obj: Any) -> Any:
    if isinstance(obj, TaskFuture):
        return obj.result()
    if isinstance(obj, list):
        return [_with_results(item) for item in obj]
    if isinstance(obj, tuple):
        items = [_with_results(item) for item in obj]
        return type(obj)(*items) if hasattr(obj, '_fields') else tuple(items)
    if isinstance(obj, dict):
        return {key: _with_results(value) for key, value in obj.items()}
    return obj


class _Task:
    __slots__ = ('args', 'dependencies', 'function', 'future', 'kwargs', 'record')

    def __init__(
        self,
        future: TaskFuture,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        dependencies: list[TaskFuture],
        record: Record,
    ) -> None:
        self.future = future
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.dependencies = dependencies
        self.record = record


class Engine:
    """Submits tasks to an executor, moving their data by a `DataPolicy`.

    Args:
        executor: A `concurrent.futures.Executor` of a task engine.
        policy: How data moves between tasks.
        on_submit: Called with each new task future (progress bars).
        on_record: Called with each finished task's record (in the dispatcher
            thread).
        time_limit: Default time limit of a task's function, in seconds.
    """

    def __init__(
        self,
        executor: Executor,
        policy: DataPolicy,
        *,
        on_submit: Callable[[TaskFuture], None] | None = None,
        on_record: Callable[[Record], None] | None = None,
        time_limit: float | None = None,
    ) -> None:
        self.executor = executor
        self.policy = policy
        self.time_limit = time_limit
        self._on_submit = on_submit
        self._on_record = on_record
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._futures: list[TaskFuture] = []
        self._lock = threading.Lock()
        self._memo: dict[int, tuple[Any, Any]] = {}
        self._closed = False
        self._thread = threading.Thread(
            target=self._dispatch, name='proxystore-apps-engine', daemon=True
        )
        self._thread.start()

    # --- for apps ---------------------------------------------------------------

    @property
    def proxying(self) -> bool:
        """Whether data goes by proxy."""
        return self.policy.proxying

    def store(self) -> Store[Any]:
        """The run's store (only when data goes by proxy).

        Raises:
            RuntimeError: If data goes by value.
        """
        return self.policy.store()

    @property
    def futures(self) -> list[TaskFuture]:
        """Every task future submitted so far."""
        with self._lock:
            return list(self._futures)

    def submit(
        self,
        function: Callable[..., Any],
        /,
        *args: Any,
        task_name: str | None = None,
        time_limit: float | None = None,
        **kwargs: Any,
    ) -> TaskFuture:
        """Submit a task; task futures among its arguments are dependencies.

        Args:
            function: The task (a module-level function, for remote workers).
            args: Its positional arguments.
            task_name: Name in records (default: the function's name).
            time_limit: Seconds the function may run (default: the engine's).
            kwargs: Its keyword arguments.

        Raises:
            RuntimeError: If the engine is closed.
        """
        dependencies: list[TaskFuture] = []
        _find_futures(args, dependencies)
        _find_futures(kwargs, dependencies)
        with self._lock:
            if self._closed:
                raise RuntimeError('The engine is closed.')
            task_id = len(self._futures)
            future = TaskFuture(
                task_id,
                task_name or function.__name__,
                [d.task_id for d in dependencies],
            )
            self._futures.append(future)
        record: Record = {
            'task_id': task_id,
            'name': future.name,
            'function': f'{function.__module__}.{function.__qualname__}',
            'dependencies': future.dependencies,
            'created': time.time(),
            'time_limit': time_limit if time_limit is not None else self.time_limit,
        }
        task = _Task(future, function, args, kwargs, dependencies, record)
        if self._on_submit is not None:
            self._on_submit(future)
        if not dependencies:
            self._events.put(('ready', task))
        else:
            remaining = [len(dependencies)]
            counter = threading.Lock()

            def one_done(_: concurrent.futures.Future[Any]) -> None:
                with counter:
                    remaining[0] -= 1
                    last = remaining[0] == 0
                if last:
                    self._events.put(('ready', task))

            for dependency in dependencies:
                dependency.add_done_callback(one_done)
        return future

    def wait(
        self, futures: Sequence[TaskFuture], timeout: float | None = None
    ) -> list[Any]:
        """The results of ``futures``, in order.

        Raises:
            TimeoutError: If some are not done within ``timeout`` seconds.
            Exception: The error of the first failed task, with its name as a
                note.
        """
        concurrent.futures.wait(futures, timeout=timeout)
        pending = [f for f in futures if not f.done()]
        if pending:
            names = ', '.join(f'{f.task_id}:{f.name}' for f in pending[:5])
            raise TimeoutError(
                f'{len(pending)} tasks not done within {timeout} s ({names}...)'
            )
        results = []
        for future in futures:
            error = future.exception()
            if error is not None:
                error.add_note(f'in task {future.task_id} ({future.name})')
                raise error
            results.append(future.result())
        return results

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every task submitted so far is done (failed or not).

        Tasks submitted by callbacks while draining are waited for too.

        Raises:
            TimeoutError: If tasks are still running after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        while True:
            futures = self.futures
            if len(futures) == seen and all(f.done() for f in futures):
                return
            seen = len(futures)
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            _, pending = concurrent.futures.wait(futures, timeout=left)
            if pending and deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f'{len(pending)} tasks still running after {timeout} s'
                )

    def close(self) -> None:
        """Stop the dispatcher (tasks not yet handed to the executor are cancelled)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._events.put(('stop', None))
        self._thread.join(timeout=30)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the dispatcher -----------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            kind, payload = self._events.get()
            if kind == 'stop':
                break
            try:
                if kind == 'ready':
                    self._start(payload)
                else:
                    self._finish(*payload)
            except BaseException as e:  # pragma: no cover - a bug of ours
                logger.exception('Engine dispatcher failed')
                task = payload if kind == 'ready' else payload[0]
                if not task.future.done():
                    task.future.set_exception(e)
        # Anything left was never started: cancel it so nobody waits forever.
        while True:
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                return
            task = payload if kind == 'ready' else payload[0]
            if task is not None and not task.future.done():
                task.future.cancel()
                task.future.set_running_or_notify_cancel()

    def _start(self, task: _Task) -> None:
        failed = [d for d in task.dependencies if d.exception() is not None]
        if failed:
            names = ', '.join(f'{d.task_id} ({d.name})' for d in failed)
            error = DependencyError(
                f'task {task.future.task_id} ({task.future.name}) did not run: '
                f'it depends on failed task {names}',
            )
            self._complete(task, None, error)
            return
        args = _with_results(task.args)
        kwargs = _with_results(task.kwargs)
        tick = time.perf_counter()
        args, proxied = self.policy.proxy_tree(args, self._memo)
        kwargs, proxied_kw = self.policy.proxy_tree(kwargs, self._memo)
        task.record['inputs_proxied_s'] = time.perf_counter() - tick
        task.record['inputs_proxied'] = proxied + proxied_kw
        call = TaskCall(
            task.function,
            args,
            kwargs,
            self.policy,
            task.future.task_id,
            task.record['time_limit'],
        )
        task.args, task.kwargs = (), {}  # drop references to the data
        task.record['submitted'] = time.time()
        try:
            inner = self.executor.submit(run_task, call)
        except Exception as e:
            self._complete(task, None, e)
            return
        inner.add_done_callback(lambda f: self._events.put(('done', (task, f))))

    def _finish(self, task: _Task, inner: concurrent.futures.Future[Any]) -> None:
        try:
            output = inner.result()
        except BaseException as e:
            self._complete(task, None, e)
            return
        self._complete(task, output, None)

    def _complete(
        self,
        task: _Task,
        output: TaskOutput | None,
        error: BaseException | None,
    ) -> None:
        record = task.record
        record['received'] = time.time()
        if output is not None:
            record.update(output.timings())
            record['status'] = 'ok'
        else:
            assert error is not None
            record['status'] = 'failed'
            record['failure'] = failure_kind(error)
            record['error'] = f'{type(error).__name__}: {error}'
        if self._on_record is not None:
            try:
                self._on_record(record)
            except Exception:  # pragma: no cover - a bug of the recorder
                logger.exception('Recording task %s failed', record['task_id'])
        if error is not None:
            task.future.set_exception(error)
        else:
            assert output is not None
            task.future.set_result(output.result)
