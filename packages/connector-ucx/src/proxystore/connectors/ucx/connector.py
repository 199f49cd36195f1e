"""`UCXConnector`: objects in a node's data server, moved with UCX."""

from __future__ import annotations

import atexit
import fcntl
import os
import socket
import struct
import subprocess
import threading
import uuid
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from proxystore.connectors.protocols import StoredObject
from proxystore.connectors.protocols import check_key
from proxystore.connectors.protocols import retry_while_full
from proxystore.connectors.ucx import _launch
from proxystore.connectors.ucx import _protocol as wire
from proxystore.connectors.ucx._auth import TOKEN_ENV
from proxystore.connectors.ucx._auth import as_token
from proxystore.connectors.ucx._auth import environment_token
from proxystore.connectors.ucx._auth import warn_if_exposed
from proxystore.connectors.ucx._client import Client
from proxystore.connectors.ucx._client import get_client
from proxystore.connectors.ucx._transport import transports_option
from proxystore.connectors.ucx.exceptions import UCXConnectorError
from proxystore.connectors.ucx.exceptions import UCXServerNotRunningError
from proxystore.serialize import BytesLike

__all__ = ['DEFAULT_PORT', 'TOKEN_ENV', 'UCXConnector', 'UCXKey']

DEFAULT_PORT = 13740
DEFAULT_TIMEOUT = 60.0


class UCXKey(NamedTuple):
    """Key of an object in a `UCXConnector`: it names the server holding it."""

    object_id: str
    """The object's id (32 hex digits)."""
    size: int
    """The object's size in bytes (``-1``: not known yet, for `new_key`)."""
    peer_host: str
    """Address of the data server that holds the object."""
    peer_port: int
    """Port of that server's control socket."""


def interface_address(interface: str) -> str:
    """The IPv4 address of a network interface (Linux).

    Raises:
        UCXConnectorError: If there is no such interface or it has no address.
    """
    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(
                probe.fileno(),
                siocgifaddr,
                struct.pack('256s', interface[:15].encode()),
            )
        except OSError as error:
            raise UCXConnectorError(
                f'network interface {interface!r} has no IPv4 address ({error})',
            ) from None
    return socket.inet_ntoa(packed[20:24])


LOOPBACK = '127.0.0.1'
"""Where a server binds unless given an address or interface."""


# Servers this process started, stopped when it exits (unless started by hand).
_spawned: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
_spawn_lock = threading.Lock()
_spawner = os.getpid()


def _renew_spawn_lock_in_child() -> None:
    # A thread of the parent may have held it while a server started (that
    # waits up to the connector's timeout) when another thread forked.
    global _spawn_lock
    _spawn_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_spawn_lock_in_child)


def _stop_spawned() -> None:
    if _spawner != os.getpid():
        return  # a forked child: the servers belong to its parent
    for process in _spawned.values():
        process.terminate()
    for process in _spawned.values():
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    _spawned.clear()


atexit.register(_stop_spawned)


class UCXConnector:
    """Connector to the UCX data servers of the nodes.

    Each node runs one data server that keeps objects in its memory. ``put``
    stores on this node's server and returns a key naming it; ``get``,
    ``exists`` and ``evict`` go to the server the key names, from any node.
    Every connector of a process shares one connection per server, and a
    batch travels as one request over it.

    If no server answers on this node when the first object is put, the
    connector starts one in the background and stops it when this process
    exits (its objects are then gone). Start a server that outlives the
    program with ``proxystore-ucx-server start``.

    Args:
        port: Port of the data servers' control sockets.
        address: Address of this node's server (to bind to, and for other
            nodes to reach it). Default: ``interface``'s address, or else
            loopback (127.0.0.1): a server reachable from other nodes must be
            asked for (and should have a token).
        interface: Network interface whose address is ``address``.
        timeout: Most seconds an operation waits for a server.
        transports: UCX transports to use (UCX's ``TLS`` option, e.g.
            ``'tcp,sm,self'`` or ``['rc', 'sm', 'self']``). Default: UCX's
            choice, the fastest it finds (shared memory within a node, RDMA
            or TCP between nodes).
        devices: Network devices UCX may use (``NET_DEVICES``, e.g. ``'lo'``
            or ``'mlx5_0:1'``). Default: all.
        spawn_server: Start this node's server on the first put if none
            answers; with ``False`` a put raises `UCXServerNotRunningError`.
        error_handling: UCX endpoint error handling. On (the default), a
            server that dies mid-transfer fails the operation with
            `UCXServerGoneError`, and UCX moves bytes within a node over TCP on
            loopback. Off, UCX may use shared memory and cross-memory attach
            within a node (about twice the bandwidth here), but a peer process
            that dies while UCX moves its bytes makes UCX abort *this* process:
            turn it off only where a dying server may take its clients along.
        token: Token of the data servers' control connections: a server
            started with one serves only clients that prove they know it
            (a challenge and an HMAC, once per connection), and the server
            this connector starts gets it. Default: the
            ``PROXYSTORE_UCX_TOKEN`` environment variable, else the secret of
            the `Store` the connector is given to, else none (the server
            serves any client that connects). Never part of `config`: other
            processes find it the same way (the environment or the store).
        full_timeout: Seconds a put waits, retrying, when its server refuses
            it for its capacity (``proxystore-ucx-server start --capacity``),
            before raising `UCXStoreFullError` (``0``: at once).

    Raises:
        ValueError: If ``port``, ``timeout`` or ``full_timeout`` is out of
            range, or ``token`` is empty or too long.
        TypeError: If ``error_handling`` is not a bool, or ``token`` is not
            bytes or a string.
        UCXConnectorError: If ``interface`` has no address.
    """

    Key = UCXKey
    network_channel = True
    """Peers on other hosts serve and write its objects (`NetworkConnector`)."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        address: str | None = None,
        interface: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transports: str | Sequence[str] | None = None,
        devices: str | None = None,
        spawn_server: bool = True,
        error_handling: bool = True,
        token: bytes | str | None = None,
        full_timeout: float = 0.0,
    ) -> None:
        if not full_timeout >= 0:
            raise ValueError(f'full_timeout must be 0 or more, not {full_timeout!r}.')
        self.full_timeout = full_timeout
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f'port must be between 1 and 65535, not {port!r}.')
        if not timeout > 0:
            raise ValueError(f'timeout must be positive, not {timeout!r}.')
        self.port = port
        self._address_option = address
        self.interface = interface
        if address is not None:
            self.address = address
        elif interface is not None:
            self.address = interface_address(interface)
        else:
            self.address = LOOPBACK
        self.timeout = timeout
        self.transports = transports_option(transports)
        self.devices = devices
        self.spawn_server = spawn_server
        if not isinstance(error_handling, bool):
            raise TypeError(
                f'error_handling must be True or False, not {error_handling!r}.'
            )
        self.error_handling = error_handling
        self._token = as_token(token, 'token')
        if self._token is None:
            self._token = environment_token()
        self._token_given = self._token is not None

    @property
    def authenticated(self) -> bool:
        """Whether the connector has a token to prove to the servers."""
        return self._token is not None

    def use_secret(self, secret: bytes) -> None:
        """Take a store's secret as the token, unless a token was given already.

        A `Store` with a secret calls it on its connector, so that a store's
        processes share the token without another setting.
        """
        if not self._token_given:
            self._token = as_token(secret, 'the store secret')

    def __repr__(self) -> str:
        return f'UCXConnector(address={self.address!r}, port={self.port})'

    def __enter__(self) -> UCXConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def config(self) -> dict[str, Any]:
        """The connector's options (those at their defaults are left out).

        An address found from the host is left out too, so that a connector
        made from the config on another node puts to that node's server.
        """
        options: dict[str, Any] = {
            'port': self.port,
            'address': self._address_option,
            'interface': self.interface,
            'timeout': self.timeout,
            'transports': self.transports,
            'devices': self.devices,
            'spawn_server': self.spawn_server,
            'error_handling': self.error_handling,
            'full_timeout': self.full_timeout,
        }
        defaults = {
            'full_timeout': 0.0,
            'port': DEFAULT_PORT,
            'timeout': DEFAULT_TIMEOUT,
            'spawn_server': True,
            'error_handling': True,
        }
        return {
            name: value
            for name, value in options.items()
            if value is not None and defaults.get(name) != value
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> UCXConnector:
        """Make a connector from the output of `config`."""
        return cls(**config)

    def close(self, kill_server: bool = False) -> None:
        """Release the connector; with ``kill_server``, stop the server it started.

        Connections are shared by the process's connectors and closed when it
        exits.
        """
        if kill_server:
            with _spawn_lock:
                process = _spawned.pop((self.address, self.port), None)
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    # --- servers and keys -----------------------------------------------------------

    def _client(self, host: str, port: int) -> Client:
        key = None if self._token is None else wire.auth_key(self._token)
        return get_client(
            (host, port, self.transports, self.devices, self.error_handling, key),
            self.timeout,
        )

    def _local(self) -> Client:
        try:
            return self._client(self.address, self.port)
        except UCXServerNotRunningError:
            if not self.spawn_server:
                raise
        with _spawn_lock:
            try:
                return self._client(self.address, self.port)
            except UCXServerNotRunningError:
                pass
            warn_if_exposed(self.address, self._token)
            process = _launch.start_process(
                self.address,
                self.port,
                self.transports,
                self.devices,
                self.timeout,
                token=self._token,
            )
            if process is not None:
                _spawned[(self.address, self.port)] = process
        return self._client(self.address, self.port)

    def _check(self, key: UCXKey) -> bytes:
        check_key(self, key, UCXKey)
        try:
            object_id = bytes.fromhex(key.object_id)
        except (TypeError, ValueError):
            object_id = b''
        if len(object_id) != 16:
            raise UCXConnectorError(f'{key!r} has an invalid object id.')
        if not isinstance(key.size, int) or key.size < -1:
            raise UCXConnectorError(f'{key!r} has an invalid size.')
        if not isinstance(key.peer_port, int) or not 0 < key.peer_port < 65536:
            raise UCXConnectorError(f'{key!r} has an invalid port.')
        return object_id

    def new_key(self, obj: BytesLike | None = None) -> UCXKey:
        """A new key on this node's server; with ``obj``, also store it."""
        size = -1 if obj is None else memoryview(obj).nbytes
        key = UCXKey(uuid.uuid4().hex, size, self.address, self.port)
        if obj is not None:
            self.set(key, obj)
        return key

    # --- operations -----------------------------------------------------------------

    def put(self, obj: BytesLike) -> UCXKey:
        """Store bytes on this node's server and return their key."""
        return self.put_frames([obj])

    def put_frames(self, buffers: Sequence[BytesLike]) -> UCXKey:
        """`put` of the join of ``buffers``, sent one after the other (no join)."""
        frames = [_contiguous(buffer) for buffer in buffers]
        key = UCXKey(
            uuid.uuid4().hex,
            sum(frame.nbytes for frame in frames),
            self.address,
            self.port,
        )
        self._put(self._local(), [(bytes.fromhex(key.object_id), frames)])
        return key

    def _put(
        self, client: Client, items: Sequence[tuple[bytes, Sequence[memoryview]]]
    ) -> None:
        """``client.put``, retried for ``full_timeout`` while the server is full."""
        retry_while_full(lambda: client.put(items, self.timeout), self.full_timeout)

    def put_batch(self, objs: Sequence[BytesLike]) -> list[UCXKey]:
        """`put` for many objects, in one request."""
        frames = [_contiguous(obj) for obj in objs]
        keys = [
            UCXKey(uuid.uuid4().hex, frame.nbytes, self.address, self.port)
            for frame in frames
        ]
        if keys:
            self._put(
                self._local(),
                [
                    (bytes.fromhex(key.object_id), [frame])
                    for key, frame in zip(keys, frames, strict=True)
                ],
            )
        return keys

    def set(self, key: UCXKey, obj: BytesLike) -> None:
        """Store bytes under a key made by `new_key` (on the server it names)."""
        object_id = self._check(key)
        if (key.peer_host, key.peer_port) == (self.address, self.port):
            client = self._local()
        else:
            client = self._client(key.peer_host, key.peer_port)
        self._put(client, [(object_id, [_contiguous(obj)])])

    def get(self, key: UCXKey) -> BytesLike | None:
        """The bytes under ``key``, from the server that holds them."""
        object_id = self._check(key)
        client = self._client(key.peer_host, key.peer_port)
        return client.get([(object_id, key.size)], self.timeout)[0]

    def get_batch(self, keys: Sequence[UCXKey]) -> list[BytesLike | None]:
        """`get` for many keys: one request to each server."""
        results: list[BytesLike | None] = [None] * len(keys)
        for (host, port), indices in self._by_server(keys).items():
            items = [(self._check(keys[i]), keys[i].size) for i in indices]
            found = self._client(host, port).get(items, self.timeout)
            for index, data in zip(indices, found, strict=True):
                results[index] = data
        return results

    def exists(self, key: UCXKey) -> bool:
        """Whether the server named by ``key`` holds an object under it."""
        object_id = self._check(key)
        return self._client(key.peer_host, key.peer_port).exists(
            [object_id], self.timeout
        )[0]

    def list_objects(self) -> Iterator[StoredObject]:
        """The objects of this node's data server (spilled ones flagged).

        The owner is the server's address; servers keep no time of writing.

        Raises:
            UCXServerNotRunningError: If no server answers on this node.
        """
        # Never starts a server: listing one that is not there finds nothing.
        client = self._client(self.address, self.port)
        for object_id, size, spilled in client.list(self.timeout):
            yield StoredObject(
                key=UCXKey(object_id.hex(), size, self.address, self.port),
                size=size,
                owner=f'{self.address}:{self.port}',
                spilled=spilled,
            )

    def evict(self, key: UCXKey) -> None:
        """Remove the object under ``key`` from its server; missing is fine."""
        self.evict_batch([key])

    def evict_batch(self, keys: Sequence[UCXKey]) -> None:
        """`evict` for many keys: one request to each server."""
        for (host, port), indices in self._by_server(keys).items():
            ids = [self._check(keys[i]) for i in indices]
            self._client(host, port).evict(ids, self.timeout)

    def _by_server(self, keys: Sequence[UCXKey]) -> dict[tuple[str, int], list[int]]:
        groups: dict[tuple[str, int], list[int]] = {}
        for index, key in enumerate(keys):
            self._check(key)
            groups.setdefault((key.peer_host, key.peer_port), []).append(index)
        return groups


def _contiguous(buffer: BytesLike) -> memoryview:
    view = memoryview(buffer)
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    return view.cast('B') if view.format != 'B' or view.ndim != 1 else view
