"""Every shim with its real broker, producer and consumer in separate processes."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.store import Store
from proxystore.stream import StreamConsumer
from proxystore.stream.exceptions import BrokerError
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.shims.redis import RedisPublisher
from proxystore.stream.shims.redis import RedisQueueSubscriber
from proxystore.stream.shims.redis import RedisStreamSubscriber
from proxystore.stream.shims.redis import RedisSubscriber
from proxystore.stream.shims.zmq import ZeroMQPublisher
from proxystore.stream.shims.zmq import ZeroMQSubscriber
from proxystore.testing.redis import RedisServer
from proxystore.testing.redis import free_port
from proxystore.testing.stream import consume
from proxystore.testing.stream import produce

TIMEOUT = 60
CONTEXT = multiprocessing.get_context('spawn')


@pytest.fixture(scope='module')
def pool() -> Generator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(3, mp_context=CONTEXT) as pool:
        yield pool


@pytest.fixture(scope='module')
def manager() -> Generator[Any]:
    with CONTEXT.Manager() as manager:
        yield manager


def _options(kind: str, redis_options: dict[str, Any], manager: Any) -> dict[str, Any]:
    if kind == 'queue':
        return {'topic': 't', 'queue': manager.Queue()}
    if kind == 'zmq':
        return {'topic': 't', 'address': '127.0.0.1', 'port': free_port()}
    return dict(redis_options)


@pytest.mark.parametrize(
    'kind', ['queue', 'redis-pubsub', 'redis-list', 'redis-stream', 'zmq']
)
def test_stream_across_processes(
    kind: str,
    pool: ProcessPoolExecutor,
    manager: Any,
    redis_options: dict[str, Any],
    file_store: Store[Any],
) -> None:
    options = _options(kind, redis_options, manager)
    ready = manager.Event()
    consumer = pool.submit(consume, kind, options, ready=ready)
    assert ready.wait(TIMEOUT)  # subscribed: nothing published from now is lost
    producer = pool.submit(
        produce,
        kind,
        options,
        file_store.config(),
        20,
        10_000,
        batch_size=3,
        subscribers=1 if kind == 'zmq' else 0,
    )
    report = consumer.result(timeout=TIMEOUT)
    assert producer.result(timeout=TIMEOUT) != report['pid']
    assert report['indices'] == list(range(20))
    assert report['unresolved'] == 20  # proxies: each item moved when touched


def test_objects_in_the_events(
    pool: ProcessPoolExecutor, redis_options: dict[str, Any]
) -> None:
    pool.submit(produce, 'redis-list', redis_options, None, 5, 100).result(TIMEOUT)
    report = pool.submit(consume, 'redis-list', redis_options).result(TIMEOUT)
    assert report['indices'] == list(range(5))
    assert report['unresolved'] == 0  # the bytes came in the events


def test_a_topic_closed_while_being_read(
    pool: ProcessPoolExecutor,
    manager: Any,
    redis_options: dict[str, Any],
    file_store: Store[Any],
) -> None:
    ready = manager.Event()
    consumer = pool.submit(consume, 'redis-pubsub', redis_options, ready=ready)
    assert ready.wait(TIMEOUT)
    config = file_store.config()
    pool.submit(
        produce, 'redis-pubsub', redis_options, config, 10, 1000, interval=0.05
    ).result(TIMEOUT)
    assert consumer.result(timeout=TIMEOUT)['indices'] == list(range(10))


# --- Redis streams: durable, shared, at least once --------------------------------


def test_a_consumer_that_joins_late_misses_nothing(
    pool: ProcessPoolExecutor, redis_options: dict[str, Any], file_store: Store[Any]
) -> None:
    config = file_store.config()
    pool.submit(produce, 'redis-stream', redis_options, config, 12, 1000).result(
        TIMEOUT
    )
    report = pool.submit(consume, 'redis-stream', redis_options).result(TIMEOUT)
    assert report['indices'] == list(range(12))


def test_a_consumer_killed_mid_stream_resumes_with_nothing_lost(
    pool: ProcessPoolExecutor, redis_options: dict[str, Any], file_store: Store[Any]
) -> None:
    # At least once: an item may come twice, so it must outlive its first use.
    config = file_store.config()
    pool.submit(
        produce, 'redis-stream', redis_options, config, 20, 1000, evict=False
    ).result(TIMEOUT)
    options = {**redis_options, 'consumer': 'worker-1'}
    crashing = CONTEXT.Process(
        target=consume, args=('redis-stream', options), kwargs={'stop_after': 5}
    )
    crashing.start()
    crashing.join(TIMEOUT)
    assert crashing.exitcode == 3  # died after items 0..4, the 5th unacknowledged
    report = pool.submit(consume, 'redis-stream', options).result(TIMEOUT)
    assert report['indices'] == list(range(4, 20))  # item 4 again: at least once


def test_another_consumer_claims_what_a_dead_one_held(
    pool: ProcessPoolExecutor, redis_options: dict[str, Any], file_store: Store[Any]
) -> None:
    config = file_store.config()
    pool.submit(
        produce, 'redis-stream', redis_options, config, 6, 1000, evict=False
    ).result(TIMEOUT)
    dead = CONTEXT.Process(
        target=consume,
        args=('redis-stream', {**redis_options, 'consumer': 'dead'}),
        kwargs={'stop_after': 1},
    )
    dead.start()
    dead.join(TIMEOUT)
    assert dead.exitcode == 3
    options = {**redis_options, 'consumer': 'heir', 'claim_idle': 0.2}
    report = pool.submit(consume, 'redis-stream', options).result(TIMEOUT)
    assert sorted(report['indices']) == list(range(6))


def test_consumers_of_a_group_share_a_topic(
    pool: ProcessPoolExecutor,
    manager: Any,
    redis_options: dict[str, Any],
    file_store: Store[Any],
) -> None:
    readies = [manager.Event(), manager.Event()]
    consumers = [
        pool.submit(
            consume, 'redis-stream', {**redis_options, 'consumer': name}, ready=ready
        )
        for name, ready in zip(('a', 'b'), readies, strict=True)
    ]
    assert all(ready.wait(TIMEOUT) for ready in readies)  # both wait for messages
    config = file_store.config()
    pool.submit(
        produce, 'redis-stream', redis_options, config, 40, 1000, interval=0.02
    ).result(TIMEOUT)
    seen = [c.result(timeout=TIMEOUT)['indices'] for c in consumers]
    assert sorted(seen[0] + seen[1]) == list(range(40))  # each once, none lost
    assert seen[0] and seen[1]  # both did work


def test_a_poison_message_in_a_stream_is_skipped_after_its_error(
    redis_server: RedisServer, redis_options: dict[str, Any], file_store: Store[Any]
) -> None:
    topic = redis_options['topic']
    client = redis_server.client()
    client.xadd(topic, {b'm': b'\xc1 not an event'})
    client.close()
    produce('redis-stream', redis_options, file_store.config(), 2, 100)
    subscriber = RedisStreamSubscriber('127.0.0.1', redis_server.port, topic, timeout=5)
    consumer: StreamConsumer[Any] = StreamConsumer(subscriber)
    with pytest.raises(MalformedEventError, match='not msgpack'):
        consumer.next()
    assert [bytes(p)[:4] for p in consumer] == [bytes(4), (1).to_bytes(4, 'little')]
    consumer.close()


def test_an_error_while_handling_leaves_the_message_unacknowledged(
    redis_server: RedisServer, redis_options: dict[str, Any], file_store: Store[Any]
) -> None:
    produce('redis-stream', redis_options, file_store.config(), 2, 100, evict=False)
    topic, port = redis_options['topic'], redis_server.port
    with pytest.raises(RuntimeError, match='handling failed'):
        with StreamConsumer(
            RedisStreamSubscriber('127.0.0.1', port, topic, consumer='c', timeout=5)
        ) as consumer:
            consumer.next()
            raise RuntimeError('handling failed')
    again = StreamConsumer(
        RedisStreamSubscriber('127.0.0.1', port, topic, consumer='c', timeout=5)
    )
    assert len(list(again)) == 2  # the first item came again
    again.close()


def test_a_late_pubsub_consumer_finds_the_store_on_the_broker(
    redis_server: RedisServer, redis_options: dict[str, Any], file_store: Store[Any]
) -> None:
    from proxystore.stream import StreamProducer

    host, port, topic = '127.0.0.1', redis_server.port, redis_options['topic']
    producer: StreamProducer[bytes] = StreamProducer(
        RedisPublisher(host, port), stores={topic: file_store}
    )
    producer.send(topic, b'before anyone listened')  # announces the store, lost
    late: StreamConsumer[bytes] = StreamConsumer(
        RedisSubscriber(host, port, topic, timeout=5)
    )
    producer.send(topic, b'after')  # no announcement in this message
    producer.close(topics=(topic,))
    assert [bytes(p) for p in late] == [b'after']
    late.close()


def test_zmq_several_subscribers_and_topics_that_share_a_prefix() -> None:
    publisher = ZeroMQPublisher('127.0.0.1', 0)
    short = ZeroMQSubscriber('127.0.0.1', publisher.port, topic='t', timeout=5)
    longer = ZeroMQSubscriber('127.0.0.1', publisher.port, topic='tx', timeout=5)
    everything = ZeroMQSubscriber('127.0.0.1', publisher.port, timeout=5)
    publisher.wait_for_subscribers(3, timeout=10)
    publisher.send_message('tx', b'for tx')
    publisher.send_message('t', b'for t')
    assert short.next_message() == b'for t'  # "tx" does not reach "t"
    assert longer.next_message() == b'for tx'
    assert [everything.next_message() for _ in range(2)] == [b'for tx', b'for t']
    for socket in (short, longer, everything, publisher):
        socket.close()


# --- errors --------------------------------------------------------------------------


def test_malformed_messages_on_the_broker(
    redis_server: RedisServer, redis_options: dict[str, Any]
) -> None:
    client = redis_server.client()
    client.rpush(redis_options['topic'], b'\x80\x04garbage')
    client.close()
    subscriber = RedisQueueSubscriber(
        '127.0.0.1', redis_server.port, redis_options['topic'], timeout=5
    )
    with (
        StreamConsumer(subscriber) as consumer,
        pytest.raises(MalformedEventError, match='not msgpack'),
    ):
        consumer.next()


def test_an_unreachable_broker() -> None:
    port = free_port()
    with pytest.raises(BrokerError, match=f'Redis broker at 127.0.0.1:{port}'):
        RedisPublisher('127.0.0.1', port).send_message('t', b'x')
    with pytest.raises(BrokerError, match='SUBSCRIBE failed'):
        RedisSubscriber('127.0.0.1', port, 't')
    with pytest.raises(BrokerError, match='XGROUP CREATE'):
        RedisStreamSubscriber('127.0.0.1', port, 't')


def test_wrong_credentials(tmp_path: Any) -> None:
    with RedisServer(tmp_path / 'auth', password='right') as server:
        publisher = RedisPublisher('127.0.0.1', server.port, password='wrong')
        with pytest.raises(BrokerError, match='PUBLISH to "t" failed'):
            publisher.send_message('t', b'x')
        publisher.close()


@pytest.mark.parametrize('kind', ['pubsub', 'list', 'stream'])
def test_redis_subscribers_time_out(kind: str, redis_options: dict[str, Any]) -> None:
    host, port, topic = (redis_options[k] for k in ('hostname', 'port', 'topic'))
    subscriber: Any = {
        'pubsub': RedisSubscriber,
        'list': RedisQueueSubscriber,
        'stream': RedisStreamSubscriber,
    }[kind](host, port, topic, timeout=0.2)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match='No message within the timeout'):
        subscriber.next_message()
    assert time.monotonic() - start < 5
    subscriber.close()


def test_zmq_errors_and_timeouts() -> None:
    publisher = ZeroMQPublisher('127.0.0.1', 0)
    with pytest.raises(BrokerError, match='cannot bind'):
        ZeroMQPublisher('127.0.0.1', publisher.port)  # taken
    with pytest.raises(TimeoutError, match='0 of 1 subscribers'):
        publisher.wait_for_subscribers(1, timeout=0.2)
    subscriber = ZeroMQSubscriber('127.0.0.1', publisher.port, timeout=0.2)
    with pytest.raises(TimeoutError, match='No message within 0.2 s'):
        subscriber.next_message()
    subscriber.close()
    publisher.close()


def _in_a_forked_child(use: Any) -> str:
    """Run ``use()`` in a forked child; what it raised, as text."""
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave, touching nothing else
        os.close(read)
        try:
            use()
            message = 'no error'
        except BaseException as error:
            message = f'{type(error).__name__}: {error}'
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, 'rb') as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def test_a_forked_child_cannot_use_a_parents_pubsub(redis_server: RedisServer) -> None:
    from proxystore.stream.shims.redis import RedisSubscriber

    subscriber = RedisSubscriber('127.0.0.1', redis_server.port, 'forked', timeout=2)
    try:
        message = _in_a_forked_child(subscriber.next_message)
        assert message.startswith('BrokerError: this RedisSubscriber was made in')
        assert 'a forked child cannot use its connection' in message
    finally:
        subscriber.close()


def test_a_forked_child_cannot_use_a_parents_zeromq_sockets() -> None:
    from proxystore.stream.shims.zmq import ZeroMQPublisher
    from proxystore.stream.shims.zmq import ZeroMQSubscriber

    publisher = ZeroMQPublisher('127.0.0.1', 0)
    subscriber = ZeroMQSubscriber('127.0.0.1', publisher.port, timeout=2)
    try:
        sent = _in_a_forked_child(lambda: publisher.send_message('t', b'x'))
        read = _in_a_forked_child(subscriber.next_message)
        assert sent.startswith('BrokerError: this ZeroMQPublisher was made in')
        assert read.startswith('BrokerError: this ZeroMQSubscriber was made in')
    finally:
        subscriber.close()
        publisher.close()
