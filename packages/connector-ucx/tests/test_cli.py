"""``proxystore-ucx-server`` and servers started on demand by a connector."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from proxystore.connectors.ucx import UCXAuthenticationError
from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXServerNotRunningError
from proxystore.connectors.ucx._client import ping
from proxystore.connectors.ucx._launch import alive
from proxystore.connectors.ucx._launch import read_state
from proxystore.testing.ports import free_port
from proxystore.testing.ucx import TEST_DEVICES
from proxystore.testing.ucx import UCXServer


@pytest.fixture(autouse=True)
def state_dir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """Servers of these tests keep their state files apart from the user's."""
    monkeypatch.setenv('XDG_RUNTIME_DIR', str(tmp_path))
    return tmp_path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', 'proxystore.connectors.ucx.cli', *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_start_detached_status_stop() -> None:
    port = str(free_port())
    started = cli('start', '--detach', '--port', port, '--devices', TEST_DEVICES)
    assert started.returncode == 0, started.stderr
    assert f'UCX data server started at 127.0.0.1:{port}' in started.stdout
    try:
        pid = read_state(int(port))['pid']  # type: ignore[index]
        again = cli('start', '--detach', '--port', port, '--devices', TEST_DEVICES)
        assert again.returncode == 0
        assert 'already answers' in again.stdout

        connector = UCXConnector(int(port), '127.0.0.1', devices=TEST_DEVICES)
        connector.put(b'x' * 10)
        status = cli('status', '--port', port)
        assert status.returncode == 0
        assert (
            f'running at 127.0.0.1:{port} (pid {pid}): 1 objects, 10 bytes'
            in status.stdout
        )
    finally:
        stopped = cli('stop', '--port', port)
    assert stopped.returncode == 0
    assert f'stopped the UCX data server on port {port} (pid {pid})' in stopped.stdout
    assert isinstance(pid, int) and not alive(pid)
    assert read_state(int(port)) is None

    status = cli('status', '--port', port)
    assert status.returncode == 1
    assert 'not running: no UCX data server answers' in status.stdout
    stop_again = cli('stop', '--port', port)
    assert stop_again.returncode == 1
    assert (
        f'no UCX data server of this user runs on port {port} here' in stop_again.stdout
    )


def test_start_on_a_busy_port() -> None:
    with UCXServer() as server:
        result = cli('start', '--port', str(server.port), '--devices', TEST_DEVICES)
    assert result.returncode == 1
    assert f'cannot serve on 127.0.0.1:{server.port}' in result.stderr


def test_stop_ignores_a_stale_state_file(state_dir: pathlib.Path) -> None:
    """A killed server's file must not make `stop` signal an unrelated process."""
    port = free_port()
    folder = state_dir / f'proxystore-ucx-{os.getuid()}'
    folder.mkdir()
    (folder / f'server-{port}.json').write_text(
        f'{{"pid": {os.getpid()}, "port": {port}}}'
    )
    result = cli('stop', '--port', str(port))
    assert result.returncode == 1
    assert read_state(port) is None


def test_connector_starts_and_stops_a_server() -> None:
    port = free_port()
    connector = UCXConnector(port, '127.0.0.1', devices=TEST_DEVICES)
    with pytest.raises(UCXServerNotRunningError):
        ping('127.0.0.1', port, timeout=1)
    key = connector.put(b'on demand')  # starts the node's server
    pid, objects, _ = ping('127.0.0.1', port, timeout=5)
    assert objects == 1 and alive(pid)
    other = UCXConnector(port, '127.0.0.1', devices=TEST_DEVICES)
    assert other.get(other.put(b'same server')) == b'same server'
    assert ping('127.0.0.1', port, timeout=5)[0] == pid  # no second server
    assert other.get(key) == b'on demand'
    connector.close(kill_server=True)
    assert not alive(pid)
    with pytest.raises(UCXServerNotRunningError):
        ping('127.0.0.1', port, timeout=1)


@pytest.mark.parametrize(
    ('token', 'message'),
    [
        (b'', 'error: the token must not be empty'),
        (b'x' * 5000, 'error: the token has 4097 bytes, more than 4096'),
    ],
)
def test_bad_token_on_stdin(token: bytes, message: str) -> None:
    command = [
        sys.executable, '-m', 'proxystore.connectors.ucx.cli', 'start',
        '--address', '127.0.0.1', '--port', str(free_port()), '--token-stdin',
    ]  # fmt: skip
    done = subprocess.run(
        command,
        input=token,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert message in done.stderr.decode()


def test_detached_server_takes_the_token_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = str(free_port())
    monkeypatch.setenv('PROXYSTORE_UCX_TOKEN', 'detached-token')
    result = cli('start', '--address', '127.0.0.1', '--port', port, '--detach')
    assert result.returncode == 0, result.stderr
    try:
        monkeypatch.delenv('PROXYSTORE_UCX_TOKEN')
        anonymous = UCXConnector(
            int(port), '127.0.0.1', devices=TEST_DEVICES, spawn_server=False
        )
        with pytest.raises(UCXAuthenticationError, match='requires a token'):
            anonymous.put(b'x')
        keyed = UCXConnector(
            int(port),
            '127.0.0.1',
            devices=TEST_DEVICES,
            spawn_server=False,
            token='detached-token',
        )
        assert keyed.get(keyed.put(b'kept')) == b'kept'
    finally:
        assert cli('stop', '--port', port).returncode == 0
