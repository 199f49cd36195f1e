"""The Redis password stays in the process: configs carry its id.

A `RedisConnector` given a password (as ``password=``, or inside its URL) keeps
it in memory, and its config names it by id (``password_id``, see
`proxystore.store.keyring.credential_id`). `from_config` finds the password by
that id: a password given to a connector made in this process (a forked child
inherits them), else the environment variable ``PROXYSTORE_REDIS_PASSWORD`` if
its id matches. A config of ProxyStore 1.x, which carries ``password`` itself,
still works.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from proxystore.connectors.redis.exceptions import RedisCredentialError
from proxystore.store.keyring import credential_id
from proxystore.store.keyring import find_credential

__all__ = ['PASSWORD_ENV', 'resolve_password', 'split_url_password']

PASSWORD_ENV = 'PROXYSTORE_REDIS_PASSWORD'
"""Environment variable holding the Redis password of connectors made from configs."""


def split_url_password(url: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (``None``: it has none).

    The password may be in the user part (``redis://user:pw@host``) or in the
    query (``?password=pw``), as redis-py reads it; the user name stays.
    """
    parts = urllib.parse.urlsplit(url)
    password: str | None = None
    netloc = parts.netloc
    if '@' in netloc:
        userinfo, _, hostport = netloc.rpartition('@')
        user, colon, secret = userinfo.partition(':')
        if colon:
            password = urllib.parse.unquote(secret)
            netloc = f'{user}@{hostport}' if user else hostport
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in query if name != 'password']
    if len(kept) != len(query):
        given = [value for name, value in query if name == 'password'][-1]
        if password is not None and given != password:
            raise ValueError(
                'The Redis URL gives two different passwords (in its user part '
                'and in its query).',
            )
        password = given
    if password is None:
        return url, None
    stripped = parts._replace(netloc=netloc, query=urllib.parse.urlencode(kept))
    return urllib.parse.urlunsplit(stripped), password


def resolve_password(config: dict[str, Any]) -> dict[str, Any]:
    """The constructor options of a config: ``password_id`` becomes ``password``.

    Raises:
        ValueError: If ``password_id`` is not a string, or the config also has
            a ``password`` whose id differs.
        RedisCredentialError: If this process does not have the password.
    """
    if 'password_id' not in config:
        return config
    options = dict(config)
    ident = options.pop('password_id')
    if not isinstance(ident, str):
        raise ValueError(
            f'password_id must be a string, not {type(ident).__name__}.',
        )
    given = options.get('password')
    if given is not None:
        if credential_id(given) != ident:
            raise ValueError(
                f'The config gives a password whose id is not its password_id '
                f'({ident}).',
            )
        return options
    found = find_credential(ident, PASSWORD_ENV)
    if found is None:
        raise RedisCredentialError(
            f'The Redis connector of this config authenticates with a password '
            f'(id {ident}) that this process does not have: set the environment '
            f'variable {PASSWORD_ENV} to it, or create a RedisConnector with '
            'that password here first.',
        )
    options['password'] = found.decode()
    return options
