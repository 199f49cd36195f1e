"""The engine: dependencies, failures, time limits and records."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from proxystore_apps.config import FilterConfig
from proxystore_apps.datamgmt import DataPolicy
from proxystore_apps.engine import Engine
from proxystore_apps.errors import DependencyError
from proxystore_apps.errors import TaskTimeoutError


def add(a: int, b: int) -> int:
    return a + b


def fail(*_: Any) -> None:
    raise KeyError('boom')


def slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.fixture
def engine() -> Any:
    records: list[dict[str, Any]] = []
    with ThreadPoolExecutor(2) as pool:
        policy = DataPolicy('value', FilterConfig(), None)
        with Engine(pool, policy, on_record=records.append) as engine:
            engine.records = records  # type: ignore[attr-defined]
            yield engine


def test_dependencies_in_containers(engine: Any) -> None:
    a = engine.submit(add, 1, 2)
    b = engine.submit(add, a, 10)
    c = engine.submit(sum, [a, b], task_name='total')
    assert engine.wait([c], timeout=30) == [16]
    assert c.dependencies == [a.task_id, b.task_id] and c.name == 'total'


def test_a_failure_propagates_to_dependants(engine: Any) -> None:
    bad = engine.submit(fail)
    child = engine.submit(add, bad, 1)
    grandchild = engine.submit(add, child, 1)
    independent = engine.submit(add, 1, 1)
    engine.drain(timeout=30)
    assert isinstance(bad.exception(), KeyError)
    assert isinstance(child.exception(), DependencyError)
    assert 'depends on failed task 0 (fail)' in str(child.exception())
    assert isinstance(grandchild.exception(), DependencyError)
    assert independent.result() == 2
    with pytest.raises(DependencyError) as e:
        engine.wait([independent, grandchild], timeout=30)
    assert 'in task 2 (add)' in e.value.__notes__
    kinds = {r['task_id']: r.get('failure') for r in engine.records}
    assert kinds == {0: 'exception', 1: 'dependency', 2: 'dependency', 3: None}


def test_time_limit(engine: Any) -> None:
    over = engine.submit(slow, 0.05, time_limit=0.01)
    within = engine.submit(slow, 0.0, time_limit=5)
    engine.drain(timeout=30)
    assert isinstance(over.exception(), TaskTimeoutError)
    assert 'over its limit of 0.010 s' in str(over.exception())
    assert within.result() == 0.0


def test_wait_times_out(engine: Any) -> None:
    future = engine.submit(slow, 0.5)
    with pytest.raises(TimeoutError, match='1 tasks not done within 0.01 s'):
        engine.wait([future], timeout=0.01)
    engine.drain(timeout=30)


def test_closed_engine_refuses_tasks() -> None:
    with ThreadPoolExecutor(1) as pool:
        engine = Engine(pool, DataPolicy('value', FilterConfig(), None))
        engine.close()
        engine.close()
        with pytest.raises(RuntimeError, match='closed'):
            engine.submit(add, 1, 2)
