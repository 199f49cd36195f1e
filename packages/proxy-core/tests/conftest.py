from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from proxystore.proxy import Proxy


@pytest.fixture
def make_resolved() -> Callable[[Any], Proxy[Any]]:
    """Build a proxy of an object and resolve it."""

    def _make(obj: Any) -> Proxy[Any]:
        proxy = Proxy(lambda: obj)
        proxy.__proxy_wrapped__  # noqa: B018
        return proxy

    return _make
