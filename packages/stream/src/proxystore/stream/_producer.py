"""`StreamProducer`: objects into stores, events into a broker."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.store import Store
from proxystore.stream._stores import describe
from proxystore.stream._stores import store_id
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import StoreEvent
from proxystore.stream.events import event_to_bytes
from proxystore.stream.exceptions import TopicClosedError
from proxystore.stream.filters import NullFilter
from proxystore.stream.protocols import Filter
from proxystore.stream.protocols import MessagePublisher
from proxystore.stream.protocols import declares_fan_out
from proxystore.stream.protocols import fans_out

__all__ = ['StreamProducer']

logger = logging.getLogger(__name__)

T = TypeVar('T')


@dataclasses.dataclass
class _Item(Generic[T]):
    obj: T
    evict: bool
    metadata: dict[str, Any]


@dataclasses.dataclass
class _Topic(Generic[T]):
    buffer: list[_Item[T]] = dataclasses.field(default_factory=list)
    closed: bool = False
    ended: bool = False  # the end event was sent
    batches: int = 0
    announced: str | None = None


class StreamProducer(Generic[T]):
    """Sends objects to topics: the object to the topic's store, an event to the broker.

    Events are small (a key, flags, metadata); the objects stay in stores until
    a consumer resolves their proxies. A topic without a store sends its objects
    inside the events (msgpack values only). Compatible with ProxyStore 1.x.
    Not thread-safe: use one producer per thread.

    Objects sent with ``evict=True`` (the default) are evicted by the consumer
    that uses them only if the publisher delivers each message to one consumer,
    once (its ``fans_out`` is ``False``: queues, Redis lists). On a broker that
    fans out or redelivers (pub/sub, ZeroMQ, Redis streams) the first reader
    would delete the object for the others, so the event says not to evict and
    the object stays in its store until the store evicts it (clear it, or evict
    the keys when every consumer is done).

    Example:
        ```python
        import queue

        from proxystore.connectors.local import LocalConnector
        from proxystore.store import Store
        from proxystore.stream import StreamConsumer, StreamProducer
        from proxystore.stream.shims.queue import QueuePublisher, QueueSubscriber

        events = queue.Queue()
        with Store('stream-example', LocalConnector(), register=True) as store:
            producer = StreamProducer(
                QueuePublisher({'numbers': events}), stores={'numbers': store}
            )
            for i in range(3):
                producer.send('numbers', [i] * 4)
            producer.close_topics('numbers')
            consumer = StreamConsumer(QueueSubscriber(events))
            assert [sum(item) for item in consumer] == [0, 4, 8]
        ```

    Args:
        publisher: The broker's publisher (a shim).
        aggregator: Combines the buffered objects of a topic into one at flush.
        batch_size: Objects buffered per topic before a flush.
        default_store: Store of topics not in ``stores``.
        filter_: Drops objects whose metadata it rejects (``True``: drop).
        stores: Store of each topic (``None``: objects travel in the events).
        announce_every: Batches of a topic between two announcements of its
            store (consumers that join a broadcast late learn it then).

    Raises:
        ValueError: If ``batch_size`` or ``announce_every`` is below 1.
    """

    def __init__(
        self,
        publisher: MessagePublisher,
        *,
        aggregator: Callable[[list[T]], T] | None = None,
        batch_size: int = 1,
        default_store: Store[Any] | None = None,
        filter_: Filter | None = None,
        stores: Mapping[str, Store[Any] | None] | None = None,
        announce_every: int = 100,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, not {batch_size}.')
        if announce_every < 1:
            raise ValueError(
                f'announce_every must be at least 1, not {announce_every}.'
            )
        self.publisher = publisher
        self.aggregator = aggregator
        self.batch_size = batch_size
        self.default_store = default_store
        self.filter_: Filter = filter_ if filter_ is not None else NullFilter()
        self.stores: dict[str, Store[Any] | None] = dict(stores or {})
        self.announce_every = announce_every
        self._topics: dict[str, _Topic[T]] = {}
        self._descriptors: dict[int, tuple[str, dict[str, Any]]] = {}
        self._warned_undeclared = False

    def __enter__(self) -> StreamProducer[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _topic(self, topic: str) -> _Topic[T]:
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = _Topic()
        return state

    def _store_of(self, topic: str) -> Store[Any] | None:
        if topic in self.stores:
            return self.stores[topic]
        return self.default_store

    def send(
        self,
        topic: str,
        obj: T,
        *,
        evict: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Buffer an object for a topic; flush the topic when its batch is full.

        Args:
            topic: The topic.
            obj: The object.
            evict: The consumer's proxy evicts the object once resolved, if
                the publisher delivers each message to one consumer once (see
                the class); ignored on a broker that fans out or redelivers.
            metadata: Metadata of the object (msgpack values), seen by filters
                and consumers.

        Raises:
            TopicClosedError: If the topic was closed.
        """
        state = self._topic(topic)
        if state.closed:
            raise TopicClosedError(f'Topic "{topic}" is closed.')
        metadata = {} if metadata is None else metadata
        if self.filter_(metadata):
            return
        state.buffer.append(_Item(obj, evict, metadata))
        if len(state.buffer) >= self.batch_size:
            self.flush_topic(topic)

    def flush(self) -> None:
        """Flush every topic."""
        for topic in list(self._topics):
            self.flush_topic(topic)

    def _descriptor(self, store: Store[Any]) -> tuple[str, dict[str, Any]]:
        cached = self._descriptors.get(id(store))
        if cached is None or cached[1].get('name') != store.name:
            descriptor = describe(store)
            cached = self._descriptors[id(store)] = (store_id(descriptor), descriptor)
        return cached

    def _consumers_may_evict(self, items: list[_Item[T]]) -> bool:
        """Whether one consumer, once, reads each message (then it may evict)."""
        if not fans_out(self.publisher):
            return True
        undeclared = not declares_fan_out(self.publisher)
        if undeclared and not self._warned_undeclared and any(i.evict for i in items):
            self._warned_undeclared = True
            logger.warning(
                '%s does not say whether its messages reach one consumer '
                '(no fans_out attribute): objects sent with evict=True are '
                'not evicted by consumers, so that no reader deletes what '
                'another still needs. Set fans_out = False on a publisher '
                'whose messages reach one consumer, once.',
                type(self.publisher).__name__,
            )
        return False

    def _object_events(self, topic: str, items: list[_Item[T]]) -> list[Event]:
        store = self._store_of(topic)
        if store is None:
            return [NewObjectEvent(topic, i.obj, i.metadata) for i in items]
        may_evict = self._consumers_may_evict(items)
        identifier, descriptor = self._descriptor(store)
        state = self._topic(topic)
        events: list[Event] = []
        if state.announced != identifier or state.batches % self.announce_every == 0:
            events.append(StoreEvent(topic, identifier, descriptor))
            if state.announced != identifier:
                announce = getattr(self.publisher, 'announce_store', None)
                if announce is not None:
                    announce(topic, identifier, descriptor)
            state.announced = identifier
        keys = store.put_batch([i.obj for i in items])
        events += [
            NewObjectKeyEvent(
                topic, identifier, tuple(key), i.evict and may_evict, i.metadata
            )
            for key, i in zip(keys, items, strict=True)
        ]
        return events

    def flush_topic(self, topic: str) -> None:
        """Send the buffered objects of a topic (and its end, if closed)."""
        state = self._topic(topic)
        items, state.buffer = state.buffer, []
        if items and self.aggregator is not None:
            metadata: dict[str, Any] = {}
            for item in items:
                metadata.update(item.metadata)
            aggregate = self.aggregator([i.obj for i in items])
            items = [_Item(aggregate, any(i.evict for i in items), metadata)]
        if items:
            events = self._object_events(topic, items)
            message = event_to_bytes(EventBatch(topic, events))
            self.publisher.send_message(topic, message)
            state.batches += 1
        ending = state.closed and not state.ended
        if ending:
            # The end in a message of its own: a broker that may deliver a
            # message twice then repeats only the end, never objects.
            end = event_to_bytes(EventBatch(topic, [EndOfStreamEvent(topic)]))
            end_topic = getattr(self.publisher, 'end_topic', None)
            if end_topic is not None:
                end_topic(topic, end)
            else:
                self.publisher.send_message(topic, end)
            state.ended = True

    def close_topics(self, *topics: str) -> None:
        """Close topics: flush what they buffer and send their end."""
        for topic in topics:
            state = self._topic(topic)
            if state.closed:
                continue
            state.closed = True
            self.flush_topic(topic)

    def close(
        self,
        *,
        topics: tuple[str, ...] = (),
        publisher: bool = True,
        stores: bool = False,
    ) -> None:
        """Close ``topics``, flush every topic, and close the publisher.

        Unlike ProxyStore 1.x, buffered objects are flushed, not lost.

        Args:
            topics: Topics to close (send their end) first.
            publisher: Close the publisher.
            stores: Close the stores of the topics.
        """
        self.close_topics(*topics)
        self.flush()
        if publisher:
            self.publisher.close()
        if stores:
            known = [*self.stores.values(), self.default_store]
            for store in {id(s): s for s in known if s is not None}.values():
                store.close()
