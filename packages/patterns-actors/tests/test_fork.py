"""Locks held by another thread when the process forks do not deadlock the child.

A thread holds one of the local mailboxes' locks (the lock of the names, or a
name's condition, as a reader in `receive` or a sender does), the main thread
forks, and the child must use a mailbox of that name: a child still blocked
after the bound is killed and fails the test (`ChildHungError`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import pytest

from proxystore.actors import LocalMailbox
from proxystore.actors import mailbox as mailbox_module
from proxystore.testing.fork import held_by_a_thread
from proxystore.testing.fork import run_in_fork

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    # Python 3.12+ warns about forking a process that has threads; that is the point.
    pytest.mark.filterwarnings('ignore::DeprecationWarning'),
]

TIMEOUT = 10.0


def _use(name: str, box: LocalMailbox | None = None) -> Callable[[], None]:
    def child() -> None:
        mailbox = LocalMailbox(name) if box is None else box
        mailbox.create('inbox')
        mailbox.send('inbox', b'from the child')
        envelopes = mailbox.receive(['inbox'], reader='r', count=8, timeout=1)
        assert [e.data for e in envelopes][-1] == b'from the child'
        mailbox.ack(envelopes)

    return child


def test_names_lock() -> None:
    with held_by_a_thread(mailbox_module._LOCAL_LOCK):
        run_in_fork(_use(uuid.uuid4().hex), TIMEOUT)


def test_condition_of_a_name() -> None:
    name = uuid.uuid4().hex
    box = LocalMailbox(name)
    box.create('inbox')
    box.send('inbox', b'from the parent')

    with held_by_a_thread(box._condition):
        run_in_fork(_use(name, box), TIMEOUT)  # a mailbox made before the fork
        run_in_fork(_use(name), TIMEOUT)  # and one made in the child
    # The parent's mailbox is untouched: its message is still there.
    envelopes = box.receive(['inbox'], reader='r', count=8, timeout=1)
    assert [e.data for e in envelopes] == [b'from the parent']


def test_ids_unique_across_mailboxes_of_a_name() -> None:
    name = uuid.uuid4().hex
    first, second = LocalMailbox(name), LocalMailbox(name)
    first.create('inbox')
    first.send('inbox', b'one')
    second.send('inbox', b'two')
    envelopes = first.receive(['inbox'], reader='r', count=8, timeout=1)
    assert [e.data for e in envelopes] == [b'one', b'two']
    assert len({e.id for e in envelopes}) == 2
