"""Whole ``mpiexec`` jobs, each bounded in time: ranks that leave, fail, or
never start a service, and proxies through `mpi4py.futures`."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import psutil
import pytest

pytestmark = pytest.mark.mpi

SCRIPTS = pathlib.Path(__file__).parent / 'scripts'
# The MPICH wheel puts mpiexec next to the interpreter.
MPIEXEC = shutil.which('mpiexec', path=str(pathlib.Path(sys.executable).parent))
MPIEXEC = MPIEXEC or shutil.which('mpiexec')


def mpiexec(
    script: str, n: int = 2, *, module: str = 'mpi4py', timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    assert MPIEXEC is not None, 'no mpiexec: install proxystore-connector-mpi[mpich]'
    return subprocess.run(
        [MPIEXEC, '-n', str(n), sys.executable, '-m', module, str(SCRIPTS / script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def leftover_ranks(script: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(['cmdline']):
        if any(script in part for part in process.info['cmdline'] or ()):
            found.append(process)
    return found


def test_a_rank_that_leaves_early() -> None:
    result = mpiexec('early_exit.py')
    assert result.returncode == 0, result.stderr
    assert 'rank 0: MPIRankGoneError: Rank 1 has closed its ProxyStore MPI' in (
        result.stdout
    )


def test_a_rank_without_a_service_times_out() -> None:
    result = mpiexec('no_service.py')
    # Rank 1 drops the request at exit: with it unmatched, its MPI_Finalize
    # failed and the launcher killed rank 0 (exit code 9) or left it hanging.
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'rank 0: MPITimeoutError: Rank 1 did not answer a get request in time' in (
        result.stdout
    )


def test_every_rank_finalizes_cleanly() -> None:
    result = mpiexec('finalize.py', n=4)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'rank 0: rank 1 did not answer' in result.stdout
    for rank in range(4):
        assert f'rank {rank}: finalized' in result.stdout, result.stdout + result.stderr


def test_a_rank_that_raises_ends_the_job() -> None:
    result = mpiexec('rank_raises.py', timeout=60)
    assert result.returncode != 0
    assert 'RuntimeError: rank 1 fails mid-job' in result.stderr
    assert not leftover_ranks('rank_raises.py')


def test_mpi_thread_multiple_is_required() -> None:
    result = mpiexec('thread_single.py')
    assert result.returncode == 0, result.stderr
    assert 'MPIConnectorError: MPI was initialized with thread level 0' in result.stdout


def test_proxies_through_mpi4py_futures() -> None:
    result = mpiexec('futures_pool.py', n=3, module='mpi4py.futures', timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'main: 6 results from worker ranks [1, 2]' in result.stdout
