"""The errors and warnings of `proxystore.ownership`, in one public module."""

from __future__ import annotations

from proxystore.ownership._errors import BaseRefProxyError
from proxystore.ownership._errors import MutableBorrowError
from proxystore.ownership._errors import OwnershipWarning
from proxystore.ownership._errors import ReferenceInvalidError
from proxystore.ownership._errors import ReferenceMovedError
from proxystore.ownership._errors import ReferenceNotOwnedError

__all__ = [
    'BaseRefProxyError',
    'MutableBorrowError',
    'OwnershipWarning',
    'ReferenceInvalidError',
    'ReferenceMovedError',
    'ReferenceNotOwnedError',
]
