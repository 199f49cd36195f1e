"""The store benchmark and the workflow main job run end to end."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites.store import OURS
from proxystore_bench.suites.store import StoreRecord
from proxystore_bench.suites.workflow import run_workflow

runner = CliRunner()
SMALL = ['--sizes', '1024', '--roundtrip-sizes', '65536', '--repeat', '1']


def test_store_benchmark_writes_results(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(app, ['store', *SMALL, '--out', str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ('store.csv', 'store.json', 'store.md', 'store.png'):
        assert (tmp_path / name).stat().st_size > 0
    records = json.loads((tmp_path / 'store.json').read_text())
    benches = {r['bench'] for r in records}
    assert benches == {
        'put_get',
        'resolve',
        'proxy_size',
        'roundtrip_total',
        'roundtrip_identity',
    }
    cases = {r['case'] for r in records}
    assert {'local', 'file', 'file@shm', 'shm'} <= cases
    sizes = [r for r in records if r['bench'] == 'proxy_size' and r['case'] == 'shm']
    assert all(r['meets_target'] for r in sizes)


@pytest.mark.parametrize(
    ('option', 'value', 'message'),
    [('--sizes', 'abc', 'comma-separated integers'), ('--sizes', '4', 'at least 8')],
)
def test_store_benchmark_rejects_bad_sizes(
    option: str, value: str, message: str
) -> None:
    result = runner.invoke(app, ['store', option, value])
    assert result.exit_code == 2
    assert message in result.output


def test_store_benchmark_reports_a_broken_baseline(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / 'python'
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} -S -I "$@"\n')
    fake.chmod(0o755)
    result = runner.invoke(
        app,
        ['store', *SMALL, '--baseline-python', str(fake), '--out', str(tmp_path)],
    )
    assert result.exit_code == 1
    assert 'proxystore 1.1.0: worker exited with 1' in result.output


def test_targets_of_store_records() -> None:
    def record(
        bench: str, case: str, value: float, ratio: float | None, size: int = 1
    ) -> StoreRecord:
        return StoreRecord(
            OURS, '2', bench, case, 'numpy', size, 's', value, 1.0, ratio
        )

    assert record('proxy_size', 'shm', 240, None).meets_target is True
    assert record('proxy_size', 'shm', 300, None).meets_target is False
    assert record('proxy_size', 'file', 300, None).meets_target is None
    assert record('resolve', 'local', 1, 1.2).meets_target is True
    assert (
        record('roundtrip_total', 'shm', 1, 0.6, size=64 * 2**20).meets_target is False
    )
    assert record('roundtrip_total', 'shm', 1, 0.6, size=2**20).meets_target is None


def test_workflow_main_job() -> None:
    result = run_workflow(tasks=2, size_bytes=1 << 20, workers=1)
    assert result.by_value_s > 0
    assert result.by_proxy_s > 0
    assert result.speedup > 0
    assert 0.3 < result.answer / 2 < 0.4  # mean of u^2 for u ~ U(0, 1) is 1/3
    with pytest.raises(ValueError, match='must be positive'):
        run_workflow(tasks=0)


def test_workflow_cli() -> None:
    result = runner.invoke(
        app, ['workflow', '--tasks', '2', '--size', '65536', '--workers', '1']
    )
    assert result.exit_code == 0, result.output
    assert 'by value' in result.output
    assert 'by proxy' in result.output
    assert 'speedup' in result.output
