"""Every app at its smallest size, on threads, processes and Dask, both ways."""

from __future__ import annotations

import json
import pathlib
import tomllib
from typing import Any

import pytest

from proxystore_apps.records import read_records
from proxystore_apps.runner import RunResult
from proxystore_apps.runner import run_app

from .conftest import SMALL
from .conftest import small_config

EXECUTORS = ['thread', 'process', 'dask']
MODES = ['value', 'proxy']


def proxies_made(result: RunResult) -> int:
    return sum(
        r.get('inputs_proxied', 0) + r.get('results_proxied', 0) for r in result.records
    )


def check_output(app: str, result: RunResult) -> None:
    """What each app must report at its smallest size."""
    out: dict[str, Any] = result.output
    if app == 'cholesky':
        assert out['tasks'] == 20 == result.tasks
        assert out['max_rel_error'] < 1e-12
    elif app == 'synthetic':
        assert out['tasks'] == 5 == result.tasks
        assert out['outputs_checked'] == 1
    elif app == 'mapreduce':
        assert out['words'] == 4 * 500
        assert 0 < out['distinct_words'] <= 100
        assert out['map_tasks'] == 2 and result.tasks == 3
    elif app == 'fedlearn':
        assert len(out['accuracy_by_round']) == 2
        assert out['final_accuracy'] >= 0.8
        assert out['train_samples'] + out['test_samples'] == 1797
    elif app == 'failures':
        # Seeded draws: the same failures, of every kind, on every engine.
        assert out['injected'] == {'exception': 4, 'dependency': 3, 'timeout': 3}
        assert out['failed'] == {'exception': 4, 'timeout': 2, 'dependency': 4}
        assert result.failed == out['failed']
        assert out['succeeded'] == out['tasks'] - 10 == 2
        assert out['app_outcome'].startswith('DependencyError')
    elif app == 'stream-inference':
        assert out['frames'] == 8 and out['batches'] == 2
        assert out['mean_batch_latency_ms'] > 0
    elif app == 'pipeline':
        assert out['tasks'] == 8 == result.tasks
        assert out['deleterious_variants'] > 0
        if result.config.data.mode == 'value':
            assert out['tasks_started_early'] == 0


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('executor', EXECUTORS)
@pytest.mark.parametrize('app', sorted(SMALL))
def test_app_runs_and_checks_its_output(
    app: str,
    executor: str,
    mode: str,
    tmp_path: pathlib.Path,
    request: pytest.FixtureRequest,
) -> None:
    pool = request.getfixturevalue(f'{executor}_executor')
    result = run_app(small_config(app, executor, mode, tmp_path), executor=pool)
    assert result.ok, result.error
    check_output(app, result)
    if mode == 'value':
        assert proxies_made(result) == 0
    elif app not in ('stream-inference', 'pipeline'):  # they use the store directly
        assert proxies_made(result) > 0


def test_run_directory(tmp_path: pathlib.Path, thread_executor: Any) -> None:
    config = small_config('synthetic', 'thread', 'proxy', tmp_path)
    result = run_app(config, executor=thread_executor)
    assert result.run_dir.parent == tmp_path
    saved = tomllib.loads((result.run_dir / 'config.toml').read_text())
    assert saved['app'] == 'synthetic' and saved['data']['mode'] == 'proxy'
    assert saved['params'] == SMALL['synthetic']
    records = read_records(result.run_dir)
    assert [r['task_id'] for r in sorted(records, key=lambda r: r['task_id'])] == [
        0,
        1,
        2,
        3,
        4,
    ]
    for record in records:
        assert record['status'] == 'ok'
        assert record['created'] <= record['submitted'] <= record['start']
        assert record['start'] <= record['end'] <= record['received']
        for timing in ('inputs_proxied_s', 'resolve_inputs_s', 'proxy_results_s'):
            assert record[timing] >= 0
    # The diamond: the last task depends on the three in the middle.
    assert sorted(records, key=lambda r: r['task_id'])[-1]['dependencies'] == [1, 2, 3]
    summary = json.loads((result.run_dir / 'result.json').read_text())
    assert summary['tasks'] == 5 and summary['mode'] == 'proxy'
    assert summary['connector'] == 'shm'
    assert 'Run ' in (result.run_dir / 'log.txt').read_text()


def test_synthetic_structures(tmp_path: pathlib.Path, thread_executor: Any) -> None:
    expected = {'bag': 3, 'diamond': 5, 'reduce': 4, 'sequential': 3}
    for structure, tasks in expected.items():
        config = small_config('synthetic', 'thread', 'proxy', tmp_path)
        config.params = {**config.params, 'structure': structure}
        result = run_app(config, executor=thread_executor)
        assert result.ok, result.error
        assert result.tasks == tasks
        deps = [r['dependencies'] for r in result.records]
        if structure == 'sequential':
            assert deps == [[], [0], [1]]
        elif structure == 'bag':
            assert deps == [[], [], []]


def test_pipeline_by_proxy_starts_stages_early(
    tmp_path: pathlib.Path, thread_executor: Any
) -> None:
    # Four threads: every task is running at once, waiting on its futures.
    config = small_config('pipeline', 'thread', 'proxy', tmp_path)
    config.params = {**config.params, 'prep': 0.1}
    result = run_app(config, executor=thread_executor)
    assert result.ok, result.error
    assert result.output['tasks_started_early'] >= 1
    merge = next(r for r in result.records if r['name'] == 'merge')
    chunks = [r for r in result.records if r['name'] == 'individuals']
    assert merge['start'] < max(r['end'] for r in chunks)


def test_fedlearn_non_iid(tmp_path: pathlib.Path, thread_executor: Any) -> None:
    config = small_config('fedlearn', 'thread', 'value', tmp_path)
    config.params = {'clients': 3, 'rounds': 3, 'alpha': 0.5, 'min_accuracy': 0.6}
    result = run_app(config, executor=thread_executor)
    assert result.ok, result.error
    assert result.output['final_accuracy'] >= 0.6
