"""A data server process shared by the tests of a module."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from proxystore.testing.ucx import UCXServer


@pytest.fixture(scope='module')
def server() -> Generator[UCXServer]:
    with UCXServer() as server:
        yield server
