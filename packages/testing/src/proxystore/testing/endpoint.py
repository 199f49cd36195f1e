"""Real endpoint and relay processes for tests, all on 127.0.0.1.

Endpoints offer only loopback ICE host candidates and use no STUN server
unless one is given, so nothing of a test reaches beyond this host.
"""

from __future__ import annotations

import http.client
import os
import pathlib
import sys
import uuid as uuid_module
from collections.abc import Sequence
from typing import Any

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointConnectorError
from proxystore.connectors.endpoint import _http
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import RelayConfig
from proxystore.endpoint.config import StorageConfig
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.testing.ports import free_port
from proxystore.testing.processes import ServerProcess

__all__ = ['TEST_HOST_ADDRESSES', 'EndpointProcess', 'RelayProcess', 'ServerProcess']

TEST_HOST_ADDRESSES = ['127.0.0.1']


class EndpointProcess(ServerProcess):
    """An endpoint (``proxystore-endpoint start NAME``) on 127.0.0.1.

    Its configuration is written under ``home`` (``PROXYSTORE_HOME``).

    Args:
        home: The endpoints' configuration folder.
        name: Endpoint name.
        relay: Relay address (``None``: no peering).
        token: Relay token.
        peer_channels: Data channels per peer connection.
        ice_servers: STUN servers (default: none).
        host_addresses: ICE host candidate addresses (default: loopback).
        timeout: Peer timeout in seconds.
        max_object_size: Per-object size limit.
        database_path: SQLite file (default: memory).
        port: HTTP port (default: a free one).
        peer_packet_bytes: Data bytes per SCTP packet (default: chosen per
            path, large on loopback).
    """

    def __init__(
        self,
        home: pathlib.Path,
        name: str,
        *,
        relay: str | None = None,
        token: str | None = None,
        peer_channels: int = 4,
        ice_servers: Sequence[str] = (),
        host_addresses: Sequence[str] = TEST_HOST_ADDRESSES,
        timeout: float = 10.0,
        max_object_size: int | None = 100_000_000,
        database_path: str | None = None,
        port: int | None = None,
        peer_packet_bytes: int | None = None,
    ) -> None:
        super().__init__()
        self.home = home
        self.config = EndpointConfig(
            name=name,
            uuid=uuid_module.uuid4(),
            port=free_port() if port is None else port,
            host='127.0.0.1',
            relay=RelayConfig(
                address=relay,
                token=token,
                peer_channels=peer_channels,
                ice_servers=list(ice_servers),
                host_addresses=list(host_addresses),
                timeout=timeout,
                peer_packet_bytes=peer_packet_bytes,
            ),
            storage=StorageConfig(
                database_path=database_path, max_object_size=max_object_size
            ),
        )
        write_config(self.config, home)

    def __repr__(self) -> str:
        return f'EndpointProcess({self.config.name!r}, port={self.config.port})'

    @property
    def uuid(self) -> uuid_module.UUID:
        """The endpoint's UUID."""
        return self.config.uuid

    @property
    def address(self) -> str:
        """The endpoint's HTTP address."""
        return self.config.address

    def command(self) -> list[str]:
        """``python -m proxystore.endpoint.cli start NAME``."""
        return [
            sys.executable, '-m', 'proxystore.endpoint.cli',
            'start', self.config.name, '--no-detach', '--log-level', 'INFO',
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        """The test's environment with ``PROXYSTORE_HOME`` set to ``home``."""
        return {**os.environ, 'PROXYSTORE_HOME': str(self.home)}

    def request(
        self,
        method: str,
        route: str,
        params: dict[str, str],
        body: bytes = b'',
        *,
        authenticated: bool = True,
    ) -> _http.Response:
        """One raw HTTP request to the endpoint, with its token unless told not."""
        frames = [memoryview(body)] if method == 'POST' else []
        headers = {}
        # The endpoint makes its token on first start if its config has none.
        token = self.config.token or read_config(self.config.name, self.home).token
        if authenticated and token is not None:
            headers['Authorization'] = f'Bearer {token}'

        return _http.request(
            '127.0.0.1',
            self.config.port,
            method,
            route,
            params,
            frames,
            timeout=60,
            headers=headers,
        )

    def ready(self) -> bool:
        """Whether ``GET /endpoint`` answers with this endpoint's UUID."""
        try:
            response = self.request('GET', '/endpoint', {})
        except EndpointConnectorError:
            return False
        return response.status == 200 and response.json()['uuid'] == str(self.uuid)

    def status(self, *, authenticated: bool = False) -> dict[str, Any]:
        """The `GET /` status: its public part unless ``authenticated``."""
        status = self.request('GET', '/', {}, authenticated=authenticated).json()
        assert isinstance(status, dict)
        return status

    def connector(self, **options: Any) -> EndpointConnector:
        """A connector whose local endpoint is this one."""
        return EndpointConnector([self.uuid], str(self.home), **options)

    def log(self) -> str:
        """The endpoint's log so far."""
        path = self.home / self.config.name / 'log.txt'
        return path.read_text() if path.exists() else ''


class RelayProcess(ServerProcess):
    """A relay (``proxystore-relay serve``) on 127.0.0.1.

    Args:
        tokens: ``{user: token}`` accepted by the relay (through
            ``PROXYSTORE_RELAY_TOKENS``); ``None``: ``--no-auth``.
        port: Its port (default: a free one; keep it to restart the relay).
        max_message_bytes: Largest message a client may send.
        stun_port: Also answer STUN on this UDP port.
    """

    def __init__(
        self,
        tokens: dict[str, str] | None = None,
        *,
        port: int | None = None,
        max_message_bytes: int | None = None,
        stun_port: int | None = None,
    ) -> None:
        super().__init__()
        self.tokens = tokens
        self.port = free_port() if port is None else port
        self.max_message_bytes = max_message_bytes
        self.stun_port = stun_port

    def __repr__(self) -> str:
        return f'RelayProcess(port={self.port})'

    @property
    def address(self) -> str:
        """The relay's websocket address."""
        return f'ws://127.0.0.1:{self.port}'

    def command(self) -> list[str]:
        """``python -m proxystore.p2p.relay.cli serve ...``."""
        command = [
            sys.executable, '-m', 'proxystore.p2p.relay.cli', 'serve',
            '--host', '127.0.0.1', '--port', str(self.port), '--log-level', 'WARNING',
        ]  # fmt: skip
        if self.tokens is None:
            command.append('--no-auth')
        if self.max_message_bytes is not None:
            command += ['--max-message-bytes', str(self.max_message_bytes)]
        if self.stun_port is not None:
            command += ['--stun-port', str(self.stun_port)]
        return command

    def environment(self) -> dict[str, str]:
        """The environment, with the tokens in ``PROXYSTORE_RELAY_TOKENS``."""
        env = dict(os.environ)
        env.pop('PROXYSTORE_RELAY_TOKENS', None)
        if self.tokens:
            env['PROXYSTORE_RELAY_TOKENS'] = ','.join(
                f'{user}={token}' for user, token in self.tokens.items()
            )
        return env

    def health(self) -> str:
        """The relay's ``GET /health`` text (``OK N endpoints``).

        Raises:
            OSError: If it does not answer.
        """
        connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=5)
        try:
            connection.request('GET', '/health')
            return connection.getresponse().read().decode()
        finally:
            connection.close()

    def ready(self) -> bool:
        """Whether ``GET /health`` answers."""
        try:
            return self.health().startswith('OK')
        except (OSError, http.client.HTTPException):
            return False
