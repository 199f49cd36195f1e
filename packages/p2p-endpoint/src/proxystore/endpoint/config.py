"""Endpoint configurations: TOML files under the user's data directory.

Each endpoint has a folder ``<home>/<name>/`` holding ``config.toml``, its log
``log.txt``, ``daemon.pid`` while it runs detached, and ``blobs.db`` when its
objects persist. ``<home>`` is ``$PROXYSTORE_HOME`` if set, else the user's
data directory (``$XDG_DATA_HOME/proxystore``, by default
``~/.local/share/proxystore`` on Linux).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import re
import secrets
import tempfile
import tomllib
import uuid as uuid_module
from typing import Any

import platformdirs
import tomli_w

from proxystore.endpoint._files import make_private_dir
from proxystore.endpoint.exceptions import EndpointConfigError
from proxystore.endpoint.storage import DEFAULT_MAX_OBJECT_SIZE
from proxystore.endpoint.storage import default_total_bytes

__all__ = [
    'EndpointConfig',
    'RelayConfig',
    'StorageConfig',
    'config_path',
    'get_configs',
    'home_dir',
    'log_path',
    'new_token',
    'pid_path',
    'read_config',
    'validate_name',
    'write_config',
]

HOME_ENV = 'PROXYSTORE_HOME'
CONFIG_FILE = 'config.toml'
_NAME = re.compile(r'[A-Za-z0-9_-]+')
_TOKEN = re.compile(r'[A-Za-z0-9_-]{16,256}')


def new_token() -> str:
    """A new random endpoint token (256 bits)."""
    return secrets.token_urlsafe(32)


def home_dir() -> pathlib.Path:
    """The folder holding every endpoint's folder."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return pathlib.Path(explicit).expanduser()
    return pathlib.Path(platformdirs.user_data_dir('proxystore', appauthor=False))


def validate_name(name: str) -> str:
    """Check an endpoint name (letters, digits, ``_`` and ``-``).

    Raises:
        EndpointConfigError: If the name has other characters or is empty.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise EndpointConfigError(
            f'endpoint name {name!r} is invalid: use letters, digits, _ and - only',
        )
    return name


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise EndpointConfigError(message)


@dataclasses.dataclass
class StorageConfig:
    """Where an endpoint keeps its objects.

    Attributes:
        database_path: SQLite file for objects that outlive the process
            (``None``: memory only).
        max_object_size: Largest object in bytes (``None``: no limit).
        max_total_bytes: Most bytes of all objects together (``None``: half
            of the host's physical memory, see `total_bytes`).
    """

    database_path: str | None = None
    max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE
    max_total_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ('max_object_size', 'max_total_bytes'):
            value = getattr(self, name)
            _check(
                value is None
                or (
                    isinstance(value, int) and not isinstance(value, bool) and value > 0
                ),
                f'storage.{name} must be a positive integer, not {value!r}',
            )

    def total_bytes(self) -> int:
        """The total storage cap in bytes (`max_total_bytes` or its default)."""
        if self.max_total_bytes is not None:
            return self.max_total_bytes
        return default_total_bytes()


@dataclasses.dataclass
class RelayConfig:
    """How an endpoint reaches its peers.

    Attributes:
        address: The relay server (``ws://`` or ``wss://``); ``None``: no
            peering.
        token: The token the relay knows this endpoint's user by.
        peer_channels: Data channels per peer connection (a large object is
            chunked across them).
        ice_servers: STUN (or TURN) servers for NAT traversal, as URLs such
            as ``'stun:stun.example.org:3478'``. Empty: host candidates only
            (endpoints on one network).
        host_addresses: Local addresses to offer as ICE host candidates
            (empty: every address of the host except loopback).
        timeout: Seconds to wait for a peer connection or a peer's answer.
        verify_certificate: Check the relay's TLS certificate (``wss://``).
        peer_packet_bytes: Data bytes per SCTP packet of peer connections
            (``None``: large packets where every ICE candidate is loopback,
            the standard 1,172 bytes elsewhere; see `proxystore.p2p.packets`).
    """

    address: str | None = None
    token: str | None = None
    peer_channels: int = 4
    ice_servers: list[str] = dataclasses.field(default_factory=list)
    host_addresses: list[str] = dataclasses.field(default_factory=list)
    timeout: float = 30.0
    verify_certificate: bool = True
    peer_packet_bytes: int | None = None

    def __post_init__(self) -> None:
        _check(
            self.address is None
            or (
                isinstance(self.address, str)
                and self.address.startswith(('ws://', 'wss://'))
            ),
            f'relay.address must start with ws:// or wss://, not {self.address!r}',
        )
        _check(
            isinstance(self.peer_channels, int) and 1 <= self.peer_channels <= 64,
            f'relay.peer_channels must be between 1 and 64, not {self.peer_channels!r}',
        )
        _check(
            isinstance(self.timeout, int | float) and self.timeout > 0,
            f'relay.timeout must be positive, not {self.timeout!r}',
        )
        _check(
            self.peer_packet_bytes is None
            or (
                isinstance(self.peer_packet_bytes, int)
                and 256 <= self.peer_packet_bytes <= 16_000
            ),
            'relay.peer_packet_bytes must be between 256 and 16000, '
            f'not {self.peer_packet_bytes!r}',
        )
        for url in self.ice_servers:
            _check(
                isinstance(url, str) and url.startswith('stun:'),
                f'relay.ice_servers entries are stun: URLs, not {url!r}',
            )


@dataclasses.dataclass
class EndpointConfig:
    """An endpoint's configuration.

    Attributes:
        name: Name (letters, digits, ``_`` and ``-``); also its folder's name.
        uuid: Its UUID: keys name the endpoint that owns them by it.
        port: Port of its HTTP server.
        host: Address its HTTP server binds to (default: loopback only).
        token: Secret every request to its REST API carries
            (``Authorization: Bearer TOKEN``), made by
            ``proxystore-endpoint configure`` (or at the first ``start`` of a
            configuration without one). It stays in this file, readable by the
            user only; the endpoint connector reads it from here.
        body_timeout: Most seconds the HTTP server waits for the next bytes
            of a request's body; a request whose body stalls longer is
            answered 408 and its connection closed.
        relay: Peering settings.
        storage: Storage settings.
    """

    name: str
    uuid: uuid_module.UUID
    port: int
    host: str = '127.0.0.1'
    token: str | None = None
    body_timeout: float = 30.0
    relay: RelayConfig = dataclasses.field(default_factory=RelayConfig)
    storage: StorageConfig = dataclasses.field(default_factory=StorageConfig)

    def __post_init__(self) -> None:
        validate_name(self.name)
        if isinstance(self.uuid, str):
            try:
                self.uuid = uuid_module.UUID(self.uuid)
            except ValueError:
                raise EndpointConfigError(f'uuid {self.uuid!r} is not a UUID') from None
        _check(
            isinstance(self.port, int) and 1 <= self.port <= 65535,
            f'port must be between 1 and 65535, not {self.port!r}',
        )
        _check(
            isinstance(self.host, str) and bool(self.host),
            f'host must be an address, not {self.host!r}',
        )
        _check(
            self.token is None
            or (
                isinstance(self.token, str) and _TOKEN.fullmatch(self.token) is not None
            ),
            'token must be 16 to 256 letters, digits, _ or -, not '
            + (
                'a string of another form'
                if isinstance(self.token, str)
                else repr(self.token)
            ),
        )
        _check(
            isinstance(self.body_timeout, int | float)
            and not isinstance(self.body_timeout, bool)
            and 0 < self.body_timeout <= 3600,
            f'body_timeout must be between 0 and 3600 seconds, '
            f'not {self.body_timeout!r}',
        )

    @property
    def address(self) -> str:
        """The HTTP base address clients use (loopback when bound to all)."""
        host = '127.0.0.1' if self.host in ('0.0.0.0', '') else self.host
        if ':' in host:
            host = f'[{host}]'
        return f'http://{host}:{self.port}'

    def to_dict(self) -> dict[str, Any]:
        """The configuration as TOML-ready data (``None`` values left out)."""

        def clean(data: dict[str, Any]) -> dict[str, Any]:
            return {
                name: clean(value) if isinstance(value, dict) else value
                for name, value in data.items()
                if value is not None
            }

        data = dataclasses.asdict(self)
        data['uuid'] = str(self.uuid)
        return clean(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointConfig:
        """Make a configuration from `to_dict`'s output (or a parsed TOML file).

        Raises:
            EndpointConfigError: If a field is missing, unknown or invalid.
        """
        if not isinstance(data, dict):
            raise EndpointConfigError('an endpoint configuration must be a table')
        try:
            fields = dict(data)
            relay = RelayConfig(**fields.pop('relay', {}))
            storage = StorageConfig(**fields.pop('storage', {}))
            return cls(**fields, relay=relay, storage=storage)
        except TypeError as error:
            raise EndpointConfigError(
                f'invalid endpoint configuration: {error}'
            ) from None


def endpoint_dir(name: str, home: pathlib.Path | None = None) -> pathlib.Path:
    """The folder of the endpoint ``name``."""
    return (home_dir() if home is None else home) / validate_name(name)


def config_path(name: str, home: pathlib.Path | None = None) -> pathlib.Path:
    """The configuration file of the endpoint ``name``."""
    return endpoint_dir(name, home) / CONFIG_FILE


def log_path(name: str, home: pathlib.Path | None = None) -> pathlib.Path:
    """The log file of the endpoint ``name``."""
    return endpoint_dir(name, home) / 'log.txt'


def pid_path(name: str, home: pathlib.Path | None = None) -> pathlib.Path:
    """The PID file of the endpoint ``name`` while it runs detached."""
    return endpoint_dir(name, home) / 'daemon.pid'


def write_config(
    config: EndpointConfig, home: pathlib.Path | None = None
) -> pathlib.Path:
    """Write ``config`` to its endpoint's folder (readable by the user only).

    The endpoint's folder is created with mode 0700 and the file with 0600:
    the file holds the endpoint's token and maybe the relay token. The file
    is replaced whole (written aside, then renamed over the old one): a
    reader, such as a client reading the token an endpoint writes on its
    first start, sees the old configuration or the new one, never a part.
    """
    path = config_path(config.name, home)
    make_private_dir(path.parent)
    # mkstemp makes the file with mode 0600, in the same folder: the rename
    # stays on one file system.
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f'.{CONFIG_FILE}.', suffix='.tmp'
    )
    try:
        with os.fdopen(descriptor, 'wb') as file:
            tomli_w.dump(config.to_dict(), file)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def read_config(name: str, home: pathlib.Path | None = None) -> EndpointConfig:
    """Read the configuration of the endpoint ``name``.

    Raises:
        EndpointConfigError: If there is none, or it is not valid.
    """
    path = config_path(name, home)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise EndpointConfigError(
            f'no endpoint named {name!r} is configured (no {path})'
        ) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise EndpointConfigError(f'cannot read {path}: {error}') from None
    config = EndpointConfig.from_dict(data)
    if config.name != name:
        raise EndpointConfigError(
            f'{path} names endpoint {config.name!r}, not {name!r}'
        )
    return config


def get_configs(home: pathlib.Path | None = None) -> list[EndpointConfig]:
    """Every valid endpoint configuration under ``home``, sorted by name."""
    folder = home_dir() if home is None else home
    configs = []
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if (child / CONFIG_FILE).is_file():
                try:
                    configs.append(read_config(child.name, folder))
                except EndpointConfigError:
                    continue
    return configs
