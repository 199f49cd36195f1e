"""Timing loops shared by the transfer benchmarks (UCX, endpoints)."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ['best_run']


def best_run(
    operation: Callable[[], float], *, count: int, seconds: float, repeat: int
) -> tuple[int, float]:
    """``(operations, seconds)`` of the fastest of ``repeat`` runs.

    ``operation`` times itself (so set-up and clean-up stay out of the figure).
    A run does one warm-up, then as many operations as fit in ``seconds``: at
    least 3, at most ``count``.
    """
    best: tuple[int, float] | None = None
    for _ in range(repeat):
        operation()  # warm-up
        done, spent, start = 0, 0.0, time.perf_counter()
        while done < count:
            spent += operation()
            done += 1
            if done >= 3 and time.perf_counter() - start >= seconds:
                break
        if best is None or spent / done < best[1] / best[0]:
            best = (done, spent)
    assert best is not None
    return best
