"""Redis as the broker: pub/sub, lists (a queue) and streams (consumer groups).

- pub/sub (`RedisPublisher`, `RedisSubscriber`): at most once; every
  subscriber gets every message published while it is subscribed;
- lists (`RedisQueuePublisher`, `RedisQueueSubscriber`): at most once;
  subscribers share the queued messages, late ones get what is still queued;
- streams (`RedisStreamPublisher`, `RedisStreamSubscriber`): at least once;
  the consumers of a group share the messages, a group that starts late reads
  from the beginning, and a message not acknowledged (its consumer crashed) is
  delivered again.

Errors of the server or the connection raise `BrokerError`, naming the server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time
from collections.abc import Generator
from collections.abc import Sequence
from typing import Any

import msgpack
import redis

from proxystore.stream.exceptions import BrokerError
from proxystore.stream.exceptions import MalformedEventError

__all__ = [
    'RedisPublisher',
    'RedisQueuePublisher',
    'RedisQueueSubscriber',
    'RedisStreamPublisher',
    'RedisStreamSubscriber',
    'RedisSubscriber',
]

_POLL = 1.0  # seconds per blocking call, so timeouts and ends are noticed


class _Client:
    """A redis-py client whose errors are `BrokerError`s naming the server."""

    def __init__(self, hostname: str, port: int, kwargs: dict[str, Any]) -> None:
        self.where = f'Redis broker at {hostname}:{port}'
        kwargs.setdefault('socket_connect_timeout', 5.0)
        self.client = redis.Redis(host=hostname, port=port, **kwargs)

    @contextlib.contextmanager
    def errors(self, operation: str) -> Generator[None]:
        try:
            yield
        except redis.exceptions.RedisError as e:
            raise BrokerError(f'{self.where}: {operation} failed: {e}') from e

    def close(self) -> None:
        self.client.close()


def _stores_key(topic: str) -> str:
    return f'{topic}:proxystore-stores'


def _announce(client: _Client, topic: str, store_id: str, descriptor: Any) -> None:
    """Keep a store's description beside the topic, for consumers that join late."""
    packed = msgpack.packb(descriptor, use_bin_type=True)
    with client.errors(f'keeping the stores of "{topic}"'):
        client.client.hset(_stores_key(topic), store_id, packed)


def _lookup(client: _Client, topic: str, store_id: str) -> dict[str, Any] | None:
    """The description of a topic's store kept on the broker, if any."""
    with client.errors(f'reading the stores of "{topic}"'):
        packed = client.client.hget(_stores_key(topic), store_id)
    if packed is None:
        return None
    try:
        descriptor = msgpack.unpackb(packed, raw=False, strict_map_key=True)
    except Exception as e:
        raise MalformedEventError(
            f'The description of store {store_id} of "{topic}" is not msgpack: {e}',
        ) from e
    if not isinstance(descriptor, dict):
        raise MalformedEventError(
            f'The description of store {store_id} of "{topic}" is not a map.',
        )
    return descriptor


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _remaining(deadline: float | None, what: str) -> float:
    """Seconds for the next blocking call; `TimeoutError` once the deadline passed."""
    if deadline is None:
        return _POLL
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f'No message within the timeout ({what}).')
    return min(left, _POLL)


# --- pub/sub ---------------------------------------------------------------------


class RedisPublisher:
    """Publishes messages on Redis pub/sub channels (one per topic).

    Args:
        hostname: Server host.
        port: Server port.
        kwargs: More options of `redis.Redis` (password, ssl...).
    """

    def __init__(self, hostname: str, port: int, **kwargs: Any) -> None:
        self._redis = _Client(hostname, port, kwargs)

    def send_message(self, topic: str, message: bytes) -> None:
        """PUBLISH the message on the topic's channel."""
        with self._redis.errors(f'PUBLISH to "{topic}"'):
            self._redis.client.publish(topic, message)

    def announce_store(
        self, topic: str, store_id: str, descriptor: dict[str, Any]
    ) -> None:
        """Keep a store's description on the server, for late consumers."""
        _announce(self._redis, topic, store_id, descriptor)

    def close(self) -> None:
        """Close the connection."""
        self._redis.close()


class RedisSubscriber:
    """Receives the messages of Redis pub/sub channels.

    The subscription is in place when the constructor returns: every message
    published after that is received (none before).

    Args:
        hostname: Server host.
        port: Server port.
        topic: Topic or topics to subscribe to.
        timeout: Seconds `next_message` waits (``None``: as long as it takes).
        kwargs: More options of `redis.Redis`.

    Raises:
        BrokerError: If the server cannot be reached.
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        topic: str | Sequence[str],
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.topics = [topic] if isinstance(topic, str) else list(topic)
        self.timeout = timeout
        self._redis = _Client(hostname, port, kwargs)
        self._pubsub = self._redis.client.pubsub()  # type: ignore[no-untyped-call]
        with self._redis.errors('SUBSCRIBE'):
            self._pubsub.subscribe(*self.topics)
            confirmed = 0
            deadline = time.monotonic() + 30
            while confirmed < len(self.topics) and time.monotonic() < deadline:
                reply = self._pubsub.get_message(timeout=_POLL)
                if reply is not None and reply['type'] == 'subscribe':
                    confirmed += 1
        if confirmed < len(self.topics):
            self.close()
            raise BrokerError(f'{self._redis.where}: SUBSCRIBE was not confirmed.')

    def __iter__(self) -> RedisSubscriber:
        return self

    def __next__(self) -> bytes:
        return self.next_message()

    def next_message(self) -> bytes:
        """The next message of any subscribed topic.

        Raises:
            TimeoutError: If none comes within the timeout.
            BrokerError: If the connection breaks.
        """
        deadline = _deadline(self.timeout)
        while True:
            wait = _remaining(deadline, f'pub/sub {self.topics}')
            with self._redis.errors('reading pub/sub messages'):
                reply = self._pubsub.get_message(timeout=wait)
            if reply is not None and reply['type'] == 'message':
                data: bytes = reply['data']
                return data

    def store_descriptor(self, topic: str, store_id: str) -> dict[str, Any] | None:
        """The description of a topic's store kept on the server, if any."""
        return _lookup(self._redis, topic, store_id)

    def close(self) -> None:
        """Unsubscribe and close the connection."""
        with contextlib.suppress(redis.exceptions.RedisError):
            self._pubsub.close()
        self._redis.close()


# --- lists -----------------------------------------------------------------------


class RedisQueuePublisher:
    """Appends messages to Redis lists (one per topic): a queue.

    Args:
        hostname: Server host.
        port: Server port.
        kwargs: More options of `redis.Redis`.
    """

    def __init__(self, hostname: str, port: int, **kwargs: Any) -> None:
        self._redis = _Client(hostname, port, kwargs)

    def send_message(self, topic: str, message: bytes) -> None:
        """RPUSH the message to the topic's list."""
        with self._redis.errors(f'RPUSH to "{topic}"'):
            self._redis.client.rpush(topic, message)

    def announce_store(
        self, topic: str, store_id: str, descriptor: dict[str, Any]
    ) -> None:
        """Keep a store's description on the server, for late consumers."""
        _announce(self._redis, topic, store_id, descriptor)

    def close(self) -> None:
        """Close the connection."""
        self._redis.close()


class RedisQueueSubscriber:
    """Pops messages from a Redis list; several subscribers share them.

    Args:
        hostname: Server host.
        port: Server port.
        topic: The topic (the list).
        timeout: Seconds `next_message` waits (``None``: as long as it takes).
        kwargs: More options of `redis.Redis`.
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        topic: str,
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.topic = topic
        self.timeout = timeout
        self._redis = _Client(hostname, port, kwargs)

    def __iter__(self) -> RedisQueueSubscriber:
        return self

    def __next__(self) -> bytes:
        return self.next_message()

    def next_message(self) -> bytes:
        """Pop the next message (BLPOP).

        Raises:
            TimeoutError: If none comes within the timeout.
            BrokerError: If the server fails.
        """
        deadline = _deadline(self.timeout)
        while True:
            wait = _remaining(deadline, f'list "{self.topic}"')
            with self._redis.errors(f'BLPOP from "{self.topic}"'):
                reply: Any = self._redis.client.blpop([self.topic], timeout=wait)
            if reply is not None:
                data: bytes = reply[1]
                return data

    def store_descriptor(self, topic: str, store_id: str) -> dict[str, Any] | None:
        """The description of a topic's store kept on the server, if any."""
        return _lookup(self._redis, topic, store_id)

    def close(self) -> None:
        """Close the connection."""
        self._redis.close()


# --- streams ---------------------------------------------------------------------

_FIELD = b'm'


def _end_key(topic: str) -> str:
    return f'{topic}:proxystore-end'


def _stream_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    milliseconds, _, sequence = text.partition('-')
    return int(milliseconds), int(sequence or 0)


class RedisStreamPublisher:
    """Appends messages to Redis streams (one per topic).

    A stream keeps its messages (up to ``maxlen``), so consumers that join
    late read them, and consumer groups share them with acknowledgements.

    Args:
        hostname: Server host.
        port: Server port.
        maxlen: Keep about this many messages per stream (``None``: all).
        kwargs: More options of `redis.Redis`.
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        *,
        maxlen: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.maxlen = maxlen
        self._redis = _Client(hostname, port, kwargs)
        self._last: dict[str, bytes] = {}

    def send_message(self, topic: str, message: bytes) -> None:
        """XADD the message to the topic's stream."""
        with self._redis.errors(f'XADD to "{topic}"'):
            self._last[topic] = self._redis.client.xadd(  # type: ignore[assignment]
                topic,
                {_FIELD: message},
                maxlen=self.maxlen,
                approximate=True,
            )

    def end_topic(self, topic: str) -> None:
        """Mark the topic's end, so every consumer of a group stops after it."""
        last = self._last.get(topic)
        if last is not None:
            with self._redis.errors(f'marking the end of "{topic}"'):
                self._redis.client.set(_end_key(topic), last)

    def announce_store(
        self, topic: str, store_id: str, descriptor: dict[str, Any]
    ) -> None:
        """Keep a store's description on the server, for late consumers."""
        _announce(self._redis, topic, store_id, descriptor)

    def close(self) -> None:
        """Close the connection."""
        self._redis.close()


class RedisStreamSubscriber:
    """Reads a Redis stream as a member of a consumer group: at least once.

    Consumers of one group share the stream's messages; each group gets every
    message. A new group starts at ``start`` (``'0'``: the first message kept,
    so a consumer that joins late misses nothing). A message is acknowledged
    when the next one is asked for (or at `close`): a consumer that dies before
    gets it again when it restarts under the same ``consumer`` name, or another
    consumer claims it after ``claim_idle`` seconds.

    Iteration ends once the producer ended the topic and the group has been
    given every message up to the end.

    Args:
        hostname: Server host.
        port: Server port.
        topic: The topic (the stream).
        group: The consumer group.
        consumer: This consumer's name in the group (a unique one by default;
            give a stable name to resume after a crash).
        start: Where a new group starts: ``'0'`` (the beginning) or ``'$'``
            (only new messages).
        timeout: Seconds `next_message` waits (``None``: as long as it takes).
        claim_idle: Claim messages that another consumer of the group has not
            acknowledged for this many seconds (``None``: never).
        kwargs: More options of `redis.Redis`.

    Raises:
        BrokerError: If the server cannot be reached or refuses the group.
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        topic: str,
        *,
        group: str = 'proxystore',
        consumer: str | None = None,
        start: str = '0',
        timeout: float | None = None,
        claim_idle: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.topic = topic
        self.group = group
        self.consumer = consumer or (
            f'{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}'
        )
        self.timeout = timeout
        self.claim_idle = claim_idle
        self._redis = _Client(hostname, port, kwargs)
        self._unacked: bytes | None = None
        self._held: tuple[bytes, bytes] | None = None  # the last message, held back
        self._own_pending = True  # first, what this consumer was given before
        with self._redis.errors(f'XGROUP CREATE "{group}" on "{topic}"'):
            try:
                self._redis.client.xgroup_create(topic, group, id=start, mkstream=True)
            except redis.exceptions.ResponseError as e:
                if 'BUSYGROUP' not in str(e):
                    raise

    def __iter__(self) -> RedisStreamSubscriber:
        return self

    def __next__(self) -> bytes:
        return self.next_message()

    def _ack(self) -> None:
        if self._unacked is not None:
            with self._redis.errors(f'XACK on "{self.topic}"'):
                self._redis.client.xack(self.topic, self.group, self._unacked)
            self._unacked = None

    def _read(self, stream_id: str, block: int | None) -> tuple[bytes, bytes] | None:
        with self._redis.errors(f'XREADGROUP on "{self.topic}"'):
            reply: Any = self._redis.client.xreadgroup(
                self.group,
                self.consumer,
                {self.topic: stream_id},
                count=1,
                block=block,
            )
        for _, entries in reply or ():
            for entry_id, fields in entries:
                if fields and _FIELD in fields:
                    return entry_id, fields[_FIELD]
                # Trimmed away while pending: nothing to deliver, acknowledge it.
                self._redis.client.xack(self.topic, self.group, entry_id)
        return None

    def _claim(self) -> tuple[bytes, bytes] | None:
        if self.claim_idle is None:
            return None
        with self._redis.errors(f'XAUTOCLAIM on "{self.topic}"'):
            reply: Any = self._redis.client.xautoclaim(
                self.topic,
                self.group,
                self.consumer,
                min_idle_time=int(self.claim_idle * 1000),
                start_id='0-0',
                count=1,
            )
        for entry_id, fields in reply[1]:
            if fields and _FIELD in fields:
                return entry_id, fields[_FIELD]
        return None

    def _is_last(self, entry_id: bytes) -> bool:
        """Whether this is the topic's last message (with a claimer, held back)."""
        if self.claim_idle is None:
            return False
        with self._redis.errors(f'checking the end of "{self.topic}"'):
            end = self._redis.client.get(_end_key(self.topic))
        return end is not None and _stream_id(entry_id) >= _stream_id(end)

    def _drained(self) -> bool:
        """Whether nothing but the held message is pending in the group."""
        with self._redis.errors(f'XPENDING on "{self.topic}"'):
            summary: Any = self._redis.client.xpending(self.topic, self.group)
        return int(summary['pending']) <= 1

    def _ended(self) -> bool:
        """Whether the topic ended and the group was given every message to its end.

        A consumer that claims messages also waits until none is pending, since
        a message of a consumer that died may still come its way.
        """
        with self._redis.errors(f'checking the end of "{self.topic}"'):
            end = self._redis.client.get(_end_key(self.topic))
            if end is None:
                return False
            for info in self._redis.client.xinfo_groups(self.topic):
                if info['name'] in (self.group, self.group.encode()):
                    delivered = info['last-delivered-id']
                    if _stream_id(delivered) < _stream_id(end):
                        return False
                    return self.claim_idle is None or not info['pending']
        return False

    def next_message(self) -> bytes:
        """The next message of the group for this consumer.

        Acknowledges the previous one first.

        Raises:
            StopIteration: Once the topic ended and every message was delivered.
            TimeoutError: If none comes within the timeout.
            BrokerError: If the server fails.
        """
        self._ack()
        if self._own_pending:
            entry = self._read('0', None)  # delivered here before, not acknowledged
            if entry is not None:
                self._unacked = entry[0]
                return entry[1]
            self._own_pending = False
        deadline = _deadline(self.timeout)
        while True:
            entry = self._claim()
            if (
                entry is not None
                and self._held is not None
                and entry[0] == self._held[0]
            ):
                entry = None  # the held message itself, idle while held
            if entry is None and self._held is None:
                entry = self._read(
                    '>', int(_remaining(deadline, f'stream "{self.topic}"') * 1000)
                )
                if entry is not None and self._is_last(entry[0]):
                    # The end: first claim what dead consumers left pending.
                    self._held, entry = entry, None
            elif entry is None:
                time.sleep(_remaining(deadline, f'stream "{self.topic}"') / 10)
            if entry is None and self._held is not None and self._drained():
                entry, self._held = self._held, None
            if entry is not None:
                self._unacked = entry[0]
                return entry[1]
            if self._held is None and self._ended():
                raise StopIteration

    def store_descriptor(self, topic: str, store_id: str) -> dict[str, Any] | None:
        """The description of a topic's store kept on the server, if any."""
        return _lookup(self._redis, topic, store_id)

    def close(self) -> None:
        """Acknowledge the last message and close the connection."""
        with contextlib.suppress(BrokerError):
            self._ack()
        self._redis.close()
