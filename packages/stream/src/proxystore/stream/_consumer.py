"""`StreamConsumer`: events from a broker, proxies of objects in stores."""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Generator
from collections.abc import Iterable
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.stream._stores import StoreDirectory
from proxystore.stream.events import MAX_MESSAGE_BYTES
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import StoreEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import UnknownStoreError
from proxystore.stream.filters import NullFilter
from proxystore.stream.protocols import Filter
from proxystore.stream.protocols import MessageSubscriber
from proxystore.stream.protocols import fans_out

__all__ = ['StreamConsumer']

logger = logging.getLogger(__name__)

T = TypeVar('T')


class StreamConsumer(Generic[T]):
    """Iterates over a stream: a lazy proxy per object (data moves on first use).

    Iteration ends at the end of a topic (the producer closed it) or when the
    subscriber has no more messages. Objects sent without a store come as they
    are. Compatible with ProxyStore 1.x.

    An object is evicted after use only if its event says so (the producer's
    broker delivers each message to one consumer, once) and this subscriber
    does not fan out either (see `proxystore.stream.protocols.fans_out`): an
    event from a ProxyStore 1.x producer over pub/sub, ZeroMQ or a Redis
    stream is never evicted here, since other readers may still need it.

    Args:
        subscriber: The broker's subscriber (a shim).
        filter_: Drops events whose metadata it rejects (``True``: drop). A
            dropped object that was to be evicted is evicted only where this
            consumer was its one reader (a queue): on a broker that fans out,
            another consumer may want it.
        stores: Stores this consumer has already: events of these stores need
            no announcement (a consumer that joins a broadcast late).
        trust_broker: Make stores from the descriptions that come through the
            broker even without a secret this process holds (see
            `StoreDirectory`): only if every writer to the broker is trusted.
        max_message_bytes: Largest broker message decoded.
        allowed_hosts: Hosts that stores made from the broker's descriptions
            may be at: names (exact, never resolved), addresses, networks
            (``10.0.0.0/8``) or ``'*'``, as a list or one comma-separated
            string. By default ``PROXYSTORE_STREAM_ALLOWED_HOSTS``, else
            loopback only; the hosts of ``stores`` are always allowed. A
            description at another host raises `HostNotAllowedError` before
            anything connects (see `proxystore.stream._stores.HostPolicy`).
        allowed_paths: Paths under which stores made from the broker's
            descriptions may keep or find their data (a file connector's
            ``store_dir``, a shared-memory ``directory``, the endpoint
            connector's ``proxystore_dir``, a Redis socket), as a list or one
            string separated by `os.pathsep`. By default
            ``PROXYSTORE_STREAM_ALLOWED_PATHS``, else ``/dev/shm`` and the
            default endpoint home only; the paths of ``stores`` are always
            allowed. A description naming another path raises
            `PathNotAllowedError` before any store is made (see
            `proxystore.stream._stores.PathPolicy`).

    Raises:
        ValueError: If an allowed host is malformed or an allowed path empty.
    """

    def __init__(
        self,
        subscriber: MessageSubscriber,
        *,
        filter_: Filter | None = None,
        stores: Iterable[Store[Any]] = (),
        trust_broker: bool = False,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        allowed_hosts: Iterable[str] | str | None = None,
        allowed_paths: Iterable[str | os.PathLike[str]] | str | None = None,
    ) -> None:
        self.subscriber = subscriber
        self.filter_: Filter = filter_ if filter_ is not None else NullFilter()
        self.max_message_bytes = max_message_bytes
        self._stores = StoreDirectory(
            stores,
            trust_broker=trust_broker,
            allowed_hosts=allowed_hosts,
            allowed_paths=allowed_paths,
        )
        self._pending: collections.deque[Event] = collections.deque()
        self._ended = False
        self._sole_reader = not fans_out(subscriber)

    def __enter__(self) -> StreamConsumer[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:
            # The last object may not have been handled: a broker that
            # acknowledges must deliver it again.
            abandon = getattr(self.subscriber, 'abandon', None)
            if abandon is not None:
                abandon()
        self.close()

    def __iter__(self) -> StreamConsumer[T]:
        return self

    def __next__(self) -> T | Proxy[T]:
        return self.next()

    # --- events ----------------------------------------------------------------

    def _next_event(self) -> Event:
        while not self._pending:
            if self._ended:
                raise StopIteration
            try:
                message = self.subscriber.next_message()
            except StopIteration:
                self._ended = True
                raise
            batch = bytes_to_event(message, max_bytes=self.max_message_bytes)
            self._pending.extend(batch.events)
        return self._pending.popleft()

    def _next_item(self) -> tuple[Event, dict[str, Any]]:
        """The next object event that passes the filter, with its metadata."""
        while True:
            event = self._next_event()
            if isinstance(event, StoreEvent):
                try:
                    self._stores.announce(event.store_id, event.descriptor)
                except Exception:
                    self._pending.appendleft(event)  # not lost: the next call retries
                    raise
                continue
            if isinstance(event, EndOfStreamEvent):
                self._ended = True
                raise StopIteration
            assert isinstance(event, NewObjectEvent | NewObjectKeyEvent)
            if not self.filter_(event.metadata):
                return event, event.metadata
            if isinstance(event, NewObjectKeyEvent) and self._evicts(event):
                # Dropped where no one else will read it: nothing is lost.
                store = self._store_or_requeue(event)
                store.evict(self._key(store, event))

    def _evicts(self, event: NewObjectKeyEvent) -> bool:
        """Whether this consumer evicts the event's object after use."""
        return event.evict and self._sole_reader

    def _store(self, event: NewObjectKeyEvent) -> Store[Any]:
        try:
            return self._stores.get(event.store_id)
        except UnknownStoreError:
            lookup = getattr(self.subscriber, 'store_descriptor', None)
            descriptor = None if lookup is None else lookup(event.topic, event.store_id)
            if descriptor is None:
                raise
            self._stores.announce(event.store_id, descriptor)
            return self._stores.get(event.store_id)

    def _store_or_requeue(self, event: NewObjectKeyEvent) -> Store[Any]:
        """The event's store; if unknown, the event stays next (nothing is lost)."""
        try:
            return self._store(event)
        except Exception:
            self._pending.appendleft(event)
            raise

    @staticmethod
    def _key(store: Store[Any], event: NewObjectKeyEvent) -> Any:
        key_type = getattr(type(store.connector), 'Key', None)
        if key_type is None:
            return event.raw_key
        try:
            return key_type(*event.raw_key)
        except TypeError as e:
            raise MalformedEventError(
                f'Key {list(event.raw_key)!r} is not a {key_type.__name__}: {e}',
            ) from e

    # --- proxies ------------------------------------------------------------------

    def next_with_metadata(self) -> tuple[dict[str, Any], T | Proxy[T]]:
        """The next object's metadata and a proxy of it (nothing is fetched).

        Raises:
            StopIteration: At the end of the stream.
            MalformedEventError: If the broker delivered an invalid message.
            UnknownStoreError: If an event names a store this consumer does not
                know.
        """
        event, metadata = self._next_item()
        if isinstance(event, NewObjectEvent):
            return metadata, event.obj
        assert isinstance(event, NewObjectKeyEvent)
        store = self._store_or_requeue(event)
        proxy: Proxy[T] = store.proxy_from_key(
            self._key(store, event), evict=self._evicts(event)
        )
        return metadata, proxy

    def next(self) -> T | Proxy[T]:
        """A proxy of the next object (see `next_with_metadata`)."""
        return self.next_with_metadata()[1]

    def iter_with_metadata(self) -> Generator[tuple[dict[str, Any], T | Proxy[T]]]:
        """Iterate over ``(metadata, proxy)`` pairs."""
        while True:
            try:
                yield self.next_with_metadata()
            except StopIteration:
                return

    # --- objects ------------------------------------------------------------------

    def next_object_with_metadata(self) -> tuple[dict[str, Any], T]:
        """The next object's metadata and the object itself (fetched now).

        Raises:
            StopIteration: At the end of the stream.
            ValueError: If the object is no longer in its store.
        """
        event, metadata = self._next_item()
        if isinstance(event, NewObjectEvent):
            return metadata, event.obj
        assert isinstance(event, NewObjectKeyEvent)
        store = self._store_or_requeue(event)
        key = self._key(store, event)
        obj = store.get(key)
        if obj is None:
            raise ValueError(
                f'The object under key {key!r} of store "{store.name}" is gone '
                '(evicted, or never stored).',
            )
        if self._evicts(event):
            store.evict(key)
        return metadata, obj

    def next_object(self) -> T:
        """The next object itself (see `next_object_with_metadata`)."""
        return self.next_object_with_metadata()[1]

    def iter_objects(self) -> Generator[T]:
        """Iterate over the objects themselves."""
        for _, obj in self.iter_objects_with_metadata():
            yield obj

    def iter_objects_with_metadata(self) -> Generator[tuple[dict[str, Any], T]]:
        """Iterate over ``(metadata, object)`` pairs."""
        while True:
            try:
                yield self.next_object_with_metadata()
            except StopIteration:
                return

    def close(self, *, stores: bool = False, subscriber: bool = True) -> None:
        """Close the subscriber (and the stores this consumer used)."""
        if subscriber:
            self.subscriber.close()
        if stores:
            for store in self._stores.stores():
                store.close()
