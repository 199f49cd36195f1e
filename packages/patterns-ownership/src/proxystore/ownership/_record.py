"""The ownership record of one stored object in this process.

The owner and every borrow made here share one `Record`: it counts the borrows,
knows whether the owner is still alive, and evicts the object when the owner is
gone and the last borrow is released. It never references the owner strongly, so
the owner's finalizer can run while borrows (even borrows lent to other
processes) still need the object: eviction then waits for them.

Finalizers call into records at any allocation (a garbage collection), so the
locks are reentrant; and only the process that made a record acts on it (a
forked child's copy does nothing).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING
from typing import Any

from proxystore.ownership._errors import MutableBorrowError
from proxystore.ownership._errors import ReferenceInvalidError
from proxystore.proxy import is_resolved
from proxystore.store.exceptions import StoreClosedError

if TYPE_CHECKING:
    from proxystore.store.factory import StoreFactory
    from proxystore.store.lifetimes import Lifetime

__all__ = ['Record', 'owner_of']

logger = logging.getLogger(__name__)

# The live records of this process, by (store name, key): one owner per object.
_records: weakref.WeakValueDictionary[tuple[str, Any], Record] = (
    weakref.WeakValueDictionary()
)
_records_lock = threading.RLock()
# Every record of the process, registered or not: a thread of the parent may
# have held one's lock (an `update` holds it while it writes the object) when
# another thread forked, and the child's borrows take it.
_all_records: weakref.WeakSet[Record] = weakref.WeakSet()


def _reset_in_child() -> None:
    global _records_lock
    _records_lock = threading.RLock()  # a thread of the parent may have held it
    for record in list(_all_records):
        record.lock = threading.RLock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_reset_in_child)


def _identity(factory: StoreFactory[Any, Any]) -> tuple[str, Any]:
    return (factory.store_config.name, factory.key)


def owner_of(factory: StoreFactory[Any, Any]) -> Record | None:
    """The live record of the factory's object in this process, if it has one."""
    with _records_lock:
        return _records.get(_identity(factory))


class Record:
    """Borrow counts and eviction of one owned object.

    Args:
        factory: The owner's factory (``evict=False``).
        lifetime: A lifetime that also bounds the object, if any.

    Raises:
        ValueError: If the object already has an owner in this process.
    """

    __slots__ = (
        '__weakref__',
        'evicted',
        'factory',
        'lifetime',
        'lock',
        'mutable',
        'orphaned',
        'owner',
        'owner_alive',
        'pid',
        'shared',
    )

    def __init__(
        self,
        factory: StoreFactory[Any, Any],
        lifetime: Lifetime | None = None,
    ) -> None:
        self.factory = factory
        self.lifetime = lifetime
        self.lock = threading.RLock()
        _all_records.add(self)
        self.shared = 0
        self.mutable = False
        self.orphaned = 0
        self.owner_alive = True
        self.evicted = False
        self.pid = os.getpid()
        self.owner: weakref.ref[Any] | None = None
        identity = _identity(factory)
        with _records_lock:
            other = _records.get(identity)
            taken = other is not None and not other.evicted and other.owner_alive
            if not taken:
                _records[identity] = self
        if taken:
            raise ValueError(
                f'The object under key {factory.key!r} of store "{identity[0]}" '
                'already has an owner in this process: there is one owner per '
                'object (use clone() for a copy).',
            )

    def __repr__(self) -> str:
        return (
            f'Record(key={self.factory.key!r}, shared={self.shared}, '
            f'mutable={self.mutable}, owner_alive={self.owner_alive})'
        )

    @property
    def borrowed(self) -> bool:
        """Whether any borrow is outstanding."""
        return self.shared > 0 or self.mutable

    def _mine(self) -> bool:
        return self.pid == os.getpid()

    def _borrowed_error(self, action: str) -> MutableBorrowError:
        return MutableBorrowError(
            f'This OwnedProxy is borrowed ({self.shared} immutable, '
            f'{int(self.mutable)} mutable): {action} until every borrow is '
            'released.',
        )

    # --- borrows -------------------------------------------------------------

    def acquire(self, *, mutable: bool) -> None:
        """Count a new borrow.

        Raises:
            ReferenceInvalidError: If the owner moved or dropped the object.
            MutableBorrowError: If the borrowing rules forbid it.
        """
        with self.lock:
            if not self.owner_alive:
                raise ReferenceInvalidError(
                    f'The owner of key {self.factory.key!r} was moved or dropped: '
                    'it cannot lend its object any more.',
                )
            if self.mutable:
                raise MutableBorrowError(
                    f'The object under key {self.factory.key!r} is mutably '
                    'borrowed: no other borrow may exist until it is released.',
                )
            if mutable and self.shared:
                raise MutableBorrowError(
                    f'The object under key {self.factory.key!r} has {self.shared} '
                    'immutable borrow(s): a mutable borrow must be the only one.',
                )
            if mutable:
                self.mutable = True
            else:
                self.shared += 1

    def release(self, *, mutable: bool, orphaned: bool = False) -> None:
        """Uncount a borrow; evict if it was the last one of a gone owner.

        Args:
            mutable: The borrow was the mutable one.
            orphaned: The borrow was lent to another process and lost without
                being released: it stays counted forever (the object is kept).
        """
        if not self._mine():
            return
        if orphaned:
            with self.lock:
                self.orphaned += 1
            return
        if mutable:
            # Before the flag clears: whoever sees the borrow ended must also
            # see the owner fetch the changed object.
            self._refresh_owner()
        with self.lock:
            if mutable:
                self.mutable = False
            else:
                self.shared -= 1
            evict_now = not self.owner_alive and not self.borrowed
        if evict_now:
            self.evict()

    def _refresh_owner(self) -> None:
        """Forget the owner's local copy: the mutable borrower may have updated it."""
        owner = self.owner() if self.owner is not None else None
        if owner is None:
            return
        try:
            self.factory.get_store().cache.evict(self.factory.key)
            if is_resolved(owner):
                del owner.__proxy_wrapped__
        except Exception:  # pragma: no cover - best effort, never fatal
            logger.debug('Could not refresh the owner of %r', self, exc_info=True)

    # --- the owner ---------------------------------------------------------------

    def give_up(self, action: str) -> None:
        """The owner moves or drops its object: refuse if borrowed, else let go.

        Checked and done under the lock, so no borrow can slip in between.

        Raises:
            MutableBorrowError: If the object is borrowed.
        """
        with self.lock:
            if self.borrowed:
                raise self._borrowed_error(action)
            self.owner_alive = False

    def owner_gone(self) -> None:
        """The owner was garbage collected or the interpreter exits.

        Evicts the object now, or when the last borrow is released. Runs as a
        finalizer: it never raises.
        """
        if not self._mine():
            return  # a forked child's copy: the parent owns the object
        with self.lock:
            if not self.owner_alive:
                return
            self.owner_alive = False
            evict_now = not self.borrowed
            orphaned = self.orphaned
        if evict_now:
            self.evict()
        elif orphaned:
            logger.warning(
                'The owner of key %r is gone, but %d borrow(s) lent to other '
                'processes were never released: the object stays in its store.',
                self.factory.key,
                orphaned,
            )

    def moved(self) -> None:
        """The owner moved to another process: this record lets go of the object."""
        self._unregister()

    def evict(self) -> None:
        """Evict the object from its store, once. Never raises."""
        if not self._mine():
            return
        with self.lock:
            if self.evicted:
                return
            self.evicted = True
        self._unregister()
        bound = self.factory._store
        if bound is not None and bound() is None:
            # The store that made the object is gone (closed and collected):
            # do not re-create one, maybe at exit, just to evict.
            logger.debug('Store gone: key %r was not evicted', self.factory.key)
            return
        try:
            self.factory.get_store().evict(self.factory.key)
        except StoreClosedError:
            logger.debug('Store closed: key %r was not evicted', self.factory.key)
        except Exception:
            logger.warning(
                'Evicting key %r of its owner failed', self.factory.key, exc_info=True
            )

    def _unregister(self) -> None:
        with _records_lock:
            identity = _identity(self.factory)
            if _records.get(identity) is self:
                del _records[identity]
