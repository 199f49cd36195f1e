"""The options of a `RedisConnector`: one frozen dataclass, defaults stated once.

The connector's constructor takes its defaults from the fields of `RedisOptions`,
and `RedisOptions.config` is the fields that differ from them, so a new option is
added in one place.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from typing import Any

from proxystore.connectors.redis._credentials import split_url_password
from proxystore.store.keyring import add_credential

__all__ = ['RedisOptions']

_CERT_REQS = ('required', 'optional', 'none')
DURABLE_MODES = ('local', 'replicas', 'all')
"""The values of ``durable`` besides ``None`` (see `RedisConnector`)."""


@dataclasses.dataclass(frozen=True)
class RedisOptions:
    """How to reach the server, and how to store objects in it.

    The fields are the constructor arguments of `RedisConnector` (documented
    there). Made from the arguments as given, then normalized: ``cluster`` is
    true when ``startup_nodes`` is given, ``startup_nodes`` is a tuple of
    ``(host, port)`` tuples, ``prefix`` is a random namespace when none was
    given, and a password inside ``url`` moves to ``password`` (so that `config`
    can leave it out).

    Raises:
        ValueError: If the server is not given exactly one way, or an option is
            invalid.
    """

    hostname: str | None = None
    port: int | None = None
    clear: bool = False
    _: dataclasses.KW_ONLY
    url: str | None = None
    cluster: bool = False
    startup_nodes: tuple[tuple[str, int], ...] | None = None
    unix_socket_path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_cert_reqs: str = 'required'
    ssl_check_hostname: bool = True
    max_connections: int | None = None
    prefix: str | None = None
    ttl: float | None = None
    socket_timeout: float | None = 60.0
    socket_connect_timeout: float | None = 5.0
    retries: int = 2
    durable: str | None = None
    durable_replicas: int = 1
    durable_timeout: float = 5.0

    def __post_init__(self) -> None:
        self._check()
        nodes: Sequence[Sequence[Any]] | None = self.startup_nodes
        # Normalized in place: the instance is new and not yet shared.
        set_ = object.__setattr__
        if self.url is not None:
            url, password = split_url_password(self.url)
            if password is not None:
                if self.password is not None and self.password != password:
                    raise ValueError(
                        'The Redis URL has a password and password= gives '
                        'another one: give it once.',
                    )
                set_(self, 'url', url)
                set_(self, 'password', password)
        set_(self, 'cluster', self.cluster or nodes is not None)
        if nodes is not None:
            set_(self, 'startup_nodes', tuple((n[0], n[1]) for n in nodes))
        if self.prefix is None:
            set_(self, 'prefix', f'ps:{secrets.token_hex(4)}:')

    def _check_durable(self) -> None:
        if self.durable is not None and self.durable not in DURABLE_MODES:
            raise ValueError(
                "durable must be None, 'local', 'replicas' or 'all', "
                f'not {self.durable!r}.',
            )
        if self.durable_replicas < 1:
            raise ValueError(
                f'durable_replicas must be at least 1, not {self.durable_replicas}.',
            )
        if not self.durable_timeout > 0:
            raise ValueError(
                'durable_timeout must be positive seconds, '
                f'not {self.durable_timeout}.',
            )
        if (
            self.durable is not None
            and self.socket_timeout is not None
            and self.durable_timeout >= self.socket_timeout
        ):
            raise ValueError(
                f'durable_timeout ({self.durable_timeout} s) must be shorter than '
                f'socket_timeout ({self.socket_timeout} s): the server answers '
                'WAIT/WAITAOF only when the timeout ends.',
            )

    def _check(self) -> None:
        self._check_durable()
        ways = [
            self.hostname is not None or self.port is not None,
            self.url is not None,
            self.unix_socket_path is not None,
            self.startup_nodes is not None
            and not (self.hostname or self.port or self.url),
        ]
        if sum(ways) != 1 or (self.hostname is None) != (self.port is None):
            raise ValueError(
                'Give the Redis server one way: hostname and port, url, '
                'unix_socket_path, or startup_nodes (cluster).',
            )
        cluster = self.cluster or self.startup_nodes is not None
        if cluster and (self.unix_socket_path is not None or self.db != 0):
            raise ValueError('A Redis Cluster has no unix socket and only db 0.')
        if self.ssl and self.unix_socket_path is not None:
            raise ValueError('TLS is not available over a unix socket.')
        if self.ssl and self.url is not None and not self.url.startswith('rediss:'):
            raise ValueError(
                f'ssl=True needs a rediss:// URL, not {self.url.split("://")[0]}://.',
            )
        if self.db < 0:
            raise ValueError(f'db must be 0 or more, not {self.db}.')
        if self.ttl is not None and self.ttl <= 0:
            raise ValueError(f'ttl must be positive seconds, not {self.ttl}.')
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(
                f'max_connections must be at least 1, not {self.max_connections}.'
            )
        if self.prefix is not None and not self.prefix:
            raise ValueError('prefix must not be empty: clear would delete every key.')
        if self.retries < 0:
            raise ValueError(f'retries must be 0 or more, not {self.retries}.')
        if self.ssl_cert_reqs not in _CERT_REQS:
            raise ValueError(
                f"ssl_cert_reqs must be 'required', 'optional' or 'none', "
                f'not {self.ssl_cert_reqs!r}.',
            )

    @property
    def ttl_ms(self) -> int | None:
        """`ttl` in whole milliseconds (at least 1), as ``SET ... PX`` takes it."""
        return None if self.ttl is None else max(int(self.ttl * 1000), 1)

    @property
    def durable_command(self) -> tuple[str | int, ...] | None:
        """The command sent after each write (on its connection), or ``None``.

        ``'local'``: ``WAITAOF 1 0 ms``; ``'replicas'``: ``WAIT n ms``;
        ``'all'``: ``WAITAOF 1 n ms``, ``n`` being `durable_replicas` and ``ms``
        `durable_timeout` in milliseconds.
        """
        ms = max(int(self.durable_timeout * 1000), 1)
        if self.durable == 'local':
            return ('WAITAOF', 1, 0, ms)
        if self.durable == 'replicas':
            return ('WAIT', self.durable_replicas, ms)
        if self.durable == 'all':
            return ('WAITAOF', 1, self.durable_replicas, ms)
        return None

    @property
    def tls(self) -> bool:
        """Whether connections use TLS (``ssl``, or a ``rediss://`` URL)."""
        return self.ssl or (self.url is not None and self.url.startswith('rediss:'))

    def config(self) -> dict[str, Any]:
        """The options that differ from their defaults, ``prefix`` always first.

        ``clear`` is left out (a copy made from the config does not delete the
        namespace unless the config sets it), and so is ``cluster`` when
        ``startup_nodes`` implies it. ``startup_nodes`` is a list of
        ``[host, port]`` lists, as JSON would give it back. The password is
        replaced by ``password_id``, its id: the password is kept in this
        process (`proxystore.store.keyring.add_credential`) and found by id
        where the config is used (see `proxystore.connectors.redis._credentials`).
        """
        config: dict[str, Any] = {'prefix': self.prefix}
        for field in dataclasses.fields(self):
            name = field.name
            if name in ('prefix', 'clear'):
                continue
            if name == 'cluster' and self.startup_nodes is not None:
                continue
            value = getattr(self, name)
            if value == field.default:
                continue
            if name == 'password':
                config['password_id'] = add_credential(value)
                continue
            if name == 'startup_nodes':
                value = [list(node) for node in value]
            config[name] = value
        return config
