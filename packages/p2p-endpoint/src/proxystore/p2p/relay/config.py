"""The relay server's settings: a TOML file, the environment and command-line options.

```toml
host = "0.0.0.0"          # default 127.0.0.1
port = 8700
max_message_bytes = 65536
certfile = "/etc/proxystore/relay.crt"   # serve wss:// (with keyfile)
keyfile = "/etc/proxystore/relay.key"
stun_port = 3478          # also answer STUN on this UDP port

[users]                   # token digests, made by `proxystore-relay add-token`
alice = ["sha256:..."]
```

Tokens may also come from ``PROXYSTORE_RELAY_TOKENS`` (``user=token`` pairs
separated by commas), for deployments that keep secrets in the environment.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import tomllib
from typing import Any

import tomli_w

from proxystore.p2p.relay.auth import hash_token
from proxystore.p2p.relay.exceptions import RelayConfigError
from proxystore.p2p.relay.server import DEFAULT_MAX_MESSAGE_BYTES
from proxystore.p2p.relay.server import DEFAULT_PORT

__all__ = [
    'TOKENS_ENV',
    'RelayConfigError',
    'RelayServerConfig',
    'add_token',
    'environment_tokens',
]

TOKENS_ENV = 'PROXYSTORE_RELAY_TOKENS'


@dataclasses.dataclass
class RelayServerConfig:
    """Settings of a relay server (see the module's documentation)."""

    host: str = '127.0.0.1'
    port: int = DEFAULT_PORT
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    certfile: str | None = None
    keyfile: str | None = None
    stun_port: int | None = None
    users: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise RelayConfigError(
                f'port must be between 0 and 65535, not {self.port!r}'
            )
        if not isinstance(self.max_message_bytes, int) or self.max_message_bytes < 1024:
            raise RelayConfigError(
                f'max_message_bytes must be an integer of at least 1024, '
                f'not {self.max_message_bytes!r}'
            )
        if (self.certfile is None) != (self.keyfile is None):
            raise RelayConfigError(
                'certfile and keyfile go together: give both or neither'
            )
        if not isinstance(self.users, dict) or not all(
            isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)
            for tokens in self.users.values()
        ):
            raise RelayConfigError(
                'users must map each user to a list of token digests'
            )

    @classmethod
    def from_file(cls, path: pathlib.Path) -> RelayServerConfig:
        """Read a TOML configuration file.

        Raises:
            RelayConfigError: If it cannot be read or is not valid.
        """
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise RelayConfigError(f'cannot read {path}: {error}') from None
        try:
            return cls(**data)
        except TypeError as error:
            raise RelayConfigError(
                f'invalid relay configuration {path}: {error}'
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """TOML-ready data (``None`` values left out)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def environment_tokens() -> dict[str, list[str]]:
    """Users and tokens from ``PROXYSTORE_RELAY_TOKENS`` (``user=token,...``).

    Raises:
        RelayConfigError: If an entry is not ``user=token``.
    """
    users: dict[str, list[str]] = {}
    for entry in os.environ.get(TOKENS_ENV, '').split(','):
        if not entry.strip():
            continue
        user, equals, token = entry.strip().partition('=')
        if not equals or not user or not token:
            raise RelayConfigError(
                f'{TOKENS_ENV} entries are user=token, not {entry!r}'
            )
        users.setdefault(user, []).append(token)
    return users


def add_token(path: pathlib.Path, user: str, token: str) -> None:
    """Record ``token``'s digest for ``user`` in the configuration file ``path``.

    The file is created (readable by its owner only) if it does not exist.

    Raises:
        RelayConfigError: If the file exists but is not a valid configuration.
    """
    config = RelayServerConfig.from_file(path) if path.exists() else RelayServerConfig()
    config.users.setdefault(user, []).append(hash_token(token))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'wb') as file:
        tomli_w.dump(config.to_dict(), file)
