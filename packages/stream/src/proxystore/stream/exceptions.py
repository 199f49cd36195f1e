"""Errors of streams."""

from __future__ import annotations

__all__ = [
    'BrokerError',
    'MalformedEventError',
    'StreamError',
    'TopicClosedError',
    'UnknownStoreError',
]


class StreamError(Exception):
    """Base class of the errors of `proxystore.stream`."""


class BrokerError(StreamError):
    """The message broker failed: unreachable, refused credentials, or broke.

    Raised by the shims, naming the broker, chained to the client library's
    exception.
    """


class TopicClosedError(StreamError):
    """An object was sent to a topic that the producer closed."""


class MalformedEventError(StreamError, ValueError):
    """A message from the broker is not a valid event batch.

    Raised for anything that is not this format (another version, missing or
    mistyped fields, bytes that are not msgpack): a corrupt or forged message
    is refused, never interpreted.
    """


class UnknownStoreError(StreamError):
    """An event names a store that this consumer has not been told about.

    Producers announce the store of a topic with its first events (and again
    every ``announce_every`` batches); a consumer that joined a broadcast
    broker after that can be given the store with ``StreamConsumer(stores=...)``.
    """
