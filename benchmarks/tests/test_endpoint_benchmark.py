"""The endpoint benchmark runs end to end: a relay, two endpoints, Redis."""

from __future__ import annotations

import json
import os
import pathlib

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites.endpoint import EndpointRecord


def test_endpoint_benchmark_writes_results(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(
        app, ['endpoint', '--sizes', '1024,262144', '--out', str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert 'No --baseline-python' in result.output
    for name in ('endpoint.csv', 'endpoint.json', 'endpoint.md', 'endpoint.png'):
        assert (tmp_path / name).stat().st_size > 0
    records = json.loads((tmp_path / 'endpoint.json').read_text())
    cases = {(r['op'], r['method'], r['size']) for r in records}
    for size in (1024, 262144):
        for op in ('get', 'put'):
            for method in ('local', 'peer', 'redis'):
                assert (op, method, size) in cases
    assert all(r['mib_per_s'] > 0 for r in records)
    local = next(
        r
        for r in records
        if (r['op'], r['method'], r['size']) == ('get', 'local', 1024)
    )
    assert local['target'] == 'latency <= 1000 us'


@pytest.mark.skipif(
    'PROXYSTORE_V1_PYTHON' not in os.environ,
    reason='set PROXYSTORE_V1_PYTHON to a venv with proxystore[endpoints]==1.1.0 '
    "(the 'bench' nox session makes one)",
)
def test_endpoint_benchmark_with_1x(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            'endpoint', '--sizes', '1024', '--no-redis', '--no-plot',
            '--baseline-python', os.environ['PROXYSTORE_V1_PYTHON'],
            '--out', str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / 'endpoint.json').read_text())
    methods = {r['method'] for r in records}
    assert methods == {'local', 'peer', 'v1-local', 'v1-peer'}
    assert all(r['vs_v1'] > 0 for r in records if r['method'] in ('local', 'peer'))


@pytest.mark.parametrize(
    ('op', 'method', 'size', 'latency', 'vs_v1', 'meets'),
    [
        ('get', 'local', 1024, 900.0, None, True),
        ('get', 'local', 1024, 1100.0, None, False),
        ('get', 'peer', 2**20, 1.0, 2.1, True),
        ('put', 'peer', 2**20, 1.0, 1.5, False),
        ('get', 'peer', 2**20, 1.0, None, None),
        ('get', 'peer', 1024, 1.0, 3.0, None),
        ('put', 'redis', 2**20, 1.0, None, None),
    ],
)
def test_targets(
    op: str,
    method: str,
    size: int,
    latency: float,
    vs_v1: float | None,
    meets: bool | None,
) -> None:
    record = EndpointRecord(op, method, size, 10, 1.0, latency, 1.0, vs_v1)
    assert record.meets_target is meets


def test_bad_sizes() -> None:
    result = CliRunner().invoke(app, ['endpoint', '--sizes', '1,x'])
    assert result.exit_code != 0
    assert 'sizes are comma-separated integers' in result.output
