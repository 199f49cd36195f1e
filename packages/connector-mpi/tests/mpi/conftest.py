"""Fixtures of the tests that every rank of an ``mpiexec`` job runs together."""

from __future__ import annotations

import time
from collections.abc import Generator
from collections.abc import Iterator

import pytest
from mpi4py import MPI

from proxystore.connectors.mpi import MPIConnector

BARRIER_TIMEOUT = 60.0


def barrier(timeout: float = BARRIER_TIMEOUT) -> None:
    """A barrier that gives up: a rank that failed early must not hang the rest."""
    request = MPI.COMM_WORLD.Ibarrier()
    deadline = time.monotonic() + timeout
    while not request.Test():
        if time.monotonic() > deadline:
            raise TimeoutError(f'barrier: not every rank arrived in {timeout} s')
        time.sleep(0.0005)


@pytest.fixture(scope='session', autouse=True)
def _all_ranks_finish_together() -> Iterator[None]:
    # No rank leaves (stopping its service) while another still reads from it.
    barrier()
    yield
    barrier()


@pytest.fixture
def comm() -> MPI.Intracomm:
    return MPI.COMM_WORLD


@pytest.fixture
def connector() -> Generator[MPIConnector]:
    barrier()
    with MPIConnector(timeout=30) as connector:
        yield connector
        barrier()
