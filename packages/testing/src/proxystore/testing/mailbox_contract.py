"""The behaviour every actor mailbox must have, as pytest tests.

Subclass `MailboxContract` and provide a ``mailbox`` fixture: a mailbox whose
``reclaim_after`` is `RECLAIM_AFTER`, closed by the fixture::

    class TestMyMailbox(MailboxContract):
        @pytest.fixture
        def mailbox(self):
            box = MyMailbox(reclaim_after=MailboxContract.RECLAIM_AFTER)
            yield box
            box.close()
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from proxystore.actors.exceptions import MailboxError
from proxystore.actors.mailbox import Mailbox
from proxystore.actors.mailbox import mailbox_from_config

__all__ = ['MailboxContract']


def _address() -> str:
    return f'contract-{uuid.uuid4().hex}'


class MailboxContract:
    """Tests every mailbox passes. Subclasses provide a ``mailbox`` fixture."""

    RECLAIM_AFTER = 0.3
    """The ``reclaim_after`` of the fixture's mailbox, in seconds."""

    def test_is_a_mailbox(self, mailbox: Any) -> None:
        assert isinstance(mailbox, Mailbox)

    def test_create_exists_delete(self, mailbox: Any) -> None:
        address = _address()
        assert not mailbox.exists(address)
        mailbox.create(address)
        mailbox.create(address)  # again: nothing
        assert mailbox.exists(address)
        mailbox.delete(address)
        assert not mailbox.exists(address)
        mailbox.delete(address)  # a missing address is not an error

    def test_send_to_a_missing_address_fails(self, mailbox: Any) -> None:
        address = _address()
        with pytest.raises(MailboxError, match='does not exist'):
            mailbox.send(address, b'x')
        assert not mailbox.exists(address)  # the send did not make it

    def test_bad_addresses(self, mailbox: Any) -> None:
        for bad in ('', 'x' * 201):
            with pytest.raises(ValueError, match='string of 1 to 200'):
                mailbox.create(bad)

    def test_messages_come_in_order_until_acknowledged(self, mailbox: Any) -> None:
        address = _address()
        mailbox.create(address)
        for n in range(20):
            mailbox.send(address, b'%d' % n)
        got = mailbox.receive([address], reader='r', count=50, timeout=5)
        assert [e.data for e in got] == [b'%d' % n for n in range(20)]
        assert all(e.address == address for e in got)
        mailbox.ack(got)
        assert mailbox.receive([address], reader='r', count=50, timeout=0.05) == []
        mailbox.delete(address)

    def test_receive_waits_at_most_its_timeout(self, mailbox: Any) -> None:
        address = _address()
        mailbox.create(address)
        start = time.monotonic()
        assert mailbox.receive([address], reader='r', count=1, timeout=0.2) == []
        assert time.monotonic() - start < 5  # bounded (a loaded machine is slow)
        mailbox.delete(address)

    def test_one_receive_reads_several_addresses(self, mailbox: Any) -> None:
        addresses = [_address() for _ in range(3)]
        for n, address in enumerate(addresses):
            mailbox.create(address)
            mailbox.send(address, b'%d' % n)
        got: list[Any] = []
        deadline = time.monotonic() + 10
        while len(got) < 3 and time.monotonic() < deadline:
            got += mailbox.receive(addresses, reader='r', count=10, timeout=0.5)
        assert sorted((e.address, e.data) for e in got) == sorted(
            (a, b'%d' % n) for n, a in enumerate(addresses)
        )
        mailbox.ack(got)
        for address in addresses:
            mailbox.delete(address)

    def test_count_is_respected(self, mailbox: Any) -> None:
        address = _address()
        mailbox.create(address)
        for n in range(5):
            mailbox.send(address, b'%d' % n)
        first = mailbox.receive([address], reader='r', count=2, timeout=5)
        assert [e.data for e in first] == [b'0', b'1']
        rest = mailbox.receive([address], reader='r', count=10, timeout=5)
        assert [e.data for e in rest] == [b'2', b'3', b'4']
        mailbox.ack([*first, *rest])
        mailbox.delete(address)

    def test_a_message_taken_by_one_reader_is_not_given_to_another(
        self, mailbox: Any
    ) -> None:
        address = _address()
        mailbox.create(address)
        mailbox.send(address, b'once')
        taken = mailbox.receive([address], reader='a', count=1, timeout=5)
        assert [e.data for e in taken] == [b'once']
        assert mailbox.receive([address], reader='b', count=1, timeout=0.05) == []
        mailbox.ack(taken)
        mailbox.delete(address)

    def test_unacknowledged_messages_are_taken_again(self, mailbox: Any) -> None:
        # The reader died holding them: after reclaim_after another takes them.
        address = _address()
        mailbox.create(address)
        mailbox.send(address, b'redelivered')
        assert len(mailbox.receive([address], reader='dead', count=1, timeout=5)) == 1
        again: list[Any] = []
        deadline = time.monotonic() + 10 + self.RECLAIM_AFTER
        while not again and time.monotonic() < deadline:
            again = mailbox.receive([address], reader='alive', count=1, timeout=0.1)
        assert [e.data for e in again] == [b'redelivered']
        mailbox.ack(again)
        time.sleep(self.RECLAIM_AFTER * 1.5)  # acknowledged: never again
        assert mailbox.receive([address], reader='x', count=1, timeout=0.05) == []
        mailbox.delete(address)

    def test_binary_and_empty_messages(self, mailbox: Any) -> None:
        address = _address()
        mailbox.create(address)
        payloads = [b'', bytes(range(256)), b'\0' * 100_000]
        for payload in payloads:
            mailbox.send(address, payload)
        got: list[Any] = []
        deadline = time.monotonic() + 10
        while len(got) < 3 and time.monotonic() < deadline:
            got += mailbox.receive([address], reader='r', count=10, timeout=0.5)
        assert [bytes(e.data) for e in got] == payloads
        mailbox.ack(got)
        mailbox.delete(address)

    def test_config_reaches_the_same_addresses(self, mailbox: Any) -> None:
        address = _address()
        mailbox.create(address)
        other = mailbox_from_config(mailbox.config())
        try:
            assert other.exists(address)
            other.send(address, b'from the copy')
            got = mailbox.receive([address], reader='r', count=1, timeout=5)
            assert [e.data for e in got] == [b'from the copy']
            mailbox.ack(got)
        finally:
            other.close()
            mailbox.delete(address)
