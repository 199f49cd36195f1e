"""ProxyStore 1.x path of the ownership pattern: `proxystore.ownership` re-exported.

The pattern is its own package; install it with ``pip install 'proxystore[ownership]'``.
"""

from __future__ import annotations

try:
    from proxystore.ownership import *  # noqa: F403
except ImportError as e:  # pragma: no cover - depends on what is installed
    raise ImportError(
        'proxystore.store.scopes moved to proxystore.ownership, which is not '
        "installed: pip install 'proxystore[ownership]' (package "
        'proxystore-patterns-ownership).',
    ) from e
