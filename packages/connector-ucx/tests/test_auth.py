"""Authentication of the control connection: tokens, challenges and proofs."""

from __future__ import annotations

import socket
import warnings
from collections.abc import Generator

import pytest

from proxystore.connectors.ucx import TOKEN_ENV
from proxystore.connectors.ucx import UCXAuthenticationError
from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXConnectorError
from proxystore.connectors.ucx import UCXInsecureServerWarning
from proxystore.connectors.ucx import _protocol as wire
from proxystore.connectors.ucx._auth import is_loopback
from proxystore.connectors.ucx._client import ping
from proxystore.connectors.ucx.server import DataServer
from proxystore.store import Store
from proxystore.testing.ports import free_port
from proxystore.testing.ucx import TEST_DEVICES
from proxystore.testing.ucx import UCXServer

TOKEN = 'the-token-of-this-test-server'
# An address of TEST-NET-1 (RFC 5737): no interface has it, so a server asked
# to bind it fails, after deciding whether to warn; nothing listens beyond
# loopback.
UNASSIGNED = '192.0.2.1'


@pytest.fixture(autouse=True)
def _no_token_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)


@pytest.fixture(scope='module')
def guarded() -> Generator[UCXServer]:
    with UCXServer(token=TOKEN) as server:
        yield server


def _round_trip(connector: UCXConnector) -> None:
    key = connector.put(b'payload' * 2000)
    assert connector.get(key) == b'payload' * 2000
    assert connector.get_batch([key, connector.put(b'small')])[1] == b'small'
    connector.evict(key)
    assert not connector.exists(key)


def test_right_token(guarded: UCXServer) -> None:
    with guarded.connector(token=TOKEN) as connector:
        assert connector.authenticated
        _round_trip(connector)


def test_token_as_bytes(guarded: UCXServer) -> None:
    with guarded.connector(token=TOKEN.encode()) as connector:
        _round_trip(connector)


def test_wrong_token_refused_then_a_good_client(guarded: UCXServer) -> None:
    with guarded.connector(token='not-the-token') as wrong:
        with pytest.raises(
            UCXAuthenticationError,
            match=rf'data server at 127.0.0.1:{guarded.port} refused the token',
        ):
            wrong.put(b'x')
        # Refused each time, not only the first.
        with pytest.raises(UCXAuthenticationError, match='refused the token'):
            wrong.put(b'x')
    with guarded.connector(token=TOKEN) as good:
        _round_trip(good)


def test_no_token_refused_then_a_good_client(guarded: UCXServer) -> None:
    with guarded.connector() as anonymous:
        assert not anonymous.authenticated
        with pytest.raises(
            UCXAuthenticationError,
            match=rf'127.0.0.1:{guarded.port} requires a token and this client '
            f'has none.*{TOKEN_ENV}',
        ):
            anonymous.put(b'x')
    with guarded.connector(token=TOKEN) as good:
        _round_trip(good)


def test_authentication_error_is_a_connector_error() -> None:
    assert issubclass(UCXAuthenticationError, UCXConnectorError)


def test_token_from_the_environment(
    guarded: UCXServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with guarded.connector() as connector:
        _round_trip(connector)


def test_store_secret_is_the_token(guarded: UCXServer) -> None:
    connector = guarded.connector()
    with Store('ucx-auth-secret', connector, secret=TOKEN, cache_size=0) as store:
        assert connector.authenticated
        key = store.put([1, 2, 3])
        assert store.get(key) == [1, 2, 3]
        # A store re-made from its config (another process does the same)
        # gives the secret to its new connector.
        with Store.from_config(store.config()) as again:
            assert again.get(key) == [1, 2, 3]


def test_given_token_wins_over_the_store_secret(guarded: UCXServer) -> None:
    connector = guarded.connector(token=TOKEN)
    with Store('ucx-auth-own', connector, secret='another-secret-of-16+') as store:
        key = store.put('value')
        assert store.get(key) == 'value'


def test_token_is_never_in_the_config(guarded: UCXServer) -> None:
    connector = guarded.connector(token=TOKEN)
    assert 'token' not in connector.config()
    assert TOKEN not in repr(connector.config())


@pytest.mark.parametrize(
    ('token', 'error', 'message'),
    [
        ('', ValueError, 'token must not be empty'),
        (b'x' * 5000, ValueError, 'token has 5000 bytes, more than 4096'),
        (12, TypeError, 'token must be bytes or a string, not int'),
    ],
)
def test_bad_token_options(token: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        UCXConnector(free_port(), '127.0.0.1', token=token)  # type: ignore[arg-type]


def test_ping_needs_no_token(guarded: UCXServer) -> None:
    pid, _, _ = ping(guarded.address, guarded.port, timeout=5.0)
    assert pid == guarded.pid


def _challenge(server: UCXServer, hello: bytes) -> socket.socket:
    """A raw control connection that sent ``hello`` and read the challenge."""
    raw = socket.create_connection((server.address, server.port), timeout=10)
    raw.sendall(hello)
    welcome = wire.WELCOME.unpack(raw.recv(wire.WELCOME.size, socket.MSG_WAITALL))
    assert welcome[2] == wire.Welcome.CHALLENGE
    assert welcome[5] == 0  # no worker address before the proof
    nonce, server_id = wire.CHALLENGE.unpack(
        raw.recv(wire.CHALLENGE.size, socket.MSG_WAITALL)
    )
    assert len(nonce) == 32
    assert len(server_id) == 16
    return raw


def _hello(address: bytes = b'not a worker address') -> bytes:
    return wire.HELLO.pack(wire.MAGIC, wire.VERSION, 0, len(address)) + address


def test_raw_wrong_proof_refused(guarded: UCXServer) -> None:
    with _challenge(guarded, _hello()) as raw:
        raw.sendall(b'\0' * wire.PROOF.size)
        welcome = wire.WELCOME.unpack(raw.recv(wire.WELCOME.size, socket.MSG_WAITALL))
        assert welcome[2] == wire.Welcome.REFUSED
        assert welcome[3] == 0  # no client number
        assert welcome[5] == 0  # and no worker address
        assert raw.recv(1) == b''  # closed
    with guarded.connector(token=TOKEN) as good:
        _round_trip(good)


def test_proof_for_another_challenge_refused(guarded: UCXServer) -> None:
    key = wire.auth_key(TOKEN.encode())
    hello = _hello()
    with _challenge(guarded, hello) as first:
        # The proof of a nonce chosen by the attacker, not the server's.
        replayed = wire.proof(key, b'\1' * 32, b'\2' * 16, hello)
        first.sendall(replayed)
        welcome = wire.WELCOME.unpack(first.recv(wire.WELCOME.size, socket.MSG_WAITALL))
        assert welcome[2] == wire.Welcome.REFUSED


def test_oversized_proof_closed(guarded: UCXServer) -> None:
    with _challenge(guarded, _hello()) as raw:
        raw.sendall(b'\0' * (wire.PROOF.size * 4))
        assert raw.recv(wire.WELCOME.size) == b''  # closed, nothing said
    with guarded.connector(token=TOKEN) as good:
        _round_trip(good)


def test_bytes_after_the_hello_closed(guarded: UCXServer) -> None:
    with socket.create_connection((guarded.address, guarded.port), timeout=10) as raw:
        raw.sendall(_hello() + b'\0' * wire.PROOF.size)
        assert raw.recv(wire.WELCOME.size) == b''
    with guarded.connector(token=TOKEN) as good:
        _round_trip(good)


def test_silent_client_does_not_hold_up_others(guarded: UCXServer) -> None:
    with _challenge(guarded, _hello()):
        # Challenged, never answers: the server serves others meanwhile.
        with guarded.connector(token=TOKEN) as good:
            _round_trip(good)


def test_tokenless_server_serves_any_client(server: UCXServer) -> None:
    # Today's behaviour, kept: a server without a token asks no proof, and a
    # client with a token still connects.
    with server.connector() as anonymous:
        _round_trip(anonymous)
    with server.connector(token=TOKEN) as tokened:
        _round_trip(tokened)


@pytest.mark.parametrize(
    ('address', 'loopback'),
    [
        ('127.0.0.1', True),
        ('127.1.2.3', True),
        ('::1', True),
        ('localhost', True),
        ('0.0.0.0', False),
        ('10.0.0.5', False),
        ('node17.cluster', False),
    ],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_server_beyond_loopback_without_token_warns() -> None:
    with (
        pytest.warns(UCXInsecureServerWarning, match=f'{UNASSIGNED} has no token'),
        pytest.raises(OSError, match='assign requested address'),
    ):
        DataServer(UNASSIGNED, 0, devices=TEST_DEVICES)


def test_server_beyond_loopback_with_token_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('error', UCXInsecureServerWarning)
        with pytest.raises(OSError, match='assign requested address'):
            DataServer(UNASSIGNED, 0, devices=TEST_DEVICES, token=TOKEN)


def test_loopback_server_without_token_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('error', UCXInsecureServerWarning)
        server = DataServer('127.0.0.1', 0, devices=TEST_DEVICES)
        server.stop()
        server.serve_forever()  # returns at once (stopped), and closes
    assert not server.authenticated


def test_spawned_server_gets_the_store_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # A secret of any bytes, NUL included (no environment variable holds one).
    secret = b'\0\xff binary secret \0 of a store'
    port = free_port()
    connector = UCXConnector(port, '127.0.0.1', devices=TEST_DEVICES)
    try:
        with Store('ucx-auth-spawn', connector, secret=secret) as store:
            key = store.put('on demand')  # starts this node's server, with a token
            assert store.get(key) == 'on demand'
        anonymous = UCXConnector(
            port, '127.0.0.1', devices=TEST_DEVICES, spawn_server=False
        )
        with pytest.raises(UCXAuthenticationError, match='requires a token'):
            anonymous.put(b'x')
        # The variable does not override a token given to the connector.
        monkeypatch.setenv(TOKEN_ENV, 'not the secret')
        keyed = UCXConnector(
            port, '127.0.0.1', devices=TEST_DEVICES, spawn_server=False, token=secret
        )
        _round_trip(keyed)
    finally:
        connector.close(kill_server=True)


def test_connector_spawning_beyond_loopback_without_token_warns() -> None:
    # Short: a connect to an unassigned address may wait out the timeout.
    connector = UCXConnector(free_port(), UNASSIGNED, devices=TEST_DEVICES, timeout=3)
    with (
        pytest.warns(UCXInsecureServerWarning, match='has no token'),
        pytest.raises(UCXConnectorError, match='exited with status|did not answer'),
    ):
        connector.put(b'x')
