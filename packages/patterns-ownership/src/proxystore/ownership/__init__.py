"""Ownership of proxied objects: memory that manages itself.

Rust's rules, checked at run time, for objects in a store:

- every object has one owner, an `OwnedProxy`; when the owner goes away (it is
  garbage collected, `drop` is called, or the interpreter exits), the object is
  evicted from its store;
- the owner lends the object: any number of immutable borrows (`borrow`,
  `RefProxy`) or one mutable borrow (`mut_borrow`, `RefMutProxy`), never both;
  an owner is not evicted, updated, moved or dropped while borrowed (a
  lifetime given to the object still ends it);
- pickling a reference moves it: the copy is the reference from then on, and
  using the original raises `ReferenceInvalidError`; a reference moves once:
  pickling it again for another task raises `ReferenceMovedError` (lend each
  task a borrow, or clone), except when Dask pickles the same task again (one
  serialization tries up to three picklers; a task is resent after its worker
  died), which gives the same payload; inside Dask a second move for another
  task gives it a copy that owns nothing and raises `ReferenceMovedError` when
  used (a raise in Dask's serializer would hang every task);
- `submit` lends borrows to a task and releases them when its future is done,
  on any engine with futures (`concurrent.futures`, Dask).

Breaking a rule raises a `BaseRefProxyError`. Finalizers never raise.

Why refuse a second move rather than count owners in the store: connectors
have no atomic counter, and a count cannot tell the pickles that are sent from
the ones an engine throws away (Dask keeps one of up to three), so it would
leak or evict early. Limits: a worker that exits cleanly during a task evicts
at exit, and the retried task gets `ProxyResolveMissingKeyError` (a typed
error, never another object); a Dask object sent twice (a task result gathered
and also sent to a dependent task) is one move given twice, so results should
be plain proxies that the user makes owned with `into_owned`; a killed process
never evicts what it owned.
"""

from __future__ import annotations

from proxystore.ownership._errors import BaseRefProxyError
from proxystore.ownership._errors import MutableBorrowError
from proxystore.ownership._errors import OwnershipWarning
from proxystore.ownership._errors import ReferenceInvalidError
from proxystore.ownership._errors import ReferenceMovedError
from proxystore.ownership._errors import ReferenceNotOwnedError
from proxystore.ownership._operations import borrow
from proxystore.ownership._operations import clone
from proxystore.ownership._operations import drop
from proxystore.ownership._operations import into_owned
from proxystore.ownership._operations import mut_borrow
from proxystore.ownership._operations import update
from proxystore.ownership._proxies import BaseRefProxy
from proxystore.ownership._proxies import OwnedProxy
from proxystore.ownership._proxies import RefMutProxy
from proxystore.ownership._proxies import RefProxy
from proxystore.ownership._proxies import _rebuild  # noqa: F401 - pickles name it here
from proxystore.ownership._proxies import _rebuild_refused  # noqa: F401 - as _rebuild
from proxystore.ownership._scopes import FutureWithCallback
from proxystore.ownership._scopes import mark_refs_out_of_scope
from proxystore.ownership._scopes import submit

__all__ = [
    'BaseRefProxy',
    'BaseRefProxyError',
    'FutureWithCallback',
    'MutableBorrowError',
    'OwnedProxy',
    'OwnershipWarning',
    'RefMutProxy',
    'RefProxy',
    'ReferenceInvalidError',
    'ReferenceMovedError',
    'ReferenceNotOwnedError',
    'borrow',
    'clone',
    'drop',
    'into_owned',
    'mark_refs_out_of_scope',
    'mut_borrow',
    'submit',
    'update',
]
