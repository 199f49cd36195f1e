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


class TestSpillingSharedMemoryConnector(ConnectorContract):
    """The contract holds with a budget smaller than the suite's large value."""

    @pytest.fixture
    def connector(self, tmp_path: pathlib.Path) -> Generator[Any]:
        with SharedMemoryConnector(
            capacity=4 * 1024 * 1024, spill_directory=str(tmp_path / 'spill')
        ) as connector:
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


def test_buffers_moved_to_serialize_with_the_old_path_kept() -> None:
    import proxystore.connectors.buffers as old
    import proxystore.serialize.buffers as new

    assert old.__all__ == new.__all__ == ['POOL_FROM', 'BufferPool', 'allocate']
    for name in new.__all__:
        assert getattr(old, name) is getattr(new, name)  # one pool, not two
    small = new.allocate(10)
    assert isinstance(small, bytearray)
    assert len(small) == 10
    large = new.allocate(new.POOL_FROM)
    assert not memoryview(large).readonly
    assert memoryview(large).nbytes == new.POOL_FROM
