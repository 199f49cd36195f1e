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

And one optional attribute, on publishers and subscribers:

- ``fans_out``: ``True`` if a message may be read more than once, by several
  subscribers (pub/sub, ZeroMQ, several Redis consumer groups) or again after a
  redelivery (Redis streams); ``False`` if each message reaches one subscriber,
  once (a queue, a Redis list). Only then may a consumer evict an object once it
  used it: on a broker that fans out, the first reader would delete the object
  for the others. A shim that does not say is taken to fan out (see `fans_out`).
"""

from __future__ import annotations

from typing import Any
from typing import Protocol
from typing import runtime_checkable

__all__ = [
    'Filter',
    'MessagePublisher',
    'MessageSubscriber',
    'Publisher',
    'Subscriber',
    'declares_fan_out',
    'fans_out',
]


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


def declares_fan_out(shim: object) -> bool:
    """Whether a publisher or subscriber says if it fans out (``fans_out``)."""
    return getattr(shim, 'fans_out', None) is not None


def fans_out(shim: object) -> bool:
    """Whether a message of this publisher or subscriber may be read more than once.

    Read from the shim's ``fans_out`` attribute (see the module). A shim without
    one (written for ProxyStore 1.x) is taken to fan out: its objects are then
    not evicted by consumers, which may leave them in the store, but never
    deletes an object that another consumer still needs.

    Args:
        shim: A publisher or subscriber.

    Raises:
        TypeError: If the shim's ``fans_out`` is not a bool.
    """
    value = getattr(shim, 'fans_out', None)
    if value is None:
        return True
    if not isinstance(value, bool):
        raise TypeError(
            f'{type(shim).__name__}.fans_out must be a bool (True: a message may '
            f'be read more than once), not {type(value).__name__} {value!r}.',
        )
    return value


def single_reader_flag(fans_out: object) -> bool:
    """Check a shim's ``fans_out`` constructor argument (internal helper).

    Raises:
        TypeError: If it is not a bool.
    """
    if not isinstance(fans_out, bool):
        raise TypeError(
            'fans_out must be a bool (False: exactly one subscriber reads each '
            f'message, once), not {type(fans_out).__name__} {fans_out!r}.',
        )
    return fans_out
