"""The REST API's token, its Host check and the connector's proof of identity."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import pathlib
import subprocess
import sys

import pytest

from proxystore.connectors.endpoint import EndpointAuthenticationError
from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointIdentityError
from proxystore.connectors.endpoint import _http
from proxystore.endpoint.auth import host_checker
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.endpoint.exceptions import EndpointConfigError
from proxystore.testing.endpoint import EndpointProcess

NO_TOKEN = (
    'the request has no token (header "Authorization: Bearer TOKEN"; the token '
    "is in the endpoint's config.toml)"
)
WRONG_TOKEN = "the request's token is wrong"


def _token(endpoint: EndpointProcess) -> str:
    token = read_config(endpoint.config.name, endpoint.home).token
    assert token is not None
    return token


def _call(
    endpoint: EndpointProcess, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(
        '127.0.0.1', endpoint.config.port, timeout=30
    )
    try:
        connection.putrequest(method, path, skip_host='Host' in headers)
        for name, value in headers.items():
            connection.putheader(name, value)
        if method == 'POST':
            connection.putheader('Content-Length', '1')
        connection.endheaders(b'x' if method == 'POST' else None)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ('method', 'path'),
    [('GET', '/get?key=k'), ('POST', '/set?key=k'), ('GET', '/exists?key=k'),
     ('POST', '/evict?key=k'), ('GET', '/storage'), ('GET', '/nothing')],
)  # fmt: skip
def test_routes_need_the_token(solo: EndpointProcess, method: str, path: str) -> None:
    for headers, message in (
        ({}, NO_TOKEN),
        ({'Authorization': 'Bearer wrong'}, WRONG_TOKEN),
        ({'Authorization': _token(solo)}, WRONG_TOKEN),  # no "Bearer "
    ):
        status, answer_headers, body = _call(solo, method, path, headers)
        assert status == 401
        assert answer_headers['WWW-Authenticate'] == 'Bearer'
        assert json.loads(body) == {'error': 'UnauthorizedError', 'message': message}
    good = {'Authorization': f'Bearer {_token(solo)}'}
    # Nothing was stored by the refused requests.
    assert _call(solo, 'GET', '/exists?key=k', good)[2] == b'{"exists": false}'
    assert _call(solo, method, path, good)[0] in (200, 404)
    assert _call(solo, 'POST', '/evict?key=k', good)[0] == 200


def test_public_routes_tell_no_secret(solo: EndpointProcess) -> None:
    status, _, body = _call(solo, 'GET', '/endpoint', {})
    assert (status, json.loads(body)) == (200, {'uuid': str(solo.uuid)})
    status, _, body = _call(solo, 'GET', '/endpoint?challenge=zz', {})
    assert status == 400
    assert json.loads(body) == {
        'error': 'BadRequestError',
        'message': 'challenge must be 32 to 128 hexadecimal digits',
    }


def test_connector_sends_the_token_of_the_config(solo: EndpointProcess) -> None:
    with solo.connector() as connector:
        key = connector.put(b'authenticated')
        assert connector.get(key) == b'authenticated'
        connector.evict(key)
    response = _http.request('127.0.0.1', solo.config.port, 'GET', '/get', {'key': 'k'},
                             timeout=10)  # fmt: skip
    with pytest.raises(EndpointAuthenticationError) as info:
        _http.raise_for_status(response, 'get of k')
    assert str(info.value) == f'get of k failed with status 401: {NO_TOKEN}'


@pytest.mark.parametrize(
    'host', ['evil.example', 'evil.example:80', 'localhost.evil.example', '', 'a b']
)
def test_foreign_host_is_403(solo: EndpointProcess, host: str) -> None:
    headers = {'Host': host, 'Authorization': f'Bearer {_token(solo)}'}
    status, _, body = _call(solo, 'GET', '/exists?key=k', headers)
    assert status == 403
    assert json.loads(body) == {
        'error': 'HostNotAllowedError',
        'message': f'this endpoint does not answer for Host {host!r} (loopback '
        'names and the configured host only)',
    }
    # The public routes too: a rebinding page learns nothing.
    assert _call(solo, 'GET', '/endpoint', {'Host': host})[0] == 403


@pytest.mark.parametrize(
    'host', ['localhost', 'LOCALHOST:1', '127.0.0.1', '127.0.0.2:9', '[::1]:8']
)
def test_loopback_hosts_are_answered(solo: EndpointProcess, host: str) -> None:
    headers = {'Host': host, 'Authorization': f'Bearer {_token(solo)}'}
    assert _call(solo, 'GET', '/exists?key=k', headers)[0] == 200


def test_impostor_without_the_token_is_refused(tmp_path: pathlib.Path) -> None:
    """A server with the right UUID but not the token cannot pass as the endpoint."""
    with EndpointProcess(tmp_path / 'real', 'ep') as real:
        # The configuration the connector trusts: same name, UUID and port, but
        # the token of the real endpoint is not the one the server holds.
        trusted = dataclasses.replace(read_config('ep', real.home), token='t' * 43)
        write_config(trusted, tmp_path / 'trusted')
        with pytest.raises(EndpointIdentityError) as info:
            EndpointConnector([real.uuid], str(tmp_path / 'trusted'))
        assert str(info.value) == (
            f'the server at the address of endpoint ep at {real.address} answers '
            'with its UUID but cannot prove it holds the token of its '
            'configuration: another program holds the port, or the configuration '
            'changed since the endpoint started (restart it)'
        )
        # With the configuration it was started from, the same server passes.
        with real.connector() as connector:
            assert connector.exists(connector.new_key()) is False


def test_token_validation() -> None:
    with pytest.raises(EndpointConfigError) as info:
        EndpointConfig(name='a', uuid='0' * 32, port=1, token='short')  # type: ignore[arg-type]
    assert str(info.value) == (
        'token must be 16 to 256 letters, digits, _ or -, not a string of another form'
    )
    with pytest.raises(EndpointConfigError, match='not 5'):
        EndpointConfig(name='a', uuid='0' * 32, port=1, token=5)  # type: ignore[arg-type]


def test_configure_makes_a_private_token(tmp_path: pathlib.Path) -> None:
    env = {**os.environ, 'PROXYSTORE_HOME': str(tmp_path)}
    done = subprocess.run(
        [sys.executable, '-m', 'proxystore.endpoint.cli', 'configure', 'tok'],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = read_config('tok', tmp_path).token
    assert first is not None and len(first) >= 43
    assert os.stat(tmp_path / 'tok' / 'config.toml').st_mode & 0o077 == 0
    assert first not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ('bind', 'host', 'allowed'),
    [('127.0.0.1', 'localhost.:1', True), ('127.0.0.1', '10.0.0.5', False),
     ('10.0.0.5', '10.0.0.5:80', True), ('10.0.0.5', '10.0.0.6', False),
     ('fe80::1', '[fe80::1]:9', True), ('fe80::1', '[fe80::2]', False),
     ('node7.cluster', 'NODE7.cluster:80', True), ('node7.cluster', 'node8', False),
     ('0.0.0.0', '192.168.1.9:80', True), ('0.0.0.0', 'evil.example', False),
     ('::', '[2001:db8::1]', True), ('127.0.0.1', None, False),
     ('127.0.0.1', '::1', False)],
)  # fmt: skip
def test_host_checker(bind: str, host: str | None, allowed: bool) -> None:
    assert host_checker(bind)(host) is allowed


def test_configuration_without_token_gets_one_at_start(tmp_path: pathlib.Path) -> None:
    """An older configuration (no token) keeps working: ``start`` makes one."""
    endpoint = EndpointProcess(tmp_path, 'old')
    assert endpoint.config.token is None
    assert 'token' not in (tmp_path / 'old' / 'config.toml').read_text()
    with endpoint:
        assert read_config('old', tmp_path).token is not None
        with endpoint.connector() as connector:
            assert connector.get(connector.put(b'old config')) == b'old config'
