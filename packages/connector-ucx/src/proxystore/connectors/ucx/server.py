"""The data server: one per node, holding objects in its memory.

A single thread serves every client: it sleeps on its listening socket, the
control connections and the UCX worker's event descriptor, then accepts new
clients, notices departed ones, and answers the requests that came in. Puts of
large objects are received straight into the buffer that keeps them; gets are
sent from it. Nothing a client sends is unpickled: requests are fixed binary
structs (see ``_protocol``).

A server given a token challenges every new control connection and hands its
UCX worker address only to a client that proves it knows the token (see
``_protocol``); without one it serves any client that connects, and warns when
it listens beyond loopback.

Run one with ``proxystore-ucx-server start`` or let a connector start it (see
`UCXConnector`); `serve` is the same loop for use in a process of your own.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
import selectors
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import numpy

from proxystore.connectors.ucx import _protocol as wire
from proxystore.connectors.ucx._auth import as_token
from proxystore.connectors.ucx._auth import warn_if_exposed
from proxystore.connectors.ucx._launch import alive
from proxystore.connectors.ucx._transport import make_worker
from proxystore.connectors.ucx._transport import ucxx

__all__ = ['DataServer', 'serve']

logger = logging.getLogger(__name__)

POLL = 100e-6
"""Seconds the server polls after a request before it sleeps again."""
HANDSHAKE_TIMEOUT = 5.0
"""Seconds a new connection has to complete its hello."""
MAX_ADDRESS = 64 * 1024
"""Largest worker address a hello may announce."""
REPLY_MIN = 512
"""Every client posts at least this much room for a reply (errors fit in it)."""


def _physical_memory() -> int:
    try:
        return os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (ValueError, OSError):  # pragma: no cover - not on Linux
        return 1 << 40


MAX_PUT_BYTES = _physical_memory()
"""Most bytes one put may announce: more than this node's memory never fits."""


@dataclass
class _Peer:
    """A connected client."""

    client_id: int
    control: socket.socket
    endpoint: Any
    sends: list[tuple[Any, object]] = field(default_factory=list)
    """UCX send requests in flight, with the buffer each one reads."""


@dataclass
class _Greeting:
    """A connection still in its handshake."""

    peer_address: str
    deadline: float
    received: bytearray = field(default_factory=bytearray)
    hello: bytes | None = None
    """The whole hello, once it arrived (a challenge was sent for it)."""
    nonce: bytes = b''


@dataclass
class _PendingPut:
    """A put whose large objects are still arriving."""

    peer: _Peer
    sequence: int
    objects: list[tuple[bytes, Any]]
    requests: list[Any]
    size: int


class _SpillFolder:
    """A server's spilled objects: one file each in a folder of its own.

    The folder is ``<directory>/proxystore-ucx-spill-<pid>`` (mode 0700),
    removed by `close`; folders of servers that no longer run are removed
    when a server makes its own.
    """

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for name in os.listdir(directory):
            prefix, _, pid = name.rpartition('-')
            if prefix == _SPILL_PREFIX and pid.isdigit() and not alive(int(pid)):
                _remove_folder(os.path.join(directory, name))
        self.path = os.path.join(directory, f'{_SPILL_PREFIX}-{os.getpid()}')
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        self._sizes: dict[bytes, int] = {}

    def __contains__(self, object_id: bytes) -> bool:
        return object_id in self._sizes

    def _file(self, object_id: bytes) -> str:
        return os.path.join(self.path, object_id.hex())

    def write(self, object_id: bytes, data: Any) -> None:
        temp = self._file(object_id) + '.part'
        with open(temp, 'wb') as file:
            file.write(memoryview(data))
        os.replace(temp, self._file(object_id))
        self._sizes[object_id] = len(data)

    def read(self, object_id: bytes) -> Any:
        size = self._sizes.get(object_id)
        if size is None:
            return None
        data = numpy.empty(size, dtype=numpy.uint8)
        with open(self._file(object_id), 'rb', buffering=0) as file:
            view = data.data
            got = 0
            while got < size:
                read = file.readinto(view[got:])
                if not read:
                    raise OSError(f'spilled object {object_id.hex()} is truncated')
                got += read
        return data.data

    def entries(self) -> list[tuple[bytes, int, bool]]:
        return [(object_id, size, True) for object_id, size in self._sizes.items()]

    def remove(self, object_id: bytes) -> None:
        if self._sizes.pop(object_id, None) is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._file(object_id))

    def close(self) -> None:
        self._sizes.clear()
        _remove_folder(self.path)


_SPILL_PREFIX = 'proxystore-ucx-spill'


def _remove_folder(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(path, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)


class _FullError(Exception):
    """A put over the server's capacity (answered with ``Status.FULL``)."""


class DataServer:
    """An in-memory object server reached over UCX.

    Args:
        address: Address the control socket binds to (clients connect there).
        port: Port of the control socket (``0``: any free port, see `port`).
        transports: UCX transports (UCX's ``TLS`` option), ``None`` for UCX's
            own choice of the fastest.
        devices: Network devices UCX may use (``NET_DEVICES``), ``None`` for all.
        token: Serve only clients that prove they know this token (see the
            UCX guide); ``None``: any client that connects. A server without
            one on an address other than loopback warns
            (`UCXInsecureServerWarning`).
        capacity: Most bytes of objects the server holds in memory (``None``:
            as many as fit). A put that would cross it spills objects to
            ``spill_directory`` if there is one, else is refused whole, and its
            client raises `UCXStoreFullError` (or waits, see the connector's
            ``full_timeout``).
        spill_directory: A folder on disk for the least recently used objects
            when a put would cross ``capacity`` (needs one). The server keeps
            its spilled objects in a subfolder of its own, removed when it
            stops; a get of a spilled object reads it back (and moves it back
            into memory if it fits).

    Raises:
        TypeError: If ``token`` is not bytes, a string or ``None``.
        ValueError: If ``token`` is empty or too long, ``capacity`` is not
            a positive number of bytes, or ``spill_directory`` has no
            ``capacity``.
    """

    def __init__(
        self,
        address: str = '127.0.0.1',
        port: int = 0,
        transports: str | None = None,
        devices: str | None = None,
        token: bytes | str | None = None,
        capacity: int | None = None,
        spill_directory: str | None = None,
    ) -> None:
        if spill_directory is not None and capacity is None:
            raise ValueError(
                'spill_directory needs a capacity: objects are spilled when the '
                'capacity is crossed.'
            )
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0
        ):
            raise ValueError(
                f'capacity must be a positive number of bytes, not {capacity!r}.'
            )
        self.capacity = capacity
        secret = as_token(token, 'token')
        self._key = None if secret is None else wire.auth_key(secret)
        self.server_id = secrets.token_bytes(16)
        warn_if_exposed(address, secret)
        self._context, self._worker = make_worker(transports, devices)
        libucxx, self._array = ucxx()
        self._libucxx = libucxx
        self._listener = socket.create_server((address, port), backlog=128)
        self._listener.setblocking(False)
        self.address = address
        self.port: int = self._listener.getsockname()[1]
        # In order of use (least recent first): the order of spilling.
        self._objects: OrderedDict[bytes, Any] = OrderedDict()
        self._bytes = 0
        self._spill = None if spill_directory is None else _SpillFolder(spill_directory)
        self._reserved = 0  # bytes of puts whose payloads are on their way
        self._peers: dict[int, _Peer] = {}
        self._puts: list[_PendingPut] = []
        self._retired: list[_Peer] = []
        self._poll_until = 0.0
        self._greeting: dict[socket.socket, _Greeting] = {}
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, self._accept)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._selector.register(
            self._worker.epoll_file_descriptor, selectors.EVENT_READ, None
        )

    def __repr__(self) -> str:
        return f'DataServer({self.address}:{self.port}, objects={len(self._objects)})'

    @property
    def authenticated(self) -> bool:
        """Whether clients must prove they know a token."""
        return self._key is not None

    @property
    def objects(self) -> int:
        """How many objects the server holds."""
        return len(self._objects)

    def stop(self) -> None:
        """Ask `serve_forever` to return (from any thread or a signal handler)."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_write.send(b'\0')

    def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Answer clients until `stop`; ``ready`` is called once accepting."""
        logger.info(
            'UCX data server on %s:%d (%s)',
            self.address,
            self.port,
            'token required' if self._key is not None else 'no token',
        )
        if ready is not None:
            ready()
        try:
            while not self._stopping.is_set():
                self._step()
        finally:
            self._shut_down()

    # --- the loop -------------------------------------------------------------------

    def _step(self) -> None:
        self._worker.progress()
        if self._serve_requests():
            # A client that just got an answer often asks again at once: poll a
            # little before sleeping, as waking up costs tens of microseconds.
            self._poll_until = time.perf_counter() + POLL
        self._finish_puts()
        for peer in self._peers.values():
            if peer.sends:
                peer.sends = [(r, b) for r, b in peer.sends if not r.completed]
        if self._greeting:
            self._expire_greetings()
        if time.perf_counter() < self._poll_until:
            os.sched_yield()  # polling, but not at the expense of the clients
            return
        if not self._worker.arm():
            return  # events arrived while arming: progress them first
        for key, _ in self._selector.select(timeout=1.0):
            if key.fileobj is self._wake_read:
                self._wake_read.recv(64)
            elif key.data is not None:
                key.data(key.fileobj)

    def _accept(self, listener: Any) -> None:
        try:
            control, peer_address = listener.accept()
        except BlockingIOError:
            return
        # The hello is read as it arrives: a client that connects and says
        # nothing must not hold up the others.
        control.setblocking(False)
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        self._greeting[control] = _Greeting(str(peer_address), deadline)
        self._selector.register(control, selectors.EVENT_READ, self._read_hello)

    def _read_hello(self, control: Any) -> None:
        greeting = self._greeting[control]
        try:
            data = control.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        try:
            if not data:
                raise ValueError('closed during the handshake')
            greeting.received += data
            if greeting.hello is None:
                self._welcome(control, greeting)
            else:
                self._check_proof(control, greeting)
        except (OSError, ValueError, self._libucxx.UCXError) as error:
            logger.warning('handshake with %s failed: %s', greeting.peer_address, error)
            self._end_greeting(control)

    def _end_greeting(self, control: socket.socket) -> None:
        del self._greeting[control]
        self._selector.unregister(control)
        control.close()

    def _expire_greetings(self) -> None:
        now = time.monotonic()
        for control, greeting in list(self._greeting.items()):
            if now > greeting.deadline:
                logger.warning('handshake with %s timed out', greeting.peer_address)
                self._end_greeting(control)

    def _welcome(self, control: socket.socket, greeting: _Greeting) -> None:
        """Answer a hello once all of it arrived (see ``_protocol``)."""
        received = greeting.received
        if len(received) < wire.HELLO.size:
            return
        magic, version, flags, length = wire.HELLO.unpack_from(received)
        if magic != wire.MAGIC:
            raise ValueError('not a ProxyStore UCX client')
        pid = os.getpid()
        if version != wire.VERSION:
            self._send_control(
                control,
                wire.WELCOME.pack(
                    wire.MAGIC, wire.VERSION, wire.Welcome.VERSION_MISMATCH, 0, pid, 0
                ),
            )
            raise ValueError(f'client speaks protocol version {version}')
        if flags & wire.FLAG_PING:
            self._send_control(
                control,
                wire.WELCOME.pack(wire.MAGIC, wire.VERSION, wire.Welcome.OK, 0, pid, 0)
                + wire.STATS.pack(len(self._objects), self._bytes),
            )
            self._end_greeting(control)
            return
        if length > MAX_ADDRESS:
            raise ValueError(f'a worker address of {length} bytes')
        end = wire.HELLO.size + length
        if len(received) < end:
            return
        if len(received) > end:
            raise ValueError('bytes after the hello, before any answer')
        if self._key is None:
            self._accept_client(control, bytes(received))
            return
        # Nothing of this client is used (no UCX endpoint is made to its
        # worker) until it proves it knows the token.
        greeting.hello = bytes(received)
        greeting.received = bytearray()
        greeting.nonce = secrets.token_bytes(32)
        self._send_control(
            control,
            wire.WELCOME.pack(
                wire.MAGIC, wire.VERSION, wire.Welcome.CHALLENGE, 0, pid, 0
            )
            + wire.CHALLENGE.pack(greeting.nonce, self.server_id),
        )

    def _check_proof(self, control: socket.socket, greeting: _Greeting) -> None:
        """Check the proof that answers a challenge; welcome or refuse the client."""
        assert self._key is not None
        assert greeting.hello is not None
        if len(greeting.received) < wire.PROOF.size:
            return
        if len(greeting.received) > wire.PROOF.size:
            raise ValueError(
                f'an answer of {len(greeting.received)} bytes to the challenge, '
                f'not {wire.PROOF.size}'
            )
        expected = wire.proof(self._key, greeting.nonce, self.server_id, greeting.hello)
        if not hmac.compare_digest(bytes(greeting.received), expected):
            self._send_control(
                control,
                wire.WELCOME.pack(
                    wire.MAGIC, wire.VERSION, wire.Welcome.REFUSED, 0, os.getpid(), 0
                ),
            )
            raise ValueError('wrong proof of the token: refused')
        self._accept_client(control, greeting.hello)

    def _new_client_id(self) -> int:
        # Random, not counted: the id is in the tag of every UCX message, and
        # should not be guessed by one who got hold of the worker's address.
        while True:
            client_id = secrets.randbelow(0xFFFFFF) + 1
            if client_id not in self._peers:
                return client_id

    def _accept_client(self, control: socket.socket, hello: bytes) -> None:
        """Connect to the client's worker and welcome it with the server's address."""
        _, _, flags, length = wire.HELLO.unpack_from(hello)
        theirs = hello[wire.HELLO.size : wire.HELLO.size + length]
        pid = os.getpid()
        client_id = self._new_client_id()
        endpoint = self._worker.create_endpoint_from_worker_address(
            self._libucxx.UCXAddress.create_from_buffer(theirs),
            bool(flags & wire.FLAG_ERROR_HANDLING),
        )
        mine = self._worker.address.tobytes()
        self._send_control(
            control,
            wire.WELCOME.pack(
                wire.MAGIC, wire.VERSION, wire.Welcome.OK, client_id, pid, len(mine)
            )
            + mine,
        )
        del self._greeting[control]
        self._peers[client_id] = _Peer(client_id, control, endpoint)
        self._selector.modify(control, selectors.EVENT_READ, self._check_peer)
        logger.debug('client %d connected', client_id)

    @staticmethod
    def _send_control(control: socket.socket, data: bytes) -> None:
        # A few hundred bytes into an empty socket buffer: sent at once.
        control.settimeout(HANDSHAKE_TIMEOUT)
        try:
            control.sendall(data)
        finally:
            control.setblocking(False)

    def _check_peer(self, control: Any) -> None:
        try:
            data = control.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if data:
            return  # clients send nothing on the control connection after hello
        for client_id, peer in list(self._peers.items()):
            if peer.control is control:
                self._drop(client_id)

    def _drop(self, client_id: int) -> None:
        peer = self._peers.pop(client_id)
        self._selector.unregister(peer.control)
        peer.control.close()
        self._puts = [put for put in self._puts if put.peer is not peer]
        # A non-blocking close: a blocking one (the endpoint's destructor) waits
        # forever for a client that stopped answering. An endpoint that UCX
        # already failed (error handling on, the client died) is not closed:
        # ucxx crashes closing one. The endpoint and the buffers of sends in
        # flight stay referenced until the server exits.
        if peer.endpoint.alive:
            with contextlib.suppress(self._libucxx.UCXError):
                peer.endpoint.close()
        self._retired.append(peer)
        logger.debug('client %d left', client_id)

    # --- requests -------------------------------------------------------------------

    def _serve_requests(self) -> bool:
        """Answer the requests that arrived; whether there were any."""
        tag = self._libucxx.UCXXTag
        for served in range(1024):  # bounded, so departures and puts get a turn
            probe = self._worker.tag_probe(
                tag(wire.Kind.REQUEST << 56), self._libucxx.UCXXTagMask(wire.KIND_MASK)
            )
            if not probe.matched:
                return served > 0
            sender = probe.sender_tag.value
            message = numpy.empty(probe.length, dtype=numpy.uint8).data
            request = self._worker.tag_recv(self._array(message), tag(sender))
            while not request.completed:
                self._worker.progress()
            _, client_id, sequence = wire.split_tag(sender)
            peer = self._peers.get(client_id)
            if peer is None:
                continue  # a departed client's last words
            try:
                request.check_error()
                self._answer(peer, sequence, message)
            except _FullError as error:
                self._reply(peer, sequence, self._error(str(error), wire.Status.FULL))
            except (wire.ProtocolError, ValueError) as error:
                self._reply(peer, sequence, self._error(str(error)))
            except self._libucxx.UCXError as error:
                logger.warning('request of client %d failed: %s', client_id, error)
        return True

    def _answer(self, peer: _Peer, sequence: int, message: memoryview) -> None:
        op, count = wire.decode_header(message)
        if op == wire.Op.PUT:
            self._put(peer, sequence, message, count)
        elif op == wire.Op.GET:
            self._get(peer, sequence, message, count)
        elif op == wire.Op.EXISTS:
            ids = wire.decode_ids(message, count)
            flags = bytes(
                object_id in self._objects
                or (self._spill is not None and object_id in self._spill)
                for object_id in ids
            )
            self._reply(peer, sequence, self._ok(count) + flags)
        elif op == wire.Op.LIST:
            entries = [(i, len(d), False) for i, d in self._objects.items()]
            if self._spill is not None:
                entries += self._spill.entries()
            listing = wire.encode_listing(entries)
            self._reply(
                peer, sequence, self._ok(len(entries)) + wire.SIZE.pack(len(listing))
            )
            if listing:
                self._send(peer, wire.Kind.DATA_OTHER_SIZE, sequence + 1, listing)
        elif op == wire.Op.EVICT:
            for object_id in wire.decode_ids(message, count):
                data = self._objects.pop(object_id, None)
                if data is not None:
                    self._bytes -= len(data)
                if self._spill is not None:
                    self._spill.remove(object_id)
            self._reply(peer, sequence, self._ok(count))
        else:
            raise wire.ProtocolError(f'unknown operation {op}')

    def _put(self, peer: _Peer, sequence: int, message: memoryview, count: int) -> None:
        entries, offset = wire.decode_put(message, count)
        # Lengths come from the client: bound them before allocating anything.
        announced = sum(entry.size for entry in entries if entry.size > wire.INLINE)
        if announced > MAX_PUT_BYTES:
            raise wire.ProtocolError(
                f'a put of {announced} bytes is more than this server can hold '
                f'({MAX_PUT_BYTES} bytes of memory)'
            )
        incoming = sum(entry.size for entry in entries)
        if self.capacity is not None:
            freed = sum(
                len(self._objects[e.object_id])
                for e in entries
                if e.object_id in self._objects
            )
            used = self._bytes + self._reserved - freed
            if used + incoming > self.capacity and self._spill is not None:
                keep = {e.object_id for e in entries}
                used -= self._spill_until(used + incoming - self.capacity, keep)
            if used + incoming > self.capacity:
                raise _FullError(self._full_message(incoming, used))
        objects: list[tuple[bytes, bytes | memoryview]] = []
        large: list[tuple[wire.PutEntry, memoryview]] = []
        try:
            for entry in entries:
                if entry.size <= wire.INLINE:
                    end = offset + entry.size
                    if end > len(message):
                        raise wire.ProtocolError('truncated inline object')
                    objects.append((entry.object_id, message[offset:end].tobytes()))
                    offset = end
                    continue
                # Not a bytearray: numpy leaves the memory for UCX to fill.
                view = numpy.empty(entry.size, dtype=numpy.uint8).data
                large.append((entry, view))
                objects.append((entry.object_id, view))
        except MemoryError:
            raise wire.ProtocolError(
                f'the server could not allocate {announced} bytes for a put'
            ) from None
        if offset != len(message):
            raise wire.ProtocolError('extra bytes after a put request')
        # Every buffer exists: only now are receives posted into them.
        requests = []
        index = 1
        for entry, view in large:
            start = 0
            for frame in entry.frames:
                tag = wire.tag(wire.Kind.PAYLOAD, peer.client_id, sequence + index)
                requests.append(
                    self._worker.tag_recv(
                        self._array(view[start : start + frame]),
                        self._libucxx.UCXXTag(tag),
                    )
                )
                start += frame
                index += 1
        self._reserved += incoming
        self._puts.append(_PendingPut(peer, sequence, objects, requests, incoming))

    def _finish_puts(self) -> None:
        if not self._puts:
            return
        waiting = []
        for put in self._puts:
            if not all(request.completed for request in put.requests):
                waiting.append(put)
                continue
            self._reserved -= put.size
            try:
                for request in put.requests:
                    request.check_error()
            except self._libucxx.UCXError as error:
                logger.warning('put of client %d failed: %s', put.peer.client_id, error)
                continue
            for object_id, data in put.objects:
                old = self._objects.pop(object_id, None)
                if old is not None:
                    self._bytes -= len(old)
                if self._spill is not None:
                    self._spill.remove(object_id)
                self._objects[object_id] = data
                self._bytes += len(data)
            self._reply(put.peer, put.sequence, self._ok(len(put.objects)))
        self._puts = waiting

    def _get(self, peer: _Peer, sequence: int, message: memoryview, count: int) -> None:
        entries = wire.decode_get(message, count)
        sizes = []
        inline = []
        large = []
        for index, (object_id, expected) in enumerate(entries, start=1):
            data = self._objects.get(object_id)
            if data is not None:
                self._objects.move_to_end(object_id)  # used now: spilled last
            elif self._spill is not None and object_id in self._spill:
                data = self._restore(object_id)
            size = -1 if data is None else len(data)
            sizes.append(wire.SIZE.pack(size))
            if data is None or size == 0:
                continue
            if wire.inline(expected, size):
                inline.append(data if isinstance(data, bytes) else data.tobytes())
            else:
                kind = wire.Kind.DATA if size == expected else wire.Kind.DATA_OTHER_SIZE
                large.append((kind, index, data))
        self._reply(peer, sequence, self._ok(count) + b''.join(sizes + inline))
        for kind, index, data in large:
            self._send(peer, kind, sequence + index, data)

    # --- spilling -------------------------------------------------------------------

    def _spill_until(self, needed: int, keep: set[bytes]) -> int:
        """Move least recently used objects to disk until ``needed`` bytes are free.

        Returns the bytes freed (maybe fewer: puts in flight hold the rest).
        """
        assert self._spill is not None
        freed = 0
        for object_id in list(self._objects):
            if freed >= needed:
                break
            if object_id in keep:
                continue
            data = self._objects.pop(object_id)
            self._spill.write(object_id, data)
            self._bytes -= len(data)
            freed += len(data)
        return freed

    def _restore(self, object_id: bytes) -> Any:
        """A spilled object's bytes; back in memory if it fits without spilling."""
        assert self._spill is not None
        assert self.capacity is not None
        data = self._spill.read(object_id)
        if data is None:
            return None
        if self._bytes + self._reserved + len(data) <= self.capacity:
            self._spill.remove(object_id)
            self._objects[object_id] = data
            self._bytes += len(data)
        return data

    # --- replies --------------------------------------------------------------------

    @staticmethod
    def _ok(count: int) -> bytes:
        return wire.HEADER.pack(wire.Status.OK, wire.VERSION, 0, count)

    def _full_message(self, size: int, used: int) -> str:
        assert self.capacity is not None
        return (
            f"a put of {size} bytes does not fit: the server's capacity is "
            f'{self.capacity} bytes, {used} are held by {len(self._objects)} '
            f'objects and puts in flight; evict objects or start the server '
            f'with a larger --capacity'
        )

    @staticmethod
    def _error(text: str, status: wire.Status = wire.Status.BAD_REQUEST) -> bytes:
        header = wire.HEADER.pack(status, wire.VERSION, 0, 0)
        room = REPLY_MIN - len(header)
        return header + text.encode()[:room]

    def _reply(self, peer: _Peer, sequence: int, reply: bytes) -> None:
        self._send(peer, wire.Kind.REPLY, sequence, reply)

    def _send(self, peer: _Peer, kind: wire.Kind, sequence: int, data: Any) -> None:
        tag = self._libucxx.UCXXTag(wire.tag(kind, peer.client_id, sequence))
        request = peer.endpoint.tag_send(self._array(data), tag)
        if not request.completed:
            peer.sends.append((request, data))

    def _shut_down(self) -> None:
        for control in list(self._greeting):
            self._end_greeting(control)
        for client_id in list(self._peers):
            self._drop(client_id)
        self._selector.close()
        self._listener.close()
        self._wake_read.close()
        self._wake_write.close()
        if self._spill is not None:
            self._spill.close()
        logger.info('UCX data server on %s:%d stopped', self.address, self.port)


def serve(
    address: str,
    port: int,
    transports: str | None = None,
    devices: str | None = None,
    ready: Callable[[DataServer], None] | None = None,
    token: bytes | str | None = None,
    capacity: int | None = None,
    spill_directory: str | None = None,
) -> None:
    """Run a data server in this process until SIGINT or SIGTERM.

    ``token``, ``capacity``, ``spill_directory``: see `DataServer`.
    """
    server = DataServer(
        address, port, transports, devices, token, capacity, spill_directory
    )
    previous = {
        signum: signal.signal(signum, lambda *_: server.stop())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server.serve_forever(None if ready is None else lambda: ready(server))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
