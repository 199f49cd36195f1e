"""The package's walls and errors: p2p below endpoint, one errors module each.

- ``proxystore.p2p`` never imports ``proxystore.endpoint`` (nor the connector).
- Each subpackage has an ``exceptions`` module; the older ``errors`` modules
  (and the modules the errors were first defined in) re-export the same
  classes.
- Every connector error is a ``ConnectorError``; every ``*TimeoutError`` is a
  builtin ``TimeoutError``.
- Each subpackage ships ``py.typed``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pathlib
import pkgutil
import subprocess
import sys
import textwrap
import types
import uuid

import pytest

from proxystore.connectors.protocols import ConnectorError

SUBPACKAGES = [
    'proxystore.connectors.endpoint',
    'proxystore.endpoint',
    'proxystore.p2p',
    'proxystore.p2p.relay',
]


def _public_modules() -> list[types.ModuleType]:
    modules = []
    for name in SUBPACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.iter_modules(package.__path__, f'{name}.'):
            if info.name.rsplit('.', 1)[-1].startswith('_') or info.ispkg:
                continue
            modules.append(importlib.import_module(info.name))
    return modules


def _exception_classes(module: types.ModuleType) -> list[type[BaseException]]:
    names = getattr(module, '__all__', [])
    found = []
    for name in names:
        value = getattr(module, name)
        if inspect.isclass(value) and issubclass(value, BaseException):
            found.append(value)
    return found


def test_p2p_never_imports_endpoint() -> None:
    # A fresh interpreter: this test process has long imported everything.
    program = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import proxystore.p2p
        for info in pkgutil.walk_packages(proxystore.p2p.__path__, 'proxystore.p2p.'):
            importlib.import_module(info.name)
        above = ('proxystore.endpoint', 'proxystore.connectors.endpoint')
        leaked = sorted(
            name for name in sys.modules
            if name in above or name.startswith(tuple(f'{a}.' for a in above))
        )
        p2p = sorted(name for name in sys.modules if name.startswith('proxystore.p2p'))
        print(len(p2p))
        print(','.join(leaked))
        """
    )
    result = subprocess.run(
        [sys.executable, '-c', program],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.splitlines()
    assert int(count) >= 15  # every p2p module was imported
    assert leaked == '', f'proxystore.p2p imported {leaked}'


def test_every_subpackage_has_exceptions_and_py_typed() -> None:
    for name in SUBPACKAGES:
        package = importlib.import_module(name)
        exceptions = importlib.import_module(f'{name}.exceptions')
        assert exceptions.__all__
        assert all(
            issubclass(value, BaseException) for value in _exception_classes(exceptions)
        )
        folder = pathlib.Path(package.__file__ or '').parent
        assert (folder / 'py.typed').is_file(), f'{name} lacks py.typed'


def test_old_error_paths_are_the_same_classes() -> None:
    from proxystore import endpoint
    from proxystore.connectors import endpoint as connector
    from proxystore.connectors.endpoint import errors as connector_errors
    from proxystore.connectors.endpoint import exceptions as connector_exceptions
    from proxystore.endpoint import errors as endpoint_errors
    from proxystore.endpoint import exceptions as endpoint_exceptions
    from proxystore.endpoint import storage
    from proxystore.p2p import connection
    from proxystore.p2p import exceptions as p2p_exceptions
    from proxystore.p2p import messages
    from proxystore.p2p import protocols
    from proxystore.p2p import relay
    from proxystore.p2p import stun
    from proxystore.p2p.relay import config as relay_config
    from proxystore.p2p.relay import errors as relay_errors
    from proxystore.p2p.relay import exceptions as relay_exceptions

    for old, new in [
        (endpoint_errors, endpoint_exceptions),
        (relay_errors, relay_exceptions),
        (connector_errors, connector_exceptions),
    ]:
        for name in old.__all__:
            assert getattr(old, name) is getattr(new, name), name
    for name in endpoint_exceptions.__all__:
        assert getattr(endpoint, name) is getattr(endpoint_exceptions, name), name
    for name in connector_exceptions.__all__:
        assert getattr(connector, name) is getattr(connector_exceptions, name), name
    for name in ('RelayError', 'RelayMessageError', 'RelayRefusedError'):
        assert getattr(relay, name) is getattr(relay_exceptions, name), name
    for name in (
        'EndpointError',
        'ObjectSizeExceededError',
        'PeerRequestError',
        'PeerTimeoutError',
        'PeerUnreachableError',
        'StorageFullError',
    ):
        assert getattr(endpoint_exceptions, name) is getattr(p2p_exceptions, name)
    assert messages.PeerMessageError is p2p_exceptions.PeerMessageError
    assert stun.StunError is p2p_exceptions.StunError
    assert connection.SupersededError is p2p_exceptions.SupersededError
    assert relay_config.RelayConfigError is relay_exceptions.RelayConfigError
    assert storage.Blob is protocols.Blob


def test_peer_errors_are_still_endpoint_errors() -> None:
    from proxystore.endpoint.errors import EndpointError
    from proxystore.p2p.exceptions import ObjectSizeExceededError
    from proxystore.p2p.exceptions import PeerRequestError
    from proxystore.p2p.exceptions import PeerTimeoutError
    from proxystore.p2p.exceptions import PeerUnreachableError

    for error_type in (
        ObjectSizeExceededError,
        PeerRequestError,
        PeerTimeoutError,
        PeerUnreachableError,
    ):
        with pytest.raises(EndpointError, match='from a peer'):
            raise error_type('from a peer')
    assert issubclass(PeerUnreachableError, PeerRequestError)
    assert issubclass(PeerTimeoutError, PeerRequestError)


def test_connector_errors_are_connector_errors() -> None:
    modules = [
        module
        for module in _public_modules()
        if module.__name__.startswith('proxystore.connectors.endpoint')
    ]
    classes = {cls for module in modules for cls in _exception_classes(module)}
    assert {cls.__name__ for cls in classes} == {
        'EndpointAuthenticationError',
        'EndpointConnectorError',
        'EndpointIdentityError',
        'EndpointNotRunningError',
        'EndpointObjectTooLargeError',
        'EndpointPeerError',
        'EndpointStorageFullError',
        'EndpointTimeoutError',
    }
    for cls in classes:
        assert issubclass(cls, ConnectorError), cls


def test_timeout_errors_are_timeout_errors() -> None:
    classes = {
        cls for module in _public_modules() for cls in _exception_classes(module)
    }
    timeouts = {cls for cls in classes if cls.__name__.endswith('TimeoutError')}
    assert {cls.__name__ for cls in timeouts} == {
        'EndpointTimeoutError',
        'PeerTimeoutError',
        'RequestBodyTimeoutError',
    }
    for cls in timeouts:
        assert issubclass(cls, TimeoutError), cls


def test_endpoint_satisfies_the_peering_protocols(tmp_path: pathlib.Path) -> None:
    from proxystore.endpoint import DictStorage
    from proxystore.endpoint import Endpoint
    from proxystore.endpoint import SQLiteStorage
    from proxystore.p2p.protocols import LocalEndpoint
    from proxystore.p2p.protocols import PeerStorage

    sqlite = SQLiteStorage(str(tmp_path / 'blobs.db'))
    try:
        for storage in (DictStorage(), sqlite):
            assert isinstance(storage, PeerStorage)
            assert isinstance(
                Endpoint('e', uuid.uuid4(), storage=storage), LocalEndpoint
            )
    finally:
        asyncio.run(sqlite.close())
    assert not isinstance(object(), LocalEndpoint)
    assert not isinstance(object(), PeerStorage)


def test_endpoint_connector_declares_a_network_channel() -> None:
    # Objects come from peer endpoints: a store without a secret warns.
    from proxystore.connectors.endpoint import EndpointConnector
    from proxystore.connectors.protocols import is_network_channel

    assert is_network_channel(EndpointConnector)
