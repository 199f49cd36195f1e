"""Errors of the Redis connector, all `ConnectorError` subclasses.

Each names the server and the cause, and is chained to redis-py's exception.
"""

from __future__ import annotations

from proxystore.connectors.protocols import ConnectorError

__all__ = [
    'RedisAuthenticationError',
    'RedisConfigurationError',
    'RedisConnectorError',
    'RedisCredentialError',
    'RedisDurabilityError',
    'RedisUnavailableError',
    'RedisValueTooLargeError',
]

# The classes keep the module path they shipped under (the package), so their
# tracebacks and pickles read as before the package was split.
_PUBLIC_MODULE = 'proxystore.connectors.redis'


class RedisConnectorError(ConnectorError):
    """An operation of a `RedisConnector` failed."""

    __module__ = _PUBLIC_MODULE


class RedisUnavailableError(RedisConnectorError):
    """The server cannot be reached, or the connection broke during an operation."""

    __module__ = _PUBLIC_MODULE


class RedisAuthenticationError(RedisConnectorError):
    """The server refused the username or password."""

    __module__ = _PUBLIC_MODULE


class RedisCredentialError(RedisConnectorError, LookupError):
    """A config names a password (by its id) that this process does not have.

    Set ``PROXYSTORE_REDIS_PASSWORD`` to it (see
    `proxystore.connectors.redis._credentials`). Also a `LookupError`.
    """

    __module__ = _PUBLIC_MODULE


class RedisConfigurationError(RedisConnectorError):
    """The server refused the connector's settings (a database that does not exist)."""

    __module__ = _PUBLIC_MODULE


class RedisValueTooLargeError(RedisConnectorError):
    """An object is larger than the server accepts (``proto-max-bulk-len``)."""

    __module__ = _PUBLIC_MODULE


class RedisDurabilityError(RedisConnectorError):
    """The server did not confirm a write as durable as ``durable=`` asked.

    Raised by a put or set of a connector made with ``durable=``: the append-only
    file is off (``appendonly no``), fewer replicas than ``durable_replicas``
    acknowledged the write within ``durable_timeout``, or the server does not
    know ``WAITAOF`` (Redis before 7.2). The message names what was asked and
    what was acknowledged. A put that raises it deletes its object (the key was
    never returned); a `RedisConnector.set` leaves the object stored, not
    confirmed durable.
    """

    __module__ = _PUBLIC_MODULE
