"""Two endpoints behind two NATs, in network namespaces, peer through the holes
that STUN finds; skipped with the reason where namespaces cannot be made."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time
import uuid
from collections.abc import Generator

import pytest

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import RelayConfig
from proxystore.endpoint.config import write_config
from proxystore.testing.netns import HOST
from proxystore.testing.netns import PUBLIC
from proxystore.testing.netns import NatLab
from proxystore.testing.netns import unavailable_reason

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))

TOKEN = 'nat-test-token'
RELAY_PORT = 8700
STUN_PORT = 3478


@pytest.fixture(scope='module')
def lab() -> Generator[NatLab]:
    with NatLab() as lab:
        yield lab


def _start(
    lab: NatLab, role: str, command: list[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        lab.command(role, command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **env},
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _cli(
    lab: NatLab, role: str, home: pathlib.Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        lab.command(role, [sys.executable, '-m', 'proxystore.endpoint.cli', *args]),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, 'PROXYSTORE_HOME': str(home), 'COLUMNS': '200'},
    )


def test_endpoints_behind_nats_peer_through_stun(
    lab: NatLab, tmp_path: pathlib.Path
) -> None:
    relay = _start(
        lab,
        'pub',
        [
            sys.executable, '-m', 'proxystore.p2p.relay.cli', 'serve',
            '--host', '0.0.0.0', '--port', str(RELAY_PORT),
            '--stun-port', str(STUN_PORT), '--log-level', 'WARNING',
        ],
        {'PROXYSTORE_RELAY_TOKENS': f'nat={TOKEN}'},
    )  # fmt: skip
    endpoints: list[subprocess.Popen[bytes]] = []
    try:
        configs = {}
        for side in ('a', 'b'):
            home = tmp_path / side
            configs[side] = EndpointConfig(
                name=f'ep-{side}',
                uuid=uuid.uuid4(),
                port=9000,
                relay=RelayConfig(
                    address=f'ws://{PUBLIC[side]}:{RELAY_PORT}',
                    token=TOKEN,
                    ice_servers=[f'stun:{PUBLIC[side]}:{STUN_PORT}'],
                    timeout=20,
                ),
            )
            write_config(configs[side], home)

        # Behind its NAT, host a is seen at its router's public address.
        nat = _cli(
            lab, 'host-a', tmp_path / 'a', 'check-nat',
            '--stun', f'stun:{PUBLIC["a"]}:{STUN_PORT}',
            '--stun', f'stun:{PUBLIC["b"]}:{STUN_PORT}',
        )  # fmt: skip
        for _ in range(50):
            if 'did not answer' not in nat.stderr:
                break  # the relay's STUN server is up
            time.sleep(0.2)
            nat = _cli(
                lab, 'host-a', tmp_path / 'a', 'check-nat',
                '--stun', f'stun:{PUBLIC["a"]}:{STUN_PORT}',
                '--stun', f'stun:{PUBLIC["b"]}:{STUN_PORT}',
            )  # fmt: skip
        assert nat.returncode == 0, nat.stderr
        assert 'endpoint-independent mapping' in nat.stdout
        assert f'local {HOST["a"]}:' in nat.stdout
        assert 'seen as 198.18.1.2:' in nat.stdout

        for side in ('a', 'b'):
            endpoints.append(
                _start(
                    lab,
                    f'host-{side}',
                    [
                        sys.executable,
                        '-m',
                        'proxystore.endpoint.cli',
                        'start',
                        f'ep-{side}',
                        '--no-detach',
                    ],
                    {'PROXYSTORE_HOME': str(tmp_path / side)},
                )
            )
        for side in ('a', 'b'):
            for _ in range(150):
                status = _cli(lab, f'host-{side}', tmp_path / side, 'list')
                if 'RUNNING' in status.stdout:
                    break
                time.sleep(0.2)
            assert 'RUNNING' in status.stdout, status.stdout + status.stderr

        b_uuid = str(configs['b'].uuid)
        put = _cli(
            lab,
            'host-a',
            tmp_path / 'a',
            'test',
            'ep-a',
            'put',
            'across NATs',
            '--remote',
            b_uuid,
        )
        assert put.returncode == 0, (
            put.stderr + (tmp_path / 'a' / 'ep-a' / 'log.txt').read_text()
        )
        key = put.stdout.split()[-1]
        # The object is on b, written by a through the peer connection...
        on_b = _cli(lab, 'host-b', tmp_path / 'b', 'test', 'ep-b', 'get', key)
        assert on_b.stdout == 'across NATs\n', on_b.stderr
        # ...and a reads it back the same way.
        back = _cli(
            lab,
            'host-a',
            tmp_path / 'a',
            'test',
            'ep-a',
            'get',
            key,
            '--remote',
            b_uuid,
        )
        assert back.stdout == 'across NATs\n', back.stderr
        log = (tmp_path / 'a' / 'ep-a' / 'log.txt').read_text()
        assert f'connected to endpoint {b_uuid}' in log
    finally:
        for process in endpoints:
            _stop(process)
        _stop(relay)
