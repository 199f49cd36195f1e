"""Bad input, missing servers, and servers that freeze or die mid-operation."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Generator

import pytest

from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXConnectorError
from proxystore.connectors.ucx import UCXKey
from proxystore.connectors.ucx import UCXServerGoneError
from proxystore.connectors.ucx import UCXServerNotRunningError
from proxystore.connectors.ucx import UCXTimeoutError
from proxystore.connectors.ucx import _protocol as wire
from proxystore.connectors.ucx._client import get_client
from proxystore.testing.ports import free_port
from proxystore.testing.ucx import TEST_DEVICES
from proxystore.testing.ucx import UCXServer


def test_missing_key(server: UCXServer) -> None:
    with server.connector() as connector:
        key = UCXKey(uuid.uuid4().hex, 10, server.address, server.port)
        assert connector.get(key) is None
        assert not connector.exists(key)
        connector.evict(key)  # missing is fine
        assert connector.get_batch([key, connector.put(b'x')]) == [None, b'x']


def test_no_server_running() -> None:
    port = free_port()
    connector = UCXConnector(
        port, '127.0.0.1', devices=TEST_DEVICES, spawn_server=False
    )
    with pytest.raises(
        UCXServerNotRunningError,
        match=rf'no UCX data server answers at 127.0.0.1:{port}.*'
        'proxystore-ucx-server start',
    ):
        connector.put(b'data')
    key = UCXKey(uuid.uuid4().hex, 4, '127.0.0.1', port)
    with pytest.raises(UCXServerNotRunningError, match='no UCX data server answers'):
        connector.get(key)


@pytest.mark.parametrize(
    ('key', 'message'),
    [
        (UCXKey('not-hex', 1, '127.0.0.1', 1), 'invalid object id'),
        (UCXKey('ab' * 8, 1, '127.0.0.1', 1), 'invalid object id'),
        (UCXKey(uuid.uuid4().hex, -5, '127.0.0.1', 1), 'invalid size'),
        (UCXKey(uuid.uuid4().hex, 1, '127.0.0.1', 70000), 'invalid port'),
    ],
)
def test_bad_keys(server: UCXServer, key: UCXKey, message: str) -> None:
    with (
        server.connector() as connector,
        pytest.raises(UCXConnectorError, match=message),
    ):
        connector.get(key)


def test_a_key_of_another_connector(server: UCXServer) -> None:
    with server.connector() as connector, pytest.raises(TypeError, match='UCXKey'):
        connector.get(('a', 'b'))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ('options', 'error', 'message'),
    [
        ({'port': 0}, ValueError, 'port must be between 1 and 65535'),
        ({'port': 70000}, ValueError, 'port must be between 1 and 65535'),
        ({'timeout': 0}, ValueError, 'timeout must be positive'),
        (
            {'interface': 'no-such-if0'},
            UCXConnectorError,
            "interface 'no-such-if0' has no IPv4 address",
        ),
    ],
)
def test_invalid_options(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        UCXConnector(**options)  # type: ignore[arg-type]


def test_bad_transports(server: UCXServer) -> None:
    connector = server.connector(transports='no-such-transport')
    with pytest.raises(
        UCXConnectorError,
        match="UCX would not start with transports='no-such-transport'",
    ):
        connector.put(b'x')


def test_not_a_data_server() -> None:
    with socket.create_server(('127.0.0.1', 0)) as listener:
        port = listener.getsockname()[1]

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(64)
                conn.sendall(b'HTTP/1.1 400 Bad Request\r\n\r\n')

        thread = threading.Thread(target=answer)
        thread.start()
        connector = UCXConnector(
            port, '127.0.0.1', devices=TEST_DEVICES, spawn_server=False
        )
        with pytest.raises(
            UCXConnectorError, match=f'at 127.0.0.1:{port} is not a UCX data server'
        ):
            connector.put(b'x')
        thread.join(timeout=10)


def test_another_protocol_version() -> None:
    with socket.create_server(('127.0.0.1', 0)) as listener:
        port = listener.getsockname()[1]

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(
                    wire.WELCOME.pack(
                        wire.MAGIC, 99, wire.Welcome.VERSION_MISMATCH, 0, 1, 0
                    )
                )

        thread = threading.Thread(target=answer)
        thread.start()
        connector = UCXConnector(
            port, '127.0.0.1', devices=TEST_DEVICES, spawn_server=False
        )
        with pytest.raises(
            UCXConnectorError,
            match=f'speaks protocol version 99, this client {wire.VERSION}',
        ):
            connector.put(b'x')
        thread.join(timeout=10)


def test_server_refuses_a_malformed_request(server: UCXServer) -> None:
    with server.connector() as connector:
        client = get_client(
            (server.address, server.port, None, TEST_DEVICES, True, None), 10
        )
        bad = wire.HEADER.pack(wire.Op.EXISTS, wire.VERSION, 0, 3) + b'short'
        with pytest.raises(
            UCXConnectorError, match='the data server refused an exists: 3 ids need'
        ):
            client._call(bad, 512, 10, 'an exists')
        unknown = wire.HEADER.pack(77, wire.VERSION, 0, 0)
        with pytest.raises(UCXConnectorError, match='unknown operation 77'):
            client._call(unknown, 512, 10, 'a request')
        truncated = wire.HEADER.pack(wire.Op.PUT, wire.VERSION, 0, 1) + struct.pack(
            '!16sQI', b'x' * 16, 5, 1
        )
        with pytest.raises(UCXConnectorError, match='truncated put request'):
            client._call(truncated, 512, 10, 'a put')
        # The server and this connection are still fine.
        assert connector.get(connector.put(b'after')) == b'after'


def test_server_survives_a_put_announcing_2_62_bytes(server: UCXServer) -> None:
    """A hostile length is refused before anything is allocated."""
    with server.connector() as connector:
        kept = connector.put(b'kept')
        client = get_client(
            (server.address, server.port, None, TEST_DEVICES, True, None), 10
        )
        huge = 1 << 62
        request = wire.encode_put([wire.PutEntry(b'h' * 16, huge, (huge,))], [])
        with pytest.raises(
            UCXConnectorError,
            match=rf'refused a put: a put of {huge} bytes is more than this server '
            'can hold',
        ):
            client._call(request, 512, 10, 'a put')
        assert connector.get(kept) == b'kept'
        assert connector.get(connector.put(b'after')) == b'after'


def test_a_refused_put_does_not_wait_for_its_payloads(server: UCXServer) -> None:
    """A put the server refuses fails at once, though its bytes were never taken."""
    with server.connector(timeout=30) as connector:
        client = get_client(
            (server.address, server.port, None, TEST_DEVICES, True, None), 10
        )
        # A malformed put (a stray byte after its entries) of a large object:
        # the server refuses it and never receives the object's bytes.
        request = wire.encode_put([wire.PutEntry(b'p' * 16, 20000, (20000,))], [])
        bad = request[: wire.HEADER.size] + request[wire.HEADER.size :] + b'!'
        start = time.monotonic()
        with pytest.raises(UCXConnectorError, match='extra bytes after a put'):
            client._call(bad, 512, 30, 'a put', [bytes(20000)])
        assert time.monotonic() - start < 10
        assert connector.get(connector.put(b'after')) == b'after'


@pytest.fixture
def own_server() -> Generator[UCXServer]:
    with UCXServer() as server:
        yield server


def test_frozen_server_times_out(own_server: UCXServer) -> None:
    with own_server.connector(timeout=1.0) as connector:
        key = connector.put(b'x' * 100)
        own_server.freeze()
        start = time.monotonic()
        with pytest.raises(
            UCXTimeoutError,
            match='no answer to a get on 127.0.0.1:.* within the timeout',
        ):
            connector.get(key)
        assert time.monotonic() - start < 5


def test_server_killed_mid_get(own_server: UCXServer) -> None:
    """A get waiting for a large object when the server dies ends at once."""
    with own_server.connector(timeout=60) as connector:
        key = connector.put(bytes(64 * 1024 * 1024))
        own_server.freeze()  # the get's request waits unanswered
        outcome: list[BaseException | None] = []

        def get() -> None:
            try:
                connector.get(key)
                outcome.append(None)
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=get)
        thread.start()
        time.sleep(0.5)
        start = time.monotonic()
        own_server.kill()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert time.monotonic() - start < 5
        assert isinstance(outcome[0], UCXServerGoneError), outcome
        assert 'went away during a get' in str(outcome[0])
        # With the server gone, the next operation says so.
        with pytest.raises(UCXServerNotRunningError):
            connector.get(key)


def test_server_restart(own_server: UCXServer) -> None:
    """A connector reconnects to a new server on the same port; old data is gone."""
    with own_server.connector() as connector:
        key = connector.put(b'before')
        own_server.stop()
        with pytest.raises((UCXServerGoneError, UCXServerNotRunningError)):
            connector.get(key)
        own_server.start()
        assert connector.get(key) is None
        assert connector.get(connector.put(b'after')) == b'after'


EXIT_SCRIPT = """
import sys
from proxystore.connectors.ucx import UCXConnector, UCXTimeoutError
connector = UCXConnector(
    int(sys.argv[1]), '127.0.0.1', timeout=1.0, transports='tcp,self',
    devices='lo', spawn_server=False,
)
key = connector.put(b'x' * 100_000)
print('put', flush=True)
sys.stdin.readline()  # the test freezes the server now
try:
    connector.get(key)
except UCXTimeoutError:
    print('timed out', flush=True)
"""


def test_a_client_exits_while_its_server_is_frozen() -> None:
    """Closing a TCP endpoint to a peer that stopped must not hang the exit."""
    with (
        UCXServer(transports='tcp,self') as server,
        subprocess.Popen(
            [sys.executable, '-c', EXIT_SCRIPT, str(server.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as child,
    ):
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline() == 'put\n'
        server.freeze()
        child.stdin.write('go\n')
        child.stdin.flush()
        try:
            assert child.wait(timeout=30) == 0
        finally:
            child.kill()
        assert child.stdout.read() == 'timed out\n'


def test_a_silent_or_bad_hello_holds_up_no_one(server: UCXServer) -> None:
    """The server reads hellos as they come: others are served meanwhile."""
    with (
        socket.create_connection((server.address, server.port)) as silent,
        socket.create_connection((server.address, server.port)) as garbage,
        socket.create_connection((server.address, server.port)) as huge,
    ):
        garbage.sendall(b'GET / HTTP/1.1\r\n\r\n')
        huge.sendall(wire.HELLO.pack(wire.MAGIC, wire.VERSION, 0, 2**31))
        with server.connector(timeout=5) as connector:
            start = time.monotonic()
            assert connector.get(connector.put(b'served')) == b'served'
            assert time.monotonic() - start < 2
        for sock in (garbage, huge):
            sock.settimeout(10)
            assert sock.recv(64) == b''  # closed by the server
        silent.settimeout(10)
        assert silent.recv(64) == b''  # closed after the handshake timeout


MPI_FIRST = """
from mpi4py import MPI
from proxystore.connectors.ucx import UCXConnectorError, load_ucx
try:
    load_ucx()
except UCXConnectorError as error:
    print(error)
"""

UCX_FIRST = """
from proxystore.connectors.ucx import load_ucx
load_ucx()
from mpi4py import MPI
print(MPI.COMM_WORLD.allgather('both loaded'))
"""


def test_mpich_and_ucx_in_one_process() -> None:
    """MPICH's wheel brings its own UCX: loaded first, it keeps ucxx's out."""
    first = subprocess.run(
        [sys.executable, '-c', MPI_FIRST],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    if 'another copy of UCX' not in first.stdout:
        pytest.skip('the MPI library here does not bring a UCX of its own')
    assert 'call proxystore.connectors.ucx.load_ucx() before importing mpi4py' in (
        first.stdout.replace('\n', ' ')
    )
    second = subprocess.run(
        [sys.executable, '-c', UCX_FIRST],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert second.stdout.strip() == "['both loaded']"


def test_a_slow_connect_blocks_no_other_server(server: UCXServer) -> None:
    """Connecting to a server that never answers holds up only its own callers."""
    with socket.create_server(('127.0.0.1', 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        stuck = UCXConnector(
            port, '127.0.0.1', timeout=8, devices=TEST_DEVICES, spawn_server=False
        )
        outcome: list[BaseException] = []

        def connect() -> None:
            try:
                stuck.get(UCXKey(uuid.uuid4().hex, 4, '127.0.0.1', port))
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=connect)
        thread.start()
        try:
            time.sleep(0.5)  # the connect is under way (it lasts 8 s)
            with server.connector() as connector:
                assert connector.get(connector.put(b'meanwhile')) == b'meanwhile'
            assert thread.is_alive(), 'the connect should still be waiting'
        finally:
            thread.join(timeout=30)
        assert not thread.is_alive()
        assert isinstance(outcome[0], UCXConnectorError), outcome


def test_waiting_works_with_descriptors_past_1024(server: UCXServer) -> None:
    """A process holding many files still waits on UCX (select stops at 1024)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f'the open-file limit ({hard}) is below 1200')
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while len(held) < 1100:
            held.append(socket.socket())  # push new descriptors past 1024
        with server.connector() as connector:
            get_client(
                (server.address, server.port, None, TEST_DEVICES, True, None), 10
            ).close()  # the next operation connects anew, on high descriptors
            assert connector.get(connector.put(bytes(1 << 20))) == bytes(1 << 20)
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
