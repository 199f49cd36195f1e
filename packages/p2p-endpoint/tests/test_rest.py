"""The REST API of a real endpoint process: the 1.x routes and bad input."""

from __future__ import annotations

import http.client
import json
import pathlib
import socket
import uuid

import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointConnectorError
from proxystore.connectors.endpoint import EndpointKey
from proxystore.connectors.endpoint import EndpointNotRunningError
from proxystore.connectors.endpoint import EndpointObjectTooLargeError
from proxystore.endpoint.config import read_config
from proxystore.testing.endpoint import EndpointProcess


def _auth(endpoint: EndpointProcess) -> dict[str, str]:
    """The ``Authorization`` header with the token ``start`` wrote in its config."""
    token = read_config(endpoint.config.name, endpoint.home).token
    assert token is not None
    return {'Authorization': f'Bearer {token}'}


def _raw(
    endpoint: EndpointProcess,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(
        '127.0.0.1', endpoint.config.port, timeout=30
    )
    try:
        connection.request(
            method, path, body=body, headers={**_auth(endpoint), **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_routes_of_1x(solo: EndpointProcess) -> None:
    status, body = _raw(solo, 'GET', '/')
    assert status == 200
    assert json.loads(body) == {
        'name': 'solo',
        'uuid': str(solo.uuid),
        'peering': 'disabled',
    }
    assert json.loads(_raw(solo, 'GET', '/endpoint')[1]) == {'uuid': str(solo.uuid)}
    assert _raw(solo, 'POST', '/set?key=k1', b'value')[0] == 200
    assert json.loads(_raw(solo, 'GET', '/exists?key=k1')[1]) == {'exists': True}
    assert _raw(solo, 'GET', '/get?key=k1') == (200, b'value')
    # The endpoint's own UUID is the same as none.
    assert _raw(solo, 'GET', f'/get?key=k1&endpoint={solo.uuid}') == (200, b'value')
    assert _raw(solo, 'POST', '/evict?key=k1')[0] == 200
    assert _raw(solo, 'POST', '/evict?key=k1')[0] == 200  # missing is fine
    assert json.loads(_raw(solo, 'GET', '/exists?key=k1')[1]) == {'exists': False}
    status, body = _raw(solo, 'GET', '/get?key=k1')
    assert status == 404
    assert json.loads(body) == {
        'error': 'KeyError',
        'message': '"no object under key \'k1\'"',
    }


def test_chunked_upload(solo: EndpointProcess) -> None:
    connection = http.client.HTTPConnection('127.0.0.1', solo.config.port, timeout=30)
    try:
        connection.request(
            'POST', '/set?key=chunked', body=iter([b'ab', b'cd', b'e']),
            encode_chunked=True, headers=_auth(solo),
        )  # fmt: skip
        assert connection.getresponse().read() == b''
    finally:
        connection.close()
    assert _raw(solo, 'GET', '/get?key=chunked') == (200, b'abcde')


NO_KEY = 'the request has no key (query parameter "key")'
BAD_UUID = "endpoint '%s' is not a UUID"


@pytest.mark.parametrize(
    ('method', 'path', 'error', 'message'),
    [
        ('GET', '/get', 'BadRequestError', NO_KEY),
        ('GET', '/exists?key=', 'BadRequestError', NO_KEY),
        ('POST', '/evict?key=k&endpoint=nope', 'BadRequestError', BAD_UUID % 'nope'),
        ('GET', '/get?key=k&endpoint=12', 'BadRequestError', BAD_UUID % '12'),
    ],
)  # fmt: skip
def test_bad_queries_are_400(
    solo: EndpointProcess, method: str, path: str, error: str, message: str
) -> None:
    status, body = _raw(solo, method, path, b'' if method == 'POST' else None)
    assert status == 400
    assert json.loads(body) == {'error': error, 'message': message}


def test_remote_key_without_peering_is_400(solo: EndpointProcess) -> None:
    peer = uuid.uuid4()
    status, body = _raw(solo, 'GET', f'/get?key=k&endpoint={peer}')
    assert status == 400
    assert json.loads(body) == {
        'error': 'PeeringNotAvailableError',
        'message': f"key belongs to endpoint {peer} but endpoint 'solo' "
        f'({solo.uuid}) has no relay configured, so it cannot reach peers',
    }


def test_oversized_body_is_413(solo: EndpointProcess) -> None:
    limit = 64 * 1024 * 1024
    # Refused from its Content-Length, before the body is read.
    status, body = _raw(
        solo, 'POST', '/set?key=big', b'', headers={'Content-Length': str(limit + 1)}
    )
    assert status == 413
    assert json.loads(body) == {
        'error': 'ObjectSizeExceededError',
        'message': f'object of {limit + 1} bytes exceeds the endpoint limit of '
        f'{limit} bytes per object (storage.max_object_size in the endpoint '
        'configuration)',
    }
    with solo.connector() as connector:
        with pytest.raises(EndpointObjectTooLargeError) as info:
            connector.put(bytes(limit + 1))
        assert 'exceeds the endpoint limit of 67108864 bytes' in str(info.value)
        assert connector.get(connector.put(b'after')) == b'after'


def test_body_shorter_than_its_length(solo: EndpointProcess) -> None:
    with socket.create_connection(('127.0.0.1', solo.config.port), timeout=30) as sock:
        sock.sendall(
            b'POST /set?key=short HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            + f'Authorization: {_auth(solo)["Authorization"]}\r\n'.encode()
            + b'Content-Length: 10\r\n\r\nabc'
        )
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1024)  # the server closes the connection
    assert _raw(solo, 'GET', '/exists?key=short')[1] == b'{"exists": false}'


def test_unknown_route_and_method(solo: EndpointProcess) -> None:
    assert _raw(solo, 'GET', '/nothing')[0] == 404
    assert _raw(solo, 'GET', '/set?key=k')[0] == 405


def test_connector_errors(solo: EndpointProcess, tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match='endpoints must be a non-empty list'):
        EndpointConnector([])
    with pytest.raises(ValueError, match="endpoints must be UUIDs, not \\['x'\\]"):
        EndpointConnector(['x'])
    with pytest.raises(ValueError, match='timeout must be positive, not 0'):
        EndpointConnector([solo.uuid], str(solo.home), timeout=0)
    missing = uuid.uuid4()
    with pytest.raises(EndpointNotRunningError) as info:
        EndpointConnector([missing], str(tmp_path))
    assert str(info.value) == (
        f"none of the endpoints ['{missing}'] is running on this host "
        '(configured: none configured here); start one with '
        '`proxystore-endpoint start NAME`'
    )
    with solo.connector() as connector:
        with pytest.raises(TypeError, match='EndpointConnector keys are EndpointKey'):
            connector.get(('a', 'b'))  # type: ignore[arg-type]
        with pytest.raises(EndpointConnectorError, match='has an invalid object id'):
            connector.get(EndpointKey('', None))
        with pytest.raises(EndpointConnectorError) as bad:
            connector.get(EndpointKey('k', 'not-a-uuid'))
        assert str(bad.value) == (
            "get of k failed with status 400: endpoint 'not-a-uuid' is not a UUID"
        )
        assert connector.get(EndpointKey('absent', None)) is None
        assert repr(connector).startswith("EndpointConnector(endpoint='solo'")
        assert connector.config() == {
            'endpoints': [str(solo.uuid)],
            'proxystore_dir': str(solo.home),
        }


def test_endpoint_that_stopped(tmp_path: pathlib.Path) -> None:
    with EndpointProcess(tmp_path, 'brief') as endpoint:
        connector = endpoint.connector(timeout=5)
        key = connector.put(b'x')
    with pytest.raises(EndpointNotRunningError, match='no endpoint answers at'):
        connector.get(key)
