"""The Redis connector (see the package's docstring for the design)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
import time
import urllib.parse
import weakref
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

import redis
import redis.backoff
import redis.cluster
import redis.exceptions
import redis.retry

from proxystore.connectors.protocols import StoredObject
from proxystore.connectors.protocols import check_key
from proxystore.connectors.redis._credentials import resolve_password
from proxystore.connectors.redis._errors import translated
from proxystore.connectors.redis._options import RedisOptions
from proxystore.connectors.redis._resp import byte_view
from proxystore.connectors.redis._resp import get_command
from proxystore.connectors.redis._resp import nbytes
from proxystore.connectors.redis._resp import read_bulk
from proxystore.connectors.redis._resp import set_frames
from proxystore.connectors.redis._wait import RECONNECT_SECONDS
from proxystore.connectors.redis._wait import set_channel
from proxystore.connectors.redis._wait import wait_for
from proxystore.connectors.redis.exceptions import RedisAuthenticationError
from proxystore.connectors.redis.exceptions import RedisConnectorError
from proxystore.connectors.redis.exceptions import RedisDurabilityError
from proxystore.connectors.redis.exceptions import RedisValueTooLargeError
from proxystore.serialize import BytesLike

__all__ = ['RedisConnector', 'RedisKey']

# Below this size a payload is joined and sent with a plain SET: one system call
# beats several for small objects.
_FRAMED_MIN_BYTES = 64 * 1024
_SCAN_BATCH = 1000
# The server's default proto-max-bulk-len, assumed where CONFIG GET is denied.
_DEFAULT_MAX_BULK = 512 * 1024 * 1024
# Keys made by `new_key` are the prefix and this many URL-safe characters; clear
# deletes only names of exactly that shape, so a namespace whose prefix starts
# with this one ('app:' and 'app:x:') is never touched.
_TOKEN_BYTES = 9
_TOKEN_CHARS = 12
_TOKEN = re.compile(rf'[A-Za-z0-9_-]{{{_TOKEN_CHARS}}}')
_GLOB_SPECIALS = re.compile(r'([*?\[\]\\^])')
# The defaults of the constructor: the options' fields (stated there once).
_DEFAULTS = RedisOptions

# The classes keep the module path they shipped under in 1.x (the package):
# pickled keys, connector configs (kind ``redis``) and reprs read as before.
_PUBLIC_MODULE = 'proxystore.connectors.redis'


class RedisKey(NamedTuple):
    """Key of an object in a `RedisConnector`."""

    redis_key: str
    """The key in Redis (the connector's prefix included)."""


RedisKey.__module__ = _PUBLIC_MODULE


# Every connector of the process: a forked child gives each a new client lock,
# which a thread of the parent may have held (connecting, or discovering a
# cluster's nodes) when another thread forked.
_connectors: weakref.WeakSet[RedisConnector] = weakref.WeakSet()


def _renew_client_locks_in_child() -> None:
    for connector in list(_connectors):
        connector._client_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_client_locks_in_child)


def _node(node: Sequence[Any]) -> tuple[str, int]:
    if isinstance(node, str | bytes) or len(node) != 2:
        raise ValueError(
            f'startup_nodes must be (host, port) pairs, not {node!r}.',
        )
    host, port = node
    return host, port


class RedisConnector:
    """Connector to a Redis server (or cluster).

    Give the server in one of these ways: ``hostname`` and ``port``, ``url``
    (``redis://``, ``rediss://`` or ``unix://``), ``unix_socket_path``, or, for a
    cluster, ``cluster=True`` with ``hostname``/``port`` or ``url`` of any node,
    or ``startup_nodes``.

    Args:
        hostname: Host of the server (or of a cluster node).
        port: Port of the server.
        clear: Delete every key under `prefix` on `close`.
        url: Server URL, instead of hostname and port.
        cluster: The server is a Redis Cluster.
        startup_nodes: ``(host, port)`` of cluster nodes (implies ``cluster``).
        unix_socket_path: Path of the server's unix socket.
        db: Database number (not with a cluster).
        username: ACL user name.
        password: Password (of the user, or of ``requirepass``). It stays in
            this process: `config` carries its id, and processes that make the
            connector from a config read it from ``PROXYSTORE_REDIS_PASSWORD``.
        ssl: Connect with TLS.
        ssl_ca_certs: CA certificates (PEM) that verify the server.
        ssl_certfile: Client certificate (PEM), if the server asks for one.
        ssl_keyfile: Key of the client certificate.
        ssl_cert_reqs: Verification of the server: ``'required'``,
            ``'optional'`` or ``'none'``.
        ssl_check_hostname: Check that the certificate matches the host name.
        max_connections: Most connections in the pool (per node of a cluster);
            threads beyond it wait for a free connection.
        prefix: Namespace of the keys; a random one by default. Copies of the
            connector made from its config share it.
        ttl: Seconds after which Redis deletes a stored object (``None``: never).
        socket_timeout: Seconds a command may wait for the server to send or
            accept data, so a frozen server or a cut network raises
            `RedisUnavailableError` instead of hanging (``None``: wait forever).
        socket_connect_timeout: Seconds to connect.
        retries: Times a command is retried after a connection error (with a
            short exponential backoff, up to half a second), so that a server
            restart or a stale pooled connection is survived; then the error is
            raised. A `wait` whose connection breaks keeps reconnecting for up
            to ``socket_connect_timeout`` seconds (5 when ``None``).
        durable: Return from a put or set only once the server confirms the
            write is durable, asked on the write's own connection right after
            it: ``'local'``, fsynced to the server's append-only file
            (``WAITAOF 1 0``; the server needs ``appendonly yes``);
            ``'replicas'``, acknowledged by ``durable_replicas`` replicas
            (``WAIT``; in their memory, not necessarily on their disks);
            ``'all'``, fsynced locally and by ``durable_replicas`` replicas
            (``WAITAOF 1 n``). ``None`` (default): a write returns once the
            server has it in memory. ``WAITAOF`` needs Redis 7.2 or Valkey
            7.2 or later. If the server does not confirm within
            ``durable_timeout``, `RedisDurabilityError` is raised.
        durable_replicas: Replicas that must acknowledge (``'replicas'``,
            ``'all'``).
        durable_timeout: Seconds the server may take to confirm; shorter
            than ``socket_timeout``.

    Raises:
        ValueError: If the server is not given exactly one way, or an option is
            invalid.
    """

    __module__ = _PUBLIC_MODULE

    Key = RedisKey
    network_channel = True
    """Other hosts can write to the server (`NetworkConnector`)."""

    def __init__(
        self,
        hostname: str | None = _DEFAULTS.hostname,
        port: int | None = _DEFAULTS.port,
        clear: bool = _DEFAULTS.clear,
        *,
        url: str | None = _DEFAULTS.url,
        cluster: bool = _DEFAULTS.cluster,
        startup_nodes: Sequence[tuple[str, int]] | None = _DEFAULTS.startup_nodes,
        unix_socket_path: str | None = _DEFAULTS.unix_socket_path,
        db: int = _DEFAULTS.db,
        username: str | None = _DEFAULTS.username,
        password: str | None = _DEFAULTS.password,
        ssl: bool = _DEFAULTS.ssl,
        ssl_ca_certs: str | None = _DEFAULTS.ssl_ca_certs,
        ssl_certfile: str | None = _DEFAULTS.ssl_certfile,
        ssl_keyfile: str | None = _DEFAULTS.ssl_keyfile,
        ssl_cert_reqs: str = _DEFAULTS.ssl_cert_reqs,
        ssl_check_hostname: bool = _DEFAULTS.ssl_check_hostname,
        max_connections: int | None = _DEFAULTS.max_connections,
        prefix: str | None = _DEFAULTS.prefix,
        ttl: float | None = _DEFAULTS.ttl,
        socket_timeout: float | None = _DEFAULTS.socket_timeout,
        socket_connect_timeout: float | None = _DEFAULTS.socket_connect_timeout,
        retries: int = _DEFAULTS.retries,
        durable: str | None = _DEFAULTS.durable,
        durable_replicas: int = _DEFAULTS.durable_replicas,
        durable_timeout: float = _DEFAULTS.durable_timeout,
    ) -> None:
        options = RedisOptions(
            hostname,
            port,
            clear,
            url=url,
            cluster=cluster,
            startup_nodes=(
                None if startup_nodes is None else tuple(map(_node, startup_nodes))
            ),
            unix_socket_path=unix_socket_path,
            db=db,
            username=username,
            password=password,
            ssl=ssl,
            ssl_ca_certs=ssl_ca_certs,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            ssl_cert_reqs=ssl_cert_reqs,
            ssl_check_hostname=ssl_check_hostname,
            max_connections=max_connections,
            prefix=prefix,
            ttl=ttl,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            retries=retries,
            durable=durable,
            durable_replicas=durable_replicas,
            durable_timeout=durable_timeout,
        )
        self._options = options
        # The options as attributes, as in 1.x (read them, do not assign them).
        self.hostname = options.hostname
        self.port = options.port
        self.clear = options.clear
        self.url = options.url
        self.cluster = options.cluster
        self.startup_nodes = (
            None if options.startup_nodes is None else list(options.startup_nodes)
        )
        self.unix_socket_path = options.unix_socket_path
        self.db = options.db
        self.username = options.username
        self.password = options.password
        self.ssl = options.ssl
        self.ssl_ca_certs = options.ssl_ca_certs
        self.ssl_certfile = options.ssl_certfile
        self.ssl_keyfile = options.ssl_keyfile
        self.ssl_cert_reqs = options.ssl_cert_reqs
        self.ssl_check_hostname = options.ssl_check_hostname
        self.max_connections = options.max_connections
        self.prefix: str = options.prefix or ''
        self.ttl = options.ttl
        self.socket_timeout = options.socket_timeout
        self.socket_connect_timeout = options.socket_connect_timeout
        self.retries = options.retries
        self.durable = options.durable
        self.durable_replicas = options.durable_replicas
        self.durable_timeout = options.durable_timeout
        self._durable_command = options.durable_command
        self._ttl_ms = options.ttl_ms
        self._max_bulk: int | None = None
        self._retry = redis.retry.Retry(
            redis.backoff.ExponentialBackoff(cap=0.5, base=0.05),
            self.retries,
        )
        # Connecting waits for first use: a cluster client talks to the cluster
        # when it is made, and a copy made from a config in a worker should not.
        self._client_instance: Any = None
        self._client_lock = threading.Lock()
        _connectors.add(self)
        # The server as errors name it (the options never change).
        self._location = self._where()

    # --- construction ------------------------------------------------------------

    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            'username': self.username,
            'password': self.password,
            'socket_timeout': self.socket_timeout,
            'socket_connect_timeout': self.socket_connect_timeout,
            'retry': self._retry,
        }
        if self.max_connections is not None:
            options['max_connections'] = self.max_connections
        if self._options.tls:
            options.update(
                ssl_ca_certs=self.ssl_ca_certs,
                ssl_certfile=self.ssl_certfile,
                ssl_keyfile=self.ssl_keyfile,
                ssl_cert_reqs=self.ssl_cert_reqs,
                ssl_check_hostname=self.ssl_check_hostname,
            )
        return options

    def _server_url(self) -> str:
        """The URL of a single server, however it was given."""
        if self.url is not None:
            return self.url
        if self.unix_socket_path is not None:
            path = urllib.parse.quote(self.unix_socket_path)
            return f'unix://{path}?db={self.db}'
        host = f'[{self.hostname}]' if ':' in str(self.hostname) else self.hostname
        scheme = 'rediss' if self.ssl else 'redis'
        return f'{scheme}://{host}:{self.port}/{self.db}'

    def _make_client(self) -> Any:
        options = self._client_options()
        if self.cluster:
            if self.url is not None:
                return redis.cluster.RedisCluster.from_url(self.url, **options)
            if self.hostname is None:
                node: Any = redis.cluster.ClusterNode
                options['startup_nodes'] = [
                    node(h, p) for h, p in self.startup_nodes or ()
                ]
            else:
                options.update(host=self.hostname, port=self.port)
            if self.max_connections is not None:
                options['connection_pool_class'] = redis.BlockingConnectionPool
                options['timeout'] = None
            return redis.cluster.RedisCluster(**options)
        url = self._server_url()
        if url.startswith('unix:'):
            options.pop('socket_connect_timeout')
        pool_class: Any = redis.ConnectionPool
        if self.max_connections is not None:
            # Threads beyond the pool wait for a connection instead of failing;
            # commands are bounded by socket_timeout, so the wait is too.
            pool_class = redis.BlockingConnectionPool
            options['timeout'] = None
        # from_pool: the client owns the pool, so closing it closes the sockets.
        return redis.Redis.from_pool(pool_class.from_url(url, **options))

    @property
    def _client(self) -> Any:
        client = self._client_instance
        if client is None:
            with self._client_lock:
                if self._client_instance is None:
                    with self._errors('connecting'):
                        self._client_instance = self._make_client()
                client = self._client_instance
        return client

    def _where(self) -> str:
        if self.unix_socket_path is not None:
            return f'Redis at unix:{self.unix_socket_path}'
        kind = 'Redis Cluster' if self.cluster else 'Redis'
        if self.url is not None:
            parsed = urllib.parse.urlsplit(self.url)
            return f'{kind} at {parsed.hostname}:{parsed.port}'
        if self.hostname is None and self.startup_nodes:
            host, port = self.startup_nodes[0]
            return f'{kind} at {host}:{port}'
        return f'{kind} at {self.hostname}:{self.port}'

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where()}, prefix='{self.prefix}')"

    def __enter__(self) -> RedisConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- errors ------------------------------------------------------------------

    def _errors(self, operation: str) -> contextlib.AbstractContextManager[None]:
        """Turn redis-py's exceptions into connector errors that say what failed."""
        return translated(
            self._location,
            operation,
            has_password=self.password is not None,
            db=self.db,
        )

    def _max_bulk_len(self) -> int:
        """The server's proto-max-bulk-len (its default where CONFIG GET is denied)."""
        if self._max_bulk is None:
            try:
                node = self._client
                if self.cluster:
                    node = node.get_redis_connection(node.get_default_node())
                reply = node.config_get('proto-max-bulk-len')
                value = (
                    reply.get('proto-max-bulk-len') if isinstance(reply, dict) else None
                )
                if value is None:
                    return _DEFAULT_MAX_BULK
                self._max_bulk = int(value)
            except (
                redis.exceptions.RedisError,
                redis.exceptions.RedisClusterException,
                RedisConnectorError,
                ValueError,
            ):
                return _DEFAULT_MAX_BULK
        return self._max_bulk

    def _check_size(self, size: int, error: Exception) -> None:
        """After a failed write: raise `RedisValueTooLargeError` if that was why."""
        if isinstance(error, RedisAuthenticationError | RedisDurabilityError):
            return
        limit = self._max_bulk_len()
        if size > limit:
            raise RedisValueTooLargeError(
                f'An object of {size} bytes is larger than {self._where()} accepts '
                f'(proto-max-bulk-len is {limit} bytes).',
            ) from error
        if 'bulk length' in str(error):
            raise RedisValueTooLargeError(
                f'An object of {size} bytes is larger than {self._where()} accepts '
                f'(proto-max-bulk-len): {error}',
            ) from error

    # --- writing -----------------------------------------------------------------

    def _new_key(self) -> RedisKey:
        return RedisKey(f'{self.prefix}{secrets.token_urlsafe(_TOKEN_BYTES)}')

    def _client_for(self, key: str) -> Any:
        if not self.cluster:
            return self._client
        node = self._client.get_node_from_key(key)
        return self._client.get_redis_connection(node)

    def _send_set(self, key: str, buffers: Sequence[BytesLike], size: int) -> None:
        """SET with the value sent frame by frame, straight from the buffers."""
        command = set_frames(key, buffers, size, self._ttl_ms)
        pool = self._client_for(key).connection_pool
        durable = self._durable_command

        def attempt() -> tuple[Any, Any]:
            connection = pool.get_connection()
            try:
                if durable is None:
                    connection.send_packed_command(command)
                    return connection.read_response(), None
                # The confirmation is about this connection's writes: same one.
                connection.send_packed_command(
                    [*command, *connection.pack_command(*durable)]
                )
                reply = connection.read_response()
                try:
                    confirmed = connection.read_response()
                except redis.exceptions.ResponseError as e:
                    confirmed = e  # read whole: the connection is fine
                return reply, confirmed
            except BaseException:
                connection.disconnect()
                raise
            finally:
                pool.release(connection)

        # Retried like redis-py's own commands: SET of the same value is idempotent.
        reply, confirmed = self._retry.call_with_retry(attempt, lambda _: None)
        if isinstance(reply, redis.exceptions.ResponseError):  # pragma: no cover
            raise reply
        if durable is not None:
            self._confirm(confirmed)

    def _asked(self) -> str:
        """What ``durable`` asks of the server, as errors name it."""
        n = self.durable_replicas
        replicas = f'{n} replica' + ('' if n == 1 else 's')
        if self.durable == 'local':
            asked = 'an fsync to its append-only file'
        elif self.durable == 'replicas':
            asked = f'an acknowledgement by {replicas}'
        else:
            asked = f'an fsync to its append-only file and by {replicas}'
        return f"{asked} within {self.durable_timeout} s (durable='{self.durable}')"

    def _confirm(self, reply: Any) -> None:
        """Raise `RedisDurabilityError` unless ``reply`` (of WAIT/WAITAOF) is enough."""
        where = self._location
        if isinstance(reply, Exception):
            text = str(reply)
            hint = ''
            if 'appendonly' in text:
                hint = ' Start the server with appendonly yes, or drop durable=.'
            elif 'unknown command' in text.lower():
                hint = ' WAITAOF needs Redis or Valkey 7.2 or later.'
            raise RedisDurabilityError(
                f'{where} did not confirm the write as durable: asked '
                f'{self._asked()}; the server answered: {text}.{hint}',
            ) from reply
        n = self.durable_replicas
        if self.durable == 'replicas':
            local, replicas = None, int(reply)
            enough = replicas >= n
        else:
            local, replicas = int(reply[0]), int(reply[1])
            enough = local >= 1 and (self.durable == 'local' or replicas >= n)
        if not enough:
            acknowledged = f'{replicas} replica(s) acknowledged'
            if local is not None:
                acknowledged = f'{local} local fsync(s) and {acknowledged}'
            raise RedisDurabilityError(
                f'{where} did not confirm the write as durable: asked '
                f'{self._asked()}; {acknowledged}. The object is written but '
                'may be lost if the server dies.',
            )

    def _set(self, key: str, buffers: Sequence[BytesLike]) -> None:
        size = sum(nbytes(b) for b in buffers)
        try:
            with self._errors('SET'):
                try:
                    if self._durable_command is not None:
                        # One connection for the SET and its confirmation.
                        self._send_set(key, buffers, size)
                    elif size < _FRAMED_MIN_BYTES:
                        data = (
                            byte_view(buffers[0])
                            if len(buffers) == 1
                            else b''.join(buffers)
                        )
                        self._client.set(key, data, px=self._ttl_ms)
                    else:
                        self._send_set(key, buffers, size)
                except redis.exceptions.ResponseError as e:
                    if str(e).startswith(('MOVED', 'ASK')):
                        # The cluster moved the slot: let redis-py redirect.
                        self._client.set(key, b''.join(buffers), px=self._ttl_ms)
                        if self._durable_command is not None:
                            # Again on the (now known) node, to confirm it.
                            self._send_set(key, buffers, size)
                    else:
                        raise
        except RedisConnectorError as error:
            self._check_size(size, error)
            raise

    def _set_many(self, items: Sequence[tuple[RedisKey, BytesLike]]) -> None:
        """SET of many small objects in one pipeline.

        With ``durable``, the pipeline ends with WAIT/WAITAOF (on a cluster,
        whose pipelines span connections, each object is written and confirmed
        on its own).
        """
        durable = self._durable_command
        if durable is not None and self.cluster:
            for key, data in items:
                self._set(key.redis_key, [data])
            return
        confirmed: Any = None
        try:
            with self._errors('SET (batch)'):
                pipeline = self._client.pipeline(transaction=False)
                for key, data in items:
                    pipeline.set(key.redis_key, byte_view(data), px=self._ttl_ms)
                if durable is None:
                    pipeline.execute()
                else:
                    pipeline.execute_command(*durable)
                    *replies, confirmed = pipeline.execute(raise_on_error=False)
                    for reply in replies:
                        if isinstance(reply, Exception):
                            raise reply
        except RedisConnectorError as error:
            self._check_size(max(nbytes(data) for _, data in items), error)
            raise
        if durable is not None:
            self._confirm(confirmed)

    def _discard(self, keys: Sequence[RedisKey], error: Exception) -> None:
        """After a failed batch (or put): delete its keys, best effort.

        The keys are new (nobody else knows them), so deleting all of them
        deletes exactly the objects the batch wrote before it failed. An error
        here (the server is gone) is swallowed: the caller re-raises the
        batch's own error. After a timeout (a frozen server) nothing is tried:
        the UNLINK would wait as long again.
        """
        if not keys:
            return
        cause = error.__cause__
        if isinstance(error, redis.exceptions.TimeoutError) or isinstance(
            cause, redis.exceptions.TimeoutError
        ):
            return
        with contextlib.suppress(
            redis.exceptions.RedisError,
            redis.exceptions.RedisClusterException,
            RedisConnectorError,
            OSError,
        ):
            self._client.unlink(*(key.redis_key for key in keys))

    def put(self, obj: BytesLike) -> RedisKey:
        """Store the bytes under a new key."""
        return self.put_frames([obj])

    def put_frames(self, buffers: Sequence[BytesLike]) -> RedisKey:
        """Store the concatenated buffers under a new key, without joining them."""
        key = self._new_key()
        try:
            self._set(key.redis_key, buffers)
        except Exception as error:
            self._discard([key], error)  # written but not confirmed, or unsure
            raise
        return key

    def put_batch(self, objs: Sequence[BytesLike]) -> list[RedisKey]:
        """`put` for many objects, in one pipeline.

        All or nothing: if the batch fails (an object too large for the
        server, a lost connection), the objects it stored are deleted (best
        effort) before the error is raised.
        """
        keys = [self._new_key() for _ in objs]
        if keys:
            try:
                self._set_many(list(zip(keys, objs, strict=True)))
            except Exception as error:
                self._discard(keys, error)
                raise
        return keys

    def put_frames_batch(
        self, payloads: Sequence[Sequence[BytesLike]]
    ) -> list[RedisKey]:
        """`put_frames` for many payloads: small ones in one pipeline.

        All or nothing, as `put_batch`: a failure deletes what the batch
        stored (large payloads are stored one by one, before the pipeline).
        """
        keys: list[RedisKey] = []
        small: list[tuple[RedisKey, BytesLike]] = []
        try:
            for buffers in payloads:
                key = self._new_key()
                keys.append(key)
                if sum(nbytes(b) for b in buffers) < _FRAMED_MIN_BYTES:
                    small.append((key, b''.join(buffers)))
                else:
                    self._set(key.redis_key, buffers)
            if small:
                self._set_many(small)
        except Exception as error:
            self._discard(keys, error)
            raise
        return keys

    def new_key(self, obj: BytesLike | None = None) -> RedisKey:
        """A new key; stores ``obj`` under it if given."""
        key = self._new_key()
        if obj is not None:
            # Nobody can be waiting for a key made just now: no PUBLISH.
            try:
                self._set(key.redis_key, [obj])
            except Exception as error:
                self._discard([key], error)
                raise
        return key

    def set(self, key: RedisKey, obj: BytesLike) -> None:
        """Store the bytes under ``key`` and wake its waiters (`wait`).

        The PUBLISH follows the SET, so a woken waiter finds the object. If the
        PUBLISH fails (after retries), the object is stored and the error is
        raised; waiters then find the object at their next check. With
        ``durable``, a `RedisDurabilityError` leaves the object stored (not
        confirmed durable) and publishes nothing.
        """
        check_key(self, key, RedisKey)
        self._set(key.redis_key, [obj])
        with self._errors('PUBLISH'):
            self._client_for(key.redis_key).publish(
                set_channel(key.redis_key),
                b'',
            )

    # --- waiting -----------------------------------------------------------------

    def wait(self, key: RedisKey, timeout: float | None = None) -> bool:
        """Block until an object exists under ``key`` or ``timeout`` passes.

        Woken by the PUBLISH of `set` (from any process), not by polling; see
        the package's docstring. Each waiting thread holds a connection of its
        own, outside the pool, while it waits.

        Args:
            key: Key of the object (made by `new_key`).
            timeout: Most seconds to wait (``None``: no limit; ``0``: look once).

        Returns:
            Whether an object exists under the key.

        Raises:
            RedisUnavailableError: If the server cannot be reached, or stays
                unreachable longer than ``socket_connect_timeout`` (5 s when
                ``None``) during the wait.
        """
        check_key(self, key, RedisKey)
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0)
        with self._errors('WAIT'):
            return wait_for(
                key.redis_key,
                deadline,
                client_for=self._client_for,
                exists=lambda name: bool(self._client.exists(name)),
                reconnect_seconds=self.socket_connect_timeout or RECONNECT_SECONDS,
            )

    # --- reading and evicting ---------------------------------------------------

    def get(self, key: RedisKey) -> bytes | bytearray | None:
        """The bytes under ``key``, or ``None``.

        The bytes are received into a new `bytearray` of their own (writable,
        so a deserialized object uses them in place instead of copying them);
        `bytes` when a cluster redirected the request, or lost the node, and
        redis-py's cluster client answered instead.
        """
        check_key(self, key, RedisKey)
        with self._errors('GET'):
            try:
                return self._get(key.redis_key)
            except redis.exceptions.ResponseError as e:
                if not (self.cluster and str(e).startswith(('MOVED', 'ASK'))):
                    raise
            except redis.exceptions.AuthenticationError:
                raise  # a ConnectionError, but another node will not help
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                if not self.cluster:
                    raise
            # The cluster moved the slot or lost the node: redis-py's cluster
            # client redirects, refreshes its view of the cluster and retries.
            return self._client.get(key.redis_key)  # type: ignore[no-any-return]

    def _get(self, name: str) -> bytearray | None:
        """GET with the reply received straight into its buffer (`read_bulk`)."""
        command = [get_command(name)]
        pool = self._client_for(name).connection_pool

        def attempt() -> bytearray | None:
            connection = pool.get_connection()
            try:
                connection.send_packed_command(command)
                # redis-py's socket: the connection is idle (nothing buffered
                # by its parser) between a command and its reply.
                return read_bulk(connection._sock)
            except redis.exceptions.ResponseError:
                raise  # the reply was read whole: the connection is fine
            except BaseException:
                connection.disconnect()
                raise
            finally:
                pool.release(connection)

        # Retried like redis-py's own commands.
        reply: bytearray | None = self._retry.call_with_retry(attempt, lambda _: None)
        return reply

    def get_batch(self, keys: Sequence[RedisKey]) -> list[BytesLike | None]:
        """`get` for many keys (MGET; across slots on a cluster)."""
        for key in keys:
            check_key(self, key, RedisKey)
        if not keys:
            return []
        names = [key.redis_key for key in keys]
        with self._errors('MGET'):
            if self.cluster:
                return list(self._client.mget_nonatomic(names))
            return list(self._client.mget(names))

    def exists(self, key: RedisKey) -> bool:
        """Whether an object is stored under ``key``."""
        check_key(self, key, RedisKey)
        with self._errors('EXISTS'):
            return bool(self._client.exists(key.redis_key))

    def evict(self, key: RedisKey) -> None:
        """Delete the object (a missing key is not an error)."""
        check_key(self, key, RedisKey)
        with self._errors('UNLINK'):
            self._client.unlink(key.redis_key)

    def evict_batch(self, keys: Sequence[RedisKey]) -> None:
        """`evict` for many keys, in one command (split by slot on a cluster)."""
        for key in keys:
            check_key(self, key, RedisKey)
        if keys:
            with self._errors('UNLINK (batch)'):
                self._client.unlink(*(key.redis_key for key in keys))

    # --- lifecycle ----------------------------------------------------------------

    def _namespace(self) -> Iterator[list[bytes]]:
        """The names of the connector's namespace, in batches (SCAN)."""
        pattern = _GLOB_SPECIALS.sub(r'\\\1', self.prefix) + '?' * _TOKEN_CHARS
        prefix = self.prefix.encode()
        batch: list[bytes] = []
        for name in self._client.scan_iter(match=pattern, count=_SCAN_BATCH):
            token = name[len(prefix) :].decode(errors='replace')
            if not name.startswith(prefix) or not _TOKEN.fullmatch(token):
                continue
            batch.append(name)
            if len(batch) >= _SCAN_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _delete_namespace(self) -> None:
        with self._errors('clearing the namespace'):
            for batch in self._namespace():
                self._client.unlink(*batch)

    def list_objects(self) -> Iterator[StoredObject]:
        """The objects under the connector's prefix (keys of its naming scheme).

        Sizes are the values' lengths (``STRLEN``, in one pipeline per batch of
        the ``SCAN``); Redis keeps no time of writing, so the age is not known.
        """
        with self._errors('listing the namespace'):
            for batch in self._namespace():
                pipeline = self._client.pipeline(transaction=False)
                for name in batch:
                    pipeline.strlen(name)
                sizes = pipeline.execute()
                for name, size in zip(batch, sizes, strict=True):
                    if size:  # 0: evicted since the SCAN saw it
                        yield StoredObject(key=RedisKey(name.decode()), size=int(size))

    def close(self, clear: bool | None = None) -> None:
        """Close the connections.

        With ``clear`` (default: the constructor's), first delete every key under
        the prefix, and never another key.
        """
        try:
            if self.clear if clear is None else clear:
                self._delete_namespace()
        finally:
            if self._client_instance is not None:
                self._client_instance.close()

    def config(self) -> dict[str, Any]:
        """The connector's options (those at their defaults are left out).

        ``clear`` is left out: a copy made from the config (in a worker) does
        not delete the namespace unless the config sets it. The password is left
        out too: the config carries its id (``password_id``), by which
        `from_config` finds it.
        """
        return self._options.config()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RedisConnector:
        """Make a connector from the output of `config`.

        A ``password_id`` is resolved to the password: one given to a connector
        made in this process (or its parent before a fork), else
        ``PROXYSTORE_REDIS_PASSWORD`` if its id matches. A config of ProxyStore
        1.x, with the ``password`` itself, works as before.

        Raises:
            RedisCredentialError: If this process does not have the password
                the config names.
            ValueError: If the options are invalid.
        """
        return cls(**resolve_password(config))
