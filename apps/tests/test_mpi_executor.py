"""Apps under ``mpiexec -n 3 python -m mpi4py.futures``: two worker ranks.

Run by the ``mpi`` nox session (the ``mpi`` marker): mpiexec comes from the
MPICH wheel next to the interpreter.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from proxystore_apps.records import read_records

pytestmark = pytest.mark.mpi

MPIEXEC = shutil.which('mpiexec', path=str(pathlib.Path(sys.executable).parent))
MPIEXEC = MPIEXEC or shutil.which('mpiexec')


def launch(app: str, *args: str, run_dir: pathlib.Path) -> dict[str, object]:
    assert MPIEXEC is not None, "no mpiexec: install 'proxystore-apps[mpi]'"
    command = [
        MPIEXEC, '-n', '3', sys.executable, '-m', 'mpi4py.futures',
        '-m', 'proxystore_apps.cli', 'run', app, '--executor', 'mpi',
        '--run-dir', str(run_dir), '--no-progress', *args,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (directory,) = run_dir.iterdir()
    result: dict[str, object] = json.loads((directory / 'result.json').read_text())
    return result


@pytest.mark.parametrize(
    ('app', 'params'),
    [
        ('cholesky', ['-p', 'matrix_size=40', '-p', 'block_size=10']),
        ('synthetic', ['-p', 'structure=reduce', '-p', 'task_count=3']),
        ('pipeline', ['-p', 'chunks=2', '-p', 'individuals=20', '-p', 'prep=0']),
        ('stream-inference', ['-p', 'frames=8', '-p', 'frame_size=32']),
    ],
)
@pytest.mark.parametrize('mode', ['value', 'proxy'])
def test_app_under_mpiexec(
    app: str, params: list[str], mode: str, tmp_path: pathlib.Path
) -> None:
    data = ['--data', mode, '--connector', 'mpi', '--min-bytes', '100']
    result = launch(app, *params, *data, run_dir=tmp_path)
    assert result['error'] is None
    assert result['executor'] == 'mpi' and result['mode'] == mode
    assert result['failed'] == {}
    records = read_records(next(tmp_path.iterdir()))
    workers = {r['worker'].split(':')[1] for r in records}
    assert 1 <= len(workers) <= 2  # the worker ranks, never the main one
    if app == 'cholesky' and mode == 'proxy':
        assert sum(r['results_proxied'] for r in records) == 20


def test_mpi_executor_needs_mpiexec(tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        [
            sys.executable, '-m', 'proxystore_apps.cli', 'run', 'synthetic',
            '--executor', 'mpi', '--run-dir', str(tmp_path), '--no-progress',
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert 'runs under mpiexec with mpi4py.futures' in done.stdout
