"""ProxyStore 1.x module paths keep working; moved patterns name their extra."""

from __future__ import annotations

import importlib
import pathlib

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
def test_moved_pattern_paths_name_their_extra(module: str, extra: str) -> None:
    try:
        importlib.import_module(f'proxystore.{extra}')
    except ImportError:
        pass
    else:  # pragma: no cover - once the pattern package is installed
        pytest.skip(f'proxystore.{extra} is installed')
    with pytest.raises(ImportError, match=rf"pip install 'proxystore\[{extra}\]'"):
        importlib.import_module(f'proxystore.store.{module}')


def test_pattern_conveniences_name_their_extra(tmp_path: pathlib.Path) -> None:
    with Store('patterns', LocalConnector()) as store:
        for call, extra in (
            (store.future, 'futures'),
            (lambda: store.owned_proxy(1), 'ownership'),
        ):
            try:
                importlib.import_module(f'proxystore.{extra}')
            except ImportError:
                with pytest.raises(ImportError, match=rf'proxystore\[{extra}\]'):
                    call()


def test_store_package_does_not_import_connectors_or_patterns() -> None:
    import subprocess
    import sys

    code = (
        'import sys, proxystore.store\n'
        'bad = [m for m in sys.modules if m.startswith(("proxystore.connectors.",'
        ' "proxystore.ownership", "proxystore.futures"))'
        ' and m != "proxystore.connectors.protocols"]\n'
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
