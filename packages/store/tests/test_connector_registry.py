"""`proxystore.connectors.registry`: kinds, install hints, typed errors."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.registry import UnknownConnectorError
from proxystore.connectors.registry import connector_kinds
from proxystore.connectors.registry import connector_type
from proxystore.connectors.registry import install_hint
from proxystore.connectors.registry import kind_of
from proxystore.store import ConnectorConfig
from proxystore.store.config import connector_kinds as old_connector_kinds


@pytest.mark.parametrize(
    'kind',
    [
        'local',
        'LOCAL',
        ' LocalConnector ',
        'proxystore.connectors.local.LocalConnector',
        'proxystore.connectors.local:LocalConnector',
    ],
)
def test_kinds_name_the_class(kind: str) -> None:
    assert connector_type(kind) is LocalConnector


def test_kind_of_is_the_entry_point_name_else_the_path() -> None:
    assert kind_of(FileConnector) == 'file'

    class Custom:
        pass

    assert kind_of(Custom) == f'{__name__}.{Custom.__qualname__}'
    with pytest.raises(TypeError, match='takes a connector class'):
        kind_of('file')  # type: ignore[arg-type]


def test_config_module_reexports_the_kinds() -> None:
    assert old_connector_kinds is connector_kinds
    assert connector_kinds()['file'] == 'proxystore.connectors.file:FileConnector'


@pytest.mark.parametrize(
    ('kind', 'extra', 'distribution'),
    [
        ('redis', 'redis', 'proxystore-connector-redis'),
        ('MPIConnector', 'mpi', 'proxystore-connector-mpi'),
        ('ucx', 'ucx', 'proxystore-connector-ucx'),
        ('endpoint', 'endpoint', 'proxystore-p2p-endpoint'),
        ('EndpointConnector', 'endpoint', 'proxystore-p2p-endpoint'),
        ('other', 'other', 'proxystore-connector-other'),
    ],
)
def test_install_hints_name_real_distributions(
    kind: str, extra: str, distribution: str
) -> None:
    assert install_hint(kind) == (
        f"pip install 'proxystore[{extra}]' (package {distribution})"
    )


def test_unknown_kind_is_a_typed_value_error() -> None:
    with pytest.raises(UnknownConnectorError, match='Unknown connector type') as exc:
        connector_type('nosuch')
    assert isinstance(exc.value, ValueError)
    assert exc.value.kind == 'nosuch'
    assert "pip install 'proxystore[nosuch]'" in str(exc.value)
    again = pickle.loads(pickle.dumps(exc.value))
    assert type(again) is UnknownConnectorError
    assert str(again) == str(exc.value)


def test_bad_paths_and_values_are_typed_errors() -> None:
    with pytest.raises(UnknownConnectorError, match='cannot import it'):
        connector_type('no.such.module.Connector')
    with pytest.raises(UnknownConnectorError, match='not a class'):
        connector_type('proxystore.connectors.registry.ENTRY_POINT_GROUP')
    with pytest.raises(UnknownConnectorError, match='non-empty string'):
        connector_type('  ')
    with pytest.raises(UnknownConnectorError, match='non-empty string'):
        connector_type(3)  # type: ignore[arg-type]


def test_connector_config_raises_the_registry_error() -> None:
    with pytest.raises(UnknownConnectorError, match='proxystore-connector-gone'):
        ConnectorConfig(kind='gone').get_connector_type()


def test_endpoint_hint_when_not_installed() -> None:
    # A process that sees no entry point of the endpoint package.
    code = (
        'from proxystore.connectors import registry\n'
        'registry._entry_points().pop("endpoint", None)\n'
        'try:\n'
        '    registry.connector_type("endpoint")\n'
        'except registry.UnknownConnectorError as e:\n'
        '    print(e)\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "pip install 'proxystore[endpoint]'" in done.stdout
    assert '(package proxystore-p2p-endpoint)' in done.stdout


def test_listing_kinds_imports_no_connector() -> None:
    code = (
        'import sys\n'
        'from proxystore.connectors.registry import connector_kinds\n'
        'connector_kinds()\n'
        'print(sorted(m for m in sys.modules if m.startswith('
        '"proxystore.connectors.") and m not in ('
        '"proxystore.connectors.registry", "proxystore.connectors.protocols")))\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == '[]'
