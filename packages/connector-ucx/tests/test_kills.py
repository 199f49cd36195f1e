"""Peers killed mid-transfer: the survivor gets a typed error, never an abort.

Each client runs in a process of its own, so that an abort inside UCX shows as
that process's exit status instead of taking the test run with it. A server
killed while a client moves 32 MiB through it must leave the client with
`UCXServerGoneError` (or `UCXServerNotRunningError` for the next operation); a
client killed mid-transfer must leave the server serving every other client and
every object it held.

The default run kills a few times each way; the ``slow`` session 50 times.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from proxystore.connectors.ucx import UCXKey
from proxystore.testing.ucx import TEST_DEVICES
from proxystore.testing.ucx import UCXServer

SIZE = 32 * 1024 * 1024
KILLS = [
    2,
    pytest.param(50, marks=[pytest.mark.slow, pytest.mark.timeout(1800)]),
]

# A client that loops over one operation until its server goes; it prints the
# error that ended it and exits 0, or exits 3 if the server never went.
CLIENT = f"""
import sys, time
from proxystore.connectors.ucx import UCXConnector, UCXKey
from proxystore.connectors.ucx import UCXServerGoneError, UCXServerNotRunningError
port, op, object_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
connector = UCXConnector(port, '127.0.0.1', devices=sys.argv[4], spawn_server=False)
key = UCXKey(object_id, {SIZE}, '127.0.0.1', port)
data = bytes({SIZE})
print('ready', flush=True)
deadline = time.monotonic() + 60
try:
    while time.monotonic() < deadline:
        if op == 'get':
            assert len(connector.get(key)) == {SIZE}
        else:
            connector.put(data)
except (UCXServerGoneError, UCXServerNotRunningError) as error:
    print(type(error).__name__, error, flush=True)
    sys.exit(0)
sys.exit(3)
"""


def _client(server: UCXServer, op: str, key: UCXKey) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            '-c',
            CLIENT,
            str(server.port),
            op,
            key.object_id,
            TEST_DEVICES,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == 'ready'
    return process


@pytest.mark.parametrize('kills', KILLS)
@pytest.mark.parametrize('op', ['get', 'put'])
def test_server_killed_mid_transfer(op: str, kills: int) -> None:
    rng = random.Random(kills)
    outcomes: list[str] = []
    for _ in range(kills):
        with UCXServer() as server:
            with server.connector() as connector:
                key = connector.put(bytes(SIZE))
            client = _client(server, op, key)
            time.sleep(rng.uniform(0.05, 0.4))  # somewhere inside a transfer
            server.kill()
            out, err = client.communicate(timeout=60)
            assert client.returncode == 0, (client.returncode, out, err[-2000:])
            outcomes.append(out.split()[0])
    assert set(outcomes) <= {'UCXServerGoneError', 'UCXServerNotRunningError'}
    assert len(outcomes) == kills


@pytest.mark.parametrize('kills', KILLS)
@pytest.mark.parametrize('op', ['get', 'put'])
def test_client_killed_mid_transfer(op: str, kills: int) -> None:
    rng = random.Random(kills)
    with UCXServer() as server, server.connector() as connector:
        kept = connector.put(b'kept' * 1000)
        key = connector.put(bytes(SIZE))
        for _ in range(kills):
            client = _client(server, op, key)
            time.sleep(rng.uniform(0.05, 0.4))
            client.kill()
            client.communicate(timeout=30)
            # The server still serves others, and lost nothing.
            assert connector.get(kept) == b'kept' * 1000
            assert len(connector.get(key) or b'') == SIZE
        assert server.process is not None and server.process.poll() is None


def test_first_request_of_a_new_process() -> None:
    """A request sent while the endpoint still connects is sent intact.

    UCX may send a message after ``tag_send`` returns, from the caller's
    memory: the request must stay referenced until its send completes.
    """
    with UCXServer() as server, server.connector() as connector:
        for size in (100, 100_000, SIZE):
            key = connector.put(b'\x07' * size)
            script = (
                'import sys\n'
                'from proxystore.connectors.ucx import UCXConnector, UCXKey\n'
                'port, size = int(sys.argv[1]), int(sys.argv[3])\n'
                "c = UCXConnector(port, '127.0.0.1', devices=sys.argv[4],"
                ' spawn_server=False)\n'
                "data = c.get(UCXKey(sys.argv[2], size, '127.0.0.1', port))\n"
                "assert data == b'\\x07' * size, data[:40]\n"
            )
            subprocess.run(
                [
                    sys.executable,
                    '-c',
                    script,
                    str(server.port),
                    key.object_id,
                    str(size),
                    TEST_DEVICES,
                ],
                check=True,
                timeout=60,
            )
