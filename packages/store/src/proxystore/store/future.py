"""ProxyStore 1.x path of the futures pattern: `proxystore.futures` re-exported.

The pattern is its own package; install it with ``pip install 'proxystore[futures]'``.
"""

from __future__ import annotations

try:
    from proxystore.futures import *  # noqa: F403
except ImportError as e:  # pragma: no cover - depends on what is installed
    raise ImportError(
        'proxystore.store.future moved to proxystore.futures, which is not '
        "installed: pip install 'proxystore[futures]' (package "
        'proxystore-patterns-futures).',
    ) from e
