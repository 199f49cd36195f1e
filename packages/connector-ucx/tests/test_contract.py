"""The connector contract against a real data server, over UCX's own choice of
transports and over TCP alone."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from proxystore.connectors.ucx import UCXConnector
from proxystore.testing.connector_contract import ConnectorContract
from proxystore.testing.ucx import UCXServer


class TestDefaultTransports(ConnectorContract):
    @pytest.fixture
    def connector(self, server: UCXServer) -> Generator[UCXConnector]:
        with server.connector(timeout=30) as connector:
            yield connector


@pytest.fixture(scope='module')
def tcp_server() -> Generator[UCXServer]:
    with UCXServer(transports='tcp,self') as server:
        yield server


class TestTCP(ConnectorContract):
    @pytest.fixture
    def connector(self, tcp_server: UCXServer) -> Generator[UCXConnector]:
        with tcp_server.connector(timeout=30) as connector:
            yield connector
