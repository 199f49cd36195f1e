"""Producer and consumer in one process, over a queue: the stream's semantics."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store.utils import get_factory_of_store_proxy
from proxystore.store.utils import get_key
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.events import bytes_to_event
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import TopicClosedError
from proxystore.stream.exceptions import UnknownStoreError
from proxystore.stream.filters import NullFilter
from proxystore.stream.filters import SamplingFilter
from proxystore.stream.shims.queue import QueuePublisher
from proxystore.stream.shims.queue import QueueSubscriber


def _pair(
    store: Store[Any] | None, **options: Any
) -> tuple[StreamProducer[Any], StreamConsumer[Any], queue.Queue[bytes]]:
    events: queue.Queue[bytes] = queue.Queue()
    producer: StreamProducer[Any] = StreamProducer(
        QueuePublisher({'t': events}), stores={'t': store}, **options
    )
    consumer: StreamConsumer[Any] = StreamConsumer(QueueSubscriber(events, timeout=5))
    return producer, consumer, events


def test_objects_arrive_as_lazy_proxies_and_are_evicted(store: Store[Any]) -> None:
    producer, consumer, _ = _pair(store)
    for i in range(3):
        producer.send('t', list(range(i + 1)), metadata={'i': i})
    producer.close_topics('t')
    received = list(consumer.iter_with_metadata())
    assert [m for m, _ in received] == [{'i': 0}, {'i': 1}, {'i': 2}]
    proxies = [p for _, p in received]
    assert all(isinstance(p, Proxy) and not is_resolved(p) for p in proxies)
    keys = [get_key(p) for p in proxies]
    assert [len(p) for p in proxies] == [1, 2, 3]
    assert not any(store.exists(k) for k in keys)  # evict=True by default


def test_keep_objects_with_evict_false(store: Store[Any]) -> None:
    producer, consumer, _ = _pair(store)
    producer.send('t', 'kept', evict=False)
    producer.close_topics('t')
    proxy = consumer.next()
    assert proxy == 'kept' and store.exists(get_key(proxy))


def test_objects_on_request(store: Store[Any]) -> None:
    producer, consumer, _ = _pair(store)
    producer.send('t', {'a': 1}, metadata={'n': 1})
    producer.send('t', {'b': 2})
    producer.close_topics('t')
    assert consumer.next_object_with_metadata() == ({'n': 1}, {'a': 1})
    assert list(consumer.iter_objects()) == [{'b': 2}]


def test_an_object_gone_from_its_store(store: Store[Any]) -> None:
    producer, consumer, events = _pair(store)
    producer.send('t', [1])
    message = events.get()
    batch = bytes_to_event(message)
    events.put(message)
    key_event = batch.events[-1]
    store.evict(type(store.connector).Key(*key_event.raw_key))  # type: ignore[union-attr]
    with pytest.raises(ValueError, match='is gone'):
        consumer.next_object()


def test_batches_and_aggregation(store: Store[Any]) -> None:
    producer, consumer, events = _pair(store, batch_size=3)
    for i in range(7):
        producer.send('t', i)
    assert events.qsize() == 2  # two full batches; one object still buffered
    producer.close(topics=('t',))  # flushes it, then the end
    assert list(consumer) == list(range(7))

    producer, consumer, events = _pair(store, batch_size=3, aggregator=sum)
    for i in range(6):
        producer.send('t', i, metadata={f'm{i}': i}, evict=i == 0)
    producer.close_topics('t')
    metadata, total = consumer.next_with_metadata()
    assert total == 0 + 1 + 2 and metadata == {'m0': 0, 'm1': 1, 'm2': 2}
    assert consumer.next() == 3 + 4 + 5


def test_topics_without_a_store_carry_their_objects() -> None:
    producer, consumer, _ = _pair(None)
    producer.send('t', {'small': [1, 2, b'bytes']})
    producer.close_topics('t')
    assert consumer.next() == {'small': [1, 2, b'bytes']}
    producer, _, _ = _pair(None)
    with pytest.raises(TypeError, match='Map a store to the topic'):
        producer.send('t', {1, 2})


def test_filters(store: Store[Any]) -> None:
    producer, consumer, _ = _pair(store, filter_=SamplingFilter(1.0))
    producer.send('t', 'dropped by the producer')
    producer.close_topics('t')
    assert list(consumer) == []

    producer, _, events = _pair(store)
    producer.send('t', 'dropped by the consumer', metadata={'drop': True})
    producer.send('t', 'kept', evict=False)
    producer.close_topics('t')
    consumer = StreamConsumer(
        QueueSubscriber(events, timeout=5), filter_=lambda m: bool(m.get('drop'))
    )
    assert list(consumer) == ['kept']
    assert len(store.connector._store) == 1  # the dropped one was evicted
    assert NullFilter()({'anything': 1}) is False
    assert SamplingFilter(0.0)({}) is False


@pytest.mark.parametrize('p', [-0.1, 1.5])
def test_sampling_probability_must_be_a_probability(p: float) -> None:
    with pytest.raises(ValueError, match='must be in \\[0, 1\\]'):
        SamplingFilter(p)


def test_a_closed_topic_refuses_objects(store: Store[Any]) -> None:
    producer, consumer, _ = _pair(store)
    producer.close_topics('t')
    with pytest.raises(TopicClosedError, match='Topic "t" is closed'):
        producer.send('t', 1)
    producer.close_topics('t')  # again: nothing more is sent
    assert list(consumer) == []


@pytest.mark.parametrize(
    ('options', 'message'),
    [({'batch_size': 0}, 'batch_size'), ({'announce_every': 0}, 'announce_every')],
)
def test_invalid_producer_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StreamProducer(QueuePublisher({}), **options)


def test_unknown_topic_of_a_queue_publisher() -> None:
    with pytest.raises(ValueError, match='Topic "other" has no queue'):
        QueuePublisher({'t': queue.Queue()}).send_message('other', b'')


def test_queue_subscriber_timeout() -> None:
    with pytest.raises(TimeoutError, match='No message within 0.05 s'):
        QueueSubscriber(queue.Queue(), timeout=0.05).next_message()


def test_a_late_consumer_needs_the_store(store: Store[Any]) -> None:
    producer, _, events = _pair(store, announce_every=3)
    for i in range(4):
        producer.send('t', i)
    producer.close_topics('t')
    events.get()  # the first batch, with the store's announcement, is missed
    consumer: StreamConsumer[Any] = StreamConsumer(QueueSubscriber(events, timeout=5))
    with pytest.raises(UnknownStoreError, match='has not seen announced'):
        consumer.next()

    producer, _, events = _pair(store, announce_every=3)
    for i in range(4):
        producer.send('t', i)
    producer.close_topics('t')
    events.get()
    given: StreamConsumer[Any] = StreamConsumer(
        QueueSubscriber(events, timeout=5), stores=[store]
    )
    assert list(given) == [1, 2, 3]

    producer, _, events = _pair(store, announce_every=2)
    for i in range(4):
        producer.send('t', i)
    producer.close_topics('t')
    events.get()
    events.get()  # both missed: the third batch announces the store again
    assert list(StreamConsumer(QueueSubscriber(events, timeout=5))) == [2, 3]


def test_a_store_described_by_the_producer_is_created_here(
    file_store: Store[Any],
) -> None:
    producer, consumer, _ = _pair(file_store)  # the store is not registered here
    producer.send('t', 'hello')
    producer.close_topics('t')
    proxy = consumer.next()
    assert proxy == 'hello'
    made = get_factory_of_store_proxy(proxy).get_store()
    assert made is not file_store and made.name == file_store.name
    consumer.close(stores=True)


def test_a_store_with_custom_serialization_must_be_registered() -> None:
    with Store(
        'custom', LocalConnector(), serializer=_serialize, deserializer=_deserialize
    ) as custom:
        producer, consumer, _ = _pair(custom)
        producer.send('t', 'x')
        with pytest.raises(UnknownStoreError, match='register that store'):
            consumer.next()


def _serialize(obj: Any) -> bytes:
    return repr(obj).encode()


def _deserialize(data: Any) -> Any:
    return bytes(data).decode()


def test_malformed_message_reaches_the_consumer_as_an_error() -> None:
    events: queue.Queue[bytes] = queue.Queue()
    events.put(b'not an event')
    consumer: StreamConsumer[Any] = StreamConsumer(QueueSubscriber(events, timeout=5))
    with pytest.raises(MalformedEventError, match='not msgpack'):
        consumer.next()


def test_context_managers(store: Store[Any]) -> None:
    events: queue.Queue[bytes] = queue.Queue()
    with StreamProducer(QueuePublisher({'t': events}), default_store=store) as producer:
        producer.send('t', 1)
    with StreamConsumer(QueueSubscriber(events, timeout=5)) as consumer:
        assert consumer.next() == 1


def test_a_topic_ends_once(store: Store[Any]) -> None:
    producer, _, events = _pair(store)
    producer.send('t', 1)
    producer.close(topics=('t',))  # closes, then flushes every topic again
    messages = [bytes_to_event(events.get()) for _ in range(events.qsize())]
    ends = [
        e for m in messages for e in m.events if type(e).__name__ == 'EndOfStreamEvent'
    ]
    assert len(messages) == 2 and len(ends) == 1


def test_stores_described_by_the_broker_need_a_secret_or_trust(
    tmp_path: Any,
) -> None:
    from proxystore.connectors.file import FileConnector

    with Store('plain', FileConnector(str(tmp_path))) as plain:  # no secret
        producer, consumer, _ = _pair(plain)
        producer.send('t', 'x', evict=False)
        with pytest.raises(UnknownStoreError, match='name a secret it holds'):
            consumer.next()
        producer, _, events = _pair(plain)
        producer.send('t', 'y', evict=False)
        trusting: StreamConsumer[Any] = StreamConsumer(
            QueueSubscriber(events, timeout=5), trust_broker=True
        )
        assert trusting.next() == 'y'
        trusting.close(stores=True)
