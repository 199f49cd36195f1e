"""A process's connection to one data server, shared by all its connectors.

One `Client` per server, per process: a control connection, a UCX worker of its
own and an endpoint to the server's worker. Operations of many threads take
turns on it; a batch is one request whose messages all leave before any reply
is awaited. A client whose server went away, or which timed out mid-request,
is dropped and the next operation connects again.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from proxystore.connectors.ucx import _protocol as wire
from proxystore.connectors.ucx._auth import TOKEN_ENV
from proxystore.connectors.ucx._transport import make_worker
from proxystore.connectors.ucx._transport import peer_gone
from proxystore.connectors.ucx._transport import ucxx
from proxystore.connectors.ucx._transport import wait
from proxystore.connectors.ucx.exceptions import UCXAuthenticationError
from proxystore.connectors.ucx.exceptions import UCXConnectorError
from proxystore.connectors.ucx.exceptions import UCXServerGoneError
from proxystore.connectors.ucx.exceptions import UCXServerNotRunningError
from proxystore.connectors.ucx.exceptions import UCXStoreFullError
from proxystore.connectors.ucx.exceptions import UCXTimeoutError
from proxystore.serialize import BytesLike
from proxystore.serialize.buffers import allocate

Address = tuple[str, int, str | None, str | None, bool, bytes | None]
"""What a client is made for: host, port, transports, devices, endpoint error
handling, and the key of its proofs (`wire.auth_key` of its token, if any)."""


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = sock.recv(size, socket.MSG_WAITALL)
    if len(data) != size:
        raise ConnectionError('connection closed during the handshake')
    return data


def handshake(
    host: str, port: int, timeout: float, hello: bytes, key: bytes | None = None
) -> tuple[socket.socket, tuple[Any, ...]]:
    """Open a control connection, send ``hello``, read the welcome.

    A server with a token answers with a challenge first: it gets the proof
    made with ``key`` (see ``_protocol``), then welcomes or refuses.

    Raises:
        UCXServerNotRunningError: If nothing accepts connections there.
        UCXAuthenticationError: If the server wants a token and ``key`` is
            ``None``, or it refuses the proof.
        UCXConnectorError: If what answers is not a data server of this version.
    """
    try:
        control = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        raise UCXServerNotRunningError(
            f'no UCX data server answers at {host}:{port} ({error}): start one '
            f'with `proxystore-ucx-server start --address {host} --port {port}`, '
            'or put an object from a connector on that node',
        ) from None
    try:
        control.sendall(hello)
        welcome = wire.WELCOME.unpack(_recv_exactly(control, wire.WELCOME.size))
        if welcome[0] == wire.MAGIC and welcome[2] == wire.Welcome.CHALLENGE:
            welcome = _answer_challenge(control, host, port, hello, key)
    except OSError as error:
        control.close()
        raise UCXConnectorError(
            f'what answers at {host}:{port} is not a UCX data server ({error})',
        ) from None
    except UCXAuthenticationError:
        control.close()
        raise
    magic, version, status, *_ = welcome
    if magic != wire.MAGIC:
        control.close()
        raise UCXConnectorError(
            f'what answers at {host}:{port} is not a UCX data server',
        )
    if status == wire.Welcome.VERSION_MISMATCH:
        control.close()
        raise UCXConnectorError(
            f'the UCX data server at {host}:{port} speaks protocol version '
            f'{version}, this client {wire.VERSION}: run the same ProxyStore '
            'version on every node',
        )
    if status == wire.Welcome.SHUTTING_DOWN:
        control.close()
        raise UCXServerNotRunningError(
            f'the UCX data server at {host}:{port} is shutting down',
        )
    if status != wire.Welcome.OK:
        control.close()
        raise UCXConnectorError(
            f'the UCX data server at {host}:{port} answered status {status}',
        )
    return control, welcome


def _answer_challenge(
    control: socket.socket, host: str, port: int, hello: bytes, key: bytes | None
) -> tuple[Any, ...]:
    """Prove the token to a server that challenged; its welcome once it accepts."""
    nonce, server_id = wire.CHALLENGE.unpack(
        _recv_exactly(control, wire.CHALLENGE.size)
    )
    if key is None:
        raise UCXAuthenticationError(
            f'the UCX data server at {host}:{port} requires a token and this '
            'client has none: give the connector the token of the server '
            f'(UCXConnector(token=...) or {TOKEN_ENV}), or use it in a store '
            "with the server's token as its secret",
        )
    control.sendall(wire.PROOF.pack(wire.proof(key, nonce, server_id, hello)))
    try:
        welcome = wire.WELCOME.unpack(_recv_exactly(control, wire.WELCOME.size))
    except ConnectionError:
        welcome = (wire.MAGIC, wire.VERSION, wire.Welcome.REFUSED, 0, 0, 0)
    if welcome[0] == wire.MAGIC and welcome[2] == wire.Welcome.REFUSED:
        raise UCXAuthenticationError(
            f'the UCX data server at {host}:{port} refused the token of this '
            'client: it was started with another one',
        )
    return welcome


def ping(host: str, port: int, timeout: float) -> tuple[int, int, int]:
    """``(server pid, objects held, bytes held)`` of the server at host:port."""
    hello = wire.HELLO.pack(wire.MAGIC, wire.VERSION, wire.FLAG_PING, 0)
    control, welcome = handshake(host, port, timeout, hello)
    with control:
        try:
            objects, size = wire.STATS.unpack(_recv_exactly(control, wire.STATS.size))
        except OSError as error:
            raise UCXConnectorError(
                f'the UCX data server at {host}:{port} did not answer a ping ({error})',
            ) from None
    return welcome[4], objects, size


class Client:
    """A connection to one data server, for every connector of this process."""

    def __init__(self, address: Address, timeout: float) -> None:
        host, port, transports, devices, error_handling, key = address
        self.address = address
        self.name = f'{host}:{port}'
        self._lock = threading.Lock()
        self._sequence = 0
        self.broken = False
        self._context, self._worker = make_worker(transports, devices)
        libucxx, self._array = ucxx()
        self._tag = libucxx.UCXXTag
        mine = self._worker.address.tobytes()
        flags = wire.FLAG_ERROR_HANDLING if error_handling else 0
        hello = wire.HELLO.pack(wire.MAGIC, wire.VERSION, flags, len(mine)) + mine
        self.control, welcome = handshake(host, port, timeout, hello, key)
        self.control.settimeout(None)
        try:
            theirs = _recv_exactly(self.control, welcome[5])
        except OSError as error:
            self.control.close()
            raise UCXServerGoneError(
                f'the UCX data server at {self.name} closed the handshake ({error})',
            ) from None
        self.client_id = welcome[3]
        self.server_pid = welcome[4]
        self._endpoint = self._worker.create_endpoint_from_worker_address(
            libucxx.UCXAddress.create_from_buffer(theirs), error_handling
        )

    def __repr__(self) -> str:
        return f'Client({self.name}, client={self.client_id})'

    # --- plumbing -------------------------------------------------------------------

    def _sequences(self, count: int) -> int:
        first = self._sequence
        self._sequence = (first + count) & 0xFFFFFFFF
        return first

    def _send(self, kind: wire.Kind, sequence: int, data: BytesLike) -> Any:
        tag = self._tag(wire.tag(kind, self.client_id, sequence))
        return self._endpoint.tag_send(self._array(data), tag)

    def _recv(self, kind: wire.Kind, sequence: int, buffer: BytesLike) -> Any:
        tag = self._tag(wire.tag(kind, self.client_id, sequence))
        return self._worker.tag_recv(self._array(buffer), tag)

    def _wait(self, requests: list[Any], timeout: float, what: str) -> None:
        try:
            wait(
                self._worker,
                requests,
                time.monotonic() + timeout,
                self.control,
                f'{what} on {self.name}',
            )
        except (UCXServerGoneError, UCXTimeoutError):
            # Requests of this client may still be posted: the client is done.
            self.broken = True
            raise
        except Exception as error:
            self.broken = True
            # The endpoint failed (reset by the peer): the server is gone,
            # said as when its control connection closes first.
            raise UCXServerGoneError(
                f'the UCX data server went away during {what} on {self.name} '
                f'(UCX: {error})',
            ) from error

    def _call(
        self,
        request: bytes,
        reply_size: int,
        timeout: float,
        what: str,
        payloads: Sequence[BytesLike] = (),
    ) -> tuple[int, memoryview]:
        """Send a request (and its payloads); wait for and return its reply."""
        first = self._sequences(1 + len(payloads))
        reply = bytearray(reply_size)
        answer = self._recv(wire.Kind.REPLY, first, reply)
        sends = [self._send(wire.Kind.REQUEST, first, request)]
        for index, payload in enumerate(payloads, start=1):
            sends.append(self._send(wire.Kind.PAYLOAD, first + index, payload))
        deadline = time.monotonic() + timeout
        self._wait([answer], timeout, what)
        view = memoryview(reply)
        try:
            self._check_reply(view, what)
        except UCXConnectorError:
            # A refused request (a put too large for the server) leaves its
            # payloads unreceived: withdraw them rather than wait for ever.
            if not all(send.completed for send in sends):
                self._worker.cancel_inflight_requests()
            raise
        self._wait(sends, max(deadline - time.monotonic(), 0.001), what)
        return first, view

    @staticmethod
    def _check_reply(reply: memoryview, what: str) -> None:
        status, _ = wire.decode_header(reply)
        if status != wire.Status.OK:
            # The server's text, cut to fit its reply (maybe mid-character):
            # any bytes, shown as they decode.
            text = bytes(reply[wire.HEADER.size :]).rstrip(b'\0')
            message = text.decode('utf-8', errors='replace')
            error = (
                UCXStoreFullError if status == wire.Status.FULL else UCXConnectorError
            )
            raise error(f'the data server refused {what}: {message}')

    # --- operations -----------------------------------------------------------------

    def put(
        self, items: Sequence[tuple[bytes, Sequence[memoryview]]], timeout: float
    ) -> None:
        """Store objects, each given as its frames (contiguous byte views)."""
        entries = []
        inline: list[bytes] = []
        payloads: list[memoryview] = []
        for object_id, frames in items:
            size = sum(frame.nbytes for frame in frames)
            if size <= wire.INLINE:
                entries.append(wire.PutEntry(object_id, size, (size,)))
                inline.extend(frame.tobytes() for frame in frames)
            else:
                sent = [frame for frame in frames if frame.nbytes]
                entries.append(
                    wire.PutEntry(object_id, size, tuple(f.nbytes for f in sent))
                )
                payloads.extend(sent)
        request = wire.encode_put(entries, inline)
        # The reply is 300 bytes at most, or an error message of as many.
        with self._lock:
            self._call(request, 512, timeout, 'a put', payloads)

    def get(
        self, items: Sequence[tuple[bytes, int]], timeout: float
    ) -> list[BytesLike | None]:
        """The objects of ``(object id, expected size)`` items (``None``: missing).

        A large object of known size is received into a buffer posted with the
        request, so its bytes move while the reply is on its way.
        """
        count = len(items)
        inline_size = sum(size for _, size in items if wire.inline(size, size))
        reply_size = max(wire.HEADER.size + count * wire.SIZE.size + inline_size, 512)
        with self._lock:
            first = self._sequences(1 + count)
            early: dict[int, tuple[BytesLike, Any]] = {}
            for index, (_, expected) in enumerate(items):
                if wire.prepost(expected):
                    buffer = allocate(expected)
                    sequence = first + 1 + index
                    early[index] = (
                        buffer,
                        self._recv(wire.Kind.DATA, sequence, buffer),
                    )
            reply = bytearray(reply_size)
            answer = self._recv(wire.Kind.REPLY, first, reply)
            # Referenced until the send completes: UCX may send it later (on a
            # new endpoint still connecting) from this very memory.
            message = wire.encode_get(items)
            sent = self._send(wire.Kind.REQUEST, first, message)
            self._wait([answer, sent], timeout, 'a get')
            del message
            view = memoryview(reply)
            self._check_reply(view, 'a get')
            results: list[BytesLike | None] = []
            requests = []
            offset = wire.HEADER.size + count * wire.SIZE.size
            sizes = list(wire.iter_sizes(view, count))
            unused = False
            for index, ((_, expected), size) in enumerate(
                zip(items, sizes, strict=True)
            ):
                posted = early.get(index)
                if posted is not None and size == expected:
                    results.append(posted[0])
                    requests.append(posted[1])
                    continue
                unused = unused or posted is not None
                if size < 0:
                    results.append(None)
                elif wire.inline(expected, size):
                    results.append(view[offset : offset + size].tobytes())
                    offset += size
                elif size == 0:
                    results.append(b'')
                else:
                    buffer = allocate(size)
                    sequence = first + 1 + index
                    requests.append(
                        self._recv(wire.Kind.DATA_OTHER_SIZE, sequence, buffer)
                    )
                    results.append(buffer)
            if requests:
                self._wait(requests, timeout, 'a get')
            if unused:
                # Receives posted for objects that turned out missing (or of
                # another size) would never complete: only they are left.
                self._worker.cancel_inflight_requests()
        return results

    def exists(self, ids: Sequence[bytes], timeout: float) -> list[bool]:
        """Whether the server holds each object."""
        reply_size = max(wire.HEADER.size + len(ids), 512)
        with self._lock:
            _, reply = self._call(
                wire.encode_ids(wire.Op.EXISTS, ids), reply_size, timeout, 'an exists'
            )
        flags = reply[wire.HEADER.size : wire.HEADER.size + len(ids)]
        return [bool(flag) for flag in flags]

    def list(self, timeout: float) -> list[tuple[bytes, int, bool]]:
        """What the server holds: ``(object id, size, spilled)`` of each object."""
        with self._lock:
            first, reply = self._call(wire.encode_list(), 512, timeout, 'a list')
            _, count = wire.decode_header(reply)
            (length,) = wire.SIZE.unpack_from(reply, wire.HEADER.size)
            if length != count * wire.LIST_ENTRY.size:
                raise wire.ProtocolError(
                    f'a list reply of {count} objects announces {length} bytes'
                )
            if not count:
                return []
            buffer = allocate(length)
            received = self._recv(wire.Kind.DATA_OTHER_SIZE, first + 1, buffer)
            self._wait([received], timeout, 'a list')
        return wire.decode_listing(memoryview(buffer), count)

    def evict(self, ids: Sequence[bytes], timeout: float) -> None:
        """Remove objects from the server (missing ones are fine)."""
        with self._lock:
            self._call(wire.encode_ids(wire.Op.EVICT, ids), 512, timeout, 'an evict')

    def close(self) -> None:
        """Close the endpoint and the control connection (the server forgets us)."""
        failed = self.broken or peer_gone(self.control)
        self.broken = True
        self.control.close()
        if not failed and self._endpoint.alive:
            # Without error handling, a blocking close (what the endpoint's
            # destructor does) waits forever for a peer that stopped
            # answering; a non-blocking close first makes the destructor
            # return at once. An endpoint whose peer failed is not closed at
            # all: ucxx crashes closing an endpoint that UCX already failed.
            with contextlib.suppress(Exception):
                self._endpoint.close()
        _retired.append(self)  # its buffers may still be in posted requests


# UCX endpoints and workers are kept until the process exits: releasing a worker
# with requests still posted (after a peer went away) is not safe.
_retired: list[Client] = []
_clients: dict[Address, Client] = {}
_clients_lock = threading.Lock()
# One lock per server being connected to, so a slow connect blocks no other.
_connecting: dict[Address, threading.Lock] = {}
_pid = os.getpid()


def _renew_locks_in_child() -> None:
    # A thread of the parent may have held the clients lock, or an address's
    # connect lock (a connect waits up to its timeout), when another thread
    # forked: the child has only the forking thread, so new locks. The
    # parent's clients themselves are dropped by `_usable`.
    global _clients_lock
    _clients_lock = threading.Lock()
    _connecting.clear()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_locks_in_child)


def _usable(address: Address) -> Client | None:
    """The live client of ``address``, if any (call with ``_clients_lock``)."""
    global _pid
    if _pid != os.getpid():
        # A forked child: the parent's UCX state is not ours to use, nor to
        # free (its destructors would talk to the parent's peers): leaked.
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(list(_clients.values())))
        _clients.clear()
        _connecting.clear()  # (already, by the fork hook, where there is one)
        _pid = os.getpid()
    client = _clients.get(address)
    if client is not None and (client.broken or peer_gone(client.control)):
        _clients.pop(address).close()
        client = None
    return client


def get_client(address: Address, timeout: float) -> Client:
    """This process's client for ``address``, connecting if there is none.

    A connect (up to ``timeout`` seconds to a server that does not answer)
    holds only its own address's lock: operations on other servers go on.
    """
    with _clients_lock:
        client = _usable(address)
        if client is not None:
            return client
        connecting = _connecting.setdefault(address, threading.Lock())
    with connecting:
        with _clients_lock:
            client = _usable(address)  # another thread may have connected
        if client is not None:
            return client
        client = Client(address, timeout)
        with _clients_lock:
            _clients[address] = client
        return client


def close_clients() -> None:
    """Close every client of this process (at exit, or by hand)."""
    with _clients_lock:
        if _pid == os.getpid():
            for client in _clients.values():
                client.close()
        _clients.clear()


atexit.register(close_clients)
