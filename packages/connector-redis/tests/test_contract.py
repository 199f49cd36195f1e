"""The shared connector contract, against every kind of Redis deployment."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.redis import RedisConnector
from proxystore.testing.connector_contract import ConnectorContract
from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import RedisServer
from proxystore.testing.redis import TLSTerminator


class TestRedisTCP(ConnectorContract):
    @pytest.fixture
    def connector(self, redis_server: RedisServer) -> Generator[Any]:
        with RedisConnector('127.0.0.1', redis_server.port, clear=True) as connector:
            yield connector


class TestRedisUnixSocket(ConnectorContract):
    @pytest.fixture
    def connector(self, unix_server: RedisServer) -> Generator[Any]:
        path = str(unix_server.unix_socket)
        with RedisConnector(unix_socket_path=path, clear=True) as connector:
            yield connector


class TestRedisPassword(ConnectorContract):
    @pytest.fixture
    def connector(self, password_server: RedisServer) -> Generator[Any]:
        with RedisConnector(
            '127.0.0.1',
            password_server.port,
            clear=True,
            password=password_server.password,
        ) as connector:
            yield connector


class TestRedisTLS(ConnectorContract):
    @pytest.fixture
    def connector(self, tls_endpoint: TLSTerminator) -> Generator[Any]:
        with RedisConnector(
            '127.0.0.1',
            tls_endpoint.port,
            clear=True,
            ssl=True,
            ssl_ca_certs=str(tls_endpoint.ca_file),
        ) as connector:
            yield connector


class TestRedisCluster(ConnectorContract):
    @pytest.fixture
    def connector(self, redis_cluster: RedisCluster) -> Generator[Any]:
        with RedisConnector(
            '127.0.0.1',
            redis_cluster.port,
            clear=True,
            cluster=True,
        ) as connector:
            yield connector
