"""Real UCX data servers for tests, each in a process of its own on 127.0.0.1.

UCX is kept on the loopback device (``NET_DEVICES=lo``) so that nothing of a
test listens beyond this host.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from proxystore.connectors.ucx import TOKEN_ENV
from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXServerNotRunningError
from proxystore.connectors.ucx._client import ping
from proxystore.testing.ports import free_port
from proxystore.testing.processes import ServerProcess

__all__ = ['TEST_DEVICES', 'UCXServer']

TEST_DEVICES = 'lo'


class UCXServer(ServerProcess):
    """A data server process (``proxystore-ucx-server start``) on 127.0.0.1.

    Args:
        port: Its port (default: a free one).
        transports: UCX transports of the server (default: UCX's choice).
        token: The server's token (given in its environment); ``None``: it
            serves any client. Its `connector` is not given it: pass
            ``token=`` to that.
        capacity: The server's ``--capacity`` in bytes (``None``: none).
        spill_directory: The server's ``--spill-directory`` (``None``: none).
    """

    def __init__(
        self,
        port: int | None = None,
        transports: str | None = None,
        token: str | None = None,
        capacity: int | None = None,
        spill_directory: str | None = None,
    ) -> None:
        super().__init__()
        self.capacity = capacity
        self.spill_directory = spill_directory
        self.address = '127.0.0.1'
        self.port = free_port() if port is None else port
        self.transports = transports
        self.token = token

    def __repr__(self) -> str:
        return f'UCXServer(port={self.port})'

    def __enter__(self) -> UCXServer:
        self.start()
        return self

    def command(self) -> list[str]:
        """``proxystore-ucx-server start`` on 127.0.0.1, UCX on loopback."""
        command = [
            sys.executable, '-m', 'proxystore.connectors.ucx.cli', 'start',
            '--address', self.address, '--port', str(self.port),
            '--devices', TEST_DEVICES, '--log-level', 'WARNING',
        ]  # fmt: skip
        if self.transports:
            command += ['--transports', self.transports]
        if self.capacity is not None:
            command += ['--capacity', str(self.capacity)]
        if self.spill_directory is not None:
            command += ['--spill-directory', self.spill_directory]
        return command

    def environment(self) -> dict[str, str]:
        """This process's environment, with the server's token or none."""
        environment = dict(os.environ)
        environment.pop(TOKEN_ENV, None)
        if self.token is not None:
            environment[TOKEN_ENV] = self.token
        return environment

    def ready(self) -> bool:
        """Whether the server answers a ping."""
        try:
            ping(self.address, self.port, timeout=1.0)
        except UCXServerNotRunningError:
            return False
        return True

    def connector(self, **options: Any) -> UCXConnector:
        """A connector whose node server is this one (it never spawns another)."""
        options.setdefault('spawn_server', False)
        options.setdefault('devices', TEST_DEVICES)
        if self.transports:
            options.setdefault('transports', self.transports)
        return UCXConnector(self.port, self.address, **options)
