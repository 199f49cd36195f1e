"""The connector contract against real endpoint processes (memory and SQLite)."""

from __future__ import annotations

import pathlib
from collections.abc import Generator

import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.testing.connector_contract import ConnectorContract
from proxystore.testing.endpoint import EndpointProcess


class TestMemory(ConnectorContract):
    @pytest.fixture
    def connector(self, solo: EndpointProcess) -> Generator[EndpointConnector]:
        with solo.connector(timeout=30) as connector:
            yield connector


@pytest.fixture(scope='module')
def sqlite(home: pathlib.Path) -> Generator[EndpointProcess]:
    with EndpointProcess(
        home, 'sqlite', database_path=str(home / 'sqlite' / 'blobs.db')
    ) as endpoint:
        yield endpoint


class TestSQLite(ConnectorContract):
    @pytest.fixture
    def connector(self, sqlite: EndpointProcess) -> Generator[EndpointConnector]:
        with sqlite.connector(timeout=30) as connector:
            yield connector


def test_found_by_name(solo: EndpointProcess) -> None:
    from proxystore.store.config import ConnectorConfig

    config = ConnectorConfig(
        kind='endpoint',
        options={'endpoints': [str(solo.uuid)], 'proxystore_dir': str(solo.home)},
    )
    assert config.get_connector_type() is EndpointConnector
    with config.get_connector() as connector:
        assert connector.endpoint_uuid == solo.uuid
