"""Pickles made by ProxyStore 1.1.0 and by an earlier main keep resolving.

The data files were made once by ``data/make_pickles.py`` (its docstring says
how) and are committed: they are what users' caches, checkpoints and engines'
queues hold. Each proxy names a store ``compat`` over a `LocalConnector`; the
test registers such a store, writes each object under the key the pickle names,
and resolves the proxy.
"""

from __future__ import annotations

import pathlib
import pickle
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.connectors.local import LocalKey
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store import StoreConfig

DATA = pathlib.Path(__file__).parent / 'data'
FILES = ['pickles-1.1.0.pickle', 'pickles-main.pickle']


def _load(name: str) -> dict[str, Any]:
    with open(DATA / name, 'rb') as f:
        return pickle.load(f)  # type: ignore[no-any-return]


@pytest.fixture
def compat_store() -> Generator[Store[LocalConnector]]:
    with Store('compat', LocalConnector(), register=True) as store:
        yield store


def _entries(kind: str) -> list[tuple[str, str]]:
    return [
        (file, name)
        for file in FILES
        for name in _load(file)
        if name.startswith(f'{kind}-')
    ]


@pytest.mark.parametrize(('file', 'name'), _entries('proxy'))
def test_proxy_pickles_resolve(
    file: str, name: str, compat_store: Store[LocalConnector]
) -> None:
    blob, expected, key_fields = _load(file)[name]
    compat_store._set(LocalKey(*key_fields), expected)
    proxy = pickle.loads(blob)
    assert isinstance(proxy, Proxy)
    assert not is_resolved(proxy)
    assert proxy == expected
    assert type(proxy) is not type(expected)  # still a proxy, now resolved
    if name == 'proxy-evict':
        assert not compat_store.exists(LocalKey(*key_fields))


@pytest.mark.parametrize(('file', 'name'), _entries('key'))
def test_key_pickles_load(
    file: str, name: str, compat_store: Store[LocalConnector]
) -> None:
    blob, expected, key_fields = _load(file)[name]
    key = pickle.loads(blob)
    assert key == LocalKey(*key_fields)
    compat_store._set(key, expected)
    assert compat_store.get(key) == expected


@pytest.mark.parametrize('file', FILES)
def test_config_pickles_load(file: str) -> None:
    config = pickle.loads(_load(file)['config'][0])
    assert isinstance(config, StoreConfig)
    assert config.name == 'compat'
    assert config.connector.get_connector_type() is LocalConnector
