"""A small wall-clock timer, for metrics of store operations.

```python
from proxystore.store.timer import Timer

with Timer() as timer:
    ...
print(timer.elapsed_ms)
```
"""

from __future__ import annotations

import time

__all__ = ['Timer']


class Timer:
    """Measure the time of a ``with`` block; read `elapsed_ms` after it."""

    __slots__ = ('_end', '_start')

    def __init__(self) -> None:
        self._start = 0
        self._end = 0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter_ns()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._end = time.perf_counter_ns()

    @property
    def elapsed_ms(self) -> float:
        """Elapsed milliseconds of the last ``with`` block."""
        return (self._end - self._start) / 1e6
