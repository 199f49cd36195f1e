"""Real UCX data servers for tests, each in a process of its own on 127.0.0.1.

UCX is kept on the loopback device (``NET_DEVICES=lo``) so that nothing of a
test listens beyond this host.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXServerNotRunningError
from proxystore.connectors.ucx._client import ping
from proxystore.testing.ports import free_port

__all__ = ['TEST_DEVICES', 'UCXServer']

TEST_DEVICES = 'lo'
_START_TIMEOUT = 30.0


class UCXServer:
    """A data server process (``proxystore-ucx-server start``) on 127.0.0.1.

    Args:
        port: Its port (default: a free one).
        transports: UCX transports of the server (default: UCX's choice).
    """

    def __init__(self, port: int | None = None, transports: str | None = None) -> None:
        self.address = '127.0.0.1'
        self.port = free_port() if port is None else port
        self.transports = transports
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> UCXServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None, 'not started'
        return self.process.pid

    def start(self) -> None:
        """Start the process and wait until it answers a ping."""
        command = [
            sys.executable, '-m', 'proxystore.connectors.ucx.cli', 'start',
            '--address', self.address, '--port', str(self.port),
            '--devices', TEST_DEVICES, '--log-level', 'WARNING',
        ]  # fmt: skip
        if self.transports:
            command += ['--transports', self.transports]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                ping(self.address, self.port, timeout=1.0)
                return
            except UCXServerNotRunningError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f'the UCX data server on port {self.port} did not start'
                    ) from None
                time.sleep(0.05)

    def connector(self, **options: Any) -> UCXConnector:
        """A connector whose node server is this one (it never spawns another)."""
        options.setdefault('spawn_server', False)
        options.setdefault('devices', TEST_DEVICES)
        if self.transports:
            options.setdefault('transports', self.transports)
        return UCXConnector(self.port, self.address, **options)

    def freeze(self) -> None:
        """Stop the process (SIGSTOP) without ending it."""
        os.kill(self.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """End the process at once (SIGKILL), as a crash would."""
        assert self.process is not None, 'not started'
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
