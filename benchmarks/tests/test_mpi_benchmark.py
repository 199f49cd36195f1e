"""The MPI benchmark runs end to end under mpiexec -n 2."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites.mpi import MPIRecord

runner = CliRunner()


def test_mpi_benchmark_writes_results(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(
        app, ['mpi', '--sizes', '1024,2097152', '--out', str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    for name in ('mpi.csv', 'mpi.json', 'mpi.md', 'mpi.png'):
        assert (tmp_path / name).stat().st_size > 0
    records = json.loads((tmp_path / 'mpi.json').read_text())
    assert {(r['method'], r['size']) for r in records} == {
        (method, size)
        for method in ('raw', 'raw-new-buffer', 'connector')
        for size in (1024, 2097152)
    } | {('rma', 1024)}  # one-sided gets only up to 1 MiB
    for record in records:
        assert record['round_trips'] >= 3
        assert (record['vs_raw'] is None) == (record['method'] == 'raw')
        assert (record['target'] is None) == (record['method'] != 'connector')


@pytest.mark.parametrize(
    ('size', 'vs_raw', 'meets'),
    [
        (1024, 0.34, True),  # 2.9x the raw latency
        (1024, 0.3, False),
        (1024 * 1024, 0.8, True),
        (1024 * 1024, 0.79, False),
        (65536, 0.1, None),
    ],
)
def test_targets(size: int, vs_raw: float, meets: bool | None) -> None:
    record = MPIRecord('connector', size, 10, 1.0, 1.0, 1.0, vs_raw)
    assert record.meets_target is meets


def test_bad_sizes() -> None:
    result = runner.invoke(app, ['mpi', '--sizes', 'x'])
    assert result.exit_code == 2
    assert 'comma-separated integers' in result.output
