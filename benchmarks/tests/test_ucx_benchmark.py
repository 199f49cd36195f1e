"""The UCX benchmark runs end to end: two processes, raw ucxx, the connector, Redis."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites.ucx import UCXRecord
from proxystore_bench.suites.ucx_report import meets_target


def test_ucx_benchmark_writes_results(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(
        app, ['ucx', '--sizes', '1024,2097152', '--out', str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    for name in ('ucx.csv', 'ucx.json', 'ucx.md', 'ucx.png'):
        assert (tmp_path / name).stat().st_size > 0
    records = json.loads((tmp_path / 'ucx.json').read_text())
    cases = {(r['op'], r['method'], r['size']) for r in records}
    for size in (1024, 2097152):
        for method in ('raw', 'raw-new-buffer', 'connector', 'redis'):
            assert ('get', method, size) in cases
        for method in ('raw', 'connector', 'redis'):
            assert ('put', method, size) in cases
    assert all(r['mib_per_s'] > 0 for r in records)


@pytest.mark.parametrize(
    ('op', 'size', 'latency', 'vs_raw', 'meets'),
    [
        ('get', 2**20, 300.0, 0.85, True),
        ('get', 2**20, 300.0, 0.75, False),
        ('get', 1024, 400.0, 0.2, True),
        ('get', 1024, 600.0, 0.2, False),
        ('get', 65536, 100.0, 0.5, None),
        ('put', 2**20, 300.0, 0.5, None),
    ],
)
def test_targets(
    op: str, size: int, latency: float, vs_raw: float, meets: bool | None
) -> None:
    record = UCXRecord(op, 'connector', size, 10, 1.0, latency, 1.0, vs_raw)
    assert meets_target(record) is meets


def test_bad_sizes() -> None:
    result = CliRunner().invoke(app, ['ucx', '--sizes', '1,x'])
    assert result.exit_code != 0
    assert 'sizes are comma-separated integers' in result.output
