"""The connector contract, on each rank: with keys of its own, and with keys of
the next rank (every operation crosses ranks)."""

from __future__ import annotations

import uuid
from collections.abc import Generator

import pytest
from mpi4py import MPI

from proxystore.connectors.mpi import MPIConnector
from proxystore.connectors.mpi import MPIKey
from proxystore.serialize import BytesLike
from proxystore.testing.connector_contract import ConnectorContract

pytestmark = pytest.mark.mpi


class NeighbourConnector(MPIConnector):
    """Puts on the next rank: every operation of the contract is a request."""

    def new_key(self, obj: BytesLike | None = None) -> MPIKey:
        comm = MPI.COMM_WORLD
        key = MPIKey((comm.Get_rank() + 1) % comm.Get_size(), uuid.uuid4().hex)
        if obj is not None:
            self.set(key, obj)
        return key


class TestOwnRank(ConnectorContract):
    @pytest.fixture
    def connector(self) -> Generator[MPIConnector]:
        with MPIConnector(timeout=30) as connector:
            yield connector


class TestNextRank(ConnectorContract):
    @pytest.fixture
    def connector(self) -> Generator[MPIConnector]:
        with NeighbourConnector(timeout=30) as connector:
            assert connector.new_key().rank != connector.rank
            yield connector
