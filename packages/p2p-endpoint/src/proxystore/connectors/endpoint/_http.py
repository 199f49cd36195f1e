"""A small blocking HTTP client for the local endpoint, with kept-alive connections.

Connections are pooled per address for the whole process (any thread, any
connector) and closed when the process exits. A forked child never uses the
connections it inherits: it drops them and opens its own.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import threading
import urllib.parse
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from proxystore.connectors.endpoint.exceptions import EndpointAuthenticationError
from proxystore.connectors.endpoint.exceptions import EndpointConnectorError
from proxystore.connectors.endpoint.exceptions import EndpointNotRunningError
from proxystore.connectors.endpoint.exceptions import EndpointObjectTooLargeError
from proxystore.connectors.endpoint.exceptions import EndpointPeerError
from proxystore.connectors.endpoint.exceptions import EndpointStorageFullError
from proxystore.connectors.endpoint.exceptions import EndpointTimeoutError

__all__ = ['Response', 'request']

_SMALL = 64 * 1024


class Response:
    """A status, a JSON error or value, and a body."""

    def __init__(self, status: int, body: bytearray) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class _Pool:
    """Kept-alive connections to one address, owned by one process.

    ``idle`` connections wait for the next request; ``busy`` ones carry a
    request now. Both are tracked so that a forked child can let go of every
    connection it inherited, including those a parent's thread was using.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[http.client.HTTPConnection] = []
        self.busy: set[http.client.HTTPConnection] = set()
        self.lock = threading.Lock()

    def take(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self.lock:
            if self.idle:
                connection = self.idle.pop()
                reused = True
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
            else:
                connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=timeout
                )
                reused = False
            self.busy.add(connection)
            return connection, reused

    def give(self, connection: http.client.HTTPConnection) -> None:
        with self.lock:
            self.busy.discard(connection)
            self.idle.append(connection)

    def drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        with self.lock:
            self.busy.discard(connection)

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for connection in idle:
            connection.close()

    def release_inherited(self) -> None:
        """In a forked child: let go of the parent's connections, unused.

        Only the child's copies of the file descriptors are closed (no
        ``shutdown()``, no request, nothing sent on them), so the parent's
        connections and the requests on them are not disturbed. The lock is not
        taken: a parent's thread may have held it at fork time, and that thread
        does not exist here.
        """
        inherited = [*self.idle, *self.busy]
        self.idle = []
        self.busy = set()
        for connection in inherited:
            sock, connection.sock = connection.sock, None
            if sock is not None:
                sock.close()


_pools: dict[tuple[str, int], _Pool] = {}
_pools_lock = threading.Lock()
_pools_pid = os.getpid()


def _after_fork_in_child() -> None:
    """Forget the parent's pools (their connections belong to the parent).

    A parent and a child writing requests on one socket read each other's
    answers: a ``get`` would return another key's object.
    """
    global _pools, _pools_lock, _pools_pid
    inherited = list(_pools.values())
    _pools = {}
    _pools_lock = threading.Lock()
    _pools_pid = os.getpid()
    for pool in inherited:
        pool.release_inherited()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _pool(host: str, port: int) -> _Pool:
    if _pools_pid != os.getpid():
        # Forked without the interpreter's fork hooks (``fork()`` called from C).
        _after_fork_in_child()
    with _pools_lock:
        pool = _pools.get((host, port))
        if pool is None:
            pool = _pools[(host, port)] = _Pool(host, port)
        return pool


@atexit.register
def close_all() -> None:
    """Close every pooled connection of this process."""
    if _pools_pid != os.getpid():
        _after_fork_in_child()
        return
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.close()


def _send(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    frames: Sequence[memoryview],
    headers: Mapping[str, str],
) -> None:
    size = sum(frame.nbytes for frame in frames)
    connection.putrequest(method, path, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    if method == 'POST':
        connection.putheader('Content-Length', str(size))
    if size <= _SMALL:
        # Headers and body in one segment: one write, one wake-up of the server.
        connection.endheaders(b''.join(frames) if frames else None)
    else:
        connection.endheaders()
        for frame in frames:
            connection.send(frame)


def _receive(connection: http.client.HTTPConnection) -> Response:
    response = connection.getresponse()
    length = response.length
    if length is None:
        body = bytearray(response.read())
    else:
        body = bytearray(length)
        view = memoryview(body)
        filled = 0
        while filled < length:
            count = response.readinto(view[filled:])
            if not count:
                raise http.client.IncompleteRead(bytes(view[:filled]), length - filled)
            filled += count
        if not response.isclosed():
            response.read()  # marks the (fully read) response done
    if response.will_close:
        connection.close()
    return Response(response.status, body)


def request(
    host: str,
    port: int,
    method: str,
    route: str,
    params: dict[str, str],
    frames: Sequence[memoryview] = (),
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """One request to the endpoint at ``host:port``.

    ``headers`` are added to the request (the token's ``Authorization``).

    A kept-alive connection that the server closed meanwhile is replaced once
    (every endpoint operation is idempotent).

    Raises:
        EndpointNotRunningError: If nothing answers at the address.
        EndpointTimeoutError: If no answer comes within ``timeout``.
        EndpointConnectorError: If the connection fails during the request.
    """
    path = f'{route}?{urllib.parse.urlencode(params)}'
    pool = _pool(host, port)
    for attempt in range(2):
        connection, reused = pool.take(timeout)
        try:
            _send(connection, method, path, frames, headers or {})
            response = _receive(connection)
        except TimeoutError:
            pool.drop(connection)
            raise EndpointTimeoutError(
                f'the endpoint at {host}:{port} did not answer {route} within '
                f'{timeout} s'
            ) from None
        except ConnectionRefusedError:
            pool.drop(connection)
            raise EndpointNotRunningError(
                f'no endpoint answers at {host}:{port} (is it started?)'
            ) from None
        except (OSError, http.client.HTTPException) as error:
            pool.drop(connection)
            if reused and attempt == 0:
                continue
            raise EndpointConnectorError(
                f'the connection to the endpoint at {host}:{port} failed during '
                f'{route}: {error!r}'
            ) from error
        except BaseException:
            pool.drop(connection)
            raise
        pool.give(connection)
        return response
    raise AssertionError('unreachable')  # pragma: no cover


def raise_for_status(response: Response, operation: str) -> None:
    """Raise the typed error for a failed answer (not for 200 and 404).

    Raises:
        EndpointAuthenticationError: On 401.
        EndpointStorageFullError: On 507.
        EndpointObjectTooLargeError: On 413.
        EndpointTimeoutError: On 504.
        EndpointPeerError: On 502.
        EndpointConnectorError: On any other failure.
    """
    if response.status in (200, 404):
        return
    try:
        message = str(response.json()['message'])
    except (ValueError, KeyError, TypeError):
        message = bytes(response.body[:200]).decode(errors='replace')
    text = f'{operation} failed with status {response.status}: {message}'
    if response.status == 401:
        raise EndpointAuthenticationError(text)
    if response.status == 507:
        raise EndpointStorageFullError(text)
    if response.status == 413:
        raise EndpointObjectTooLargeError(text)
    if response.status == 504:
        raise EndpointTimeoutError(text)
    if response.status == 502:
        raise EndpointPeerError(text)
    raise EndpointConnectorError(text)
