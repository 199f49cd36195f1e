"""Errors of streams."""

from __future__ import annotations

__all__ = [
    'BrokerError',
    'HostNotAllowedError',
    'MalformedEventError',
    'PathNotAllowedError',
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


class HostNotAllowedError(UnknownStoreError):
    """A store description names a host that this consumer may not connect to.

    Whoever can write to the broker can describe a store at any host; a
    consumer makes stores only at the hosts of its allow-list (by default
    loopback and the hosts of the stores it was given; see
    `proxystore.stream.StreamConsumer`). Raised before any connection is
    made. The message names the host and how to allow it.
    """


class PathNotAllowedError(UnknownStoreError):
    """A store description names a path that this consumer may not use.

    Whoever can write to the broker can describe a store in any folder (a file
    connector's ``store_dir``, a shared-memory ``directory``, the endpoint
    connector's ``proxystore_dir``, which selects the configuration naming the
    endpoint, a Redis ``unix_socket_path``); a consumer makes stores only under
    the paths of its allow-list (by default the paths of the stores it was
    given, ``/dev/shm`` and the default endpoint home; see
    `proxystore.stream.StreamConsumer`). Raised before any store is made. The
    message names the path and how to allow it.
    """
