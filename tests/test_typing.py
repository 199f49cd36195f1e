"""Downstream type checking: every package ships ``py.typed`` where mypy looks.

A user's ``mypy --strict`` must see the connectors' types (and report a misuse),
not skip them as "installed, but missing library stubs or py.typed marker".
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]
SOURCES = sorted(ROOT.glob('packages/*/src'))


# One line per connector, each a deliberate type error that mypy must report
# (which it can only do if it analyses the connector's package).
_USER_CODE = """\
from proxystore.connectors.mpi import MPIConnector
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisConnectorError
from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.protocols import ConnectorError
from proxystore.serialize.buffers import allocate

redis_key: int = RedisConnector('localhost', 6379).put(b'x')
ucx_port: str = UCXConnector.put
mpi_rank: str = MPIConnector(timeout=1.0).rank
error: RedisConnectorError = ConnectorError('x')
buffer: str = allocate(3)
"""
_EXPECTED = {
    8: '"RedisKey", variable has type "int"',
    9: 'variable has type "str"',
    10: 'expression has type "int", variable has type "str"',
    11: '"ConnectorError", variable has type "RedisConnectorError"',
    12: 'variable has type "str"',
}


def _packages(src: pathlib.Path) -> list[pathlib.Path]:
    found = []
    for init in src.glob('proxystore/**/__init__.py'):
        relative = init.parent.relative_to(src)
        if relative.parts[:2] == ('proxystore', 'testing'):
            continue  # proxystore.testing: its own distribution, typed there
        found.append(init.parent)
    return sorted(found)


@pytest.mark.parametrize('src', SOURCES, ids=lambda s: s.parent.name)
def test_every_subpackage_ships_py_typed(src: pathlib.Path) -> None:
    missing = []
    for package in _packages(src):
        name = str(package.relative_to(ROOT / 'packages'))
        if not (package / 'py.typed').is_file():
            missing.append(name)
    assert not missing, f'subpackages without py.typed: {missing}'


def test_modules_directly_in_a_namespace_level_are_typed() -> None:
    # mypy looks for py.typed in each directory from the top: a module right in
    # proxystore/ or proxystore/connectors/ needs one at that level, in the one
    # package that has such modules.
    missing = []
    for src in SOURCES:
        for level in ('proxystore', 'proxystore/connectors'):
            directory = src / level
            modules = [p for p in directory.glob('*.py') if p.name != '__init__.py']
            if modules and not (directory / 'py.typed').is_file():
                missing.append(str(directory.relative_to(ROOT)))
    assert not missing, f'namespace levels with modules but no py.typed: {missing}'


def _downstream_mypy(tmp_path: pathlib.Path, code: str) -> str:
    """What a user's ``mypy --strict`` (with no config of ours) says of ``code``."""
    user = tmp_path / 'user.py'
    user.write_text(code)
    config = tmp_path / 'mypy.ini'
    config.write_text('[mypy]\n')  # a user's own config: none of the workspace's
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'mypy',
            '--strict',
            '--config-file',
            str(config),
            '--cache-dir',
            str(tmp_path / 'cache'),
            '--no-error-summary',
            str(user),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result.stdout + result.stderr


def _error_lines(output: str) -> dict[int, str]:
    reported = {}
    for line in output.splitlines():
        parts = line.split(':', 3)
        if len(parts) == 4 and parts[2].strip() == 'error':
            reported[int(parts[1])] = parts[3]
    return reported


def test_downstream_mypy_strict_sees_the_connectors(tmp_path: pathlib.Path) -> None:
    output = _downstream_mypy(tmp_path, _USER_CODE)
    assert 'py.typed' not in output, output
    assert 'import-untyped' not in output, output
    assert 'import-not-found' not in output, output
    reported = _error_lines(output)
    assert sorted(reported) == sorted(_EXPECTED), output
    for number, text in _EXPECTED.items():
        assert text in reported[number], (number, reported[number])


# Calls through an actor handle are checked against the method they name.
_ACTORS_CODE = """\
from proxystore.actors import ActorFuture, ActorHandle
from proxystore.testing.actors import Counter

def use(handle: ActorHandle[Counter]) -> None:
    a: ActorFuture[int] = handle.call(Counter.add, 3)
    b: ActorFuture[int] = handle.call(Counter.async_add, 3)
    c: ActorFuture[str] = handle.call(Counter.add, 3)
    handle.call(Counter.add, 'three')
    handle.tell(Counter.add, n=1)
    handle.tell(Counter.add, m=1)
    d: ActorFuture[int] = handle.with_timeout(5).call(Counter.get)
"""
_ACTORS_ERRORS = {7, 8, 10}  # a wrong answer type, a wrong argument, a wrong keyword


def test_downstream_mypy_strict_checks_calls_through_actor_handles(
    tmp_path: pathlib.Path,
) -> None:
    output = _downstream_mypy(tmp_path, _ACTORS_CODE)
    assert set(_error_lines(output)) == _ACTORS_ERRORS, output
