"""``proxystore-endpoint`` end to end, in subprocesses, with configurations in
a temporary ``PROXYSTORE_HOME``."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import uuid

import pytest

from proxystore.endpoint.config import read_config
from proxystore.testing.endpoint import RelayProcess
from proxystore.testing.ports import free_port


@pytest.fixture
def cli_home(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / 'home'


def run(home: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', 'proxystore.endpoint.cli', *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, 'PROXYSTORE_HOME': str(home), 'COLUMNS': '200'},
    )


def test_endpoint_life_cycle(cli_home: pathlib.Path) -> None:
    port = free_port()
    done = run(cli_home, 'configure', 'ep', '--port', str(port), '--persist')
    assert done.returncode == 0, done.stderr
    assert 'configured endpoint ep' in done.stdout
    config = read_config('ep', cli_home)
    assert config.port == port
    assert config.storage.database_path == str(cli_home / 'ep' / 'blobs.db')

    again = run(cli_home, 'configure', 'ep')
    assert again.returncode == 1
    assert "endpoint 'ep' is already configured" in again.stderr

    listed = run(cli_home, 'list')
    assert 'ep' in listed.stdout and 'STOPPED' in listed.stdout

    started = run(cli_home, 'start', 'ep')
    assert started.returncode == 0, started.stderr
    assert f'endpoint ep running at http://127.0.0.1:{port}' in started.stdout
    try:
        assert 'RUNNING' in run(cli_home, 'list').stdout
        twice = run(cli_home, 'start', 'ep')
        assert twice.returncode == 1
        assert "endpoint 'ep' is already running (pid" in twice.stderr

        put = run(cli_home, 'test', 'ep', 'put', 'hello')
        assert put.returncode == 0, put.stderr
        key = put.stdout.split()[-1]
        assert run(cli_home, 'test', 'ep', 'get', key).stdout == 'hello\n'
        assert run(cli_home, 'test', 'ep', 'exists', key).stdout == 'true\n'
        assert run(cli_home, 'test', 'ep', 'evict', key).returncode == 0
        assert run(cli_home, 'test', 'ep', 'exists', key).stdout == 'false\n'
        missing = run(cli_home, 'test', 'ep', 'get', key)
        assert missing.returncode == 1
        assert f"no object under key '{key}'" in missing.stderr
        bad_op = run(cli_home, 'test', 'ep', 'frobnicate', key)
        assert 'unknown operation' in bad_op.stderr
        peer = uuid.uuid4()
        remote = run(cli_home, 'test', 'ep', 'get', 'k', '--remote', str(peer))
        assert remote.returncode == 1
        assert 'has no relay configured, so it cannot reach peers' in remote.stderr

        busy = run(cli_home, 'remove', 'ep')
        assert busy.returncode == 1
        assert "endpoint 'ep' is running; stop it first" in busy.stderr
    finally:
        stopped = run(cli_home, 'stop', 'ep')
    assert stopped.returncode == 0, stopped.stderr
    assert 'stopped endpoint ep (pid' in stopped.stdout
    assert 'STOPPED' in run(cli_home, 'list').stdout
    not_running = run(cli_home, 'stop', 'ep')
    assert not_running.returncode == 1
    assert "endpoint 'ep' is not running" in not_running.stderr

    removed = run(cli_home, 'remove', 'ep')
    assert removed.returncode == 0
    assert not (cli_home / 'ep').exists()
    assert 'no endpoints configured' in run(cli_home, 'list').stdout


def test_bad_configuration_input(cli_home: pathlib.Path) -> None:
    bad_name = run(cli_home, 'configure', 'a b')
    assert bad_name.returncode == 1
    assert "endpoint name 'a b' is invalid" in bad_name.stderr
    bad_relay = run(cli_home, 'configure', 'x', '--relay-address', 'http://r')
    assert bad_relay.returncode == 1
    assert 'relay.address must start with ws:// or wss://' in bad_relay.stderr
    missing = run(cli_home, 'start', 'nothing')
    assert missing.returncode == 1
    assert "no endpoint named 'nothing' is configured" in missing.stderr


def test_start_on_a_busy_port(cli_home: pathlib.Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        run(cli_home, 'configure', 'ep', '--port', str(port))
        result = run(cli_home, 'start', 'ep')
    assert result.returncode == 1
    assert "endpoint 'ep' did not start; its log ends with:" in result.stderr
    assert 'address already in use' in result.stderr.lower()


def test_check_nat(cli_home: pathlib.Path) -> None:
    stun_port = free_port()
    with RelayProcess(None, stun_port=stun_port):
        done = run(cli_home, 'check-nat', '--stun', f'stun:127.0.0.1:{stun_port}')
    assert done.returncode == 0, done.stderr
    assert 'no NAT (the public address is this host)' in done.stdout
    dead = run(cli_home, 'check-nat', '--stun', f'stun:127.0.0.1:{free_port()}')
    assert dead.returncode == 1
    assert 'did not answer' in dead.stderr
