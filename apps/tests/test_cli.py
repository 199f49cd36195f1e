"""The ``proxystore-apps`` command line."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from proxystore_apps.cli import app
from proxystore_apps.cli import parse_pairs
from proxystore_apps.errors import ConfigError

runner = CliRunner(env={'COLUMNS': '200'})


def test_list() -> None:
    result = runner.invoke(app, ['list'])
    assert result.exit_code == 0, result.output
    for name in ('cholesky', 'stream-inference', 'dask', 'parsl', 'mpi', 'shm'):
        assert name in result.output


def test_parse_pairs() -> None:
    assert parse_pairs(['n=4', 'x=1.5', 's=bag', 'l=[1,2]', 'b=true'], '-p') == {
        'n': 4,
        'x': 1.5,
        's': 'bag',
        'l': [1, 2],
        'b': True,
    }
    with pytest.raises(ConfigError, match="-p 'n' is not NAME=VALUE"):
        parse_pairs(['n'], '-p')


def test_run(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(
        app,
        [
            'run', 'cholesky', '-p', 'matrix_size=40', '-p', 'block_size=20',
            '--executor', 'thread', '--data', 'proxy', '--filter', 'type',
            '--filter-type', 'ndarray', '--run-dir', str(tmp_path), '--no-progress',
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert 'cholesky: summary' in result.output
    assert 'proxy (shm, type in ndarray)' in result.output
    assert 'output: max_rel_error' in result.output
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / 'result.json').read_text())
    assert summary['tasks'] == 4 and summary['error'] is None


def test_run_from_toml(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'run.toml'
    path.write_text(
        'app = "mapreduce"\n'
        f'run_dir = "{tmp_path / "runs"}"\n'
        '[params]\nfiles = 2\nwords_per_file = 100\n'
        '[executor]\nkind = "thread"\n',
    )
    result = runner.invoke(
        app, ['run', 'mapreduce', '--config', str(path), '-p', 'map_tasks=1']
    )
    assert result.exit_code == 0, result.output
    assert 'output: words' in result.output and '200' in result.output


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['run', 'nope'], "Unknown app 'nope'"),
        (['run', 'synthetic', '--executor', 'slurm'], "Unknown executor 'slurm'"),
        (['run', 'synthetic', '-p', 'task_count=-1'], 'task_count'),
        (['run', 'synthetic', '--data', 'proxy', '--connector', 'tape'], "'tape'"),
        (['compare', 'cholesky', '-p', 'block_size=7'], 'must divide'),
        (['run', 'synthetic', '--config', 'missing.toml'], 'does not exist'),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert 'error:' in result.output and message in result.output


def test_failing_app_exits_1(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(
        app,
        [
            'run', 'fedlearn', '-p', 'rounds=1', '-p', 'epochs=1',
            '-p', 'min_accuracy=1.0', '--executor', 'thread',
            '--run-dir', str(tmp_path), '--no-progress',
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert 'AppCheckError' in result.output


def test_compare_with_plot(tmp_path: pathlib.Path) -> None:
    plot = tmp_path / 'compare.png'
    result = runner.invoke(
        app,
        [
            'compare', 'synthetic', '-p', 'task_count=3', '-p', 'data_bytes=1000000',
            '--executor', 'process', '--repeat', '2', '--run-dir', str(tmp_path),
            '--plot', str(plot), '--no-progress',
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in ('by value:', 'by proxy:', 'speedup:', 'proxy (shm, size >= 10000'):
        assert text in result.output
    assert plot.read_bytes()[:4] == b'\x89PNG'
    assert len(list(tmp_path.glob('synthetic-*'))) == 4  # 2 runs of each mode
