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
  `RedisValueTooLargeError`, `RedisCredentialError`, `RedisDurabilityError`,
  all `RedisConnectorError`;
- ``durable=`` puts return only once the server confirms the write is fsynced
  to its append-only file and/or replicated (``WAITAOF``/``WAIT``);
- the password never leaves the process: configs (and so proxies) carry its id,
  and other processes read it from ``PROXYSTORE_REDIS_PASSWORD``.

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

from proxystore.connectors.redis.connector import RedisConnector
from proxystore.connectors.redis.connector import RedisKey
from proxystore.connectors.redis.exceptions import RedisAuthenticationError
from proxystore.connectors.redis.exceptions import RedisConfigurationError
from proxystore.connectors.redis.exceptions import RedisConnectorError
from proxystore.connectors.redis.exceptions import RedisCredentialError
from proxystore.connectors.redis.exceptions import RedisDurabilityError
from proxystore.connectors.redis.exceptions import RedisUnavailableError
from proxystore.connectors.redis.exceptions import RedisValueTooLargeError

__all__ = [
    'RedisAuthenticationError',
    'RedisConfigurationError',
    'RedisConnector',
    'RedisConnectorError',
    'RedisCredentialError',
    'RedisDurabilityError',
    'RedisKey',
    'RedisUnavailableError',
    'RedisValueTooLargeError',
]
