"""Redis connector: objects in a Redis server or a Redis Cluster.

Compatible with ProxyStore 1.x (``RedisConnector(hostname, port, clear=False)``,
`RedisKey`, deferrable ``new_key``/``set``), and built for shared production
servers:

- every key starts with the connector's *prefix* (a namespace), so ``clear``
  deletes this connector's keys only, never the whole database;
- authentication (username and password), database number, unix sockets, TLS,
  the connection-pool size, an optional time to live of stored objects;
- Redis Cluster: keys go to the shard that owns their slot, and batches span
  slots;
- large payloads go to the socket frame by frame, without being joined first;
  batches use pipelines and MGET; redis-py uses ``hiredis`` when it is installed;
- `wait` blocks until an object is stored under a key, woken by Redis pub/sub
  (a `WaitableConnector`: futures wake at once instead of polling);
- errors name the server and the cause: `RedisUnavailableError`,
  `RedisAuthenticationError`, `RedisConfigurationError`,
  `RedisValueTooLargeError`, all `RedisConnectorError`.

Waiting uses pub/sub on a channel of the key (``<key>:set``): the deferred
`RedisConnector.set` publishes on it after the SET, and `RedisConnector.wait`
subscribes, waits for the server to confirm, and only then asks whether the
key exists, so an object stored at any moment either is seen by that EXISTS or
publishes to a subscriber that is already listening. Two alternatives were set
aside:

- keyspace notifications need ``CONFIG SET notify-keyspace-events`` on the
  server, which a shared or managed server may refuse, and which changes the
  server for every client (and costs a message for every write of any key);
- blocking pops (``BLPOP`` on a per-key list) wake one waiter per push, while a
  future may have many consumers, and leave lists to clean up.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Generator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

import redis
import redis.backoff
import redis.cluster
import redis.exceptions
import redis.retry

from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import check_key
from proxystore.serialize import BytesLike

__all__ = [
    'RedisAuthenticationError',
    'RedisConfigurationError',
    'RedisConnector',
    'RedisConnectorError',
    'RedisKey',
    'RedisUnavailableError',
    'RedisValueTooLargeError',
]

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
# `set` publishes on the key's name plus this suffix; `wait` subscribes to it.
_SET_CHANNEL_SUFFIX = ':set'
# A waiter asks EXISTS again this often, as a safety net for a notification that
# never came (a producer that died between its SET and its PUBLISH).
_WAIT_RECHECK_SECONDS = 30.0
# A waiter whose connection broke reconnects for this long (when the connector
# has no socket_connect_timeout), so a restarting server does not end the wait.
_WAIT_RECONNECT_SECONDS = 5.0


class RedisKey(NamedTuple):
    """Key of an object in a `RedisConnector`."""

    redis_key: str
    """The key in Redis (the connector's prefix included)."""


class RedisConnectorError(ConnectorError):
    """An operation of a `RedisConnector` failed."""


class RedisUnavailableError(RedisConnectorError):
    """The server cannot be reached, or the connection broke during an operation."""


class RedisAuthenticationError(RedisConnectorError):
    """The server refused the username or password."""


class RedisConfigurationError(RedisConnectorError):
    """The server refused the connector's settings (a database that does not exist)."""


class RedisValueTooLargeError(RedisConnectorError):
    """An object is larger than the server accepts (``proto-max-bulk-len``)."""


def _nbytes(buffer: BytesLike) -> int:
    if isinstance(buffer, bytes | bytearray):
        return len(buffer)
    return memoryview(buffer).nbytes  # len() of an exporter counts items


def _byte_view(buffer: BytesLike) -> BytesLike:
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
        password: Password (of the user, or of ``requirepass``).
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

    Raises:
        ValueError: If the server is not given exactly one way, or an option is
            invalid.
    """

    Key = RedisKey

    def __init__(
        self,
        hostname: str | None = None,
        port: int | None = None,
        clear: bool = False,
        *,
        url: str | None = None,
        cluster: bool = False,
        startup_nodes: Sequence[tuple[str, int]] | None = None,
        unix_socket_path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        ssl: bool = False,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_cert_reqs: str = 'required',
        ssl_check_hostname: bool = True,
        max_connections: int | None = None,
        prefix: str | None = None,
        ttl: float | None = None,
        socket_timeout: float | None = 60.0,
        socket_connect_timeout: float | None = 5.0,
        retries: int = 2,
    ) -> None:
        cluster = cluster or startup_nodes is not None
        ways = [
            hostname is not None or port is not None,
            url is not None,
            unix_socket_path is not None,
            startup_nodes is not None and not (hostname or port or url),
        ]
        if sum(ways) != 1 or (hostname is None) != (port is None):
            raise ValueError(
                'Give the Redis server one way: hostname and port, url, '
                'unix_socket_path, or startup_nodes (cluster).',
            )
        if cluster and (unix_socket_path is not None or db != 0):
            raise ValueError('A Redis Cluster has no unix socket and only db 0.')
        if ssl and unix_socket_path is not None:
            raise ValueError('TLS is not available over a unix socket.')
        if ssl and url is not None and not url.startswith('rediss:'):
            raise ValueError(
                f'ssl=True needs a rediss:// URL, not {url.split("://")[0]}://.',
            )
        if db < 0:
            raise ValueError(f'db must be 0 or more, not {db}.')
        if ttl is not None and ttl <= 0:
            raise ValueError(f'ttl must be positive seconds, not {ttl}.')
        if max_connections is not None and max_connections < 1:
            raise ValueError(
                f'max_connections must be at least 1, not {max_connections}.'
            )
        if prefix is not None and not prefix:
            raise ValueError('prefix must not be empty: clear would delete every key.')
        if retries < 0:
            raise ValueError(f'retries must be 0 or more, not {retries}.')
        if ssl_cert_reqs not in ('required', 'optional', 'none'):
            raise ValueError(
                f"ssl_cert_reqs must be 'required', 'optional' or 'none', "
                f'not {ssl_cert_reqs!r}.',
            )
        self.hostname = hostname
        self.port = port
        self.clear = clear
        self.url = url
        self.cluster = cluster
        self.startup_nodes = (
            None if startup_nodes is None else [tuple(n) for n in startup_nodes]
        )
        self.unix_socket_path = unix_socket_path
        self.db = db
        self.username = username
        self.password = password
        self.ssl = ssl
        self.ssl_ca_certs = ssl_ca_certs
        self.ssl_certfile = ssl_certfile
        self.ssl_keyfile = ssl_keyfile
        self.ssl_cert_reqs = ssl_cert_reqs
        self.ssl_check_hostname = ssl_check_hostname
        self.max_connections = max_connections
        self.prefix = prefix if prefix is not None else f'ps:{secrets.token_hex(4)}:'
        self.ttl = ttl
        self.socket_timeout = socket_timeout
        self.socket_connect_timeout = socket_connect_timeout
        self.retries = retries
        self._ttl_ms = None if ttl is None else max(int(ttl * 1000), 1)
        self._max_bulk: int | None = None
        self._retry = redis.retry.Retry(
            redis.backoff.ExponentialBackoff(cap=0.5, base=0.05),
            self.retries,
        )
        # Connecting waits for first use: a cluster client talks to the cluster
        # when it is made, and a copy made from a config in a worker should not.
        self._client_instance: Any = None
        self._client_lock = threading.Lock()

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
        if self.ssl or (self.url is not None and self.url.startswith('rediss:')):
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

    @contextlib.contextmanager
    def _errors(self, operation: str) -> Generator[None]:
        """Turn redis-py's exceptions into connector errors that say what failed."""
        try:
            yield
        except redis.exceptions.AuthenticationError as e:
            if self.password is None:
                message = f'{self._where()} requires a password and none was given'
            else:
                message = f'{self._where()} refused the credentials'
            raise RedisAuthenticationError(f'{message} ({operation}): {e}') from e
        except redis.exceptions.ClusterDownError as e:
            raise RedisUnavailableError(
                f'{self._where()} is unavailable ({operation}): {e}',
            ) from e
        except redis.exceptions.ResponseError as e:
            text = str(e)
            if text.startswith(('NOAUTH', 'WRONGPASS')):
                raise RedisAuthenticationError(
                    f'{self._where()} refused the credentials ({operation}): {text}',
                ) from e
            if 'DB index is out of range' in text:
                raise RedisConfigurationError(
                    f'{self._where()} has no database {self.db} ({operation}): {text}',
                ) from e
            raise RedisConnectorError(
                f'{self._where()}: {operation} failed: {text}'
            ) from e
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
            raise RedisUnavailableError(
                f'{self._where()} is unavailable ({operation}): {e}',
            ) from e
        except redis.exceptions.RedisError as e:
            raise RedisConnectorError(
                f'{self._where()}: {operation} failed: {e}'
            ) from e
        except redis.exceptions.RedisClusterException as e:
            # Not a RedisError: no node answered, or no node serves a slot.
            raise RedisUnavailableError(
                f'{self._where()} is unavailable ({operation}): {e}',
            ) from e

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
        if isinstance(error, RedisAuthenticationError):
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
        keyb = key.encode()
        argc = 3 if self._ttl_ms is None else 5
        head = b'*%d\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n' % (
            argc,
            len(keyb),
            keyb,
            size,
        )
        tail = b'\r\n'
        if self._ttl_ms is not None:
            ttl = str(self._ttl_ms).encode()
            tail += b'$2\r\nPX\r\n$%d\r\n%s\r\n' % (len(ttl), ttl)
        views = [_byte_view(b) for b in buffers if _nbytes(b)]
        pool = self._client_for(key).connection_pool

        def attempt() -> Any:
            connection = pool.get_connection()
            try:
                connection.send_packed_command([head, *views, tail])
                return connection.read_response()
            except BaseException:
                connection.disconnect()
                raise
            finally:
                pool.release(connection)

        # Retried like redis-py's own commands: SET of the same value is idempotent.
        reply = self._retry.call_with_retry(attempt, lambda _: None)
        if isinstance(reply, redis.exceptions.ResponseError):  # pragma: no cover
            raise reply

    def _set(self, key: str, buffers: Sequence[BytesLike]) -> None:
        size = sum(_nbytes(b) for b in buffers)
        try:
            with self._errors('SET'):
                try:
                    if size < _FRAMED_MIN_BYTES:
                        data = (
                            _byte_view(buffers[0])
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
                    else:
                        raise
        except RedisConnectorError as error:
            self._check_size(size, error)
            raise

    def _set_many(self, items: Sequence[tuple[RedisKey, BytesLike]]) -> None:
        """SET of many small objects in one pipeline."""
        try:
            with self._errors('SET (batch)'):
                pipeline = self._client.pipeline(transaction=False)
                for key, data in items:
                    pipeline.set(key.redis_key, _byte_view(data), px=self._ttl_ms)
                pipeline.execute()
        except RedisConnectorError as error:
            self._check_size(max(_nbytes(data) for _, data in items), error)
            raise

    def put(self, obj: BytesLike) -> RedisKey:
        """Store the bytes under a new key."""
        return self.put_frames([obj])

    def put_frames(self, buffers: Sequence[BytesLike]) -> RedisKey:
        """Store the concatenated buffers under a new key, without joining them."""
        key = self._new_key()
        self._set(key.redis_key, buffers)
        return key

    def put_batch(self, objs: Sequence[BytesLike]) -> list[RedisKey]:
        """`put` for many objects, in one pipeline."""
        keys = [self._new_key() for _ in objs]
        if keys:
            self._set_many(list(zip(keys, objs, strict=True)))
        return keys

    def put_frames_batch(
        self, payloads: Sequence[Sequence[BytesLike]]
    ) -> list[RedisKey]:
        """`put_frames` for many payloads: small ones in one pipeline."""
        keys: list[RedisKey] = []
        small: list[tuple[RedisKey, BytesLike]] = []
        for buffers in payloads:
            key = self._new_key()
            keys.append(key)
            if sum(_nbytes(b) for b in buffers) < _FRAMED_MIN_BYTES:
                small.append((key, b''.join(buffers)))
            else:
                self._set(key.redis_key, buffers)
        if small:
            self._set_many(small)
        return keys

    def new_key(self, obj: BytesLike | None = None) -> RedisKey:
        """A new key; stores ``obj`` under it if given."""
        key = self._new_key()
        if obj is not None:
            # Nobody can be waiting for a key made just now: no PUBLISH.
            self._set(key.redis_key, [obj])
        return key

    def set(self, key: RedisKey, obj: BytesLike) -> None:
        """Store the bytes under ``key`` and wake its waiters (`wait`).

        The PUBLISH follows the SET, so a woken waiter finds the object. If the
        PUBLISH fails (after retries), the object is stored and the error is
        raised; waiters then find the object at their next check.
        """
        check_key(self, key, RedisKey)
        self._set(key.redis_key, [obj])
        with self._errors('PUBLISH'):
            self._client_for(key.redis_key).publish(
                key.redis_key + _SET_CHANNEL_SUFFIX,
                b'',
            )

    # --- waiting -----------------------------------------------------------------

    def wait(self, key: RedisKey, timeout: float | None = None) -> bool:
        """Block until an object exists under ``key`` or ``timeout`` passes.

        Woken by the PUBLISH of `set` (from any process), not by polling; see
        the module's docstring. Each waiting thread holds a connection of its
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
            return self._wait(key.redis_key, deadline)

    def _wait(self, name: str, deadline: float | None) -> bool:
        """`wait`, reconnecting when the connection breaks (redis-py errors)."""
        budget = self.socket_connect_timeout or _WAIT_RECONNECT_SECONDS
        broken_since: float | None = None
        backoff = 0.05
        while True:
            try:
                return self._wait_subscribed(name, deadline)
            except redis.exceptions.AuthenticationError:
                raise  # a ConnectionError, but reconnecting will not help
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                now = time.monotonic()
                if broken_since is None:
                    broken_since = now
                give_up = broken_since + budget
                if deadline is not None:
                    give_up = min(give_up, deadline)
                if now >= give_up:
                    raise
                # A new subscription checks EXISTS again, so a SET published
                # while the connection was down is not missed.
                time.sleep(min(backoff, give_up - now))
                backoff = min(backoff * 2, 0.5)

    def _wait_subscribed(self, name: str, deadline: float | None) -> bool:
        client = self._client_for(name)
        pool = client.connection_pool
        # A connection of its own: a subscribed connection can do nothing else,
        # and taking it from a bounded pool (max_connections) could starve the
        # EXISTS below, or the producer's SET, for the whole wait.
        connection = pool.connection_class(**pool.connection_kwargs)
        try:
            connection.send_command('SUBSCRIBE', name + _SET_CHANNEL_SUFFIX)
            # Subscribed once the server confirms: only then is EXISTS asked, so
            # a SET after it publishes to a listening subscriber. (Pub/sub
            # replies are push messages under RESP3, redis-py's default.)
            connection.read_response(push_request=True)
            if self._client.exists(name):
                return True
            recheck = time.monotonic() + _WAIT_RECHECK_SECONDS
            while True:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return bool(self._client.exists(name))
                until = recheck if deadline is None else min(recheck, deadline)
                if connection.can_read(timeout=until - now):
                    reply = connection.read_response(push_request=True)
                    kind = reply[0] if isinstance(reply, list) and reply else b''
                    if kind in (b'message', 'message'):
                        return True
                elif time.monotonic() >= recheck:
                    if self._client.exists(name):
                        return True
                    recheck = time.monotonic() + _WAIT_RECHECK_SECONDS
        finally:
            connection.disconnect()

    # --- reading and evicting ---------------------------------------------------

    def get(self, key: RedisKey) -> bytes | None:
        """The bytes under ``key``, or ``None``."""
        check_key(self, key, RedisKey)
        with self._errors('GET'):
            return self._client.get(key.redis_key)  # type: ignore[no-any-return]

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

    def _delete_namespace(self) -> None:
        pattern = _GLOB_SPECIALS.sub(r'\\\1', self.prefix) + '?' * _TOKEN_CHARS
        start = len(self.prefix.encode())
        with self._errors('clearing the namespace'):
            batch: list[bytes] = []
            for name in self._client.scan_iter(match=pattern, count=_SCAN_BATCH):
                token = name[start:].decode(errors='replace')
                if not name.startswith(self.prefix.encode()) or not _TOKEN.fullmatch(
                    token
                ):
                    continue
                batch.append(name)
                if len(batch) >= _SCAN_BATCH:
                    self._client.unlink(*batch)
                    batch = []
            if batch:
                self._client.unlink(*batch)

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
        not delete the namespace unless the config sets it. The password is kept
        (the copy must authenticate), so treat configs and proxies as secrets
        where the password matters.
        """
        config: dict[str, Any] = {'prefix': self.prefix}
        if self.hostname is not None:
            config['hostname'] = self.hostname
            config['port'] = self.port
        defaults = {
            'url': None,
            'cluster': False,
            'startup_nodes': None,
            'unix_socket_path': None,
            'db': 0,
            'username': None,
            'password': None,
            'ssl': False,
            'ssl_ca_certs': None,
            'ssl_certfile': None,
            'ssl_keyfile': None,
            'ssl_cert_reqs': 'required',
            'ssl_check_hostname': True,
            'max_connections': None,
            'ttl': None,
            'socket_timeout': 60.0,
            'socket_connect_timeout': 5.0,
            'retries': 2,
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            if name == 'cluster' and self.startup_nodes is not None:
                continue
            if value != default:
                config[name] = (
                    [list(n) for n in value] if name == 'startup_nodes' else value
                )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RedisConnector:
        """Make a connector from the output of `config`."""
        return cls(**config)
