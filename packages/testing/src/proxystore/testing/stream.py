"""Producer and consumer processes for stream tests, importable by any worker.

A broker is named by a kind and its arguments, so that a parent process can
start producers and consumers of any shim in child processes:

- ``('queue', {'queue': mp_queue})`` (multiprocessing queue);
- ``('redis-pubsub' | 'redis-list' | 'redis-stream', {'hostname', 'port', ...})``;
- ``('zmq', {'address', 'port'})`` (the producer binds, consumers connect).
"""

from __future__ import annotations

import os
import time
from typing import Any

from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store.config import StoreConfig
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.protocols import MessagePublisher
from proxystore.stream.protocols import MessageSubscriber

__all__ = ['consume', 'item', 'make_publisher', 'make_subscriber', 'produce']


def item(index: int, size: int) -> bytes:
    """The ``index``-th item of a stream: recognizable bytes of ``size``."""
    return index.to_bytes(4, 'little') * (size // 4) + b'x' * (size % 4)


def make_publisher(kind: str, options: dict[str, Any]) -> MessagePublisher:
    """The publisher of a broker kind.

    Raises:
        ValueError: If the kind is unknown.
    """
    if kind == 'queue':
        from proxystore.stream.shims.queue import QueuePublisher

        return QueuePublisher({options['topic']: options['queue']})
    if kind == 'redis-pubsub':
        from proxystore.stream.shims.redis import RedisPublisher

        return RedisPublisher(options['hostname'], options['port'])
    if kind == 'redis-list':
        from proxystore.stream.shims.redis import RedisQueuePublisher

        return RedisQueuePublisher(options['hostname'], options['port'])
    if kind == 'redis-stream':
        from proxystore.stream.shims.redis import RedisStreamPublisher

        return RedisStreamPublisher(options['hostname'], options['port'])
    if kind == 'zmq':
        from proxystore.stream.shims.zmq import ZeroMQPublisher

        return ZeroMQPublisher(options['address'], options['port'])
    raise ValueError(f'Unknown broker kind {kind!r}.')


def make_subscriber(kind: str, options: dict[str, Any]) -> MessageSubscriber:
    """The subscriber of a broker kind (timeouts keep tests bounded).

    Raises:
        ValueError: If the kind is unknown.
    """
    timeout = options.get('timeout', 60.0)
    if kind == 'queue':
        from proxystore.stream.shims.queue import QueueSubscriber

        return QueueSubscriber(options['queue'], timeout=timeout)
    if kind == 'redis-pubsub':
        from proxystore.stream.shims.redis import RedisSubscriber

        return RedisSubscriber(
            options['hostname'], options['port'], options['topic'], timeout=timeout
        )
    if kind == 'redis-list':
        from proxystore.stream.shims.redis import RedisQueueSubscriber

        return RedisQueueSubscriber(
            options['hostname'], options['port'], options['topic'], timeout=timeout
        )
    if kind == 'redis-stream':
        from proxystore.stream.shims.redis import RedisStreamSubscriber

        return RedisStreamSubscriber(
            options['hostname'],
            options['port'],
            options['topic'],
            consumer=options.get('consumer'),
            claim_idle=options.get('claim_idle'),
            timeout=timeout,
        )
    if kind == 'zmq':
        from proxystore.stream.shims.zmq import ZeroMQSubscriber

        return ZeroMQSubscriber(
            options['address'], options['port'], topic=options['topic'], timeout=timeout
        )
    raise ValueError(f'Unknown broker kind {kind!r}.')


def produce(
    kind: str,
    options: dict[str, Any],
    store_config: StoreConfig | None,
    count: int,
    size: int,
    *,
    batch_size: int = 1,
    interval: float = 0.0,
    subscribers: int = 0,
    evict: bool = True,
) -> int:
    """Send ``count`` items on ``options['topic']``, then close the topic.

    Args:
        kind: Broker kind.
        options: Broker options (and ``topic``).
        store_config: Store of the topic (``None``: items travel in events).
        count: Items to send.
        size: Bytes per item.
        batch_size: Items per event batch.
        interval: Seconds between items.
        subscribers: For ZeroMQ, subscriptions to wait for before sending.
        evict: Consumers evict each object once resolved.

    Returns:
        This process's id.
    """
    topic = options['topic']
    publisher = make_publisher(kind, options)
    if subscribers:
        publisher.wait_for_subscribers(subscribers)  # type: ignore[attr-defined]
    store = None if store_config is None else Store.from_config(store_config)
    producer: StreamProducer[bytes] = StreamProducer(
        publisher, stores={topic: store}, batch_size=batch_size
    )
    for index in range(count):
        producer.send(topic, item(index, size), metadata={'index': index}, evict=evict)
        if interval:
            time.sleep(interval)
    producer.close(topics=(topic,))
    if store is not None:
        _close_keeping_data(store)  # the consumer still has to read it
    return os.getpid()


def _close_keeping_data(store: Store[Any]) -> None:
    import inspect

    if 'clear' in inspect.signature(store.connector.close).parameters:
        store.close(clear=False)
    else:
        store.close()


def consume(
    kind: str,
    options: dict[str, Any],
    *,
    ready: Any = None,
    resolve: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Read a stream to its end; report what came.

    Args:
        kind: Broker kind.
        options: Broker options (``topic``, ``consumer``...).
        ready: An event to set once subscribed (producers wait for it).
        resolve: Touch each proxy (fetch the data) and check it.
        stop_after: Exit the process abruptly (no cleanup, no acknowledgement)
            after this many items, as a crash would.

    Returns:
        ``indices`` (metadata of each item, in order), ``unresolved`` (items
        that arrived as unresolved proxies) and ``pid``.
    """
    subscriber = make_subscriber(kind, options)
    if ready is not None:
        ready.set()
    consumer: StreamConsumer[bytes] = StreamConsumer(subscriber)
    indices: list[int] = []
    unresolved = 0
    for metadata, data in consumer.iter_with_metadata():
        if isinstance(data, Proxy) and not is_resolved(data):
            unresolved += 1
        if resolve:
            expected = item(metadata['index'], len(data))
            assert bytes(data) == expected, f'item {metadata["index"]} is corrupt'
        indices.append(metadata['index'])
        if stop_after is not None and len(indices) >= stop_after:
            os._exit(3)  # a crash: the last message is never acknowledged
    consumer.close()
    return {'indices': indices, 'unresolved': unresolved, 'pid': os.getpid()}
