"""The task pipelining benchmark runs end to end on real processes and Redis."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app

runner = CliRunner()
SMALL = [
    '--length', '3', '--size', '100000', '--task-sleep', '0.1',
    '--overheads', '0.5', '--connectors', 'redis,shm', '--repeat', '1',
]  # fmt: skip


def test_pipelining_benchmark_writes_results(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(app, ['pipelining', *SMALL, '--out', str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in (
        'pipelining.csv',
        'pipelining.json',
        'pipelining.md',
        'pipelining.png',
    ):
        assert (tmp_path / name).stat().st_size > 0
    records = json.loads((tmp_path / 'pipelining.json').read_text())
    cases = {(r['method'], r['connector']) for r in records}
    assert cases == {
        ('sequential-value', '-'),
        ('sequential-proxy', 'redis'),
        ('pipelined', 'redis'),
        ('sequential-proxy', 'shm'),
        ('pipelined', 'shm'),
    }
    for record in records:  # never faster than the ideal: the tasks really wait
        assert record['makespan_s'] >= record['ideal_s'] - 0.01
    pipelined = [r for r in records if r['method'] == 'pipelined']
    sequential = [r for r in records if r['method'] == 'sequential-proxy']
    assert max(p['makespan_s'] for p in pipelined) < min(
        s['makespan_s'] for s in sequential
    )


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        (['--overheads', '1.0'], 'in [0, 1)'),
        (['--overheads', 'x'], 'comma-separated numbers'),
        (['--connectors', 'ucx'], "Unknown connectors ['ucx']"),
    ],
)
def test_pipelining_rejects_bad_options(options: list[str], message: str) -> None:
    result = runner.invoke(app, ['pipelining', *options])
    assert result.exit_code == 2
    assert message in result.output
