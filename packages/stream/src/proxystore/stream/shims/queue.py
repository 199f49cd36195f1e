"""Queues as brokers: `queue.Queue` in a process, `multiprocessing` queues across."""

from __future__ import annotations

import queue
from collections.abc import Mapping
from typing import Any

__all__ = ['QueuePublisher', 'QueueSubscriber']


class QueuePublisher:
    """Puts each topic's messages on that topic's queue.

    Args:
        queues: The queue of each topic (`queue.Queue` or `multiprocessing`
            queues).
        block: Wait for room on a full queue.
        timeout: Seconds to wait for room (``None``: as long as it takes).
    """

    fans_out = False
    """Each message is taken from its queue by one subscriber, once."""

    def __init__(
        self,
        queues: Mapping[str, Any],
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        self.queues = dict(queues)
        self.block = block
        self.timeout = timeout

    def send_message(self, topic: str, message: bytes) -> None:
        """Put ``message`` on the topic's queue.

        Raises:
            ValueError: If the topic has no queue.
            queue.Full: If the queue stays full past the timeout.
        """
        try:
            target = self.queues[topic]
        except KeyError:
            raise ValueError(
                f'Topic "{topic}" has no queue; topics: {sorted(self.queues)}.',
            ) from None
        target.put(message, block=self.block, timeout=self.timeout)

    def close(self) -> None:
        """Nothing to release (the queues belong to the caller)."""


class QueueSubscriber:
    """Takes messages from one queue.

    Args:
        queue: The queue.
        block: Wait for a message.
        timeout: Seconds to wait for a message (``None``: as long as it takes).
    """

    fans_out = False
    """Each message is taken from the queue by one subscriber, once."""

    def __init__(
        self,
        queue: Any,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        self.queue = queue
        self.block = block
        self.timeout = timeout

    def __iter__(self) -> QueueSubscriber:
        return self

    def __next__(self) -> bytes:
        return self.next_message()

    def next_message(self) -> bytes:
        """The next message.

        Raises:
            TimeoutError: If none comes within the timeout.
        """
        try:
            message: bytes = self.queue.get(block=self.block, timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(
                f'No message within {self.timeout} s on the queue.',
            ) from None
        return message

    def close(self) -> None:
        """Nothing to release (the queue belongs to the caller)."""
