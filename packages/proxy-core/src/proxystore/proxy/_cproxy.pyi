from collections.abc import Callable
from typing import Any

class ProxyBase:
    def __init__(
        self,
        factory: Callable[[], Any],
        *,
        cache_defaults: bool = False,
        target: Any = None,
    ) -> None: ...
