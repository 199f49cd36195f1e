"""redis-py's exceptions turned into the connector's, naming server and operation."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

import redis.exceptions

from proxystore.connectors.redis.exceptions import RedisAuthenticationError
from proxystore.connectors.redis.exceptions import RedisConfigurationError
from proxystore.connectors.redis.exceptions import RedisConnectorError
from proxystore.connectors.redis.exceptions import RedisUnavailableError

__all__ = ['translated']


@contextlib.contextmanager
def translated(
    where: str,
    operation: str,
    *,
    has_password: bool,
    db: int,
) -> Generator[None]:
    """Raise redis-py's errors in the block as `RedisConnectorError` subclasses.

    Args:
        where: The server, as messages name it (``'Redis at host:port'``).
        operation: What was being done (``'GET'``, ``'connecting'``).
        has_password: Whether the connector was given a password.
        db: The connector's database number.
    """
    try:
        yield
    except redis.exceptions.AuthenticationError as e:
        if has_password:
            message = f'{where} refused the credentials'
        else:
            message = f'{where} requires a password and none was given'
        raise RedisAuthenticationError(f'{message} ({operation}): {e}') from e
    except redis.exceptions.ClusterDownError as e:
        raise RedisUnavailableError(f'{where} is unavailable ({operation}): {e}') from e
    except redis.exceptions.ResponseError as e:
        text = str(e)
        if text.startswith(('NOAUTH', 'WRONGPASS')):
            raise RedisAuthenticationError(
                f'{where} refused the credentials ({operation}): {text}',
            ) from e
        if 'DB index is out of range' in text:
            raise RedisConfigurationError(
                f'{where} has no database {db} ({operation}): {text}',
            ) from e
        raise RedisConnectorError(f'{where}: {operation} failed: {text}') from e
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
        raise RedisUnavailableError(f'{where} is unavailable ({operation}): {e}') from e
    except redis.exceptions.RedisError as e:
        raise RedisConnectorError(f'{where}: {operation} failed: {e}') from e
    except redis.exceptions.RedisClusterException as e:
        # Not a RedisError: no node answered, or no node serves a slot.
        raise RedisUnavailableError(f'{where} is unavailable ({operation}): {e}') from e
