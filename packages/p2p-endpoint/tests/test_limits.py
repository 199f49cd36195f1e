"""Hostile uploads to a real endpoint: stalled bodies, lies, a full storage.

Every wait is bounded: sockets have timeouts and loops a deadline.
"""

from __future__ import annotations

import json
import pathlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from collections.abc import Generator

import psutil
import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointObjectTooLargeError
from proxystore.connectors.endpoint import EndpointStorageFullError
from proxystore.connectors.endpoint import _http
from proxystore.connectors.protocols import StoreFullError
from proxystore.endpoint import ClientDisconnectedError
from proxystore.endpoint import EndpointError
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.testing.endpoint import EndpointProcess

CAP = 4 * 1024 * 1024
TIMEOUT = 1.0


@pytest.fixture(scope='module')
def capped(home: pathlib.Path) -> Generator[EndpointProcess]:
    """An endpoint with a 4 MiB total cap and a 1 s body timeout."""
    endpoint = EndpointProcess(home, 'capped', max_object_size=100_000_000)
    endpoint.config.body_timeout = TIMEOUT
    endpoint.config.storage.max_total_bytes = CAP
    write_config(endpoint.config, home)
    with endpoint:
        yield endpoint


@pytest.fixture(scope='module')
def patient(home: pathlib.Path) -> Generator[EndpointProcess]:
    """As ``capped`` but with a 60 s body timeout: stalls last the whole test."""
    endpoint = EndpointProcess(home, 'patient', max_object_size=100_000_000)
    endpoint.config.body_timeout = 60.0
    endpoint.config.storage.max_total_bytes = CAP
    write_config(endpoint.config, home)
    with endpoint:
        yield endpoint


def _wait_reading(endpoint: EndpointProcess, predicate: Callable[[int], bool]) -> None:
    deadline = time.monotonic() + 10
    while not predicate(_reading(endpoint)):
        assert time.monotonic() < deadline, f'reading_bytes {_reading(endpoint)}'
        time.sleep(0.05)


def _token(endpoint: EndpointProcess) -> str:
    token = read_config(endpoint.config.name, endpoint.home).token
    assert token is not None
    return token


def _head(endpoint: EndpointProcess, length: int, key: str = 'k') -> bytes:
    return (
        f'POST /set?key={key} HTTP/1.1\r\nHost: 127.0.0.1:{endpoint.config.port}'
        f'\r\nAuthorization: Bearer {_token(endpoint)}\r\n'
        f'Content-Length: {length}\r\n\r\n'
    ).encode()


def _reading(endpoint: EndpointProcess) -> int:
    """Bytes of bodies the endpoint is reading now (``GET /storage``)."""
    response = _http.request(
        '127.0.0.1',
        endpoint.config.port,
        'GET',
        '/storage',
        {},
        timeout=10,
        headers={'Authorization': f'Bearer {_token(endpoint)}'},
    )
    assert response.status == 200, response.body
    reading = response.json()['reading_bytes']
    assert isinstance(reading, int)
    return reading


def _read_all(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b''
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f'the server did not close the connection: {data!r}')


def _read_response(sock: socket.socket, deadline: float) -> bytes:
    """One response (headers and a ``Content-Length`` body), connection kept."""
    data = b''
    while time.monotonic() < deadline:
        _, found, body = data.partition(b'\r\n\r\n')
        if found:
            length = _split(data)[1].get('content-length')
            if length is not None and len(body) >= int(length):
                return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f'no full response: {data!r}')


def _split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b'\r\n\r\n')
    lines = head.decode().split('\r\n')
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_stalled_body_is_408_and_closed(capped: EndpointProcess) -> None:
    port = capped.config.port
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(_head(capped, 1_000_000) + b'x' * 90)
        started = time.monotonic()
        answer = _read_all(sock, started + 10)
    elapsed = time.monotonic() - started
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 5
    status, headers, body = _split(answer)
    assert status == 408
    assert headers['content-type'].startswith('application/json')
    assert json.loads(body) == {
        'error': 'RequestBodyTimeoutError',
        'message': f'the request body stalled: no bytes for {TIMEOUT} s after 90 '
        'of 1000000 bytes (body_timeout in the endpoint configuration)',
    }
    with capped.connector() as connector:
        key = connector.put(b'after')
        assert connector.get(key) == b'after'
        connector.evict(key)  # the cap tests below count from an empty storage


def test_announced_length_is_not_allocated(tmp_path: pathlib.Path) -> None:
    """Three stalled 90-byte requests announcing 90 MB each pin no 270 MB."""
    endpoint = EndpointProcess(tmp_path, 'lean', max_object_size=100_000_000)
    endpoint.config.body_timeout = 30.0
    write_config(endpoint.config, tmp_path)
    with endpoint:
        process = psutil.Process(endpoint.pid)
        before = process.memory_info().rss
        port = endpoint.config.port
        sockets = [
            socket.create_connection(('127.0.0.1', port), timeout=10) for _ in range(3)
        ]
        try:
            for number, sock in enumerate(sockets):
                sock.sendall(_head(endpoint, 90_000_000, f'stall{number}') + b'x' * 90)
            # The server has read the 90 bytes of each: wait for their
            # handlers (bounded), then measure.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.2)
                grown = process.memory_info().rss - before
                if grown > 100_000_000:
                    break
            assert grown < 50_000_000, f'{grown} bytes for 270 bytes of bodies'
        finally:
            for sock in sockets:
                sock.close()
        with endpoint.connector() as connector:
            assert connector.get(connector.put(b'alive')) == b'alive'


def test_total_cap(capped: EndpointProcess) -> None:
    with capped.connector() as connector:
        first = connector.put(bytes(3 * 1024 * 1024))
        with pytest.raises(EndpointStorageFullError) as info:
            connector.put(bytes(2 * 1024 * 1024))
        assert isinstance(info.value, EndpointObjectTooLargeError)
        message = str(info.value)
        assert message.startswith('set of ')
        assert message.endswith(
            f'failed with status 507: storing {2 * 1024 * 1024} bytes would exceed '
            f'the endpoint storage cap of {CAP} bytes ({3 * 1024 * 1024} bytes used; '
            'storage.max_total_bytes in the endpoint configuration)'
        )
        # Replacing an object frees its old bytes once the new ones are stored
        # (while they arrive, both count); evicting frees them too.
        connector.set(first, bytes(1024 * 1024))
        second = connector.put(bytes(3 * 1024 * 1024))
        connector.evict(first)
        connector.evict(second)
        third = connector.put(bytes(CAP))
        assert connector.get(third) == bytes(CAP)
        connector.evict(third)


def test_full_storage_is_a_store_full_error_and_waits(capped: EndpointProcess) -> None:
    assert issubclass(EndpointStorageFullError, StoreFullError)
    waiting = EndpointConnector([capped.uuid], str(capped.home), full_timeout=60)
    assert waiting.config()['full_timeout'] == 60
    with capped.connector() as other:
        first = other.put(bytes(3 * 1024 * 1024))
        timer = threading.Timer(0.3, other.evict, args=(first,))
        timer.start()
        try:
            key = waiting.put(bytes(2 * 1024 * 1024))  # waits for the eviction
        finally:
            timer.join(30)
        assert not other.exists(first)
        hurried = EndpointConnector([capped.uuid], str(capped.home), full_timeout=0.2)
        with pytest.raises(EndpointStorageFullError) as info:
            hurried.put(bytes(3 * 1024 * 1024))
        assert any('waited 0.2 s (full_timeout)' in n for n in info.value.__notes__)
        waiting.evict(key)
    with pytest.raises(ValueError, match='full_timeout must be 0 or more, not -1'):
        EndpointConnector([capped.uuid], str(capped.home), full_timeout=-1)


def test_bodies_being_read_count_against_the_cap(patient: EndpointProcess) -> None:
    port = patient.config.port
    with socket.create_connection(('127.0.0.1', port), timeout=10) as stalled:
        # 3 MiB arrive and stall: they count while the body is being read.
        stalled.sendall(_head(patient, CAP, 'partial') + bytes(3 * 1024 * 1024))
        _wait_reading(patient, lambda reading: reading >= 3 * 1024 * 1024)
        with socket.create_connection(('127.0.0.1', port), timeout=10) as other:
            other.sendall(_head(patient, 2 * 1024 * 1024, 'other'))
            status, _, body = _split(_read_response(other, time.monotonic() + 10))
        assert status == 507
        assert json.loads(body) == {
            'error': 'StorageFullError',
            'message': f'storing {2 * 1024 * 1024} bytes would exceed the endpoint '
            f'storage cap of {CAP} bytes ({3 * 1024 * 1024} bytes used; '
            'storage.max_total_bytes in the endpoint configuration)',
        }
    # The stalled client went away: its bytes are given back.
    _wait_reading(patient, lambda reading: reading == 0)
    with patient.connector() as connector:
        key = connector.put(bytes(3 * 1024 * 1024))
        connector.evict(key)


def _chunked_head(endpoint: EndpointProcess, key: str) -> bytes:
    return (
        f'POST /set?key={key} HTTP/1.1\r\nHost: 127.0.0.1:{endpoint.config.port}'
        f'\r\nAuthorization: Bearer {_token(endpoint)}\r\n'
        'Transfer-Encoding: chunked\r\n\r\n'
    ).encode()


@pytest.mark.parametrize('reset', [False, True], ids=['closed', 'reset'])
@pytest.mark.parametrize('chunked', [False, True], ids=['length', 'chunked'])
def test_client_gone_mid_body_is_one_log_line(
    patient: EndpointProcess, chunked: bool, reset: bool
) -> None:
    port = patient.config.port
    logged = len(patient.log())
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        if chunked:
            # A chunk of 1,000,000 (f4240) bytes announced, 1000 sent.
            sock.sendall(_chunked_head(patient, 'gone') + b'f4240\r\n' + b'x' * 1000)
        else:
            sock.sendall(_head(patient, 1_000_000, 'gone') + b'x' * 1000)
        _wait_reading(patient, lambda reading: reading >= 1000)
        if reset:
            # An RST, not a FIN: the endpoint's next read fails.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)
            )
    of = '' if chunked else ' of 1000000'
    expected = (
        'WARNING proxystore.endpoint.app: POST /set from 127.0.0.1: '
        f'ClientDisconnectedError: the client disconnected after 1000{of} bytes '
        'of the body'
    )
    deadline = time.monotonic() + 10
    while expected not in patient.log()[logged:]:
        assert time.monotonic() < deadline, patient.log()[logged:]
        time.sleep(0.05)
    with patient.connector() as connector:
        key = connector.put(b'still serving')
        assert connector.get(key) == b'still serving'
        connector.evict(key)
    new = patient.log()[logged:]
    assert 'Traceback' not in new, new
    assert 'Error handling request' not in new, new
    assert len([line for line in new.splitlines() if 'disconnected' in line]) == 1
    _wait_reading(patient, lambda reading: reading == 0)


def test_client_disconnected_error_is_typed() -> None:
    assert issubclass(ClientDisconnectedError, EndpointError)
    assert issubclass(ClientDisconnectedError, ConnectionError)


def test_persisted_objects_count_against_the_cap(tmp_path: pathlib.Path) -> None:
    database = tmp_path / 'blobs.db'
    for run in range(2):
        endpoint = EndpointProcess(tmp_path, 'kept', database_path=str(database))
        endpoint.config.storage.max_total_bytes = CAP
        write_config(endpoint.config, tmp_path)
        with endpoint, endpoint.connector() as connector:
            if run == 0:
                connector.put(bytes(3 * 1024 * 1024))
                continue
            # After a restart the 3 MiB in the file still count.
            with pytest.raises(EndpointStorageFullError) as info:
                connector.put(bytes(2 * 1024 * 1024))
            assert f'({3 * 1024 * 1024} bytes used;' in str(info.value)
