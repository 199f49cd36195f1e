"""Mailboxes: where messages to actors, hosts and callers wait to be read.

One protocol, `Mailbox`, and its implementations: `LocalMailbox` (one
process: threads and async code) and `RedisMailbox` (Redis Streams: any
process that reaches the server). A mailbox is addressed by strings; a
reader takes messages with `receive`, which leaves them pending until
`ack`: a reader that dies before acknowledging does not lose them, the next
reader of that address takes them again (at-least-once delivery).

`proxystore.testing.mailbox_contract.MailboxContract` is the suite every
implementation passes.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import Protocol
from typing import runtime_checkable

from proxystore.actors.exceptions import MailboxError

__all__ = ['Envelope', 'LocalMailbox', 'Mailbox', 'RedisMailbox', 'mailbox_from_config']


class Envelope(NamedTuple):
    """A message taken from a mailbox, not yet acknowledged."""

    address: str
    """The address it was sent to."""
    id: str
    """Its id in that mailbox (for `Mailbox.ack`)."""
    data: bytes
    """The message's bytes."""


@runtime_checkable
class Mailbox(Protocol):
    """Addresses that hold messages until a reader acknowledges them."""

    def create(self, address: str) -> None:
        """Make ``address`` exist (nothing if it does)."""
        ...

    def delete(self, address: str) -> None:
        """Remove ``address`` and its messages; sends to it then fail."""
        ...

    def exists(self, address: str) -> bool:
        """Whether ``address`` exists."""
        ...

    def send(self, address: str, data: bytes) -> None:
        """Append ``data`` to ``address``.

        Raises:
            MailboxError: If ``address`` does not exist, or the mailbox's
                server cannot be reached.
        """
        ...

    def receive(
        self, addresses: Sequence[str], *, reader: str, count: int, timeout: float
    ) -> list[Envelope]:
        """Up to ``count`` messages of ``addresses``, oldest first per address.

        Messages taken by another reader and never acknowledged for
        `reclaim_after` seconds are taken again. Waits up to ``timeout``
        seconds for the first message; returns ``[]`` if none came.
        """
        ...

    def ack(self, envelopes: Sequence[Envelope]) -> None:
        """Drop ``envelopes``: they were handled."""
        ...

    def config(self) -> dict[str, Any]:
        """What `mailbox_from_config` needs to reach this mailbox elsewhere."""
        ...

    def close(self) -> None:
        """Release the mailbox's connections."""
        ...


def _check_address(address: str) -> str:
    if not isinstance(address, str) or not address or len(address) > 200:
        raise ValueError(
            f'A mailbox address is a string of 1 to 200 characters: {address!r}'
        )
    return address


class _LocalAddress:
    __slots__ = ('messages', 'pending')

    def __init__(self) -> None:
        self.messages: collections.deque[tuple[str, bytes]] = collections.deque()
        self.pending: dict[str, tuple[bytes, float]] = {}


_LOCAL: dict[str, tuple[threading.Condition, dict[str, _LocalAddress]]] = {}
_LOCAL_LOCK = threading.Lock()
# Ids of messages, unique in the process: every mailbox of a name sends to the
# same addresses. A C iterator: a thread in the middle of `next` when another
# forks leaves no generator marked running in the child.
_LOCAL_IDS = itertools.count()
# Every local mailbox of the process, given its name's new condition in a child.
_LOCAL_MAILBOXES: weakref.WeakSet[LocalMailbox] = weakref.WeakSet()


def _renew_local_locks_in_child() -> None:
    # A thread of the parent (a reader in `receive`, a sender) may have held
    # the lock of the names or a name's condition when another thread forked:
    # the child has only the forking thread, so new ones. The messages stay.
    global _LOCAL_LOCK
    _LOCAL_LOCK = threading.Lock()
    for name, (_, addresses) in list(_LOCAL.items()):
        _LOCAL[name] = (threading.Condition(), addresses)
    for mailbox in list(_LOCAL_MAILBOXES):
        mailbox._condition = _LOCAL[mailbox.name][0]


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_local_locks_in_child)


class LocalMailbox:
    """A mailbox in this process's memory (threads and async code of one process).

    Mailboxes of the same ``name`` share their addresses, so a handle
    unpickled in the same process reaches the actor.

    Args:
        name: The mailbox's name in this process.
        reclaim_after: Seconds after which a taken, unacknowledged message is
            taken again.
    """

    def __init__(self, name: str = 'default', *, reclaim_after: float = 30.0) -> None:
        self.name = name
        self.reclaim_after = reclaim_after
        with _LOCAL_LOCK:
            if name not in _LOCAL:
                _LOCAL[name] = (threading.Condition(), {})
            self._condition, self._addresses = _LOCAL[name]
            _LOCAL_MAILBOXES.add(self)

    def create(self, address: str) -> None:
        """Make ``address`` exist."""
        with self._condition:
            self._addresses.setdefault(_check_address(address), _LocalAddress())

    def delete(self, address: str) -> None:
        """Remove ``address`` and its messages."""
        with self._condition:
            self._addresses.pop(address, None)

    def exists(self, address: str) -> bool:
        """Whether ``address`` exists."""
        with self._condition:
            return address in self._addresses

    def send(self, address: str, data: bytes) -> None:
        """Append ``data`` to ``address``."""
        with self._condition:
            box = self._addresses.get(address)
            if box is None:
                raise MailboxError(f'Mailbox address {address!r} does not exist.')
            box.messages.append((str(next(_LOCAL_IDS)), bytes(data)))
            self._condition.notify_all()

    def receive(
        self, addresses: Sequence[str], *, reader: str, count: int, timeout: float
    ) -> list[Envelope]:
        """Up to ``count`` messages of ``addresses`` (see `Mailbox.receive`)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = self._take(addresses, count)
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._condition.wait(min(remaining, 0.1))

    def _take(self, addresses: Sequence[str], count: int) -> list[Envelope]:
        found: list[Envelope] = []
        now = time.monotonic()
        for address in addresses:
            box = self._addresses.get(address)
            if box is None:
                continue
            for message_id, (data, taken) in list(box.pending.items()):
                if len(found) < count and now - taken > self.reclaim_after:
                    box.pending[message_id] = (data, now)
                    found.append(Envelope(address, message_id, data))
            while box.messages and len(found) < count:
                message_id, data = box.messages.popleft()
                box.pending[message_id] = (data, now)
                found.append(Envelope(address, message_id, data))
        return found

    def ack(self, envelopes: Sequence[Envelope]) -> None:
        """Drop handled messages."""
        with self._condition:
            for envelope in envelopes:
                box = self._addresses.get(envelope.address)
                if box is not None:
                    box.pending.pop(envelope.id, None)

    def config(self) -> dict[str, Any]:
        """The mailbox's kind and name."""
        return {'kind': 'local', 'name': self.name, 'reclaim_after': self.reclaim_after}

    def close(self) -> None:
        """Nothing to release."""


class RedisMailbox:
    """A mailbox in Redis Streams: one stream and one consumer group per address.

    ``send`` is one ``XADD NOMKSTREAM`` (one round trip, and a send to an
    address that does not exist fails instead of making it); ``receive``
    claims messages idle longer than ``reclaim_after`` (their reader died)
    and then reads new ones with one blocking ``XREADGROUP`` over all the
    addresses; ``ack`` is ``XACK`` and
    ``XDEL`` in one round trip.

    Args:
        host: The Redis server's host.
        port: Its port.
        prefix: Prefix of every key this mailbox makes.
        reclaim_after: Seconds after which a taken, unacknowledged message is
            taken again by the next reader.
        kwargs: Further options of `redis.Redis` (``password``, ``ssl``...).
    """

    GROUP = 'proxystore-actors'

    def __init__(
        self,
        host: str = '127.0.0.1',
        port: int = 6379,
        *,
        prefix: str = 'proxystore:actors',
        reclaim_after: float = 30.0,
        **kwargs: Any,
    ) -> None:
        import redis

        self.host = host
        self.port = port
        self.prefix = prefix
        self.reclaim_after = reclaim_after
        self._kwargs = kwargs
        self._redis = redis
        self._client = redis.Redis(host=host, port=port, **kwargs)
        self._next_claim = 0.0

    def _key(self, address: str) -> str:
        return f'{self.prefix}:{_check_address(address)}'

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except self._redis.exceptions.ConnectionError as error:
            raise MailboxError(
                f'Cannot {what}: the Redis server at {self.host}:{self.port} is '
                f'unreachable ({error}).'
            ) from error

    def create(self, address: str) -> None:
        """Make the stream and its group (nothing if they exist)."""
        try:
            self._call(
                'create a mailbox address',
                self._client.xgroup_create,
                self._key(address),
                self.GROUP,
                id='0',
                mkstream=True,
            )
        except self._redis.exceptions.ResponseError as error:
            if 'BUSYGROUP' not in str(error):
                raise MailboxError(f'Cannot create {address!r}: {error}') from error

    def delete(self, address: str) -> None:
        """Delete the stream."""
        self._call('delete a mailbox address', self._client.delete, self._key(address))

    def exists(self, address: str) -> bool:
        """Whether the stream exists."""
        return bool(
            self._call('check an address', self._client.exists, self._key(address))
        )

    def send(self, address: str, data: bytes) -> None:
        """Append ``data`` with one ``XADD NOMKSTREAM``; fails if no such address."""
        added = self._call(
            'send', self._client.xadd, self._key(address), {'d': data}, nomkstream=True
        )
        if added is None:
            raise MailboxError(f'Mailbox address {address!r} does not exist.')

    def receive(
        self, addresses: Sequence[str], *, reader: str, count: int, timeout: float
    ) -> list[Envelope]:
        """Claimed idle messages, else new ones (see `Mailbox.receive`).

        The claim of idle messages is one pipelined round trip over every
        address, done at most every half ``reclaim_after``: a host of many
        actors does not pay one ``XAUTOCLAIM`` per actor per read.
        """
        found: list[Envelope] = []
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + self.reclaim_after / 2
            found = self._claim(addresses, reader, count)
        if found:
            return found
        streams = {self._key(a): '>' for a in addresses}
        try:
            reply = self._call(
                'receive',
                self._client.xreadgroup,
                self.GROUP,
                reader,
                streams,
                count=count,
                block=max(1, int(timeout * 1000)),
            )
        except self._redis.exceptions.ResponseError as error:
            if 'NOGROUP' in str(error):
                return []
            raise MailboxError(f'Cannot receive: {error}') from error
        start = len(self.prefix) + 1
        for key, entries in reply or ():
            address = key.decode()[start:]
            for message_id, fields in entries:
                found.append(Envelope(address, message_id.decode(), fields[b'd']))
        return found

    def _claim(
        self, addresses: Sequence[str], reader: str, count: int
    ) -> list[Envelope]:
        pipe = self._client.pipeline(transaction=False)
        idle_ms = int(self.reclaim_after * 1000)
        for address in addresses:
            pipe.xautoclaim(
                self._key(address),
                self.GROUP,
                reader,
                min_idle_time=idle_ms,
                count=count,
            )
        replies = self._call('receive', pipe.execute, raise_on_error=False)
        found: list[Envelope] = []
        for address, reply in zip(addresses, replies, strict=True):
            if isinstance(reply, Exception):
                continue  # no such stream or group (deleted)
            for message_id, fields in reply[1]:
                if fields and len(found) < count:  # deleted entries come back empty
                    found.append(Envelope(address, message_id.decode(), fields[b'd']))
        return found

    def ack(self, envelopes: Sequence[Envelope]) -> None:
        """``XACK`` and ``XDEL`` the messages."""
        if not envelopes:
            return
        pipe = self._client.pipeline(transaction=False)
        for envelope in envelopes:
            key = self._key(envelope.address)
            pipe.xack(key, self.GROUP, envelope.id)
            pipe.xdel(key, envelope.id)
        self._call('acknowledge', pipe.execute)

    def config(self) -> dict[str, Any]:
        """Kind, server, prefix and options."""
        return {
            'kind': 'redis',
            'host': self.host,
            'port': self.port,
            'prefix': self.prefix,
            'reclaim_after': self.reclaim_after,
            **self._kwargs,
        }

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()


def mailbox_from_config(config: dict[str, Any]) -> Mailbox:
    """The mailbox a `Mailbox.config` describes.

    Raises:
        ValueError: If the kind is unknown.
    """
    options = dict(config)
    kind = options.pop('kind', None)
    if kind == 'local':
        return LocalMailbox(**options)
    if kind == 'redis':
        return RedisMailbox(**options)
    raise ValueError(f'Unknown mailbox kind {kind!r} (known: local, redis).')


def new_address(kind: str) -> str:
    """A fresh address for an actor, a host or a caller's replies."""
    return f'{kind}-{uuid.uuid4().hex}'
