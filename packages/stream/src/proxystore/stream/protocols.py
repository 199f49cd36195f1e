"""What publishers and subscribers of a broker provide (the shims implement these).

A producer sends encoded event batches with ``send_message(topic, message)``;
a consumer reads them with ``next_message()``. Optional methods let a broker do
more, and are used when present:

- ``publisher.end_topic(topic, message)``: publish the topic's last message,
  its end, instead of ``send_message`` (Redis Streams marks it, so that every
  consumer of a group learns of the end, and a consumer that claims what dead
  consumers left delivers the end last);
- ``publisher.announce_store(topic, store_id, descriptor)`` and
  ``subscriber.store_descriptor(topic, store_id)``: keep the descriptions of a
  topic's stores on the broker, so that a consumer that joins late (or restarts)
  finds a store it has not seen announced.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol
from typing import runtime_checkable

__all__ = ['Filter', 'MessagePublisher', 'MessageSubscriber', 'Publisher', 'Subscriber']


@runtime_checkable
class MessagePublisher(Protocol):
    """Sends messages to topics of a broker."""

    def send_message(self, topic: str, message: bytes) -> None:
        """Publish ``message`` on ``topic``."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@runtime_checkable
class MessageSubscriber(Protocol):
    """Receives the messages of the topics it subscribed to."""

    def next_message(self) -> bytes:
        """The next message (blocks); `StopIteration` when there will be none."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def __iter__(self) -> MessageSubscriber:
        """Iterate over messages."""
        ...

    def __next__(self) -> bytes:
        """The next message."""
        ...


Publisher = MessagePublisher
Subscriber = MessageSubscriber


@runtime_checkable
class Filter(Protocol):
    """Decides from an event's metadata whether to drop it (``True``: drop)."""

    def __call__(self, metadata: dict[str, Any]) -> bool:
        """Whether to drop the event."""
        ...
