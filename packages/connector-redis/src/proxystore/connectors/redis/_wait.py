"""Waiting for a key: pub/sub on the key's channel, never polling.

`RedisConnector.set` publishes on ``<key>:set`` after its SET; `wait_for`
subscribes, waits for the server to confirm, and only then asks whether the key
exists (see the package's docstring for why, and for what was set aside).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis.exceptions

__all__ = [
    'RECHECK_SECONDS',
    'RECONNECT_SECONDS',
    'SET_CHANNEL_SUFFIX',
    'set_channel',
    'wait_for',
]

SET_CHANNEL_SUFFIX = ':set'
"""`set` publishes on the key's name plus this suffix; a waiter subscribes to it."""
RECHECK_SECONDS = 30.0
"""A waiter asks EXISTS again this often, as a safety net for a notification that
never came (a producer that died between its SET and its PUBLISH)."""
RECONNECT_SECONDS = 5.0
"""A waiter whose connection broke reconnects for this long (when the connector
has no socket_connect_timeout), so a restarting server does not end the wait."""


def set_channel(name: str) -> str:
    """The channel `set` publishes on for the key ``name``."""
    return name + SET_CHANNEL_SUFFIX


def wait_for(
    name: str,
    deadline: float | None,
    *,
    client_for: Callable[[str], Any],
    exists: Callable[[str], bool],
    reconnect_seconds: float,
) -> bool:
    """Block until the key ``name`` exists or the monotonic ``deadline`` passes.

    Reconnects when the connection breaks, for up to ``reconnect_seconds`` from
    the first failure (and never past the deadline); each new subscription asks
    EXISTS again, so a SET published while the connection was down is not missed.

    Args:
        name: The key in Redis.
        deadline: `time.monotonic` time to give up at (``None``: never).
        client_for: The redis-py client of the node that owns a key.
        exists: Whether a key exists (through the connector's client).
        reconnect_seconds: How long a broken connection is retried.

    Returns:
        Whether the key exists.

    Raises:
        redis.exceptions.RedisError: redis-py's error that ended the wait (the
            connector turns it into its own).
    """
    broken_since: float | None = None
    backoff = 0.05
    while True:
        try:
            return _wait_subscribed(name, deadline, client_for, exists)
        except redis.exceptions.AuthenticationError:
            raise  # a ConnectionError, but reconnecting will not help
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            now = time.monotonic()
            if broken_since is None:
                broken_since = now
            give_up = broken_since + reconnect_seconds
            if deadline is not None:
                give_up = min(give_up, deadline)
            if now >= give_up:
                raise
            time.sleep(min(backoff, give_up - now))
            backoff = min(backoff * 2, 0.5)


def _wait_subscribed(
    name: str,
    deadline: float | None,
    client_for: Callable[[str], Any],
    exists: Callable[[str], bool],
) -> bool:
    pool = client_for(name).connection_pool
    # A connection of its own: a subscribed connection can do nothing else, and
    # taking it from a bounded pool (max_connections) could starve the EXISTS
    # below, or the producer's SET, for the whole wait.
    connection = pool.connection_class(**pool.connection_kwargs)
    try:
        connection.send_command('SUBSCRIBE', set_channel(name))
        # Subscribed once the server confirms: only then is EXISTS asked, so a
        # SET after it publishes to a listening subscriber. (Pub/sub replies are
        # push messages under RESP3, redis-py's default.)
        connection.read_response(push_request=True)
        if exists(name):
            return True
        recheck = time.monotonic() + RECHECK_SECONDS
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return exists(name)
            until = recheck if deadline is None else min(recheck, deadline)
            if connection.can_read(timeout=until - now):
                reply = connection.read_response(push_request=True)
                kind = reply[0] if isinstance(reply, list) and reply else b''
                if kind in (b'message', 'message'):
                    return True
            elif time.monotonic() >= recheck:
                if exists(name):
                    return True
                recheck = time.monotonic() + RECHECK_SECONDS
    finally:
        connection.disconnect()
