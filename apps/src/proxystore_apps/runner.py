"""Run one app: check the config, start the engine and the store, record it all."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import pathlib
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from collections.abc import Generator
from concurrent.futures import Executor
from dataclasses import dataclass
from dataclasses import field
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from proxystore.store import ConnectorConfig
from proxystore.store import Store
from proxystore.store.config import connector_kinds
from proxystore_apps.apps import get_app
from proxystore_apps.apps import parse_params
from proxystore_apps.apps import prepare_app
from proxystore_apps.apps import run_prepared
from proxystore_apps.config import DataConfig
from proxystore_apps.config import RunConfig
from proxystore_apps.datamgmt import DataPolicy
from proxystore_apps.engine import Engine
from proxystore_apps.engine import TaskFuture
from proxystore_apps.errors import ConfigError
from proxystore_apps.errors import MissingPackageError
from proxystore_apps.errors import UnknownConnectorError
from proxystore_apps.executors import check_executor
from proxystore_apps.executors import open_executor
from proxystore_apps.records import RunDirectory

__all__ = ['Resolved', 'RunResult', 'check_connector', 'resolve', 'run_app']

logger = logging.getLogger(__name__)

# ProxyStore connectors that are packages of their own: kind -> extra.
KNOWN_CONNECTORS = {
    'redis': 'redis',
    'mpi': 'mpi',
    'ucx': 'ucx',
    'endpoint': 'endpoint',
}


@dataclass
class Resolved:
    """A checked config: its app module and parsed parameters."""

    config: RunConfig
    app: ModuleType
    params: BaseModel


@dataclass
class RunResult:
    """What one run did.

    Attributes:
        config: The resolved config.
        run_dir: The run directory.
        makespan_s: Seconds from the first submission to the last result.
        tasks: Tasks submitted.
        failed: Failed tasks by kind (``exception``, ``timeout``,
            ``dependency``).
        output: What the app reported.
        records: The task records.
        error: The app's error, if it did not finish (``Type: message``).
    """

    config: RunConfig
    run_dir: pathlib.Path
    makespan_s: float
    tasks: int
    failed: dict[str, int]
    output: dict[str, Any]
    records: list[dict[str, Any]] = field(repr=False)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the app finished and its output passed its check."""
        return self.error is None

    def mean(self, name: str) -> float:
        """Mean of a timing over the tasks that have it (0 if none)."""
        values = [r[name] for r in self.records if isinstance(r.get(name), float)]
        return sum(values) / len(values) if values else 0.0

    def summary(self) -> dict[str, Any]:
        """The result as plain data (``result.json``)."""
        return {
            'app': self.config.app,
            'executor': self.config.executor.kind,
            'mode': self.config.data.mode,
            'connector': (
                self.config.data.connector if self.config.data.mode == 'proxy' else None
            ),
            'makespan_s': self.makespan_s,
            'tasks': self.tasks,
            'failed': self.failed,
            'mean_resolve_inputs_s': self.mean('resolve_inputs_s'),
            'mean_proxy_results_s': self.mean('proxy_results_s'),
            'mean_inputs_proxied_s': self.mean('inputs_proxied_s'),
            'output': self.output,
            'error': self.error,
            'run_dir': str(self.run_dir),
        }


def check_connector(data: DataConfig) -> None:
    """Check that the connector of a proxy run is installed.

    Raises:
        MissingPackageError: If it is a ProxyStore connector whose package is
            not installed.
        UnknownConnectorError: If no connector has that name.
    """
    kind = data.connector
    if kind in connector_kinds() or '.' in kind or ':' in kind:
        return
    installed = ', '.join(connector_kinds())
    extra = KNOWN_CONNECTORS.get(kind)
    if extra is not None:
        raise MissingPackageError(
            f'The {kind} connector is not installed: pip install '
            f"'proxystore[{extra}]' (package proxystore-connector-{kind}, or "
            f'proxystore-p2p-endpoint for endpoint). Installed: {installed}.',
        )
    raise UnknownConnectorError(
        f'Unknown connector {kind!r}: choose an installed one ({installed}), or '
        'give the import path of a connector class.',
    )


def resolve(config: RunConfig) -> Resolved:
    """Check every name and parameter of ``config``.

    Raises:
        ConfigError: A subclass naming what is wrong and how to fix it.
    """
    app = get_app(config.app)
    params = parse_params(config.app, config.params)
    check_executor(config.executor)
    if config.data.mode == 'proxy':
        check_connector(config.data)
    check = getattr(app, 'check', None)
    if check is not None:
        check(config, params)
    return Resolved(config, app, params)


def make_store(data: DataConfig, scratch: pathlib.Path) -> Store[Any]:
    """The store of a proxy run (registered; the caller closes it).

    Raises:
        ConfigError: If the connector rejects its options.
    """
    options = dict(data.options)
    if data.connector == 'file':
        options.setdefault('store_dir', str(scratch / 'file-store'))
    try:
        connector = ConnectorConfig(
            kind=data.connector, options=options
        ).get_connector()
    except (TypeError, ValueError, OSError) as e:
        raise ConfigError(
            f'The {data.connector} connector rejected its options {options}: '
            f'{type(e).__name__}: {e}. Give options with --connector-option '
            'NAME=VALUE (or [data.options] in the TOML file).',
        ) from e
    name = f'proxystore-apps-{uuid.uuid4().hex[:8]}'
    return Store(name, connector, register=True, cache_size=16)


def _import(module: str) -> str:
    importlib.import_module(module)
    return module


def preload(executor: Executor, module: str, workers: int) -> None:
    """Import the app's module in the workers before anything is timed.

    Each worker imports it on its first task anyway; done here, the imports
    (numpy, scipy, scikit-learn) stay out of the makespan.
    """
    futures = [executor.submit(_import, module) for _ in range(2 * workers)]
    for future in futures:
        future.result(timeout=300)


def close_store(store: Store[Any]) -> None:
    """Close the run's store, deleting what the run left in it.

    Connectors made from a config do not own their data (``clear=False``):
    the run's objects are cleared explicitly where the connector can.
    """
    if 'clear' in inspect.signature(store.connector.close).parameters:
        store.close(clear=True)
    else:
        store.close()


@contextlib.contextmanager
def _executor(resolved: Resolved, executor: Executor | None) -> Generator[Executor]:
    if executor is not None:
        yield executor
    else:
        with open_executor(resolved.config.executor) as started:
            yield started


def run_app(
    config: RunConfig,
    *,
    executor: Executor | None = None,
    on_submit: Callable[[TaskFuture], None] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Run the app of ``config`` and write its run directory.

    Args:
        config: The run.
        executor: An executor already started (of ``config.executor.kind``);
            by default one is started for the run and stopped after it.
        on_submit: Called with each task future (progress bars).
        on_record: Called with each task's record as it finishes.

    Raises:
        ConfigError: If the config is invalid (before anything runs).
    """
    resolved = resolve(config)
    run_dir = RunDirectory(config.run_dir, f'{config.app}-{config.data.mode}')
    run_dir.write_config(config)
    records: list[dict[str, Any]] = []

    def record(item: dict[str, Any]) -> None:
        records.append(item)
        run_dir.record(item)
        if on_record is not None:
            on_record(item)

    with contextlib.ExitStack() as stack:
        stack.callback(run_dir.close)
        stack.enter_context(run_dir.logging_to_file())
        scratch = pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory()))
        store = None
        if config.data.mode == 'proxy':
            store = make_store(config.data, scratch)
            stack.callback(close_store, store)
        policy = DataPolicy(
            config.data.mode,
            config.data.filter,
            None if store is None else store.config(),
        )
        logger.info('Run %s: %s', run_dir.path.name, config.model_dump_json())
        pool = stack.enter_context(_executor(resolved, executor))
        engine = stack.enter_context(
            Engine(pool, policy, on_submit=on_submit, on_record=record)
        )
        preload(pool, resolved.app.__name__, config.executor.workers)
        prepared = prepare_app(resolved.app, resolved.params)
        error = None
        output: dict[str, Any] = {}
        start = time.perf_counter()
        try:
            output = run_prepared(resolved.app, engine, resolved.params, prepared)
        except Exception as e:
            error = f'{type(e).__name__}: {e}'
            logger.error('App %s failed:\n%s', config.app, traceback.format_exc())
        try:
            engine.drain(timeout=config.task_timeout)
        except TimeoutError as e:
            error = error or f'TimeoutError: {e}'
        makespan = time.perf_counter() - start
    failed: dict[str, int] = {}
    for item in records:
        if item.get('status') == 'failed':
            failed[item['failure']] = failed.get(item['failure'], 0) + 1
    result = RunResult(
        config=config,
        run_dir=run_dir.path,
        makespan_s=makespan,
        tasks=len(engine.futures),
        failed=failed,
        output=output,
        records=sorted(records, key=lambda r: r['task_id']),
        error=error,
    )
    run_dir.write_result(result.summary())
    logger.info('Run %s done in %.3f s', run_dir.path.name, makespan)
    return result
