"""Choose the base class of `proxystore.proxy.Proxy`: the C accelerator or pure Python.

The environment variable ``PROXYSTORE_PROXY_IMPL`` decides:

- ``auto`` (default, also when unset or empty): the C accelerator when it was built,
  otherwise pure Python;
- ``c``: the C accelerator, and an `ImportError` if it was not built;
- ``python``: the pure-Python implementation.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from typing import Literal

__all__ = ['IMPLEMENTATION', 'IMPLEMENTATION_ENV', 'ProxyBase']

IMPLEMENTATION_ENV = 'PROXYSTORE_PROXY_IMPL'
"""Environment variable choosing the implementation: ``auto``, ``c`` or ``python``."""
_CHOICES = ('auto', 'c', 'python')


def _requested() -> str:
    value = os.environ.get(IMPLEMENTATION_ENV, '').strip().lower() or 'auto'
    if value not in _CHOICES:
        raise ValueError(
            f'{IMPLEMENTATION_ENV}={os.environ[IMPLEMENTATION_ENV]!r} is not '
            f'valid: expected one of {", ".join(_CHOICES)}.',
        )
    return value


def _load() -> tuple[type, Literal['c', 'python']]:
    requested = _requested()
    if requested != 'python':
        try:
            from proxystore.proxy import _cproxy
        except ImportError as e:
            if requested == 'c':
                raise ImportError(
                    f'{IMPLEMENTATION_ENV}=c but the C accelerator '
                    "'proxystore.proxy._cproxy' is not built; reinstall "
                    'proxystore-proxy-core with a C compiler available, or unset '
                    f'{IMPLEMENTATION_ENV}.',
                ) from e
        else:
            return _cproxy.ProxyBase, 'c'
    from proxystore.proxy import _pyproxy

    return _pyproxy.ProxyBase, 'python'


if TYPE_CHECKING:
    from proxystore.proxy._pyproxy import ProxyBase

    IMPLEMENTATION: Literal['c', 'python']
    """The implementation in use: ``'c'`` (the accelerator) or ``'python'``."""
else:
    ProxyBase, IMPLEMENTATION = _load()
