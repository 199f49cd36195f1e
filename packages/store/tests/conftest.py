from __future__ import annotations

import pathlib
from collections.abc import Generator

import pytest

from proxystore.store import _registry


@pytest.fixture(autouse=True)
def _no_stores_left_registered() -> Generator[None]:
    before = set(_registry._stores)
    yield
    leaked = set(_registry._stores) - before
    for name in leaked:
        _registry.unregister_store(name)
    assert not leaked, f'tests left stores registered: {leaked}'


@pytest.fixture
def shm_directory(tmp_path: pathlib.Path) -> pathlib.Path:
    """A private base directory for shared-memory connectors of one test."""
    return tmp_path
