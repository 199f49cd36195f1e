"""Every mailbox passes the one contract suite; then what is each one's own."""

from __future__ import annotations

import uuid
from collections.abc import Generator

import pytest

from proxystore.actors import LocalMailbox
from proxystore.actors import MailboxError
from proxystore.actors import RedisMailbox
from proxystore.actors.mailbox import mailbox_from_config
from proxystore.testing.mailbox_contract import MailboxContract
from proxystore.testing.redis import RedisServer


class TestLocalMailbox(MailboxContract):
    @pytest.fixture
    def mailbox(self) -> Generator[LocalMailbox]:
        box = LocalMailbox(uuid.uuid4().hex, reclaim_after=self.RECLAIM_AFTER)
        yield box
        box.close()


class TestRedisMailbox(MailboxContract):
    @pytest.fixture
    def mailbox(self, redis_server: RedisServer) -> Generator[RedisMailbox]:
        box = RedisMailbox(
            '127.0.0.1',
            redis_server.port,
            prefix=f'test-{uuid.uuid4().hex[:8]}',
            reclaim_after=self.RECLAIM_AFTER,
        )
        yield box
        box.close()


def test_unknown_mailbox_kind() -> None:
    with pytest.raises(ValueError, match="Unknown mailbox kind 'carrier'"):
        mailbox_from_config({'kind': 'carrier'})


def test_redis_server_gone_is_a_mailbox_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with RedisServer(tmp_path_factory.mktemp('gone')) as server:
        box = RedisMailbox('127.0.0.1', server.port, socket_timeout=2)
        box.create('a')
    with pytest.raises(MailboxError, match='unreachable'):
        box.send('a', b'x')
    box.close()
