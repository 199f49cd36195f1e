"""Every embedded connector passes the shared connector contract."""

from __future__ import annotations

import pathlib
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import Policy
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.testing.connector_contract import ConnectorContract


class TestLocalConnector(ConnectorContract):
    shares_data = False

    @pytest.fixture
    def connector(self) -> Generator[Any]:
        with LocalConnector() as connector:
            yield connector


class TestFileConnector(ConnectorContract):
    @pytest.fixture
    def connector(self, tmp_path: pathlib.Path) -> Generator[Any]:
        with FileConnector(str(tmp_path / 'store')) as connector:
            yield connector


class TestSharedMemoryConnector(ConnectorContract):
    @pytest.fixture
    def connector(self) -> Generator[Any]:
        with SharedMemoryConnector() as connector:
            yield connector


class TestMultiConnector(ConnectorContract):
    @pytest.fixture
    def connector(self, tmp_path: pathlib.Path) -> Generator[Any]:
        small = FileConnector(str(tmp_path / 'small'))
        large = SharedMemoryConnector()
        with MultiConnector(
            {
                'small': (small, Policy(max_size_bytes=1000, priority=1)),
                'large': (large, Policy(min_size_bytes=0)),
            },
        ) as connector:
            yield connector
