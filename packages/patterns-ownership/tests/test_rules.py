"""The ownership rules, and the typed error that each broken rule raises."""

from __future__ import annotations

import copy
import gc
import pickle
from typing import Any

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import Policy
from proxystore.factory import SimpleFactory
from proxystore.ownership import BaseRefProxy
from proxystore.ownership import MutableBorrowError
from proxystore.ownership import OwnedProxy
from proxystore.ownership import OwnershipWarning
from proxystore.ownership import ReferenceInvalidError
from proxystore.ownership import ReferenceMovedError
from proxystore.ownership import ReferenceNotOwnedError
from proxystore.ownership import RefMutProxy
from proxystore.ownership import RefProxy
from proxystore.ownership import borrow
from proxystore.ownership import clone
from proxystore.ownership import drop
from proxystore.ownership import into_owned
from proxystore.ownership import mark_refs_out_of_scope
from proxystore.ownership import mut_borrow
from proxystore.ownership import update
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.utils import get_key


def _key(proxy: Any) -> Any:
    return get_key(proxy)


# --- one owner; eviction when it goes away ------------------------------------


def test_owned_proxy_is_transparent_and_evicts_when_collected(
    store: Store[Any],
) -> None:
    owned = store.owned_proxy([1, 2, 3])
    assert type(owned) is OwnedProxy
    assert isinstance(owned, list) and owned == [1, 2, 3] and sum(owned) == 6
    key = _key(owned)
    assert store.exists(key)
    del owned
    gc.collect()
    assert not store.exists(key)


def test_drop_evicts_now_and_invalidates(store: Store[Any]) -> None:
    owned = store.owned_proxy({'a': 1})
    key = _key(owned)
    drop(owned)
    assert not store.exists(key)
    with pytest.raises(ReferenceInvalidError, match='dropped: drop\\(\\) evicted it'):
        owned['a']
    with pytest.raises(ReferenceInvalidError, match='dropped'):
        drop(owned)
    assert 'dropped' in repr(owned)


def test_one_owner_per_object(store: Store[Any]) -> None:
    plain = store.proxy([1])
    owned = into_owned(plain)
    again = store.proxy_from_key(_key(owned))
    with pytest.raises(ValueError, match='already has an owner in this process'):
        into_owned(again)
    with pytest.raises(ValueError, match='Only a plain Proxy can become owned'):
        into_owned(owned)
    drop(owned)
    into_owned(again)  # the first owner is gone: a new one may take over


def test_into_owned_needs_a_store_proxy() -> None:
    with pytest.raises(ProxyStoreFactoryError, match='must have a StoreFactory'):
        into_owned(Proxy(SimpleFactory([1])))


def test_into_owned_leaves_the_plain_proxy_as_it_was(store: Store[Any]) -> None:
    plain = store.proxy([1, 2], evict=True, populate_target=False)
    owned = into_owned(plain)
    assert not is_resolved(owned)
    assert owned == [1, 2]  # resolving the owner does not evict
    assert store.exists(_key(owned))
    assert plain.__proxy_factory__.evict  # ProxyStore 1.x turned this off
    drop(owned)


def test_into_owned_populates_the_target(store: Store[Any]) -> None:
    plain = store.proxy([3], populate_target=True)
    assert is_resolved(into_owned(plain))
    other = store.proxy([4], populate_target=True)
    assert not is_resolved(into_owned(other, populate_target=False))


# --- borrowing ---------------------------------------------------------------------


def test_many_immutable_borrows(store: Store[Any]) -> None:
    owned = store.owned_proxy([1, 2])
    refs = [borrow(owned) for _ in range(3)]
    assert all(type(r) is RefProxy and r == [1, 2] for r in refs)
    assert owned.__proxy_ref_count__ == 3
    assert refs[0].__proxy_owner__ is owned
    del refs
    gc.collect()
    assert owned.__proxy_ref_count__ == 0


def test_a_mutable_borrow_is_exclusive(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    shared = borrow(owned)
    with pytest.raises(MutableBorrowError, match='1 immutable borrow'):
        mut_borrow(owned)
    del shared
    gc.collect()
    mutable = mut_borrow(owned)
    assert type(mutable) is RefMutProxy and owned.__proxy_ref_mut_count__ == 1
    with pytest.raises(MutableBorrowError, match='is mutably borrowed'):
        borrow(owned)
    with pytest.raises(MutableBorrowError, match='is mutably borrowed'):
        mut_borrow(owned)
    mark_refs_out_of_scope(mutable)
    assert owned.__proxy_ref_mut_count__ == 0
    with pytest.raises(ReferenceInvalidError, match='borrow was released'):
        len(mutable)
    borrow(owned)


def test_only_owners_lend(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    ref = borrow(owned)
    for proxy in (store.proxy([1]), ref, [1]):
        with pytest.raises(ReferenceNotOwnedError, match='borrow\\(\\) needs an Own'):
            borrow(proxy)  # type: ignore[arg-type]
        with pytest.raises(ReferenceNotOwnedError, match='mut_borrow'):
            mut_borrow(proxy)  # type: ignore[arg-type]


def test_an_owner_is_not_evicted_while_borrowed(store: Store[Any]) -> None:
    owned = store.owned_proxy([1, 2, 3])
    key = _key(owned)
    ref = borrow(owned)
    del owned  # the borrow keeps the owner
    gc.collect()
    assert store.exists(key) and ref == [1, 2, 3]
    del ref
    gc.collect()
    assert not store.exists(key)


def test_no_drop_or_update_while_borrowed(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    ref = borrow(owned)
    with pytest.raises(MutableBorrowError, match='cannot be dropped until'):
        drop(owned)
    with pytest.raises(MutableBorrowError, match='cannot be updated until'):
        update(owned)
    mark_refs_out_of_scope(ref)
    drop(owned)


# --- moves -----------------------------------------------------------------------


def test_pickling_an_owner_moves_it(store: Store[Any]) -> None:
    owned = store.owned_proxy([5, 6])
    key = _key(owned)
    data = pickle.dumps(owned)
    with pytest.raises(ReferenceInvalidError, match='it was moved: pickled'):
        owned[0]
    with pytest.raises(ReferenceMovedError, match='already moved'):
        pickle.dumps(owned)  # a second move would be a second owner
    assert isinstance(owned, list)  # and ask isinstance() of it
    assert 'moved' in repr(owned)
    del owned
    gc.collect()
    assert store.exists(key)  # the old owner no longer evicts
    moved = pickle.loads(data)
    assert type(moved) is OwnedProxy and not is_resolved(moved)
    assert isinstance(moved, list)  # the class travels, without resolving
    assert moved == [5, 6]
    del moved
    gc.collect()
    assert not store.exists(key)  # the new owner does


def test_an_owner_pickled_twice_is_refused_the_second_time(store: Store[Any]) -> None:
    # Before: both pickles loaded as owners, and the first to go evicted the
    # object under the other.
    owned = store.owned_proxy([1, 2, 3])
    key = _key(owned)
    first = pickle.dumps(owned)
    with pytest.raises(ReferenceMovedError) as caught:
        pickle.dumps(owned)
    assert isinstance(caught.value, ReferenceInvalidError)  # caught as before
    message = str(caught.value)
    assert 'second owner' in message and repr(key) in message
    assert 'borrow(owner)' in message and 'clone(owner)' in message
    moved = pickle.loads(first)
    assert moved == [1, 2, 3]  # the one owner
    del owned
    gc.collect()
    assert store.exists(key)
    del moved
    gc.collect()
    assert not store.exists(key)


@pytest.mark.parametrize('lend', [borrow, mut_borrow])
def test_a_borrow_pickled_twice_is_refused_the_second_time(
    store: Store[Any], lend: Any
) -> None:
    owned = store.owned_proxy([1])
    ref = lend(owned)
    remote = pickle.loads(pickle.dumps(ref))
    with pytest.raises(ReferenceMovedError, match='second borrower'):
        pickle.dumps(ref)
    assert remote == [1]
    mark_refs_out_of_scope(ref)
    del remote
    drop(owned)


class _Task:
    """A stand-in for a Dask task: a function Dask must cloudpickle, and data."""

    def __init__(self, data: Any) -> None:
        self.function = lambda x: len(x)  # pickle refuses it: Dask falls back
        self.data = data


@pytest.mark.parametrize('wrap', ['object', 'tuple'])
def test_dask_pickles_one_task_more_than_once(store: Store[Any], wrap: str) -> None:
    # One serialization of Dask tries pickle, its own pickler, then cloudpickle
    # (the owner is reduced up to three times, one payload is sent); the
    # scheduler pickles the same task again to resend it after a worker died.
    dask_pickle = pytest.importorskip('distributed.protocol.pickle')
    owned = store.owned_proxy([4, 5])
    key = _key(owned)
    task: Any = _Task(owned) if wrap == 'object' else (lambda x: len(x), owned)
    sent = dask_pickle.dumps(task)
    resent = dask_pickle.dumps(task)  # the same task, again
    # Another task (client.map over one owner): raising would break Dask's
    # connection, so that task gets a copy that refuses every use instead.
    other = dask_pickle.loads(dask_pickle.dumps(_Task(owned))).data
    assert type(other) is BaseRefProxy and isinstance(other, list)
    assert 'refused' in repr(other)
    with pytest.raises(ReferenceMovedError, match='never becomes a second owner'):
        len(other)
    again = pickle.loads(pickle.dumps(other))  # it may travel on, owning nothing
    with pytest.raises(ReferenceMovedError, match='clone'):
        again[0]
    with pytest.raises(ReferenceMovedError, match='already moved'):
        pickle.dumps(owned)  # outside Dask: refused at once
    del owned, task, other, again
    gc.collect()
    assert store.exists(key)  # the refused copy owns nothing
    received = dask_pickle.loads(sent)
    data = received.data if wrap == 'object' else received[1]
    assert type(data) is OwnedProxy and data == [4, 5]
    assert resent
    del received, data
    gc.collect()
    assert not store.exists(key)


def test_an_owner_cannot_move_while_borrowed(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    ref = borrow(owned)
    with pytest.raises(MutableBorrowError, match='cannot move until every borrow'):
        pickle.dumps(owned)
    assert owned == [1]  # still valid
    mark_refs_out_of_scope(ref)


def test_a_moved_borrow_stays_counted_until_released(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    ref = borrow(owned)
    remote = pickle.loads(pickle.dumps(ref))
    with pytest.raises(ReferenceInvalidError, match='moved'):
        ref[0]
    assert remote == [1] and remote.__proxy_owner__ is None
    assert owned.__proxy_ref_count__ == 1
    with pytest.raises(MutableBorrowError):
        mut_borrow(owned)
    mark_refs_out_of_scope(ref, ref)  # twice: the second is a no-op
    assert owned.__proxy_ref_count__ == 0
    del remote  # a borrow unpickled elsewhere counts nowhere
    gc.collect()


def test_a_lost_moved_borrow_warns_and_keeps_the_object(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    key = _key(owned)
    ref = borrow(owned)
    pickle.dumps(ref)
    del owned
    with pytest.warns(OwnershipWarning, match='dropped without being released'):
        del ref  # freed at once: no reference cycle holds a borrow
    gc.collect()
    assert store.exists(key)  # the borrower may still need it


def test_copies_are_refused(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    for proxy in (owned, borrow(owned)):
        with pytest.raises(NotImplementedError, match='use clone\\(\\)'):
            copy.copy(proxy)
        with pytest.raises(NotImplementedError, match='use clone\\(\\)'):
            copy.deepcopy(proxy)


# --- clone and update --------------------------------------------------------------


def test_clone_is_an_independent_owner(store: Store[Any]) -> None:
    owned = store.owned_proxy([1, 2])
    ref = borrow(owned)
    copied = clone(ref)
    mark_refs_out_of_scope(ref)
    assert type(copied) is OwnedProxy and copied == [1, 2]
    assert _key(copied) != _key(owned)
    copied.append(3)
    assert owned == [1, 2]  # the local target was deep-copied
    key = _key(copied)
    drop(owned)
    assert store.get(key) == [1, 2]
    with pytest.raises(ReferenceNotOwnedError, match='clone\\(\\) needs'):
        clone(store.proxy([1]))  # type: ignore[arg-type]
    with pytest.raises(ReferenceInvalidError):
        clone(owned)


def test_update_through_the_owner(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    owned.append(2)
    update(owned)
    assert store.get(_key(owned)) == [1, 2]
    update(into_owned(store.proxy([0], populate_target=False)))  # unresolved: no-op


def test_update_through_a_mutable_borrow_reaches_the_owner(store: Store[Any]) -> None:
    owned = store.owned_proxy([1], populate_target=False)
    assert owned == [1]
    lent = mut_borrow(owned)
    mutable = pickle.loads(pickle.dumps(lent))  # as a task gets it
    mutable.append(2)
    update(mutable)
    assert store.get(get_key(owned)) == [1, 2]
    assert owned == [1]  # still the owner's copy while lent
    mark_refs_out_of_scope(mutable)  # unpickled borrows count nowhere: no-op
    assert owned.__proxy_ref_mut_count__ == 1
    mark_refs_out_of_scope(lent)
    with pytest.raises(ReferenceNotOwnedError, match='update\\(\\) needs'):
        update(store.proxy([1]))  # type: ignore[arg-type]


def test_the_owner_refetches_after_its_mutable_borrow_ends(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    lent = mut_borrow(owned)
    remote = pickle.loads(pickle.dumps(lent))  # the task's copy
    remote.append(2)
    update(remote)
    mark_refs_out_of_scope(lent)
    assert owned == [1, 2]


def test_update_needs_a_deferrable_connector() -> None:
    connector = MultiConnector({'local': (LocalConnector(), Policy(priority=1))})
    with Store('not-deferrable', connector) as store:
        owned = store.owned_proxy([1])
        with pytest.raises(NotImplementedError, match='not a DeferrableConnector'):
            update(owned)
        drop(owned)


def test_immutable_borrows_cannot_update(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    with pytest.raises(ReferenceNotOwnedError, match='OwnedProxy or a RefMutProxy'):
        update(borrow(owned))  # type: ignore[arg-type]


# --- 1.x names ---------------------------------------------------------------------


def test_1x_module_paths() -> None:
    from proxystore.store import ref
    from proxystore.store import scopes

    assert ref.OwnedProxy is OwnedProxy
    assert scopes.submit.__module__.startswith('proxystore.ownership')


def test_valid_flag(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    assert owned.__proxy_valid__
    drop(owned)
    assert not owned.__proxy_valid__


def test_a_moved_owner_cannot_lend(store: Store[Any]) -> None:
    owned = store.owned_proxy([1])
    pickle.dumps(owned)
    with pytest.raises(ReferenceInvalidError, match='moved'):
        borrow(owned)
    record = owned.__proxy_record__
    with pytest.raises(ReferenceInvalidError, match='was moved or dropped'):
        record.acquire(mutable=False)  # what a borrow racing the move meets


def test_borrows_racing_a_move_never_leave_a_borrower_without_its_object(
    store: Store[Any],
) -> None:
    # Threads borrow while the owner is pickled: either the move is refused
    # (borrowed) or every later borrow is refused (moved), never both succeed.
    import threading

    for _ in range(20):
        owned = store.owned_proxy([1])
        start = threading.Barrier(2)
        outcome: dict[str, Any] = {}

        def lend(
            owner: Any = owned,
            result: dict[str, Any] = outcome,
            barrier: threading.Barrier = start,
        ) -> None:
            barrier.wait(timeout=10)
            try:
                ref = borrow(owner)
            except ReferenceInvalidError:
                result['borrow'] = 'refused'
            else:
                result['borrow'] = 'granted'
                mark_refs_out_of_scope(ref)

        thread = threading.Thread(target=lend)
        thread.start()
        start.wait(timeout=10)
        try:
            payload = pickle.dumps(owned)
        except MutableBorrowError:
            outcome['move'] = 'refused'
        else:
            outcome['move'] = 'done'
        thread.join(timeout=10)
        assert outcome in (
            {'borrow': 'granted', 'move': 'refused'},
            {'borrow': 'granted', 'move': 'done'},  # the borrow ended first
            {'borrow': 'refused', 'move': 'done'},
        )
        if outcome['move'] == 'done':
            del owned
            gc.collect()
            moved = pickle.loads(payload)
            assert moved == [1]  # the object is still there for its new owner
            drop(moved)
        else:
            drop(owned)
