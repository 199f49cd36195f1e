"""Endpoint processes shared by the tests of a module."""

from __future__ import annotations

import pathlib
from collections.abc import Generator

import pytest

from proxystore.testing.endpoint import EndpointProcess


@pytest.fixture(scope='module')
def home(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The endpoint configuration folder of a module's endpoints."""
    return tmp_path_factory.mktemp('proxystore-home')


@pytest.fixture(scope='module')
def solo(home: pathlib.Path) -> Generator[EndpointProcess]:
    """An endpoint without peering."""
    with EndpointProcess(home, 'solo', max_object_size=64 * 1024 * 1024) as endpoint:
        yield endpoint
