"""A Redis server on 127.0.0.1 for the mailbox tests, started once."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from proxystore.testing.redis import RedisServer


@pytest.fixture(scope='session')
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Generator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp('actors-redis')) as server:
        yield server
