"""The relay server (a real process) and its client: authentication, limits,
close codes, forwarding between endpoints of one user, reconnection."""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys
import uuid
import warnings
from collections.abc import AsyncGenerator
from collections.abc import Generator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from proxystore.p2p.relay import CloseCode
from proxystore.p2p.relay import RelayClient
from proxystore.p2p.relay import RelayInsecureTokenWarning
from proxystore.p2p.relay import RelayRefusedError
from proxystore.p2p.relay.errors import RelayNotConnectedError
from proxystore.p2p.relay.messages import ErrorMessage
from proxystore.p2p.relay.messages import Message
from proxystore.p2p.relay.messages import PeerGone
from proxystore.p2p.relay.messages import Signal
from proxystore.testing.endpoint import RelayProcess
from proxystore.testing.ports import free_port

TOKENS = {'alice': 'token-of-alice', 'bob': 'token-of-bob'}


@pytest.fixture(scope='module')
def relay() -> Generator[RelayProcess]:
    with RelayProcess(TOKENS, max_message_bytes=4096) as relay:
        yield relay


def _headers(token: str | None) -> dict[str, str]:
    return {} if token is None else {'Authorization': f'Bearer {token}'}


async def _closed(connection: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(10):
            await asyncio.wait_for(connection.recv(), 10)
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


async def _register(
    relay: RelayProcess, token: str, endpoint: uuid.UUID, name: str = 'ep'
) -> ClientConnection:
    connection = await connect(relay.address, additional_headers=_headers(token))
    await connection.send(
        json.dumps({'type': 'register', 'uuid': str(endpoint), 'name': name})
    )
    reply = json.loads(await asyncio.wait_for(connection.recv(), 10))
    assert reply['type'] == 'registered'
    return connection


@pytest.mark.parametrize('token', [None, 'not-a-token'])
async def test_unauthenticated_client_is_closed_4001(
    relay: RelayProcess, token: str | None
) -> None:
    async with connect(relay.address, additional_headers=_headers(token)) as ws:
        code, reason = await _closed(ws)
    assert code == CloseCode.UNAUTHORIZED == 4001
    assert reason == 'missing or unknown token (Authorization: Bearer TOKEN)'


async def test_oversized_message_is_closed_1009(relay: RelayProcess) -> None:
    async with connect(
        relay.address, additional_headers=_headers(TOKENS['alice'])
    ) as ws:
        await ws.send('x' * 5000)
        code, reason = await _closed(ws)
    assert code == CloseCode.TOO_LARGE == 1009
    assert 'exceeds limit of 4096 bytes' in reason


@pytest.mark.parametrize(
    ('first', 'reason'),
    [
        ('not json', 'bad message: message is not JSON'),
        ('[1, 2]', 'bad message: message is not a JSON object'),
        ('{"type": "hello"}', "bad message: unknown message type 'hello'"),
        ('{"type": "register", "uuid": "nope", "name": "a"}', 'is not a UUID'),
        ('{"type": "register", "name": "a"}', "lacks fields ['uuid']"),
        (
            json.dumps(
                {
                    'type': 'signal',
                    'peer': str(uuid.uuid4()),
                    'kind': 'offer',
                    'session': 's',
                    'sdp': 'v=0',
                }
            ),
            'the first message must be register, not signal',
        ),
    ],
)
async def test_bad_first_message_is_closed_4000(
    relay: RelayProcess, first: str, reason: str
) -> None:
    async with connect(
        relay.address, additional_headers=_headers(TOKENS['alice'])
    ) as ws:
        await ws.send(first)
        code, text = await _closed(ws)
    assert code == CloseCode.BAD_MESSAGE == 4000
    assert reason in text


async def test_signals_go_between_endpoints_of_one_user(relay: RelayProcess) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    alice_a = await _register(relay, TOKENS['alice'], a, 'a')
    alice_b = await _register(relay, TOKENS['alice'], b, 'b')
    bob_c = await _register(relay, TOKENS['bob'], c, 'c')
    try:
        offer = {'type': 'signal', 'peer': str(b), 'kind': 'offer'}
        await alice_a.send(json.dumps({**offer, 'session': 's1', 'sdp': 'v=0 A'}))
        forwarded = json.loads(await asyncio.wait_for(alice_b.recv(), 10))
        assert forwarded == {
            'type': 'signal',
            'peer': str(a),
            'kind': 'offer',
            'session': 's1',
            'sdp': 'v=0 A',
            'name': 'a',
        }
        # Another user's endpoint is indistinguishable from an absent one.
        for target in (c, uuid.uuid4()):
            message = {**offer, 'peer': str(target), 'session': 's2', 'sdp': 'x'}
            await alice_a.send(json.dumps(message))
            error = json.loads(await asyncio.wait_for(alice_a.recv(), 10))
            assert error == {
                'type': 'error',
                'peer': str(target),
                'session': 's2',
                'message': f'endpoint {target} is not connected to the relay',
            }
        # b leaves: a, which signaled it, is told.
        await alice_b.close()
        gone = json.loads(await asyncio.wait_for(alice_a.recv(), 10))
        assert gone == {'type': 'peer-gone', 'peer': str(b)}
        # A bad message after registration closes the connection too.
        await bob_c.send('{"type": "signal"}')
        code, reason = await _closed(bob_c)
        assert code == 4000
        assert 'lacks fields' in reason
    finally:
        for connection in (alice_a, alice_b, bob_c):
            await connection.close()


async def test_registrations_are_per_user(relay: RelayProcess) -> None:
    """Bob registering Alice's UUID neither disturbs her endpoint nor learns of it."""
    shared = uuid.uuid4()
    # Bob squats the UUID while Alice's endpoint is offline: it is his own.
    bob_squat = await _register(relay, TOKENS['bob'], shared, 'squat')
    alice_ep = await _register(relay, TOKENS['alice'], shared, 'real')
    alice_peer = await _register(relay, TOKENS['alice'], uuid.uuid4(), 'peer')
    bob_probe = await _register(relay, TOKENS['bob'], uuid.uuid4(), 'probe')
    try:
        # Alice's peer reaches Alice's endpoint, not Bob's squatter.
        await alice_peer.send(
            json.dumps({'type': 'signal', 'peer': str(shared), 'kind': 'offer',
                        'session': 's-alice', 'sdp': 'v=0'})
        )  # fmt: skip
        got = json.loads(await asyncio.wait_for(alice_ep.recv(), 10))
        assert got['session'] == 's-alice' and got['name'] == 'peer'
        # Bob's probe reaches only Bob's own registration of the UUID: the
        # answer is the same whether Alice's endpoint is online or not.
        await bob_probe.send(
            json.dumps({'type': 'signal', 'peer': str(shared), 'kind': 'offer',
                        'session': 's-bob', 'sdp': 'v=0'})
        )  # fmt: skip
        got = json.loads(await asyncio.wait_for(bob_squat.recv(), 10))
        assert got['session'] == 's-bob' and got['name'] == 'probe'
        await bob_squat.close()
        gone = json.loads(await asyncio.wait_for(bob_probe.recv(), 10))
        assert gone == {'type': 'peer-gone', 'peer': str(shared)}
        await bob_probe.send(
            json.dumps({'type': 'signal', 'peer': str(shared), 'kind': 'offer',
                        'session': 's-bob2', 'sdp': 'v=0'})
        )  # fmt: skip
        error = json.loads(await asyncio.wait_for(bob_probe.recv(), 10))
        assert error == {
            'type': 'error',
            'peer': str(shared),
            'session': 's-bob2',
            'message': f'endpoint {shared} is not connected to the relay',
        }
        # Alice's endpoint was neither replaced nor told of Bob's.
        await alice_peer.send(
            json.dumps({'type': 'signal', 'peer': str(shared), 'kind': 'answer',
                        'session': 's-alice2', 'sdp': 'v=0'})
        )  # fmt: skip
        got = json.loads(await asyncio.wait_for(alice_ep.recv(), 10))
        assert got['session'] == 's-alice2'
    finally:
        for connection in (bob_squat, alice_ep, alice_peer, bob_probe):
            await connection.close()


async def test_reregistration_replaces(relay: RelayProcess) -> None:
    endpoint = uuid.uuid4()
    first = await _register(relay, TOKENS['alice'], endpoint)
    try:
        second = await _register(relay, TOKENS['alice'], endpoint)
        code, reason = await _closed(first)
        assert code == CloseCode.REPLACED == 4004
        assert reason == 'this endpoint registered from another connection'
        await second.close()
    finally:
        await first.close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[Message] = asyncio.Queue()

    async def __call__(self, message: Message) -> None:
        await self.messages.put(message)

    async def next(self) -> Message:
        return await asyncio.wait_for(self.messages.get(), 10)


@pytest.fixture
async def clients(
    relay: RelayProcess,
) -> AsyncGenerator[list[tuple[RelayClient, _Inbox]]]:
    made = []
    for name in ('one', 'two'):
        inbox = _Inbox()
        client = RelayClient(
            relay.address, uuid.uuid4(), name, inbox, token=TOKENS['alice']
        )
        await client.start()
        made.append((client, inbox))
    for client, _ in made:  # both registered before either signals the other
        await client.wait_connected(10)
    yield made
    for client, _ in made:
        await client.close()


async def test_client_sends_and_receives(clients: list[Any]) -> None:
    (one, _), (two, inbox) = clients
    await one.send(Signal(two.uuid, 'offer', 'sess', 'v=0'), timeout=10)
    message = await inbox.next()
    assert message == Signal(one.uuid, 'offer', 'sess', 'v=0', name='one')
    await one.send(Signal(uuid.uuid4(), 'offer', 'lost', 'v=0'), timeout=10)
    error = await clients[0][1].next()
    assert isinstance(error, ErrorMessage) and error.session == 'lost'
    await two.close()
    assert await clients[0][1].next() == PeerGone(two.uuid)
    assert one.state == 'connected'


async def test_client_with_a_bad_token_is_refused_for_good(relay: RelayProcess) -> None:
    client = RelayClient(relay.address, uuid.uuid4(), 'x', _Inbox(), token='wrong')
    await client.start()
    try:
        with pytest.raises(RelayRefusedError) as info:
            await client.wait_connected(10)
        assert info.value.code == 4001
        assert str(info.value) == (
            'the relay refused the connection (4001): missing or unknown token '
            '(Authorization: Bearer TOKEN)'
        )
        assert client.state == 'refused'
    finally:
        await client.close()


async def test_client_reconnects_after_a_relay_restart() -> None:
    port = free_port()
    relay = RelayProcess(TOKENS, port=port)
    relay.start()
    client = RelayClient(
        relay.address,
        uuid.uuid4(),
        'x',
        _Inbox(),
        token=TOKENS['alice'],
        max_backoff=0.5,
    )
    try:
        await client.start()
        await client.wait_connected(10)
        relay.kill()
        with pytest.raises(RelayNotConnectedError, match='not connected to the relay'):
            for _ in range(100):
                await client.wait_connected(0.05)
                await asyncio.sleep(0.05)
        relay = RelayProcess(TOKENS, port=port)
        relay.start()
        await client.wait_connected(10)
        assert client.connections == 2
        assert relay.health() == 'OK 1 endpoints\n'
    finally:
        await client.close()
        relay.stop()


def _relay_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, '-m', 'proxystore.p2p.relay.cli', *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def test_relay_without_tokens_refuses_to_start() -> None:
    result = _relay_cli('serve', '--port', str(free_port()))
    assert result.returncode == 1
    assert 'error: no tokens: add one with `proxystore-relay add-token' in result.stderr


def test_add_token_writes_a_digest(tmp_path: pathlib.Path) -> None:
    config = tmp_path / 'relay.toml'
    result = _relay_cli('add-token', 'carol', '--config', str(config))
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert len(token) >= 40
    text = config.read_text()
    assert token not in text and 'sha256:' in text and 'carol' in text
    assert config.stat().st_mode & 0o777 == 0o600
    bad = tmp_path / 'bad.toml'
    bad.write_text('port = "high"\n')
    result = _relay_cli('serve', '--config', str(bad))
    assert result.returncode == 1
    assert "port must be between 0 and 65535, not 'high'" in result.stderr


async def test_tokens_from_a_config_file(tmp_path: pathlib.Path) -> None:
    config = tmp_path / 'relay.toml'
    token = _relay_cli('add-token', 'dave', '--config', str(config)).stdout.strip()

    class FileRelay(RelayProcess):
        def command(self) -> list[str]:
            base = super().command()
            return [*base, '--config', str(config)]

    with FileRelay({}) as relay:
        connection = await _register(relay, token, uuid.uuid4())
        await connection.close()
        async with connect(relay.address, additional_headers=_headers('x')) as ws:
            code, _ = await _closed(ws)
        assert code == 4001


async def _ignore(message: Message) -> None:
    del message


@pytest.mark.parametrize(
    'address',
    ['ws://relay.example.org:8700', 'ws://10.0.0.5:8700', 'WS://[2001:db8::1]:80'],
)
def test_token_over_plain_ws_to_another_host_warns(address: str) -> None:
    with pytest.warns(
        RelayInsecureTokenWarning,
        match=r'sends its token unencrypted to .*Use a wss:// relay address',
    ):
        RelayClient(address, uuid.uuid4(), 'ep', _ignore, token='secret-token')


@pytest.mark.parametrize(
    ('address', 'token'),
    [
        ('wss://relay.example.org:8700', 'secret-token'),
        ('ws://127.0.0.1:8700', 'secret-token'),
        ('ws://127.3.4.5:8700', 'secret-token'),
        ('ws://localhost:8700', 'secret-token'),
        ('ws://[::1]:8700', 'secret-token'),
        ('ws://relay.example.org:8700', None),
    ],
)
def test_no_warning_over_tls_loopback_or_without_token(
    address: str, token: str | None
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('error', RelayInsecureTokenWarning)
        RelayClient(address, uuid.uuid4(), 'ep', _ignore, token=token)


async def test_real_client_with_token_on_loopback_does_not_warn(
    relay: RelayProcess,
) -> None:
    # The suite turns warnings into errors: a warning would fail this test.
    client = RelayClient(
        relay.address, uuid.uuid4(), 'ep', _ignore, token=TOKENS['alice']
    )
    await client.start()
    try:
        await client.wait_connected(timeout=10)
    finally:
        await client.close()
