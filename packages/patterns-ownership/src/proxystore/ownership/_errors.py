"""Errors and warnings of the ownership rules."""

from __future__ import annotations

__all__ = [
    'BaseRefProxyError',
    'MutableBorrowError',
    'OwnershipWarning',
    'ReferenceInvalidError',
    'ReferenceMovedError',
    'ReferenceNotOwnedError',
]


class BaseRefProxyError(Exception):
    """Base class of the errors raised when the ownership rules are broken."""


class MutableBorrowError(BaseRefProxyError):
    """The borrowing rules forbid the operation.

    Raised for a mutable borrow while any borrow exists, for a borrow while a
    mutable one exists, and for updating, dropping or moving an owner while it is
    borrowed.
    """


class ReferenceNotOwnedError(BaseRefProxyError):
    """The operation needs an `OwnedProxy`, and got another kind of proxy."""


class ReferenceInvalidError(BaseRefProxyError):
    """The reference can no longer be used.

    It was moved (pickled: sent to another process, whose copy is now the
    reference), released (the task it was lent to finished), or its object was
    dropped (evicted by `drop` or by the end of its lifetime).
    """


class ReferenceMovedError(ReferenceInvalidError):
    """A reference that was already moved was pickled again, for another task.

    Two copies of one move would be two owners (or two borrowers counted as
    one): the first to finish would evict the object while the other still
    uses it. Keep the owner and lend each task a `borrow` (with `submit`), or
    give each task its own copy with `clone`. Dask's re-pickling of the same
    task (a second pickler in one serialization, a resend after a worker
    died) is not a second move and is allowed.
    """


class OwnershipWarning(UserWarning):
    """An object will stay in its store longer than its owner meant.

    Emitted when a borrow that was sent to another process is garbage collected
    without being released (it was not submitted with `submit`): nothing can
    tell any more when the borrower is done, so the object is never evicted.
    """


for _error in (
    BaseRefProxyError,
    MutableBorrowError,
    OwnershipWarning,
    ReferenceInvalidError,
    ReferenceMovedError,
    ReferenceNotOwnedError,
):
    # Shown and pickled by the public path, independent of this layout.
    _error.__module__ = 'proxystore.ownership'
