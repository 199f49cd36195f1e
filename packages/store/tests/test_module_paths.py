"""ProxyStore 1.x module paths keep working; moved patterns name their extra."""

from __future__ import annotations

import importlib
import sys

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.store import Store

PATHS = [
    ('proxystore.store.base', 'Store'),
    ('proxystore.store.exceptions', 'StoreExistsError'),
    ('proxystore.store.factory', 'StoreFactory'),
    ('proxystore.store.lifetimes', 'ContextLifetime'),
    ('proxystore.store.utils', 'get_key'),
    ('proxystore.store.executor', 'StoreExecutor'),
    ('proxystore.store.metrics', 'StoreMetrics'),
    ('proxystore.store.config', 'StoreConfig'),
    ('proxystore.store.cache', 'LRUCache'),
    ('proxystore.store.types', 'ConnectorKeyT'),
    ('proxystore.connectors.protocols', 'Connector'),
    ('proxystore.serialize', 'serialize'),
]


@pytest.mark.parametrize(('module', 'name'), PATHS)
def test_1x_paths(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    ('module', 'extra'),
    [('ref', 'ownership'), ('scopes', 'ownership'), ('future', 'futures')],
)
def test_moved_pattern_paths_name_their_extra(
    module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes an import fail as if the package were missing.
    monkeypatch.setitem(sys.modules, f'proxystore.{extra}', None)
    monkeypatch.delitem(sys.modules, f'proxystore.store.{module}', raising=False)
    with pytest.raises(ImportError, match=rf"pip install 'proxystore\[{extra}\]'"):
        importlib.import_module(f'proxystore.store.{module}')


@pytest.mark.parametrize(
    ('module', 'extra'),
    [('ref', 'ownership'), ('scopes', 'ownership'), ('future', 'futures')],
)
def test_moved_pattern_paths_reexport_the_pattern(module: str, extra: str) -> None:
    alias = importlib.import_module(f'proxystore.store.{module}')
    pattern = importlib.import_module(f'proxystore.{extra}')
    assert pattern.__all__
    for name in pattern.__all__:
        assert getattr(alias, name) is getattr(pattern, name)


@pytest.mark.parametrize('extra', ['futures', 'ownership'])
def test_pattern_conveniences_name_their_extra(
    extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, f'proxystore.{extra}', None)
    with Store('patterns', LocalConnector()) as store:
        call = store.future if extra == 'futures' else lambda: store.owned_proxy(1)
        with pytest.raises(ImportError, match=rf'proxystore\[{extra}\]'):
            call()


def test_store_package_does_not_import_connectors_or_patterns() -> None:
    import subprocess
    import sys

    code = (
        'import sys, proxystore.store\n'
        'bad = [m for m in sys.modules if m.startswith(("proxystore.connectors.",'
        ' "proxystore.ownership", "proxystore.futures"))'
        # The protocols and the registry of kinds belong to the store's layer.
        ' and m not in ("proxystore.connectors.protocols",'
        ' "proxystore.connectors.registry")]\n'
        'print(bad)'
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == '[]'
