"""The package's shape: errors in exceptions.py, the old errors path kept."""

from __future__ import annotations

import pytest

import proxystore.connectors.ucx as package
import proxystore.connectors.ucx.errors as old_errors
import proxystore.connectors.ucx.exceptions as exceptions
from proxystore.connectors.protocols import ConnectorError

_ERRORS = [
    'UCXConnectorError',
    'UCXServerGoneError',
    'UCXServerNotRunningError',
    'UCXTimeoutError',
]


def test_errors_live_in_exceptions_and_keep_their_old_path() -> None:
    assert old_errors.__all__ == _ERRORS
    # Errors added since the old path was kept are in exceptions only.
    assert exceptions.__all__ == sorted(
        [
            *_ERRORS,
            'UCXAuthenticationError',
            'UCXInsecureServerWarning',
            'UCXProtocolError',
            'UCXStoreFullError',
        ]
    )
    assert package.UCXProtocolError is exceptions.UCXProtocolError
    assert issubclass(package.UCXProtocolError, package.UCXConnectorError)
    for name in _ERRORS:
        error = getattr(exceptions, name)
        assert getattr(package, name) is error
        assert getattr(old_errors, name) is error
        assert error.__module__ == 'proxystore.connectors.ucx.exceptions'
        assert issubclass(error, package.UCXConnectorError)


@pytest.mark.parametrize('name', _ERRORS)
def test_every_error_is_a_connector_error(name: str) -> None:
    error = getattr(package, name)('message')
    assert isinstance(error, ConnectorError)
    assert str(error) == 'message'


def test_the_timeout_is_a_timeout_error() -> None:
    assert issubclass(package.UCXTimeoutError, TimeoutError)
    with pytest.raises(TimeoutError, match='slow'):
        raise package.UCXTimeoutError('slow')


def test_ucx_declares_a_network_channel() -> None:
    # A store without a secret warns when it reads from it (the store's tests).
    from proxystore.connectors.protocols import is_network_channel

    assert is_network_channel(package.UCXConnector)


def test_store_cli_on_a_node_without_a_server() -> None:
    # Listing never starts a server: no server is a typed error, exit status 1.
    from typer.testing import CliRunner

    from proxystore.store.cli import app
    from proxystore.testing.ports import free_port

    result = CliRunner().invoke(
        app,
        ['store', 'ls', '-k', 'ucx', '-o', f'port={free_port()}'],
    )
    assert result.exit_code == 1
    assert 'error: UCXServerNotRunningError' in result.output
