"""Filters decide from an event's metadata whether to drop it."""

from __future__ import annotations

import random
from typing import Any

__all__ = ['NullFilter', 'SamplingFilter']


class NullFilter:
    """Drops nothing."""

    def __call__(self, metadata: dict[str, Any]) -> bool:
        """Never drop (``False``)."""
        return False


class SamplingFilter:
    """Drops each event with probability ``p``.

    Args:
        p: Probability of dropping an event, in [0, 1].

    Raises:
        ValueError: If ``p`` is outside [0, 1].
    """

    def __init__(self, p: float) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f'Drop probability must be in [0, 1], not {p}.')
        self.p = p

    def __call__(self, metadata: dict[str, Any]) -> bool:
        """Whether to drop this event."""
        return random.random() < self.p
