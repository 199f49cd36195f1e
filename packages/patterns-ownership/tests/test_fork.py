"""An owner's lock held by another thread when the process forks.

A thread of the parent holds the lock of an owned object's record (as an
`update` does while it writes the object), the main thread forks, and the
child borrows and updates the inherited owner: a child still blocked after the
bound is killed and fails the test (`ChildHungError`).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from proxystore.ownership import OwnedProxy
from proxystore.ownership import borrow
from proxystore.ownership import update
from proxystore.store import Store
from proxystore.testing.fork import held_by_a_thread
from proxystore.testing.fork import run_in_fork

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    # Python 3.12+ warns about forking a process that has threads; that is the point.
    pytest.mark.filterwarnings('ignore::DeprecationWarning'),
]

TIMEOUT = 10.0


def test_record_lock(store: Store[Any]) -> None:
    owned: OwnedProxy[list[int]] = store.owned_proxy([1, 2])
    assert owned == [1, 2]

    def child() -> None:
        update(owned)  # writes under the lock
        assert borrow(owned) == [1, 2]  # counts a borrow: takes it too

    with held_by_a_thread(owned._record().lock):
        run_in_fork(child, TIMEOUT)
    assert owned == [1, 2]
