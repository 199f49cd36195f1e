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
from proxystore.stream.protocols import single_reader_flag
from proxystore.stream.shims._process import ProcessBound

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
        # Blocking commands here wait at most a second: a longer silence is a
        # dead connection, not a quiet topic.
        kwargs.setdefault('socket_timeout', 30.0)
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


class _Publisher:
    """What every Redis publisher shares: its client, stores kept on the server."""

    def __init__(self, hostname: str, port: int, **kwargs: Any) -> None:
        self._redis = _Client(hostname, port, kwargs)

    def announce_store(
        self, topic: str, store_id: str, descriptor: dict[str, Any]
    ) -> None:
        """Keep a store's description on the server, for late consumers."""
        _announce(self._redis, topic, store_id, descriptor)

    def close(self) -> None:
        """Close the connection."""
        self._redis.close()


# --- pub/sub ---------------------------------------------------------------------


class RedisPublisher(_Publisher):
    """Publishes messages on Redis pub/sub channels (one per topic).

    Args:
        hostname: Server host.
        port: Server port.
        fans_out: ``False`` only if exactly one subscriber reads the topic,
            and reads each message once: its consumer then evicts objects
            sent with ``evict=True`` after use (both ends must say so).
        kwargs: More options of `redis.Redis` (password, ssl...).
    """

    fans_out = True
    """Every subscriber of the channel gets every message."""

    def __init__(
        self, hostname: str, port: int, *, fans_out: bool = True, **kwargs: Any
    ) -> None:
        self.fans_out = single_reader_flag(fans_out)
        super().__init__(hostname, port, **kwargs)

    def send_message(self, topic: str, message: bytes) -> None:
        """PUBLISH the message on the topic's channel."""
        with self._redis.errors(f'PUBLISH to "{topic}"'):
            self._redis.client.publish(topic, message)


class RedisSubscriber(ProcessBound):
    """Receives the messages of Redis pub/sub channels.

    The subscription is in place when the constructor returns: every message
    published after that is received (none before).

    Args:
        hostname: Server host.
        port: Server port.
        topic: Topic or topics to subscribe to.
        timeout: Seconds `next_message` waits (``None``: as long as it takes).
        fans_out: ``False`` only if exactly one subscriber reads the topic,
            and reads each message once: its consumer then evicts objects
            sent with ``evict=True`` after use (both ends must say so).
        kwargs: More options of `redis.Redis`.

    Raises:
        BrokerError: If the server cannot be reached.
    """

    fans_out = True
    """Every subscriber of the channel gets every message."""

    def __init__(
        self,
        hostname: str,
        port: int,
        topic: str | Sequence[str],
        *,
        timeout: float | None = None,
        fans_out: bool = True,
        **kwargs: Any,
    ) -> None:
        self.fans_out = single_reader_flag(fans_out)
        self.topics = [topic] if isinstance(topic, str) else list(topic)
        self.timeout = timeout
        self._bind_to_this_process()
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
            BrokerError: If the connection breaks, or this subscriber was made
                in another process (a forked child must make its own).
        """
        self._check_process()
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


class RedisQueuePublisher(_Publisher):
    """Appends messages to Redis lists (one per topic): a queue.

    Args:
        hostname: Server host.
        port: Server port.
        kwargs: More options of `redis.Redis`.
    """

    fans_out = False
    """Each message is popped by one subscriber, once."""

    def send_message(self, topic: str, message: bytes) -> None:
        """RPUSH the message to the topic's list."""
        with self._redis.errors(f'RPUSH to "{topic}"'):
            self._redis.client.rpush(topic, message)


class RedisQueueSubscriber:
    """Pops messages from a Redis list; several subscribers share them.

    Args:
        hostname: Server host.
        port: Server port.
        topic: The topic (the list).
        timeout: Seconds `next_message` waits (``None``: as long as it takes).
        kwargs: More options of `redis.Redis`.
    """

    fans_out = False
    """Each message is popped by one subscriber, once."""

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

_FIELD = b'm'  # a message
_END = b'end'  # the end of a topic: an entry of its own, after its last message


def _stream_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    milliseconds, _, sequence = text.partition('-')
    return int(milliseconds), int(sequence or 0)


class RedisStreamPublisher(_Publisher):
    """Appends messages to Redis streams (one per topic).

    A stream keeps its messages (up to ``maxlen``), so consumers that join
    late read them, and consumer groups share them with acknowledgements. The
    end of a topic is an entry of its own, so every consumer of a group learns
    of it.

    Args:
        hostname: Server host.
        port: Server port.
        maxlen: Keep about this many messages per stream (``None``: all).
        fans_out: ``False`` only if exactly one subscriber reads the topic,
            and reads each message once: its consumer then evicts objects
            sent with ``evict=True`` after use (both ends must say so).
        kwargs: More options of `redis.Redis`.
    """

    fans_out = True
    """Every group gets every message, and one not acknowledged comes again."""

    def __init__(
        self,
        hostname: str,
        port: int,
        *,
        maxlen: int | None = None,
        fans_out: bool = True,
        **kwargs: Any,
    ) -> None:
        self.fans_out = single_reader_flag(fans_out)
        super().__init__(hostname, port, **kwargs)
        self.maxlen = maxlen

    def send_message(self, topic: str, message: bytes) -> None:
        """XADD the message to the topic's stream."""
        with self._redis.errors(f'XADD to "{topic}"'):
            self._redis.client.xadd(
                topic, {_FIELD: message}, maxlen=self.maxlen, approximate=True
            )

    def end_topic(self, topic: str, message: bytes) -> None:
        """XADD the topic's last message (its end), marked as the end."""
        with self._redis.errors(f'XADD the end of "{topic}"'):
            self._redis.client.xadd(topic, {_FIELD: message, _END: b'1'})


class RedisStreamSubscriber:
    """Reads a Redis stream as a member of a consumer group: at least once.

    Consumers of one group share the stream's messages; each group gets every
    message. A new group starts at ``start`` (``'0'``: the first message kept,
    so a consumer that joins late misses nothing). A message is acknowledged
    when the next one is asked for, or at `close` (not by `abandon`): a consumer
    that dies before gets it again when it restarts under the same ``consumer``
    name, or another consumer claims it after ``claim_idle`` seconds.

    Iteration ends at the topic's end, once the group has been given every
    message before it (and, for a consumer that claims, once none is pending).

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
        fans_out: ``False`` only if exactly one subscriber reads the topic,
            and reads each message once: its consumer then evicts objects
            sent with ``evict=True`` after use (both ends must say so).
        kwargs: More options of `redis.Redis`.

    Raises:
        BrokerError: If the server cannot be reached or refuses the group.
    """

    fans_out = True
    """Every group gets every message, and one not acknowledged comes again."""

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
        fans_out: bool = True,
        **kwargs: Any,
    ) -> None:
        self.fans_out = single_reader_flag(fans_out)
        self.topic = topic
        self.group = group
        self.consumer = consumer or (
            f'{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}'
        )
        self.timeout = timeout
        self.claim_idle = claim_idle
        self._redis = _Client(hostname, port, kwargs)
        self._unacked: bytes | None = None
        self._end: bytes | None = None  # the end entry, once this consumer has it
        self._end_message: bytes | None = None
        self._own_pending = True  # first, what this consumer was given before
        self._claim_cursor = '0-0'
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

    @property
    def _client(self) -> Any:
        return self._redis.client

    def _ack(self, entry_id: bytes | None) -> None:
        if entry_id is not None:
            with self._redis.errors(f'XACK on "{self.topic}"'):
                self._client.xack(self.topic, self.group, entry_id)

    def _entry(self, entry_id: bytes, fields: Any) -> bytes | None:
        """The message of an entry; the end is held back; gone ones are acknowledged."""
        if fields and _END in fields:
            self._end, self._end_message = entry_id, fields.get(_FIELD)
            return None
        if fields and _FIELD in fields:
            message: bytes = fields[_FIELD]
            return message
        self._ack(entry_id)  # trimmed away while pending: nothing left to deliver
        return None

    def _read(self, stream_id: str, block: int | None) -> tuple[bytes, bytes] | None:
        """The next entry with a message (``stream_id``: '0' pending, '>' new)."""
        for _ in range(10_000):  # past any trimmed entries, boundedly
            with self._redis.errors(f'XREADGROUP on "{self.topic}"'):
                reply: Any = self._client.xreadgroup(
                    self.group,
                    self.consumer,
                    {self.topic: stream_id},
                    count=1,
                    block=block,
                )
            entries = [e for _, stream in reply or () for e in stream]
            if not entries:
                return None
            entry_id, fields = entries[0]
            message = self._entry(entry_id, fields)
            if message is not None:
                return entry_id, message
            if self._end is not None or (stream_id == '0' and entry_id == self._end):
                return None
        return None

    def _claim(self) -> tuple[bytes, bytes] | None:
        """A message another consumer left unacknowledged for ``claim_idle`` s."""
        if self.claim_idle is None:
            return None
        with self._redis.errors(f'XAUTOCLAIM on "{self.topic}"'):
            reply: Any = self._client.xautoclaim(
                self.topic,
                self.group,
                self.consumer,
                min_idle_time=int(self.claim_idle * 1000),
                start_id=self._claim_cursor,
                count=10,
            )
        cursor = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
        self._claim_cursor = cursor or '0-0'
        found = None
        for entry_id, fields in reply[1]:
            if entry_id == self._end:
                continue
            message = self._entry(entry_id, fields)
            if message is not None and found is None:
                found = (entry_id, message)
            elif message is not None:
                # Claimed beyond the first: hand them back to be claimed later.
                self._client.xclaim(
                    self.topic, self.group, self.consumer, 0, [entry_id], idle=0
                )
        return found

    def _group(self) -> dict[str, Any]:
        with self._redis.errors(f'XINFO GROUPS on "{self.topic}"'):
            for info in self._client.xinfo_groups(self.topic):
                if info['name'] in (self.group, self.group.encode()):
                    return info  # type: ignore[no-any-return]
        return {}

    def _ended(self) -> bool:
        """Whether the group was given everything up to the topic's end.

        A consumer that claims also waits until nothing but the end is pending,
        since a message of a consumer that died may still come its way.
        """
        if self._end is None:
            with self._redis.errors(f'XREVRANGE on "{self.topic}"'):
                last = self._client.xrevrange(self.topic, count=1)
            if not last or _END not in (last[0][1] or {}):
                return False
            if _stream_id(self._group().get('last-delivered-id', '0-0')) < (
                _stream_id(last[0][0])
            ):
                return False
            end_id = last[0][0]
        else:
            end_id = self._end
        if self.claim_idle is None:
            return True
        pending = int(self._group().get('pending', 0))
        if self._end is not None:
            # Keep our hold on the end fresh, so no one else claims it meanwhile.
            self._client.xclaim(self.topic, self.group, self.consumer, 0, [end_id])
            pending -= 1
        return pending <= 0

    def next_message(self) -> bytes:
        """The next message of the group for this consumer.

        Acknowledges the previous one first.

        Raises:
            StopIteration: At the topic's end (see the class).
            TimeoutError: If none comes within the timeout.
            BrokerError: If the server fails.
        """
        self._ack(self._unacked)
        self._unacked = None
        if self._own_pending:
            entry = self._read('0', None)  # delivered here before, not acknowledged
            if entry is not None:
                self._unacked = entry[0]
                return entry[1]
            self._own_pending = False
        deadline = _deadline(self.timeout)
        while True:
            wait = _remaining(deadline, f'stream "{self.topic}"')
            entry = self._claim()
            if entry is None and self._end is None:
                entry = self._read('>', max(1, int(wait * 1000)))
            elif entry is None:
                time.sleep(wait / 10)
            if entry is not None:
                self._unacked = entry[0]
                return entry[1]
            if self._ended():
                if self._end is not None and self._end_message is not None:
                    # Deliver the end last; it is acknowledged like a message.
                    self._unacked, message = self._end, self._end_message
                    self._end_message = None
                    return message
                self._ack(self._end)
                raise StopIteration

    def store_descriptor(self, topic: str, store_id: str) -> dict[str, Any] | None:
        """The description of a topic's store kept on the server, if any."""
        return _lookup(self._redis, topic, store_id)

    def abandon(self) -> None:
        """Close without acknowledging the last message (it was not handled)."""
        self._unacked = None
        self._redis.close()

    def close(self) -> None:
        """Acknowledge the last message and close the connection."""
        with contextlib.suppress(BrokerError):
            self._ack(self._unacked)
        self._unacked = None
        self._redis.close()
