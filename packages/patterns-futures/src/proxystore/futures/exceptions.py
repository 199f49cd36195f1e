"""The errors of `proxystore.futures`, in one public module."""

from __future__ import annotations

from proxystore.futures._errors import FutureTimeoutError
from proxystore.futures._errors import ProducerError

__all__ = ['FutureTimeoutError', 'ProducerError']
