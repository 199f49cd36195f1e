"""Eviction on brokers that fan out or redeliver: no reader deletes another's object.

Before the fix, ``evict=True`` (the default) made the first consumer that used
an object (or filtered its event out) delete it for every other consumer of a
broadcast, and for the consumer that a Redis stream redelivers it to.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store.utils import get_key
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.protocols import fans_out
from proxystore.stream.shims.queue import QueuePublisher
from proxystore.stream.shims.queue import QueueSubscriber
from proxystore.stream.shims.redis import RedisPublisher
from proxystore.stream.shims.redis import RedisQueuePublisher
from proxystore.stream.shims.redis import RedisQueueSubscriber
from proxystore.stream.shims.redis import RedisStreamPublisher
from proxystore.stream.shims.redis import RedisStreamSubscriber
from proxystore.stream.shims.redis import RedisSubscriber
from proxystore.stream.shims.zmq import ZeroMQPublisher
from proxystore.stream.shims.zmq import ZeroMQSubscriber
from proxystore.testing.redis import RedisServer

TIMEOUT = 10
ITEMS = 5
HOST = '127.0.0.1'


def _expected() -> list[list[int]]:
    return [[i] * 3 for i in range(ITEMS)]


def _produce(publisher: Any, store: Store[Any], topic: str) -> None:
    producer: StreamProducer[list[int]] = StreamProducer(
        publisher, stores={topic: store}
    )
    for i in range(ITEMS):
        producer.send(topic, [i] * 3, metadata={'i': i})  # evict=True: the default
    producer.close(topics=(topic,))


def _read(consumer: StreamConsumer[Any]) -> tuple[list[Any], list[Any]]:
    """Use every object (resolve it), and the keys they were under."""
    proxies = [p for _, p in zip(range(ITEMS + 1), consumer, strict=False)]
    assert all(isinstance(p, Proxy) for p in proxies)
    return [list(p) for p in proxies], [get_key(p) for p in proxies]


@pytest.fixture(params=['redis-pubsub', 'redis-stream-groups', 'zmq'])
def broadcast(
    request: pytest.FixtureRequest, redis_options: dict[str, Any]
) -> Generator[tuple[Any, list[Any], str]]:
    """A publisher and two subscribers that each get every message."""
    port, topic = redis_options['port'], redis_options['topic']
    publisher: Any
    subscribers: list[Any]
    if request.param == 'redis-pubsub':
        publisher = RedisPublisher(HOST, port)
        subscribers = [
            RedisSubscriber(HOST, port, topic, timeout=TIMEOUT) for _ in range(2)
        ]
    elif request.param == 'redis-stream-groups':
        publisher = RedisStreamPublisher(HOST, port)
        subscribers = [
            RedisStreamSubscriber(HOST, port, topic, group=g, timeout=TIMEOUT)
            for g in ('first', 'second')
        ]
    else:
        publisher = ZeroMQPublisher(HOST, 0)
        subscribers = [
            ZeroMQSubscriber(HOST, publisher.port, topic=topic, timeout=TIMEOUT)
            for _ in range(2)
        ]
        publisher.wait_for_subscribers(2, timeout=TIMEOUT)
    yield publisher, subscribers, topic
    for subscriber in subscribers:
        subscriber.close()


def test_two_consumers_of_a_broadcast_both_get_every_item(
    broadcast: tuple[Any, list[Any], str], store: Store[Any]
) -> None:
    publisher, subscribers, topic = broadcast
    _produce(publisher, store, topic)
    first, second = (StreamConsumer(s) for s in subscribers)
    values, keys = _read(first)  # the first reader uses everything first
    assert values == _expected()
    assert _read(second)[0] == _expected()  # before: every object was gone
    # Not evicted by any reader: the store keeps them until it is told.
    assert all(store.exists(k) for k in keys)


def test_a_filtering_consumer_does_not_take_items_from_another(
    broadcast: tuple[Any, list[Any], str], store: Store[Any]
) -> None:
    publisher, subscribers, topic = broadcast
    _produce(publisher, store, topic)
    picky: StreamConsumer[Any] = StreamConsumer(subscribers[0], filter_=lambda m: True)
    assert list(picky) == []  # dropped every event: evicted nothing
    assert _read(StreamConsumer(subscribers[1]))[0] == _expected()


def test_a_redelivered_item_is_still_there(
    redis_server: RedisServer, redis_options: dict[str, Any], store: Store[Any]
) -> None:
    port, topic = redis_server.port, redis_options['topic']
    _produce(RedisStreamPublisher(HOST, port), store, topic)
    crashing = RedisStreamSubscriber(HOST, port, topic, consumer='a', timeout=TIMEOUT)
    proxy = StreamConsumer(crashing).next()
    assert proxy == [0] * 3  # used, then the consumer dies before acknowledging
    crashing.abandon()
    heir = RedisStreamSubscriber(
        HOST, port, topic, consumer='b', timeout=TIMEOUT, claim_idle=0
    )
    consumer: StreamConsumer[Any] = StreamConsumer(heir)
    values = [list(p) for _, p in zip(range(ITEMS + 1), consumer, strict=False)]
    assert sorted(values) == _expected()  # the redelivered first one too
    consumer.close()


@pytest.mark.parametrize('kind', ['queue', 'redis-list'])
def test_a_single_consumer_queue_still_evicts_after_use(
    kind: str, redis_options: dict[str, Any], store: Store[Any]
) -> None:
    port, topic = redis_options['port'], redis_options['topic']
    publisher: Any
    subscriber: Any
    if kind == 'queue':
        events: queue.Queue[bytes] = queue.Queue()
        publisher = QueuePublisher({topic: events})
        subscriber = QueueSubscriber(events, timeout=TIMEOUT)
    else:
        publisher = RedisQueuePublisher(HOST, port)
        subscriber = RedisQueueSubscriber(HOST, port, topic, timeout=TIMEOUT)
    _produce(publisher, store, topic)
    consumer: StreamConsumer[Any] = StreamConsumer(
        subscriber, filter_=lambda m: m['i'] == 0
    )
    values, keys = _read(consumer)
    assert values == _expected()[1:]
    assert not any(store.exists(k) for k in keys)  # no leak
    assert len(store.connector._store) == 0  # the filtered one too: no one else
    consumer.close()


def test_an_evict_event_over_a_broadcast_is_not_evicted_by_its_readers(
    redis_options: dict[str, Any], store: Store[Any]
) -> None:
    # A producer that says to evict over pub/sub (ProxyStore 1.x did): the
    # consumers' subscriber fans out, so they keep the object for each other.
    class OldPublisher(RedisPublisher):
        fans_out = False

    port, topic = redis_options['port'], redis_options['topic']
    subscribers = [RedisSubscriber(HOST, port, topic, timeout=TIMEOUT) for _ in (1, 2)]
    _produce(OldPublisher(HOST, port), store, topic)
    for subscriber in subscribers:
        assert _read(StreamConsumer(subscriber))[0] == _expected()
        subscriber.close()


class _UndeclaredPublisher:
    """A publisher written for ProxyStore 1.x: it does not say if it fans out."""

    def __init__(self, events: queue.Queue[bytes]) -> None:
        self._inner = QueuePublisher({'t': events})

    def send_message(self, topic: str, message: bytes) -> None:
        self._inner.send_message(topic, message)

    def close(self) -> None:
        self._inner.close()


def test_a_publisher_that_does_not_say_is_taken_to_fan_out(
    store: Store[Any], caplog: pytest.LogCaptureFixture
) -> None:
    events: queue.Queue[bytes] = queue.Queue()
    with caplog.at_level(logging.WARNING, logger='proxystore.stream._producer'):
        _produce(_UndeclaredPublisher(events), store, 't')
    warnings = [r for r in caplog.records if 'fans_out' in r.getMessage()]
    assert len(warnings) == 1  # once per producer, not per object
    assert 'evict=True are not evicted' in warnings[0].getMessage()
    values, keys = _read(StreamConsumer(QueueSubscriber(events, timeout=TIMEOUT)))
    assert values == _expected()
    assert all(store.exists(k) for k in keys)


class _BadShim:
    fans_out: Any = 'yes'

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_message(self, topic: str, message: bytes) -> None:
        self.sent.append(message)

    def next_message(self) -> bytes:
        raise StopIteration

    def close(self) -> None:
        """Nothing to release."""


def test_fans_out_must_be_a_bool(store: Store[Any]) -> None:
    producer: StreamProducer[Any] = StreamProducer(_BadShim(), stores={'t': store})
    with pytest.raises(TypeError, match=r"_BadShim.fans_out must be a bool.*'yes'"):
        producer.send('t', 'x')
    with pytest.raises(TypeError, match='fans_out must be a bool'):
        StreamConsumer(_BadShim())  # type: ignore[arg-type]
    assert fans_out(object()) is True  # unknown: the safe answer
    assert fans_out(QueueSubscriber(queue.Queue())) is False


@pytest.mark.parametrize('kind', ['redis-pubsub', 'zmq'])
def test_a_broadcast_with_one_reader_may_say_so_and_evict(
    kind: str, redis_options: dict[str, Any], store: Store[Any]
) -> None:
    port, topic = redis_options['port'], redis_options['topic']
    publisher: Any
    subscriber: Any
    if kind == 'redis-pubsub':
        publisher = RedisPublisher(HOST, port, fans_out=False)
        subscriber = RedisSubscriber(HOST, port, topic, timeout=TIMEOUT, fans_out=False)
    else:
        publisher = ZeroMQPublisher(HOST, 0, fans_out=False)
        subscriber = ZeroMQSubscriber(
            HOST, publisher.port, topic=topic, timeout=TIMEOUT, fans_out=False
        )
        publisher.wait_for_subscribers(1, timeout=TIMEOUT)
    _produce(publisher, store, topic)
    values, keys = _read(StreamConsumer(subscriber))
    assert values == _expected()
    assert not any(store.exists(k) for k in keys)  # the one reader evicted
    subscriber.close()


def test_the_fans_out_option_must_be_a_bool(redis_options: dict[str, Any]) -> None:
    port, topic = redis_options['port'], redis_options['topic']
    bad: Any = 'no'
    with pytest.raises(TypeError, match=r"fans_out must be a bool.*str 'no'"):
        RedisPublisher(HOST, port, fans_out=bad)
    with pytest.raises(TypeError, match='fans_out must be a bool'):
        RedisSubscriber(HOST, port, topic, fans_out=bad)
    with pytest.raises(TypeError, match='fans_out must be a bool'):
        RedisStreamPublisher(HOST, port, fans_out=bad)
    with pytest.raises(TypeError, match='fans_out must be a bool'):
        RedisStreamSubscriber(HOST, port, topic, fans_out=bad)
    with pytest.raises(TypeError, match='fans_out must be a bool'):
        ZeroMQPublisher(HOST, 0, fans_out=bad)
    with pytest.raises(TypeError, match='fans_out must be a bool'):
        ZeroMQSubscriber(HOST, 1, fans_out=bad)
