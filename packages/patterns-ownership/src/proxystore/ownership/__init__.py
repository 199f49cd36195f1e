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
  using the original raises `ReferenceInvalidError`;
- `submit` lends borrows to a task and releases them when its future is done,
  on any engine with futures (`concurrent.futures`, Dask).

Breaking a rule raises a `BaseRefProxyError`. Finalizers never raise.
"""

from __future__ import annotations

from proxystore.ownership._errors import BaseRefProxyError
from proxystore.ownership._errors import MutableBorrowError
from proxystore.ownership._errors import OwnershipWarning
from proxystore.ownership._errors import ReferenceInvalidError
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
