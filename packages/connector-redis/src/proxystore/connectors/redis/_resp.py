"""RESP framing done by the connector itself, where redis-py would copy.

- `set_frames`: a ``SET`` whose value goes to the socket buffer by buffer,
  without joining the frames of a payload first;
- `read_bulk`: the reply of a ``GET`` received straight into a fresh
  `bytearray`. redis-py hands back `bytes`, which are read-only, so the
  deserializer copied them a second time to give the object (a numpy array,
  say) writable memory; this buffer is writable and used in place.

Both run on a connection taken from redis-py's pool, between one command and
its reply, so the connection is idle (nothing buffered) before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.exceptions

from proxystore.serialize import BytesLike

__all__ = ['byte_view', 'get_command', 'nbytes', 'read_bulk', 'set_frames']

# The first read of a reply: its header line, and all of a small value.
_FIRST_READ = 16 * 1024
_CRLF = b'\r\n'


def nbytes(buffer: BytesLike) -> int:
    """Length of the buffer in bytes (``len()`` of an exporter counts items)."""
    if isinstance(buffer, bytes | bytearray):
        return len(buffer)
    return memoryview(buffer).nbytes


def byte_view(buffer: BytesLike) -> BytesLike:
    """The buffer as bytes of known length (the protocol counts bytes, not items)."""
    if isinstance(buffer, bytes | bytearray):
        return buffer
    # Any other exporter (array.array, numpy) goes to redis-py as a memoryview,
    # which it writes as is; the exporter itself it would reject.
    buffer = memoryview(buffer)
    if not buffer.c_contiguous:
        return buffer.tobytes()
    if buffer.format == 'B' and buffer.ndim == 1:
        return buffer
    return buffer.cast('B')


def set_frames(
    key: str,
    buffers: Sequence[BytesLike],
    size: int,
    ttl_ms: int | None,
) -> list[BytesLike]:
    """``SET key value [PX ttl_ms]`` as buffers to send in order.

    The value is the concatenation of ``buffers`` (``size`` bytes in all); the
    buffers themselves are among those returned, not copied.
    """
    keyb = key.encode()
    argc = 3 if ttl_ms is None else 5
    head = b'*%d\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n' % (argc, len(keyb), keyb, size)
    tail = _CRLF
    if ttl_ms is not None:
        ttl = str(ttl_ms).encode()
        tail += b'$2\r\nPX\r\n$%d\r\n%s\r\n' % (len(ttl), ttl)
    views = [byte_view(b) for b in buffers if nbytes(b)]
    return [head, *views, tail]


def get_command(key: str) -> bytes:
    """``GET key``, packed."""
    keyb = key.encode()
    return b'*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n' % (len(keyb), keyb)


def _recv_into(sock: Any, view: memoryview) -> int:
    """``recv_into`` with socket errors as redis-py's (which its retry knows)."""
    try:
        received: int = sock.recv_into(view)
    except TimeoutError as e:  # socket.timeout
        raise redis.exceptions.TimeoutError(f'Timeout reading from socket: {e}') from e
    except OSError as e:
        raise redis.exceptions.ConnectionError(
            f'Error while reading from socket: {e}',
        ) from e
    if received == 0:
        raise redis.exceptions.ConnectionError('Connection closed by server.')
    return received


def _fill(sock: Any, view: memoryview) -> None:
    while view:
        view = view[_recv_into(sock, view) :]


def read_bulk(sock: Any) -> bytearray | None:
    """Read the reply of a ``GET`` from ``sock``: the value, or ``None`` if missing.

    The value is received into a `bytearray` of its size; only what came with
    the header line in the first read (at most 16 KiB) is copied into it.

    Raises:
        redis.exceptions.ResponseError: If the server replied with an error
            (``MOVED`` and ``ASK`` on a cluster among them).
        redis.exceptions.BusyLoadingError: If the server is loading its data
            (a `ConnectionError`: retried).
        redis.exceptions.ConnectionError: If the connection broke, or the reply
            is not a bulk string.
        redis.exceptions.TimeoutError: If the server sent nothing for the
            socket's timeout.
    """
    first = bytearray(_FIRST_READ)
    view = memoryview(first)
    filled = 0
    while True:
        filled += _recv_into(sock, view[filled:])
        end = first.find(_CRLF, 0, filled)
        if end >= 0:
            break
        if filled == len(first):
            raise redis.exceptions.ConnectionError(
                'Invalid reply to GET: no end of line in its first '
                f'{_FIRST_READ} bytes.',
            )
    kind, line = bytes(first[:1]), bytes(first[1:end])
    start = end + 2
    if kind == b'_' or (kind == b'$' and line == b'-1'):  # RESP3 and RESP2 null
        rest = b''
        value = None
    elif kind in (b'$', b'!'):
        try:
            length = int(line)
        except ValueError:
            length = -1
        if length < 0:
            raise redis.exceptions.ConnectionError(
                f'Invalid reply to GET: bulk length {line!r}.',
            )
        value = bytearray(length)
        have = min(filled - start, length)
        value[:have] = view[start : start + have]
        _fill(sock, memoryview(value)[have:])
        start += have
        rest = _CRLF
    elif kind == b'-':
        rest = b''
        value = None
    else:
        raise redis.exceptions.ConnectionError(
            f'Invalid reply to GET: {bytes(first[: min(end, 40)])!r}.',
        )
    # The end of line after the value: part of it may have come already.
    extra = bytes(first[start:filled])
    if not rest.startswith(extra):
        raise redis.exceptions.ConnectionError(
            'Invalid reply to GET: unexpected bytes after the value.',
        )
    if len(rest) > len(extra):
        tail = bytearray(len(rest) - len(extra))
        _fill(sock, memoryview(tail))
        if extra + tail != rest:
            raise redis.exceptions.ConnectionError(
                'Invalid reply to GET: no end of line after the value.',
            )
    if kind == b'-':
        raise _error(line.decode(errors='replace'))
    if kind == b'!':
        assert value is not None
        raise _error(value.decode(errors='replace'))
    return value


def _error(text: str) -> redis.exceptions.RedisError:
    """The exception redis-py raises for an error reply (the ones we act on)."""
    if text.startswith('LOADING'):
        # A server loading its data after a restart: redis-py's error for it is
        # a ConnectionError, which the connector's retry waits out.
        return redis.exceptions.BusyLoadingError(text)
    return redis.exceptions.ResponseError(text)
