"""ServerProcess starts, waits for and ends real server processes.

The server is a few lines of Python that listen on a port of 127.0.0.1 and
answer every connection with ``ok``; options make it exit at once, never
listen, or ignore SIGTERM.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Generator

import psutil
import pytest

from proxystore.testing.ports import free_port
from proxystore.testing.processes import ServerProcess
from proxystore.testing.processes import ServerStartError
from proxystore.testing.processes import ServerStartTimeoutError

_SERVER = """
import signal, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
if mode == 'exit':
    print('bad option', file=sys.stderr)
    sys.exit(3)
if mode == 'mute':
    time.sleep(60)
    sys.exit(0)
if mode == 'stubborn':
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with socket.create_server(('127.0.0.1', port)) as listener:
    listener.settimeout(60)
    for _ in range(1000):
        connection, _ = listener.accept()
        with connection:
            connection.sendall(b'ok')
"""


class TinyServer(ServerProcess):
    """A tiny TCP server on 127.0.0.1 (see the module docstring)."""

    start_timeout = 10.0

    def __init__(self, mode: str = 'serve') -> None:
        super().__init__()
        self.port = free_port()
        self.mode = mode

    def __repr__(self) -> str:
        return f'TinyServer(port={self.port}, mode={self.mode})'

    def command(self) -> list[str]:
        return [sys.executable, '-c', _SERVER, str(self.port), self.mode]

    def ready(self) -> bool:
        try:
            with socket.create_connection(('127.0.0.1', self.port), 1) as sock:
                return sock.recv(2) == b'ok'
        except OSError:
            return False

    def diagnostics(self) -> str:
        return f'mode {self.mode}'


def _gone(pid: int) -> bool:
    """Whether no process (not even a zombie) has the id ``pid``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def server() -> Generator[TinyServer]:
    with TinyServer() as server:
        yield server


def test_start_waits_until_it_answers_and_stop_ends_it(server: TinyServer) -> None:
    assert server.running
    assert server.ready()
    pid = server.pid
    server.stop()
    assert server.process is None
    assert not server.running
    assert _gone(pid)
    assert not server.ready()
    server.stop()  # a second stop does nothing


def test_leaving_the_with_block_stops_it() -> None:
    with TinyServer() as server:
        pid = server.pid
        assert server.ready()
    assert server.process is None
    assert _gone(pid)


def test_a_server_that_exits_is_a_start_error_with_its_diagnostics() -> None:
    server = TinyServer('exit')
    with pytest.raises(ServerStartError, match='exited with 3') as caught:
        server.start()
    assert not isinstance(caught.value, TimeoutError)
    assert 'mode exit' in str(caught.value)
    assert server.process is None


def test_a_server_that_never_answers_is_ended_at_the_deadline() -> None:
    server = TinyServer('mute')
    with pytest.raises(ServerStartTimeoutError, match='did not answer') as caught:
        server.start(timeout=0.5)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, RuntimeError)
    assert server.process is None
    left = [
        p.pid
        for p in psutil.process_iter(['cmdline'])
        if str(server.port) in (p.info['cmdline'] or [])
    ]
    assert not left, 'the mute server outlived its failed start'


def test_stop_kills_a_server_that_ignores_sigterm() -> None:
    server = TinyServer('stubborn').start()
    process = server.process
    assert process is not None
    server.stop(timeout=0.5)
    assert process.returncode == -9
    assert _gone(process.pid)


def test_a_frozen_server_is_still_stopped(server: TinyServer) -> None:
    pid = server.pid
    server.freeze()
    server.stop()
    assert _gone(pid)


def test_kill_is_a_crash_and_start_brings_it_back(server: TinyServer) -> None:
    first = server.pid
    server.kill()
    assert server.process is not None
    assert server.process.returncode == -9
    assert not server.ready()
    server.kill()  # an ended process is left alone
    server.start()
    assert server.ready()
    assert server.pid != first


def test_restart_keeps_the_port(server: TinyServer) -> None:
    first, port = server.pid, server.port
    assert server.restart() is server
    assert server.port == port
    assert server.pid != first
    assert server.ready()
    assert _gone(first)


def test_output_reaches_the_test_unless_discarded(
    capfd: pytest.CaptureFixture[str],
) -> None:
    class Quiet(TinyServer):
        discard_output = True

    with pytest.raises(ServerStartError):
        TinyServer('exit').start()
    assert 'bad option' in capfd.readouterr().err
    with pytest.raises(ServerStartError):
        Quiet('exit').start()
    assert 'bad option' not in capfd.readouterr().err


def test_the_base_needs_a_command() -> None:
    with pytest.raises(NotImplementedError):
        ServerProcess().start()
