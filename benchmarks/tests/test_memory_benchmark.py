"""The memory benchmark runs end to end on a real Redis server and pool."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites.memory import MemorySettings
from proxystore_bench.suites.memory import run_memory_benchmark

runner = CliRunner()
SMALL = ['--rounds', '1', '--sizes', '2000000,200000,20000', '--task-sleep', '0.05']


def test_memory_benchmark_writes_results(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(app, ['memory', *SMALL, '--out', str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ('memory.csv', 'memory.json', 'memory-samples.csv', 'memory.md'):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / 'memory.png').stat().st_size > 0
    records = {r['mode']: r for r in json.loads((tmp_path / 'memory.json').read_text())}
    assert set(records) == {'default', 'manual', 'owned'}
    assert records['default']['residual_keys'] == 4  # 1 + 2 + 1 objects kept
    assert records['manual']['residual_keys'] == 0
    assert records['owned']['residual_keys'] == 0
    assert records['owned']['peak_vs_manual'] is not None


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        (MemorySettings(rounds=0), 'at least 1'),
        (MemorySettings(sizes=(1, 0, 1)), 'must be positive'),
        (MemorySettings(interval=0), 'must be positive'),
    ],
)
def test_invalid_settings(settings: MemorySettings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_memory_benchmark(settings)


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="Unknown modes \\['leaky'\\]"):
        run_memory_benchmark(MemorySettings(), modes=('leaky',))


def test_sizes_must_be_three() -> None:
    result = runner.invoke(app, ['memory', '--sizes', '100,200'])
    assert result.exit_code == 2
    assert 'give three sizes' in result.output
